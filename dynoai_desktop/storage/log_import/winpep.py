"""Dynojet WinPEP / Power Core CSV exports of a dyno run.

One header row of channel names, each prefixed by the module that measured it (``(DWRT CPU)
Engine RPM``, ``(DWRT ATMO) Pressure``, ``(DWRT AFR) Air/Fuel Ratio 1``), comma separated, a
``" "`` cell for no value and a trailing empty column. The header has no units: values are in
the units the dyno software was set to (Dynojet's US defaults: mph, ft-lb, hp; weather in inHg
and °F, which the values confirm). Engine RPM may be in thousands.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from dynoai_desktop.core.channels import SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.log_import.model import Derived, Rule, SourceColumn, SourceLog
from dynoai_desktop.storage.log_import.names import ECU_RULES, parse_unit
from dynoai_desktop.storage.log_import.text import columns_of, numbers

SOURCE_FORMAT = "Dynojet WinPEP CSV"
# Module prefixes: "(DWRT CPU)", and in Power Core exports the ECU's own,
# "(Harley - ECU Type 20 SW Level 357)" (33 characters).
_MODULE_PREFIX = re.compile(r"\(([^()]{1,64})\)\s*(\S.*)")
_TRAILING_UNIT = re.compile(r"(.*?)\s*\(([^()]*)\)")

RULES: tuple[Rule, ...] = (
    Rule("time_s", r"time", "s"),
    Rule("rpm", r"engine ?rpm|rpm|engine ?speed|digital ?rpm ?1|rpm ?1", "rpm"),
    Rule("torque_ftlb", r"torque ?\(uncorrected\)", "ft-lb"),
    Rule("power_hp", r"power ?\(uncorrected\)", "hp"),
    Rule("speed_mph", r"speed|speed ?1|roll(?:er)? ?speed", "mph"),
    Rule("baro_kpa", r"pressure|baro(?:metric)?(?: ?pressure)?"),
    Rule("ambient_temp_c", r"temperature(?: ?1)?|(?:air|ambient) ?temp(?:erature)?"),
    Rule("humidity_pct", r"humidity", "%"),
    Rule("correction_factor", r"correction ?factor|sae ?(?:correction ?)?factor|cf"),
) + ECU_RULES
"""Dyno names first (bare names, module prefix removed); engine-side names as a fallback."""


def looks_like(text: str) -> bool:
    """True for a header starting ``Time`` with Dynojet module prefixes or torque and power."""
    header = next(csv.reader(text.splitlines()[:1]), [])
    if not header or header[0].strip().lower() != "time":
        return False
    prefixed = sum(bool(_MODULE_PREFIX.fullmatch(cell.strip())) for cell in header)
    bare = {_bare(cell)[0].lower() for cell in header}
    return prefixed >= 2 or {"torque", "power"} <= bare


def _bare(cell: str) -> tuple[str, str]:
    """``(DWRT CPU) Torque (ft-lbs)`` -> ("Torque", "ft-lbs"); a non-unit suffix stays."""
    name = cell.strip()
    if match := _MODULE_PREFIX.fullmatch(name):
        name = match.group(2)
    if (match := _TRAILING_UNIT.fullmatch(name)) and parse_unit(match.group(2)):
        return match.group(1), match.group(2)
    return name, ""


def read_winpep(path: Path, text: str) -> SourceLog:
    """The run's columns, with wideband status and uncorrected torque/power derived."""
    rows = [row for row in csv.reader(text.splitlines()) if any(c.strip() for c in row)]
    header, data = rows[0], rows[1:]
    if not data:
        raise InputError(f"{path}: has a header but no data rows; export the run again")
    cells = columns_of(data, len(header))
    columns = []
    for name, column in zip(header, cells, strict=True):
        if name.strip():
            bare, unit = _bare(name)
            columns.append(SourceColumn(name.strip(), unit, numbers(column), bare))
    warnings = [
        "WinPEP CSV has no units: speed, torque and power read as Dynojet's US "
        "defaults (mph, ft-lb, hp)"
    ]
    derived = _status(columns)
    for channel, unit in (("torque_ftlb", "torque"), ("power_hp", "power")):
        found = _uncorrected(columns, unit)
        if found is not None:
            derived[channel], warning = found
            warnings.append(warning)
    return SourceLog(path, SOURCE_FORMAT, tuple(columns), RULES, tuple(warnings), derived)


def _find(columns: list[SourceColumn], key: str) -> SourceColumn | None:
    return next((c for c in columns if c.key == key), None)


def _status(columns: list[SourceColumn]) -> dict[str, Derived]:
    """``Sensor Ready N`` (+ ``Sensor Heater ON N``) as the canonical wideband status codes."""
    derived = {}
    for number, side in (("1", "front"), ("2", "rear")):
        ready = _find(columns, f"sensor ready {number}")
        if ready is None:
            continue
        heater = _find(columns, f"sensor heater on {number}")
        heating = heater.values == 1 if heater is not None else np.ones(ready.values.size, bool)
        status = np.full(ready.values.size, np.nan)
        status[ready.values == 1] = SensorStatus.VALID
        status[(ready.values == 0) & heating] = SensorStatus.WARMING_UP
        status[(ready.values == 0) & ~heating] = SensorStatus.NO_DATA
        used = (ready.name,) if heater is None else (ready.name, heater.name)
        source = (
            " + ".join(used) + " [ready → 0 valid; not ready, heater on → 1 warming up; "
            "heater off → 4 no data]"
        )
        afr = _find(columns, f"air/fuel ratio {number}")
        derived[f"afr_{side}_status"] = Derived(status, source, used,
                                                afr.name if afr is not None else None)
    return derived


def _uncorrected(columns: list[SourceColumn], quantity: str) -> tuple[Derived, str] | None:
    """Observed torque/power when the export only has the SAE-corrected column."""
    if _find(columns, f"{quantity} (uncorrected)") is not None:
        return None
    corrected = _find(columns, quantity)
    if corrected is None:
        return None
    factor = _find(columns, "correction factor")
    if factor is None:
        return (
            Derived(corrected.values, f"{corrected.name} [as logged]", (corrected.name,)),
            f"column '{corrected.name}' may be SAE-corrected and there is no correction "
            "factor to undo it: used as logged",
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = corrected.values / factor.values
    source = f"{corrected.name} ÷ {factor.name}"
    return (
        Derived(observed, source, (corrected.name,)),
        f"no uncorrected {quantity} column: '{corrected.name}' divided by "
        f"'{factor.name}' to get the observed {quantity}",
    )
