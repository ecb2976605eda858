"""Which partition of the intake topic an intake goes to, and where else when that one stalls.
Pure: no I/O.

A send through aiokafka stalls in two ways when a site is lost, cut off or frozen: it waits for
every replica in its partition's ISR (acks=all) until Kafka fences the dead broker (a broker
session, 1.5 s in the lab; ~3 s when the active controller died with it), and a partition *led* there waits for
its request to time out at a leader that no longer answers, then for new metadata (3-6 s in
`isolate-a`, holding every request slot of the site's intake meanwhile). So the partitions are
grouped into *lanes* by the brokers that hold them and by their preferred leader, each lane with
a producer of its own: on three copies (one per site) a lane per leading site, so an intake whose
leader went silent is answered by another lane as soon as the fence lets it; with
`kafka.intake_replica_pairs` (a+b, b+c, c+a, two copies each) also a lane per pair, one of which
never had the lost site in its ISR and does not wait for the fence at all.

Intake sends through the key's home lane and, if that is not acknowledged within the hedge delay,
through every other lane too; the first acknowledgement answers the client (`bus.py`). A lane that
lost such a race or failed is *suspect* for a while and is tried after the healthy ones, so the
intakes that follow skip it without waiting; one whose partitions Kafka reports with a replica
missing from the ISR (it refuses their writes) is tried after those.

Kafka's own client avoids slow brokers the same way for keyless records (KIP-794, adaptive
partitioning), but per leader, not per replica set: it cannot see that every partition whose ISR
holds the dead broker is stalled.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence


def lanes_of(replicas_by_partition: Mapping[int, Sequence[int]]) -> list[tuple[int, ...]]:
    """The topic's partitions grouped by the brokers that hold them and their preferred leader
    (the first replica): one tuple of partitions per lane, in a stable order (by the lane's
    smallest partition)."""
    groups: dict[tuple[frozenset[int], int], list[int]] = {}
    for partition, replicas in sorted(replicas_by_partition.items()):
        groups.setdefault((frozenset(replicas), replicas[0]), []).append(partition)
    return [tuple(ps) for ps in groups.values()]


class Router:
    """Lanes (each a tuple of partitions) in the order an intake tries them."""

    def __init__(
        self, lanes: Sequence[Sequence[int]], suspect_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not lanes or any(not lane for lane in lanes):
            raise ValueError("every lane needs at least one partition")
        self.lanes = [tuple(lane) for lane in lanes]
        self._suspect_s = suspect_s
        self._clock = clock
        self._suspect_until = [0.0] * len(self.lanes)

    def plan(self, key: bytes, unsynced: Collection[int] = ()) -> list[int]:
        """Lane indexes, the key's home lane first: healthy lanes, then suspect ones, then those
        whose partitions miss a replica from their ISR (`unsynced`: Kafka refuses their writes
        until it is back). Every event about one ticket keeps one home lane, hence one partition,
        while its lane is healthy."""
        home = zlib.crc32(key) % len(self.lanes)
        rotation = [(home + i) % len(self.lanes) for i in range(len(self.lanes))]
        # sorted() is stable: the rotation's order within each group
        return sorted(rotation, key=lambda lane: (lane in unsynced, self.is_suspect(lane)))

    def partition(self, lane: int, key: bytes) -> int:
        partitions = self.lanes[lane]
        return partitions[(zlib.crc32(key) // len(self.lanes)) % len(partitions)]

    def suspect(self, lane: int) -> None:
        self._suspect_until[lane] = self._clock() + self._suspect_s

    def is_suspect(self, lane: int) -> bool:
        return self._clock() < self._suspect_until[lane]
