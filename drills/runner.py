"""One drill, end to end, in three stages: measure (instruments on, the Chaos Toolkit experiment,
recovery, what the stores hold afterwards: drills.measure), judge (findings, checks and the verdict:
drills.judge), publish (the signed report in the archive and its ledger entry: drills.publish).

The drill runs from the operator's host (the root namespace in the lab) and touches the system
only from outside: HTTP through the front door, SQL reads, Kafka reads, ZooKeeper reads and the
lab's fault actions.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from drills import signing
from drills.archive import Archive
from drills.judge import judge
from drills.measure import await_converged, measure
from drills.options import DrillError, DrillOptions, DrillResult, LoadHook, Progress
from drills.publish import publish
from drills.report import Objectives
from drills.scenarios import PRIMARY_SITE_ALIAS, ScenarioSpec, scenario
from infra.lab import secrets as lab_secrets
from infra.lab.layout import LabLayout
from infra.lab.status import collect
from infra.topology import Topology

__all__ = ["DrillError", "DrillOptions", "DrillResult", "LoadHook", "default_objectives", "run_drill"]

LOCK_FILE = ".drill.lock"


def run_drill(topo: Topology, options: DrillOptions, progress: Progress, load: LoadHook | None = None) -> DrillResult:
    spec = resolve_scenario(topo, options.scenario)
    d = topo.drills
    objectives = options.objectives or default_objectives(topo)
    with exclusive(d.archive_dir):
        await_converged(topo, progress)
        drill_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{spec.name}"
        key = signing.load_or_create_key(_signing_key(d.signing_key, Archive(d.archive_dir)))
        progress(f"drill {drill_id}: {spec.title}")
        secrets = lab_secrets.load(LabLayout(topo))
        measured = measure(topo, spec, drill_id, options, secrets, progress, load)
        judged = judge(d, spec, objectives, measured)
        return publish(topo, spec, drill_id, options, objectives, measured, judged, key)


def _signing_key(path: Path, archive: Archive) -> Path:
    """Where the key lives; a lab whose key was still kept in its archive (before the key moved out)
    has it moved once, so its earlier reports keep verifying."""
    legacy = archive.key_path
    if not path.exists() and legacy.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.move(legacy, path)
        shutil.move(signing.public_key_path(legacy), signing.public_key_path(path))
        with contextlib.suppress(OSError):
            legacy.parent.rmdir()  # the archive's keys/ folder, if nothing else is in it
    return path


def resolve_scenario(topo: Topology, name: str) -> ScenarioSpec:
    """`site-loss-primary` means the site that holds the PostgreSQL primary right now."""
    if name == PRIMARY_SITE_ALIAS:
        primary = collect(LabLayout(topo), quorum=False).patroni_primary
        if primary is None:
            raise DrillError("no PostgreSQL primary: cannot pick the primary's site (ccdr lab status)")
        name = f"site-loss-{primary}"
    return scenario(name)


def default_objectives(topo: Topology) -> Objectives:
    d = topo.drills
    return Objectives(
        rpo_max_lost=d.rpo_max_lost,
        rto_s=dict(d.rto_s),
        availability_min=d.availability_min,
        ticket_slo_s=topo.tickets.slo_s,
        ticket_slo_share=topo.tickets.slo_share,
        data_recovery_s=d.data_recovery_s,
    )


@contextmanager
def exclusive(archive_dir: Path) -> Iterator[None]:
    """Never two drills at once on this lab (a second one would measure the first one's fault)."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    with open(archive_dir / LOCK_FILE, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DrillError(f"another drill is running (lock {archive_dir / LOCK_FILE})") from None
        yield
