"""Check the built .deb as a shop would meet it: install it, start it, use it.

    python installer/check_bundle.py [--deb FILE] [--quick]

Installs the .deb (installer/build.py's) into a scratch root with dpkg (maintainer scripts run
outside a chroot, with DPKG_ROOT set), then runs the installed, frozen program with its own
empty settings and data folders:

- ``dynoai --version`` through the /usr/bin link;
- ``dynoai --smoke`` offscreen (a fresh install: the first-run screen shows) and under Xvfb
  (where the smoke run also opens the 3D view: OpenGL through PyOpenGL, frozen);
- ``dynoai --smoke TUNE.pvv`` (a double-clicked tune) and ``dynoai convert`` on a real Power
  Vision tune, ``dynoai report`` on a real WinPEP pull, from ../shared/realdata (skipped, and
  said, where that folder is not);
- ``dynoai predict-ve`` (scikit-learn, skops and the shipped prior models, frozen);
- ``dynoai simulate-shop --jobs 2`` (the virtual cell in spawned worker processes, run files
  written) and ``dynoai report --session 1`` on what it wrote;
- ``dynoai --demo --screenshot`` under Xvfb (the demo cell, as the first-run screen offers it).

Then the cold start, frozen against from source (.venv), as "main window shown X s after
start". ``--quick`` leaves out simulate-shop and the source comparison. Exit 0 when every
step passed, 1 naming the steps that failed, 2 when the .deb or a tool is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = HERE / "build"
REALDATA_CANDIDATES = (ROOT.parent / "shared" / "realdata", Path("/work/shared/realdata"))
REAL_PVV = "dynoai3_pvv_template_16D110002401.pvv"
REAL_WINPEP = "dynojet_wrl_134power.csv"
PVV_TABLE = "VE (MAP based/Front Cyl)"
SHOWN = re.compile(r"main window shown ([0-9.]+) s after start")
STEP_TIMEOUT_S = 600
COLD_STARTS = 3
BUILD_SPEC = {"engine_family": "twin_cam_103", "stage": 1}


class Checker:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.failed: list[str] = []
        self.figures: list[str] = []

    def env(self, **extra: str) -> dict[str, str]:
        """Each run its own empty settings and data folders, as on a fresh PC."""
        home = Path(tempfile.mkdtemp(dir=self.work, prefix="home-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("DYNOAI_")}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_DATA_HOME=str(home / ".local/share"), OMP_NUM_THREADS="1", **extra)
        return env

    def run(self, name: str, argv: Sequence[str], env: dict[str, str],
            expect: str = "") -> subprocess.CompletedProcess[str] | None:
        started = time.monotonic()
        try:
            done = subprocess.run(list(argv), env=env, capture_output=True, text=True,
                                  timeout=STEP_TIMEOUT_S, cwd=self.work)
        except subprocess.TimeoutExpired:
            self.fail(name, f"still running after {STEP_TIMEOUT_S} s")
            return None
        took = time.monotonic() - started
        if done.returncode != 0 or (expect and expect not in done.stdout + done.stderr):
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-3:]
            self.fail(name, f"exit {done.returncode}; " + " | ".join(tail))
            return None
        print(f"check-bundle: ok    {name} ({took:.1f} s)")
        return done

    def fail(self, name: str, why: str) -> None:
        self.failed.append(name)
        print(f"check-bundle: FAIL  {name}: {why}")


def install(deb: Path, root: Path) -> None:
    """dpkg --root into an empty root; maintainer scripts outside a chroot (DPKG_ROOT set)."""
    for folder in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
                   "var/log"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in ("status", "available"):
        (root / "var/lib/dpkg" / name).touch()
    command = ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
               "--force-not-root", "--log=/dev/null", "-i", str(deb)]
    subprocess.run(command, check=True, capture_output=True, text=True)


def check_files(root: Path, checker: Checker) -> None:
    program = root / "opt/dynoai/dynoai"
    link = root / "usr/bin/dynoai"
    if not link.is_symlink() or link.resolve() != program.resolve():
        checker.fail("/usr/bin/dynoai", f"does not lead to {program}")
    desktop = root / "usr/share/applications/dynoai.desktop"
    validate = shutil.which("desktop-file-validate")
    if validate and subprocess.run([validate, str(desktop)]).returncode != 0:
        checker.fail("desktop entry", f"{desktop} does not validate")
    cache = root / "usr/share/mime/application/x-powervision-tune.xml"
    if shutil.which("update-mime-database") and not cache.exists():
        checker.fail("MIME types", f"postinst did not register .pvv ({cache} missing)")
    if not checker.failed:
        print("check-bundle: ok    installed files (/usr/bin link, desktop entry, MIME types)")


def find_real_pvv() -> Path | None:
    for folder in REALDATA_CANDIDATES:
        if (folder / REAL_PVV).is_file():
            return folder / REAL_PVV
    return None


def shown_s(result: subprocess.CompletedProcess[str] | None) -> float | None:
    found = SHOWN.search(result.stderr) if result is not None else None
    return float(found.group(1)) if found else None


def cold_starts(checker: Checker, argv: Sequence[str], label: str) -> None:
    """The median of COLD_STARTS runs of "main window shown X s after start"."""
    seen = []
    for k in range(COLD_STARTS):
        env = checker.env(QT_QPA_PLATFORM="offscreen")
        result = checker.run(f"cold start {label} #{k + 1}", [*argv, "--smoke"], env)
        if (s := shown_s(result)) is not None:
            seen.append(s)
    if seen:
        checker.figures.append(f"cold start {label}: main window shown after "
                               f"{statistics.median(seen):.2f} s (median of {len(seen)}; "
                               f"{', '.join(f'{s:.2f}' for s in seen)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="installer/check_bundle.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--deb", type=Path, help="the .deb (default: the newest in "
                        "installer/build)")
    parser.add_argument("--quick", action="store_true",
                        help="leave out simulate-shop and the cold starts from source")
    args = parser.parse_args(argv)
    debs = sorted(BUILD.glob("dynoai-desktop_*.deb"), key=lambda p: p.stat().st_mtime)
    deb = args.deb or (debs[-1] if debs else None)
    if deb is None or not deb.is_file():
        print("check-bundle: no .deb; build it first with 'make bundle'", file=sys.stderr)
        return 2
    if shutil.which("dpkg") is None:
        print("check-bundle: dpkg is not installed (Debian/Ubuntu only)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="dynoai-check-bundle-"))
    checker = Checker(work)
    root = work / "root"
    print(f"check-bundle: installing {deb.name} into {root}")
    try:
        install(deb, root)
    except subprocess.CalledProcessError as exc:
        print(f"check-bundle: dpkg could not install {deb}: {exc.stderr.strip()}",
              file=sys.stderr)
        return 1
    check_files(root, checker)
    dynoai = str(root / "usr/bin/dynoai")
    offscreen = {"QT_QPA_PLATFORM": "offscreen"}
    checker.run("dynoai --version", [dynoai, "--version"], checker.env(), expect="dynoai ")
    fresh = checker.run("dynoai --smoke, offscreen, first start", [dynoai, "--smoke"],
                        checker.env(**offscreen), expect="welcome screen shown")
    xvfb = shutil.which("xvfb-run")
    screen = ["-a", "-s", "-screen 0 1280x800x24"]
    if xvfb:
        checker.run("dynoai --smoke under Xvfb, the 3D view drawn (OpenGL, PyOpenGL)",
                    [xvfb, *screen, dynoai, "--smoke"], checker.env(QT_QPA_PLATFORM="xcb"),
                    expect="3D view drawn")
        shot = BUILD / "frozen_demo.png"
        checker.run("dynoai --demo --screenshot under Xvfb",
                    [xvfb, *screen, dynoai, "--demo", "--screenshot", str(shot),
                     "--screenshot-after-s", "20"], checker.env(QT_QPA_PLATFORM="xcb"),
                    expect="screenshot saved")
    else:
        checker.fail("dynoai --smoke under Xvfb", "xvfb-run is not installed "
                     "(scripts/bootstrap.sh bundle installs it)")
    pvv = find_real_pvv()
    if pvv is None:
        print("check-bundle: SKIPPED the real .pvv steps: ../shared/realdata is not here")
    else:
        checker.run(f"dynoai --smoke {pvv.name}", [dynoai, "--smoke", str(pvv)],
                    checker.env(**offscreen), expect="--smoke: OK")
        out = work / "ve_front.csv"
        if checker.run(f"dynoai convert {pvv.name}",
                       [dynoai, "convert", str(pvv), str(out), "--table", PVV_TABLE],
                       checker.env()) and not out.read_text().count("\n") > 5:
            checker.fail("dynoai convert", f"{out} holds no table")
        winpep = pvv.with_name(REAL_WINPEP)
        sheet = work / "winpep_sheet.pdf"
        if winpep.is_file() and checker.run(
                f"dynoai report {winpep.name} (matplotlib's PDF)",
                [dynoai, "report", str(winpep), "--out", str(sheet)], checker.env()):
            if not sheet.read_bytes().startswith(b"%PDF"):
                checker.fail("dynoai report", f"{sheet} is not a PDF")
    build = work / "build.json"
    build.write_text(json.dumps(BUILD_SPEC))
    (work / "catalog-empty").mkdir()
    predicted = work / "predicted"
    if checker.run("dynoai predict-ve (shipped prior model)",
                   [dynoai, "predict-ve", "--build", str(build), "--out", str(predicted),
                    "--catalog", str(work / "catalog-empty")], checker.env()):
        if not (predicted / "ve_front.csv").is_file():
            checker.fail("dynoai predict-ve", "wrote no ve_front.csv")
    if not args.quick:
        shop = work / "shop"
        if checker.run("dynoai simulate-shop --sessions 2 --jobs 2 (spawned workers, Parquet)",
                       [dynoai, "simulate-shop", "--sessions", "2", "--jobs", "2",
                        "--catalog", str(shop)], checker.env(), expect="wrote 2 sessions"):
            checker.run("dynoai report --session 1 (the catalog's runs, read back)",
                        [dynoai, "report", "--session", "1", "--catalog", str(shop),
                         "--out", str(work / "session_sheet.pdf")], checker.env())
        cold_starts(checker, [dynoai], "frozen")
        source = ROOT / ".venv/bin/python"
        if source.exists():
            cold_starts(checker, [str(source), "-m", "dynoai_desktop"], "from source")
    elif (s := shown_s(fresh)) is not None:
        checker.figures.append(f"cold start frozen (first start): main window shown after "
                               f"{s:.2f} s")
    for line in checker.figures:
        print(f"check-bundle: {line}")
    if checker.failed:
        print(f"check-bundle: FAILED {len(checker.failed)} step(s): "
              f"{'; '.join(checker.failed)} (kept: {work})", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("check-bundle: OK, every step passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
