"""What a restore check concludes (pure): the copy rebuilt from the repository against the cluster
as it was when the check began. A copy may lack the newest tickets (those after the archive's end:
at most `backup.wal_switch_s` on a quiet database); it must lack none older than its own newest
ticket (a hole means the archive lost a segment), and hold none the cluster never had."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Verified:
    at: datetime  # when the check began (the cluster was read then)
    restore_s: float  # restore, replay to the end of the archive, promote
    tickets_in_cluster: int
    tickets_in_copy: int
    newest_in_copy: datetime | None
    lag_s: float | None  # the cluster's newest ticket at the start minus the copy's: what a restore now loses
    missing_after: int  # tickets newer than the copy's newest: the archive's tail, expected
    holes: int  # tickets older than the copy's newest that the copy lacks: never expected
    unknown: int  # tickets in the copy that the cluster does not have: never expected

    @property
    def ok(self) -> bool:
        return self.holes == 0 and self.unknown == 0 and self.tickets_in_copy > 0

    def record(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["newest_in_copy"] = self.newest_in_copy.isoformat() if self.newest_in_copy else None
        return data | {"ok": self.ok}


def compare(
    at: datetime,
    restore_s: float,
    cluster: Mapping[str, datetime],
    copy: set[str],
    newest_in_copy: datetime | None,
) -> Verified:
    """`cluster`: each ticket code the cluster held at `at`, with its creation time."""
    missing = [created for code, created in cluster.items() if code not in copy]
    holes = sum(1 for created in missing if newest_in_copy is not None and created <= newest_in_copy)
    newest_in_cluster = max(cluster.values(), default=None)
    lag = None
    if newest_in_cluster is not None and newest_in_copy is not None:
        lag = max(0.0, (newest_in_cluster - newest_in_copy).total_seconds())
    return Verified(
        at=at,
        restore_s=restore_s,
        tickets_in_cluster=len(cluster),
        tickets_in_copy=len(copy),
        newest_in_copy=newest_in_copy,
        lag_s=lag,
        missing_after=len(missing) - holes,
        holes=holes,
        unknown=len(copy - cluster.keys()),
    )
