"""The ticket workers' backlog drain alone (phases 6-7 of `ccdr bench`), not a test:

python -m loadtests.bench_drain [--events 20000]
"""

from __future__ import annotations

from typing import Annotated

import typer

from infra.lab import secrets as lab_secrets
from infra.lab.database import app_dsn
from infra.lab.layout import LabLayout
from infra.topology import load_topology
from loadtests.bench.drain import run_drain, survivor_of
from loadtests.bench.phases import primary_site


def main(
    events: Annotated[int, typer.Option(min=100, max=1_000_000, help="Intake events in the backlog.")] = 20_000,
    timeout_s: Annotated[float, typer.Option(min=10, help="Give up on a drain after this.")] = 120.0,
) -> None:
    """Phases 6-7 of `ccdr bench` alone: both sites' workers, then the survivor's alone."""
    topo = load_topology()
    layout = LabLayout(topo)
    dsn = app_dsn(topo, lab_secrets.load(layout).app)
    primary = primary_site(topo)
    survivor = survivor_of(topo, primary)
    for sites in (list(topo.data_sites), [survivor]):
        run = run_drain(topo, layout, dsn, events=events, sites=sites, timeout_s=timeout_s)
        print(
            f"{run.label}: {run.applied:,} of {run.events:,} tickets, {run.rate_per_s or 0:,.0f} tickets/s; "
            f"first after {run.first_after_start_s:.1f} s, all after {run.total_s:.1f} s"
        )


if __name__ == "__main__":
    typer.run(main)
