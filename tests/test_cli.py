"""The `dynoai` command line: FORMATS.md §0 (exit codes, one-line errors, no Qt outside the GUI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dynoai_desktop import __version__
from dynoai_desktop.cli import QT_PACKAGES, main

NO_QT_CHECK = """
import sys
from dynoai_desktop.cli import main
for argv in (["--help"], ["--version"], ["convert", "--help"], ["models", "--help"],
             ["models", "train", "--help"], ["predict-ve", "--help"],
             ["advise-timing", "--help"], ["report", "--help"]):
    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code == 0, (argv, exc.code)
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({qt}))
assert not loaded, f"non-GUI command lines imported {{loaded}}"
print("no Qt imported")
"""


def test_help_and_version_never_import_qt() -> None:
    script = NO_QT_CHECK.format(qt=sorted(QT_PACKAGES))
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "no Qt imported" in result.stdout


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"dynoai {__version__}"


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--bogus"], "--bogus"),
        (["--demo", "--smoke"], "--smoke"),
        (["--smoke", "--smoke-seconds", "1"], "--smoke-seconds"),
        (["--screenshot", "shot.jpg"], "shot.jpg"),
        (["--smoke", "--screenshot", "shot.png"], "--screenshot"),
        (["--smoke-seconds", "soon"], "--smoke-seconds"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("dynoai: ")
    assert names in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["no-such-tune.pvv"], "no-such-tune.pvv: no such file"),
        (["convrt"], "'convrt' is neither a command"),
        (["pyproject.toml"], "does not open '.toml' files"),
        (["tests"], "tests is a folder"),
    ],
)
def test_a_file_that_cannot_be_opened_is_one_line_before_any_window(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # the repository's root
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("dynoai: ")
    assert said in err
    assert "Traceback" not in err


def test_a_subcommand_still_wins_over_a_file_of_its_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["convert"])  # the subcommand, asking for its arguments
    assert exit_info.value.code == 2
    assert "dynoai convert:" in capsys.readouterr().err
