"""Settings: one typed, versioned object in the config directory; bad files never stop the app."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import AuthorityLimits
from dynoai_desktop.core.sheet import PAPER_SIZES_IN
from dynoai_desktop.storage import settings as settings_module
from dynoai_desktop.storage.settings import (
    DevicePort,
    DisplayUnits,
    Settings,
    SettingsStore,
    ShopPrefs,
    default_config_dir,
    migrate,
)

# The defaults in place of a file that was there but unusable: its user is not new, so no
# welcome screen.
USED_BEFORE = Settings(welcome_done=True)


def test_tests_never_use_the_users_real_config_dir(_isolated_config_dir: Path) -> None:
    assert default_config_dir() == _isolated_config_dir
    assert SettingsStore().path == _isolated_config_dir / "settings.json"


def test_a_first_start_gets_defaults_with_the_dyno_and_wideband() -> None:
    loaded = SettingsStore().load()
    assert loaded == Settings()
    assert [d.role for d in loaded.devices] == ["dyno", "wideband"]
    assert loaded.authority.max_ve_change_pct_per_run == 10.0


def test_saved_settings_come_back_identical(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "cfg")
    changed = Settings(
        units=DisplayUnits(temperature="C", torque="N·m", power="kW", speed="km/h"),
        devices=(DevicePort("dyno", "dyno-line", "socket://127.0.0.1:7001"),),
        window_state_b64="AAAA",
    ).with_recent_file("/runs/a.parquet")
    store.save(changed)
    assert SettingsStore(tmp_path / "cfg").load() == changed
    assert json.loads(store.path.read_text())["schema_version"] == settings_module.SCHEMA_VERSION


def test_recent_files_are_newest_first_without_duplicates_and_capped() -> None:
    s = Settings()
    for i in range(15):
        s = s.with_recent_file(f"/runs/{i % 12}.parquet")
    assert s.recent_files[0] == "/runs/2.parquet"
    assert len(s.recent_files) == settings_module.MAX_RECENT_FILES
    assert len(set(s.recent_files)) == len(s.recent_files)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"schema_version": 99}'])
def test_an_unusable_file_is_kept_aside_and_defaults_are_used(tmp_path: Path, content: str) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(content)
    assert store.load() == USED_BEFORE
    assert store.problem is not None and str(store.path) in store.problem
    kept = list(tmp_path.glob("settings.json.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_text() == content  # nothing is lost


def test_unknown_keys_are_ignored_and_missing_ones_default(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"schema_version": 1, "units": {"temperature": "C",
                                      "colour": "red"}, "future_key": 1}))
    loaded = store.load()
    assert loaded.units.temperature == "C" and loaded.units.torque == "ft-lb"
    assert store.problem is None


def test_older_files_are_migrated_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # The next layout change adds a step like these; the chain must run them in order.
    monkeypatch.setattr(settings_module, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(
        settings_module,
        "MIGRATIONS",
        {
            1: lambda d: {**d, "units": {"temperature": d.pop("temperature_unit")}},
            2: lambda d: {**d, "recent_files": [p.upper() for p in d["recent_files"]]},
        },
    )
    old = {"schema_version": 1, "temperature_unit": "C", "recent_files": ["a.csv"]}
    migrated = migrate(old)
    assert migrated["schema_version"] == 3
    assert migrated["units"] == {"temperature": "C"}
    assert migrated["recent_files"] == ["A.CSV"]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b'{"units": {"temperature": "\xb0F"}}', "it is not UTF-8 text: byte 27 is 0xb0"),
        (b"\x00\x9c\xff\xfe garbage \x80\x81", "it is not UTF-8 text: byte 1 is 0x9c"),
        (b"\xef\xbb\xbf{}", "it is not valid JSON: Unexpected UTF-8 BOM"),
        (b'{"units": 5}', "'int' object has no attribute 'items'"),
        (b'{"devices": [{"role": "dyno"}]}', "DevicePort.__init__() missing 1 required"),
        (b'{"schema_version": null}', "int() argument must be"),
        (b"[" * 100_000, "its JSON is nested too deeply"),
    ],
)
def test_a_file_that_is_not_utf8_or_not_settings_is_kept_aside_and_defaults_are_used(
    tmp_path: Path, content: bytes, why: str
) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_bytes(content)
    assert store.load() == USED_BEFORE
    [kept] = tmp_path.glob("settings.json.unreadable-*")
    assert kept.read_bytes() == content  # nothing is lost
    assert store.problem is not None
    assert store.problem.startswith(f"settings file {store.path} was unusable ({why}")
    assert store.problem.endswith(f"; kept it as {kept}; using defaults")
    assert not store.path.exists()
    store.save(Settings())  # and the next save starts a good file
    assert SettingsStore(tmp_path).load() == Settings()


def test_a_file_that_cannot_be_kept_aside_still_gives_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuses(path: Path, into: Path | None = None) -> Path:
        raise InputError(f"{path}: cannot be moved aside (Permission denied)")

    monkeypatch.setattr(settings_module, "set_aside", refuses)
    store = SettingsStore(tmp_path)
    store.path.write_bytes(b"\xff")
    assert store.load() == USED_BEFORE
    assert store.problem == (
        f"settings file {store.path} was unusable (it is not UTF-8 text: byte 0 is 0xff) and "
        f"could not be kept aside ({store.path}: cannot be moved aside (Permission denied)); "
        "using defaults, which replace it when settings are next saved"
    )


def test_an_older_files_authority_limits_load_and_the_new_ones_default(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"schema_version": 1, "authority": {
        "max_ve_change_pct_per_run": 5.0, "min_ve_pct": 10.0, "max_ve_pct": 120.0,
        "max_spark_advance_change_deg": 1.0}}))
    loaded = store.load()
    assert store.problem is None
    assert loaded.authority == AuthorityLimits(max_ve_change_pct_per_run=5.0, max_ve_pct=120.0,
                                               max_spark_advance_change_deg=1.0)
    assert loaded.authority.max_afr_change == 0.5 and loaded.authority.wot_map_kpa == 95.0
    store.save(loaded)
    assert SettingsStore(tmp_path).load() == loaded


@pytest.mark.parametrize("authority", [{"max_ve_change_pct_per_run": "ten"},
                                       {"max_afr_change": -0.5},
                                       {"min_ve_pct": 140.0}])
def test_authority_limits_that_protect_nothing_are_refused(tmp_path: Path,
                                                           authority: dict) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"authority": authority}))
    assert store.load() == USED_BEFORE  # defaults, the file kept aside and named
    assert store.problem is not None and "authority limit" in store.problem


def test_editor_steps_are_kept_and_a_bad_one_is_refused(tmp_path) -> None:  # noqa: ANN001
    from dynoai_desktop.core.display import EditorSteps
    from dynoai_desktop.core.errors import InputError
    from dynoai_desktop.storage.settings import Settings, SettingsStore

    store = SettingsStore(tmp_path)
    store.save(Settings(editor_steps=EditorSteps(ve_pct=1.0, spark_deg=0.25)))
    loaded = store.load()
    assert loaded.editor_steps == EditorSteps(ve_pct=1.0, spark_deg=0.25)
    assert loaded.editor_steps.by_kind() == {"ve": 1.0, "afr": 0.1, "lambda": 0.01, "spark": 0.25}
    try:
        EditorSteps(afr=0.0)
    except InputError as exc:
        assert "afr" in str(exc)
    else:
        raise AssertionError("a zero step was accepted")


def test_the_shop_for_the_customer_sheet_is_kept_and_a_bad_one_falls_back(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    shop = ShopPrefs("Iron Valley V-Twin", "1450 Route 9 · (845) 555-0143", "a4")
    store.save(Settings(shop=shop))
    assert SettingsStore(tmp_path).load().shop == shop
    store.path.write_text(json.dumps({"schema_version": 1, "shop": {"name": 7, "paper": "legal",
                                                                    "contact": "555-0100"}}))
    assert store.load().shop == ShopPrefs("", "555-0100", "letter")
    store.path.write_text(json.dumps({"schema_version": 1}))  # a file from before the shop
    assert store.load().shop == ShopPrefs() and store.problem is None
    assert set(settings_module.SHEET_PAPERS) == set(PAPER_SIZES_IN)  # what the sheet prints on


def test_a_fresh_install_has_the_welcome_screen_due_until_it_is_done(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    fresh = store.load()
    assert not store.found and not fresh.welcome_done
    store.save(fresh)  # closing the window saves the layout: the screen is still due
    again = SettingsStore(tmp_path)
    assert not again.load().welcome_done and again.found
    store.save(replace(fresh, welcome_done=True))
    assert SettingsStore(tmp_path).load().welcome_done


def test_an_existing_users_file_without_the_welcome_field_counts_as_done(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"schema_version": 1, "units": {"temperature": "C"},
                                      "window_state_b64": "AAAA"}))
    loaded = store.load()
    assert store.problem is None and store.found
    assert loaded.welcome_done  # an earlier version's user never sees it suddenly
    assert loaded.units.temperature == "C"


@pytest.mark.parametrize(("value", "done"), [(False, False), (True, True), ("no", True),
                                             (0, True), (None, True)])
def test_only_a_false_welcome_field_keeps_the_screen_due(tmp_path: Path, value: object,
                                                         done: bool) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"schema_version": 1, "welcome_done": value}))
    assert store.load().welcome_done is done  # anything odd: done (the screen never nags)
