"""`ccdr report desk --period 2026-W49|2026-12|2026-Q4 [--format table|json|csv]`: the desk's KPIs
for a week, a month or a quarter (core.tickets.domain.kpi), read from the tickets; nothing changed."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from ccdr import desk_report_render
from ccdr.tickets_cli import DsnOption, TicketsCliError, dsn_for
from core.tickets.domain.kpi import DeskReport, PeriodError, compute, parse_period
from core.tickets.store.kpi import facts
from infra.cli_options import TopologyOption
from infra.topology import load_topology

DESK_TZ = "Asia/Ho_Chi_Minh"  # the service desk's day (seeds: a Vietnamese desk)
app = typer.Typer(help="Periodic reports of the service desk.", no_args_is_help=True)
out = Console()


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"


@app.command()
def desk(
    period: Annotated[str, typer.Option("--period", help="2026-W49 (ISO week), 2026-12 (month) or 2026-Q4.")],
    fmt: Annotated[
        Format, typer.Option("--format", help="table (people), json or csv (tools), html or pdf (a page with charts).")
    ] = Format.TABLE,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the report here (required for pdf; html goes to stdout without it)."),
    ] = None,
    tz: Annotated[str, typer.Option("--tz", help="The desk's time zone: where a period starts and ends.")] = DESK_TZ,
    topology: TopologyOption = None,
    dsn: DsnOption = None,
) -> None:
    """First response, time to resolve and SLA compliance by priority; resolution SLA by team and
    region; first-time fix; MTTR; MTBF per asset and customer; CSAT; the backlog by age; the top root
    causes. html and pdf draw them as charts."""
    if fmt is Format.PDF and out_file is None:
        raise TicketsCliError("--format pdf needs --out FILE (a PDF is not for a terminal)")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise TicketsCliError(f"--tz {tz!r} is not a time zone (e.g. Asia/Ho_Chi_Minh, UTC)") from None
    try:
        chosen = parse_period(period, zone)
    except PeriodError as exc:
        raise TicketsCliError(str(exc)) from None
    url = dsn_for(load_topology(topology), dsn)

    async def read() -> DeskReport:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=10) as conn:
            return compute(await facts(conn, chosen.start, chosen.end), chosen, datetime.now(UTC))

    try:
        report = asyncio.run(read())
    except psycopg.Error as exc:
        raise TicketsCliError(f"the database did not answer: {str(exc).splitlines()[0]}") from None
    if fmt in (Format.HTML, Format.PDF):
        data = desk_report_render.pdf(report) if fmt is Format.PDF else desk_report_render.html(report).encode()
        if out_file is None:
            sys.stdout.write(data.decode())
            return
        try:
            out_file.write_bytes(data)
        except OSError as exc:
            raise TicketsCliError(f"--out {out_file}: {exc.strerror}") from None
        out.print(f"wrote {out_file} ({len(data):,} bytes)")
    elif fmt is Format.JSON:
        out.print_json(json.dumps(_plain(report), default=str))
    elif fmt is Format.CSV:
        print(_csv(report), end="")
    else:
        _tables(report)


def _plain(report: DeskReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["first_time_fix"]["share"] = report.first_time_fix.share
    data["csat_response"]["share"] = report.csat_response.share
    return data


CSV_COLUMNS = ("period", "section", "key", "figure", "value")


def _csv(report: DeskReport) -> str:
    """Every figure of the report, one per row (period, section, key, figure, value): a spreadsheet
    pivots it, and successive periods' files concatenate (without their header line)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    label = report.period.label
    for section, key, figure, value in csv_rows(report):
        w.writerow([label, section, _cell(key), figure, value if isinstance(value, int) else _n(value)])
    return buf.getvalue()


def _cell(text: str) -> str:
    """Text people typed (a root cause), kept from being read as a formula by a spreadsheet (OWASP
    "CSV injection": a cell starting with = + - @ or a tab / carriage return)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(r: DeskReport) -> list[tuple[str, str, str, float | int | None]]:
    rows: list[tuple[str, str, str, float | int | None]] = [
        ("desk", "", "received", r.received),
        ("desk", "", "resolved", r.resolved),
        ("desk", "", "first_time_fix_share", r.first_time_fix.share),
        ("desk", "", "mttr_min", r.mttr_min),
        ("desk", "", "csat_mean", r.csat_mean),
        ("desk", "", "csat_response_share", r.csat_response.share),
    ]
    for p in r.by_priority:
        rows += [
            ("priority", p.priority, "received", p.received),
            ("priority", p.priority, "first_response_p50_min", p.first_response.p50_min),
            ("priority", p.priority, "first_response_mean_min", p.first_response.mean_min),
            ("priority", p.priority, "time_to_resolve_p50_min", p.time_to_resolve.p50_min),
            ("priority", p.priority, "time_to_resolve_mean_min", p.time_to_resolve.mean_min),
            ("priority", p.priority, "response_sla_share", p.response_sla.share),
            ("priority", p.priority, "resolution_sla_share", p.resolution_sla.share),
        ]
    for section, response, resolution in (
        ("team", r.response_by_team, r.by_team),
        ("region", r.response_by_region, r.by_region),
    ):
        for key, c in resolution.items():
            rows += [
                (section, key, "response_sla_share", response[key].share),
                (section, key, "resolution_sla_share", c.share),
            ]
    rows += [("backlog", age, "open_tickets", n) for age, n in r.backlog.items()]
    rows += [("mtbf_asset", k, "hours", h) for k, h in r.mtbf_h_by_asset.items()]
    rows += [("mtbf_customer", k, "hours", h) for k, h in r.mtbf_h_by_customer.items()]
    rows += [("top_cause", cause, "tickets", n) for cause, n in r.top_causes]
    return rows


def _n(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _share(c: Any) -> str:
    return "-" if c.share is None else f"{c.share * 100:.1f} % ({c.met}/{c.judged})"


def _min(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def _tables(r: DeskReport) -> None:
    start, end = r.period.start.strftime("%Y-%m-%d"), r.period.end.strftime("%Y-%m-%d")
    out.print(f"[bold]Service desk {r.period.label}[/bold] ({start} to {end}, {r.period.start.tzinfo}): "
              f"{r.received} received, {r.resolved} resolved")  # fmt: skip
    t = Table("priority", "received", "first response p50", "resolve p50", "response SLA", "resolution SLA")
    for p in r.by_priority:
        t.add_row(p.priority, str(p.received), _min(p.first_response.p50_min), _min(p.time_to_resolve.p50_min),
                  _share(p.response_sla), _share(p.resolution_sla))  # fmt: skip
    out.print(t)
    teams = Table("team", "response SLA", "resolution SLA", title="by team")
    for team, c in r.by_team.items():
        teams.add_row(team, _share(r.response_by_team[team]), _share(c))
    out.print(teams)
    regions = Table("region", "response SLA", "resolution SLA", title="by region")
    for region, c in r.by_region.items():
        regions.add_row(region, _share(r.response_by_region[region]), _share(c))
    out.print(regions)
    csat = "-" if r.csat_mean is None else f"{r.csat_mean:.2f} / 5"
    out.print(f"first-time fix {_share(r.first_time_fix)} · MTTR {_min(r.mttr_min)} · "
              f"CSAT {csat}, answered {_share(r.csat_response)}")  # fmt: skip
    out.print("backlog at the end: " + ", ".join(f"{age}: {n}" for age, n in r.backlog.items()))
    if r.mtbf_h_by_asset:
        worst = sorted(r.mtbf_h_by_asset.items(), key=lambda kv: kv[1])[:5]
        out.print("MTBF, shortest: " + ", ".join(f"{a} {h:.1f} h" for a, h in worst))
    if r.top_causes:
        out.print("top causes: " + "; ".join(f"{cause} ({n})" for cause, n in r.top_causes))


@app.command()
def scheduler(
    candidate: Annotated[str, typer.Option("--candidate", help="This scheduler's name (e.g. ops-hanoi).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where the weekly and monthly reports are written.")],
    tz: Annotated[str, typer.Option("--tz", help="The desk's time zone: where a period starts and ends.")] = DESK_TZ,
    topology: TopologyOption = None,
) -> None:
    """Run one candidate of the leader-elected report scheduler until SIGTERM: the leader writes last
    week's report each Monday and last month's each 1st (PDF and HTML), each once."""
    import logging

    from ccdr.report_scheduler import serve

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise TicketsCliError(f"--tz {tz!r} is not a time zone (e.g. Asia/Ho_Chi_Minh, UTC)") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    asyncio.run(serve(load_topology(topology), candidate, out_dir, zone))
