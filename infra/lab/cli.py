"""`ccdr lab ...`: bring the lab up and down, show its status, inject faults."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infra.cli_options import TopologyOption
from infra.lab import faults
from infra.lab.errors import LabError
from infra.lab.lab import Lab
from infra.lab.layout import LabLayout
from infra.lab.status import collect, print_status
from infra.topology import Topology, load_topology

app = typer.Typer(help="The two-site lab: real ZooKeeper, Kafka, Patroni/PostgreSQL and HAProxy.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()

SiteArg = Annotated[str, typer.Argument(help="Site name from the topology (a, b, c).")]


def _topology(path: Path | None) -> Topology:
    return load_topology(path)


def _site(topo: Topology, name: str) -> str:
    topo.site(name)  # raises TopologyError naming the known sites
    return name


@app.command()
def up(topology: TopologyOption = None) -> None:
    """Render configs, start every site and the front door, wait until healthy (idempotent)."""
    topo = _topology(topology)
    started = time.monotonic()
    Lab(topo, console).up()
    console.print(f"[bold green]lab is up[/bold green] in {time.monotonic() - started:.1f} s")
    print_status(out, collect(LabLayout(topo)))


@app.command()
def down(
    topology: TopologyOption = None,
    purge: Annotated[bool, typer.Option("--purge", help="Also delete all data (databases, logs, Kafka).")] = False,
) -> None:
    """Stop everything, remove namespaces, bridge and fault rules."""
    Lab(_topology(topology), console).down(purge=purge)


@app.command()
def status(
    topology: TopologyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Each site's components, ZooKeeper/Kafka/Patroni roles, front-door routing."""
    topo = _topology(topology)
    with console.status("probing the lab"):
        snapshot = collect(LabLayout(topo))
    if as_json:
        out.print_json(snapshot.model_dump_json())
    else:
        print_status(out, snapshot)


@app.command("kill-site")
def kill_site(site: SiteArg, topology: TopologyOption = None) -> None:
    """SIGKILL every process in the site's namespace (power cut); it stays down."""
    topo = _topology(topology)
    n = faults.kill_site(topo, _site(topo, site))
    console.print(f"site {site}: {n} processes killed; it stays down until `ccdr lab restore-site {site}`")


@app.command("burn-site")
def burn_site(
    site: SiteArg,
    topology: TopologyOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Yes, delete the site's data.")] = False,
) -> None:
    """A site that burns down: kill it and delete its ZooKeeper, Kafka and PostgreSQL data."""
    topo = _topology(topology)
    name = _site(topo, site)
    if not yes:
        raise LabError(f"burn-site deletes site {name}'s ZooKeeper, Kafka and PostgreSQL data: add --yes")
    burnt = faults.burn_site(topo, name, LabLayout(topo).site(name))
    console.print(f"site {name} burnt: deleted {', '.join(burnt) or 'nothing (already empty)'}")


@app.command("rebuild-site")
def rebuild_site(site: SiteArg, topology: TopologyOption = None) -> None:
    """Rebuild a burnt site from the survivors; wait until it is back in sync and in the front door."""
    topo = _topology(topology)
    started = time.monotonic()
    Lab(topo, console).rebuild_site(_site(topo, site))
    console.print(f"site {site} rebuilt in {time.monotonic() - started:.1f} s")


@app.command("freeze-site")
def freeze_site(site: SiteArg, topology: TopologyOption = None) -> None:
    """SIGSTOP every process of the site (a hung site)."""
    topo = _topology(topology)
    console.print(f"site {site}: {faults.freeze_site(topo, _site(topo, site))} processes frozen")


@app.command("thaw-site")
def thaw_site(site: SiteArg, topology: TopologyOption = None) -> None:
    """SIGCONT every process of the site."""
    topo = _topology(topology)
    console.print(f"site {site}: {faults.thaw_site(topo, _site(topo, site))} processes thawed")


@app.command()
def partition(site: SiteArg, other: SiteArg, topology: TopologyOption = None) -> None:
    """Drop all traffic between two sites (both still reach the rest)."""
    topo = _topology(topology)
    faults.partition(topo, _site(topo, site), _site(topo, other))
    console.print(f"partitioned {site} | {other}")


@app.command()
def isolate(site: SiteArg, topology: TopologyOption = None) -> None:
    """Cut a site off from every other site and from the front door."""
    topo = _topology(topology)
    faults.isolate(topo, _site(topo, site))
    console.print(f"isolated {site}")


@app.command()
def heal(topology: TopologyOption = None) -> None:
    """Remove every partition/isolation rule."""
    healed = faults.heal(_topology(topology))
    console.print(f"healed: {', '.join(healed) if healed else 'no fault rules were in place'}")


@app.command("restore-site")
def restore_site(site: SiteArg, topology: TopologyOption = None) -> None:
    """Start a killed site again; wait until it rejoins as follower/replica."""
    topo = _topology(topology)
    started = time.monotonic()
    Lab(topo, console).restore_site(_site(topo, site))
    console.print(f"site {site} restored in {time.monotonic() - started:.1f} s")
