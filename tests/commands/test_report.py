"""`dynoai report` (docs/formats.md "`dynoai report`"): the sheet of a catalog session, of catalog
runs and of run files; every bad input exits 2 in one line naming what is wrong; no Qt."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from dynoai_desktop.cli import QT_PACKAGES
from tests.commands.model_helpers import run_cli
from tests.sheet_shop import CUSTOMER, NOTES, VEHICLE, SheetShop, make_sheet_shop

# Qt-free and long (a simulated session, a PDF drawn): run once, in the suite without Qt.
pytestmark = pytest.mark.once_without_qt


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> SheetShop:
    return make_sheet_shop(tmp_path_factory.mktemp("report") / "shop")


def pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_a_sessions_sheet_names_the_pulls_it_chose(
        shop: SheetShop, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sheet.pdf"
    code, stdout, err = run_cli(["report", "--session", shop.session_id, "--catalog",
                                 shop.folder, "--out", out], capsys)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0].startswith("dynoai report: before: run 1 'baseline pulls', pull 1 of 1")
    assert lines[1].startswith("dynoai report: after: run 2 'final pulls', pull 1 of 1")
    assert lines[-1].startswith(f"dynoai report: wrote {out} (")
    headline = stdout.strip()
    assert headline.startswith("Peak power ") and " → " in headline and "(+" in headline
    pages, text = pdf_text(out)
    assert pages == 2
    for words in (CUSTOMER, VEHICLE, NOTES, headline.split(" → ")[1].split(" (")[0]):
        assert words in text


def test_runs_and_logs_named_one_by_one(
        shop: SheetShop, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_file = tmp_path / "files.pdf"
    code, stdout, err = run_cli(["report", shop.after_run, "--before", shop.before_run,
                                 "--out", by_file, "--notes", "new plugs too", "--units",
                                 "metric", "--paper", "a4", "--customer", "Walk-in"], capsys)
    assert code == 0, err
    assert "kW" in stdout and "N·m" in stdout
    _pages, text = pdf_text(by_file)
    assert "new plugs too" in text and "Walk-in" in text
    assert CUSTOMER not in text  # files alone do not say whose bike it is

    by_id = tmp_path / "ids.pdf"
    after_id, before_id = shop.run_ids[1], shop.run_ids[0]
    code, _out, err = run_cli(["report", after_id, "--before", before_id, "--catalog",
                               shop.folder, "--out", by_id], capsys)
    assert code == 0, err
    _pages, text = pdf_text(by_id)
    assert CUSTOMER in text and VEHICLE in text  # catalog runs of one session: its customer

    only_after = tmp_path / "after.pdf"
    code, _out, err = run_cli(["report", shop.after_run, "--out", only_after], capsys)
    assert code == 0, err
    assert "before:" not in err


def test_a_log_without_weather_is_printed_uncorrected_and_says_so(
        shop: SheetShop, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "no weather.csv"
    frame = pd.read_parquet(shop.after_run)
    frame.drop(columns=["baro_kpa", "ambient_temp_c", "humidity_pct", "correction_factor"]
               ).to_csv(log, index=False)
    out = tmp_path / "sheet.pdf"
    code, _out, err = run_cli(["report", log, "--before", shop.before_run, "--out", out],
                              capsys)
    assert code == 0, err
    assert ("dynoai report: warning: after: SAE J1349 needs the barometer and the air "
            "temperature") in err
    assert "dynoai report: warning: before: drawn uncorrected too, to compare like with like" \
        in err
    _pages, text = pdf_text(out)
    assert "Uncorrected (observed figures)" in text and "Note: after: SAE J1349" in text


@pytest.mark.parametrize(("argv", "said"), [
    (["--session", "99"], "there is no session 99"),
    (["{missing}"], "missing.parquet: no such file"),
    (["{idle}"], "no full-throttle pull in idle.csv"),
    (["{idle}", "--session", "1"], "give either --session ID or the runs"),
    ([], "give either --session ID or the runs"),
    (["--session", "1", "--before", "{idle}"], "--before goes with runs and logs"),
    (["{after}", "--standard", "jis"], "correction standard 'jis' is not one of"),
    (["{after}", "--smoothing", "7"], "--smoothing 7: give a level 0 to 5"),
    (["77"], "there is no run 77"),
])
def test_bad_input_exits_2_in_one_line(
        shop: SheetShop, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        said: str) -> None:
    names = {"missing": tmp_path / "missing.parquet", "idle": shop.idle_log,
             "after": shop.after_run}
    words = [w.format(**names) for w in argv]
    out = tmp_path / "sheet.pdf"
    code, stdout, err = run_cli(["report", *words, "--catalog", shop.folder, "--out", out],
                                capsys)
    assert code == 2, err
    assert err.startswith("dynoai report: ") and said in err, err
    assert len(err.strip().splitlines()) == 1 and stdout == ""
    assert not out.exists()


def test_an_out_that_is_not_a_pdf_in_an_existing_folder_exits_2(
        shop: SheetShop, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for out, said in ((tmp_path / "sheet.png", "ending in .pdf"),
                      (tmp_path / "nowhere" / "sheet.pdf", "does not exist")):
        code, _out, err = run_cli(["report", shop.after_run, "--out", out], capsys)
        assert code == 2 and said in err and len(err.strip().splitlines()) == 1


def test_the_report_runs_without_importing_qt(shop: SheetShop, tmp_path: Path) -> None:
    out = tmp_path / "sheet.pdf"
    script = (
        "import sys\n"
        "from dynoai_desktop.cli import main\n"
        f"code = main(['report', '--session', '{shop.session_id}', '--catalog', "
        f"{str(shop.folder)!r}, '--out', {str(out)!r}])\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(QT_PACKAGES)}))\n"
        "assert code == 0 and not loaded, (code, loaded)\n"
        "print('no Qt imported')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=90)
    assert result.returncode == 0, result.stderr
    assert "no Qt imported" in result.stdout and out.stat().st_size > 10_000
