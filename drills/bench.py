"""Benchmark the drills: run each scenario N times and print median and max RTO per capability,
RPO and availability. Not a test: it reports what it measured (docs/drills.md keeps the figures).

    .venv/bin/python -m drills.bench                       # every scenario, 3 runs each
    .venv/bin/python -m drills.bench site-loss-a partition-a-b --runs 5 --duration 30 --json out.json
    .venv/bin/python -m drills.bench partition-a-b --load 40  # under 40 requests/s of locust load

RTOs are the client's view: the full recovery where the drill measures it (intake, ticket
creation), else the first sustained success.

Every run is a real drill, signed into the ledger like any other (trigger "benchmark").
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from drills.archive import Archive
from drills.model import Rto
from drills.report import DrillReport
from drills.runner import DrillOptions, run_drill
from drills.scenarios import catalogue
from infra.topology import Topology, load_topology

console = Console(stderr=True)
out = Console(width=200)  # the table is wide; logs of a long benchmark should not wrap it
CAPABILITIES = ("intake", "ticket_creation", "agent_login", "database_primary", "sla_clock")


def _client_view(rto: Rto) -> float | None:
    return rto.full_recovery_s if rto.full_recovery_s is not None else rto.seconds


def summarise(scenario: str, reports: list[DrillReport]) -> dict[str, object]:
    """Median and max per capability over the runs (None: not recovered in some run)."""
    rto: dict[str, dict[str, float | None]] = {}
    for cap in CAPABILITIES:
        values = [next((_client_view(r) for r in rep.findings.rto if r.capability == cap), None) for rep in reports]
        known = [v for v in values if v is not None]
        rto[cap] = {
            "median_s": statistics.median(known) if known and len(known) == len(values) else None,
            "max_s": max(known) if known and len(known) == len(values) else None,
        }
    return {
        "scenario": scenario,
        "runs": len(reports),
        "reports": [r.id for r in reports],
        "verdicts": [r.verdict for r in reports],
        "rto": rto,
        "lost": sum(r.findings.rpo.lost for r in reports),
        "duplicates": sum(r.findings.rpo.duplicates for r in reports),
        "acknowledged": sum(r.findings.rpo.acknowledged for r in reports),
        "availability_min": min(r.findings.availability.ratio for r in reports),
        "availability_median": statistics.median(r.findings.availability.ratio for r in reports),
        "extra": [_extra(r) for r in reports],
    }


def _extra(report: DrillReport) -> str:
    """Per run: the re-login surge and the data drill's figures, where the run had them."""
    parts = []
    surge = report.findings.relogin
    if surge is not None:
        last = f"{surge.everyone_in_s:.1f} s" if surge.everyone_in_s is not None else "never"
        parts.append(f"re-login {surge.signed_in}/{surge.sent} in, last {last}, p99 {surge.p99_s or 0:.2f} s")
    data = report.findings.data
    if data is not None and data.kind == "restore":
        parts.append(
            f"restore {data.restore_s:.1f} s, {data.in_copy} in copy + {data.replayable} replayable, {data.lost} lost"
        )
    elif data is not None:
        parts.append(f"repair {data.repair_s or 0:.1f} s, {data.repaired}/{data.touched} put back")
    return "; ".join(parts)


def _fmt(value: object) -> str:
    return "not recovered" if value is None else f"{value:.1f}"


def print_table(rows: list[dict[str, object]]) -> None:
    table = Table(title="drill benchmark: RTO median / max (s; full recovery where measured), RPO, availability")
    table.add_column("scenario")
    table.add_column("runs", justify="right")
    for cap in CAPABILITIES:
        table.add_column(cap.replace("_", " "), justify="right")
    table.add_column("lost / acked", justify="right")
    table.add_column("dup", justify="right")
    table.add_column("avail. min / median", justify="right")
    for row in rows:
        rto = row["rto"]
        assert isinstance(rto, dict)
        table.add_row(
            str(row["scenario"]),
            str(row["runs"]),
            *(f"{_fmt(rto[c]['median_s'])} / {_fmt(rto[c]['max_s'])}" for c in CAPABILITIES),
            f"{row['lost']} / {row['acknowledged']}",
            str(row["duplicates"]),
            f"{row['availability_min']:.1%} / {row['availability_median']:.1%}",
        )
    out.print(table)
    for row in rows:
        extra = row.get("extra")
        for n, text in enumerate(extra if isinstance(extra, list) else [], 1):
            if text:
                out.print(f"  {row['scenario']} run {n}: {text}", highlight=False)


def main(
    scenarios: Annotated[list[str] | None, typer.Argument(help="Scenarios (default: all).")] = None,
    runs: Annotated[int, typer.Option(min=1, max=50)] = 3,
    duration: Annotated[float, typer.Option(min=5, max=3600, help="Hold each fault this long (s).")] = 45,
    load: Annotated[float, typer.Option(min=0, help="Locust load alongside every run, requests/s (0: none).")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here too.")] = None,
    relogin: Annotated[
        int, typer.Option(min=0, help="A re-login surge of this many sign-ins at every site loss (0: none).")
    ] = 0,
    from_archive: Annotated[
        bool, typer.Option("--from-archive", help="Run nothing: summarise the last --runs benchmark reports.")
    ] = False,
) -> None:
    topo = load_topology(None)
    known = catalogue()
    names = scenarios or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise typer.BadParameter(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if from_archive:
        rows = _from_archive(topo.drills.archive_dir, names, runs)
    else:
        rows = _run_all(topo, names, runs, duration, load, relogin)
    if json_out:
        json_out.write_text(json.dumps({"rows": rows}, indent=2))
        console.print(f"figures written to {json_out}")


def _from_archive(root: Path, names: list[str], runs: int) -> list[dict[str, object]]:
    archive = Archive(root)
    by_scenario: dict[str, list[DrillReport]] = {}
    for entry in sorted(archive.entries(), key=lambda e: e.seq):
        report = archive.load_report(entry.report_id)
        if report.trigger == "benchmark":
            by_scenario.setdefault(report.scenario.name, []).append(report)
    rows = [summarise(n, by_scenario[n][-runs:]) for n in names if by_scenario.get(n)]
    print_table(rows)
    return rows


def _run_all(
    topo: Topology, names: list[str], runs: int, duration: float, load: float, relogin: int = 0
) -> list[dict[str, object]]:
    hook = None
    if load > 0:
        from loadtests.drill_load import LocustLoad  # locust only when asked for

        hook = LocustLoad(topo)
    rows: list[dict[str, object]] = []
    for name in names:
        reports = []
        for i in range(runs):
            console.print(f"[bold]{name}[/bold]: run {i + 1} of {runs}")
            options = DrillOptions(
                scenario=name,
                duration_s=duration,
                load_rps=load,
                operator="benchmark",
                trigger="benchmark",
                relogin=relogin,
            )
            try:
                result = run_drill(topo, options, lambda line: console.print(f"  {line}", highlight=False), hook)
            except Exception as exc:  # noqa: BLE001 - one broken run is reported, the benchmark goes on
                console.print(f"[red]{name} run {i + 1} could not run:[/red] {exc}", highlight=False)
                continue
            reports.append(result.report)
        if not reports:
            continue
        rows.append(summarise(name, reports))
        print_table(rows)  # after every scenario: a long benchmark shows its figures as it goes
    return rows


if __name__ == "__main__":
    typer.run(main)
