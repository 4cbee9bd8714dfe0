"""Check an Inno Setup script's syntax and the files it names, where Inno Setup cannot run.

    python installer/windows/check_iss.py installer/windows/dynoai.iss [--bundle DIR]
        [--define NAME=VALUE ...]

It reads the script as ISCC would and reports, one line each on stderr,
``check_iss: FILE:LINE: problem``:

- preprocessor: ``#define NAME "text"`` (a string, a number or a defined name), ``#undef``,
  ``#ifdef``/``#ifndef``/``#else``/``#endif`` balanced, ``{#NAME}`` of defined names (``--define``
  plays ISCC's ``/DNAME=VALUE``); other ISPP directives and expressions are reported as beyond it;
- sections: only Inno Setup's; [Setup] directives known (iss_tables.py, from Inno's own source),
  the required ones present, none twice, yes/no values, the files they name present;
- entries (``Name: value; Name: value``): known parameters, the required ones, none twice, quotes
  balanced (``""`` inside a quoted value), flags known for the section, Root/ValueType/Type/
  Permissions values, constants such as ``{app}`` ``{autopf}`` ``{cm:Name}`` known, ``{{`` for
  a literal brace; every task used is declared and every task declared is used;
- files: a Source relative to the script must exist. Sources in the build output (a path through
  ``build\\dist\\NAME``) are checked for form only, unless ``--bundle DIR`` names that folder:
  then they and every ``{app}\\NAME`` the script starts or shows (shortcuts, associations, [Run],
  the uninstall icon) must be in DIR, unless a [Files] entry of its own installs that name. Two
  names that differ only in case are reported: Windows folders ignore case, so ``DynoAI.exe``
  and ``dynoai.exe`` would be one file.

What it does not do: it is not ISCC. It does not compile the [Code] section's Pascal (it skips
it), evaluate ISPP expressions or join ISPP continuation lines, check [Setup] values beyond
yes/no and privileges, check [LangOptions] names or [Messages] names beyond a common few, check
ISCC's rules between parameters and flags, or run anything on Windows. Building with ISCC on
Windows (installer/windows/README.md) is the real test; this catches the typos before that.

Exit codes: 0 no problem; 1 problems found; 2 usage (no such script, --bundle not a folder).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run by path: its modules are beside it
import iss_tables as T  # noqa: E402
from iss_files import FileChecks  # noqa: E402

PROG = "check_iss"
IDENT = re.compile(r"[A-Za-z_]\w*")
INLINE_ISPP = re.compile(r"\{#\s*([^}]*)\}")
GUID = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")


@dataclass
class Entry:
    section: str
    line: int
    params: dict[str, str]


@dataclass
class Script:
    """What the checks need after parsing: [Setup] directives, entries, messages."""
    setup: dict[str, tuple[int, str]] = field(default_factory=dict)
    setup_line: int = 0
    entries: list[Entry] = field(default_factory=list)
    custom_messages: set[str] = field(default_factory=set)


class Checker:
    def __init__(self, path: Path, bundle: Path | None, defines: dict[str, str]) -> None:
        self.path = path
        self.base = path.resolve().parent
        self.bundle = bundle
        self.defines = dict(defines)
        self.problems: list[tuple[int, str]] = []
        self.undefined: set[str] = set()

    def problem(self, line: int, text: str) -> None:
        self.problems.append((line, text))

    # ------------------------------------------------------------------ preprocessor
    def preprocess(self, raw: list[str]) -> list[tuple[int, str]]:
        """The lines ISCC would see after ISPP, each with its line number in the file."""
        out: list[tuple[int, str]] = []
        stack: list[list] = []  # [line, branch taken, #else seen]
        for number, text in enumerate(raw, start=1):
            active = all(frame[1] for frame in stack)
            stripped = text.strip()
            if stripped.startswith("#"):
                self._directive(number, stripped, stack, active)
            elif active:
                out.append((number, self._expand(number, text)))
        for frame in stack:
            self.problem(frame[0], "#ifdef/#ifndef without its #endif")
        return out

    def _directive(self, number: int, text: str, stack: list[list], active: bool) -> None:
        match = re.match(r"#\s*(\w*)\s*(.*)$", text)
        name, rest = (match.group(1), match.group(2).strip()) if match else ("", "")
        if name not in T.ISPP_DIRECTIVES:
            self.problem(number, f"unknown preprocessor directive #{name}")
        elif name not in T.ISPP_EVALUATED:
            if active:
                self.problem(number, f"#{name} is beyond check_iss (it evaluates #define, #undef, "
                                     "#ifdef, #ifndef, #else, #endif, #error)")
        elif name in ("ifdef", "ifndef"):
            if not IDENT.fullmatch(rest):
                self.problem(number, f"#{name} needs one name")
            stack.append([number, (rest in self.defines) == (name == "ifdef"), False])
        elif name in ("else", "endif"):
            if not stack:
                self.problem(number, f"#{name} without #ifdef/#ifndef")
            elif name == "endif":
                stack.pop()
            elif stack[-1][2]:
                self.problem(number, "a second #else for the same #ifdef/#ifndef")
            else:
                stack[-1][1:] = [not stack[-1][1], True]
        elif not active:
            return
        elif name == "define":
            self._define(number, rest)
        elif name == "undef":
            self.defines.pop(rest, None)
        elif name == "error":
            self.problem(number, f"#error {rest}")

    def _define(self, number: int, rest: str) -> None:
        match = re.fullmatch(r"([A-Za-z_]\w*)\s*(?:=\s*)?(.*)", rest)
        if not match:
            self.problem(number, "#define needs a name")
            return
        name, value = match.group(1), match.group(2).strip()
        if re.fullmatch(r'"([^"]|"")*"', value):
            self.defines[name] = value[1:-1].replace('""', '"')
        elif value == "" or re.fullmatch(r"-?\d+", value):
            self.defines[name] = value
        elif value in self.defines:
            self.defines[name] = self.defines[value]
        else:
            self.problem(number, f"#define {name}: check_iss evaluates a quoted string, a number "
                                 f"or a defined name, not {value}")

    def _expand(self, number: int, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in self.defines:
                return self.defines[name]
            if IDENT.fullmatch(name):
                if name not in self.undefined:  # once, where first used
                    self.undefined.add(name)
                    self.problem(number, f"{{#{name}}}: {name} is not defined (#define it or "
                                         f"pass --define {name}=VALUE, as ISCC's /D{name}=VALUE)")
            else:
                self.problem(number, f"{{#{name}}}: check_iss expands defined names only")
            return "{#}"
        return INLINE_ISPP.sub(replace, text)

    # ------------------------------------------------------------------ sections
    def parse(self, lines: list[tuple[int, str]]) -> Script:
        script = Script()
        section: str | None = None
        seen_text_outside = False
        canonical = {name.lower(): name for name in T.SECTIONS}
        for number, text in lines:
            stripped = text.strip()
            header = re.fullmatch(r"\[([^\]]*)\]", stripped)
            if header and (section != "Code" or header.group(1).lower() in canonical):
                name = header.group(1).strip()
                section = canonical.get(name.lower(), "_" if name.startswith("_") else None)
                if section is None:
                    self.problem(number, f"unknown section [{name}]")
                    section = "?"
                elif section == "Setup":
                    script.setup_line = script.setup_line or number
                continue
            if not stripped or stripped.startswith(";") or section in ("Code", "_", "?"):
                continue
            if section is None:
                if not seen_text_outside:
                    self.problem(number, "text before the first [Section]")
                seen_text_outside = True
            elif section in T.KEY_VALUE_SECTIONS:
                self._key_value(section, number, stripped, script)
            else:
                params = self._parameters(section, number, stripped)
                if params is not None:
                    script.entries.append(Entry(section, number, params))
        return script

    def _key_value(self, section: str, number: int, text: str, script: Script) -> None:
        name, sep, value = (part.strip() for part in text.partition("="))
        if not sep or not IDENT.fullmatch(name.split(".")[-1]):
            self.problem(number, f"[{section}] expects Name=Value, not {text[:40]}")
            return
        if section == "CustomMessages":
            script.custom_messages.add(name.split(".")[-1])
        elif section == "Messages" and name.split(".")[-1] not in T.MESSAGES:
            self.problem(number, f"[Messages] {name}: not a message check_iss knows "
                                 "(see Inno's Default.isl; add it to iss_tables.MESSAGES)")
        if section != "Setup":
            return
        known = {d.lower(): d for d in T.SETUP_DIRECTIVES}
        if name.lower() not in known:
            self.problem(number, f"unknown [Setup] directive {name}")
            return
        name = known[name.lower()]
        if name in script.setup:
            self.problem(number, f"[Setup] {name} given twice (first on line "
                                 f"{script.setup[name][0]})")
        if value.startswith('"') != value.endswith('"') or value == '"':
            self.problem(number, f"[Setup] {name}: unbalanced quote")
        value = value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value
        script.setup[name] = (number, value)
        self._constants(number, value, script)

    def _parameters(self, section: str, number: int, text: str) -> dict[str, str] | None:
        """``Name: value; Name: "quoted; value"`` -> {Name: value}; None when malformed."""
        known, _required, _flags = T.ENTRY_PARAMETERS[section]
        canonical = {p.lower(): p for p in known}
        if text.count('"') % 2:  # "" inside a quoted value counts two: odd is always a miss
            self.problem(number, f'unbalanced quotes: {text.count(chr(34))} " on the line')
            return None
        params: dict[str, str] = {}
        i, end = 0, len(text)
        while True:
            while i < end and text[i] in " \t":
                i += 1
            if i >= end:
                return params
            match = re.compile(r"([A-Za-z]\w*)\s*:").match(text, i)
            if not match:
                self.problem(number, f"[{section}] expects 'Name: value; ...', not "
                                     f"{text[i:i + 30]!r}")
                return None
            name, i = match.group(1), match.end()
            while i < end and text[i] in " \t":
                i += 1
            if i < end and text[i] == '"':
                value, i = self._quoted(text, i + 1)
                if value is None:
                    self.problem(number, f'{name}: the quoted value is not closed (a " is missing)')
                    return None
                while i < end and text[i] in " \t":
                    i += 1
                if i < end and text[i] != ";":
                    self.problem(number, f"{name}: text after the closing quote; end the value "
                                         "with ;")
                    return None
            else:
                stop = text.find(";", i)
                stop = end if stop < 0 else stop
                value, i = text[i:stop].strip(), stop
                if '"' in value:
                    self.problem(number, f'{name}: a " inside an unquoted value; quote the whole '
                                         'value and double the inner quotes')
                    return None
            i += 1  # past the ;
            if name.lower() not in canonical:
                self.problem(number, f"unknown parameter {name} in [{section}]")
            elif canonical[name.lower()] in params:
                self.problem(number, f"parameter {canonical[name.lower()]} given twice")
            else:
                params[canonical[name.lower()]] = value

    @staticmethod
    def _quoted(text: str, i: int) -> tuple[str | None, int]:
        parts: list[str] = []
        while True:
            close = text.find('"', i)
            if close < 0:
                return None, len(text)
            if text.startswith('""', close):
                parts.append(text[i:close + 1])
                i = close + 2
                continue
            parts.append(text[i:close])
            return "".join(parts), close + 1

    # ------------------------------------------------------------------ values
    def _constants(self, number: int, value: str, script: Script) -> None:
        i = 0
        while (start := value.find("{", i)) >= 0:
            if value.startswith("{{", start):
                i = start + 2
                continue
            depth, stop = 0, -1
            for k in range(start, len(value)):
                depth += {"{": 1, "}": -1}.get(value[k], 0)
                if depth == 0:
                    stop = k
                    break
            if stop < 0:
                self.problem(number, f"{value[start:start + 30]}: a {{ without its }} (write {{{{ "
                                     "for a literal brace)")
                return
            self._constant(number, value[start + 1:stop], script)
            i = stop + 1

    def _constant(self, number: int, body: str, script: Script) -> None:
        name, sep, argument = body.partition(":")
        if body.startswith("#"):
            return  # reported by the preprocessor
        if body.startswith("%"):
            return  # {%ENVVAR|default}
        if sep and name.lower() in T.CONSTANTS_WITH_ARGUMENT:
            self._constants(number, argument, script)
            message = argument.split(",")[0]
            if name.lower() == "cm" and message not in (T.DEFAULT_CUSTOM_MESSAGES
                                                        | script.custom_messages):
                self.problem(number, f"{{cm:{message}}}: no such custom message")
        elif body.lower() not in T.CONSTANTS:
            hint = (f" (write a GUID {{{{{body}}}: a single {{ starts a constant)"
                    if GUID.fullmatch(body) else "")
            self.problem(number, f"unknown constant {{{body}}}{hint}")

    def check_entry(self, entry: Entry, script: Script) -> None:
        section, number, params = entry.section, entry.line, entry.params
        _known, required, flags = T.ENTRY_PARAMETERS[section]
        for name in required:
            if name not in params:
                self.problem(number, f"[{section}] entry without {name} (required)")
        for flag in params.get("Flags", "").split():
            if flag.lower() not in flags:
                self.problem(number, f"unknown flag {flag} for [{section}]")
        choices = {"Type": T.DELETE_TYPES, "Root": T.REGISTRY_ROOTS, "ValueType": T.VALUE_TYPES}
        for name, allowed in choices.items():
            if name in params and params[name] not in allowed and \
                    params[name].lower() not in allowed:
                self.problem(number, f"{name}: {params[name]} is not one of "
                                     f"{', '.join(sorted(allowed))}")
        for permission in params.get("Permissions", "").split():
            group, _, access = permission.rpartition("-")
            if (group.lower() not in T.PERMISSION_GROUPS and not group.startswith("S-1-")) or \
                    access.lower() not in T.PERMISSION_ACCESS.get(section, ()):
                self.problem(number, f"Permissions: {permission} is not <group>-<access> "
                                     "(e.g. users-modify)")
        for name, value in params.items():
            if name not in ("Flags", "Tasks", "Type", "Root", "ValueType", "Permissions"):
                self._constants(number, value, script)

    # ------------------------------------------------------------------ tasks and [Setup]
    def check_tasks(self, script: Script) -> None:
        declared: dict[str, int] = {}
        used: set[str] = set()
        for entry in script.entries:
            if entry.section == "Tasks" and "Name" in entry.params:
                name = entry.params["Name"].lower()
                if name in declared:
                    self.problem(entry.line, f"task {entry.params['Name']} declared twice")
                declared.setdefault(name, entry.line)
        for entry in script.entries:
            expression = entry.params.get("Tasks", "")
            for word in re.findall(r"[\w\\]+", expression):
                if word.lower() in ("and", "or", "not"):
                    continue
                used.add(word.lower())
                if word.lower() not in declared:
                    self.problem(entry.line, f"Tasks: {word} is not declared in [Tasks]")
        for name, number in declared.items():
            if name not in used and not any(u.startswith(name + "\\") for u in used):
                self.problem(number, f"task {name} is declared but no entry uses it")

    def check_setup(self, script: Script) -> None:
        line = script.setup_line or 1
        if not script.setup_line:
            self.problem(1, "no [Setup] section")
            return
        for name in T.SETUP_REQUIRED:
            if name not in script.setup:
                self.problem(line, f"[Setup] without {name} (required)")
        if "AppVersion" not in script.setup and "AppVerName" not in script.setup:
            self.problem(line, "[Setup] without AppVersion or AppVerName (one is required)")
        for name, (number, value) in script.setup.items():
            if name in T.YES_NO_DIRECTIVES and value.lower() not in T.YES_NO:
                self.problem(number, f"[Setup] {name}={value}: give yes or no")
        if "PrivilegesRequired" in script.setup:
            number, value = script.setup["PrivilegesRequired"]
            if value.lower() not in T.PRIVILEGES:
                self.problem(number, f"PrivilegesRequired={value}: give admin or lowest")

    def run(self) -> Script:
        raw = self.path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
        script = self.parse(self.preprocess(raw))
        self.check_setup(script)
        for entry in script.entries:
            self.check_entry(entry, script)
        self.check_tasks(script)
        FileChecks(self.base, self.bundle, self.problem).run(script)
        return script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("script", type=Path, help="the .iss file")
    parser.add_argument("--bundle", type=Path, metavar="DIR",
                        help="the PyInstaller bundle folder the script installs")
    parser.add_argument("--define", action="append", default=[], metavar="NAME=VALUE",
                        help="as ISCC's /DNAME=VALUE")
    args = parser.parse_args(argv)
    defines: dict[str, str] = {}
    for item in args.define:
        name, sep, value = item.partition("=")
        if not IDENT.fullmatch(name):
            print(f"{PROG}: --define {item}: give NAME=VALUE", file=sys.stderr)
            return 2
        defines[name] = value
    if not args.script.is_file():
        print(f"{PROG}: {args.script}: no such file; give the .iss script", file=sys.stderr)
        return 2
    if args.bundle is not None and not args.bundle.is_dir():
        print(f"{PROG}: --bundle {args.bundle}: no such folder; give the PyInstaller output "
              "(installer/build/dist/dynoai)", file=sys.stderr)
        return 2
    checker = Checker(args.script, args.bundle, defines)
    script = checker.run()
    for number, text in sorted(checker.problems):
        print(f"{PROG}: {args.script}:{number}: {text}", file=sys.stderr)
    if checker.problems:
        return 1
    bundle = f", bundle {args.bundle}" if args.bundle else ", bundle paths checked for form only"
    print(f"{PROG}: {args.script}: OK ({len(script.entries)} entries{bundle}; syntax and files "
          "only, ISCC on Windows builds it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
