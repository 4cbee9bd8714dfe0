"""Build the shops' bundle: the frozen program, its compressed archive and (on Linux) the .deb.

    python installer/build.py [--skip-freeze] [--no-deb]

Run with the Python of ``.venv-bundle`` (``make bundle`` sets it up: the app's run-time
dependencies and PyInstaller, nothing else). Writes, under ``installer/build/``:

    dist/dynoai/                          the onedir program (installer/dynoai.spec)
    dynoai-desktop-VERSION-linux-ARCH.tar.gz   the bundle as a plain archive (Linux)
    dynoai-desktop_VERSION_ARCH.deb       installs it under /opt (installer/deb.py)
    size-report.txt                       what the bundle holds, largest first

Size budget: the compressed bundle a Linux shop downloads, the .deb (xz), must be at most
``BUDGET_MB``; over it, the build fails (exit 1) naming what dominates. The plain tar.gz (the
.zip on Windows, where ISCC's setup program is what ships) is reported beside it. Exit 2 when
a tool it needs is missing, with what to install.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = HERE / "build"
DIST = BUILD / "dist"
BUNDLE = DIST / "dynoai"
BUDGET_MB = 150.0  # the compressed bundle, in MB of 10^6 bytes
MB = 1e6
TOP_ENTRIES = 15  # how many of the largest parts the size report lists
ELF_MAGIC = b"\x7fELF"


def version() -> str:
    """The app's version, read from the package without importing it (no Qt, no numpy)."""
    text = (ROOT / "dynoai_desktop" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if found is None:
        raise SystemExit("build: dynoai_desktop/__init__.py has no __version__ line")
    return found.group(1)


def freeze() -> float:
    """Run PyInstaller on the spec; seconds it took."""
    started = time.monotonic()
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
               "--log-level", "WARN", "--distpath", str(DIST), "--workpath",
               str(BUILD / "work"), str(HERE / "dynoai.spec")]
    result = subprocess.run(command, cwd=HERE)
    if result.returncode != 0:
        raise SystemExit(f"build: PyInstaller failed (exit {result.returncode}); see above")
    return time.monotonic() - started


def strip_symbols(bundle: Path) -> int:
    """Drop the symbol tables and debug sections of the bundle's libraries (libpython alone
    carries 18 MB); bytes saved. Left alone: the programs themselves (they carry the Python
    archive), and the libraries auditwheel repaired (``*.libs`` folders: OpenBLAS, gfortran),
    which no longer load once strip rewrites their layout ("not page-aligned")."""
    strip = shutil.which("strip")
    if strip is None or not sys.platform.startswith("linux"):
        return 0
    before = _size(bundle)
    internal = bundle / "_internal"
    files = [p for p in internal.rglob("*")
             if p.is_file() and not p.is_symlink()
             and not any(part.endswith(".libs") for part in p.relative_to(internal).parts)
             and _is_elf(p)]
    for chunk in range(0, len(files), 200):
        subprocess.run([strip, "--strip-unneeded", *map(str, files[chunk:chunk + 200])],
                       check=True)
    return before - _size(bundle)


def link_duplicates(bundle: Path) -> int:
    """A library wheels ship under several names (libarrow_python.so, .so.2400, .so.2400.0.0)
    is copied once per name: keep one, link the others to it; bytes saved."""
    saved = 0
    for folder in [bundle, *(p for p in bundle.rglob("*") if p.is_dir() and not p.is_symlink())]:
        seen: dict[tuple[int, bytes], Path] = {}
        for path in sorted(folder.iterdir(), key=lambda p: (len(p.name), p.name)):
            if not path.is_file() or path.is_symlink() or ".so" not in path.name:
                continue
            key = (path.stat().st_size, hashlib.sha256(path.read_bytes()).digest())
            if key in seen:
                saved += key[0]
                path.unlink()
                path.symlink_to(seen[key].name)
            else:
                seen[key] = path
    return saved


def _is_elf(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(4) == ELF_MAGIC


def _size(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def size_report(bundle: Path) -> list[tuple[str, int]]:
    """The bundle's parts (the program, and each entry of _internal), largest first."""
    internal = bundle / "_internal"
    parts = [(p.name, _size(p)) for p in bundle.iterdir() if p != internal]
    parts += [(f"_internal/{p.name}", _size(p)) for p in internal.iterdir()]
    return sorted(parts, key=lambda part: -part[1])


def archive(bundle: Path, stem: str) -> Path:
    """The bundle as one compressed file: tar.gz on Linux (symlinks kept), .zip on Windows."""
    if sys.platform == "win32":
        return Path(shutil.make_archive(str(BUILD / stem), "zip", bundle.parent, bundle.name))
    out = BUILD / f"{stem}.tar.gz"
    with tarfile.open(out, "w:gz", compresslevel=9) as tar:
        tar.add(bundle, arcname=f"dynoai-desktop-{version()}")
    return out


def _missing_tools(freeze: bool, deb: bool) -> str:
    """What is not installed that this build needs, and how to get it ("" when nothing)."""
    import importlib.util

    if freeze and importlib.util.find_spec("PyInstaller") is None:
        return (f"PyInstaller is not installed in {sys.executable}; run 'make bundle' (it sets "
                "up .venv-bundle) or pip install '.[bundle]'")
    if deb and shutil.which("dpkg-deb") is None:
        return "dpkg-deb is not installed (Debian/Ubuntu: dpkg); or give --no-deb"
    return ""


def platform_tag() -> str:
    import platform

    machine = platform.machine().lower().replace("amd64", "x86_64")
    return f"{sys.platform.replace('win32', 'windows')}-{machine}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="installer/build.py", description=__doc__.split("\n")[0])
    parser.add_argument("--skip-freeze", action="store_true",
                        help="reuse installer/build/dist/dynoai (archives and .deb only)")
    parser.add_argument("--no-deb", action="store_true", help="do not build the .deb")
    args = parser.parse_args(argv)
    if args.skip_freeze and not (BUNDLE / "_internal").is_dir():
        print(f"build: {BUNDLE} is not built yet; run without --skip-freeze", file=sys.stderr)
        return 2
    missing = _missing_tools(freeze=not args.skip_freeze,
                             deb=sys.platform.startswith("linux") and not args.no_deb)
    if missing:
        print(f"build: {missing}", file=sys.stderr)
        return 2
    started = time.monotonic()
    freeze_s = 0.0 if args.skip_freeze else freeze()
    stripped = 0 if args.skip_freeze else strip_symbols(BUNDLE) + link_duplicates(BUNDLE)
    parts = size_report(BUNDLE)
    raw = sum(size for _name, size in parts)
    compressed = archive(BUNDLE, f"dynoai-desktop-{version()}-{platform_tag()}")
    packed = compressed.stat().st_size
    lines = [f"bundle {BUNDLE}: {raw / MB:.0f} MB on disk "
             f"({stripped / MB:.0f} MB of symbols and duplicate libraries taken out)",
             f"plain archive: {compressed.name} {packed / MB:.1f} MB",
             f"largest parts (of {len(parts)}):"]
    lines += [f"  {size / MB:7.1f} MB  {name}" for name, size in parts[:TOP_ENTRIES]]
    deb = None
    if sys.platform.startswith("linux") and not args.no_deb:
        from deb import build_deb  # installer/deb.py, beside this file

        deb = build_deb(BUNDLE, BUILD, version())
        lines.append(f".deb: {deb.name} {deb.stat().st_size / MB:.1f} MB "
                     f"(budget {BUDGET_MB:.0f} MB)")
    else:  # Windows: the setup program ISCC compresses (LZMA2) is what ships; its size is ISCC's
        lines.append(f"no .deb: the {BUDGET_MB:.0f} MB budget is checked on the .deb; compare "
                     "the setup program ISCC writes with it by hand")
    total_s = time.monotonic() - started
    lines.append(f"build time: {total_s:.0f} s (PyInstaller {freeze_s:.0f} s)")
    (BUILD / "size-report.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if deb is not None and deb.stat().st_size > BUDGET_MB * MB:
        top = ", ".join(f"{name} {size / MB:.0f} MB" for name, size in parts[:5])
        print(f"build: {deb.name} is {deb.stat().st_size / MB:.1f} MB, over the "
              f"{BUDGET_MB:.0f} MB budget; largest parts: {top}", file=sys.stderr)
        return 1
    if packed > BUDGET_MB * MB:
        print(f"build: note: the plain {compressed.name} is {packed / MB:.1f} MB: gzip and zip "
              f"pack the bundle less tightly than the .deb's xz", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
