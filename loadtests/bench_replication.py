"""What the witness's third replica costs (not a test): acknowledged produce rate and the latency
of one acknowledgement, for two layouts measured in the same run, in alternating rounds so the
shared machine's noise falls on both alike.

    python -m loadtests.bench_replication [--seconds 10] [--rounds 2] [--json out.json]

- "2 replicas": a and b, min.insync.replicas 1 (the lab before the witness kept a replica);
- "3 replicas": a, b and the witness, min.insync.replicas 2 (the lab now).

Both throwaway topics have the intake topic's partition count, the data sites leading in turns
(infra.lab.topics.replica_assignments), and are deleted afterwards. Throughput keeps 1,000 sends
in flight (a backlog); latency sends one intake-sized message at a time (what one client waits).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console
from rich.table import Table

from core.kafka import acknowledged_producer, connection_options
from infra.lab import secrets as lab_secrets
from infra.lab.topics import replica_assignments
from infra.topology import Topology, load_topology

console = Console(stderr=True)
MESSAGE_BYTES = 1536  # as loadtests.bench: a normalised intake event
IN_FLIGHT = 1000
LATENCY_SAMPLES = 300
LINGER_MS = 2  # the intake producer's


@dataclass(frozen=True)
class Layout:
    name: str
    replicas: int
    min_insync: int


LAYOUTS = (Layout("2 replicas (a, b), min ISR 1", 2, 1), Layout("3 replicas (a, b, witness), min ISR 2", 3, 2))


@dataclass
class Round:
    layout: str
    messages_per_s: float
    ack_p50_ms: float
    ack_p99_ms: float


def _assignments(topo: Topology, replicas: int) -> dict[int, list[int]]:
    return {p: nodes[:replicas] for p, nodes in replica_assignments(topo).items()}


async def _throughput(producer: AIOKafkaProducer, topic: str, seconds: float) -> float:
    value = secrets.token_hex(MESSAGE_BYTES // 2).encode()
    pending: deque[asyncio.Future[Any]] = deque()
    acked, sent = 0, 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        pending.append(await producer.send(topic, value, key=str(sent).encode()))
        sent += 1
        if len(pending) >= IN_FLIGHT:
            await pending.popleft()
            acked += 1
    while pending:
        await pending.popleft()
        acked += 1
    return acked / (time.monotonic() - t0)


async def _latencies(producer: AIOKafkaProducer, topic: str) -> list[float]:
    value = secrets.token_hex(MESSAGE_BYTES // 2).encode()
    out = []
    for i in range(LATENCY_SAMPLES):
        t0 = time.monotonic()
        await producer.send_and_wait(topic, value, key=str(i).encode())
        out.append((time.monotonic() - t0) * 1000)
    return out


async def _run(topo: Topology, seconds: float, rounds: int) -> list[Round]:
    auth = lab_secrets.kafka_auth(topo)
    bootstrap = topo.kafka_bootstrap()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **connection_options(auth))
    await admin.start()
    tag = secrets.token_hex(3)
    topics = {layout.name: f"ccdr-bench-rf{layout.replicas}.{tag}" for layout in LAYOUTS}
    results: list[Round] = []
    try:
        await admin.create_topics(
            [
                NewTopic(
                    topics[layout.name],
                    -1,
                    -1,
                    replica_assignments=_assignments(topo, layout.replicas),
                    topic_configs={"min.insync.replicas": str(layout.min_insync)},
                )
                for layout in LAYOUTS
            ]
        )
        producer = acknowledged_producer(bootstrap, "ccdr-bench-replication", linger_ms=LINGER_MS, auth=auth)()
        await producer.start()
        try:
            for topic in topics.values():  # metadata and leaders before any clock
                await producer.send_and_wait(topic, b"warm-up", key=b"warm-up")
            for r in range(rounds):
                for layout in LAYOUTS if r % 2 == 0 else reversed(LAYOUTS):
                    topic = topics[layout.name]
                    rate = await _throughput(producer, topic, seconds)
                    lat = sorted(await _latencies(producer, topic))
                    results.append(Round(layout.name, rate, statistics.median(lat), lat[int(len(lat) * 0.99) - 1]))
                    console.print(
                        f"  round {r + 1}, {layout.name}: {rate:,.0f} msg/s, ack p50 {results[-1].ack_p50_ms:.1f} ms,"
                        f" p99 {results[-1].ack_p99_ms:.1f} ms",
                        highlight=False,
                    )
        finally:
            await producer.stop()
    finally:
        await admin.delete_topics(list(topics.values()))
        await admin.close()
    return results


def main(
    seconds: Annotated[float, typer.Option(min=2, max=600, help="Throughput phase per layout and round (s).")] = 10,
    rounds: Annotated[int, typer.Option(min=1, max=20)] = 2,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here too.")] = None,
) -> None:
    topo = load_topology(None)
    results = asyncio.run(_run(topo, seconds, rounds))
    table = Table(title=f"the third replica's cost ({rounds} rounds, alternating; medians)")
    for col in ("layout", "acknowledged msg/s", "one ack p50 (ms)", "one ack p99 (ms)"):
        table.add_column(col, justify="left" if col == "layout" else "right")
    base = None
    for layout in LAYOUTS:
        mine = [r for r in results if r.layout == layout.name]
        rate = statistics.median(r.messages_per_s for r in mine)
        base = base or rate
        table.add_row(
            layout.name,
            f"{rate:,.0f} ({rate / base:.0%})",
            f"{statistics.median(r.ack_p50_ms for r in mine):.1f}",
            f"{statistics.median(r.ack_p99_ms for r in mine):.1f}",
        )
    Console().print(table)
    if json_out:
        json_out.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    typer.run(main)
