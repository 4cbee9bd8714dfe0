"""``dynoai simulate-shop`` (docs/formats.md): the shop's mix, the generated catalog, the command
line, the direct log path it runs the cell on, the shipped base maps and the example dataset.

Every generation here plays at most 3 sessions: the catalog fixture plays 2 (two workers), the
determinism test plays the same shop's first session again in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dynoai_desktop.cli import QT_PACKAGES, main
from dynoai_desktop.commands.simulate_shop import notes_for, read_builds
from dynoai_desktop.core.build_spec import STAGE_MAX, BuildSpec, EngineFamily
from dynoai_desktop.core.channels import LOG_COLUMNS
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, ChangeSource
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.logmode import DirectLog, run_log, run_log_direct
from dynoai_desktop.sim.plans import PlanRunner, builtin_plan
from dynoai_desktop.sim.presets import PRESETS, get_preset
from dynoai_desktop.sim.shop import (
    AMBIENT_C,
    BARO_KPA,
    FAMILY_GROUPS,
    HUMIDITY_PCT,
    STAGE_SHARES,
    base_map_names,
    bike_true_ve,
    draw_shop,
    family_group,
    median_build,
    ve_error_pct,
)
from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog
from dynoai_desktop.storage.catalog.runs import name_in_file
from dynoai_desktop.storage.resources import BASE_MAPS_DIR
from dynoai_desktop.storage.run_files import read_run_arrays
from dynoai_desktop.storage.table_files import read_table_csv

# long: runs in the suite without Qt; the fixture plays two sessions (about 45 s alone, a minute
# beside another worker): the timeout catches a hang, not a busy machine
pytestmark = [pytest.mark.once_without_qt, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
SEED = 5
EXAMPLE = ROOT / "docs" / "examples" / "training_data_example.json"
EXAMPLE_BUILDS = ROOT / "docs" / "examples" / "training_data_builds.json"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(["simulate-shop", *argv])
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------- the mix (nothing simulated)
def test_the_shop_mix_follows_its_shares_over_many_bikes() -> None:
    bikes = draw_shop(11, 2000)
    groups = Counter(family_group(b.build.engine_family) for b in bikes)
    for name, share, members in FAMILY_GROUPS:
        assert abs(groups[name] / 2000 - share) < 0.03, (name, groups)
        seen = {b.build.engine_family for b in bikes if family_group(b.build.engine_family) == name}
        assert seen == {family for family, _ in members}
    stages = Counter(b.build.stage for b in bikes)
    for stage, share in enumerate(STAGE_SHARES):
        assert abs(stages[stage] / 2000 - share) < 0.03, stages
    for bike in bikes:
        build = bike.build
        stock_cam = build.cam.name == "stock"
        assert stock_cam == (build.stage <= 1), build.summary
        stock_ci = build.engine_family.stock_displacement_ci
        if build.stage <= 2:
            assert build.displacement_ci == stock_ci, build.summary
        else:  # big-bore kits and strokers (a 131 keeps its 131 at Stage 3)
            assert build.displacement_ci >= stock_ci + (build.stage - 3), build.summary
        weather = bike.weather
        assert AMBIENT_C[0] <= weather.ambient_temp_c <= AMBIENT_C[1]
        assert BARO_KPA[0] <= weather.baro_kpa <= BARO_KPA[1]
        assert HUMIDITY_PCT[0] <= weather.humidity_pct <= HUMIDITY_PCT[1]
        assert bike.started_at.weekday() < 5
    assert len({b.bike_seed for b in bikes}) == 2000  # each bike its own


def test_the_same_seed_draws_the_same_shop_and_a_longer_history_starts_with_it() -> None:
    assert draw_shop(SEED, 40) == draw_shop(SEED, 40)
    assert draw_shop(SEED, 40)[:15] == draw_shop(SEED, 15)
    assert [b.build for b in draw_shop(SEED + 1, 15)] != [b.build for b in draw_shop(SEED, 15)]
    builds = [PRESETS["tc103-stage2"].build, PRESETS["m8-114-stock"].build]
    given = draw_shop(SEED, 3, builds)
    assert [b.build for b in given] == [builds[0], builds[1], builds[0]]
    assert [b.weather for b in given] == [b.weather for b in draw_shop(SEED, 3)]


def test_median_builds_are_valid_for_every_family_and_stage() -> None:
    for family in EngineFamily:
        for stage in range(STAGE_MAX + 1):
            build = median_build(family, stage)
            assert BuildSpec.from_dict(build.to_dict()) == build
            assert build.stage == stage


# ---------------------------------------------------------------- base maps
def test_the_shipped_base_maps_are_what_the_script_makes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_base_maps.py"),
                           "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for family in EngineFamily:
        for stage in range(STAGE_MAX + 1):
            front, rear = (read_table_csv(BASE_MAPS_DIR / n)
                           for n in base_map_names(family, stage))
            assert (front.name, rear.name) == (VE_FRONT_MAP, VE_REAR_MAP)
            assert front.col_axis == "map_kpa" and front.shape == rear.shape


# ---------------------------------------------------------------- the direct log path
@pytest.mark.parametrize(("protocol", "closed_loop", "plan", "seconds"), [
    ("innovate-mts", False, "default", 25.0), ("aem-ascii", True, "street", 25.0),
    ("plx-imfd", False, "decel", 25.0), ("innovate-mts", False, "tip_in", None)])
def test_the_direct_log_path_gives_the_codec_paths_rows(protocol: str, closed_loop: bool,
                                                         plan: str, seconds: float | None
                                                         ) -> None:
    def cell() -> VirtualCell:
        return VirtualCell(CellConfig(preset=get_preset("tc110-stage3"), plan=builtin_plan(plan),
                                      seed=3, wideband_protocol=protocol,
                                      closed_loop=closed_loop, loop_plan=seconds is not None))

    codec, direct = run_log(cell(), seconds), run_log_direct(cell(), seconds)
    assert list(codec.columns) == list(direct.columns)
    assert len(codec) == len(direct) > 2000
    for name, values in codec.columns.items():
        assert np.array_equal(values, direct.columns[name], equal_nan=True), name


def test_a_direct_log_kept_across_plans_is_one_acquisition() -> None:
    """Each plan's rows start with a dyno row (the row rule carries on, as the app's does)."""
    cell = VirtualCell(CellConfig(plan=builtin_plan("tip_in"), seed=4, loop_plan=False))
    log = DirectLog(cell)
    first = log.run(None)
    cell.runner = PlanRunner(builtin_plan("decel"), loop=False)
    second = log.run(None)
    assert second.time_s[0] > first.time_s[-1]
    for block in (first, second):
        assert np.isfinite(block.columns["rpm"]).all()
    assert np.isfinite(second.columns["afr_front"][:50]).all()  # the widebands stay lit


# ---------------------------------------------------------------- a generated shop
@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two sessions of the shop with SEED, played by two workers, with the dataset exported."""
    folder = tmp_path_factory.mktemp("shop")
    dataset = folder / "dataset.json"
    capture = subprocess.run(
        [sys.executable, "-m", "dynoai_desktop.cli", "simulate-shop", "--sessions", "2",
         "--seed", str(SEED), "--catalog", str(folder / "catalog"), "--jobs", "2",
         "--export-dataset", str(dataset)],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    return {"folder": folder / "catalog", "dataset": dataset, "done": capture}


def _contents(folder: Path, sessions: list[int]) -> list[dict[str, Any]]:
    """What the catalog holds of ``sessions``, run files' samples included."""
    out = []
    with Catalog(folder / CATALOG_FILE) as catalog:
        for sid in sessions:
            session = catalog.session(sid)
            vehicle = catalog.vehicle(session.vehicle_id)
            assert session.tune_id is not None
            history = catalog.history(session.tune_id)
            runs = []
            for run in catalog.runs(sid):
                arrays, meta = read_run_arrays(catalog.run_path(run))
                runs.append((run.name, run.started_at, run.ended_at, run.duration_s, run.rows,
                             run.file, run.status, run.markers, run.weather,
                             run.tune_version_id, meta,
                             {k: v.tobytes() for k, v in arrays.items()}))
            out.append({
                "session": session, "vehicle": (vehicle.name, vehicle.build_spec),
                "customer": catalog.customer(vehicle.customer_id).name,
                "versions": [(v.made_by, v.when, v.note, {n: t.values.tobytes() for n, t in
                                                         v.tune.tables.items()})
                             for v in history.versions],
                "runs": runs,
                "coverage": sorted((r.table_name, r.run_key, r.weight.tobytes())
                                   for r in catalog.coverage_runs(vehicle.id)),
            })
    return out


def test_the_command_writes_every_session_with_progress(shop: dict[str, Any]) -> None:
    done = shop["done"]
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert any("session 1/2" in ln for ln in lines) and any("session 2/2" in ln for ln in lines)
    assert all(ln.startswith("dynoai simulate-shop: ") for ln in lines), done.stderr
    assert "Traceback" not in done.stderr
    with Catalog(shop["folder"] / CATALOG_FILE) as catalog:
        customers = catalog.customers()
        assert len(customers) == 2
        for n, customer in enumerate(customers, start=1):
            (vehicle,) = catalog.vehicles(customer.id)
            assert vehicle.build_spec == draw_shop(SEED, 2)[n - 1].build
            (session,) = catalog.sessions(vehicle.id)
            assert session.notes == notes_for(SEED) == f"simulated by dynoai simulate-shop " \
                                                      f"(seed {SEED})"
            assert session.ended_at is not None and session.ended_at > session.started_at


TUNED_MEDIAN_PCT = 2.0


def test_a_generated_session_tunes_the_bike_close_to_its_true_ve(shop: dict[str, Any]) -> None:
    """The shop's tuned maps are what the models learn from, so they must be the bike's: the
    session's last tune version is within 2 % (median) of the bike's true VE where it swept,
    held and pulled, and closer than the generic base map it started from."""
    bikes = draw_shop(SEED, 2)
    with Catalog(shop["folder"] / CATALOG_FILE) as catalog:
        for n, bike in enumerate(bikes, start=1):
            tune_id = catalog.session(n).tune_id
            assert tune_id is not None
            versions = catalog.history(tune_id).versions
            first, last = versions[0].tune.tables, versions[-1].tune.tables
            for name, truth in zip((VE_FRONT_MAP, VE_REAR_MAP), bike_true_ve(bike), strict=True):
                tuned = float(np.median(ve_error_pct(last[name], truth)))
                base = float(np.median(ve_error_pct(first[name], truth)))
                assert tuned <= TUNED_MEDIAN_PCT and tuned < base, (n, name, tuned, base)


def test_a_generated_sessions_runs_read_back_as_run_files(shop: dict[str, Any]) -> None:
    with Catalog(shop["folder"] / CATALOG_FILE) as catalog:
        runs = catalog.runs(1)
        names = [r.name for r in runs]
        assert names[:3] == ["warm-up", "baseline pulls", "autotune round 1"]
        assert "final pulls" in names and "decel check" in names and "timing sweep" in names
        assert names[-1] == "heat-soaked pull"
        for run in runs:
            assert run.status == "complete"
            arrays, meta = read_run_arrays(catalog.run_path(run))
            assert list(arrays)[: len(LOG_COLUMNS)] == list(LOG_COLUMNS)
            t = arrays["time_s"]
            assert t[0] == 0.0 and np.all(np.diff(t) > 0)
            assert run.rows == t.size and run.duration_s == pytest.approx(t[-1])
            for channel in ("rpm", "map_kpa", "tps_pct", "iat_c", "engine_temp_c"):
                assert np.isfinite(arrays[channel]).all(), (run.name, channel)
            for channel in ("afr_front", "afr_rear"):  # the widebands light off in the warm-up
                logged = np.isfinite(arrays[channel]).mean()
                assert logged > (0.2 if run.name == "warm-up" else 0.9), (run.name, channel)
            assert meta.name == run.name and meta.markers == run.markers
            assert meta.weather == run.weather and run.weather.baro_kpa is not None
            assert run.markers and all(0.0 <= m.time_s <= t[-1] for m in run.markers)
            assert run.tune_version_id is not None
            assert run.file.endswith(f"_{name_in_file(run.name)}.parquet")  # named as the app
        peaks = catalog.run_peaks()
        assert {r.id for r in runs} <= set(peaks)  # each run's peak power kept with it
        final = next(r for r in runs if r.name == "final pulls")
        assert peaks[final.id] is not None and peaks[final.id].power_hp > 30.0
        soak = runs[-1]
        arrays, _ = read_run_arrays(catalog.run_path(soak))
        idle = arrays["time_s"] < soak.markers[1].time_s
        assert arrays["time_s"][idle][-1] >= 120.0  # a soak of two minutes or more
        assert arrays["iat_c"][idle][-1] > arrays["iat_c"][0] + 3.0  # the intake soaked heat
        kept = {r.run_key for r in catalog.coverage_runs(catalog.session(1).vehicle_id)}
        assert kept == {f"run:{r.id}" for r in runs}


def test_the_timing_sweep_runs_over_the_base_spark_and_reads_as_knock_samples(
        shop: dict[str, Any]) -> None:
    with Catalog(shop["folder"] / CATALOG_FILE) as catalog:
        runs = {r.name: r for r in catalog.runs(1)}
        sweep = runs["timing sweep"]
        notes = [m.note for m in sweep.markers]
        assert any("+2°" in n for n in notes) and any("+4°" in n for n in notes)
    data = json.loads(shop["dataset"].read_text(encoding="utf-8"))
    knock = data["sessions"][0]["patterns"]["knock_timing"]
    levels: dict[tuple[str, float, float], list[float]] = {}
    for sample in knock["samples"]:
        assert sample["map_kpa"] >= 50.0 and sample["seconds"] >= 0.0
        levels.setdefault((sample["cylinder"], sample["rpm"], sample["map_kpa"]), []).append(
            sample["spark_deg"])
    wide = [k for k, v in levels.items() if k[2] >= 90.0 and max(v) - min(v) >= 3.5]
    assert len(wide) >= 5  # the +4° pull is a sample of its own beside the base spark's
    slopes = [t["ft_lb_per_deg"] for t in knock["torque_slopes"] if 2500 <= t["rpm"] <= 4500]
    assert slopes and np.median(slopes) > 0  # below MBT the torque rose with the sweep


def test_the_tune_versions_start_at_the_base_map_and_end_elsewhere(shop: dict[str, Any]
                                                                    ) -> None:
    with Catalog(shop["folder"] / CATALOG_FILE) as catalog:
        for sid in (1, 2):
            session = catalog.session(sid)
            build = catalog.vehicle(session.vehicle_id).build_spec
            assert session.tune_id is not None
            versions = catalog.history(session.tune_id).versions
            assert len(versions) >= 2
            assert versions[0].made_by == ChangeSource.IMPORT
            assert all(v.made_by in (ChangeSource.AUTOTUNE, ChangeSource.DECEL_ENRICHMENT)
                       for v in versions[1:])
            front_name, rear_name = base_map_names(build.engine_family, build.stage)
            base = versions[0].tune.tables
            assert base[VE_FRONT_MAP] == read_table_csv(BASE_MAPS_DIR / front_name)
            assert base[VE_REAR_MAP] == read_table_csv(BASE_MAPS_DIR / rear_name)
            last = versions[-1].tune.tables
            assert not np.array_equal(last[VE_FRONT_MAP].values, base[VE_FRONT_MAP].values)
            assert not np.array_equal(last[VE_REAR_MAP].values, base[VE_REAR_MAP].values)
            numbers = [r.tune_version_id for r in catalog.runs(sid)]
            assert numbers == sorted(numbers) and numbers[0] == 1
            decel = [v for v in versions if v.made_by == ChangeSource.DECEL_ENRICHMENT]
            for version in decel:
                assert "decel enrichment" in version.note and " pop" in version.note


def test_the_same_seed_gives_the_same_catalog_whatever_the_jobs(
        shop: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shop's first session played again alone, in this process: the same contents."""
    again = tmp_path / "again"
    code, _out, err = _run(["--sessions", "1", "--seed", str(SEED), "--catalog", str(again),
                            "--jobs", "1"], capsys)
    assert code == 0, err
    assert _contents(again, [1]) == _contents(shop["folder"], [1])


def test_the_exported_dataset_validates(shop: dict[str, Any],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-training-data", str(shop["dataset"])]) == 0, capsys.readouterr()
    data = json.loads(shop["dataset"].read_text(encoding="utf-8"))
    assert [s["simulated"] for s in data["sessions"]] == [True, True]
    assert [s["build"] for s in data["sessions"]] == [b.build.to_dict()
                                                      for b in draw_shop(SEED, 2)]


# ---------------------------------------------------------------- the command line
@pytest.mark.parametrize(("argv", "named"), [
    (["--sessions", "0"], "--sessions"),
    (["--sessions", "-3"], "--sessions"),
    (["--jobs", "-1"], "--jobs"),
    (["--jobs", "0"], "--jobs"),
    (["--seed", "-1"], "--seed"),
    (["--export-dataset", "out.txt"], "--export-dataset"),
    (["--sessions", "many"], "--sessions"),
])
def test_bad_options_exit_2_with_one_line_naming_the_option(
        argv: list[str], named: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--sessions", "1", "--catalog", str(tmp_path / "shop")]
    code, out, err = _run(base + argv, capsys)
    assert code == 2
    assert err.count("\n") == 1 and named in err and "Traceback" not in err, err
    assert err.startswith("dynoai simulate-shop: ")
    assert not (tmp_path / "shop").exists()  # nothing written


def test_a_catalog_option_naming_a_file_is_refused(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "catalog.txt"
    afile.write_text("not a folder")
    code, _out, err = _run(["--sessions", "1", "--catalog", str(afile)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"dynoai simulate-shop: --catalog {afile}: is a file")


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "not valid JSON"),
    ('{"engine_family": "twin_cam_103"}', "JSON list"),
    ("[]", "JSON list"),
    ('[{"engine_family": "twin_cam_103", "stage": 9}]', "build 1"),
])
def test_a_bad_builds_file_is_refused_naming_it(content: str, problem: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    builds = tmp_path / "builds.json"
    builds.write_text(content)
    code, _out, err = _run(["--sessions", "1", "--catalog", str(tmp_path / "shop"),
                            "--builds", str(builds)], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert "--builds" in err and problem in err, err


def test_a_builds_file_is_read_as_build_specs() -> None:
    builds = read_builds(EXAMPLE_BUILDS)
    assert builds == [PRESETS[name].build for name in ("tc103-stage2", "tc110-stage3",
                                                        "m8-114-stock")]
    with pytest.raises(InputError, match="--builds"):
        read_builds(EXAMPLE_BUILDS.with_name("missing.json"))


NO_QT = """
import sys
from dynoai_desktop.cli import main
for argv in (["simulate-shop", "--help"], ["simulate-shop", "--sessions", "0", "--catalog", "x"]):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code in (0, 2), (argv, code)
import dynoai_desktop.commands.simulate_shop, dynoai_desktop.commands.shop_session
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({qt}))
assert not loaded, f"simulate-shop imported {{loaded}}"
print("no Qt imported")
"""


def test_the_command_imports_no_qt() -> None:
    done = subprocess.run([sys.executable, "-c", NO_QT.format(qt=sorted(QT_PACKAGES))],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no Qt imported" in done.stdout


# ---------------------------------------------------------------- the example dataset
def test_the_example_dataset_holds_the_three_simulated_sessions(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-training-data", str(EXAMPLE)]) == 0, capsys.readouterr()
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    sessions = data["sessions"]
    assert [BuildSpec.from_dict(s["build"]) for s in sessions] == read_builds(EXAMPLE_BUILDS)
    assert all(s["simulated"] for s in sessions)
    m8 = sessions[2]["patterns"]["decel_popping"]
    assert m8 is not None and m8["enrichment_pct"] is not None
