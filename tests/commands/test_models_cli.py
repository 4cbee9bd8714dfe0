"""`dynoai models list|train|activate|rollback|verify` (docs/formats.md "`dynoai models`"):
output, exit codes, the DYN-M00x lines, and a real training on synthetic sessions."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dynoai_desktop.commands import models as models_command
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.ml.base_ve import KIND
from dynoai_desktop.ml.errors import INTEGRITY_FAILURE, ModelError
from dynoai_desktop.ml.registry import MODEL_FILE, PRIORS_DIR, ModelRegistry
from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog
from tests.commands.model_helpers import copy_of_prior, flip_a_byte, run_cli, tamper
from tests.ml.synthetic_sessions import (
    groups,
    put_imported,
    quick_training,
    record_json,
    synthetic_sessions,
    write_dataset,
)

SESSIONS = 32


@pytest.fixture(scope="module", autouse=True)
def _quick_training() -> Iterator[None]:
    """``dynoai models train`` here fits the tests' small model."""
    with quick_training():
        yield


def _versions(folder: Path, scope: str = "shop") -> list[tuple[str, bool]]:
    with Catalog(folder / CATALOG_FILE) as catalog:
        return [(v.label, v.active) for v in ModelRegistry(catalog).versions(KIND, scope)]


def _last(err: str) -> str:
    return err.strip().splitlines()[-1]


# ------------------------------------------------------------------ list, verify
def test_list_shows_the_prior_active(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["models", "list", "--catalog", shop], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("* base_ve shop prior  created ")
    assert "sessions learned" in lines[0] and "held-out MAE" in lines[0]
    assert "source: simulated shop history" in lines[0]

    code, out, _ = run_cli(["models", "list", "--catalog", shop, "--json"], capsys)
    assert code == 0
    (prior,) = json.loads(out)["models"]
    assert prior["label"] == "prior" and prior["version"] == 0
    assert prior["active"] is True and prior["prior"] is True
    assert prior["scope"] == "shop" and prior["kind"] == KIND
    assert prior["sessions_learned"] > 0
    assert 0 < prior["held_out"]["mae_pct"] < prior["held_out"]["stage_mae_pct"]
    assert 0.0 < prior["held_out"]["coverage_90"] <= 1.0
    assert prior["source"].startswith("simulated shop history")


def test_list_uses_the_app_catalog_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    # conftest points DYNOAI_DATA_DIR at the test's own folder
    code, out, err = run_cli(["models", "list"], capsys)
    assert code == 0, err
    assert "base_ve shop prior" in out


def test_verify_says_ok_for_the_prior(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["models", "verify", "--catalog", shop], capsys)
    assert code == 0, err
    assert out.splitlines() == ["base_ve shop prior: OK"]


def test_a_changed_model_file_fails_verify_with_dyn_m003(
        shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stored = copy_of_prior(shop)
    path = tamper(stored)
    code, out, err = run_cli(["models", "verify", "--catalog", shop], capsys)
    assert code == 1
    assert out.splitlines()[0] == "base_ve shop prior: OK"
    assert out.splitlines()[1].startswith("base_ve shop v1: DYN-M003 integrity failure: ")
    assert err.count("\n") == 1, err
    assert err.startswith("dynoai models: base_ve shop v1: DYN-M003 integrity failure: ")
    assert str(path) in err and "Traceback" not in err
    # ... and such a version is never activated
    code, _, err = run_cli(["models", "activate", KIND, "shop", "1", "--catalog", shop], capsys)
    assert code == 2
    assert err.startswith("dynoai models: DYN-M003 integrity failure: ")
    assert _versions(shop) == [("prior", True), ("v1", False)]


def test_a_changed_prior_fails_verify_with_dyn_m003(
        shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    priors = tmp_path / "models"
    shutil.copytree(PRIORS_DIR, priors)
    flip_a_byte(priors / KIND / "prior" / MODEL_FILE)
    with Catalog(shop / CATALOG_FILE) as catalog:
        registry = ModelRegistry(catalog, priors_dir=priors)
        prior = registry.active(KIND)
        with pytest.raises(ModelError) as refused:
            registry.load(prior)
    assert refused.value.code == INTEGRITY_FAILURE
    # The command always reads the shipped priors: point its registry at the copy.
    monkeypatch.setattr(models_command, "ModelRegistry",
                        functools.partial(ModelRegistry, priors_dir=priors))
    code, out, err = run_cli(["models", "verify", "--catalog", shop], capsys)
    assert code == 1
    assert out.startswith("base_ve shop prior: DYN-M003 integrity failure: ")
    assert err.startswith("dynoai models: base_ve shop prior: DYN-M003 ")


def test_a_missing_prior_fails_verify(shop: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(models_command, "ModelRegistry",
                        functools.partial(ModelRegistry, priors_dir=tmp_path / "nothing"))
    code, out, err = run_cli(["models", "verify", "--catalog", shop], capsys)
    assert code == 1
    assert "DYN-M001 no model: the shipped prior" in out
    assert err.count("\n") == 1


# ------------------------------------------------------------------ activate, rollback
def test_rollback_with_nothing_to_roll_back_is_dyn_m001(
        shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["models", "rollback", KIND, "--catalog", shop], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("dynoai models: DYN-M001 no model: ")
    assert "nothing to roll back" in err


@pytest.mark.parametrize(("argv", "says"), [
    (["activate", KIND, "shop", "7"], "DYN-M001 no model: there is no base_ve model shop v7"),
    (["activate", KIND, "family:twin_cam_103", "prior"], "DYN-M001 no model: the prior is"),
    (["activate", KIND, "shop", "seven"], "VERSION 'seven'"),
    (["activate", "fuel_model", "shop", "1"], "model kind 'fuel_model' is not known"),
    (["activate", KIND, "garage", "1"], "model scope 'garage' is not valid"),
    (["list", "--scope", "family:twin_cam_999"], "model scope 'family:twin_cam_999'"),
    (["rollback", KIND, "vehicle:x"], "model scope 'vehicle:x'"),
])
def test_bad_arguments_exit_2_in_one_line(shop: Path, argv: list[str], says: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["models", *argv, "--catalog", shop], capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert err.startswith("dynoai models: ") and says in err


def test_activate_and_roll_back_a_stored_version(
        shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_of_prior(shop)
    code, out, err = run_cli(["models", "activate", KIND, "shop", "v1", "--catalog", shop],
                             capsys)
    assert code == 0, err
    assert out == "base_ve shop v1 is active\n"
    assert _versions(shop) == [("prior", False), ("v1", True)]
    code, out, _ = run_cli(["models", "rollback", KIND, "shop", "--catalog", shop], capsys)
    assert code == 0
    assert out == "base_ve shop prior is active again (was v1)\n"
    code, out, _ = run_cli(["models", "activate", KIND, "shop", "1", "--catalog", shop], capsys)
    assert code == 0 and _versions(shop) == [("prior", False), ("v1", True)]
    code, out, _ = run_cli(["models", "activate", KIND, "shop", "prior", "--catalog", shop],
                           capsys)
    assert code == 0 and out == "base_ve shop prior is active\n"
    assert _versions(shop) == [("prior", True), ("v1", False)]


def test_a_missing_catalog_folder_is_a_usage_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["models", "list", "--catalog", tmp_path / "nowhere"], capsys)
    assert code == 2
    assert err == f"dynoai models: --catalog {tmp_path / 'nowhere'}: no such folder; give " \
                  f"the folder that holds the app's {CATALOG_FILE}\n"
    assert not (tmp_path / "nowhere").exists()


def test_no_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["models"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("dynoai models: ")


# ------------------------------------------------------------------ train
def test_too_little_data_is_dyn_m004(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Catalog(shop / CATALOG_FILE) as catalog:
        put_imported(catalog, synthetic_sessions(6, seed=3))
    code, out, err = run_cli(["models", "train", "--catalog", shop], capsys)
    assert code == 2
    assert out == ""
    assert "training base_ve for shop on 6 sessions: imported records (6)" in err
    assert _last(err).startswith("dynoai models: DYN-M004 too little data: 6 session(s) ")
    assert "Traceback" not in err
    assert _versions(shop) == [("prior", True)]


def test_a_family_scope_learns_from_that_family_only(
        shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sessions = synthetic_sessions(SESSIONS, seed=4)
    with Catalog(shop / CATALOG_FILE) as catalog:
        put_imported(catalog, sessions[:20])
    dataset = write_dataset(tmp_path / "more.json", sessions[20:])
    tc103 = [s for s in sessions if s.build["engine_family"] == "twin_cam_103"]
    code, _, err = run_cli(["models", "train", "--scope", "family:twin_cam_103", "--dataset",
                            dataset, "--catalog", shop], capsys)
    assert code == 2
    assert f"on {len(tc103)} sessions" in err
    assert _last(err).startswith(f"dynoai models: DYN-M004 too little data: {len(tc103)} "
                                 "session(s) with tuned VE tables in 3 build group(s)")


def test_a_vehicle_scope_learns_from_that_vehicles_sessions_only(
        shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sessions = synthetic_sessions(5, seed=5)
    with Catalog(shop / CATALOG_FILE) as catalog:
        customer = catalog.add_customer("Test Rider")
        vehicles = [catalog.add_vehicle(customer, f"bike {i}",
                                        BuildSpec.from_dict(sessions[0].build)) for i in (1, 2)]
        for i, session in enumerate(sessions):
            sid = catalog.start_session(vehicles[i % 2], datetime(2025, 3, 3, 8 + i, tzinfo=UTC))
            catalog.put_training_record(sid, record_json(session), schema_version=2)
        put_imported(catalog, synthetic_sessions(4, seed=6, id_prefix="other"))
    code, _, err = run_cli(["models", "train", "--scope", f"vehicle:{vehicles[0]}",
                            "--catalog", shop], capsys)
    assert code == 2
    assert "on 3 sessions: this shop's sessions (3)" in err
    assert "DYN-M004 too little data: 3 session(s)" in _last(err)
    code, _, err = run_cli(["models", "train", "--scope", f"vehicle:{vehicles[1]}", "--dataset",
                            write_dataset(tmp_path / "d.json", sessions), "--catalog", shop],
                           capsys)
    assert code == 2 and err.startswith("dynoai models: --dataset: a vehicle scope")
    code, _, err = run_cli(["models", "train", "--scope", "vehicle:99", "--catalog", shop],
                           capsys)
    assert code == 2 and "there is no vehicle 99" in err


@pytest.mark.parametrize(("name", "text", "says"), [
    ("missing.json", None, "no such file"),
    ("broken.json", "{not json", "not valid JSON"),
    ("wrong.json", '{"schema_version": 2, "kind": "dynoai-training-data", "sessions": 3}',
     "sessions"),
    ("data.txt", "{}", "not a .json file"),
])
def test_a_bad_dataset_file_exits_2_naming_it(shop: Path, tmp_path: Path, name: str,
                                              text: str | None, says: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    code, _, err = run_cli(["models", "train", "--dataset", path, "--catalog", shop], capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert err.startswith("dynoai models: ") and str(path) in err and says in err


@pytest.mark.once_without_qt  # long: runs in the suite without Qt
def test_train_activates_a_model_that_passes_the_gate_then_rolls_back(
        shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sessions = synthetic_sessions(SESSIONS, seed=1)
    assert len(groups(sessions)) == 8
    with Catalog(shop / CATALOG_FILE) as catalog:
        put_imported(catalog, sessions[:20])
        catalog.put_imported_training_record("unreadable", '{"session_id": 3}')
    dataset = write_dataset(tmp_path / "rest.json", sessions[20:])

    code, out, err = run_cli(["models", "train", "--dataset", dataset, "--catalog", shop],
                             capsys)
    assert code == 0, err
    assert (f"training base_ve for shop on {SESSIONS} sessions: imported records (20), "
            "dataset rest.json (12)") in err
    assert "warning: imported record 'unreadable' cannot be read" in err
    assert "judged against base_ve shop prior" in err
    assert "fit 18/18 (the final model)" in err
    assert out.count("\n") == 1
    assert out.startswith("base_ve shop v1 is active: held-out MAE ")
    assert "90 % interval covers" in out and "sessions learned" in out
    assert _versions(shop) == [("prior", False), ("v1", True)]

    # Again, with every session already learned: judged against v1, which it equals.
    code, out, err = run_cli(["models", "train", "--dataset", dataset, "--catalog", shop],
                             capsys)
    assert code == 0, err
    assert "judged against base_ve shop v1" in err
    assert out.startswith("base_ve shop v2 is active")
    with Catalog(shop / CATALOG_FILE) as catalog:
        registry = ModelRegistry(catalog)
        v2 = registry.active(KIND)
        assert v2.metadata["new_sessions"] == 0
        assert v2.metadata["previous_active_version"] == 1
        events = [e.event for e in catalog.model_events(KIND, "shop")]
    assert events == ["trained", "activated", "trained", "activated"]

    code, out, _ = run_cli(["models", "list", "--catalog", shop, "--json"], capsys)
    listed = json.loads(out)["models"]
    assert [(m["label"], m["active"]) for m in listed] == [("prior", False), ("v1", False),
                                                         ("v2", True)]
    assert listed[2]["source"] == "imported records (20), dataset rest.json (12)"
    assert listed[2]["held_out"]["mae_pct"] < listed[2]["held_out"]["stage_mae_pct"]
    code, out, _ = run_cli(["models", "verify", "--catalog", shop], capsys)
    assert code == 0 and out.count(": OK\n") == 3

    for back_to in ("v1", "prior"):
        code, out, _ = run_cli(["models", "rollback", KIND, "--catalog", shop], capsys)
        assert code == 0 and out.startswith(f"base_ve shop {back_to} is active again")
    code, _, err = run_cli(["models", "rollback", KIND, "--catalog", shop], capsys)
    assert code == 2 and "DYN-M001" in err


def test_a_refused_model_exits_1_and_is_recorded(
        shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Catalog(shop / CATALOG_FILE) as catalog:
        put_imported(catalog, synthetic_sessions(SESSIONS, seed=2, contrary_held_out=True))
    code, out, err = run_cli(["models", "train", "--catalog", shop], capsys)
    assert code == 1
    assert out == ""
    assert _last(err).startswith("dynoai models: refused: on the held-out groups its error ")
    assert _last(err).endswith("; shop prior stays in use")
    assert _versions(shop) == [("prior", True)]
    with Catalog(shop / CATALOG_FILE) as catalog:
        (event,) = catalog.model_events(KIND, "shop")
    assert event.event == "refused" and event.version is None
    assert event.detail["gate"].startswith("refused: ")


# ------------------------------------------------------------------ export, import
def test_a_version_exported_imports_into_another_shop_inactive_and_predicts_the_same(
        shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "prior.zip"
    code, out, err = run_cli(["models", "export", KIND, "shop", "prior", bundle, "--catalog",
                              shop], capsys)
    assert code == 0, err
    assert out.strip() == f"base_ve shop prior exported to {bundle}"
    other = tmp_path / "other"
    other.mkdir()
    code, out, err = run_cli(["models", "import", bundle, "--scope", "family:twin_cam_103",
                              "--catalog", other], capsys)
    assert code == 0, err
    assert out.startswith(f"base_ve family:twin_cam_103 v1 imported from {bundle} (inactive")
    assert _versions(other, "family:twin_cam_103") == [("v1", False)]
    with Catalog(other / CATALOG_FILE) as catalog:
        registry = ModelRegistry(catalog)
        imported = registry.version(KIND, "family:twin_cam_103", 1)
        assert "imported from prior.zip" in imported.metadata["source"]
        registry.verify(imported)


def test_a_tampered_export_is_refused_and_nothing_is_stored(
        shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "prior.zip"
    assert run_cli(["models", "export", KIND, "shop", "prior", bundle, "--catalog", shop],
                   capsys)[0] == 0
    flip_a_byte(bundle)
    code, _, err = run_cli(["models", "import", bundle, "--catalog", shop], capsys)
    assert code == 2
    assert _last(err).startswith("dynoai models: DYN-M003 integrity failure:")
    assert _versions(shop) == [("prior", True)]
    code, _, err = run_cli(["models", "import", tmp_path / "nope.zip", "--catalog", shop],
                           capsys)
    assert code == 2 and "no such file" in _last(err)
