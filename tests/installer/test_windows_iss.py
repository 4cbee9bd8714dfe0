"""The Windows installer script: it passes check_iss.py, check_iss.py catches a broken copy at the
right line, and the script has what the shop was promised (associations, the data folder that
survives uninstall, DYNOAI_DATA_DIR machine-wide, the demo shortcut). Also the icon files."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from dynoai_desktop.storage.catalog import DATA_DIR_ENV

REPO = Path(__file__).resolve().parents[2]
WINDOWS = REPO / "installer" / "windows"
SCRIPT = WINDOWS / "dynoai.iss"
CHECKER = WINDOWS / "check_iss.py"
ICONS = REPO / "installer" / "icons"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def check(script: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECKER), str(script), *options],
                          capture_output=True, text=True, check=False)


def broken_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the script with ``old`` replaced once, beside a copy of the icons it names;
    and the line of the change."""
    text = SCRIPT.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    line = text[:text.index(old)].count("\n") + 1
    (tmp_path / "windows").mkdir()
    shutil.copytree(ICONS, tmp_path / "icons")
    copy = tmp_path / "windows" / "dynoai.iss"
    copy.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy, line


@pytest.fixture(scope="module")
def parsed():
    """The script as check_iss reads it: [Setup] directives and entries, #defines expanded."""
    checker = load(CHECKER).Checker(SCRIPT, None, {})
    script = checker.run()
    assert checker.problems == []
    return script


def entries(script, section: str) -> list[dict[str, str]]:
    return [entry.params for entry in script.entries if entry.section == section]


# ------------------------------------------------------------------ the checker on the real script
def test_the_real_script_passes_the_check():
    result = check(SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "OK" in result.stdout and "bundle paths checked for form only" in result.stdout


def test_with_a_bundle_the_programs_the_script_starts_must_be_in_it(tmp_path):
    bundle = tmp_path / "dynoai"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "dynoai.exe").touch()
    assert check(SCRIPT, "--bundle", str(bundle)).returncode == 1  # no windowed build yet
    (bundle / "dynoaiw.exe").touch()
    result = check(SCRIPT, "--bundle", str(bundle))
    assert result.returncode == 0, result.stderr


def test_a_bundle_with_names_differing_only_in_case_is_refused(tmp_path):
    bundle = tmp_path / "dynoai"
    bundle.mkdir()
    for name in ("dynoai.exe", "DynoAI.exe", "dynoaiw.exe"):
        (bundle / name).touch()
    result = check(SCRIPT, "--bundle", str(bundle))
    assert result.returncode == 1
    assert "DynoAI.exe and dynoai.exe" in result.stderr
    assert "Windows folders ignore case" in result.stderr


BROKEN = [
    ("WizardStyle=modern", "WizardStyel=modern", "unknown [Setup] directive WizardStyel"),
    ("[InstallDelete]", "[InstalDelete]", "unknown section [InstalDelete]"),
    ('Parameters: "--demo";', 'Parameters: "--demo;', "unbalanced quotes"),
    ('Source: "..\\icons\\dynoai.ico"; DestDir: "{app}"; ', 'Source: "..\\icons\\dynoai.ico"; ',
     "[Files] entry without DestDir (required)"),
    ("Tasks: desktopicon", "Tasks: desktopicons",
     "Tasks: desktopicons is not declared in [Tasks]"),
    ('Source: "..\\icons\\dynoai.ico"', 'Source: "..\\icons\\dynoai-app.ico"',
     "Source ..\\icons\\dynoai-app.ico: no such file"),
    ("Flags: uninsneveruninstall", "Flags: uninsnevreuninstall",
     "unknown flag uninsnevreuninstall for [Dirs]"),
    ("{commonappdata}\\DynoAI\"; Permissions", "{commonappdat}\\DynoAI\"; Permissions",
     "unknown constant {commonappdat}"),
    ("AppId={{F88DEB78", "AppId={F88DEB78", "write a GUID {{F88DEB78"),
    ("Flags: postinstall", "Flag: postinstall", "unknown parameter Flag in [Run]"),
    ("#define AppName", "#define AppNam", "AppName is not defined"),
]


@pytest.mark.parametrize(("old", "new", "problem"), BROKEN, ids=[b[2][:40] for b in BROKEN])
def test_the_checker_names_the_line_of_each_mistake(tmp_path, old, new, problem):
    copy, line = broken_copy(tmp_path, old, new)
    result = check(copy)
    assert result.returncode == 1
    if problem == "AppName is not defined":  # reported once, where first used
        line = next(n for n, text in enumerate(copy.read_text().splitlines(), 1)
                    if "{#AppName}" in text)
    expected = f"check_iss: {copy}:{line}: "
    assert any(row.startswith(expected) and problem in row
               for row in result.stderr.splitlines()), result.stderr


def test_an_ifndef_without_endif_and_a_missing_script_are_reported(tmp_path):
    copy, line = broken_copy(tmp_path, "#endif\n#ifndef BundleDir", "#ifndef BundleDir")
    result = check(copy)
    assert result.returncode == 1
    assert f"{copy}:{line - 2}: #ifdef/#ifndef without its #endif" in result.stderr
    missing = check(tmp_path / "nothing.iss")
    assert missing.returncode == 2
    assert missing.stderr.startswith("check_iss: ") and missing.stderr.count("\n") == 1


# ------------------------------------------------------------------ what the script promises
def test_tunes_open_in_the_app_by_association_removed_on_uninstall(parsed):
    tasks = {params["Name"] for params in entries(parsed, "Tasks")}
    registry = entries(parsed, "Registry")
    for extension, progid, task in ((".pvv", "DynoAI.PowerVisionTune", "assocpvv"),
                                    (".msq", "DynoAI.TunerStudioTune", "assocmsq")):
        assert task in tasks
        mine = [p for p in registry if p.get("Tasks") == task]
        default = next(p for p in mine if p["Subkey"] == f"Software\\Classes\\{extension}")
        assert default["ValueData"] == progid
        # Never takes the type from another program; [Code] removes it at uninstall if ours.
        assert "createvalueifdoesntexist" in default["Flags"].split()
        assert any(p["Subkey"].endswith(f"{extension}\\OpenWithProgids")
                   and p["ValueName"] == progid and "uninsdeletevalue" in p["Flags"]
                   for p in mine)
        key = next(p for p in mine if p["Subkey"] == f"Software\\Classes\\{progid}")
        assert "uninsdeletekey" in key["Flags"].split()
        command = next(p for p in mine if p["Subkey"].endswith(f"{progid}\\shell\\open\\command"))
        assert command["ValueData"] == '"{app}\\dynoaiw.exe" "%1"'
        assert any(p["Subkey"].endswith(f"{progid}\\DefaultIcon") for p in mine)
    code = SCRIPT.read_text(encoding="utf-8").split("[Code]", 1)[1]
    assert "RemoveDefaultIfOurs('.pvv'" in code and "RemoveDefaultIfOurs('.msq'" in code


def test_the_shop_data_folder_is_shared_and_survives_uninstall(parsed):
    (folder,) = [p for p in entries(parsed, "Dirs") if p["Name"] == "{commonappdata}\\DynoAI"]
    assert "uninsneveruninstall" in folder["Flags"].split()
    assert folder["Permissions"] == "users-modify"
    deleted = [p["Name"] for p in entries(parsed, "UninstallDelete")]
    assert not any("commonappdata" in name for name in deleted)
    # The upgrade's clean-up touches only the program's own files.
    assert all(p["Name"].startswith("{app}\\") for p in entries(parsed, "InstallDelete"))


def test_the_data_folder_is_named_machine_wide_for_the_app(parsed):
    (variable,) = [p for p in entries(parsed, "Registry") if p.get("ValueName") == DATA_DIR_ENV]
    assert variable["Root"] == "HKLM"
    assert variable["Subkey"] == "SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment"
    assert variable["ValueData"] == "{commonappdata}\\DynoAI"
    assert "uninsdeletevalue" in variable["Flags"].split()
    assert parsed.setup["ChangesEnvironment"][1] == "yes"
    # The launch at the end of setup starts the app itself: its environment predates the
    # variable, and the app reads the machine-wide value (tests/storage/test_machine_env.py).
    (launch,) = entries(parsed, "Run")
    assert launch["Filename"] == "{app}\\dynoaiw.exe"
    assert {"postinstall", "skipifsilent", "nowait"} <= set(launch["Flags"].split())


def test_start_menu_has_the_app_the_demo_cell_and_uninstall(parsed):
    icons = {p["Name"]: p for p in entries(parsed, "Icons")}
    assert icons["{group}\\DynoAI Desktop"]["Filename"] == "{app}\\dynoaiw.exe"
    demo = icons["{group}\\DynoAI Desktop (demo cell)"]
    assert (demo["Filename"], demo["Parameters"]) == ("{app}\\dynoaiw.exe", "--demo")
    assert icons["{group}\\Uninstall DynoAI Desktop"]["Filename"] == "{uninstallexe}"
    assert icons["{autodesktop}\\DynoAI Desktop"]["Tasks"] == "desktopicon"


def test_setup_is_per_machine_64_bit_and_upgrades_in_place(parsed):
    setup = {name: value for name, (_line, value) in parsed.setup.items()}
    assert setup["PrivilegesRequired"] == "admin"
    assert setup["ArchitecturesInstallIn64BitMode"] == "x64compatible"
    assert setup["ArchitecturesAllowed"] == "x64compatible"
    # A fixed GUID, so a newer setup finds this installation ({{ is a literal brace).
    assert re.fullmatch(r"\{\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", setup["AppId"])
    assert setup["DefaultDirName"] == "{autopf}\\DynoAI Desktop"
    assert setup["OutputBaseFilename"] == "DynoAI-Desktop-0.1.0-setup"
    assert (setup["Compression"], setup["SolidCompression"]) == ("lzma2", "yes")


def test_the_version_comes_from_the_command_line_as_with_iscc():
    checker = load(CHECKER).Checker(SCRIPT, None, {"AppVersion": "1.2.3"})
    setup = checker.run().setup
    assert setup["OutputBaseFilename"][1] == "DynoAI-Desktop-1.2.3-setup"


# ------------------------------------------------------------------ the icon
def test_the_icon_has_every_size_and_the_svg_matches_its_script():
    for size in (16, 32, 48, 64, 128, 256):
        with Image.open(ICONS / f"dynoai-{size}.png") as image:
            assert image.size == (size, size)
    with Image.open(ICONS / "dynoai.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    assert load(ICONS / "make_icons.py").svg() == (ICONS / "dynoai.svg").read_text("utf-8")
