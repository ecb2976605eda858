"""The intake topic's pairs while a site is away, and back again (`ccdr lab pairs`).

While a site is away, the two pairs it belongs to keep one in-sync copy (ISR 1, below
`min.insync.replicas` 2). Kafka refuses writes there and, under its strict min-ISR rule, does not
move their high watermark: an intake acknowledged just before the loss can sit unreadable in the
survivor's log until the site is back in sync, which for a burnt site means rebuilt.

Re-pairing gives each such partition the third site's replica. Once it has caught up, the ISR is
2 again: the partition is readable and writable, and every record is on two sites' disks again.
Putting the designed pairs back once the site has returned undoes it.

Reassigning partitions takes Kafka's Alter right on the cluster, the operators' right (it also
governs ACLs). So it is an operator's decision, like declaring a site burnt, and not a service's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import AlterPartitionReassignmentsRequest
from rich.console import Console
from rich.table import Table
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from core.kafka import connection_options
from infra.lab import probes
from infra.lab import secrets as lab_secrets
from infra.lab.errors import LabError
from infra.lab.health import Check
from infra.lab.topics import pair_assignments
from infra.topology import Topology

REQUEST_TIMEOUT_MS = 15_000
NO_ERROR = 0
LAYOUT_WAIT_S = 30


@dataclass(frozen=True)
class PartitionLayout:
    partition: int
    replicas: list[int]
    isr: list[int]
    leader: int
    designed: list[int]

    @property
    def readable(self) -> bool:
        """Kafka moves the high watermark only with min.insync.replicas (2) copies in sync."""
        return len(self.isr) >= 2


def without_site(current: dict[int, list[int]], lost: int, nodes: list[int]) -> dict[int, list[int]]:
    """The partitions with a replica at `lost`, each moved onto its survivor (kept first, so its
    leadership does not move) and the site its pair did not have. Pure."""
    moved = {}
    for partition, replicas in current.items():
        if lost not in replicas:
            continue
        kept = [r for r in replicas if r != lost]
        third = [n for n in nodes if n not in replicas]
        if len(third) != 1:
            raise LabError(f"partition {partition} on {replicas}: no single third site among {nodes}")
        moved[partition] = kept + third
    return moved


def back_to_design(current: dict[int, list[int]], designed: dict[int, list[int]]) -> dict[int, list[int]]:
    """The partitions not on their designed pair, with that pair. Pure."""
    return {p: replicas for p, replicas in designed.items() if sorted(current.get(p, [])) != sorted(replicas)}


@retry(retry=retry_if_exception_type(LabError), wait=wait_fixed(1), stop=stop_after_delay(LAYOUT_WAIT_S), reraise=True)
def layout(topo: Topology) -> list[PartitionLayout]:
    """The intake topic's partitions as the cluster describes them, beside their designed pair
    (retried: a probe can miss a broker that is busy starting)."""
    meta = probes.kafka_metadata(topo)
    if meta is None:
        raise LabError("no Kafka broker answers")
    designed = pair_assignments(topo)
    return [
        PartitionLayout(p.partition, p.replicas, p.isr, p.leader, designed[p.partition])
        for p in sorted(meta.partitions, key=lambda p: p.partition)
        if p.topic == topo.kafka.intake_topic
    ]


async def _reassign(topo: Topology, target: dict[int, list[int]]) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=topo.kafka_bootstrap(),
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        **connection_options(lab_secrets.kafka_auth(topo)),
    )
    await admin.start()
    try:
        request = AlterPartitionReassignmentsRequest(
            REQUEST_TIMEOUT_MS,
            [(topo.kafka.intake_topic, [(p, r, {}) for p, r in sorted(target.items())], {})],
            {},
        )
        # Neither aiokafka's nor confluent-kafka's admin client has this call; aiokafka has the
        # request and sends it to the controller as it does its own calls.
        response = await admin._send_to_controller(request)
    finally:
        await admin.close()
    answer = response.to_object()
    if answer["error_code"] != NO_ERROR:
        raise LabError(f"reassignment refused: {answer['error_message'] or answer['error_code']}")
    refused = [
        f"{t['name']}-{p['partition_index']}: {p['error_message'] or p['error_code']}"
        for t in answer["responses"]
        for p in t["partitions"]
        if p["error_code"] != NO_ERROR
    ]
    if refused:
        raise LabError(f"reassignment refused: {'; '.join(refused)}")


def reassign(topo: Topology, target: dict[int, list[int]]) -> None:
    """Ask the controller to move each partition of `target` onto its replicas (returns at once)."""
    if target:
        asyncio.run(_reassign(topo, target))


def in_sync_on(topo: Topology, target: dict[int, list[int]]) -> Check:
    """Every partition of `target` on exactly those replicas, all of them in sync."""

    def check() -> tuple[bool, str]:
        try:
            now = {p.partition: p for p in layout(topo)}
        except LabError as exc:
            return False, str(exc)
        waiting = [
            p for p, replicas in target.items() if sorted(now[p].replicas) != sorted(replicas) or len(now[p].isr) < 2
        ]
        if waiting:
            return False, f"partitions {waiting} still copying"
        placed = ", ".join(f"{p} on {'+'.join(map(str, target[p]))}" for p in sorted(target))
        return True, placed or "nothing to move"

    return check


def print_pairs(out: Console, topo: Topology) -> None:
    names = {s.node_id: name for name, s in topo.sites.items()}

    def sites(ids: list[int]) -> str:
        return "+".join(names.get(i, str(i)) for i in ids)

    table = Table(title=f"{topo.kafka.intake_topic}: partitions and their pairs")
    for column in ("partition", "designed pair", "replicas", "in sync", "leader", "readable"):
        table.add_column(column)
    partitions = layout(topo)
    for p in partitions:
        moved = sorted(p.replicas) != sorted(p.designed)
        table.add_row(
            str(p.partition),
            sites(p.designed),
            f"[yellow]{sites(p.replicas)}[/yellow]" if moved else sites(p.replicas),
            sites(p.isr),
            names.get(p.leader, str(p.leader)),
            "yes" if p.readable else "[red]no[/red]",
        )
    out.print(table)
    unreadable = [str(p.partition) for p in partitions if not p.readable]
    if unreadable:
        out.print(
            f"unreadable: partitions {', '.join(unreadable)} have fewer than 2 copies in sync; Kafka takes no "
            "writes there and does not let their newest acknowledged intakes be read until the site is back "
            "or `ccdr lab pairs --without SITE` re-pairs them"
        )
