"""What a TunerStudio tune's tables are called and how the ECU stores their cells.

An ``.msq`` holds values, not their definition: the axes a table uses and the limits of its
cells live in the firmware's ``.ini``, which the tune does not carry. This module is what the app
knows of those ``.ini`` files for the firmwares a Harley shop meets (Speeduino, MegaSquirt 1/2/3),
each entry with the source it was read from. Where a table's axes are not named here, or the names
changed between firmware versions, :mod:`msq` looks for them beside the table in its own page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from dynoai_desktop.core.table_csv import format_number

Limit = tuple[float, str]
"""A limit and the words that name it ("the constant's high limit 255 (U08)")."""

_SPEEDUINO: dict[str, tuple[tuple[str, str], ...]] = {
    # 2021 firmware: fuelLoadBins; 2018 firmware: mapBins (issue 23's tune); 2015 v0.3: tpsBins.
    "veTable": (("rpmBins", "fuelLoadBins"), ("rpmBins", "mapBins"), ("rpmBins", "tpsBins"),
                ("frpm_table", "fmap_table")),
    "veTable2": (("fuelRPM2Bins", "fuelLoad2Bins"),),
    "advTable1": (("rpmBins2", "mapBins1"), ("rpmBins2", "tpsBins2")),
    "advTable2": (("rpmBins3", "mapBins2"),),
    "afrTable": (("rpmBinsAFR", "loadBinsAFR"), ("rpmBinsAFR", "tpsBinsAFR")),
    "lambdaTable": (("rpmBinsAFR", "loadBinsAFR"),),
    "boostTable": (("rpmBinsBoost", "tpsBinsBoost"),),
    "vvtTable": (("rpmBinsVVT", "loadBinsVVT"),),
    "vvt2Table": (("rpmBinsVVT2", "loadBinsVVT2"),),
    "stagingTable": (("rpmBinsStaging", "loadBinsStaging"),),
    "wmiTable": (("rpmBinsWMI", "mapBinsWMI"),),
    "dwellTable": (("rpmBinsDwell", "loadBinsDwell"), ("rpmBinsDwell", "mapBinsDwell")),
    **{f"fuelTrim{n}Table": ((f"fuelTrim{n}rpmBins", f"fuelTrim{n}loadBins"),)
       for n in range(1, 9)},
}
_MEGASQUIRT: dict[str, tuple[tuple[str, str], ...]] = {
    f"{table}{n}": ((f"{prefix}rpm_table{n}", f"{prefix}map_table{n}"),)
    for table, prefix, count in (("veTable", "f", 4), ("advanceTable", "s", 4),
                                 ("afrTable", "a", 2))
    for n in range(1, count + 1)
}
TABLE_AXES: dict[str, tuple[tuple[str, str], ...]] = {
    name: _SPEEDUINO.get(name, ()) + _MEGASQUIRT.get(name, ())
    for name in {**_SPEEDUINO, **_MEGASQUIRT}}
"""Table constant -> candidate (rpm bins, load bins) pairs; the first pair present is used.

Speeduino names are checked against ``reference/speeduino.ini`` ``[TableEditor]``, the real NA6
base tune (2021 firmware: dwell load axis ``mapBinsDwell``) and the repository's v0.3 base tune
(2015: ``rpmBins``/``tpsBins``, ``rpmBins2``/``tpsBins2``, ``rpmBinsAFR``/``tpsBinsAFR``).
MegaSquirt names follow the msqur project's MSQ/INI lookup and MS3's ini (``MS3 Format 0435.16``:
``veTable4`` with ``frpm_table4``/``fmap_table4``, ``advanceTable4`` with ``srpm_table4``/
``smap_table4``); MS3 has four VE and four spark tables, two AFR target tables. A 2-D constant
whose named axes are missing, or that is not named here, is offered when its axes sit beside it
(see :meth:`msq.MsqFile`).
"""

_RAW_RANGE = {"U08": (0, 255), "S08": (-128, 127), "U16": (0, 65535), "S16": (-32768, 32767),
              "U32": (0, 2**32 - 1), "S32": (-(2**31), 2**31 - 1)}


@dataclass(frozen=True)
class StoredAs:
    """One table's ``[Constants]`` line: data type, scale, translate and its low/high limits.

    A cell shown as ``v`` is stored as ``v / scale - translate`` in ``data_type``; ``high_from``
    names a TunerStudio pcVariable whose value in the tune is the high limit (MS3's ``vehigh``).
    """

    data_type: str
    scale: float
    translate: float
    low: float
    high: float | None
    source: str
    high_from: str = ""

    def type_range(self) -> tuple[float, float]:
        """The lowest and highest value the data type can hold, in the table's units."""
        raw_low, raw_high = _RAW_RANGE[self.data_type]
        ends = sorted(((raw_low + self.translate) * self.scale,
                       (raw_high + self.translate) * self.scale))
        return round(ends[0], 9), round(ends[1], 9)

    def type_text(self) -> str:
        """``U08`` or ``U16 in 0.1 steps``: how a tuner would name the storage."""
        if self.scale == 1:
            return self.data_type
        return f"{self.data_type} in {self.scale:g} steps"


_SPEEDUINO_INI = "speeduino.ini @ 0013fe21"
_SPEEDUINO_LIMITS = {
    "veTable": StoredAs("U08", 1.0, 0.0, 0.0, 255.0, _SPEEDUINO_INI),
    "veTable2": StoredAs("U08", 1.0, 0.0, 0.0, 255.0, "as veTable (not read in the ini)"),
    "advTable1": StoredAs("U08", 1.0, -40.0, -40.0, 70.0, _SPEEDUINO_INI),
    "advTable2": StoredAs("U08", 1.0, -40.0, -40.0, 70.0, "as advTable1 (not read in the ini)"),
    "afrTable": StoredAs("U08", 0.1, 0.0, 7.0, 25.5, _SPEEDUINO_INI),
}
_MS2_INI = "megasquirt-ii.ms2extra 3.0.3u ini"
_MS3_INI = "MS3 Format 0435.16 ini"
_MS2_LIMITS = {f"veTable{n}": StoredAs("U08", 1.0, 0.0, 0.0, 255.0, _MS2_INI) for n in (1, 2)}
_MS3_LIMITS = {
    **{f"veTable{n}": StoredAs("U16", 0.1, 0.0, 0.0, None, _MS3_INI, high_from="vehigh")
       for n in range(1, 5)},
    **{f"advanceTable{n}": StoredAs("S16", 0.1, 0.0, -10.0, 90.0, _MS3_INI) for n in range(1, 5)},
    **{f"afrTable{n}": StoredAs("U08", 0.1, 0.0, 1.0, 25.0, _MS3_INI) for n in (1, 2)},
}
"""MS3 0435.16 was read for veTable4, advanceTable4 and afrTable1/2 (the AFR, not the lambda,
build); veTable1-3 and advanceTable1-3 share their lines' layout in that ini family."""

_SIGNATURE = re.compile(r"<versionInfo\b[^>]*?\bsignature\s*=\s*\"([^\"]*)\"")


def firmware(text: str) -> str:
    """``speeduino``, ``ms3``, ``ms2`` or ``""`` (unknown) from the tune's versionInfo."""
    found = _SIGNATURE.search(text)
    signature = found.group(1).casefold() if found else ""
    if signature.startswith("speeduino"):
        return "speeduino"
    if "ms3" in signature:
        return "ms3"
    if "ms2" in signature or "ms-ii" in signature or "msii" in signature:
        return "ms2"
    return ""


def stored_as(firmware_name: str, table: str, units: str) -> StoredAs | None:
    """How ``table`` is stored on this firmware, or None when the app does not know it.

    Without a signature, Speeduino's names (``veTable``, ``advTable1``, ``afrTable``) are taken as
    Speeduino's; MegaSquirt's ``veTable1``-style names take the widest of MS2's and MS3's layouts
    (MS3's, data type only), so no value the ECU can hold is refused.
    """
    if table.startswith("afrTable") and units.strip().casefold() != "afr":
        return None  # the lambda build of the same table has other limits
    if firmware_name == "ms2":
        return _MS2_LIMITS.get(table)
    if firmware_name == "ms3":
        return _MS3_LIMITS.get(table)
    if firmware_name == "" and table in _MS3_LIMITS:
        widest = _MS3_LIMITS[table]
        return replace(widest, low=widest.type_range()[0], high=None, high_from="",
                       source=f"{widest.source}, data type only (the tune names no firmware)")
    return _SPEEDUINO_LIMITS.get(table)


def cell_limits(attrs: Mapping[str, str], stored: StoredAs | None,
                pc_variable: Callable[[str], float | None]) -> tuple[Limit, Limit]:
    """The tightest low and high limit of a table's cells, each with the words that name it.

    Where limits tie, the first named is kept: the constant's own ``low``/``high`` where the tune
    carries them, then the firmware ``.ini``'s (``stored``), then the data type's range; ±inf
    ("no known limit") when nothing is known. ``pc_variable`` reads a pcVariable of the tune.
    """
    lows: list[Limit] = [(-math.inf, "no known limit")]
    highs: list[Limit] = [(math.inf, "no known limit")]
    for key, found in (("low", lows), ("high", highs)):
        try:
            value = float(attrs.get(key, "nan"))
        except ValueError:
            continue
        if math.isfinite(value):
            found.append((value, f"the constant's {key} limit {format_number(value)} "
                                 "(in the tune)"))
    if stored is not None:
        kind = stored.type_text()
        type_low, type_high = stored.type_range()
        lows.append((stored.low, f"the constant's low limit {format_number(stored.low)} ({kind})"))
        high, why = stored.high, kind
        if stored.high_from:
            high, why = pc_variable(stored.high_from), f"{stored.high_from} in this tune; {kind}"
        if high is not None:
            highs.append((high, f"the constant's high limit {format_number(high)} ({why})"))
        lows.append((type_low, f"the smallest value {kind} holds, {format_number(type_low)}"))
        highs.append((type_high, f"the largest value {kind} holds, {format_number(type_high)}"))
    return max(lows, key=lambda limit: limit[0]), min(highs, key=lambda limit: limit[0])
