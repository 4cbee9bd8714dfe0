"""The Linux package: the frozen bundle under /opt/dynoai as a .deb, built with dpkg-deb.

    /opt/dynoai/                          the bundle (dynoai and _internal/)
    /usr/bin/dynoai                       -> ../../opt/dynoai/dynoai (on PATH)
    /usr/share/applications/dynoai.desktop   the menu entry; opens .pvv and .msq files
    /usr/share/mime/packages/dynoai-desktop.xml   the .pvv and .msq file types
    /usr/share/icons/hicolor/*/apps/dynoai.png|svg   the icon

Install with ``sudo apt install ./dynoai-desktop_VERSION_ARCH.deb`` (apt brings the system
libraries Qt needs, listed in DEPENDS). Called by installer/build.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINUX = HERE / "linux"
ICONS = HERE / "icons"
PACKAGE = "dynoai-desktop"
ICON_SIZES = (16, 32, 48, 64, 128, 256)
# What Qt's xcb and offscreen platforms load from the system (the bundle carries the rest);
# the same list scripts/bootstrap.sh installs for a checkout. t64: Ubuntu 24.04's names.
DEPENDS = (
    "libc6 (>= 2.31), libgl1, libegl1, libfontconfig1, libfreetype6, libxkbcommon0, "
    "libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, "
    "libxcb-render-util0, libxcb-shape0, libxcb-xinerama0 | libxcb1, "
    "libdbus-1-3, libglib2.0-0t64 | libglib2.0-0"
)
DESCRIPTION = """\
DynoAI Desktop: the motorcycle dyno cell application
 Live logging from the dyno and two wideband O2 controllers, run review and
 comparison, the VE, AFR and spark tables of Power Vision (.pvv) and
 TunerStudio (.msq) tunes, autotune per cylinder, a coverage planner and AI
 suggestions learned from the shop's own sessions, for Harley-Davidson
 V-twins. Ships a virtual dyno cell (dynoai --demo) to try it without
 hardware. Needs no network connection."""


def build_deb(bundle: Path, out_dir: Path, version: str) -> Path:
    """Stage the package tree beside ``out_dir`` and build the .deb there; its path."""
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("build: dpkg-deb is not installed (apt-get install dpkg); or run "
                         "installer/build.py --no-deb for the tar.gz alone")
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    stage = out_dir / "deb-root"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(bundle, stage / "opt" / "dynoai", symlinks=True)
    usr_bin = stage / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    (usr_bin / "dynoai").symlink_to("../../opt/dynoai/dynoai")
    _install(LINUX / "dynoai.desktop", stage / "usr/share/applications/dynoai.desktop")
    _install(LINUX / "dynoai-mime.xml", stage / f"usr/share/mime/packages/{PACKAGE}.xml")
    for size in ICON_SIZES:
        _install(ICONS / f"dynoai-{size}.png",
                 stage / f"usr/share/icons/hicolor/{size}x{size}/apps/dynoai.png")
    _install(ICONS / "dynoai.svg", stage / "usr/share/icons/hicolor/scalable/apps/dynoai.svg")
    control = stage / "DEBIAN"
    control.mkdir()
    for script in ("postinst", "postrm"):
        _install(LINUX / script, control / script, mode=0o755)
    installed_kb = sum(p.stat().st_size for p in stage.rglob("*")
                       if p.is_file() and not p.is_symlink()) // 1024
    (control / "control").write_text(
        f"Package: {PACKAGE}\nVersion: {version}\nArchitecture: {arch}\n"
        "Maintainer: DynoAI <packages@dynoai.example>\nSection: science\nPriority: optional\n"
        f"Installed-Size: {installed_kb}\nDepends: {DEPENDS}\nRecommends: libgl1-mesa-dri\n"
        f"Description: {DESCRIPTION}\n", encoding="utf-8")
    _normalise_modes(stage)
    deb = out_dir / f"{PACKAGE}_{version}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(deb)],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(stage)
    return deb


def _install(source: Path, target: Path, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)


def _normalise_modes(stage: Path) -> None:
    """Folders 755, executables 755, everything else 644 (whatever the build's umask was)."""
    for path in [stage, *stage.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            executable = path.stat().st_mode & 0o111
            path.chmod(0o755 if executable else 0o644)
