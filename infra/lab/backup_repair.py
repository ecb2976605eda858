"""What a repair from a point-in-time copy changes (pure): the tickets whose intake columns differ
between the copy (the database as it was before a bad release) and the cluster now.

Only columns written once, when an intake creates the ticket, can be repaired this way: nothing
legitimate changes them afterwards, so any difference from the copy is the defect's doing and
putting the copy's value back loses no one's work. The columns the desk changes later (status,
assignee, SLA times, root cause...) are refused: a copy from before the release would undo the
agents' work since (core.tickets.store.repository.MUTABLE_COLUMNS and the status columns).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Written by the intake's creation of the ticket and by nothing after it (timestamps are left
# out: they are compared as text, and two servers may print them in different time zones).
INTAKE_COLUMNS: tuple[str, ...] = (
    "channel",
    "priority",
    "impact",
    "urgency",
    "team",
    "region",
    "customer_id",
    "contract_number",
    "asset_serial",
    "verification",
    "subject",
    "description",
    "contact",
    "received_site",
    "receiver",
    "sla",
    "alert_fingerprint",
)
JSONB_COLUMNS = frozenset({"verification", "contact", "sla"})

Row = Mapping[str, Any]


class NotRepairable(ValueError):
    pass


def repairable(columns: Iterable[str]) -> tuple[str, ...]:
    """The columns, checked and in a stable order; refuses any the desk changes after creation."""
    wanted = list(dict.fromkeys(columns))
    if not wanted:
        raise NotRepairable(f"name at least one column to repair: {', '.join(INTAKE_COLUMNS)}")
    refused = [c for c in wanted if c not in INTAKE_COLUMNS]
    if refused:
        raise NotRepairable(
            f"cannot repair {', '.join(refused)} from a copy (the desk changes it after creation, and the copy "
            f"would undo that work); repairable: {', '.join(INTAKE_COLUMNS)}"
        )
    return tuple(wanted)


def changes(copy: Mapping[str, Row], cluster: Mapping[str, Row], columns: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per ticket code in both, the copy's values of the columns that differ in the cluster.
    Tickets the copy does not hold (created after its point in time) are not touched."""
    wanted = repairable(columns)
    found: dict[str, dict[str, Any]] = {}
    for code, before in copy.items():
        now = cluster.get(code)
        if now is None:
            continue
        differing = {c: before.get(c) for c in wanted if before.get(c) != now.get(c)}
        if differing:
            found[code] = differing
    return found
