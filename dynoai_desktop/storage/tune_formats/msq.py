"""TunerStudio ``.msq`` tune files: read 2-D tables and splice edited ones back in place.

An MSQ is XML (ISO-8859-1 unless its declaration says otherwise). A table is a
``<constant name=".." rows="R" cols="C" units=".." digits="..">`` whose text holds R lines of C
whitespace-separated numbers. **Each text line is one load row (lowest load first) and each
column is an rpm breakpoint**, so the core :class:`Table` (rows rpm, columns load) is the
transpose (FORMATS.md §5). The axes are two 1-D "bins" constants named by :data:`TABLE_AXES`;
where those names are missing (another firmware version named them otherwise) or the table is not
named there, the axes are the RPM constant and the load constant of the table's size that follow
it in its ``<page>`` before the next table (TunerStudio writes a page in its ``.ini`` order, and
the ``.ini`` files put a table's bins right after it).

The document is never re-serialised: each number's span is located once while parsing, and
:meth:`MsqFile.with_table` rewrites only the spans of cells whose value changed. Writing back
unchanged tables gives a byte-identical file; encoding, line endings, indentation and every
unknown element stay exactly as they were.
"""

from __future__ import annotations

import codecs
import html
import os
import re
from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

import numpy as np

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_number
from dynoai_desktop.storage.file_io import read_bytes, write_bytes_atomic
from dynoai_desktop.storage.tune_formats.msq_layout import (
    TABLE_AXES,
    Limit,
    cell_limits,
    firmware,
    stored_as,
)

__all__ = ["TABLE_AXES", "MsqFile", "read_msq", "write_msq"]

_DECLARATION = re.compile(r"\A(?:\xef\xbb\xbf)?\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([^\"']+)")
_ATTRS = r"(?P<attrs>(?:[^>\"']|\"[^\"]*\"|'[^']*')*?)"
_MARKUP = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>"
                     rf"|<constant\b{_ATTRS}(?:/>|>(?P<body>.*?)</constant\s*>)"
                     r"|(?P<open><constant\b)", re.DOTALL)
_ATTR = re.compile(r"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_TOKEN = re.compile(r"\S+")
_PAGE = re.compile(r"<page\b")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_PLAIN = re.compile(r"-?\d+(?:\.(\d+))?")


@dataclass(frozen=True)
class _Constant:
    """One ``<constant>``: its attributes and the document spans of its value tokens."""

    name: str
    attrs: dict[str, str]
    line: int
    spans: tuple[tuple[int, int], ...]
    page: int  # which <page> element holds it (0 before the first)

    @property
    def is_grid(self) -> bool:
        """A 2-D array (rows and cols both above 1): what a table's values look like."""
        rows, cols = self.attrs.get("rows", ""), self.attrs.get("cols", "")
        return rows.isdigit() and cols.isdigit() and int(rows) > 1 and int(cols) > 1

    def shape_text(self) -> str:
        """What the constant holds, in words: a single value, N values, an R x C grid."""
        if self.is_grid:
            return f"a {self.attrs['rows']} x {self.attrs['cols']} grid"
        return "a single value" if len(self.spans) <= 1 else f"a list of {len(self.spans)} values"


@dataclass(frozen=True)
class _Spec:
    """Where an offered table lives: the constants of values, rpm bins and load bins."""

    values: _Constant
    rpm: _Constant
    load: _Constant
    table: Table


def _load_axis(units: str) -> str | None:
    """``map_kpa`` for kPa, ``tps_pct`` for % or TPS, None for any other load unit."""
    units = units.strip().casefold()
    if units == "kpa":
        return "map_kpa"
    if "%" in units or "tps" in units:
        return "tps_pct"
    return None


def _fmt_axis(values: np.ndarray) -> str:
    return " ".join(format_number(v) for v in values)


def _round_digits(value: float, digits: int | None) -> float:
    """``value`` rounded half away from zero to ``digits`` decimals (None: unchanged)."""
    if digits is None or not abs(value) < 2.0**53:
        return value
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP,
                                          context=Context(prec=400))
    return float(exact) + 0.0  # + 0.0 turns -0.0 into 0.0


def _decimals_shown(tokens: list[str]) -> int | None:
    """The number of decimals every token shows, when they all agree (plain numbers only)."""
    shown = set()
    for token in tokens:
        match = _PLAIN.fullmatch(token)
        if match is None:
            return None
        shown.add(len(match.group(1) or ""))
    return shown.pop() if len(shown) == 1 else None


def _format_like(value: float, decimals: int | None) -> str:
    """``value`` with the constant's own decimals if they hold it exactly, else shortest text."""
    value += 0.0
    if decimals is not None:
        text = f"{value:.{decimals}f}"
        if float(text) == value:
            return text
    return format_number(value)


class MsqFile:
    """A parsed ``.msq`` document: its bytes, its constants and the tables this app can read."""

    def __init__(self, data: bytes, text: str, encoding: str, source: str,
                 constants: list[_Constant]) -> None:
        """Use :meth:`parse`; this only stores what it found."""
        self._data, self._text, self._encoding, self.source = data, text, encoding, source
        self._constants = constants
        self._by_name: dict[str, list[_Constant]] = {}
        for constant in constants:
            self._by_name.setdefault(constant.name, []).append(constant)
        self.firmware = firmware(text)  # "speeduino", "ms2", "ms3" or "" (not named)
        self._specs: dict[str, _Spec] = {}
        self._problems: dict[str, str] = {}
        for name, found in self._by_name.items():
            if name in TABLE_AXES or found[0].is_grid:
                try:
                    self._specs[name] = self._build(name)
                except InputError as exc:
                    self._problems[name] = str(exc)

    @classmethod
    def parse(cls, data: bytes, source: str = "<msq>") -> MsqFile:
        """Parse MSQ bytes, decoded with the declared encoding (ISO-8859-1 when undeclared), or
        as UTF-16 when they start with its byte-order mark (a tune re-saved by a text editor)."""
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16-le" if data.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        else:
            declared = _DECLARATION.match(data[:512].decode("latin-1"))
            encoding = declared.group(1).strip() if declared else "ISO-8859-1"
        try:
            codecs.lookup(encoding)
            text = data.decode(encoding)
        except LookupError:
            raise InputError(f"{source}: the XML declaration names encoding {encoding!r}, which "
                             "is unknown; save the tune from TunerStudio again") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{source}: byte {exc.start} is not valid {encoding} text; the file "
                             "is damaged or mislabelled; save it from TunerStudio again") from None
        if text.encode(encoding) != data:
            raise InputError(f"{source}: its {encoding} text cannot be written back byte for byte; "
                             "save the tune as ISO-8859-1 from TunerStudio")
        if re.search(r"<msq\b", text) is None:
            raise InputError(f"{source}: not a TunerStudio tune (no <msq> element); choose a .msq "
                             "file saved by TunerStudio")
        if re.search(r"</msq\s*>", text) is None:
            raise InputError(f"{source}: the tune ends before its closing </msq>; the file is "
                             "truncated, so copy or save it again")
        return cls(data, text, encoding, source, _scan(text, source))

    @property
    def encoding(self) -> str:
        """The text encoding the file declares (and is written back in)."""
        return self._encoding

    def constant_names(self) -> list[str]:
        """Names of all ``<constant>`` elements in file order (each name once)."""
        return list(self._by_name)

    def table_names(self) -> list[str]:
        """2-D tables with an rpm axis and a MAP or throttle axis, readable as a :class:`Table`."""
        return list(self._specs)

    def not_offered(self) -> dict[str, str]:
        """Tables (named in :data:`TABLE_AXES`, or any 2-D grid) the app cannot read, with why."""
        reasons = {}
        for name, message in self._problems.items():
            reason = message.removeprefix(self.source).lstrip(":, ")
            reason = reason.removeprefix(f"table {name!r}: ").removeprefix(f"table {name!r} ")
            reasons[name] = reason
        return reasons

    def summary(self) -> str:
        """What the file holds for this app, in one line: the tables it offers, and the tables it
        does not with the reason for each (for messages that must say what a file has)."""
        offered = ", ".join(self._specs) or "none"
        text = f"tables this app can read: {offered}"
        if self._problems:
            text += "; not offered: " + "; ".join(f"{name} ({reason})"
                                                  for name, reason in self.not_offered().items())
        return text

    def table(self, name: str) -> Table:
        """The table constant ``name`` (e.g. "veTable") as a Table with rows rpm, columns load."""
        return self._specs[self._resolve(name)].table

    def tables(self) -> dict[str, Table]:
        """Every readable table by constant name, in file order."""
        return {name: spec.table for name, spec in self._specs.items()}

    def with_table(self, name: str, table: Table) -> MsqFile:
        """A copy with ``table``'s cells spliced into constant ``name`` (transposed back).

        The table's axes must equal the file's bins exactly (its name and units are not
        checked). A cell is rewritten only when its
        value changes. A constant with ``digits="N"`` gets its value rounded (half away from zero)
        to N decimals first; the text then keeps the constant's own decimals where every value in
        it shows the same number (so ``digits="0"`` cells written as ``36.0`` get ``37.0``), or
        else is the shortest text that reads back exactly.
        """
        spec = self._specs[self._resolve(name)]
        ours = spec.table
        where = f"{self.source}: table {spec.values.name!r}"
        if table.col_axis != ours.col_axis:
            raise InputError(f"{where}: the table's load axis is {table.col_axis} but the file's "
                             f"{spec.load.name} is {ours.col_axis} ({spec.load.attrs.get('units')}"
                             "); use a table on the same load axis")
        for what, mine, bins, label in (("rpm", table.row_breakpoints, ours.row_breakpoints,
                                         spec.rpm.name),
                                        (table.col_axis, table.col_breakpoints,
                                         ours.col_breakpoints, spec.load.name)):
            if not np.array_equal(mine, bins):
                raise InputError(f"{where}: the table's {what} axis [{_fmt_axis(mine)}] differs "
                                 f"from the file's {label} [{_fmt_axis(bins)}]; the axes must be "
                                 "the same (re-bin the table onto the file's breakpoints first)")
        digits_text = spec.values.attrs.get("digits", "")
        digits = int(digits_text) if digits_text.isdigit() else None
        tokens = [self._text[a:b] for a, b in spec.values.spans]
        decimals = _decimals_shown(tokens)
        new_cells = table.values.T.ravel()  # text order: load rows, rpm across
        old_cells = ours.values.T.ravel()
        edits, changed = [], []
        for k, (span, new, old) in enumerate(zip(spec.values.spans, new_cells, old_cells,
                                                 strict=True)):
            value = _round_digits(float(new), digits)
            if value != old:
                edits.append((span, _format_like(value, decimals)))
                changed.append((k, value))
        if not edits:
            return self
        self._check_range(spec, changed)
        parts, last = [], 0
        for (start, end), text in edits:
            parts += [self._text[last:start], text]
            last = end
        parts.append(self._text[last:])
        return MsqFile.parse("".join(parts).encode(self._encoding), self.source)

    def cell_limits(self, name: str) -> tuple[Limit, Limit]:
        """((low, why), (high, why)) for table ``name``'s cells (see :func:`cell_limits`)."""
        spec = self._specs[self._resolve(name)]
        return cell_limits(spec.values.attrs, stored_as(self.firmware, spec.values.name,
                                                        spec.table.units), self._pc_variable)

    def _check_range(self, spec: _Spec, changed: list[tuple[int, float]]) -> None:
        """Refuse the whole write when a changed cell is outside its limits: the ECU would
        store a truncated or wrapped value (there is no --force)."""
        (low, low_why), (high, high_why) = self.cell_limits(spec.values.name)
        table = spec.table
        n_rpm = table.shape[0]
        bad = sorted((k % n_rpm, k // n_rpm, v) for k, v in changed if not low <= v <= high)
        if not bad:
            return
        rpm_i, load_i, value = bad[0]  # the first in the table's order: rpm rows, load columns
        unit = "kPa" if table.col_axis == "map_kpa" else "% throttle"
        where = (f"{spec.values.name} row {rpm_i + 1} ({table.row_breakpoints[rpm_i]:,g} rpm), "
                 f"column {load_i + 1} ({format_number(table.col_breakpoints[load_i])} {unit})")
        side = f"above {high_why}" if value > high else f"below {low_why}"
        more = f" ({len(bad) - 1} more cells are out of range too)" if len(bad) > 1 else ""
        raise InputError(f"{self.source}: {where}: {format_number(value)} is {side}; nothing "
                         f"written{more}: the ECU would truncate it, so bring the cells within "
                         "the limit")

    def _pc_variable(self, name: str) -> float | None:
        """The number a TunerStudio ``<pcVariable name=...>`` holds in this tune, if any."""
        found = re.search(rf"<pcVariable\b[^>]*\bname=\"{re.escape(name)}\"[^>]*>\s*\"?"
                          r"([^<\"]*)", self._text)
        text = found.group(1).strip() if found else ""
        return float(text) if _NUMBER.fullmatch(text) else None

    def to_bytes(self) -> bytes:
        """The document as bytes in its own encoding (identical to the input when unedited)."""
        return self._data

    def _resolve(self, name: str) -> str:
        present = [n for n in self._by_name if n in self._specs or n in self._problems]
        matches = [n for n in present if n == name] or [
            n for n in present if n.lower() == name.lower()]
        offered = ", ".join(self._specs) or "none"
        if not matches:
            if name in self._by_name:
                kind = (f"is not an rpm x load table this app can read (it holds "
                        f"{self._by_name[name][0].shape_text()})")
            else:
                kind = "matches no table"
            unread = ("; not offered: " + ", ".join(self._problems)) if self._problems else ""
            raise InputError(f"{self.source}: {name!r} {kind}; tables in this file: "
                             f"{offered}{unread}")
        if len(matches) > 1 or len(self._by_name[matches[0]]) > 1:
            found = "; ".join(f"{n!r} at line{'s' if len(c) > 1 else ''} "
                              f"{', '.join(str(k.line) for k in c)}"
                              for n in matches for c in [self._by_name[n]])
            raise InputError(f"{self.source}: table name {name!r} is ambiguous ({found}); give "
                             f"one of: {offered}, or remove the duplicate")
        if matches[0] in self._problems:
            raise InputError(self._problems[matches[0]])
        return matches[0]

    def _build(self, name: str) -> _Spec:
        where = f"{self.source}: table {name!r}"
        if len(self._by_name[name]) > 1:
            raise InputError(f"{where} appears {len(self._by_name[name])} times; remove the "
                             "duplicate")
        values_c = self._by_name[name][0]
        rows, cols = (self._count(values_c, key) for key in ("rows", "cols"))
        named = TABLE_AXES.get(name, ())
        for rpm_name, load_name in named:
            if rpm_name in self._by_name and load_name in self._by_name:
                break
        else:
            beside = self._axes_beside(values_c, rows, cols)
            if beside is None:
                pairs = " or ".join(f"{r}/{lo}" for r, lo in named)
                missing = f"its axes ({pairs}) are missing from the file and no" if named else "no"
                raise InputError(f"{where}: {missing} RPM axis of {cols} values and load axis "
                                 f"(kPa, % or TPS) of {rows} values follow it in its page")
            rpm_name, load_name = beside
        grid = self._numbers(values_c, rows * cols).reshape(rows, cols)
        rpm_c, load_c = (self._single(n, where) for n in (rpm_name, load_name))
        rpm = self._numbers(rpm_c, cols, f"as many as {name}'s cols")
        load = self._numbers(load_c, rows, f"as many as {name}'s rows")
        rpm_units = rpm_c.attrs.get("units", "").strip()
        if rpm_units and "rpm" not in rpm_units.lower():
            raise InputError(f"{where}: its rpm axis {rpm_name} is in {rpm_units!r}, not RPM; "
                             "this table cannot be read")
        load_units = load_c.attrs.get("units", "").strip()
        col_axis = _load_axis(load_units)
        if col_axis is None:
            raise InputError(f"{where}: the load axis unit {load_units!r} of {load_name} isn't "
                             "supported; only kPa (MAP) or % / TPS (throttle) load axes can be "
                             "read")
        table = Table(name=name, units=values_c.attrs.get("units", ""), row_axis="rpm",
                      col_axis=col_axis, row_breakpoints=rpm, col_breakpoints=load,
                      values=grid.T)
        return _Spec(values_c, rpm_c, load_c, table)

    def _axes_beside(self, table: _Constant, rows: int, cols: int) -> tuple[str, str] | None:
        """The RPM constant of ``cols`` values and the load constant of ``rows`` values that
        follow ``table`` in its page before the next grid (None unless both are there)."""
        rpm = load = None
        start = next(i for i, c in enumerate(self._constants) if c is table) + 1
        for constant in self._constants[start:]:
            if constant.page != table.page or constant.is_grid:
                break
            is_rpm = "rpm" in constant.attrs.get("units", "").casefold()
            if is_rpm and rpm is None and len(constant.spans) == cols:
                rpm = constant.name
            elif not is_rpm and load is None and len(constant.spans) == rows and _load_axis(
                    constant.attrs.get("units", "")):
                load = constant.name
        return (rpm, load) if rpm is not None and load is not None else None

    def _single(self, name: str, where: str) -> _Constant:
        found = self._by_name[name]
        if len(found) > 1:
            raise InputError(f"{where}: its axis {name} appears {len(found)} times (lines "
                             f"{', '.join(str(c.line) for c in found)}); remove the duplicate")
        return found[0]

    def _count(self, constant: _Constant, key: str) -> int:
        text = constant.attrs.get(key, "")
        if not text.isdigit() or int(text) == 0:
            raise InputError(f"{self.source}, line {constant.line}: constant {constant.name!r} "
                             f"has {key}={text!r}; a table needs a positive whole number")
        return int(text)

    def _numbers(self, constant: _Constant, expected: int, why: str = "") -> np.ndarray:
        where = f"{self.source}, line {constant.line}: constant {constant.name!r}"
        tokens = [self._text[a:b] for a, b in constant.spans]
        if len(tokens) != expected:
            hint = f" ({why})" if why else ""
            raise InputError(f"{where} holds {len(tokens)} values but needs {expected}{hint}; "
                             "the file is damaged or from an unsupported firmware")
        for token in tokens:
            if not _NUMBER.fullmatch(token) or not np.isfinite(float(token)):
                raise InputError(f"{where}: value {token!r} is not a number; fix it in "
                                 "TunerStudio and save the tune again")
        return np.array([float(t) for t in tokens], dtype=np.float64)


def _scan(text: str, source: str) -> list[_Constant]:
    """Every named ``<constant>`` with its attributes and value-token spans, in file order."""
    constants = []
    pages = [m.start() for m in _PAGE.finditer(text)]
    for match in _MARKUP.finditer(text):
        if match.group("open") is not None or (match.group("body") or "").find("<") >= 0:
            line = text.count("\n", 0, match.start()) + 1
            raise InputError(f"{source}, line {line}: a <constant> element is not closed; the "
                             "file is damaged or truncated, so save it from TunerStudio again")
        if match.group("attrs") is None:
            continue  # a comment or CDATA section
        attrs = {key: html.unescape(dq if dq is not None else sq)
                 for key, dq, sq in _ATTR.findall(match.group("attrs"))}
        if "name" not in attrs:
            continue
        offset = match.start("body") if match.group("body") is not None else match.end()
        spans = tuple((offset + t.start(), offset + t.end())
                      for t in _TOKEN.finditer(match.group("body") or ""))
        constants.append(_Constant(attrs["name"], attrs, text.count("\n", 0, match.start()) + 1,
                                   spans, bisect_right(pages, match.start())))
    return constants


def read_msq(path: str | os.PathLike[str]) -> MsqFile:
    """Read and parse an ``.msq`` file; a missing or unreadable file is an InputError."""
    data = read_bytes(path)
    return MsqFile.parse(data, source=str(path))


def write_msq(path: str | os.PathLike[str], doc: MsqFile) -> None:
    """Write ``doc`` atomically (a crash mid-write leaves the old file intact)."""
    write_bytes_atomic(path, doc.to_bytes())
