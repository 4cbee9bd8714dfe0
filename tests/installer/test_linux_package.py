"""The Linux package's pieces, without the 5-minute freeze: the .deb tree deb.py builds around a
bundle, its desktop entry and MIME types, the maintainer scripts run into another root, and the
build's own steps (duplicate libraries linked, the size report). `make check-bundle` installs
and runs the real one."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "installer"
LINUX = INSTALLER / "linux"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb missing")


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"installer_{name}", INSTALLER / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_bundle(folder: Path) -> Path:
    """A bundle's shape: the program, _internal with a library under three names."""
    bundle = folder / "dynoai"
    (bundle / "_internal" / "pyarrow").mkdir(parents=True)
    program = bundle / "dynoai"
    program.write_text("#!/bin/sh\necho dynoai 0.0\n")
    program.chmod(0o755)
    library = os.urandom(50_000)
    for name in ("libarrow_python.so", "libarrow_python.so.2400", "libarrow_python.so.2400.0.0"):
        (bundle / "_internal" / "pyarrow" / name).write_bytes(library)
    (bundle / "_internal" / "resources").mkdir()
    (bundle / "_internal" / "resources" / "ve.csv").write_text("rpm\\map_kpa,20\n750,45\n")
    return bundle


def test_the_desktop_entry_opens_both_tune_types_and_offers_the_demo() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(LINUX / "dynoai.desktop", encoding="utf-8")
    main = entry["Desktop Entry"]
    assert main["Exec"] == "/opt/dynoai/dynoai %f"  # %f: the double-clicked file
    mime = ET.parse(LINUX / "dynoai-mime.xml").getroot()
    types = {t.get("type"): [g.get("pattern") for g in t.iter(f"{MIME_NS}glob")]
             for t in mime.iter(f"{MIME_NS}mime-type")}
    assert types == {"application/x-powervision-tune": ["*.pvv"],
                     "application/x-tunerstudio-tune": ["*.msq"]}
    assert set(filter(None, main["MimeType"].split(";"))) == set(types)
    assert entry["Desktop Action demo"]["Exec"] == "/opt/dynoai/dynoai --demo"
    validate = shutil.which("desktop-file-validate")
    if validate:
        result = subprocess.run([validate, str(LINUX / "dynoai.desktop")],
                                capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout


@pytest.mark.skipif(shutil.which("update-mime-database") is None,
                    reason="update-mime-database missing (shared-mime-info)")
def test_postinst_registers_the_file_types_inside_dpkg_root(tmp_path: Path) -> None:
    packages = tmp_path / "usr/share/mime/packages"
    packages.mkdir(parents=True)
    shutil.copyfile(LINUX / "dynoai-mime.xml", packages / "dynoai-desktop.xml")
    env = {**os.environ, "DPKG_ROOT": str(tmp_path)}
    subprocess.run(["sh", str(LINUX / "postinst"), "configure"], env=env, check=True)
    assert (tmp_path / "usr/share/mime/application/x-powervision-tune.xml").is_file()
    subprocess.run(["sh", str(LINUX / "postrm"), "remove"], env=env, check=True)


@needs_dpkg
def test_the_deb_puts_the_bundle_under_opt_with_dynoai_on_the_path(tmp_path: Path) -> None:
    deb = load("deb").build_deb(fake_bundle(tmp_path), tmp_path, "1.2.3")
    assert deb.name.startswith("dynoai-desktop_1.2.3_")
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    assert "root/root" in listing  # owned by root whoever built it
    assert "./usr/bin/dynoai -> ../../opt/dynoai/dynoai" in listing
    for path in ("./opt/dynoai/dynoai", "./opt/dynoai/_internal/resources/ve.csv",
                 "./usr/share/applications/dynoai.desktop",
                 "./usr/share/mime/packages/dynoai-desktop.xml",
                 "./usr/share/icons/hicolor/256x256/apps/dynoai.png",
                 "./usr/share/icons/hicolor/scalable/apps/dynoai.svg"):
        assert path in listing, path
    assert "-rwxr-xr-x root/root" in next(line for line in listing.splitlines()
                                         if line.endswith("./opt/dynoai/dynoai"))
    control = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    assert "Package: dynoai-desktop" in control and "Version: 1.2.3" in control
    assert "libxcb-cursor0" in control  # what Qt's xcb platform needs from the system
    scripts = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    assert "postinst" in scripts and "postrm" in scripts


def test_the_build_links_a_library_shipped_under_several_names(tmp_path: Path) -> None:
    build = load("build")
    bundle = fake_bundle(tmp_path)
    saved = build.link_duplicates(bundle)
    folder = bundle / "_internal" / "pyarrow"
    assert saved == 2 * 50_000
    assert not (folder / "libarrow_python.so").is_symlink()  # the shortest name is kept
    assert os.readlink(folder / "libarrow_python.so.2400") == "libarrow_python.so"
    assert (folder / "libarrow_python.so.2400.0.0").read_bytes() == (
        folder / "libarrow_python.so").read_bytes()
    parts = dict(build.size_report(bundle))
    assert parts["_internal/pyarrow"] == 50_000  # links count once
    assert list(build.size_report(bundle))[0][0] == "_internal/pyarrow"  # largest first


def test_the_build_reads_the_apps_version_without_importing_it() -> None:
    from dynoai_desktop import __version__

    assert load("build").version() == __version__


@pytest.mark.skipif(sys.platform != "linux", reason="the .deb is Linux's")
def test_make_bundle_and_check_bundle_are_documented() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "installer/build.py" in makefile and "installer/check_bundle.py" in makefile
    install = (REPO / "docs" / "install.md").read_text()
    for words in ("make bundle", "make check-bundle", "150 MB", "Uninstalling", "Backing up"):
        assert words in install


def test_the_windowed_program_writes_its_lines_to_a_log_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = load("entry")
    assert entry.give_windowed_program_a_log() is None  # a console: nothing changes
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # platformdirs' log folder on Linux
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))  # and on Windows
    monkeypatch.setattr(sys, "stderr", None)
    log = entry.give_windowed_program_a_log()
    assert log is not None and tmp_path in log.parents
    sys.stderr.write("dynoai: main window shown 2.1 s after start\n")
    sys.stderr.close()
    assert "main window shown" in log.read_text(encoding="utf-8")
