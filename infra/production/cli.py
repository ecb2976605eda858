"""`ccdr render production`: every host's configuration from a production topology."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra.production.render import render_production
from infra.production.topology import load_production_topology

app = typer.Typer(help="Render deployable configuration.", no_args_is_help=True)
EXAMPLE = Path(__file__).with_name("example.toml")


@app.command()
def production(
    topology: Annotated[
        Path, typer.Option(help=f"A production topology (an example: {EXAMPLE}).", dir_okay=False)
    ] = EXAMPLE,
    out: Annotated[Path, typer.Option(help="Where to write one directory per host.", file_okay=False)] = Path(
        "production"
    ),
) -> None:
    """Write, per host, systemd units and the configs of ZooKeeper, Kafka, Patroni/PostgreSQL,
    HAProxy and the ccdr services, a certificate request, and the list of secrets it needs."""
    topo = load_production_topology(topology)
    written = render_production(topo, out)
    table = Table(title=f"{topo.name}: {len(written)} hosts under {out}/")
    for column in ("host", "site", "roles", "files"):
        table.add_column(column)
    for site, host in topo.hosts:
        table.add_row(host.name, site, ", ".join(sorted(host.roles)), str(len(written[host.name])))
    Console().print(table)
