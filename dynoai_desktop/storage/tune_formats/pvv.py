"""Power Vision `.pvv` tune files: items, conversion to core Tables, values spliced back in place.

A `.pvv` is XML: ``<PVV>`` holding ``<Item name units>`` elements, each with ``<Columns units>``
of ``<Col label/>`` and ``<Rows units>`` of ``<Row label>`` holding ``<Cell value/>``. The file
is never re-serialised: parsing records where each cell's value text sits, and writing replaces
only the texts of cells whose value changed, so every other byte (comments, unknown items and
elements, encoding, line endings) stays as it was. Rows in "RPMx1000" become rpm (label ``0.75``
is 750 rpm, FORMATS.md §1); new values are written as the shortest text that round-trips.
"""

from __future__ import annotations

import codecs
import difflib
import os
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_number
from dynoai_desktop.storage.file_io import read_bytes, write_bytes_atomic

__all__ = ["PvvFile", "PvvItem", "read_pvv", "write_pvv"]

AXIS_RTOL = 1e-9
"""Relative tolerance when a table's breakpoints are compared with an item's (rpm after x1000)."""

_NAME = r"[A-Za-z_][\w.:-]*"
_START = re.compile(rf"<({_NAME})((?:\s+[^\s=/<>\"']+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*)\s*(/?)>")
_END = re.compile(rf"</({_NAME})\s*>")
_ATTR = re.compile(r"([^\s=/<>\"']+)\s*=\s*(?:\"([^\"<]*)\"|'([^'<]*)')")
_MARKUP = (("<!--", "-->", "comment"), ("<![CDATA[", "]]>", "CDATA section"),
           ("<?", "?>", "processing instruction"), ("<!", ">", "declaration"))
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_DECLARED = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([\w.-]+)[\"']")
# ASCII only: Python's \s and \d also match control and non-ASCII characters float() refuses.
_NUMBER = re.compile(r"[ \t\r\n]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\r\n]*")
_PLAIN = re.compile(r"\s*[+-]?\d*\.(\d+)\s*")
_KILO_RPM = re.compile(r"(?:[x×*]\s*1000|krpm|/\s*1000)", re.IGNORECASE)


@dataclass(frozen=True)
class PvvItem:
    """One ``<Item>``: labels and cell values as the file's texts; ``index`` is its position."""

    name: str
    units: str
    col_units: str
    row_units: str
    col_labels: tuple[str, ...]
    row_labels: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    index: int

    @property
    def shape(self) -> tuple[int, int]:
        """(number of rows, number of columns)."""
        return (len(self.row_labels), len(self.col_labels))


@dataclass
class _Node:
    tag: str
    pos: int
    attrs: dict[str, tuple[str, int, int]]  # name -> (unescaped value, value start, value end)
    children: list[_Node] = field(default_factory=list)


class _Where:
    """Turns a text offset into 'SOURCE, line N: ...' errors."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self._starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def line(self, pos: int) -> int:
        return bisect_right(self._starts, pos)

    def error(self, pos: int | None, message: str) -> InputError:
        if pos is None:
            return InputError(f"{self.source}: {message}")
        return InputError(f"{self.source}, line {self.line(pos)}: {message}")


def _unescape(raw: str) -> str:
    def one(m: re.Match[str]) -> str:
        body = m[1]
        if body[0] != "#":
            return _NAMED[body]
        code = int(body[2:], 16) if body[1] == "x" else int(body[1:])
        return chr(code) if 0 < code <= 0x10FFFF else m[0]
    return _ENTITY.sub(one, raw)


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the codec that gives the bytes back exactly (latin-1 as the last resort)."""
    declared = _DECLARED.match(data)
    candidates = [declared[1].decode("ascii")] if declared else []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16-le" if data.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"]
    for codec in [*candidates, "utf-8"]:
        try:
            text = data.decode(codec)
            if text.encode(codec) == data and text.lstrip("\ufeff \t\r\n")[:1] in ("<", ""):
                return text, codec
        except (UnicodeError, LookupError):
            continue
    return data.decode("latin-1"), "latin-1"


def _attributes(m: re.Match[str], where: _Where) -> dict[str, tuple[str, int, int]]:
    attrs: dict[str, tuple[str, int, int]] = {}
    for a in _ATTR.finditer(m.string, m.start(2), m.end(2)):
        group = 2 if a[2] is not None else 3
        if a[1] in attrs:
            raise where.error(m.start(), f"<{m[1]}> has the attribute {a[1]!r} twice")
        attrs[a[1]] = (_unescape(a[group]), a.start(group), a.end(group))
    return attrs


def _parse_tree(text: str, where: _Where) -> _Node:
    """The element tree (tags, attributes with value spans); text between tags is ignored."""
    stack: list[_Node] = []
    root: _Node | None = None
    pos = 0
    while True:
        lt = text.find("<", pos)
        stretch = text[pos:] if lt < 0 else text[pos:lt]
        if not stack and stretch.strip(" \t\r\n\ufeff"):
            raise where.error(pos, "text outside the <PVV> element; is this a Power Vision "
                              ".pvv file?")
        if lt < 0:
            break
        markup = next((m for m in _MARKUP if text.startswith(m[0], lt)), None)
        if markup is not None:
            end = text.find(markup[1], lt + len(markup[0]))
            if end < 0:
                raise where.error(lt, f"unterminated {markup[2]} (is the file truncated?)")
            pos = end + len(markup[1])
            continue
        closing = _END.match(text, lt)
        if closing:
            if not stack or stack[-1].tag != closing[1]:
                expected = f"</{stack[-1].tag}>" if stack else "no closing tag"
                raise where.error(lt, f"</{closing[1]}> found where {expected} was expected; "
                                  "the file is damaged: export it again from Power Vision")
            stack.pop()
            pos = closing.end()
            continue
        tag = _START.match(text, lt)
        if tag is None:
            if text.find(">", lt) < 0:
                raise where.error(lt, "the file ends inside a tag; it looks truncated: copy or "
                                  "export it again")
            raise where.error(lt, "malformed tag; the file is damaged or not a .pvv file: "
                              "export it again from Power Vision")
        node = _Node(tag[1], lt, _attributes(tag, where))
        if stack:
            stack[-1].children.append(node)
        elif root is None:
            root = node
        else:
            raise where.error(lt, f"a second top-level element <{tag[1]}> after <{root.tag}>")
        if not tag[3]:
            stack.append(node)
        pos = tag.end()
    if stack:
        opened = where.line(stack[-1].pos)
        raise where.error(len(text), f"the file ends inside <{stack[-1].tag}> opened at line "
                          f"{opened}; it looks truncated: copy or export it again")
    if root is None or root.tag != "PVV":
        found = f"<{root.tag}>" if root else "no element"
        raise where.error(None, f"not a Power Vision .pvv file: found {found} where <PVV> "
                          "should be; open a file exported by Power Vision")
    return root


def _number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if np.isfinite(value) else None


def _kind(row_units: str, col_units: str) -> tuple[int, str] | None:
    """(rpm scale, column axis) when an item is an rpm x load table, else None."""
    if "rpm" not in row_units.casefold():
        return None
    cols = col_units.strip().casefold()
    if "kilopascal" in cols or cols == "kpa":
        axis = "map_kpa"
    elif cols in ("%", "percent") or "tps" in cols or "throttle" in cols:
        axis = "tps_pct"
    else:
        return None
    return (1000 if _KILO_RPM.search(row_units) else 1), axis


def _only(node: _Node, tag: str, label: str, where: _Where) -> _Node:
    found = [c for c in node.children if c.tag == tag]
    if len(found) != 1:
        raise where.error(node.pos, f"{label} has {len(found)} <{tag}> elements, expected one")
    return found[0]


def _attr(node: _Node, name: str, label: str, where: _Where, default: str | None = None) -> str:
    if name in node.attrs:
        return node.attrs[name][0]
    if default is None:
        raise where.error(node.pos, f"{label}: <{node.tag}> has no {name}=\"...\"; the file is "
                          "damaged: export it again from Power Vision")
    return default


def _item(node: _Node, index: int, where: _Where) -> tuple[PvvItem, tuple[tuple[int, int], ...]]:
    label = f"item {_attr(node, 'name', f'item #{index + 1}', where)!r}"
    columns, rows = (_only(node, tag, label, where) for tag in ("Columns", "Rows"))
    units = [_attr(n, "units", label, where, "") for n in (node, columns, rows)]
    numeric = _kind(units[2], units[1]) is not None  # an rpm x load table: numbers only

    def text(n: _Node, attr: str) -> str:
        value = _attr(n, attr, label, where)
        if numeric and _number(value) is None:
            raise where.error(n.attrs[attr][1], f"{label}: {attr} {value!r} is not a number; "
                              "every breakpoint and cell of an rpm x load table must be one")
        return value

    cols = [c for c in columns.children if c.tag == "Col"]
    col_labels = tuple(text(c, "label") for c in cols)
    row_labels: list[str] = []
    cells: list[tuple[str, ...]] = []
    spans: list[tuple[int, int]] = []
    for row in (r for r in rows.children if r.tag == "Row"):
        row_labels.append(text(row, "label"))
        row_cells = [c for c in row.children if c.tag == "Cell"]
        if len(row_cells) != len(cols):
            raise where.error(row.pos, f"{label}: row {row_labels[-1]!r} has {len(row_cells)} "
                              f"cells but the item has {len(cols)} columns; the file is damaged")
        cells.append(tuple(text(c, "value") for c in row_cells))
        spans.extend(c.attrs["value"][1:] for c in row_cells)
    name = node.attrs["name"][0]
    return PvvItem(name, *units, col_labels, tuple(row_labels), tuple(cells), index), tuple(spans)


def _axis_text(axis: np.ndarray) -> str:
    return "[" + ", ".join(format_number(float(v)) for v in axis) + "]"


def _axes_differ(mine: np.ndarray, theirs: np.ndarray) -> bool:
    return bool(np.any(np.abs(mine - theirs) > AXIS_RTOL * np.maximum(abs(mine), abs(theirs))))


def _fixed_decimals(cells: tuple[tuple[str, ...], ...]) -> int | None:
    """Decimals to pad to when every cell shows the same count and some keep a trailing zero."""
    found = [_PLAIN.fullmatch(t) for row in cells for t in row]
    if not found or not all(found):
        return None
    counts = {len(m[1]) for m in found if m}
    if len(counts) != 1 or not any(m[1].endswith("0") for m in found if m):
        return None
    return counts.pop()


def _format(value: float, decimals: int | None) -> str:
    value = float(value) + 0.0  # no "-0"
    text = format_number(value)
    if decimals is not None and len(text.partition(".")[2]) <= decimals:
        padded = f"{value:.{decimals}f}"
        if float(padded) == value:
            return padded
    return text


class PvvFile:
    """A parsed `.pvv` document; build it with :meth:`parse`, write it with :meth:`to_bytes`.

    ``source`` names the file in errors; ``encoding`` is the codec the bytes were read with and
    are written with; ``newline`` is the file's line ending (never changed).
    """

    def __init__(self, *, data: bytes, text: str, encoding: str, source: str,
                 items: tuple[PvvItem, ...], spans: tuple[tuple[tuple[int, int], ...], ...],
                 edits: dict[int, tuple[int, str]] | None = None) -> None:
        self._data, self._text, self.encoding, self.source = data, text, encoding, source
        self.items = items
        ending = re.search(r"\r\n|\r|\n", text)
        self.newline = ending[0] if ending else "\n"
        self._spans = spans  # per item, row-major (start, end) of each cell's value text
        self._edits = dict(edits or {})  # start -> (end, new text), offsets into self._text

    @classmethod
    def parse(cls, data: bytes, source: str = "<pvv>") -> PvvFile:
        """Parse the bytes of a `.pvv`; malformed structure is an InputError naming source+line."""
        text, encoding = _decode(bytes(data))
        where = _Where(source, text)
        root = _parse_tree(text, where)
        parsed = [_item(node, i, where)
                  for i, node in enumerate(c for c in root.children if c.tag == "Item")]
        return cls(data=bytes(data), text=text, encoding=encoding, source=source,
                   items=tuple(p[0] for p in parsed), spans=tuple(p[1] for p in parsed))

    def repeated_names(self) -> list[str]:
        """Item names used more than once (such items cannot be picked by name)."""
        counts = Counter(item.name for item in self.items)
        return [name for name, n in counts.items() if n > 1]

    def find(self, name: str) -> PvvItem:
        """The one item called ``name``; none or several is an InputError saying what to do."""
        found = [item for item in self.items if item.name == name]
        if len(found) == 1:
            return found[0]
        if found:
            positions = ", ".join(f"#{item.index + 1}" for item in found)
            raise InputError(f"{self.source}: {len(found)} items are named {name!r} (items "
                             f"{positions}); a repeated name cannot pick one item: choose "
                             "another item, or rename one in Power Vision")
        names = list(dict.fromkeys(item.name for item in self.items))
        similar = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
        similar += [n for n in names if name.casefold() in n.casefold() and n not in similar]
        hint = (f"items with similar names: {', '.join(repr(n) for n in similar[:8])}"
                if similar else f"the file has {len(self.items)} items, none with a similar name")
        raise InputError(f"{self.source}: no item named {name!r}; {hint}. Names must match "
                         "exactly (case and spaces included)")

    def table_names(self) -> list[str]:
        """Names of the uniquely named items that convert to a Table (rpm x kPa or throttle %)."""
        repeated = set(self.repeated_names())
        return [item.name for item in self.items
                if item.name not in repeated and _kind(item.row_units, item.col_units)
                and item.shape[0] > 0 and item.shape[1] > 0]

    def table(self, name: str) -> Table:
        """The item called ``name`` as a Table in its raw layout (rows in rpm)."""
        item = self.find(name)
        kind = _kind(item.row_units, item.col_units)
        if kind is None or 0 in item.shape:
            raise InputError(f"{self.source}: item {name!r} is not an rpm x load table (rows in "
                             f"{item.row_units!r}, columns in {item.col_units!r}, "
                             f"{item.shape[0]}x{item.shape[1]}); tables in this file: "
                             f"{', '.join(self.table_names())}")
        scale, col_axis = kind
        rows = [float(Decimal(label.strip()) * scale) for label in item.row_labels]
        try:
            return Table(name=item.name, units=item.units, row_axis="rpm", col_axis=col_axis,
                         row_breakpoints=np.array(rows), col_breakpoints=np.array(
                             [float(label) for label in item.col_labels]),
                         values=np.array([[float(t) for t in row] for row in item.cells]))
        except InputError as exc:  # e.g. a huge label that overflows once scaled to rpm
            raise InputError(f"{self.source}: {exc}") from None

    def tables(self) -> dict[str, Table]:
        """Every uniquely named item that converts, by name, in file order."""
        return {name: self.table(name) for name in self.table_names()}

    def with_table(self, name: str, table: Table) -> PvvFile:
        """A copy with ``table``'s values spliced into item ``name``; the axes must match."""
        mine = self.table(name)
        label = f"{self.source}: item {name!r}"
        if table.col_axis != mine.col_axis:
            raise InputError(f"{label} has {mine.col_axis} columns but table {table.name!r} has "
                             f"{table.col_axis}; pick the item with the table's load axis")
        if table.shape != mine.shape:
            raise InputError(f"{label} is {mine.shape[0]} rows x {mine.shape[1]} columns but "
                             f"table {table.name!r} is {table.shape[0]} x {table.shape[1]}; "
                             "the table must have the item's axes")
        for what, ours, theirs in (
                ("rpm", mine.row_breakpoints, table.row_breakpoints),
                (mine.col_axis, mine.col_breakpoints, table.col_breakpoints)):
            if _axes_differ(ours, theirs):
                raise InputError(f"{label}: its {what} axis {_axis_text(ours)} differs from "
                                 f"table {table.name!r}'s {_axis_text(theirs)}; the table must "
                                 "have the item's breakpoints, in the same order")
        item = self.find(name)
        decimals = _fixed_decimals(item.cells)
        spans = self._spans[item.index]
        edits = dict(self._edits)
        cells = []
        for r, row in enumerate(item.cells):
            new_row = []
            for c, old in enumerate(row):
                new = float(table.values[r, c])
                text = old if float(old) == new else _format(new, decimals)
                start, end = spans[r * len(row) + c]
                if text == self._text[start:end]:
                    edits.pop(start, None)
                else:
                    edits[start] = (end, text)
                new_row.append(text)
            cells.append(tuple(new_row))
        items = list(self.items)
        items[item.index] = replace(item, cells=tuple(cells))
        return PvvFile(data=self._data, text=self._text, encoding=self.encoding,
                       source=self.source, items=tuple(items), spans=self._spans, edits=edits)

    def to_bytes(self) -> bytes:
        """The file's bytes: the original ones, with only the edited values' texts replaced."""
        if not self._edits:
            return self._data
        parts, pos = [], 0
        for start in sorted(self._edits):
            end, text = self._edits[start]
            parts += [self._text[pos:start], text]
            pos = end
        parts.append(self._text[pos:])
        return "".join(parts).encode(self.encoding)


def read_pvv(path: str | os.PathLike[str]) -> PvvFile:
    """Read and parse a `.pvv`; a missing or unreadable file is an InputError naming it."""
    data = read_bytes(path)
    return PvvFile.parse(data, source=str(path))


def write_pvv(path: str | os.PathLike[str], doc: PvvFile) -> None:
    """Write ``doc`` atomically (a crash mid-write leaves the old file intact)."""
    write_bytes_atomic(path, doc.to_bytes())
