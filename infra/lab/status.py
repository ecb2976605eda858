"""One snapshot of the whole lab, as a typed model (for --json) and as tables (for people)."""

from __future__ import annotations

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from infra.lab import netns, probes, supervise
from infra.lab.layout import FRONT_DOOR, LabLayout
from infra.lab.render import KAFKA_CONTROLLER, haproxy_stats_socket, programs_of


class ComponentStatus(BaseModel):
    name: str
    process: str  # supervisor state, or "absent" when the site's supervisord is gone
    role: str | None = None
    detail: str | None = None


class SiteStatus(BaseModel):
    site: str
    role: str
    address: str
    frozen: bool
    components: list[ComponentStatus]


class KafkaStatus(BaseModel):
    active_controller: int | None
    voters: list[int]
    brokers: list[int]
    under_replicated: int
    partitions: int


class LabStatus(BaseModel):
    sites: list[SiteStatus]
    zookeeper_leader: str | None
    kafka: KafkaStatus | None
    patroni: list[probes.PatroniMember] | None
    patroni_primary: str | None
    patroni_sync_standby: str | None
    front_door: dict[str, dict[str, str]]
    fault_rules: list[str]


def _frozen(pids: list[int]) -> bool:
    states = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        except OSError:
            continue
    return bool(states) and all(s == "T" for s in states)


def collect(layout: LabLayout, *, quorum: bool = True) -> LabStatus:
    topo = layout.topology
    members = probes.patroni_cluster(topo)
    by_member = {m.name: m for m in members or []}
    meta = probes.kafka_metadata(topo)
    kq = probes.kafka_quorum(layout) if quorum else None
    sites: list[SiteStatus] = []
    zk_leader = None
    for name, site in sorted(topo.sites.items()):
        procs = {p.name: p for p in supervise.processes(layout, name)}
        comps = []
        for prog in programs_of(topo, name):
            state = procs[prog].state if prog in procs else "absent"
            comp = ComponentStatus(name=prog, process=state)
            if prog == "zookeeper":
                comp.role = probes.zookeeper_mode_of(topo, name)
                if comp.role == "leader":
                    zk_leader = name
            elif prog in ("kafka", KAFKA_CONTROLLER):
                roles = []
                if prog == "kafka" and name in topo.kafka_broker_sites:
                    roles.append("broker" if meta and site.node_id in meta.brokers else "broker(absent)")
                if prog == KAFKA_CONTROLLER or site.kafka_controller_id is None:
                    if kq and kq.leader_id == site.controller_id:
                        roles.append("active controller")
                    elif kq and site.controller_id in kq.voters:
                        roles.append("voter")
                comp.role = ", ".join(roles) or None
            elif prog == "patroni" and name in by_member:
                m = by_member[name]
                comp.role = m.role
                comp.detail = f"{m.state}, lag {m.lag_bytes if m.lag_bytes is not None else '-'} B, tl {m.timeline}"
            comps.append(comp)
        sites.append(
            SiteStatus(
                site=name,
                role=site.role,
                address=str(site.address),
                frozen=_frozen(netns.pids_in(site.namespace)),
                components=comps,
            )
        )
    kafka = None
    if meta is not None or kq is not None:
        kafka = KafkaStatus(
            active_controller=kq.leader_id if kq else None,
            voters=kq.voters if kq else [],
            brokers=meta.brokers if meta else [],
            under_replicated=len(meta.under_replicated) if meta else 0,
            partitions=len(meta.partitions) if meta else 0,
        )
    return LabStatus(
        sites=sites,
        zookeeper_leader=zk_leader,
        kafka=kafka,
        patroni=members,
        patroni_primary=next((m.name for m in members or [] if m.role == "leader"), None),
        patroni_sync_standby=next((m.name for m in members or [] if m.role == "sync_standby"), None),
        front_door=probes.haproxy_servers(haproxy_stats_socket(layout.dirs_of(FRONT_DOOR))),
        fault_rules=list(netns.fault_rules(topo)),
    )


def print_status(console: Console, status: LabStatus) -> None:
    for site in status.sites:
        title = f"site {site.site} ({site.role}, {site.address})" + (" [red]FROZEN[/red]" if site.frozen else "")
        table = Table(title=title, title_justify="left")
        for col in ("component", "process", "role", "detail"):
            table.add_column(col)
        for c in site.components:
            colour = "green" if c.process == "RUNNING" else "red"
            table.add_row(c.name, f"[{colour}]{c.process}[/{colour}]", c.role or "-", c.detail or "")
        console.print(table)
    k = status.kafka
    summary = Table(title="cluster", title_justify="left", show_header=False)
    summary.add_row("ZooKeeper leader", status.zookeeper_leader or "[red]none[/red]")
    if k:
        summary.add_row("Kafka active controller", str(k.active_controller) if k.active_controller else "?")
        summary.add_row("Kafka voters / brokers", f"{k.voters} / {k.brokers}")
        urp = f"[red]{k.under_replicated}[/red]" if k.under_replicated else "0"
        summary.add_row("Kafka under-replicated", f"{urp} of {k.partitions} partitions")
    else:
        summary.add_row("Kafka", "[red]unreachable[/red]")
    summary.add_row("Patroni primary", status.patroni_primary or "[red]none[/red]")
    summary.add_row("Patroni sync standby", status.patroni_sync_standby or "[yellow]none[/yellow]")
    for proxy, servers in sorted(status.front_door.items()):
        if proxy == "stats":
            continue
        summary.add_row(f"front door {proxy}", ", ".join(f"{s}={st}" for s, st in sorted(servers.items())))
    if status.fault_rules:
        summary.add_row("fault rules", "[yellow]" + ", ".join(status.fault_rules) + "[/yellow]")
    console.print(summary)
