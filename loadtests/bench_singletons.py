"""Benchmark the singletons' reads at many open tickets (not a test): `make bench-singletons`.

    python -m loadtests.bench_singletons --open 100000 --due 100 [--json out.json]

In a scratch database on the lab's cluster (migrated like the application's), it opens `--open`
tickets of which `--due` are due for the SLA clock and can be taken by someone on duty, then times,
median over `--runs`, what one pass of each singleton reads:
- SLA clock: the full scan it did before (every open ticket with its recorded action keys) against
  `due_views` (the index on tickets.clock_due_at);
- dispatcher: every open ticket, as before, against `dispatch_work` (unassigned tickets someone on
  duty and present could take, by index) and `open_load` (open tickets per agent).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from core.tickets.domain.batch import Hold, Positioned, Snapshot, plan_batch
from core.tickets.domain.planning import Policies
from core.tickets.store import clock_store
from core.tickets.store.batch_store import write_batch
from infra.lab import secrets as lab_secrets
from infra.lab.database import scratch_database
from infra.lab.layout import LabLayout
from infra.topology import load_topology
from loadtests.bench.drain import portal_intakes

SCRATCH_DB = "ccdr_bench_singletons"
console = Console(stderr=True)

# What the SLA clock and the dispatcher read on every pass before migration 0006.
FULL_CLOCK_SCAN = """
    SELECT t.code, t.status, t.priority, t.support_level, t.received_at, t.level_since, t.escalation,
           t.response_due, t.response_warn_at, t.resolution_due, t.resolution_warn_at, t.responded_at,
           t.resolved_at,
           COALESCE((SELECT array_agg(e.action_key) FROM ticket_events e
                     WHERE e.ticket_code = t.code AND e.action_key IS NOT NULL), '{}') AS done
    FROM tickets t
    WHERE t.code > %s AND (t.status NOT IN ('resolved', 'closed') OR t.resolved_at > now() - interval '4 days')
    ORDER BY t.code LIMIT %s"""
FULL_DISPATCH_SCAN = """SELECT code, assignee, team, region, support_level FROM tickets
                        WHERE status NOT IN ('resolved', 'closed') ORDER BY created_at, code"""
CLOCK_BATCH = 1000


async def _template(dsn: str) -> str:
    """One real ticket, opened by the worker's own code: the others are its copies."""
    event = portal_intakes(1, "bench singletons")[0]
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await write_batch(
            conn, plan_batch([Positioned(event, 0, 0)], Snapshot(), Policies(), Hold(datetime.now(UTC), 0))
        )
    return event.ticket_code


def _populate(dsn: str, template: str, open_tickets: int, due: int) -> tuple[str, str, str]:
    """`open_tickets` copies of the template; all but `due` are not due for the clock and belong to a
    team nobody is on duty for. Returns the due tickets' (team, level, region)."""
    with psycopg.connect(dsn) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_name = 'tickets' AND is_generated = 'NEVER' ORDER BY ordinal_position"""
            ).fetchall()
        ]
        copied = [c for c in columns if c not in ("code", "intake_id", "team", "clock_due_at")]
        conn.execute(
            f"""INSERT INTO tickets (code, intake_id, team, {", ".join(copied)})
                SELECT 'BENCH-' || n, gen_random_uuid(), CASE WHEN n <= %s THEN t.team ELSE 'nobody-on-duty' END,
                       {", ".join("t." + c for c in copied)}
                FROM tickets t, generate_series(1, %s) n WHERE t.code = %s""",
            (due, open_tickets - 1, template),
        )
        conn.execute(
            """UPDATE tickets SET clock_due_at = now() + interval '1 hour'
               WHERE code LIKE 'BENCH-%%' AND substring(code from 7)::int > %s""",
            (due,),
        )
        conn.execute("ANALYZE tickets")
        row = conn.execute("SELECT team, support_level, region FROM tickets WHERE code = %s", (template,)).fetchone()
        assert row is not None
        return row[0], row[1], row[2] or "north"


def _median_ms(runs: int, work: Callable[[], Coroutine[Any, Any, int]]) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = asyncio.run(work())
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), rows


def measure(dsn: str, taker: tuple[str, str, str], runs: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC) + timedelta(seconds=1)

    async def full_clock() -> int:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            after, total = "", 0
            while True:
                rows = await (await conn.execute(FULL_CLOCK_SCAN, (after, CLOCK_BATCH))).fetchall()
                total += len(rows)
                if len(rows) < CLOCK_BATCH:
                    return total
                after = rows[-1][0]

    async def due_clock() -> int:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            return len(await clock_store.due_views(conn, now=now, limit=CLOCK_BATCH))

    async def full_dispatch() -> int:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            return len(await (await conn.execute(FULL_DISPATCH_SCAN)).fetchall())

    async def due_dispatch() -> int:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            work = await clock_store.dispatch_work(conn, [taker], [], CLOCK_BATCH)
            await clock_store.open_load(conn)
            return len(work)

    out = []
    for name, before, after in (("SLA clock", full_clock, due_clock), ("dispatcher", full_dispatch, due_dispatch)):
        before_ms, before_rows = _median_ms(runs, before)
        after_ms, after_rows = _median_ms(runs, after)
        out.append(
            {
                "singleton": name,
                "full_scan_ms": round(before_ms, 1),
                "full_scan_rows": before_rows,
                "by_index_ms": round(after_ms, 1),
                "by_index_rows": after_rows,
                "speedup": round(before_ms / after_ms, 1) if after_ms else None,
            }
        )
    return out


def main(
    open_tickets: Annotated[int, typer.Option("--open", min=1000, max=2_000_000, help="Open tickets.")] = 100_000,
    due: Annotated[int, typer.Option(min=1, max=100_000, help="Of which due / assignable now.")] = 100,
    runs: Annotated[int, typer.Option(min=1, max=50, help="Passes timed per query; the median is shown.")] = 5,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures here.")] = None,
) -> None:
    topo = load_topology()
    secrets = lab_secrets.load(LabLayout(topo))
    with scratch_database(topo, secrets, SCRATCH_DB) as dsn:
        console.print(f"opening {open_tickets:,} tickets ({due:,} due) in {SCRATCH_DB} …")
        template = asyncio.run(_template(dsn))
        taker = _populate(dsn, template, open_tickets, due)
        results = measure(dsn, taker, runs)
    table = Table(title=f"one pass of each singleton at {open_tickets:,} open tickets, {due:,} due (median of {runs})")
    for column in ("singleton", "before: full scan", "rows", "now: by index", "rows", "speed-up"):
        table.add_column(column, justify="left" if column == "singleton" else "right")
    for r in results:
        table.add_row(
            r["singleton"],
            f"{r['full_scan_ms']:,.1f} ms",
            f"{r['full_scan_rows']:,}",
            f"{r['by_index_ms']:,.1f} ms",
            f"{r['by_index_rows']:,}",
            f"{r['speedup']}x",
        )
    Console().print(table)
    if json_out:
        json_out.write_text(json.dumps({"open": open_tickets, "due": due, "runs": runs, "results": results}, indent=2))


if __name__ == "__main__":
    typer.run(main)
