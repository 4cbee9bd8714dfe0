"""Unit conversions: known values, round trips, vectorisation and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynoai_desktop.core import units
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.units import (
    FIXED_UNITS,
    STOICH_AFR,
    UNIT_CHOICES,
    Fuel,
    afr_to_lambda,
    canonical_unit,
    convert,
    ethanol_blend_stoich_afr,
    lambda_to_afr,
    normalise_unit,
)

# (forward, backward) pairs of named conversions.
PAIRS = [
    (units.f_to_c, units.c_to_f),
    (units.ftlb_to_nm, units.nm_to_ftlb),
    (units.hp_to_kw, units.kw_to_hp),
    (units.inhg_to_kpa, units.kpa_to_inhg),
    (units.bar_to_kpa, units.kpa_to_bar),
    (units.psi_to_kpa, units.kpa_to_psi),
    (units.mph_to_kmh, units.kmh_to_mph),
    (afr_to_lambda, lambda_to_afr),
]
PAIR_IDS = [fwd.__name__ for fwd, _ in PAIRS]

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)


# ------------------------------------------------------------------ known values
@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected", "tol"),
    [
        (14.7, "AFR", "lambda", 1.0, 1e-12),
        (1.0, "lambda", "AFR", 14.7, 1e-12),
        (212.0, "F", "C", 100.0, 1e-12),
        (32.0, "F", "C", 0.0, 1e-12),
        (-40.0, "C", "F", -40.0, 1e-12),
        (100.0, "ft-lb", "N·m", 135.58, 0.005),
        (100.0, "ft-lb", "Nm", 135.58, 0.005),
        (100.0, "hp", "kW", 74.57, 0.005),
        (29.92, "inHg", "kPa", 101.325, 0.01),
        (1.0, "bar", "kPa", 100.0, 1e-12),
        (14.6959, "psi", "kPa", 101.325, 0.001),
        (60.0, "mph", "km/h", 96.56064, 1e-9),
        (1.01325, "bar", "inHg", 29.92, 0.01),
    ],
)
def test_known_values(value, from_unit, to_unit, expected, tol):
    assert convert(value, from_unit, to_unit) == pytest.approx(expected, abs=tol)


def test_named_functions_known_values():
    assert afr_to_lambda(14.7) == pytest.approx(1.0)
    assert units.f_to_c(212.0) == pytest.approx(100.0)
    assert units.ftlb_to_nm(100.0) == pytest.approx(135.58, abs=0.005)
    assert units.hp_to_kw(100.0) == pytest.approx(74.57, abs=0.005)
    assert units.kw_to_hp(0.745699872) == pytest.approx(1.0)
    assert units.inhg_to_kpa(29.92) == pytest.approx(101.325, abs=0.01)
    assert units.inhg_to_kpa(1.0) == 3.386389


def test_exact_constants():
    assert units.NM_PER_FTLB == pytest.approx(1.3558179483314004, rel=1e-15)
    assert units.KW_PER_HP == pytest.approx(0.74569987158227022, rel=1e-15)
    assert units.KPA_PER_PSI == pytest.approx(6.894757293168361, rel=1e-15)
    assert units.KMH_PER_MPH == 1.609344


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize(("fwd", "back"), PAIRS, ids=PAIR_IDS)
@given(x=finite)
def test_named_pairs_round_trip(fwd, back, x):
    assert close(back(fwd(x)), x)
    assert close(fwd(back(x)), x)


@given(lam=st.floats(min_value=0.5, max_value=2.0), fuel=st.sampled_from(list(Fuel)))
def test_lambda_afr_lambda_any_fuel(lam, fuel):
    assert close(afr_to_lambda(lambda_to_afr(lam, fuel), fuel), lam)
    assert close(afr_to_lambda(lambda_to_afr(lam, fuel.stoich_afr), fuel.stoich_afr), lam)


@given(
    x=finite,
    pair=st.sampled_from(list(UNIT_CHOICES.values())).flatmap(
        lambda choices: st.tuples(st.sampled_from(choices), st.sampled_from(choices))
    ),
)
def test_convert_round_trip_every_pair(x, pair):
    a, b = pair
    assert math.isclose(convert(convert(x, a, b), b, a), x, rel_tol=1e-12, abs_tol=1e-9)


@pytest.mark.parametrize(
    ("fwd", "from_unit", "to_unit"),
    [
        (units.f_to_c, "F", "C"),
        (units.c_to_f, "C", "F"),
        (units.ftlb_to_nm, "ft-lb", "N·m"),
        (units.hp_to_kw, "hp", "kW"),
        (units.inhg_to_kpa, "inHg", "kPa"),
        (units.kpa_to_psi, "kPa", "psi"),
        (units.bar_to_kpa, "bar", "kPa"),
        (units.kmh_to_mph, "km/h", "mph"),
        (afr_to_lambda, "AFR", "lambda"),
    ],
)
@given(x=finite)
def test_convert_agrees_with_named_functions(fwd, from_unit, to_unit, x):
    assert close(convert(x, from_unit, to_unit), fwd(x))


# ------------------------------------------------------------------ vectorisation
@pytest.mark.parametrize(("fwd", "back"), PAIRS, ids=PAIR_IDS)
def test_arrays_in_arrays_out(fwd, back):
    values = np.array([[0.0, 1.5], [14.7, -3.0]])
    out = fwd(values)
    assert isinstance(out, np.ndarray)
    assert out.shape == values.shape
    np.testing.assert_allclose(back(out), values, atol=1e-12)
    np.testing.assert_allclose(out[1, 0], fwd(14.7))


@pytest.mark.parametrize(("fwd", "back"), PAIRS, ids=PAIR_IDS)
def test_float_in_float_out(fwd, back):
    assert isinstance(fwd(12.5), float)
    assert isinstance(fwd(12), float)


def test_lists_become_arrays():
    out = convert([212.0, 32.0], "F", "C")
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [100.0, 0.0], atol=1e-12)


def test_convert_array():
    out = convert(np.array([13.0, 14.7]), "AFR", "lambda")
    np.testing.assert_allclose(out, [13.0 / 14.7, 1.0])


# ------------------------------------------------------------------ identity and aliases
@pytest.mark.parametrize(
    ("from_unit", "to_unit"),
    [("C", "C"), ("kPa", "kPa"), ("Nm", "N·m"), ("°F", "F"), ("rpm", "rpm"), ("%", "%")],
)
def test_identity_returns_input_unchanged(from_unit, to_unit):
    values = np.array([1.0, 2.0])
    assert convert(values, from_unit, to_unit) is values
    assert convert(3.25, from_unit, to_unit) == 3.25


def test_aliases_normalise():
    assert normalise_unit("Nm") == "N·m"
    assert normalise_unit("°C") == "C"
    assert normalise_unit("kph") == "km/h"
    assert convert(100.0, "lb-ft", "Nm") == pytest.approx(135.58, abs=0.005)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("from_unit", "to_unit"),
    [("kPa", "C"), ("hp", "ft-lb"), ("mph", "rpm"), ("AFR", "%"), ("rpm", "s"), ("lambda", "psi")],
)
def test_cross_quantity_is_input_error(from_unit, to_unit):
    with pytest.raises(InputError) as info:
        convert(1.0, from_unit, to_unit)
    message = str(info.value)
    assert repr(from_unit) in message
    assert repr(to_unit) in message
    assert "temperature {C, F}" in message
    assert "pressure {kPa, inHg, bar, psi}" in message


@pytest.mark.parametrize(("from_unit", "to_unit"), [("furlong", "C"), ("C", "kelvin")])
def test_unknown_unit_is_input_error(from_unit, to_unit):
    with pytest.raises(InputError, match=r"unknown unit '(furlong|kelvin)'.*torque \{ft-lb"):
        convert(1.0, from_unit, to_unit)


def test_input_error_is_value_error():
    with pytest.raises(ValueError):
        convert(1.0, "kPa", "C")


@pytest.mark.parametrize("stoich", [0.0, -14.7, math.nan, math.inf, "14.7", None, True])
def test_bad_stoich_is_input_error(stoich):
    with pytest.raises(InputError, match="stoichiometric AFR"):
        afr_to_lambda(14.7, stoich)
    with pytest.raises(InputError, match="stoichiometric AFR"):
        lambda_to_afr(1.0, stoich)


def test_canonical_unit():
    assert canonical_unit("pressure") == "kPa"
    assert canonical_unit("status") == ""
    assert canonical_unit("rotational_speed") == "rpm"
    with pytest.raises(InputError, match="unknown quantity 'volume'"):
        canonical_unit("volume")


# ------------------------------------------------------------------ fuels and choices
def test_fuel_stoich_values():
    assert Fuel.GASOLINE.stoich_afr == 14.7
    assert Fuel.E85.stoich_afr == pytest.approx(9.8, abs=0.05)
    assert Fuel.E10.stoich_afr == pytest.approx(14.1, abs=0.05)
    assert Fuel.METHANOL.stoich_afr == 6.4
    assert Fuel.ETHANOL.stoich_afr == 9.0
    assert Fuel.RACE_GAS.stoich_afr == 14.7
    assert set(STOICH_AFR) == set(Fuel)
    assert Fuel.E85.label == "E85"
    assert Fuel.RACE_GAS.label == "race gas"


@pytest.mark.parametrize(("fuel", "ethanol_pct"), [(Fuel.E10, 10), (Fuel.E15, 15), (Fuel.E85, 85)])
def test_blend_table_matches_blend_formula(fuel, ethanol_pct):
    assert ethanol_blend_stoich_afr(ethanol_pct) == pytest.approx(fuel.stoich_afr, abs=0.02)


def test_blend_formula_ends_and_errors():
    assert ethanol_blend_stoich_afr(0) == pytest.approx(14.7)
    assert ethanol_blend_stoich_afr(100) == pytest.approx(9.0)
    with pytest.raises(InputError, match="ethanol content 120"):
        ethanol_blend_stoich_afr(120)


def test_e85_afr_scale():
    # An E85 bike at λ 1 reads 14.7 on the gasoline-scale channel and 9.8 on its own scale.
    lam = afr_to_lambda(9.8, Fuel.E85)
    assert lam == pytest.approx(1.0, abs=0.01)
    assert lambda_to_afr(lam) == pytest.approx(14.7, abs=0.02)


def test_unit_choices():
    assert UNIT_CHOICES == {
        "temperature": ("C", "F"),
        "torque": ("ft-lb", "N·m"),
        "power": ("hp", "kW"),
        "pressure": ("kPa", "inHg", "bar", "psi"),
        "speed": ("mph", "km/h"),
        "afr": ("AFR", "lambda"),
    }
    assert not set(UNIT_CHOICES) & set(FIXED_UNITS)
