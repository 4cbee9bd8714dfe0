"""Comparing runs: real run files of pulls over different rpm ranges overlaid, their peaks, the
limit of eight, a log with no pull listed with the reason, after − before only where both pulls
ran, a cursor that reads nothing where a run did not reach, and the user's units."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.app.run_comparison import MAX_RUNS, PALETTE, RunComparison, shown
from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power import HP_PER_FTLB_RPM, din_70020_factor, sae_j1349_factor
from dynoai_desktop.core.power_curves import Standard
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.run_files import RunMetadata, write_run
from tests.power_runs import (
    FOUR,
    HOT_HIGH,
    TORQUE_DROP,
    four_run_files,
    peak_power_hp,
    pulls_frame,
    run_file,
)


@pytest.fixture
def four_runs(tmp_path: Path) -> list[Path]:
    return four_run_files(tmp_path)


@pytest.fixture
def comparison() -> RunComparison:
    return RunComparison(RunLibrary(None))


def test_four_runs_of_different_rpm_ranges_show_their_own_peaks_and_ranges(
        comparison: RunComparison, four_runs: list[Path]) -> None:
    heard = []
    comparison.changed.connect(lambda: heard.append(len(comparison.runs)))
    for path in four_runs:
        comparison.add_run(path)
    assert heard == [1, 2, 3, 4]
    comparison.clear()
    assert comparison.add_runs(four_runs) == []
    assert heard == [1, 2, 3, 4, 0, 4]  # several sent at once: one change
    assert [r.name for r in comparison.runs] == [name for name, *_ in FOUR]
    assert [r.colour for r in comparison.runs] == list(PALETTE[:4])
    assert comparison.before is comparison.runs[0]  # the first added, by default
    for run, (name, (rpm_from, rpm_to), peak_ftlb, peak_rpm) in zip(comparison.runs, FOUR,
                                                                  strict=True):
        assert run.problem == "" and run.curve is not None, name
        torque, torque_rpm = run.curve.peak_torque
        power, _ = run.curve.peak_power
        assert torque == pytest.approx(peak_ftlb, abs=0.3), name
        assert torque_rpm == pytest.approx(peak_rpm, abs=100), name
        assert power == pytest.approx(peak_power_hp(peak_ftlb, peak_rpm, rpm_from, rpm_to),
                                      rel=0.01), name
        assert run.curve.x[0] == pytest.approx(rpm_from, abs=100), name  # its own range only
        assert run.curve.x[-1] == pytest.approx(rpm_to, abs=60), name
        assert run.place == Path(run.path).name  # not in a catalog: the file's name
    assert comparison.span() == (pytest.approx(2000, abs=100), pytest.approx(6200, abs=60))


def test_a_ninth_run_is_refused_with_a_clear_message(comparison: RunComparison,
                                                     tmp_path: Path) -> None:
    path = run_file(tmp_path, "Pull", pulls_frame([(2000.0, 5000.0)]))
    for _ in range(MAX_RUNS):  # the same run eight times: two pulls of one run compare too
        comparison.add_run(path)
    assert sorted({r.colour for r in comparison.runs}) == sorted(PALETTE)
    with pytest.raises(InputError, match="up to 8 runs can be compared at once: remove one"):
        comparison.add_run(path)
    assert comparison.add_runs([path, path]) == [
        "up to 8 runs can be compared at once: remove one from the list before adding another"]
    assert len(comparison.runs) == MAX_RUNS
    comparison.remove(comparison.runs[2].key)  # its colour is free for the next one
    assert comparison.add_run(path).colour == PALETTE[2]


def test_a_log_without_a_pull_is_listed_with_the_reason(comparison: RunComparison,
                                                        tmp_path: Path) -> None:
    cruise = tmp_path / "cruise.msl"
    rows = [f"{0.1 * i:.1f}\t{2500 + 10 * (i % 20)}\t30\t60" for i in range(300)]
    cruise.write_text('"MS2Extra comms342h2: MS/Extra format 3.4.2"\n'
                      "Time\tRPM\tTPS\tMAP\ns\trpm\t%\tkPa\n" + "\n".join(rows) + "\n",
                      encoding="utf-8")
    run = comparison.add_log(cruise)
    assert comparison.runs == [run] and run.kind == "log" and run.label == "cruise.msl"
    assert run.curve is None and run.pulls == ()
    assert run.problem == ("no full-throttle pull found: the throttle never reached 80 % "
                           "(at most 30 %)")
    assert all(math.isnan(v) for v in (comparison.read_all(2500)[0].power_hp,
                                       comparison.read_all(2500)[0].afr_front))


def test_a_file_that_is_not_a_run_is_refused_naming_it(comparison: RunComparison,
                                                       tmp_path: Path) -> None:
    bad = tmp_path / "notes.parquet"
    bad.write_text("not parquet")
    assert comparison.add_runs([bad])[0].startswith(f"{bad}: is not a DynoAI run file")
    assert comparison.runs == []


def test_the_delta_is_after_minus_before_only_where_both_pulls_ran(
        comparison: RunComparison, tmp_path: Path) -> None:
    before = comparison.add_run(run_file(tmp_path, "Before", pulls_frame([(2000.0, 5000.0)])))
    after = comparison.add_run(run_file(tmp_path, "After",
                                        pulls_frame([(3000.0, 6000.0)], peak_ftlb=105.0)))
    change = comparison.deltas[after.key]
    assert before.key not in comparison.deltas
    assert change.x[0] == pytest.approx(3000, abs=100) and change.x[-1] == pytest.approx(
        5000, abs=60)
    inner = (change.x > 3200) & (change.x < 4800)  # away from the pulls' smoothed ends
    np.testing.assert_allclose(change.torque_ftlb[inner], 5.0, atol=0.05)
    np.testing.assert_allclose(change.power_hp[inner], 5.0 * change.x[inner] * HP_PER_FTLB_RPM,
                               atol=0.05)
    # the other way round: the after run is now the before
    comparison.set_before(after.key)
    assert list(comparison.deltas) == [before.key]
    assert comparison.read_all(4000)[0].delta_torque_ftlb == pytest.approx(-5.0, abs=0.05)


def test_pulls_that_share_no_rpm_have_no_delta_and_say_why(comparison: RunComparison,
                                                          tmp_path: Path) -> None:
    comparison.add_run(run_file(tmp_path, "Low", pulls_frame([(1800.0, 3200.0)])))
    high = comparison.add_run(run_file(tmp_path, "High", pulls_frame([(4000.0, 6000.0)])))
    assert comparison.deltas == {}
    assert "share no rpm" in comparison.delta_problems[high.key]


def test_the_cursor_reads_every_run_and_nothing_where_a_run_did_not_reach(
        comparison: RunComparison, four_runs: list[Path]) -> None:
    comparison.add_runs(four_runs)
    at_5800 = comparison.read_all(5800.0)
    assert [r.label for r in at_5800] == [r.label for r in comparison.runs]
    base, tuned, cam, short = at_5800
    assert math.isnan(base.power_hp) and math.isnan(base.afr_front)  # its pull ended at 5,500
    assert math.isnan(short.power_hp) and math.isnan(short.delta_power_hp)
    assert math.isnan(tuned.delta_power_hp)  # the before run did not reach 5,800
    expected = (104.0 - TORQUE_DROP * (5800 - 3500) ** 2) * 5800 * HP_PER_FTLB_RPM
    assert tuned.power_hp == pytest.approx(expected, rel=0.01)
    assert cam.torque_ftlb == pytest.approx(112.0 - TORQUE_DROP * (5800 - 4200) ** 2, abs=0.3)
    assert tuned.afr_front == pytest.approx(12.8) and tuned.afr_rear == pytest.approx(12.6)
    at_4000 = comparison.read_all(4000.0)
    assert at_4000[0].is_before and math.isnan(at_4000[0].delta_power_hp)
    assert at_4000[1].delta_torque_ftlb == pytest.approx(4.0, abs=0.05)
    assert all(not math.isnan(r.power_hp) for r in at_4000)  # every pull covers 4,000


def test_the_strongest_pull_is_shown_and_another_can_be_picked(comparison: RunComparison,
                                                               tmp_path: Path) -> None:
    # The second pull runs higher, so it makes more power.
    run = comparison.add_run(run_file(tmp_path, "Two pulls",
                                      pulls_frame([(2000.0, 4000.0), (2500.0, 5800.0)])))
    assert len(run.pulls) == 2 and run.pull_index == 1
    high = run.curve.peak_power[0]
    comparison.choose_pull(run.key, 0)
    assert run.curve.peak_power[0] < high and run.curve.x[-1] == pytest.approx(4000, abs=60)
    with pytest.raises(InputError, match="has 2 pull"):
        comparison.choose_pull(run.key, 2)


def test_the_standard_corrects_from_the_weather_in_the_run_file(comparison: RunComparison,
                                                                tmp_path: Path) -> None:
    run = comparison.add_run(run_file(tmp_path, "Hot day", pulls_frame([(2000.0, 5500.0)]),
                                      HOT_HIGH))
    sae = run.curve.peak_power[0]
    assert run.curve.factor == pytest.approx(sae_j1349_factor(90.0, 35.0, 40.0))
    comparison.set_standard("uncorrected")
    raw = run.curve.peak_power[0]
    assert sae / raw == pytest.approx(sae_j1349_factor(90.0, 35.0, 40.0))
    comparison.set_standard(Standard.DIN_70020)
    assert run.curve.peak_power[0] / raw == pytest.approx(din_70020_factor(90.0, 35.0))
    with pytest.raises(InputError, match="not one of"):
        comparison.set_standard("JIS")
    comparison.set_smoothing(0)
    assert run.curve.smoothing == 0
    with pytest.raises(InputError, match="0 to 5"):
        comparison.set_smoothing(6)


def test_a_run_without_roll_speed_says_so_on_the_speed_axis_and_draws_again_on_rpm(
        comparison: RunComparison, tmp_path: Path) -> None:
    with_speed = pulls_frame([(2000.0, 5500.0)])
    with_speed["speed_mph"] = with_speed["rpm"] / 60.0  # top gear: 60 rpm per mph
    fast = comparison.add_run(run_file(tmp_path, "With speed", with_speed))
    slow = comparison.add_run(run_file(tmp_path, "No speed", pulls_frame([(2000.0, 5500.0)])))
    comparison.set_axis("speed_mph")
    assert fast.curve is not None and fast.curve.axis == "speed_mph"
    assert fast.curve.x[-1] == pytest.approx(5500 / 60, abs=1.5)
    assert slow.curve is None and "no speed_mph channel" in slow.problem
    comparison.set_axis("rpm")
    assert slow.curve is not None and slow.problem == ""


def test_removing_the_before_run_makes_the_first_one_left_the_before(
        comparison: RunComparison, four_runs: list[Path]) -> None:
    comparison.add_runs(four_runs)
    first, second = comparison.runs[:2]
    comparison.remove(first.key)
    assert comparison.before is second
    assert set(comparison.deltas) == {r.key for r in comparison.runs[1:]}
    comparison.clear()
    assert comparison.runs == [] and comparison.before is None
    assert math.isnan(comparison.span()[0])


def test_a_run_of_the_catalog_is_labelled_with_its_vehicle_and_session(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "data" / "catalog.sqlite")
    try:
        customer = catalog.add_customer("Dana")
        vehicle = catalog.add_vehicle(customer, "2016 Low Rider S", BuildSpec.stock("twin_cam_110"))
        session = catalog.start_session(vehicle, "2026-11-22T10:00:00")
        file = catalog.new_run_file(session, "2026-11-22T10:05:00")
        catalog.add_run(session, "WOT pull 1", "2026-11-22T10:05:00", file, status="complete")
        path = catalog.data_dir / file
        write_run(path, pulls_frame([(2000.0, 5500.0)]),
                  RunMetadata(name="WOT pull 1", started_at="2026-11-22T10:05:00"))
        comparison = RunComparison(RunLibrary(catalog))
        run = comparison.add_run(path)
        assert run.label == f"WOT pull 1 · session {session}, 2016 Low Rider S"
        assert comparison.runs_folder() == catalog.data_dir / "runs"
    finally:
        catalog.close()


def test_values_are_canonical_and_shown_in_the_users_units(comparison: RunComparison,
                                                          four_runs: list[Path]) -> None:
    comparison.add_runs(four_runs[:2])
    reading = comparison.read_all(4000.0)[1]
    metric = DisplayUnits(power="kW", torque="N·m", afr="lambda", speed="km/h")
    power_kw, unit = shown("power_hp", reading.power_hp, metric)
    assert unit == "kW" and power_kw == pytest.approx(reading.power_hp * 0.7456999, rel=1e-6)
    torque_nm, unit = shown("torque_ftlb", reading.delta_torque_ftlb, metric)
    assert unit == "N·m" and torque_nm == pytest.approx(4.0 * 1.3558179, abs=0.1)
    lam, unit = shown("afr_front", reading.afr_front, metric)
    assert unit == "lambda" and lam == pytest.approx(12.8 / 14.7)
    assert shown("speed_mph", 60.0, metric) == (pytest.approx(96.56064), "km/h")
    assert shown("rpm", 4000.0, metric) == (4000.0, "rpm")
    assert shown("power_hp", reading.power_hp, DisplayUnits())[0] == reading.power_hp
