"""Which columns a repair from a point-in-time copy may write, and which tickets it changes."""

from __future__ import annotations

import pytest

from core.tickets.store.repository import MUTABLE_COLUMNS, TICKET_COLUMNS
from infra.lab.backup_repair import INTAKE_COLUMNS, NotRepairable, changes, repairable

# written by the desk's lifecycle after creation (core.tickets.store.batch_store._UPDATE_TICKET,
# repository.save_ticket, the SLA clock)
LIFECYCLE_COLUMNS = {
    "status", "sla_pauses", "response_due", "response_warn_at", "resolution_due", "resolution_warn_at",
    "responded_at", "resolved_at", "closed_at", "root_cause", "version", "updated_at", "escalation",
    "emergency_at", "clock_due_at",
}  # fmt: skip


def test_no_column_the_desk_changes_after_creation_is_repairable() -> None:
    assert not set(INTAKE_COLUMNS) & (MUTABLE_COLUMNS | LIFECYCLE_COLUMNS)
    known = {c.strip() for c in TICKET_COLUMNS.split(",")}
    assert set(INTAKE_COLUMNS) <= known


@pytest.mark.parametrize("column", ["status", "assignee", "root_cause", "no_such_column"])
def test_a_column_changed_later_or_unknown_is_refused_by_name(column: str) -> None:
    with pytest.raises(NotRepairable, match=column):
        repairable(["contact", column])


def test_no_column_is_refused() -> None:
    with pytest.raises(NotRepairable, match="at least one"):
        repairable([])


def test_changes_are_the_copys_values_where_the_cluster_differs() -> None:
    copy = {
        "T1": {"contact": {"name": "An"}, "description": "printer jam"},
        "T2": {"contact": {"name": "Binh"}, "description": "no power"},
        "T3": {"contact": {"name": "Chi"}, "description": "gone since"},
    }
    cluster = {
        "T1": {"contact": {}, "description": ""},  # damaged: both put back
        "T2": {"contact": {"name": "Binh"}, "description": ""},  # only the description
        "T4": {"contact": {}, "description": ""},  # created after the copy's time: not touched
    }
    assert changes(copy, cluster, ["contact", "description"]) == {
        "T1": {"contact": {"name": "An"}, "description": "printer jam"},
        "T2": {"description": "no power"},
    }


def test_only_the_named_columns_are_compared() -> None:
    copy = {"T1": {"contact": {"name": "An"}, "description": "printer jam"}}
    cluster = {"T1": {"contact": {}, "description": "printer jam"}}
    assert changes(copy, cluster, ["description"]) == {}
