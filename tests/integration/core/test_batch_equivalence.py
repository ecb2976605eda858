"""Batched application leaves exactly the rows one-by-one application leaves, on real PostgreSQL.

Hypothesis draws event sequences over a few ticket codes, intake ids and Message-IDs, so that
duplicates (within and across batches), code collisions, replies to tickets opened earlier in the
same batch, email threads, resolved alerts with and without their ticket, reference data and
redelivered batches all occur, with and without a hold for replies and cleared alerts whose ticket is
not there yet; it cuts each sequence into random batches. Both paths run against
the same schema (a scratch database migrated like the lab's) and every row is compared, except the
columns the database stamps with its own clock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.intake.domain.schemas import AlertInfo, Channel, Contact, EmailInfo, IntakeEvent, IntakeKind
from core.tickets.domain.batch import Hold, Positioned, plan_batch
from core.tickets.domain.planning import Policies
from core.tickets.store.applier import apply_intake
from core.tickets.store.batch_store import load_snapshot, write_batch
from infra.lab.database import scratch_database
from infra.lab.render import Secrets
from infra.topology import Topology

pytestmark = pytest.mark.lab

SCRATCH_DB = "ccdr_batch_check"
CODES = ["INC-AAAA-AAAA-AAAA", "INC-BBBB-BBBB-BBBB", "INC-CCCC-CCCC-CCCC", "INC-DDDD-DDDD-DDDD"]
INTAKE_IDS = [uuid.UUID(int=i + 1) for i in range(10)]
MESSAGE_IDS = ["<m1@x>", "<m2@x>", "<m3@x>", "<m4@x>"]
SERIALS = [None, "SN-FW-HN-0001", "SN-UPS-SG-0004", "SN-UNKNOWN"]
CONTRACTS = [None, "HD-2025-0002", "HD-2023-0004", "HD-NONE"]
CUSTOMERS = [None, "CUST-SG-003", "CUST-NOBODY"]
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
POLICIES = Policies()
TABLES = ("email_messages", "held_intakes", "intakes", "ticket_events", "tickets")
DUMPS = {
    "tickets": "SELECT {cols} FROM tickets ORDER BY code",
    "ticket_events": "SELECT ticket_code, seq, kind, actor, at, data, intake_id FROM ticket_events ORDER BY id",
    "intakes": "SELECT {cols} FROM intakes ORDER BY kafka_partition, kafka_offset, intake_id",
    "email_messages": "SELECT message_id, ticket_code FROM email_messages ORDER BY message_id",
    "held_intakes": "SELECT {cols} FROM held_intakes ORDER BY intake_id",
}
STAMPED = {"created_at", "updated_at", "search", "clock_due_at", "applied_at", "held_at"}  # the database's own clock


@st.composite
def events(draw: st.DrawFn) -> IntakeEvent:
    kind = draw(st.sampled_from(list(IntakeKind)))
    at = T0 + timedelta(minutes=draw(st.integers(0, 600)))
    channel = Channel.EMAIL if kind is IntakeKind.REPLY else draw(st.sampled_from([Channel.PORTAL, Channel.HOTLINE]))
    fields: dict[str, Any] = {
        "channel": channel,
        "kind": kind,
        "intake_id": draw(st.sampled_from(INTAKE_IDS)),
        "ticket_code": draw(st.sampled_from(CODES)),
        "reply_to": draw(
            st.one_of(st.just(()), st.lists(st.sampled_from([*CODES, "INC-ZZZZ-ZZZZ-ZZZZ"]), max_size=2).map(tuple))
        ),
        "event_time": at,
        "received_at": at,
        "received_site": draw(st.sampled_from(["a", "b"])),
        "receiver": "system",
        "subject": draw(st.sampled_from(["Mất mạng", "server down", "camera lỗi", ""])),
        "description": draw(st.sampled_from(["", "urgent: outage at Hà Nội", "printer jam"])),
        "contact": Contact(email="khach@example.com"),
        "asset_serial": draw(st.sampled_from(SERIALS)),
        "contract_number": draw(st.sampled_from(CONTRACTS)),
        "customer_id": draw(st.sampled_from(CUSTOMERS)),
    }
    if kind is not IntakeKind.NEW or draw(st.booleans()):
        fields["email"] = EmailInfo(
            message_id=draw(st.sampled_from(MESSAGE_IDS)),
            in_reply_to=draw(st.one_of(st.none(), st.sampled_from(MESSAGE_IDS))),
            references=tuple(draw(st.lists(st.sampled_from(MESSAGE_IDS), max_size=2))),
            sender="khach@example.com",
        )
    if kind is IntakeKind.ALERT_RESOLVED:
        fields["channel"] = Channel.ALERTMANAGER
        fields["alert"] = AlertInfo(
            source="alertmanager", fingerprint="fp", status="resolved", starts_at=at - timedelta(minutes=5), ends_at=at
        )
    return IntakeEvent.model_validate(fields)


@st.composite
def deliveries(draw: st.DrawFn) -> list[list[Positioned]]:
    """Batches in delivery order; a batch may be delivered again (a rebalance's redelivery)."""
    sequence = draw(st.lists(events(), min_size=1, max_size=25))
    positioned = [Positioned(e, 0, i) for i, e in enumerate(sequence)]
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(positioned) - 1)), max_size=6)))
    batches = [positioned[a:b] for a, b in zip([0, *cuts], [*cuts, len(positioned)], strict=True) if positioned[a:b]]
    if draw(st.booleans()):
        again = draw(st.integers(0, len(batches) - 1))
        batches.insert(again + 1, batches[again])
    return batches


@pytest.fixture(scope="module")
def scratch_dsn(lab: Topology, secrets: Secrets) -> Iterator[str]:
    with scratch_database(lab, secrets, SCRATCH_DB) as dsn:
        yield dsn


async def _reset(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")


async def _dump(conn: psycopg.AsyncConnection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table, query in DUMPS.items():
        cur = await conn.execute(f"SELECT * FROM {table} LIMIT 0")
        cols = ", ".join(d.name for d in cur.description or [] if d.name not in STAMPED)
        out[table] = await (await conn.execute(query.format(cols=cols))).fetchall()
    return out


async def _one_by_one(dsn: str, batches: list[list[Positioned]], hold: Hold) -> dict[str, list[tuple[Any, ...]]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await _reset(conn)
        await conn.commit()
        for batch in batches:
            for item in batch:
                async with conn.transaction():
                    await apply_intake(conn, item.event, item.partition, item.offset, POLICIES, hold)
        return await _dump(conn)


async def _batched(dsn: str, batches: list[list[Positioned]], hold: Hold) -> dict[str, list[tuple[Any, ...]]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await _reset(conn)
        await conn.commit()
        for batch in batches:
            async with conn.transaction():
                await write_batch(conn, plan_batch(batch, await load_snapshot(conn, batch), POLICIES, hold))
        return await _dump(conn)


def _mail(kind: IntakeKind, intake: int, code: str, message_id: str, references: tuple[str, ...] = ()) -> Positioned:
    at = T0 + timedelta(minutes=intake)
    event = IntakeEvent(
        channel=Channel.EMAIL,
        kind=kind,
        intake_id=INTAKE_IDS[intake],
        ticket_code=code,
        event_time=at,
        received_at=at,
        received_site="a",
        receiver="system",
        subject="mail",
        email=EmailInfo(message_id=message_id, references=references, sender="khach@example.com"),
    )
    return Positioned(event, 0, intake)


# Two tickets claim one Message-ID; a reply threads under it in the same batch: the first keeps it.
FIRST_THREAD_WINS = [
    [
        _mail(IntakeKind.NEW, 0, CODES[0], MESSAGE_IDS[0]),
        _mail(IntakeKind.NEW, 1, CODES[1], MESSAGE_IDS[0]),
        _mail(IntakeKind.REPLY, 2, CODES[2], MESSAGE_IDS[1], references=(MESSAGE_IDS[0],)),
    ]
]


@example(batches=FIRST_THREAD_WINS, hold_s=0)
@example(batches=FIRST_THREAD_WINS, hold_s=30)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=deliveries(), hold_s=st.sampled_from([0, 30]))
def test_batched_and_one_by_one_application_leave_the_same_rows(
    scratch_dsn: str, batches: list[list[Positioned]], hold_s: int
) -> None:
    """With and without a hold: events naming a ticket not there yet are held alike on both paths."""
    hold = Hold(now=T0 + timedelta(days=1), wait_s=hold_s)
    expected = asyncio.run(_one_by_one(scratch_dsn, batches, hold))
    got = asyncio.run(_batched(scratch_dsn, batches, hold))
    for table in DUMPS:
        assert got[table] == expected[table], f"{table} differs"
