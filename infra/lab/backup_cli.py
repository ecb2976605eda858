"""`ccdr backup`: the lab's backups (pgBackRest, repository at the witness): what the repository
holds, a backup now, and a restore into a scratch cluster that checks it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from infra.cli_options import TopologyOption
from infra.lab import backup, backup_repair
from infra.lab import secrets as lab_secrets
from infra.lab.database import admin_dsn, app_dsn
from infra.lab.layout import LabLayout
from infra.topology import load_topology

app = typer.Typer(help="Backups and point-in-time restore of the database (pgBackRest).", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


class Kind(StrEnum):
    FULL = "full"
    DIFF = "diff"
    INCR = "incr"


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M:%SZ") if epoch else "-"


def _size(n: float | None) -> str:
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{value:.0f} B"
        value /= 1024
    return f"{value:.1f} GiB"


def _table(state: dict[str, Any]) -> Table:
    table = Table(title=f"backups of stanza {state.get('name', '?')}: {state.get('status', {}).get('message', '?')}")
    for col in ("label", "type", "started", "took", "database", "in repository", "WAL from", "WAL to"):
        table.add_column(col, no_wrap=col in ("label", "started", "WAL from", "WAL to"))
    for b in state.get("backup", []):
        start, stop = b.get("timestamp", {}).get("start"), b.get("timestamp", {}).get("stop")
        table.add_row(
            str(b.get("label")),
            str(b.get("type")),
            _when(start),
            f"{float(stop) - float(start):.0f} s" if start and stop else "-",
            _size(b.get("info", {}).get("size")),
            _size(b.get("info", {}).get("repository", {}).get("size")),
            str(b.get("archive", {}).get("start") or "-"),
            str(b.get("archive", {}).get("stop") or "-"),
        )
    return table


@app.command()
def status(
    topology: TopologyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="pgBackRest's own JSON for the stanza.")] = False,
) -> None:
    """What the repository holds: every backup and the archived WAL's range."""
    layout = LabLayout(load_topology(topology))
    state = backup.info(layout)
    if as_json:
        typer.echo(json.dumps(state, indent=2))
        return
    out.print(_table(state))
    for archive in state.get("archive", []):
        out.print(f"WAL archive {archive.get('id')}: {archive.get('min') or '-'} … {archive.get('max') or '-'}")
    out.print(_verified_line(backup.last_verified(layout)))


def _verified_line(last: dict[str, Any] | None) -> str:
    if last is None:
        return "[yellow]never checked by a restore[/yellow] (ccdr backup verify)"
    verdict = "[green]sound[/green]" if last["ok"] else "[red]FAILED[/red]"
    lag = f"{last['lag_s']:.0f} s" if last.get("lag_s") is not None else "-"
    return (
        f"last restore check {last['at']}: {verdict}; restored in {last['restore_s']:.1f} s, "
        f"{last['tickets_in_copy']} of {last['tickets_in_cluster']} tickets, a restore then lost the last {lag} "
        f"({last['missing_after']} tickets), holes {last['holes']}, unknown {last['unknown']}"
    )


@app.command()
def verify(
    topology: TopologyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check the backups by restoring them: rebuild the database to the end of the archive in a
    scratch cluster and compare its tickets with the cluster's. Exit 1 if it is not sound (a ticket
    missing from inside the copy's range, or one the cluster never had)."""
    topo = load_topology(topology)
    layout = LabLayout(topo)
    admin = admin_dsn(topo, lab_secrets.load(layout).superuser)
    with console.status("restoring the latest backup and the archive into a scratch cluster"):
        verdict = backup.verify(layout, admin)
    if as_json:
        typer.echo(json.dumps(verdict.record(), indent=2))
    else:
        out.print(_verified_line(verdict.record()))
    if not verdict.ok:
        raise typer.Exit(1)


@app.command()
def run(
    topology: TopologyOption = None,
    kind: Annotated[Kind, typer.Option("--type", help="full, diff (since the last full) or incr.")] = Kind.INCR,
) -> None:
    """Take a backup now, from whichever site holds the primary."""
    layout = LabLayout(load_topology(topology))
    started = time.monotonic()
    with console.status(f"{kind.value} backup to the repository at the witness"):
        taken = backup.backup(layout, kind.value)
    console.print(f"[green]✓[/green] {kind.value} backup {taken['label']} in {time.monotonic() - started:.1f} s")
    out.print(_table(backup.info(layout)))


def _target(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time (e.g. 2026-12-06T19:30:00+00:00)") from None
    if when.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no UTC offset; say which time zone (e.g. +00:00 or +07:00)")
    if when > datetime.now(UTC):
        raise typer.BadParameter(f"{text!r} is in the future")
    return when


@app.command()
def restore(
    topology: TopologyOption = None,
    to: Annotated[
        str | None, typer.Option("--to", help="ISO 8601 time with offset; default: the end of the archive.")
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the scratch cluster running to look at it.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Rebuild the database from the repository into a scratch cluster at the witness, replayed to
    --to and promoted, and say what it holds (the production cluster is not touched)."""
    target = _target(to)
    layout = LabLayout(load_topology(topology))
    with console.status("restoring into a scratch cluster at the witness"):
        restored = backup.restore(layout, target, keep=keep)
    newest = restored.latest_commit.isoformat() if restored.latest_commit else None
    if as_json:
        summary = {"target": to, "seconds": round(restored.seconds, 1), "tickets": restored.tickets}
        typer.echo(json.dumps(summary | {"newest_ticket": newest, "kept": keep}, indent=2))
        return
    console.print(
        f"[green]✓[/green] restored {'to ' + target.isoformat() if target else 'to the end of the archive'} "
        f"in {restored.seconds:.1f} s: {restored.tickets} tickets, the newest created {newest or '-'}"
    )
    if keep:
        topo = layout.topology
        namespace = topo.site(topo.witness_site).namespace
        console.print(
            f"the scratch cluster runs at the witness (namespace {namespace}, as postgres): "
            f"psql -h {backup.scratch_dir(layout).parent} -p {topo.backup.restore_port} {topo.database.name}"
        )


@app.command()
def repair(
    to: Annotated[
        str, typer.Option("--to", help="ISO 8601 time with offset, before the bad release wrote (its deploy time).")
    ],
    column: Annotated[
        list[str],
        typer.Option("--column", "-c", help="An intake column the release damaged (repeat for several)."),
    ],
    topology: TopologyOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would change; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Undo a bad release's damage to tickets: restore a copy as of --to, and write its values of
    the named columns back into every ticket where the cluster now differs (one transaction; each
    repaired ticket gets a `repaired_from_backup` event). Only columns written once, at intake,
    can be repaired: a copy from before the release would undo the desk's later work on the rest."""
    try:
        columns = backup_repair.repairable(column)
    except backup_repair.NotRepairable as exc:
        raise typer.BadParameter(str(exc), param_hint="--column") from None
    target = _target(to)
    assert target is not None
    topo = load_topology(topology)
    layout = LabLayout(topo)
    secrets = lab_secrets.load(layout)
    admin = admin_dsn(topo, secrets.superuser)
    with console.status(f"restoring a copy as of {target.isoformat()} and comparing {', '.join(columns)}"):
        repaired = backup.repair(layout, app_dsn(topo, secrets.app), admin, target, columns, dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(repaired.record(), indent=2))
        return
    verb = "would repair" if dry_run else "repaired"
    console.print(
        f"[green]✓[/green] {verb} {len(repaired.changes)} of {repaired.examined} tickets that existed at "
        f"{target.isoformat()} (copy restored in {repaired.restore_s:.1f} s; {repaired.seconds:.1f} s in all)"
    )
    if repaired.changes:
        table = Table("ticket", "columns put back")
        for code, values in sorted(repaired.changes.items()):
            table.add_row(code, ", ".join(sorted(values)))
        out.print(table)
