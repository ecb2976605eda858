"""`ccdr drill list | run | history | report | verify | schedule`."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from drills import ledger, signing
from drills.archive import Archive, ArchiveError
from drills.model import Findings
from drills.report import DrillReport
from drills.scenarios import PRIMARY_SITE_ALIAS, UnknownScenario, catalogue
from drills.schedule import CalendarError, load_calendar, upcoming
from infra.cli_options import TopologyOption
from infra.topology import Topology, load_topology

VERDICT_FAIL_EXIT = 3  # the drill ran and is recorded, but missed an objective (1: it could not run)
if TYPE_CHECKING:
    from drills.runner import DrillResult

app = typer.Typer(help="Failover drills: run, read, verify and schedule them.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()

ArchiveOption = Annotated[
    Path | None,
    typer.Option("--archive", help="A drill archive (default: the topology's drills.archive_dir), e.g. a copy."),
]
CalendarOption = Annotated[
    Path | None, typer.Option("--calendar", help="Drill calendar TOML (default: drills/calendar.toml).")
]


def _archive(topo: Topology, path: Path | None = None) -> Archive:
    root = path or topo.drills.archive_dir
    if path is not None and not (root / "ledger").is_dir():
        raise DrillCliError(f"{root} is not a drill archive (no ledger/ directory)")
    return Archive(root)


def _progress(line: str) -> None:
    console.print(f"[dim]{datetime.now(UTC):%H:%M:%S}[/dim] {line}", highlight=False)


@app.command("list")
def list_scenarios() -> None:
    """The scenarios (Chaos Toolkit experiments in drills/experiments/)."""
    table = Table("scenario", "what happens", "sites taken away", title="drill scenarios")
    for spec in catalogue().values():
        table.add_row(spec.name, spec.title, ", ".join(spec.affected_sites) or "-")
    table.add_row(PRIMARY_SITE_ALIAS, "Loss of the site that holds the PostgreSQL primary now", "(resolved at run)")
    out.print(table)


def _chaos_logging() -> None:
    # Chaos Toolkit reports each activity on its "chaostoolkit" logger: show them as progress.
    handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    chaos = logging.getLogger("chaostoolkit")
    chaos.handlers[:] = [handler]
    chaos.setLevel(logging.INFO)
    chaos.propagate = False


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="A scenario from `ccdr drill list`.")],
    duration: Annotated[float, typer.Option("--duration", min=5, max=3600, help="Hold the fault this long (s).")] = 60,
    load: Annotated[float, typer.Option("--load", min=0, help="Locust load alongside, requests/s (0: none).")] = 0,
    operator: Annotated[str | None, typer.Option(help="Who runs the drill (default: the login name).")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write report.pdf.")] = False,
    relogin: Annotated[
        int,
        typer.Option(
            "--relogin",
            min=0,
            max=5000,
            help="Fire a re-login surge at the fault: this many sign-ins of the lost site's agents (0: none).",
        ),
    ] = 0,
    trigger: Annotated[str, typer.Option(hidden=True)] = "manual",
    topology: TopologyOption = None,
) -> None:
    """Run one drill under canary (and optional locust) load; print the verdict and the report's path.

    Exit status: 0 pass, 3 fail (recorded and signed all the same), 1 the drill could not run."""
    from drills.runner import DrillError, DrillOptions, run_drill  # heavy (Chaos Toolkit): only when used

    topo = load_topology(topology)
    try:
        names = set(catalogue()) | {PRIMARY_SITE_ALIAS}
        if scenario not in names:
            raise UnknownScenario(f"unknown scenario {scenario!r}; known: {', '.join(sorted(names))}")
        if trigger not in ("manual", "scheduled", "ci", "benchmark"):
            raise DrillError(f"--trigger must be manual, scheduled, ci or benchmark, not {trigger!r}")
        _chaos_logging()
        hook = None
        if load > 0:
            from loadtests.drill_load import LocustLoad

            hook = LocustLoad(topo)
        options = DrillOptions(
            scenario=scenario,
            duration_s=duration,
            load_rps=load,
            operator=operator or getpass.getuser(),
            trigger=trigger,  # type: ignore[arg-type]
            pdf=pdf,
            relogin=relogin,
        )
        result = run_drill(topo, options, _progress, hook)
    except (DrillError, UnknownScenario, ArchiveError) as exc:
        raise DrillCliError(str(exc)) from None
    print_summary(result)
    if result.report.verdict != "pass":
        raise typer.Exit(VERDICT_FAIL_EXIT)


def print_summary(result: DrillResult) -> None:
    r = result.report
    colour = "green" if r.verdict == "pass" else "red"
    table = Table(title=f"{r.scenario.title} — {r.id}", show_header=True)
    table.add_column("check")
    table.add_column("target")
    table.add_column("achieved")
    table.add_column("")
    for c in r.checks:
        table.add_row(c.name, c.target, c.achieved, "[green]pass[/green]" if c.passed else "[red]FAIL[/red]")
    out.print(table)
    facts = Table(show_header=False, box=None)
    for k, v in findings_summary(r.findings):
        facts.add_row(k, v)
    out.print(facts)
    for note in r.notes:
        out.print(f"• {note}", highlight=False)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
    out.print(f"verdict: [bold {colour}]{r.verdict.upper()}[/bold {colour}]  (ledger entry {result.entry.seq})")
    out.print(f"report: {result.html}", highlight=False)
    if result.pdf:
        out.print(f"pdf:    {result.pdf}", highlight=False)


@app.command()
def history(
    topology: TopologyOption = None,
    archive_dir: ArchiveOption = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable: the ledger entries.")] = False,
    chart: Annotated[
        bool, typer.Option("--chart", help="Per scenario, recovery times and losses across its runs, as bars.")
    ] = False,
) -> None:
    """The latest drills in the archive, newest first (or, with --chart, a trend per scenario)."""
    archive = _archive(load_topology(topology), archive_dir)
    entries, problems = archive.read_entries()
    if chart:
        from drills import history_chart

        runs = []
        for entry in sorted(entries, key=lambda e: e.seq)[-limit:]:
            try:
                report = archive.load_report(entry.report_id)
            except (OSError, ValueError):
                continue  # `ccdr drill verify` names it
            runs.append((report.scenario.name, history_chart.run_of(entry.seq, report)))
        for line in history_chart.chart(history_chart.group(runs)):
            out.print(line, highlight=False, markup=False, soft_wrap=True)
        return
    if as_json:
        latest = sorted(entries, key=lambda e: e.seq, reverse=True)[:limit]
        out.print_json(json.dumps([e.model_dump(mode="json") for e in latest]))
        return
    table = Table("seq", "report", "scenario", "verdict", "lost", "RTO intake", "status", title="drill history")
    for entry in sorted(entries, key=lambda e: e.seq, reverse=True)[:limit]:
        try:
            r = archive.load_report(entry.report_id)
        except (OSError, ValueError) as exc:
            table.add_row(str(entry.seq), entry.report_id, "?", "[red]unreadable[/red]", "", "", str(exc)[:40])
            continue
        intake = next((x for x in r.findings.rto if x.capability == "intake"), None)
        full = None if intake is None else intake.full_recovery_s
        rto = (
            "-" if intake is None or intake.seconds is None else f"{full if full is not None else intake.seconds:.1f} s"
        )
        colour = "green" if r.verdict == "pass" else "red"
        table.add_row(
            str(entry.seq),
            r.id,
            r.scenario.name,
            f"[{colour}]{r.verdict}[/{colour}]",
            str(r.findings.rpo.lost),
            rto,
            r.status,
        )
    out.print(table)
    for p in problems:
        console.print(f"[yellow]warning:[/yellow] {p}", highlight=False)


@app.command()
def report(
    report_id: Annotated[str, typer.Argument(help="A report id from `ccdr drill history`.")],
    html: Annotated[bool, typer.Option("--html", help="Write (again) and print the HTML report's path.")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="Write the PDF and print its path.")] = False,
    topology: TopologyOption = None,
    archive_dir: ArchiveOption = None,
) -> None:
    """Show one report (JSON on stdout), or render it as HTML or PDF beside it."""
    from drills.render import render_html, render_pdf  # heavy (matplotlib): only when used

    topo = load_topology(topology)
    archive = _archive(topo, archive_dir)
    r, entry = _load(archive, report_id)
    if not html and not pdf:
        out.print_json(r.model_dump_json(by_alias=True))
        return
    page = render_html(r, signature=entry.signature, key_id=entry.key_id, ledger_seq=entry.seq)
    directory = archive.report_dir(report_id)
    if html:
        (directory / "report.html").write_text(page)
        out.print(str(directory / "report.html"), highlight=False)
    if pdf:
        with console.status("rendering PDF"):
            (directory / "report.pdf").write_bytes(render_pdf(page))
        out.print(str(directory / "report.pdf"), highlight=False)


def _load(archive: Archive, report_id: str) -> tuple[DrillReport, ledger.LedgerEntry]:
    try:
        entry = next((e for e in archive.entries() if e.report_id == report_id), None)
        if entry is None:
            raise DrillCliError(f"no report {report_id!r} in the ledger (ccdr drill history)")
        return archive.load_report(report_id), entry
    except (ArchiveError, OSError, ValueError) as exc:
        raise DrillCliError(f"report {report_id}: {exc}") from None


@app.command()
def verify(
    report_id: Annotated[str | None, typer.Argument(help="One report; default: the whole ledger.")] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="The signer's public key (default: drills.trusted_public_key)."),
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Do not compare with the PostgreSQL copy.")] = False,
    topology: TopologyOption = None,
    archive_dir: ArchiveOption = None,
) -> None:
    """Check signatures, digests and the hash chain; name whatever was altered. Exit 1 if anything was."""
    from drills.ledger_store import PostgresLedger

    topo = load_topology(topology)
    archive = _archive(topo, archive_dir)
    key_path = public_key or topo.drills.trusted_public_key
    try:
        key = signing.load_public_key(key_path)
        problems = archive.verify(report_id, key)
    except (signing.SigningKeyError, ArchiveError, OSError) as exc:
        raise DrillCliError(str(exc)) from None
    entries, _ = archive.read_entries()  # unreadable entries are among `problems` already
    mirror_note = "PostgreSQL copy not compared (--offline)"
    if not offline:
        try:
            problems += ledger.compare_with_mirror(entries, PostgresLedger.for_lab(topo).entries())
            mirror_note = "PostgreSQL copy compared"
        except Exception as exc:  # noqa: BLE001 - an unreachable database is reported, not fatal to verification
            mirror_note = f"PostgreSQL copy not compared: {str(exc).splitlines()[0][:120]}"
    scope = f"report {report_id}" if report_id else f"{len(entries)} ledger entries"
    if problems:
        for p in problems:
            out.print(f"[red]ALTERED[/red] {p}", highlight=False)
        out.print(f"verification FAILED: {len(problems)} problem(s) in {scope}; {mirror_note}", highlight=False)
        raise typer.Exit(1)
    kid = signing.key_id(key)
    out.print(f"[green]verified[/green] {scope}: signatures (key {kid}), digests and chain intact; {mirror_note}")


@app.command()
def schedule(
    next_count: Annotated[int, typer.Option("--next", min=1, max=100, help="How many upcoming drills.")] = 10,
    calendar: CalendarOption = None,
) -> None:
    """The drill calendar: the next scheduled drills and whether a blackout skips them."""
    try:
        cal = load_calendar(calendar, known_scenarios=set(catalogue()) | {PRIMARY_SITE_ALIAS})
    except CalendarError as exc:
        raise DrillCliError(str(exc)) from None
    now = datetime.now(cal.tz)
    table = Table("when", "drill", "scenario", "duration", "load", "", title=f"next drills ({cal.timezone})")
    for u in upcoming(cal, now, next_count):
        skip = f"[yellow]skipped: blackout {u.blackout.name}[/yellow]" if u.blackout else ""
        table.add_row(
            f"{u.at:%Y-%m-%d %a %H:%M}",
            u.drill.name,
            u.drill.scenario,
            f"{u.drill.duration_s:g} s",
            f"{u.drill.load_rps:g}/s",
            skip,
        )
    out.print(table)


@app.command()
def scheduler(
    candidate: Annotated[str, typer.Option("--candidate", help="This scheduler's name (e.g. ops-hanoi).")],
    calendar: CalendarOption = None,
    topology: TopologyOption = None,
) -> None:
    """Run one candidate of the leader-elected drill scheduler until SIGTERM (only the leader schedules)."""
    import asyncio

    from drills.scheduler_main import serve

    try:
        load_calendar(calendar, known_scenarios=set(catalogue()) | {PRIMARY_SITE_ALIAS})
    except CalendarError as exc:
        raise DrillCliError(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    _chaos_logging()
    asyncio.run(serve(load_topology(topology), candidate, calendar))


def findings_summary(findings: Findings) -> list[tuple[str, str]]:
    """Rows for the one-screen summary."""
    a = findings.availability
    rows = [
        ("acknowledged", str(findings.rpo.acknowledged)),
        ("lost (RPO)", f"{findings.rpo.lost} (span {findings.rpo.lost_span_s:.1f} s)"),
        ("duplicates", str(findings.rpo.duplicates)),
        ("unknown outcomes", f"{findings.rpo.unknown} ({findings.rpo.unknown_present} recorded)"),
        ("availability", f"{a.ratio:.1%} (longest gap {a.longest_gap_s:.1f} s)"),
    ]
    for r in findings.rto:
        value = "not disrupted" if not r.disrupted else ("not recovered" if r.seconds is None else f"{r.seconds:.1f} s")
        if r.full_recovery_s is not None:
            value = f"{r.full_recovery_s:.1f} s full ({r.slow_or_retried} slow or retried); first success {value}"
        rows.append((f"RTO {r.capability}", value))
    return rows


class DrillCliError(Exception):
    """A drill command that cannot be carried out (one line, exit 1)."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
