"""BuildSpec: engine families, validation with named fields, JSON round trip."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynoai_desktop.core import build_spec as bs
from dynoai_desktop.core.build_spec import (
    SCHEMA_VERSION,
    AirCleaner,
    BuildSpec,
    CamSpec,
    EngineFamily,
    Exhaust,
)
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.units import Fuel

# ------------------------------------------------------------------ engine families
EXPECTED_CI_CC = {
    EngineFamily.TC88: (88, 1450),
    EngineFamily.TC96: (96, 1584),
    EngineFamily.TC103: (103, 1690),
    EngineFamily.TC110: (110, 1801),
    EngineFamily.M8_107: (107, 1746),
    EngineFamily.M8_114: (114, 1868),
    EngineFamily.M8_117: (117, 1920),
    EngineFamily.M8_131: (131, 2147),
    EngineFamily.EVO_1340: (80, 1337),
    EngineFamily.SPORTSTER_883: (53.88, 883),
    EngineFamily.SPORTSTER_1200: (73.23, 1200),
}


def test_every_family_has_figures():
    assert set(EXPECTED_CI_CC) == set(EngineFamily)


@pytest.mark.parametrize("family", list(EngineFamily))
def test_family_displacements(family):
    ci, cc = EXPECTED_CI_CC[family]
    assert family.stock_displacement_ci == pytest.approx(ci, abs=0.01)
    assert family.stock_displacement_cc == pytest.approx(cc)
    # Quoted cc and nominal ci agree to within the Evo's "80 ci = 1337 cc" rounding.
    assert family.stock_displacement_ci * bs.CC_PER_CI == pytest.approx(cc, rel=0.025)
    assert family.label


def test_family_examples():
    assert EngineFamily.M8_114.stock_displacement_ci == 114
    assert EngineFamily.M8_114.label == "Milwaukee-Eight 114"
    assert EngineFamily.EVO_1340.stock_compression_ratio == 8.5
    assert EngineFamily.TC110.stock_injector_flow_gs == pytest.approx(
        34.52 * 453.59237 / 3600, 0.01
    )
    assert EngineFamily("twin_cam_96") is EngineFamily.TC96
    assert isinstance(EngineFamily.TC96, str)


@pytest.mark.parametrize("family", list(EngineFamily))
def test_stock_build_is_valid_and_stock(family):
    spec = BuildSpec.stock(family)
    assert spec.engine_family is family
    assert spec.stage == 0
    assert spec.displacement_ci == family.stock_displacement_ci
    assert spec.displacement_cc == pytest.approx(family.stock_displacement_ci * 16.387064)
    assert spec.exhaust is Exhaust.STOCK
    assert spec.air_cleaner is AirCleaner.STOCK
    assert spec.cam.name == "stock"
    assert spec.compression_ratio == family.stock_compression_ratio
    assert spec.injector_flow_gs == family.stock_injector_flow_gs
    assert spec.fuel is Fuel.GASOLINE
    assert family.label in spec.summary


def test_stock_accepts_value_or_member_name():
    assert BuildSpec.stock("milwaukee_eight_114") == BuildSpec.stock(EngineFamily.M8_114)
    assert BuildSpec.stock("M8_114") == BuildSpec.stock(EngineFamily.M8_114)


def test_replace_coerces_and_validates():
    spec = dataclasses.replace(BuildSpec.stock(EngineFamily.TC96), exhaust="two_into_one", stage=1)
    assert spec.exhaust is Exhaust.TWO_INTO_ONE
    with pytest.raises(InputError, match="'stage'"):
        dataclasses.replace(spec, stage=5)


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BuildSpec.stock(EngineFamily.TC88).stage = 2  # type: ignore[misc]


# ------------------------------------------------------------------ JSON
def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def _optional(field: str) -> st.SearchStrategy[float | None]:
    lo, hi, _ = bs._CAM_RANGES[field]
    return st.none() | _floats(lo, hi)


cams = st.builds(
    CamSpec,
    name=st.text(min_size=1, max_size=20).filter(lambda s: s.strip() != ""),
    **{field: _optional(field) for field in bs._CAM_RANGES},
)

specs = st.builds(
    BuildSpec,
    engine_family=st.sampled_from(list(EngineFamily)),
    displacement_ci=_floats(*bs._BUILD_RANGES["displacement_ci"][:2]),
    stage=st.integers(0, 4),
    cam=cams,
    exhaust=st.sampled_from(list(Exhaust)),
    air_cleaner=st.sampled_from(list(AirCleaner)),
    injector_flow_gs=_floats(*bs._BUILD_RANGES["injector_flow_gs"][:2]),
    compression_ratio=_floats(*bs._BUILD_RANGES["compression_ratio"][:2]),
    fuel_octane_aki=_floats(*bs._BUILD_RANGES["fuel_octane_aki"][:2]),
    altitude_m=_floats(*bs._BUILD_RANGES["altitude_m"][:2]),
    fuel=st.sampled_from(list(Fuel)),
)


@given(spec=specs)
def test_json_round_trip(spec):
    text = spec.to_json()
    assert BuildSpec.from_json(text) == spec
    assert BuildSpec.from_dict(spec.to_dict()) == spec
    assert BuildSpec.from_json(spec.to_json(indent=None)) == spec


def test_to_dict_shape():
    d = BuildSpec.stock(EngineFamily.M8_114).to_dict()
    assert d["schema_version"] == SCHEMA_VERSION == 1
    assert d["engine_family"] == "milwaukee_eight_114"
    assert d["exhaust"] == "stock"
    assert d["cam"]["name"] == "stock"
    assert d["cam"]["lsa_deg"] is None
    assert json.loads(json.dumps(d)) == d


def test_missing_optional_fields_take_stock_defaults():
    spec = BuildSpec.from_json('{"schema_version": 1, "engine_family": "twin_cam_103"}')
    assert spec == BuildSpec.stock(EngineFamily.TC103)
    partial = BuildSpec.from_dict(
        {"engine_family": "milwaukee_eight_114", "stage": 2, "cam": {"name": "S&S 475"}}
    )
    assert partial.stage == 2
    assert partial.cam == CamSpec(name="S&S 475")
    assert partial.compression_ratio == EngineFamily.M8_114.stock_compression_ratio


def test_full_cam_card():
    cam = {
        "name": "S&S 585",
        "intake_duration_deg": 240,
        "exhaust_duration_deg": 248,
        "intake_lift_in": 0.585,
        "exhaust_lift_in": 0.585,
        "overlap_deg": 36,
        "lsa_deg": 104,
    }
    spec = BuildSpec.from_dict({"engine_family": "twin_cam_96", "stage": 2, "cam": cam})
    assert spec.cam.intake_lift_in == 0.585
    assert isinstance(spec.cam.lsa_deg, float)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"engine_family": "twin_cam_88", "stgae": 2}, "'stgae'"),
        ({"engine_family": "twin_cam_88", "Stage": 2}, "'Stage'"),
        ({"engine_family": "twin_cam_88", "cam": {"name": "x", "lift": 0.5}}, "'cam.lift'"),
    ],
)
def test_unknown_keys_are_errors(data, field):
    with pytest.raises(InputError, match=f"unknown build spec field {field}") as info:
        BuildSpec.from_dict(data, source="bike.json")
    assert str(info.value).startswith("bike.json: ")
    assert "valid fields are" in str(info.value)


WRONG_TYPES = [
    ("engine_family", 114),
    ("displacement_ci", "114"),
    ("stage", "2"),
    ("stage", 1.5),
    ("stage", True),
    ("cam", "stock"),
    ("cam", {"intake_lift_in": 0.5}),
    ("exhaust", 3),
    ("air_cleaner", None),
    ("injector_flow_gs", [4.89]),
    ("compression_ratio", None),
    ("fuel_octane_aki", "91"),
    ("altitude_m", False),
    ("fuel", "diesel"),
]


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES)
def test_wrong_types_name_the_field(field, value):
    data = {"engine_family": "milwaukee_eight_107", field: value}
    with pytest.raises(InputError) as info:
        BuildSpec.from_json(json.dumps(data), source="bike.json")
    message = str(info.value)
    assert message.startswith("bike.json: ")
    assert f"'{field}" in message


OUT_OF_RANGE = [
    ("displacement_ci", 20, "45 ci to 160 ci"),
    ("displacement_ci", 300, "45 ci to 160 ci"),
    ("stage", -1, "0 (stock) to 4"),
    ("stage", 5, "0 (stock) to 4"),
    ("injector_flow_gs", 0.0, "2 g/s to 12 g/s"),
    ("compression_ratio", 16.5, "7.5:1 to 13:1"),
    ("fuel_octane_aki", 60, "80 AKI to 120 AKI"),
    ("altitude_m", 9000, "-500 m to 5000 m"),
]


@pytest.mark.parametrize(("field", "value", "allowed"), OUT_OF_RANGE)
def test_out_of_range_names_field_value_and_range(field, value, allowed):
    with pytest.raises(InputError) as info:
        BuildSpec.from_dict({"engine_family": "twin_cam_110", field: value})
    message = str(info.value)
    assert f"'{field}' = {value!r}" in message
    assert allowed in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("intake_duration_deg", 400),
        ("exhaust_duration_deg", 100),
        ("intake_lift_in", 585),  # thousandths instead of inches
        ("exhaust_lift_in", 0.1),
        ("overlap_deg", 200),
        ("lsa_deg", 60),
        ("lsa_deg", "104"),
    ],
)
def test_cam_errors_name_the_field(field, value):
    with pytest.raises(InputError, match=f"'cam.{field}'"):
        CamSpec(name="test", **{field: value})
    with pytest.raises(InputError, match=f"'cam.{field}'"):
        BuildSpec.from_dict({"engine_family": "twin_cam_88", "cam": {"name": "x", field: value}})


@pytest.mark.parametrize("name", ["", "  ", None])
def test_cam_name_required(name):
    with pytest.raises(InputError, match="'cam.name'"):
        CamSpec(name=name)  # type: ignore[arg-type]


def test_nan_is_rejected():
    with pytest.raises(InputError, match="'compression_ratio' = nan"):
        BuildSpec.from_json('{"engine_family": "twin_cam_88", "compression_ratio": NaN}')


def test_engine_family_required():
    with pytest.raises(InputError, match="'engine_family' is missing: give one of twin_cam_88"):
        BuildSpec.from_json('{"schema_version": 1, "stage": 1}', source="x.json")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", r"^bike\.json: build spec is not valid JSON \(line 1"),
        ("[1, 2]", r"^bike\.json: build spec must be a JSON object, got list"),
        ('{"schema_version": 2, "engine_family": "twin_cam_88"}', "schema_version 2"),
        ('{"schema_version": "1", "engine_family": "twin_cam_88"}', "schema_version '1'"),
        ('{"schema_version": true, "engine_family": "twin_cam_88"}', "schema_version True"),
    ],
)
def test_bad_documents(text, match):
    with pytest.raises(InputError, match=match):
        BuildSpec.from_json(text, source="bike.json")


def test_default_source_names():
    with pytest.raises(InputError, match=r"^<text>: "):
        BuildSpec.from_json("{")
    with pytest.raises(InputError, match=r"^<dict>: "):
        BuildSpec.from_dict({"stage": 1})
