"""Typed JSON records: frozen dataclasses read from JSON with every problem found, and the JSON
Schema they publish, from one definition.

A record is a frozen dataclass whose fields are ``float``, ``int``, ``str``, ``bool``, a
``Literal`` of strings, another record, ``list[...]``, ``dict[str, ...]`` or ``... | None`` (an
optional field, default None). A number's range, a unit and a description ride in the field's
metadata (:func:`spec`). :func:`read` walks a JSON value against a record type and returns the
record and the problems, each naming its path (``sessions[2].environment.baro_kpa: 140 is out
of range 50 to 110 kPa``); :func:`json_schema` writes the same rules as JSON Schema (draft
2020-12), so the published schema and the reader never disagree.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

SPEC = "dynoai"


def spec(doc: str, *, lo: float | None = None, hi: float | None = None, unit: str = "",
         default: Any = dataclasses.MISSING) -> Any:
    """A field with a description, an inclusive range and a unit (for numbers)."""
    meta = {SPEC: {"doc": doc, "lo": lo, "hi": hi, "unit": unit}}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _meta(f: dataclasses.Field[Any]) -> dict[str, Any]:
    return f.metadata.get(SPEC, {"doc": "", "lo": None, "hi": None, "unit": ""})


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _optional(tp: Any) -> tuple[Any, bool]:
    """(the type inside ``X | None``, True) or (tp, False)."""
    if get_origin(tp) in (Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        if len(inner) == 1 and len(get_args(tp)) == 2:
            return inner[0], True
    return tp, False


def _type_name(tp: Any) -> str:
    tp, _ = _optional(tp)
    origin = get_origin(tp)
    if origin is list:
        return "a list"
    if origin is dict:
        return "an object"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "an object"
    return {float: "a number", int: "a whole number", str: "text", bool: "true or false"
            }.get(tp, str(tp))


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, float) else f"{value:g}"
    return text if len(text) <= 40 else text[:37] + "..."


# ------------------------------------------------------------------------ reading
def read(cls: type, data: Any, path: str = "") -> tuple[Any, list[str]]:
    """``data`` read as a ``cls`` record: (the record or None, problems)."""
    problems: list[str] = []
    value = _read_value(cls, data, path, {}, problems)
    return (value if not problems else None), problems


def _read_value(tp: Any, data: Any, path: str, meta: Mapping[str, Any],
                problems: list[str]) -> Any:
    where = path or "the file"
    tp, optional = _optional(tp)
    if data is None:
        if not optional:
            problems.append(f"{where}: must be {_type_name(tp)}, got null")
        return None
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _read_record(tp, data, path, problems)
    if origin is list:
        if not isinstance(data, list):
            problems.append(f"{where}: must be a list, got {_shown(data)}")
            return None
        (item,) = get_args(tp)
        return [_read_value(item, v, f"{path}[{i}]", meta, problems) for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            problems.append(f"{where}: must be an object, got {_shown(data)}")
            return None
        _key, item = get_args(tp)
        return {str(k): _read_value(item, v, f"{path}.{k}" if path else str(k), meta, problems)
                for k, v in data.items()}
    if origin is Literal:
        if data not in get_args(tp):
            problems.append(f"{where}: must be {_type_name(tp)}, got {_shown(data)}")
        return data
    if tp is bool:
        if not isinstance(data, bool):
            problems.append(f"{where}: must be true or false, got {_shown(data)}")
        return data
    if tp is str:
        if not isinstance(data, str):
            problems.append(f"{where}: must be text, got {_shown(data)}")
        return data
    if tp in (int, float):
        return _read_number(tp, data, where, meta, problems)
    if tp is Any:
        return data
    raise TypeError(f"typed_json cannot read {tp!r}")


def _read_number(tp: type, data: Any, where: str, meta: Mapping[str, Any],
                 problems: list[str]) -> Any:
    whole = tp is int
    ok = not isinstance(data, bool) and isinstance(data, int | float)
    if ok and whole and isinstance(data, float):
        ok = data.is_integer()
    if not ok or not math.isfinite(data):
        problems.append(f"{where}: must be {_type_name(tp)}, got {_shown(data)}")
        return data
    lo, hi, unit = meta.get("lo"), meta.get("hi"), meta.get("unit", "")
    if (lo is not None and data < lo) or (hi is not None and data > hi):
        span = f"{lo:g} to {hi:g}" if lo is not None and hi is not None else (
            f"at least {lo:g}" if lo is not None else f"at most {hi:g}")
        problems.append(f"{where}: {data:g} is out of range {span}{' ' + unit if unit else ''}")
    return int(data) if whole else float(data)


def _read_record(cls: type, data: Any, path: str, problems: list[str]) -> Any:
    where = path or "the file"
    if not isinstance(data, dict):
        problems.append(f"{where}: must be an object, got {_shown(data)}")
        return None
    start = len(problems)
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            problems.append(f"{path + '.' if path else ''}{key}: unknown field; "
                            f"{cls.__name__} has {', '.join(sorted(names))}")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        here = f"{path}.{f.name}" if path else f.name
        if f.name not in data:
            required = f.default is dataclasses.MISSING and \
                f.default_factory is dataclasses.MISSING
            if required:
                problems.append(f"{here}: missing; it is required "
                                f"({_meta(f)['doc'] or _type_name(hints[f.name])})")
            continue
        values[f.name] = _read_value(hints[f.name], data[f.name], here, _meta(f), problems)
    if len(problems) > start:
        return None
    record = cls(**values)
    check = getattr(record, "problems", None)
    if callable(check):
        problems.extend(f"{where}: {p}" for p in check())
    return record


# ------------------------------------------------------------------------ writing
def to_json_value(record: Any) -> Any:
    """A record (or a value inside one) as plain JSON values, optional Nones left out."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        out = {}
        for f in dataclasses.fields(record):
            value = getattr(record, f.name)
            if value is None:
                continue
            out[f.name] = to_json_value(value)
        return out
    if isinstance(record, list | tuple):
        return [to_json_value(v) for v in record]
    if isinstance(record, dict):
        return {k: to_json_value(v) for k, v in record.items()}
    return record


# ------------------------------------------------------------------------ JSON Schema
def json_schema(cls: type, schema_id: str, title: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``cls`` and every record inside it."""
    defs: dict[str, Any] = {}
    root = _schema_of(cls, {}, defs)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id,
            "title": title, **root, "$defs": dict(sorted(defs.items()))}


def _schema_of(tp: Any, meta: Mapping[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    tp, optional = _optional(tp)
    out = _schema_plain(tp, meta, defs)
    if meta.get("doc"):
        out = {"description": meta["doc"] + (f" [{meta['unit']}]" if meta.get("unit") else ""),
               **out}
    if optional:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _schema_plain(tp: Any, meta: Mapping[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # a placeholder against recursion
            hints = _hints(tp)
            fields = dataclasses.fields(tp)
            defs[name] = {
                "type": "object",
                "description": (tp.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
                "properties": {f.name: _schema_of(hints[f.name], _meta(f), defs)
                               for f in fields},
                "required": [f.name for f in fields if f.default is dataclasses.MISSING
                             and f.default_factory is dataclasses.MISSING],
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{name}"}
    if origin is list:
        (item,) = get_args(tp)
        return {"type": "array", "items": _schema_of(item, meta, defs)}
    if origin is dict:
        _key, item = get_args(tp)
        return {"type": "object", "additionalProperties": _schema_of(item, meta, defs)}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if tp is Any:
        return {}
    base = {float: {"type": "number"}, int: {"type": "integer"}, str: {"type": "string"},
            bool: {"type": "boolean"}}[tp]
    out = dict(base)
    if tp in (int, float):
        if meta.get("lo") is not None:
            out["minimum"] = meta["lo"]
        if meta.get("hi") is not None:
            out["maximum"] = meta["hi"]
    return out
