"""Run files: Parquet with the FORMATS.md §2 columns and the run's metadata, written atomically."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dynoai_desktop import __version__
from dynoai_desktop.core.channels import LOG_COLUMNS
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.log_csv import format_cell
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.run_files import (
    METADATA_KEY,
    Marker,
    RunMetadata,
    export_log_csv,
    log_csv_text,
    read_run,
    read_run_arrays,
    read_run_metadata,
    write_run,
)
from dynoai_desktop.storage.settings import DevicePort

WEATHER = Weather(baro_kpa=98.7, ambient_temp_c=23.5, humidity_pct=41.0, correction_factor=1.0213)
DEVICES = (
    DevicePort("dyno", "dyno-line", "socket://127.0.0.1:7001"),
    DevicePort("wideband", "innovate-mts", "/dev/ttyUSB0", {"front": 1, "rear": 2}),
)


def _metadata(**changes: object) -> RunMetadata:
    base = {
        "name": "WOT pull 3",
        "started_at": "2026-11-22T10:15:30+01:00",
        "devices": DEVICES,
        "markers": (Marker(1.25, "tip-in"), Marker(4.5, "pinging at 4200, backed off")),
        "weather": WEATHER,
        "source": "recorded",
    }
    base.update(changes)
    return RunMetadata(**base)  # type: ignore[arg-type]


def _samples(n: int = 200) -> pd.DataFrame:
    """A pull: canonical columns given out of §2 order, a status channel with gaps, an extra."""
    t = np.arange(n) * 0.01
    status = np.where(t < 0.3, 1.0, 0.0)
    status[50:55] = np.nan  # wideband dropped out: empty in the log
    afr_rear = 13.1 + 0.2 * np.sin(t)
    afr_rear[::7] = np.nan
    return pd.DataFrame(
        {
            "rpm": 2000.0 + 15.0 * np.arange(n),
            "time_s": t,
            "afr_front_status": status,
            "afr_front": 12.95 + 0.1 * np.cos(t),
            "afr_rear": afr_rear,
            "map_kpa": np.linspace(40.0, 100.0, n),
            "dyno_raw_counts": np.arange(n, dtype=np.int64) * 3,  # unknown column: kept
        }
    )


def test_a_run_comes_back_with_every_value_nan_column_order_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "run.parquet"
    samples = _samples()
    write_run(path, samples, _metadata())
    frame, metadata = read_run(path)

    assert list(frame.columns) == [*LOG_COLUMNS, "dyno_raw_counts"]
    assert frame.columns[0] == "time_s"
    assert all(frame[name].dtype == np.float64 for name in LOG_COLUMNS)
    assert frame["dyno_raw_counts"].dtype == np.int64
    assert isinstance(frame.index, pd.RangeIndex) and len(frame) == len(samples)
    for name in samples.columns:
        np.testing.assert_array_equal(frame[name].to_numpy(), samples[name].to_numpy())
    assert frame["afr_front_status"].isna().sum() == 5
    assert frame["afr_target"].isna().all()  # not given: all missing, like an empty CSV column

    assert metadata == _metadata()
    assert metadata.markers[1] == Marker(4.5, "pinging at 4200, backed off")
    assert metadata.devices[1].options == {"front": 1, "rear": 2}
    assert metadata.app_version == __version__
    assert read_run_metadata(path) == metadata


def test_the_metadata_is_json_in_the_parquet_schema_for_other_tools(tmp_path: Path) -> None:
    path = tmp_path / "run.parquet"
    write_run(path, {"time_s": [0.0, 0.01], "rpm": [900, 905]}, _metadata(source="imported"))
    schema = pq.read_schema(path)
    stored = json.loads(schema.metadata[METADATA_KEY])
    assert stored["name"] == "WOT pull 3" and stored["source"] == "imported"
    assert stored["started_at"] == "2026-11-22T10:15:30+01:00"
    assert stored["devices"][0] == {
        "role": "dyno",
        "protocol": "dyno-line",
        "port": "socket://127.0.0.1:7001",
        "options": {},
    }
    assert stored["markers"] == [
        {"time_s": 1.25, "note": "tip-in"},
        {"time_s": 4.5, "note": "pinging at 4200, backed off"},
    ]
    assert stored["weather"] == {
        "baro_kpa": 98.7,
        "ambient_temp_c": 23.5,
        "humidity_pct": 41.0,
        "correction_factor": 1.0213,
    }
    assert stored["app_version"] == __version__
    assert schema.names[:3] == ["time_s", "rpm", "map_kpa"]
    # pandas reads it as a plain table too
    assert pd.read_parquet(path)["rpm"].tolist() == [900.0, 905.0]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.parquet"
    write_run(path, _samples(), _metadata())
    before = path.read_bytes()

    def half_written(table: pa.Table, where: str) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", half_written)  # run_files imports it when writing
    with pytest.raises(InputError, match=r"run\.parquet: cannot be written \(No space left"):
        write_run(path, _samples(10), _metadata(name="other"))
    assert path.read_bytes() == before
    assert read_run(path)[1].name == "WOT pull 3"
    assert [p.name for p in tmp_path.iterdir()] == ["run.parquet"]


def test_bad_samples_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "run.parquet"
    cases = {
        "no time_s column": {"rpm": [1.0, 2.0]},
        "time_s must be finite, start at or after 0 and strictly increase": {
            "time_s": [0.0, 0.02, 0.01]
        },
        "column rpm holds values that are not numbers": {"time_s": [0.0, 1.0], "rpm": ["x", "y"]},
        "column map_kpa has 1 values but time_s has 2": {"time_s": [0.0, 1.0], "map_kpa": [50.0]},
        "column extra has 3 values but time_s has 2": {"time_s": [0.0, 1.0], "extra": [1, 2, 3]},
    }
    for message, columns in cases.items():
        with pytest.raises(InputError, match=message):
            write_run(path, columns, _metadata())
    with pytest.raises(InputError, match="run source 'guessed' is not valid"):
        write_run(path, {"time_s": [0.0]}, _metadata(source="guessed"))
    with pytest.raises(InputError, match="started_at = 'yesterday' is not an ISO 8601"):
        write_run(path, {"time_s": [0.0]}, _metadata(started_at="yesterday"))
    assert not path.exists()


def test_files_that_are_not_runs_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.parquet: no such file"):
        read_run(tmp_path / "missing.parquet")

    text = tmp_path / "log.csv"
    text.write_text("time_s,rpm\n0,900\n")
    with pytest.raises(InputError, match=r"log\.csv: is not a DynoAI run file \(not a Parquet"):
        read_run(text)

    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"time_s": [0.0, 0.1], "rpm": [900.0, 910.0]}), plain)
    with pytest.raises(InputError, match=r"plain\.parquet: is not a DynoAI run file .*dynoai\.run"):
        read_run(plain)

    no_time = tmp_path / "no_time.parquet"
    meta = json.dumps(_metadata().to_dict()).encode()
    table = pa.table({"rpm": [900.0]}).replace_schema_metadata({METADATA_KEY: meta})
    pq.write_table(table, no_time)
    with pytest.raises(InputError, match=r"no_time\.parquet: .*no time_s column"):
        read_run(no_time)

    newer = tmp_path / "newer.parquet"
    data = {**_metadata().to_dict(), "schema_version": 99}
    table = pa.table({"time_s": [0.0]}).replace_schema_metadata({METADATA_KEY: json.dumps(data)})
    pq.write_table(table, newer)
    with pytest.raises(InputError, match=r"newer\.parquet: the run was saved by a newer DynoAI"):
        read_run_metadata(newer)


def test_csv_export_follows_the_log_csv_rules(tmp_path: Path) -> None:
    path = tmp_path / "run.parquet"
    samples = _samples(60)
    samples["afr_front"] = samples["afr_front"] + 1e-12  # float noise is rounded away
    samples.loc[3, "map_kpa"] = -0.0000001  # rounds to zero: written "0", not "-0"
    write_run(path, samples, _metadata())
    out = tmp_path / "run.csv"
    export_log_csv(path, out)
    text = out.read_text(encoding="utf-8")

    frame, _ = read_run(path)
    # The fast writer gives exactly the one-value rule (6 decimals, no '.0', NaN empty).
    expected = [",".join(frame.columns)]
    expected += [",".join(format_cell(v) for v in row) for row in frame.itertuples(index=False)]
    assert text == "\n".join(expected) + "\n"
    lines = text.splitlines()
    assert lines[0] == ",".join([*LOG_COLUMNS, "dyno_raw_counts"])
    first = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert first["time_s"] == "0" and first["rpm"] == "2000" and first["afr_front_status"] == "1"
    assert first["afr_front"] == "13.05" and first["afr_target"] == ""
    assert lines[4].split(",")[2] == "0"
    assert "\r" not in text and text.endswith("\n")
    back = pd.read_csv(out)  # other tools read it back
    assert list(back.columns) == list(frame.columns)
    np.testing.assert_allclose(back["rpm"], frame["rpm"])


def test_text_extra_columns_are_quoted_in_the_csv() -> None:
    frame = pd.DataFrame({"time_s": [0.0, 0.5], "comment": ['lean, "hot"', None]})
    assert log_csv_text(frame) == 'time_s,comment\n0,"lean, ""hot"""\n0.5,\n'


def test_metadata_json_cannot_hold_is_refused_and_missing_weather_is_null(tmp_path: Path) -> None:
    path = tmp_path / "run.parquet"
    odd = (DevicePort("dyno", "dyno-line", "loop://", {"callback": object()}),)
    with pytest.raises(InputError, match="run metadata: cannot be stored as JSON"):
        write_run(path, {"time_s": [0.0]}, _metadata(devices=odd))
    assert not path.exists()
    write_run(path, {"time_s": [0.0]}, _metadata(weather=Weather(baro_kpa=math.nan)))
    assert read_run_metadata(path).weather == Weather()


def test_a_run_read_as_arrays_matches_the_frame_without_loading_pandas(tmp_path: Path) -> None:
    path = tmp_path / "pull.parquet"
    samples = _samples(300)
    samples["note"] = ["x"] * 300  # a text column: not a channel to analyse
    write_run(path, samples, _metadata())
    frame, _ = read_run(path)
    arrays, metadata = read_run_arrays(path, ["rpm", "afr_rear", "dyno_raw_counts", "note"])
    assert metadata == read_run_metadata(path)
    assert set(arrays) == {"time_s", "rpm", "afr_rear", "dyno_raw_counts"}
    for name, values in arrays.items():
        assert values.dtype == np.float64
        np.testing.assert_array_equal(values, frame[name].to_numpy(dtype=float, na_value=np.nan))
    assert np.isnan(arrays["afr_rear"][::7]).all()

    # A long run's autotune reads its file this way: pandas stays unloaded.
    code = ("import sys; from dynoai_desktop.storage.run_files import read_run_arrays; "
            f"read_run_arrays({str(path)!r}); print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
