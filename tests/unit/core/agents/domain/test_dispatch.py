"""The dispatcher's decisions: who takes a new ticket, and when an absent assignee's ticket moves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.agents.domain.dispatch import Assignment, OpenTicket, absences, plan
from core.agents.domain.roster import Shift, on_duty
from core.domain.escalation import SupportLevel
from core.domain.routing import Team
from core.domain.taxonomy import Region

L1, L2 = SupportLevel.L1, SupportLevel.L2
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # Monday 10:00 in Hanoi
H = timedelta(hours=1)
US = timedelta(microseconds=1)
GRACE = timedelta(minutes=5)
ON_DUTY_FOR = "on duty for network/north/L1"


def shift(agent: str, **overrides: Any) -> Shift:
    """A network/north/L1 shift from two hours before NOW to six hours after."""
    fields: dict[str, Any] = {
        "agent_id": agent,
        "team": Team.NETWORK,
        "region": Region.NORTH,
        "level": L1,
        "starts_at": NOW - 2 * H,
        "ends_at": NOW + 6 * H,
        "kind": "in_hours",
    }
    fields.update(overrides)
    return Shift(**fields)


def ticket(code: str = "INC-1", assignee: str | None = None, **overrides: Any) -> OpenTicket:
    """An unassigned network/north/L1 ticket."""
    fields: dict[str, Any] = {"team": Team.NETWORK, "region": Region.NORTH, "level": L1}
    fields.update(overrides)
    return OpenTicket(code=code, assignee=assignee, **fields)


def run(
    tickets: Sequence[OpenTicket],
    shifts: Sequence[Shift],
    available: Iterable[str],
    absent_since: Mapping[str, datetime] | None = None,
    *,
    grace: timedelta = GRACE,
    now: datetime = NOW,
) -> list[Assignment]:
    return plan(tickets, shifts, available, absent_since or {}, grace, now)


def picks(assignments: Iterable[Assignment]) -> dict[str, str]:
    return {a.code: a.agent for a in assignments}


# --- new tickets ------------------------------------------------------------------------------


def test_a_new_ticket_goes_to_the_least_loaded_available_agent_on_duty() -> None:
    tickets = [ticket("INC-1", "an"), ticket("INC-2", "an"), ticket("INC-3", "binh"), ticket("INC-9")]
    shifts = [shift("an"), shift("binh"), shift("chi")]
    chi_busy = [*tickets, ticket("INC-4", "chi", team=Team.SERVER), ticket("INC-5", "chi", team=Team.SERVER)]
    assert run(tickets, shifts, {"an", "binh", "chi"}) == [
        Assignment("INC-9", "chi", None, f"new ticket: {ON_DUTY_FOR}")
    ]
    # Load counts every open ticket of the agent, whatever its team.
    assert picks(run(chi_busy, shifts, {"an", "binh", "chi"})) == {"INC-9": "binh"}


def test_ties_go_to_the_earliest_shift_then_the_agent_id() -> None:
    early = [shift("zung", starts_at=NOW - 3 * H), shift("an")]
    assert picks(run([ticket()], early, {"an", "zung"})) == {"INC-1": "zung"}
    same_start = [shift("zung"), shift("an")]
    assert picks(run([ticket()], same_start, {"an", "zung"})) == {"INC-1": "an"}


def test_load_counts_are_updated_within_one_plan() -> None:
    assert picks(run([ticket("INC-1"), ticket("INC-2")], [shift("an"), shift("binh")], {"an", "binh"})) == {
        "INC-1": "an",
        "INC-2": "binh",
    }


def test_many_new_tickets_are_spread_evenly() -> None:
    tickets = [ticket("INC-0", "an")] + [ticket(f"INC-{n}") for n in range(1, 8)]
    assignments = run(tickets, [shift("an"), shift("binh"), shift("chi")], {"an", "binh", "chi"})
    load = Counter(a.agent for a in assignments) + Counter({"an": 1})
    assert sorted(load.values()) == [2, 3, 3]
    assert len(assignments) == 7


@pytest.mark.parametrize(
    "absent_shift",
    [
        {"starts_at": NOW + US},  # not started yet
        {"ends_at": NOW},  # just ended
        {"starts_at": NOW - 10 * H, "ends_at": NOW - 2 * H},
    ],
)
def test_an_agent_not_on_duty_is_never_picked(absent_shift: dict[str, Any]) -> None:
    busy = [ticket("INC-8", "binh"), ticket("INC-9", "binh")]
    shifts = [shift("an", **absent_shift), shift("binh")]
    assert picks(run([*busy, ticket()], shifts, {"an", "binh"})) == {"INC-1": "binh"}
    assert run([ticket()], [shift("an", **absent_shift)], {"an"}) == []


def test_a_shift_starting_now_counts() -> None:
    assert picks(run([ticket()], [shift("an", starts_at=NOW)], {"an"})) == {"INC-1": "an"}


def test_an_agent_on_duty_but_not_available_is_never_picked() -> None:
    busy = [ticket("INC-8", "binh"), ticket("INC-9", "binh")]
    assert picks(run([*busy, ticket()], [shift("an"), shift("binh")], {"binh"})) == {"INC-1": "binh"}
    assert run([ticket()], [shift("an")], set()) == []


def test_being_available_without_a_shift_is_not_enough() -> None:
    assert run([ticket()], [shift("an")], {"binh"}) == []


@pytest.mark.parametrize(
    "other",
    [{"team": Team.SERVER}, {"region": Region.SOUTH}, {"level": L2}],
    ids=["team", "region", "level"],
)
def test_team_region_and_level_must_match(other: dict[str, Any]) -> None:
    assert run([ticket()], [shift("an", **other)], {"an"}) == []
    assert picks(run([ticket(**other)], [shift("an", **other)], {"an"})) == {"INC-1": "an"}


@pytest.mark.parametrize("region", list(Region))
def test_a_ticket_without_a_region_goes_to_any_region(region: Region) -> None:
    [assignment] = run([ticket(region=None)], [shift("an", region=region)], {"an"})
    assert assignment == Assignment("INC-1", "an", None, "new ticket: on duty for network/any region/L1")


def test_nobody_suitable_means_no_assignment_and_others_still_get_theirs() -> None:
    tickets = [ticket("INC-1", team=Team.CAMERA), ticket("INC-2")]
    assert run(tickets, [shift("an")], {"an"}) == [Assignment("INC-2", "an", None, f"new ticket: {ON_DUTY_FOR}")]
    assert run(tickets, [], {"an"}) == []
    assert run([], [shift("an")], {"an"}) == []


# --- absent assignees -------------------------------------------------------------------------


def test_an_assignee_absent_for_the_grace_is_re_routed() -> None:
    assert run([ticket("INC-1", "an")], [shift("an"), shift("binh")], {"binh"}, {"an": NOW - GRACE}) == [
        Assignment("INC-1", "binh", "an", f"an absent since 02:55:00Z (grace 0:05:00): {ON_DUTY_FOR}")
    ]


def test_an_assignee_absent_for_longer_than_the_grace_is_re_routed() -> None:
    [assignment] = run([ticket("INC-1", "an")], [shift("binh")], {"binh"}, {"an": NOW - 3 * H})
    assert (assignment.agent, assignment.expected) == ("binh", "an")


def test_an_absent_assignee_keeps_the_ticket_until_the_grace_is_over() -> None:
    assert run([ticket("INC-1", "an")], [shift("binh")], {"binh"}, {"an": NOW - GRACE + US}) == []


def test_a_present_assignee_is_never_re_routed() -> None:
    # Not on duty, not available, and another agent is idle: still theirs while not absent.
    tickets = [ticket("INC-1", "an"), ticket("INC-2", "an")]
    assert run(tickets, [shift("binh")], {"binh"}, {"chi": NOW - 10 * H}) == []


def test_a_ticket_is_never_re_routed_to_its_absent_assignee() -> None:
    assert run([ticket("INC-1", "an")], [shift("an")], {"an"}, {"an": NOW - H}) == []


def test_an_absent_assignees_tickets_are_spread_over_those_present() -> None:
    tickets = [ticket("INC-1", "an"), ticket("INC-2", "an"), ticket("INC-3", "an")]
    assignments = run(tickets, [shift("binh"), shift("chi")], {"binh", "chi"}, {"an": NOW - H})
    assert [a.expected for a in assignments] == ["an", "an", "an"]
    assert sorted(Counter(a.agent for a in assignments).values()) == [1, 2]


def test_a_re_routed_ticket_counts_towards_its_new_agents_load() -> None:
    tickets = [ticket("INC-1", "an"), ticket("INC-2")]
    assignments = run(tickets, [shift("binh"), shift("chi")], {"binh", "chi"}, {"an": NOW - H})
    assert [(a.code, a.agent, a.expected) for a in assignments] == [("INC-1", "binh", "an"), ("INC-2", "chi", None)]


def test_nobody_present_leaves_the_ticket_with_the_absent_assignee() -> None:
    assert run([ticket("INC-1", "an")], [shift("binh")], set(), {"an": NOW - H}) == []


# --- absences ---------------------------------------------------------------------------------


def test_absences_start_counting_when_an_assignee_is_first_seen_absent() -> None:
    assert absences({}, ["an", "binh"], ["binh"], NOW) == {"an": NOW}


def test_absences_keep_the_earliest_first_seen_time() -> None:
    first = absences({}, ["an"], [], NOW)
    assert absences(first, ["an"], [], NOW + H) == {"an": NOW}


def test_absences_forget_agents_who_came_back() -> None:
    before = {"an": NOW - H, "binh": NOW - H}
    assert absences(before, ["an", "binh"], ["an"], NOW) == {"binh": NOW - H}
    # ...and count afresh if they leave again.
    assert absences(absences(before, ["an"], ["an"], NOW), ["an"], [], NOW + H) == {"an": NOW + H}


def test_absences_forget_agents_without_open_tickets() -> None:
    assert absences({"an": NOW - H}, ["binh"], [], NOW) == {"binh": NOW}


def test_absences_take_any_iterables_and_repeated_assignees() -> None:
    assignees = (a for a in ["an", "an", "binh", "an"])
    assert absences({}, assignees, iter(["binh"]), NOW) == {"an": NOW}


def test_absences_then_plan_re_route_once_the_grace_is_over() -> None:
    tickets = [ticket("INC-1", "an")]
    shifts = [shift("binh")]
    seen: dict[str, datetime] = {}
    for now, expected in [(NOW, []), (NOW + GRACE - US, []), (NOW + GRACE, ["binh"])]:
        seen = absences(seen, ["an"], ["binh"], now)
        assert [a.agent for a in plan(tickets, shifts, {"binh"}, seen, GRACE, now)] == expected


# --- property ---------------------------------------------------------------------------------

AGENTS = ["an", "binh", "chi", "dung", "em"]
TEAMS = [Team.NETWORK, Team.SERVER]
agents = st.sampled_from(AGENTS)
hours = st.integers(-12, 12).map(lambda n: n * H / 2)

shifts_ = st.builds(
    lambda agent, team, region, level, start, length: shift(
        agent, team=team, region=region, level=level, starts_at=NOW + start, ends_at=NOW + start + length
    ),
    agents,
    st.sampled_from(TEAMS),
    st.sampled_from(list(Region)),
    st.sampled_from([L1, L2]),
    hours,
    st.integers(1, 16).map(lambda n: n * H / 2),
)
open_tickets = st.lists(
    st.builds(
        OpenTicket,
        code=st.just(""),
        assignee=st.none() | agents,
        team=st.sampled_from(TEAMS),
        region=st.none() | st.sampled_from(list(Region)),
        level=st.sampled_from([L1, L2]),
    ),
    max_size=12,
).map(lambda ts: [OpenTicket(f"INC-{n}", t.assignee, t.team, t.region, t.level) for n, t in enumerate(ts)])


@given(
    open_tickets,
    st.lists(shifts_, max_size=10),
    st.frozensets(agents),
    st.dictionaries(agents, hours.map(lambda d: NOW - abs(d))),
)
def test_every_assignment_is_to_someone_on_duty_and_available(
    tickets: list[OpenTicket], shifts: list[Shift], available: frozenset[str], absent_since: dict[str, datetime]
) -> None:
    assignments = plan(tickets, shifts, available, absent_since, GRACE, NOW)
    by_code = {t.code: t for t in tickets}
    assert len({a.code for a in assignments}) == len(assignments)
    for a in assignments:
        t = by_code[a.code]
        assert a.agent in available
        assert a.agent in on_duty(shifts, NOW, team=t.team, region=t.region, level=t.level)
        assert a.expected == t.assignee != a.agent
        assert t.assignee is None or NOW - absent_since[t.assignee] >= GRACE
    # Nothing that could be assigned is left waiting.
    for t in tickets:
        movable = t.assignee is None or (t.assignee in absent_since and NOW - absent_since[t.assignee] >= GRACE)
        someone = set(on_duty(shifts, NOW, team=t.team, region=t.region, level=t.level)) & available - {t.assignee}
        assert (t.code in {a.code for a in assignments}) == (movable and bool(someone))


def test_the_open_load_counted_apart_balances_like_the_full_list() -> None:
    """The dispatcher reads only the tickets that need someone, and the load per agent apart: it
    must balance exactly as if it had every open ticket in hand."""
    shifts = [shift("an"), shift("binh")]
    busy = [ticket(f"OLD-{i}", assignee="an") for i in range(3)]
    new = [ticket("INC-NEW")]
    full = plan([*busy, *new], shifts, ["an", "binh"], {}, GRACE, NOW)
    apart = plan(new, shifts, ["an", "binh"], {}, GRACE, NOW, open_load={"an": 3})
    assert [a.agent for a in full] == [a.agent for a in apart] == ["binh"]
    assert [a.agent for a in plan(new, shifts, ["an", "binh"], {}, GRACE, NOW, open_load={"binh": 3})] == ["an"]


@given(
    shifts=st.lists(
        st.builds(
            lambda agent, team, region, level: shift(agent, team=team, region=region, level=level),
            st.sampled_from(["an", "binh", "chi"]),
            st.sampled_from(list(Team)),
            st.sampled_from(list(Region)),
            st.sampled_from(list(SupportLevel)),
        ),
        max_size=6,
    ),
    available=st.sets(st.sampled_from(["an", "binh", "chi"])),
    team=st.sampled_from(list(Team)),
    region=st.one_of(st.none(), st.sampled_from(list(Region))),
    level=st.sampled_from(list(SupportLevel)),
)
def test_the_dispatcher_reads_a_ticket_exactly_when_someone_could_take_it(
    shifts: list[Shift], available: set[str], team: Team, region: Region | None, level: SupportLevel
) -> None:
    """The dispatcher's query reads an unassigned ticket iff it matches one of `takers` (SQL: same
    team and level, same region or none); that must be exactly when the roster has someone present."""
    from core.agents.domain.dispatch import takers

    someone = bool(set(on_duty(shifts, NOW, team=team, region=region, level=level)) & available)
    matched = any(
        t == team.value and lv == level.value and (region is None or r == region.value)
        for t, lv, r in takers(shifts, available)
    )
    assert matched == someone
