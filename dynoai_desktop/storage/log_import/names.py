"""How foreign column names and unit texts map onto canonical channels and unit symbols.

Names are matched case-insensitively against whole-name patterns, so ``Gego`` (an EGO
correction) never passes for ``EGO`` and ``tpsADC`` never for ``TPS``. Widebands are found by
a separate rule (any name holding AFR, lambda, EGO, O2 or wideband that is not a target, a
correction or a raw input) because their side (front/rear) is part of the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dynoai_desktop.storage.log_import.model import Rule

_SIDED = r" ?(?:{side})"
_FRONT = "f|front|1"
_REAR = "r|rear|2"


def _sided(channel: str, stems: str, side: str) -> Rule:
    return Rule(channel, rf"(?:{stems}){_SIDED.format(side=side)}", "deg")


_SPARK = r"spark|spark ?adv(?:ance)?|advance|ign(?:ition)? ?(?:timing|advance)"
_KNOCK = r"(?:spark ?)?knock(?: ?retard| ?ret)?"

ECU_RULES: tuple[Rule, ...] = (
    Rule("time_s", r"time|time ?stamp|timestamp|elapsed ?time|time_s", "s"),
    Rule("rpm", r"rpm|engine ?speed|engine ?rpm|rpm ?1", "rpm"),
    Rule("map_kpa", r"map|map_kpa|map ?kpa|manifold ?(?:absolute ?|abs ?)?press(?:ure)?", "kPa"),
    Rule(
        "tps_pct",
        r"tps|tp|tpp|tps_pct|tps ?%|throttle(?: ?(?:position|opening ?angle|opening|angle))?"
        r"(?: ?sensor)?",
        "%",
    ),
    Rule(
        "afr_target",
        r"(?:fuel: ?)?(?:(?:afr|lambda) ?(?:target|tgt) ?1?|target ?(?:afr|lambda) ?1?)|set ?lambda"
        r"|requested ?afr|a/f ?requested.*",
    ),
    Rule(
        "engine_temp_c",
        r"clt|et|ect|cht|coolant|(?:engine ?)?coolant ?temp(?:erature)?|engine ?temp(?:erature)?"
        r"|head ?temp(?:erature)?",
    ),
    Rule(
        "iat_c",
        r"iat|mat|(?:intake ?|manifold ?)?air ?temp(?:erature)?|intake ?temp(?:erature)?",
    ),
    _sided("spark_front_deg", _SPARK, _FRONT),
    _sided("spark_rear_deg", _SPARK, _REAR),
    Rule("spark_deg", rf"{_SPARK}|timing ?advance|timing|spk|spk: ?spark ?advance|sa", "deg"),
    _sided("knock_retard_front_deg", _KNOCK, _FRONT),
    _sided("knock_retard_rear_deg", _KNOCK, _REAR),
    Rule("knock_retard_deg", r"knock ?retard|knock ?ret|kr", "deg"),
    Rule("speed_mph", r"speed ?mph|vehicle ?speed ?mph|mph", "mph"),
    Rule("speed_mph", r"speed ?kph|speed ?km/?h|kph", "km/h"),
    Rule("speed_mph", r"vehicle ?speed|vss|speed|road ?speed|wheel ?speed", "mph"),
    Rule("baro_kpa", r"baro|barometer|baro(?:metric)? ?press(?:ure)?|atmospheric ?press(?:ure)?"),
    Rule("ambient_temp_c", r"ambient ?(?:air ?)?temp(?:erature)?"),
    Rule("humidity_pct", r"humidity|relative ?humidity", "%"),
)
"""Engine-side names (MSL, RomRaider, Power Vision), best match first within a channel."""

BOTH_CYLINDERS = {
    "spark_deg": ("spark_front_deg", "spark_rear_deg"),
    "knock_retard_deg": ("knock_retard_front_deg", "knock_retard_rear_deg"),
}
"""Rule channels for one column that serves both cylinders."""

# Letters may not touch the core word (``Gego`` is a correction), digits may (``lambda1``).
_AFR_CORE = re.compile(
    r"(?<![a-z])(?:afr|lambda|ego|o2|wbo2|uego|wideband|air/?fuel ratio|a/f(?: sensor)?)"
    r"(?![a-z])"
)
_NOT_A_WIDEBAND = re.compile(
    r"target|tgt|corr|\bcor(?![a-z])|learn|adc|volt|current|request|\bset\b|trim|gain|heater|ready"
    r"|pump|status|error|temp"
)
# A Dynojet analog input turned into AFR by the dyno software: "WB Volts Petrol AFR",
# "LC2 Volts Petrol AFR2". The name ends in the quantity it gives (AFR/λ, maybe numbered).
_FROM_VOLTS = re.compile(r".*\bvolts?\b.*\b(?:afr|lambda)[\s_#-]*[12]?")
# Wideband controllers named in a channel (Innovate LC-1/LC-2/LM-1/LM-2): not a cylinder number.
_CONTROLLER = re.compile(r"\b(?:innovate\s+)?(?:lc|lm)-?[12]\b|\bwb\b")
# The fuel scale an AFR is on (rusEFI "Air/Fuel Ratio 2 (Gas Scale)", written "_Gas Scale" by
# some exports; Dynojet "Petrol AFR"): gasoline scale is the canonical λ × 14.7.
_GAS_SCALE = re.compile(r"[\s_(-]*\(?(?:gas(?:oline)? ?scale|petrol|gasoline|gas)\)?(?=\s|$|\d)")
_SIDE_PREFIX = re.compile(r"(front|rear)[\s_-]+(.+)")
_SIDE_SUFFIX = re.compile(r"(.*?)[\s_(-]+(front|rear|f|r)\)?")
_SIDE_NUMBER = re.compile(r"(.*?)[\s_#-]*(?:cyl(?:inder)? ?)?([12])")
_UNSIDED = re.compile(r"(?:.*[\s_-])?(?:wb)?o2")


@dataclass(frozen=True)
class WidebandName:
    """What a wideband column's name says: its side ("" when none) and why."""

    side: str
    reason: str
    from_volts: bool = False
    """An AFR the dyno computed from a controller's analog volts output (LC-1/LC-2)."""
    gas_scale: bool = False
    """The name says gasoline scale (λ × 14.7, the canonical scale)."""


def wideband_name(key: str) -> WidebandName | None:
    """What the name ``key`` (lower case) says about a wideband; None when it is no wideband.

    A wideband name holds AFR, lambda, EGO, O2, WBO2, UEGO, wideband or air/fuel ratio and is no
    target, correction, raw input or voltage, except an AFR computed from volts (the name ends
    with AFR or λ). Sides: front/rear, F/R, or sensor/cylinder number 1/2 (``AFR 1``, ``EGO2``,
    ``lambda1``, ``cyl1``, ``Air/Fuel Ratio 2 (Gas Scale)``); Harley and Buell number the front
    cylinder 1. ``O2`` on its own has no side: its 2 is part of the name; nor does a
    controller's model number (``LC2``).
    """
    from_volts = bool(_FROM_VOLTS.fullmatch(key))
    if not _AFR_CORE.search(key) or (_NOT_A_WIDEBAND.search(key) and not from_volts):
        return None
    gas_scale = bool(_GAS_SCALE.search(key))
    cleaned = _GAS_SCALE.sub("", _CONTROLLER.sub("", key))
    cleaned = re.sub(r"\bvolts?\b", "", cleaned)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" _-")
    side, reason = _side(cleaned)
    return WidebandName(side, reason, from_volts, gas_scale)


def _side(key: str) -> tuple[str, str]:
    if match := _SIDE_PREFIX.fullmatch(key):
        return match.group(1), f"'{match.group(1)}' in the name"
    if match := _SIDE_SUFFIX.fullmatch(key):
        side = "front" if match.group(2) in ("front", "f") else "rear"
        return side, f"'{match.group(2).upper() if len(match.group(2)) == 1 else side}' in the name"
    if _UNSIDED.fullmatch(key):
        return "", "no cylinder in the name"
    if match := _SIDE_NUMBER.fullmatch(key):
        number = match.group(2)
        side = "front" if number == "1" else "rear"
        return side, f"'{number}' in the name: sensor {number}, the {side} cylinder"
    return "", "no cylinder in the name"


def wideband_side(key: str) -> str | None:
    """For a wideband column key: "front", "rear" or "" (no side in the name); None if none."""
    name = wideband_name(key)
    return None if name is None else name.side


# Unit texts as loggers write them -> the symbols used here (core.units symbols where they
# exist; "krpm" rpm/1000, "mbar", "V" a sensor voltage, "raw" an unscaled count).
_UNIT_WORDS: dict[str, tuple[str, ...]] = {
    "s": ("s", "sec", "secs", "second", "seconds"),
    "ms": ("ms", "msec", "msecs", "millisecond", "milliseconds"),
    "us": ("us", "µs", "usec", "microseconds"),
    "rpm": ("rpm", "1/min", "rev/min", "revs/min"),
    "krpm": ("krpm", "rpmx1000", "rpm*1000", "rpm/1000", "x1000rpm"),
    "kPa": ("kpa", "kpaa"),
    "bar": ("bar", "bara"),
    "mbar": ("mbar", "hpa"),
    "psi": ("psi", "psia"),
    "inHg": ("inhg", "inchhg", "inchesofmercury", '"hg'),
    "C": ("c", "degc", "degreec", "degreesc", "celsius"),
    "F": ("f", "degf", "degreef", "degreesf", "fahrenheit"),
    "mph": ("mph", "mi/h"),
    "km/h": ("km/h", "kph", "kmh", "kmph", "km/hr"),
    "ft-lb": ("ft-lb", "ftlb", "lb-ft", "lbft", "ft-lbs", "ftlbs", "lbf-ft", "ft-lbf", "lbs-ft"),
    "N·m": ("nm", "n·m", "n-m", "n.m"),
    "hp": ("hp", "bhp", "whp"),
    "kW": ("kw",),
    "%": ("%", "pct", "percent"),
    "deg": ("deg", "degs", "degree", "degrees", "degbtdc", "btdc", "°"),
    "lambda": ("lambda", "λ", "lam"),
    "AFR": ("afr", "a/f", "air/fuel", "afr(gas)", "afrgas"),
    "V": ("v", "volt", "volts", "mv", "millivolts"),
}
_UNIT_OF = {word: symbol for symbol, words in _UNIT_WORDS.items() for word in words}
_RAW = re.compile(r"adc|bit|count|step|raw|fuel")


def parse_unit(text: str) -> str | None:
    """The symbol for a unit text ("" when no unit is given); None when it is not recognised."""
    squeezed = re.sub(r"\s+", "", text.strip().lower())
    if squeezed in ("", "-"):
        return ""
    if squeezed == "°":
        return "deg"
    if squeezed in _UNIT_OF:
        return _UNIT_OF[squeezed]
    if squeezed.startswith("°") and squeezed[1:] in _UNIT_OF:
        return _UNIT_OF[squeezed[1:]]
    if _RAW.search(squeezed):
        return "raw"
    return None


def unit_label(symbol: str) -> str:
    """How a unit symbol is shown in ``mapped`` ("rpm × 1000", "°F", "λ")."""
    return {"krpm": "rpm × 1000", "C": "°C", "F": "°F", "lambda": "λ", "": "no unit"}.get(
        symbol, symbol
    )
