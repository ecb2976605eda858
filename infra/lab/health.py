"""Health checks with a visible wait: each check returns (healthy, one-line detail)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from infra.lab import probes
from infra.lab.errors import NotHealthy
from infra.lab.layout import FRONT_DOOR, LabLayout
from infra.lab.render import haproxy_stats_socket
from infra.topology import Topology

Check = Callable[[], tuple[bool, str]]
POLL_INTERVAL_S = 0.5


@dataclass(frozen=True)
class Waited:
    what: str
    seconds: float


def wait_for(console: Console, what: str, check: Check, timeout_s: float, log: Path | None = None) -> Waited:
    """Poll `check` until healthy, showing progress; raise NotHealthy naming `what` and its log."""
    start = time.monotonic()
    detail = "not checked yet"
    with console.status(f"waiting for {what}") as status:
        while True:
            healthy, detail = check()
            elapsed = time.monotonic() - start
            if healthy:
                console.print(f"[green]✓[/green] {what} [dim]({elapsed:.1f} s) {detail}[/dim]")
                return Waited(what, elapsed)
            if elapsed > timeout_s:
                raise NotHealthy(what, detail, log)
            status.update(f"waiting for {what}: {detail} [dim]({elapsed:.0f}/{timeout_s:.0f} s)[/dim]")
            time.sleep(POLL_INTERVAL_S)


def zookeeper_quorum(topo: Topology, sites: list[str] | None = None) -> Check:
    def check() -> tuple[bool, str]:
        names = sites or sorted(topo.sites)
        modes = {n: probes.zookeeper_mode_of(topo, n) for n in names}
        serving = {n: m for n, m in modes.items() if m in ("leader", "follower")}
        leaders = [n for n, m in serving.items() if m == "leader"]
        detail = ", ".join(f"{n}={m or 'down'}" for n, m in modes.items())
        # The whole ensemble must have its one leader; a named subset only has to serve.
        leader_ok = len(leaders) == 1 if sites is None else len(leaders) <= 1
        return len(serving) == len(names) and leader_ok, detail

    return check


def kafka_brokers(topo: Topology, expected: list[str] | None = None, *, in_sync: bool = True) -> Check:
    """Expected brokers registered and, if in_sync, no under-replicated partition."""
    want = sorted(topo.sites[n].node_id for n in (expected or topo.kafka_broker_sites))

    def check() -> tuple[bool, str]:
        meta = probes.kafka_metadata(topo)
        if meta is None:
            return False, "no broker answers"
        if not set(want) <= set(meta.brokers):
            return False, f"brokers {meta.brokers}, want {want}"
        urp = meta.under_replicated
        if in_sync and urp:
            return False, f"{len(urp)} under-replicated partitions"
        return True, f"brokers {meta.brokers}, {len(meta.partitions)} partitions in sync"

    return check


def patroni_pair(topo: Topology, member: str | None = None) -> Check:
    """Exactly one running primary and one streaming sync standby (optionally: `member` is one of
    the two; a restored site is the standby after a loss, but still the primary if the drill that
    restores it never injected its fault)."""

    def check() -> tuple[bool, str]:
        members = probes.patroni_cluster(topo)
        if members is None:
            return False, "no Patroni REST API answers"
        leaders = [m for m in members if m.role == "leader" and m.state == "running"]
        syncs = [m for m in members if m.role == "sync_standby" and m.state == "streaming"]
        detail = ", ".join(f"{m.name}={m.role}/{m.state}" for m in members) or "no members"
        ok = len(leaders) == 1 and len(syncs) == 1
        if member is not None:
            ok = ok and any(m.name == member for m in leaders + syncs)
        return ok, detail

    return check


def postgres_tls(dsn: str) -> Check:
    """PostgreSQL answers `dsn` over TLS with a certificate the lab's CA signed for its name."""

    def check() -> tuple[bool, str]:
        why = probes.postgres_tls_refusal(dsn)
        return why is None, why or "TLS verified"

    return check


def patroni_primary(topo: Topology) -> Check:
    """Exactly one running primary (a lone survivor is fine)."""

    def check() -> tuple[bool, str]:
        members = probes.patroni_cluster(topo) or []
        leaders = [m.name for m in members if m.role == "leader" and m.state == "running"]
        return len(leaders) == 1, f"primary: {', '.join(leaders) or 'none'}"

    return check


def front_door(layout: LabLayout) -> Check:
    stats = haproxy_stats_socket(layout.dirs_of(FRONT_DOOR))

    def check() -> tuple[bool, str]:
        servers = probes.haproxy_servers(stats)
        primary = [s for s, st in servers.get("postgres_primary", {}).items() if st == "UP"]
        if len(primary) != 1:
            return False, f"postgres_primary routes to {primary or 'nothing'}"
        return True, f"postgres_primary -> {primary[0]}"

    return check


def mail_relay(topo: Topology) -> Check:
    """The relay greets: `220` on its SMTP port (a TCP connect from the root namespace)."""
    site = topo.mail.relay_site

    def check() -> tuple[bool, str]:
        try:
            with socket.create_connection((str(topo.site(site).address), topo.mail.relay_port), timeout=2) as sock:
                banner = sock.recv(512).decode("ascii", "replace").strip()
        except OSError as exc:
            return False, f"no answer at site {site}: {exc}"
        return banner.startswith("220"), banner[:60]

    return check


SERVICE_BACKENDS = ("intake_http", "intake_smtp", "tickets_http")


def services(layout: LabLayout, sites: list[str] | None = None) -> Check:
    """The front door routes intake (HTTP and SMTP) and the ticket API to every expected site."""
    stats = haproxy_stats_socket(layout.dirs_of(FRONT_DOOR))
    want = set(sites or layout.topology.data_sites)

    def check() -> tuple[bool, str]:
        servers = probes.haproxy_servers(stats)
        missing = {
            backend: sorted(want - {s for s, st in servers.get(backend, {}).items() if st == "UP"})
            for backend in SERVICE_BACKENDS
        }
        missing = {b: m for b, m in missing.items() if m}
        if missing:
            return False, "; ".join(f"{b} not up at {', '.join(m)}" for b, m in missing.items())
        return True, f"{', '.join(SERVICE_BACKENDS)} up at {', '.join(sorted(want))}"

    return check


def ticket_workers(topo: Topology, sites: list[str] | None = None) -> Check:
    """The ticket workers' consumer group has settled: every intake partition is held, and by every
    expected site's worker (until the last one has joined, a rebalance is still to come and the
    first intakes would wait for it)."""
    names = sites or topo.data_sites

    def check() -> tuple[bool, str]:
        held = {n: probes.ticket_worker_partitions(topo, n) for n in names}
        detail = ", ".join(f"{n}={'no answer' if h is None else h}" for n, h in held.items())
        settled = all(h for h in held.values()) and sum(h or 0 for h in held.values()) == topo.kafka.partitions
        return settled, f"intake partitions held: {detail} of {topo.kafka.partitions}"

    return check
