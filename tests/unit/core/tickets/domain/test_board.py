"""The wallboard's arithmetic: cells by priority and team, totals by SLA state, regions, and teams
with open tickets and nobody on duty present."""

from __future__ import annotations

from datetime import UTC, datetime

from core.tickets.domain.board import Board, OnDuty, OpenCount

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _board(on_duty: tuple[OnDuty, ...] = ()) -> Board:
    return Board(
        at=NOW,
        open=(
            OpenCount("P1", "network", "south", "breached", 2),
            OpenCount("P1", "network", "north", "on_track", 1),
            OpenCount("P2", "server", None, "warning", 3),
        ),
        escalations=(),
        on_duty=on_duty,
        created_last_15_min=0,
    )


def test_cells_and_totals_add_up_by_priority_team_and_state() -> None:
    board = _board()
    cells = board.cells()
    assert cells[("P1", "network")] == {"breached": 2, "on_track": 1}
    assert cells[("P2", "server")] == {"warning": 3}
    assert board.totals() == {"breached": 2, "on_track": 1, "warning": 3}
    assert board.by_region() == {"south": 2, "north": 1, "-": 3}


def test_a_team_is_unstaffed_until_someone_on_duty_for_it_is_present() -> None:
    away = OnDuty("l1.an", "network", "south", "L1", (), None)
    assert _board((away,)).unstaffed_teams() == ["network", "server"]
    here = OnDuty("l1.an", "network", "south", "L1", ("a",), "available")
    assert _board((here,)).unstaffed_teams() == ["server"]
