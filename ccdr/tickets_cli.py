"""`ccdr tickets quarantine list|show|retry`: the operator's view of and hand on the intake
quarantine (core.tickets.store.quarantine) — the events the ticket worker set aside and why."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Annotated, Any

import psycopg
import typer
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from ccdr import pipeline_view
from core.intake.domain.schemas import IntakeEvent
from core.intake.domain.storable import printable
from core.kafka import acknowledged_producer
from core.tickets.store import quarantine
from core.tickets.store.quarantine import QuarantinedRow
from infra.cli_options import TopologyOption
from infra.lab import secrets as lab_secrets
from infra.lab.database import app_dsn
from infra.lab.errors import LabError
from infra.lab.layout import LabLayout
from infra.lab.secrets import load as load_secrets
from infra.topology import Topology, load_topology

SEND_TIMEOUT_S = 30
FIXED_COLUMNS_CHARS = 66  # id .. retried, with the table's borders
MIN_ERROR_CHARS = 20
app = typer.Typer(help="The ticket pipeline: its status and the intake quarantine.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Intake events the ticket worker set aside (and why).", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
console = Console()

DsnOption = Annotated[
    str | None,
    typer.Option(
        "--dsn",
        envvar="CCDR_DATABASE_DSN",
        help="PostgreSQL DSN of the application role (default: the lab's, through the front door).",
        show_default=False,
    ),
]


class TicketsCliError(Exception):
    """An operator command that cannot be carried out; the message says why."""


def dsn_for(topo: Topology, dsn: str | None) -> str:
    if dsn:
        return dsn
    try:
        return app_dsn(topo, load_secrets(LabLayout(topo)).app)
    except LabError as exc:
        raise TicketsCliError(f"no --dsn given and no lab secrets: {exc}") from None


async def _connect(dsn: str) -> psycopg.AsyncConnection[Any]:
    try:
        return await psycopg.AsyncConnection.connect(dsn)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TicketsCliError(f"PostgreSQL not reachable: {first}") from None


def _key_of(payload: bytes) -> bytes | None:
    """The intake topic's key for a payload, as intake sets it (None when it is no intake event)."""
    try:
        return IntakeEvent.model_validate_json(payload).partition_key.encode()
    except ValidationError:
        return None


@quarantine_app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include events already sent back for a retry.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many rows.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    dsn: DsnOption = None,
    topology: TopologyOption = None,
) -> None:
    """The quarantined intake events, oldest first."""
    topo = load_topology(topology)

    async def fetch() -> tuple[list[QuarantinedRow], int]:
        async with await _connect(dsn_for(topo, dsn)) as conn:
            return await quarantine.listing(conn, include_retried=all_, limit=limit), await quarantine.pending_count(
                conn
            )

    rows, pending = asyncio.run(fetch())
    if as_json:
        for r in rows:
            print(
                json.dumps(
                    {
                        "id": r.id,
                        "partition": r.kafka_partition,
                        "offset": r.kafka_offset,
                        "reason": r.reason,
                        "error": r.error,
                        "intake_id": str(r.intake_id) if r.intake_id else None,
                        "quarantined_by": r.quarantined_by,
                        "quarantined_at": r.quarantined_at.isoformat(),
                        "retried_at": r.retried_at.isoformat() if r.retried_at else None,
                    }
                )
            )
        return
    table = Table(title=f"intake quarantine: {pending} pending", title_justify="left")
    for column, width in (("id", 4), ("at", 7), ("reason", 11), ("set aside", 14), ("retried", 11)):
        table.add_column(column, no_wrap=True, min_width=width)
    table.add_column("error (more: show ID)")
    room = max(MIN_ERROR_CHARS, console.width - FIXED_COLUMNS_CHARS)
    for r in rows:
        table.add_row(
            str(r.id),
            f"{r.kafka_partition}:{r.kafka_offset}",
            r.reason,
            f"{r.quarantined_at:%m-%d %H:%M:%S}Z",
            f"{r.retried_at:%m-%d %H:%M}Z" if r.retried_at else "-",
            r.error if len(r.error) <= room else r.error[: room - 1] + "…",
        )
    console.print(table)
    if not rows:
        console.print("nothing quarantined" if not all_ else "the quarantine is empty")


@quarantine_app.command("show")
def show(
    entry: Annotated[int, typer.Argument(help="The quarantine id (from `list`).")],
    dsn: DsnOption = None,
    topology: TopologyOption = None,
) -> None:
    """One quarantined event: the whole error and its payload."""
    topo = load_topology(topology)

    async def fetch() -> QuarantinedRow | None:
        async with await _connect(dsn_for(topo, dsn)) as conn:
            return await quarantine.get(conn, entry)

    r = asyncio.run(fetch())
    if r is None:
        raise TicketsCliError(f"no quarantined event with id {entry}")
    console.print(f"[bold]#{r.id}[/bold] partition {r.kafka_partition} offset {r.kafka_offset}: {r.reason}")
    console.print(f"set aside by {r.quarantined_by} at {r.quarantined_at:%Y-%m-%d %H:%M:%S}Z", highlight=False)
    if r.retried_at:
        console.print(f"sent back by {r.retried_by} at {r.retried_at:%Y-%m-%d %H:%M:%S}Z", highlight=False)
    console.print(f"error: {r.error}", highlight=False, markup=False)
    console.print(
        f"payload ({len(r.payload)} bytes): {printable(r.payload.decode('utf-8', 'backslashreplace'))}",
        highlight=False,
        markup=False,
    )


@quarantine_app.command("retry")
def retry(
    entries: Annotated[list[int] | None, typer.Argument(help="Quarantine ids to send back (see `list`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every pending event.")] = False,
    operator: Annotated[str, typer.Option(help="Who asks (recorded with the retry).")] = os.environ.get(
        "USER", "operator"
    ),
    dsn: DsnOption = None,
    topology: TopologyOption = None,
) -> None:
    """Send quarantined events back to the intake topic once their cause is fixed. The worker checks
    them again like any event (what is still wrong is quarantined again, under a new offset); one
    that was applied meanwhile is a harmless duplicate."""
    if bool(entries) == all_:
        raise TicketsCliError("name the quarantine ids to retry, or --all (not both)")
    topo = load_topology(topology)
    sent = asyncio.run(_retry(topo, dsn_for(topo, dsn), None if all_ else list(entries or []), operator))
    console.print(f"sent back {sent} event(s) to {topo.kafka.intake_topic}", highlight=False)


async def _retry(topo: Topology, dsn: str, ids: list[int] | None, operator: str) -> int:
    producer = acknowledged_producer(
        topo.kafka_bootstrap(), f"ccdr-quarantine-retry-{operator}", linger_ms=0, auth=lab_secrets.kafka_auth(topo)
    )()
    try:
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await producer.start()
    except (KafkaError, TimeoutError) as exc:
        await producer.stop()
        raise TicketsCliError(f"Kafka not reachable at {', '.join(topo.kafka_bootstrap())}: {exc!r}") from None
    try:
        async with await _connect(dsn) as conn, conn.transaction():
            rows = await quarantine.claim(conn, ids)
            if not rows:
                raise TicketsCliError("nothing pending to retry" + (f" among ids {ids}" if ids else ""))
            missing = sorted(set(ids or []) - {r.id for r in rows})
            if missing:
                raise TicketsCliError(f"not pending (unknown or already retried): {', '.join(map(str, missing))}")
            async with asyncio.timeout(SEND_TIMEOUT_S):
                pending = [
                    await producer.send(topo.kafka.intake_topic, r.payload, key=_key_of(r.payload)) for r in rows
                ]
                await asyncio.gather(*pending)
            await quarantine.mark_retried(conn, [r.id for r in rows], operator)
            return len(rows)
    except (KafkaError, TimeoutError) as exc:
        raise TicketsCliError(f"Kafka did not acknowledge the retry ({exc!r}); nothing was marked") from None
    finally:
        await producer.stop()


def _shed_rows(shed: dict[tuple[str, str], float]) -> list[dict[str, object]]:
    return [{"channel": c, "urgency": u, "count": n} for (c, u), n in shed.items()]


def _n(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.0f}{unit}"


@app.command("pipeline")
def pipeline(
    window: Annotated[
        float, typer.Option(min=10, max=7 * 86_400, help="Seconds of tickets the SLO is judged on.")
    ] = 900,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    dsn: DsnOption = None,
    topology: TopologyOption = None,
) -> None:
    """Intake admission and shedding per site, the front door's lanes, the ticket workers' lag and
    the pipeline's SLO (receipt to ticket committed) over the last WINDOW seconds. Exit 4 when the
    SLO is breached."""
    topo = load_topology(topology)
    view = pipeline_view.collect(topo, dsn_for(topo, dsn), window_s=window)
    verdict, why = view.verdict()
    if as_json:
        print(
            json.dumps(
                {
                    "verdict": verdict,
                    "why": why,
                    "slo": None if view.slo is None else {**view.slo.__dict__, "share": view.slo.share},
                    "slo_share_objective": view.slo_share,
                    "quarantine_pending": view.quarantine_pending,
                    "held_for_ticket": view.held_for_ticket,
                    "sites": [
                        {
                            **s.__dict__,
                            "shed": [{"channel": c, "urgency": u, "count": n} for (c, u), n in s.shed.items()],
                        }
                        for s in view.sites
                    ],
                    "front_door": [lane.__dict__ for lane in view.lanes],
                },
                indent=2,
            )
        )
    else:
        sites = Table(title="intake and ticket workers, per site", title_justify="left")
        for column in ("site", "intake", "in flight", "accepted", "shed (channel/urgency)", "worker", "lag", "behind"):
            sites.add_column(column)
        for s in view.sites:
            shed = ", ".join(f"{c}/{u} {n:,.0f}" for (c, u), n in sorted(s.shed.items()) if n) or "0"
            sites.add_row(
                s.site,
                "[green]answers[/green]" if s.intake_answered else "[red]no answer[/red]",
                _n(s.in_flight),
                _n(s.accepted),
                shed,
                "[green]answers[/green]" if s.worker_answered else "[red]no answer[/red]",
                _n(s.lag_events, " events"),
                "-" if s.lag_seconds is None else f"{s.lag_seconds:.2f} s",
            )
        console.print(sites)
        lanes = Table(title="front door: intake lanes", title_justify="left")
        for column in ("lane", "answered by the sites", "refused at the door (503)", "queued now"):
            lanes.add_column(column)
        for lane in view.lanes:
            lanes.add_row(
                lane.backend, f"{lane.answered_by_sites:,}", f"{lane.refused_at_door:,}", str(lane.queued_now)
            )
        console.print(lanes)
        if view.slo is None:
            console.print("[red]SLO: the database did not answer[/red]")
        else:
            w = view.slo
            p = ", ".join(
                f"{name} {value:.2f} s"
                for name, value in (("p50", w.p50_s), ("p99", w.p99_s), ("max", w.max_s))
                if value is not None
            )
            console.print(
                f"SLO receipt → ticket ≤ {w.slo_s:g} s for {view.slo_share * 100:g} %: "
                f"{w.within:,} of {w.tickets:,} tickets of the last {w.window_s:g} s ({w.share * 100:.1f} %)"
                + (f"; {p}" if p else "")
            )
        console.print(f"quarantine: {_n(view.quarantine_pending)} pending")
        console.print(f"held for their ticket: {_n(view.held_for_ticket)} (replies and cleared alerts ahead of it)")
        colour = {"met": "green", "breached": "red", "unknown": "yellow"}[verdict]
        console.print(f"[{colour}]SLO {verdict}[/{colour}]" + (": " + "; ".join(why) if why else ""))
    if verdict == "breached":
        raise typer.Exit(4)
