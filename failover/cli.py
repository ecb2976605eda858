"""`ccdr failover status | activate`: the operator's view of and hand on the failover layer."""

from __future__ import annotations

import getpass
import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from failover import status as registry
from failover.coordination import CoordinationUnavailable
from failover.cutoff import Posture
from failover.zookeeper import ZooKeeperCoordination
from infra.cli_options import TopologyOption
from infra.lab import secrets as lab_secrets
from infra.lab.pki import zookeeper_tls
from infra.topology import Topology, load_topology

app = typer.Typer(help="Singleton roles, cold standby and the site registry (ZooKeeper).", no_args_is_help=True)


class FailoverError(Exception):
    """An operator command that cannot be carried out; the message says why."""


def _connect(topo: Topology) -> ZooKeeperCoordination:
    fo = topo.failover
    coord = ZooKeeperCoordination(
        topo.zookeeper_connect(),
        "operator",
        session_timeout=fo.session_timeout_s,
        op_timeout=fo.op_timeout_s,
        auth=lab_secrets.zookeeper_auth(topo),
        tls=zookeeper_tls(topo),
    )
    try:
        coord.start(timeout=fo.session_timeout_s)
    except CoordinationUnavailable as exc:
        raise FailoverError(f"ZooKeeper ensemble not reachable at {topo.zookeeper_connect()}: {exc}") from None
    return coord


def collect(topo: Topology, coord: ZooKeeperCoordination) -> dict[str, Any]:
    return registry.collect(coord, topo.data_sites, {n: c.active_site for n, c in topo.failover.cold.items()})


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    topology: TopologyOption = None,
) -> None:
    """Per site: the roles it leads and their epochs, its last heartbeat, and its own view of
    ZooKeeper, Kafka and Patroni; then who owns each cold component."""
    topo = load_topology(topology) if topology else load_topology()
    coord = _connect(topo)
    try:
        view = collect(topo, coord)
    except CoordinationUnavailable as exc:
        raise FailoverError(f"ZooKeeper did not answer: {exc}") from None
    finally:
        coord.stop()
    if as_json:
        typer.echo(json.dumps(view, indent=2, default=str))
        return
    console = Console()
    table = Table(title="ccdr failover: sites")
    for col in ("site", "posture", "heartbeat", "leads (epoch)", "cold running", "zookeeper", "kafka", "patroni"):
        table.add_column(col)
    for name, s in view["sites"].items():
        if not s["registered"]:
            table.add_row(name, "-", "[red]no record[/red] (down or cut off)", "-", "-", "-", "-", "-")
            continue
        kafka = s["kafka"] or {}
        reachable = sum(1 for v in kafka.values() if v == "reachable")
        posture = str(s.get("posture") or "-") + (f": {s['posture_reason']}" if s.get("posture_reason") else "")
        table.add_row(
            name,
            f"[red]{posture}[/red]" if s.get("posture") == Posture.STEPPED_ASIDE else posture,
            f"{s['heartbeat_age_s']} s ago",
            ", ".join(f"{r} ({e})" for r, e in s["leads"].items()) or "-",
            ", ".join(s["cold_running"]) or "-",
            str((s["zookeeper"] or {}).get("session", "?")),
            f"{reachable}/{len(kafka)} brokers reachable",
            str(s["patroni"]),
        )
    console.print(table)
    for role, term in view["roles"].items():
        console.print(
            f"role {role}: " + (f"site {term['holder']}, epoch {term['epoch']}" if term else "[red]vacant[/red]")
        )
    for name, c in view["cold"].items():
        pending = f", {len(c['pending_requests'])} pending request(s)" if c["pending_requests"] else ""
        console.print(f"cold {name}: owned by site {c['owner'] or '-'} (declared {c['declared_site']}){pending}")
    console.print(f"agents present: {view['presence']}")


@app.command()
def activate(
    site: Annotated[str, typer.Option("--site", help="The data site that should run the component.")],
    component: Annotated[str, typer.Option("--component", help="A cold component from the topology.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the activation).")],
    operator: Annotated[str | None, typer.Option("--operator", help="Who (default: your login name).")] = None,
    wait: Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for the site to act.")] = 30.0,
    topology: TopologyOption = None,
) -> None:
    """Ask SITE's standby controller to take COMPONENT over; waits until it owns it."""
    topo = load_topology(topology) if topology else load_topology()
    if site not in topo.data_sites:
        raise FailoverError(f"--site {site!r}: not a data site ({', '.join(topo.data_sites)})")
    if component not in topo.failover.cold:
        known = ", ".join(sorted(topo.failover.cold)) or "none"
        raise FailoverError(f"--component {component!r}: not a cold component (known: {known})")
    if len(reason.strip()) < 3:
        raise FailoverError("--reason: say why, in a few words (it is recorded)")
    who = operator or getpass.getuser()
    coord = _connect(topo)
    try:
        owner = coord.owner(component)
        if owner is not None and owner.site == site:
            typer.echo(f"{component} is already owned by site {site}; nothing to do")
            return
        request = coord.request_activation(component, site, reason.strip(), who)
        typer.echo(f"requested {component} at site {site} ({request}); waiting up to {wait:g} s")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            owner = coord.owner(component)
            if owner is not None and owner.site == site:
                typer.echo(f"✓ site {site} owns {component} and started it (recorded with your reason)")
                return
            time.sleep(0.5)
    except CoordinationUnavailable as exc:
        raise FailoverError(f"ZooKeeper did not answer: {exc}") from None
    finally:
        coord.stop()
    raise FailoverError(
        f"site {site} did not take {component} within {wait:g} s (is its failover agent running?); "
        f"the request stays pending until it does"
    )
