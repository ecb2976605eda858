"""On-site dispatch: who goes, when they arrive, which warehouse gives the parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Conflict
from core.tickets.domain.onsite import (
    NoTechnician,
    OutOfStock,
    PartNeed,
    Technician,
    Warehouse,
    choose_technician,
    choose_warehouse,
    returned,
)

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
DC = "DC Hà Nội"
MINUTES_TO_DC = {"Văn phòng Hà Nội": 35, "Hội sở Hà Nội": 30, "Văn phòng TP.HCM": 240, DC: 0}


def tech(
    id: str, place: str, skills: str = "server", *, region: str = "north", on_duty: bool = True, busy: bool = False
) -> Technician:
    return Technician(id, id.title(), frozenset(skills.split(",")), region, place, on_duty, busy)


def test_the_nearest_free_qualified_technician_goes_and_the_eta_is_now_plus_the_travel() -> None:
    crew = [
        tech("nam", "Văn phòng TP.HCM", region="south"),
        tech("tuan", "Văn phòng Hà Nội"),
        tech("linh", "Hội sở Hà Nội", busy=True),  # nearer, but on another visit
        tech("ha", DC, skills="camera"),  # already there, but not a server technician
        tech("minh", DC, on_duty=False),  # there, off duty
    ]
    choice = choose_technician(crew, "server", "north", DC, MINUTES_TO_DC, NOW, NOW + timedelta(hours=4))
    assert (choice.technician.id, choice.travel_minutes) == ("tuan", 35)
    assert choice.eta == NOW + timedelta(minutes=35) and choice.warnings == ()


def test_a_visit_that_cannot_beat_the_resolution_due_time_is_sent_with_a_warning() -> None:
    choice = choose_technician(
        [tech("nam", "Văn phòng TP.HCM")], "server", "north", DC, MINUTES_TO_DC, NOW, NOW + timedelta(hours=1)
    )
    assert choice.technician.id == "nam"
    assert choice.warnings and "arrives 180 min after the resolution is due" in choice.warnings[0]


def test_a_tie_goes_to_the_tickets_region_then_to_the_id() -> None:
    minutes = {"A": 30, "B": 30}
    crew = [tech("an", "A", region="central"), tech("binh", "B", region="north"), tech("cuong", "A", region="north")]
    assert choose_technician(crew, "server", "north", "X", minutes, NOW, None).technician.id == "binh"


@pytest.mark.parametrize(
    ("crew", "reason"),
    [
        ([tech("ha", DC, skills="camera")], "no technician has the skill 'server'"),
        ([tech("tuan", DC, busy=True), tech("minh", DC, on_duty=False)], "no server technician is on duty and free"),
        ([tech("bao", "Văn phòng Đà Nẵng")], "no free server technician has a known route to 'DC Hà Nội'"),
    ],
)
def test_nobody_can_go_says_why(crew: list[Technician], reason: str) -> None:
    with pytest.raises(NoTechnician, match=reason):
        choose_technician(crew, "server", "north", DC, MINUTES_TO_DC, NOW, None)


HN = Warehouse("WH-HN", "Văn phòng Hà Nội", {"PSU": 1, "FAN": 3})
SG = Warehouse("WH-SG", "Văn phòng TP.HCM", {"PSU": 5, "FAN": 1})


def test_every_part_comes_from_the_nearest_warehouse_holding_them_all() -> None:
    one_psu = [PartNeed(part_number="PSU", quantity=1)]
    assert choose_warehouse([SG, HN], one_psu, DC, MINUTES_TO_DC) == HN
    two_psu = [
        PartNeed(part_number="PSU", quantity=1),
        PartNeed(part_number="PSU", quantity=1),
    ]  # asked twice: added up
    assert choose_warehouse([SG, HN], two_psu, DC, MINUTES_TO_DC) == SG
    assert choose_warehouse([SG, HN], [], DC, MINUTES_TO_DC) is None


def test_no_warehouse_holding_every_part_refuses_naming_what_is_short() -> None:
    needs = [PartNeed(part_number="PSU", quantity=2), PartNeed(part_number="FAN", quantity=2)]
    with pytest.raises(OutOfStock, match=r"FAN \(2 wanted, 4 in stock\), PSU \(2 wanted, 6 in stock\)"):
        choose_warehouse([SG, HN], needs, DC, MINUTES_TO_DC)  # enough in all, but not in one


def test_what_was_not_used_goes_back_and_using_more_than_reserved_is_refused() -> None:
    assert returned({"PSU": 2, "FAN": 1}, {"PSU": 1}) == {"PSU": 1, "FAN": 1}
    assert returned({"PSU": 2}, {"PSU": 2}) == {"PSU": 0}
    with pytest.raises(Conflict, match="beyond what was reserved for the visit: FAN, PSU"):
        returned({"PSU": 1}, {"PSU": 2, "FAN": 1})


def test_a_part_number_is_checked() -> None:
    with pytest.raises(ValueError):
        PartNeed(part_number="PSU; DROP TABLE", quantity=1)
    with pytest.raises(ValueError):
        PartNeed(part_number="PSU", quantity=0)
