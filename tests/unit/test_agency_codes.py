"""Both agency-code shapes (hub/agency_codes.py): QCVN 102:2016's 000.00.00.H30 and Decision
20/2020/QĐ-TTg's H30.01.02. Each is accepted by the registry, the message models and routing; each
near miss (a group's length, a letter, a separator, the length limit) is refused everywhere, with an
error that names both shapes and never the value."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from connectors.portal.models import DossierSubmitted
from connectors.units import unit_of_dossier
from connectors.values import AgencyCode, DossierCode, ProcedureCode
from hub import checks
from hub.agencies import AgencyRegistry
from hub.agency_codes import AGENCY_CODE, MAX_LENGTH, SHAPES, is_agency_code
from hub.connector import Context
from hub.errors import ConfigError, Reason, Rejection
from hub.settings import AgencySettings

QCVN_102 = ["000.00.00.H30", "000.31.01.H30", "999.99.99.Z99"]
DECISION_20 = [
    "H13",  # a level-1 code alone: the province's People's Committee
    "H13.60",
    "G09.20",
    "H13.60.A1.0B2",  # groups after the first may hold capital letters, of any length
    "A00.00.00.H30",  # not QCVN 102's (a letter first), but a level-1 code A00 and three groups
    "H13." + "0" * (MAX_LENGTH - 4),  # exactly 35 characters
]
NEAR_MISSES = {
    # QCVN 102: each group's length, the level-1 letter, the separators
    "00.00.00.H30": "first group of 2 digits",
    "0000.00.00.H30": "first group of 4 digits",
    "000.0.00.H30": "second group of 1 digit",
    "000.000.00.H30": "second group of 3 digits",
    "000.00.0.H30": "third group of 1 digit",
    "000.00.000.H30": "third group of 3 digits",
    "000.00.00.H3": "level-1 code of 1 digit",
    "000.00.00.H300": "level-1 code of 3 digits",
    "000.00.00.h30": "lower-case letter",
    "000.00.00.330": "level-1 code without its letter",
    "0A0.00.00.H30": "a letter where digits go",
    "000-00-00-H30": "dashes for dots",
    "000.00.00H30": "a dot missing",
    # Decision 20/2020: the level-1 code, the groups, the characters, the length
    "H1.60": "level-1 code of 1 digit",
    "H130.60": "level-1 code of 3 digits",
    "13.60": "level-1 code without its letter",
    "HH3.60": "level-1 code of two letters",
    "h13.60": "lower-case level-1 letter",
    "H13.6a": "lower-case letter in a group",
    "H13.Đ1": "a letter outside A-Z",
    "H13.６0": "a digit outside 0-9",
    "H13..60": "an empty group",
    "H13.60.": "a trailing dot",
    ".H13.60": "a leading dot",
    "H13-60": "a dash for a dot",
    "H13/60": "a slash for a dot",
    "H13 60": "a space for a dot",
    "H13.60\n": "a trailing line feed",
    "H13." + "0" * (MAX_LENGTH - 3): "36 characters",
    "": "empty",
}
LAST_DAY, MERGER = date(2025, 6, 30), date(2025, 7, 1)
BOTH_SHAPES = "000.00.00.H30 (QCVN 102:2016/BTTTT) or H30.01.02 (Quyết định 20/2020/QĐ-TTg"


def near_misses(longest: int = 2 * MAX_LENGTH) -> list[object]:
    return [pytest.param(code, id=why) for code, why in NEAR_MISSES.items() if len(code) <= longest]


def agency(code: str, **fields: object) -> AgencySettings:
    return AgencySettings.model_validate({"code": code, "name": "sample", **fields})


def refused(annotation: Any, value: str) -> str:
    """The validation error's text for ``value`` of ``annotation``; fails the test if it is accepted."""
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(annotation).validate_python(value)
    return str(caught.value)


# --- the definition ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", QCVN_102 + DECISION_20)
def test_both_shapes_are_agency_codes(code: str) -> None:
    assert is_agency_code(code)


@pytest.mark.parametrize("code", near_misses())
def test_a_near_miss_is_not_an_agency_code(code: str) -> None:
    assert not is_agency_code(code)


def test_the_shapes_cannot_be_confused() -> None:
    older, newer = AGENCY_CODE.removeprefix("(?:").removesuffix(")").split("|")
    assert all(re.fullmatch(older, c) and not re.fullmatch(newer, c) for c in QCVN_102)
    assert all(re.fullmatch(newer, c) and not re.fullmatch(older, c) for c in DECISION_20)


# --- the registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", QCVN_102 + DECISION_20)
def test_the_registry_accepts_both_shapes(code: str) -> None:
    assert code in AgencyRegistry([agency(code)])


@pytest.mark.parametrize("code", near_misses())
def test_the_registry_refuses_a_near_miss_naming_both_shapes(code: str) -> None:
    with pytest.raises(ConfigError) as caught:
        AgencyRegistry([agency(code)])
    assert str(caught.value) == f"agency {code!r}: a code has the shape {SHAPES}"
    assert BOTH_SHAPES in str(caught.value)


def test_a_legacy_unit_routes_to_its_successor_of_the_newer_shape() -> None:
    registry = AgencyRegistry(
        [
            agency("000.00.31.H30", successor="H13.41", valid_to=LAST_DAY),
            agency("H13.41", valid_from=MERGER),
        ]
    )
    assert registry.owning_unit("000.00.31.H30", "MaCoQuan") == "H13.41"
    assert registry.owning_unit("000.00.31.H30", "MaCoQuan", on=LAST_DAY) == "000.00.31.H30"
    assert registry.owning_unit("000.00.31.H30", "MaCoQuan", on=MERGER) == "H13.41"


# --- the message models ------------------------------------------------------------------------


@pytest.mark.parametrize("code", QCVN_102 + DECISION_20)
def test_the_models_accept_both_shapes(code: str) -> None:
    assert TypeAdapter(AgencyCode).validate_python(code) == code
    assert TypeAdapter(ProcedureCode).validate_python(f"1.001234.{code}") == f"1.001234.{code}"
    for dossier in (f"{code}-261130-0001", f"{code}-20261130-0001234"):
        assert TypeAdapter(DossierCode).validate_python(dossier) == dossier


@pytest.mark.parametrize("code", near_misses())
def test_the_models_refuse_a_near_miss(code: str) -> None:
    refused(AgencyCode, code)
    refused(ProcedureCode, f"1.001234.{code}")
    refused(DossierCode, f"{code}-261130-0001")


@pytest.mark.parametrize("code", QCVN_102 + DECISION_20)
def test_a_rejected_message_is_filed_under_its_dossier_code_of_either_shape(code: str) -> None:
    assert checks.DOSSIER_CODE.match(f"{code}-261130-0001")


# The hint's pattern cannot state the length limit, so the over-long near miss is left out.
@pytest.mark.parametrize("code", near_misses(longest=MAX_LENGTH))
def test_no_dossier_is_read_from_a_code_with_a_near_miss(code: str) -> None:
    assert not checks.DOSSIER_CODE.match(f"{code}-261130-0001")


def test_an_over_long_agency_prefix_of_a_dossier_code_names_the_rule_not_the_value() -> None:
    prefix = "H13." + "A" * (MAX_LENGTH - 3)  # the pattern's shape, one character too long
    error = refused(DossierCode, f"{prefix}-261130-0001")
    assert "the agency code before the first '-' is at most 35 characters" in error
    assert TypeAdapter(DossierCode).validate_python(f"{prefix[:-1]}-261130-0001")


def test_the_published_schema_states_both_shapes_and_the_limit() -> None:
    schema = DossierSubmitted.model_json_schema(by_alias=True)["properties"]["MaCoQuan"]
    assert (schema["pattern"], schema["maxLength"]) == (f"^{AGENCY_CODE}$", MAX_LENGTH)


# --- routing by a dossier code's prefix --------------------------------------------------------


@pytest.mark.parametrize(
    ("dossier", "owner"),
    [
        ("000.00.31.H30-250612-0042", "H13.41"),  # a legacy unit's dossier: its successor today
        ("H13.41-20260609-0092637", "H13.41"),
        ("H13.60-261130-0001", "H13.60"),
    ],
)
def test_a_dossier_the_hub_never_saw_reaches_the_owner_of_its_prefix(dossier: str, owner: str) -> None:
    registry = AgencyRegistry(
        [
            agency("000.00.31.H30", successor="H13.41", valid_to=LAST_DAY),
            agency("H13.60", valid_from=MERGER),
            agency("H13.41", level="commune", parent="H13.60", valid_from=MERGER),
        ]
    )
    assert unit_of_dossier(dossier, Context(agencies=registry)) == owner


def test_an_unlisted_prefix_of_the_newer_shape_is_an_unknown_dossier() -> None:
    with pytest.raises(Rejection) as caught:
        unit_of_dossier("H13.99-261130-0001", Context(agencies=AgencyRegistry([agency("H13.41")])))
    assert caught.value.reason == Reason.UNKNOWN_DOSSIER
    assert "H13.99" not in str(caught.value)
