"""The agency registry: start-up checks, routing along successors, validity dates, and the sample
province (Hậu Giang's 2019 one-stop plan and its 2025 merger into Cần Thơ)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

import connectors
from hub.agencies import AgencyRegistry
from hub.agency_codes import AGENCY_CODE, DECISION_20_SHAPE, QCVN_102_SHAPE
from hub.errors import ConfigError, Reason, Rejection
from hub.settings import AgencySettings, load_settings
from tests.conftest import CURRENT_UNIT, LEGACY_UNIT, PROVINCE_UNIT, sample_agencies

SAMPLE = Path(connectors.__file__).parent / "samples" / "province.toml"
LAST_DAY = date(2025, 6, 30)
MERGER = date(2025, 7, 1)
HAU_GIANG_CENTRE = "000.00.30.H30"
CAN_THO_CENTRE = "H13.60"
UNKNOWN_IN_THE_DEMO = "000.00.99.H30"  # connectors.portal.fake's unknown_agency bad message


def agency(code: str, successor: str | None = None, **fields: object) -> AgencySettings:
    return AgencySettings.model_validate({"code": code, "name": "sample", "successor": successor, **fields})


# --- the sample province ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> list[AgencySettings]:
    return load_settings(SAMPLE).agencies


@pytest.fixture(scope="module")
def registry(sample: list[AgencySettings]) -> AgencyRegistry:
    return AgencyRegistry(sample)


def test_the_sample_loads_and_passes_the_start_up_checks(
    sample: list[AgencySettings], registry: AgencyRegistry
) -> None:
    assert len(registry) == len(sample) == 19 + 9


def test_the_2019_plan_has_a_centre_5_district_and_13_commune_units(registry: AgencyRegistry) -> None:
    plan = registry.units(on=date(2019, 12, 31))
    assert Counter(a.level for a in plan) == {"province": 1, "district": 5, "commune": 13}
    assert all(a.valid_to == LAST_DAY and a.successor is not None for a in plan)
    assert [a.code for a in registry.units(level="province", on=date(2019, 12, 31))] == [HAU_GIANG_CENTRE]
    districts = {a.code for a in registry.units(level="district")}
    assert all(a.parent == HAU_GIANG_CENTRE for a in registry.units(level="district"))
    assert all(a.parent in districts for a in registry.units(level="commune", on=LAST_DAY))
    assert all(a.name.startswith("Bộ phận Một cửa ") for a in plan if a.level != "province")


def test_from_july_2025_cant_tho_has_two_levels(registry: AgencyRegistry) -> None:
    current = registry.units(on=MERGER)
    assert not registry.units(level="district", on=MERGER)
    assert [a.code for a in current if a.level == "province"] == [CAN_THO_CENTRE]
    assert Counter(a.level for a in current) == {"province": 1, "commune": 8}
    assert all(a.valid_from == MERGER and a.valid_to is None and a.successor is None for a in current)
    assert all(a.parent == CAN_THO_CENTRE for a in current if a.level == "commune")
    assert registry.owning_unit(HAU_GIANG_CENTRE, "MaCoQuan") == CAN_THO_CENTRE
    centre = registry.get(CAN_THO_CENTRE)
    assert centre is not None
    assert centre.name == "Trung tâm Phục vụ hành chính công thành phố Cần Thơ"


def test_every_legacy_code_routes_to_a_unit_in_service_after_the_merger(registry: AgencyRegistry) -> None:
    legacy = [a for a in registry.units() if a.valid_to is not None]
    assert len(legacy) == 19
    for unit in legacy:
        owner = registry.get(registry.owning_unit(unit.code, "MaCoQuan"))
        assert owner is not None
        assert owner.valid_from is not None
        assert owner.valid_from <= MERGER
        assert owner.valid_to is None
        assert registry.is_current(owner.code, MERGER)
        assert not registry.is_current(unit.code, MERGER)
        assert registry.owning_unit(unit.code, "MaCoQuan", on=LAST_DAY) == unit.code


def test_the_codes_the_demo_and_tests_use_keep_their_roles(registry: AgencyRegistry) -> None:
    assert registry.owning_unit(LEGACY_UNIT, "MaCoQuan") == CURRENT_UNIT
    assert registry.owning_unit(CURRENT_UNIT, "MaCoQuan") == CURRENT_UNIT
    assert registry.owning_unit(PROVINCE_UNIT, "MaCoQuan") == CAN_THO_CENTRE
    assert UNKNOWN_IN_THE_DEMO not in registry


def test_every_code_in_the_sample_is_marked_invented() -> None:
    lines = [line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.startswith("code")]
    assert len(lines) == 28
    assert all(re.fullmatch(rf'code = "{AGENCY_CODE}" +# sample', line) for line in lines), lines


def test_the_2019_units_have_the_older_shape_and_their_owners_since_2025_the_newer(
    registry: AgencyRegistry,
) -> None:
    legacy = [a.code for a in registry.units() if a.valid_to is not None]
    current = [a.code for a in registry.units(on=MERGER)]
    assert all(re.fullmatch(QCVN_102_SHAPE, code) for code in legacy), legacy
    assert all(re.fullmatch(DECISION_20_SHAPE, code) for code in current), current
    assert {registry.owning_unit(code, "MaCoQuan") for code in legacy} <= set(current)


def test_names_are_vietnamese_in_composed_unicode(sample: list[AgencySettings]) -> None:
    assert all(unicodedata.is_normalized("NFC", a.name) for a in sample)
    assert all("sample" not in a.name for a in sample)
    assert any("Hậu Giang" in a.name for a in sample)


# --- routing -----------------------------------------------------------------------------------


def test_routing_follows_chains_of_successors_to_the_current_owner() -> None:
    registry = AgencyRegistry(
        [
            agency("000.00.01.H30", "000.00.02.H30", valid_to=date(2020, 1, 31)),
            agency("000.00.02.H30", "000.00.03.H30", valid_from=date(2020, 2, 1), valid_to=LAST_DAY),
            agency("000.00.03.H30", valid_from=MERGER),
        ]
    )
    assert registry.owning_unit("000.00.01.H30", "MaCoQuan") == "000.00.03.H30"
    assert registry.owning_unit("000.00.02.H30", "MaCoQuan") == "000.00.03.H30"
    assert registry.owning_unit("000.00.01.H30", "MaCoQuan", on=date(2019, 6, 1)) == "000.00.01.H30"
    assert registry.owning_unit("000.00.01.H30", "MaCoQuan", on=date(2020, 2, 1)) == "000.00.02.H30"
    assert registry.owning_unit("000.00.01.H30", "MaCoQuan", on=LAST_DAY) == "000.00.02.H30"
    assert registry.owning_unit("000.00.01.H30", "MaCoQuan", on=MERGER) == "000.00.03.H30"
    # a code addressed before its unit existed is still routed, never refused
    assert registry.owning_unit("000.00.03.H30", "MaCoQuan", on=date(2019, 6, 1)) == "000.00.03.H30"


def test_an_unknown_code_is_rejected_without_echoing_it(registry: AgencyRegistry) -> None:
    with pytest.raises(Rejection) as caught:
        registry.owning_unit(UNKNOWN_IN_THE_DEMO, "MaCoQuan")
    assert caught.value.reason == Reason.UNKNOWN_AGENCY
    assert "MaCoQuan" in caught.value.detail
    assert UNKNOWN_IN_THE_DEMO not in caught.value.detail
    with pytest.raises(Rejection, match="DonViXuLy"):
        registry.owning_unit("000.00.99.H30", "DonViXuLy", on=MERGER)


def test_validity_dates_are_inclusive() -> None:
    registry = AgencyRegistry(
        [agency("000.00.01.H30", valid_from=date(2019, 1, 1), valid_to=LAST_DAY), agency("000.00.02.H30")]
    )
    assert registry.is_current("000.00.01.H30", date(2019, 1, 1))
    assert registry.is_current("000.00.01.H30", LAST_DAY)
    assert not registry.is_current("000.00.01.H30", date(2018, 12, 31))
    assert not registry.is_current("000.00.01.H30", MERGER)
    assert registry.is_current("000.00.02.H30", date(1975, 4, 30))
    assert not registry.is_current("000.00.09.H30", MERGER)
    assert [a.code for a in registry.units(on=MERGER)] == ["000.00.02.H30"]


def test_an_undated_registry_needs_no_end_dates() -> None:
    """The fixtures' registry models no dates: a successor alone is enough there."""
    registry = AgencyRegistry(sample_agencies())
    assert registry.owning_unit(LEGACY_UNIT, "MaCoQuan") == CURRENT_UNIT


# --- start-up checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agencies", "message"),
    [
        pytest.param(
            [agency("000.00.01.H30"), agency("000.00.01.H30")],
            "agency 000.00.01.H30 is listed twice",
            id="duplicate",
        ),
        pytest.param(
            [agency("000.00.1.H30")],
            "agency '000.00.1.H30': a code has the shape 000.00.00.H30",
            id="shape",
        ),
        pytest.param(
            [agency("000.00.01.H30", level="commune", parent="000.00.02.H30")],
            "agency 000.00.01.H30: parent 000.00.02.H30 is not listed",
            id="parent-not-listed",
        ),
        pytest.param(
            [
                agency("000.00.01.H30", level="commune", parent="000.00.02.H30"),
                agency("000.00.02.H30", level="commune"),
            ],
            "agency 000.00.01.H30: parent 000.00.02.H30 is a commune-level unit, "
            "not above this commune-level one",
            id="parent-not-above",
        ),
        pytest.param(
            [agency("000.00.01.H30", parent="000.00.01.H30")],
            "agency 000.00.01.H30: parent 000.00.01.H30 is a province-level unit",
            id="own-parent",
        ),
        pytest.param(
            [agency("000.00.01.H30", "000.00.02.H30", valid_to=LAST_DAY)],
            "agency 000.00.01.H30: successor 000.00.02.H30 is not listed",
            id="successor-not-listed",
        ),
        pytest.param(
            [agency("000.00.01.H30", valid_from=MERGER, valid_to=LAST_DAY)],
            "agency 000.00.01.H30: valid_from 2025-07-01 is after valid_to 2025-06-30",
            id="dates-reversed",
        ),
        pytest.param(
            [agency("000.00.01.H30", "000.00.02.H30"), agency("000.00.02.H30", valid_from=MERGER)],
            "agency 000.00.01.H30: has a successor, so it needs valid_to",
            id="successor-without-end",
        ),
        pytest.param(
            [agency("000.00.01.H30", "000.00.02.H30"), agency("000.00.02.H30", "000.00.01.H30")],
            "agency 000.00.01.H30: successors form a cycle: 000.00.01.H30 -> 000.00.02.H30 -> 000.00.01.H30",
            id="cycle",
        ),
        pytest.param(
            [agency("000.00.01.H30", "000.00.01.H30", valid_to=LAST_DAY)],
            "agency 000.00.01.H30: successors form a cycle: 000.00.01.H30 -> 000.00.01.H30",
            id="own-successor",
        ),
    ],
)
def test_a_broken_registry_stops_start_up(agencies: list[AgencySettings], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        AgencyRegistry(agencies)


def test_a_broken_sample_file_stops_start_up(tmp_path: Path) -> None:
    broken = tmp_path / "province.toml"
    text = SAMPLE.read_text(encoding="utf-8")
    broken.write_text(text.replace('successor = "H13.60"', 'successor = "H13.61"', 1))
    with pytest.raises(ConfigError, match=r"agency 000\.00\.30\.H30: successor H13\.61"):
        AgencyRegistry(load_settings(broken).agencies)
