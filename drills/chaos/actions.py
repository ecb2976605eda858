"""Fault actions and rollbacks for Chaos Toolkit experiments (see the package docstring)."""

from __future__ import annotations

import json
import logging
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from chaoslib.exceptions import InterruptExecution
from rich.console import Console

from drills.canary import CHANNEL, SUBJECT_PREFIX, canary_body, key_of_subject
from drills.chaos.probes import converged
from drills.schedule import Abort, abort_due
from infra.lab import backup, faults, health, netns, probes, supervise
from infra.lab import secrets as lab_secrets
from infra.lab.database import admin_dsn, app_dsn
from infra.lab.errors import LabError
from infra.lab.lab import Lab
from infra.lab.layout import LabLayout
from infra.lab.pki import front_door_tls
from infra.lab.render import COLD_PROGRAMS
from infra.lab.system import signal_pids
from infra.supervisor_rpc import rpc_proxy
from infra.topology import Topology, load_topology

__all__ = [
    "crash_kafka_broker",
    "crash_postgres_primary",
    "crash_zookeeper_leader",
    "deploy_defective_release",
    "freeze_site",
    "heal",
    "hold_fault",
    "isolate_site",
    "kill_site",
    "lose_database",
    "partition_sites",
    "repair_defective_release",
    "restore_site",
    "rolling_restart_site",
    "start_site_programs",
    "thaw_site",
    "wait_converged",
]

log = logging.getLogger(__name__)
console = Console(stderr=True)
GUARD_INTERVAL_S = 1.0
GUARD_TIMEOUT_S = 5.0
GUARD_SUBJECT = "drill guard "  # not the canary's prefix: the checker counts only the canary
# The bad release damages tickets created this long before its deploy time at the latest: a ticket
# whose transaction began before it but committed after is not in a copy as of the deploy time.
RELEASE_MARGIN_S = 1.0


def _topology(topology: str) -> Topology:
    """The lab the experiment names (its `topology` configuration, set by `ccdr drill run
    --topology`); "" is the default topology. Never another lab than the drill measures."""
    return load_topology(Path(topology) if topology else None)


def kill_site(site: str, topology: str = "") -> int:
    """Power cut: SIGKILL every process of the site; it stays down until `restore_site`."""
    return faults.kill_site(_topology(topology), site)


def burn_site(site: str, topology: str = "") -> list[str]:
    """A burnt site: SIGKILL every process, then delete its ZooKeeper, Kafka and PostgreSQL data."""
    topo = _topology(topology)
    return faults.burn_site(topo, site, LabLayout(topo).site(site))


def rebuild_site(site: str, topology: str = "") -> float:
    """Rebuild a burnt site from the survivors (empty disks, same identity); wait until it is back in
    every quorum, in sync and in the front door. Returns seconds."""
    started = time.monotonic()
    Lab(_topology(topology), console).rebuild_site(site)
    return time.monotonic() - started


def restore_site(site: str, topology: str = "") -> float:
    """Bring a killed or frozen site back (healing any cut first); wait until it rejoins. Returns seconds."""
    started = time.monotonic()
    topo = _topology(topology)
    if netns.fault_rules(topo):
        faults.heal(topo)
    Lab(topo, console).restore_site(site)  # thaws, starts what is down, waits for every component
    return time.monotonic() - started


def freeze_site(site: str, topology: str = "") -> int:
    """SIGSTOP every process of the site: a hung site that still holds its sockets."""
    return faults.freeze_site(_topology(topology), site)


def thaw_site(site: str, topology: str = "") -> int:
    return faults.thaw_site(_topology(topology), site)


def partition_sites(site: str, other: str, topology: str = "") -> None:
    """Drop traffic between two sites; both still reach the third."""
    faults.partition(_topology(topology), site, other)


def isolate_site(site: str, topology: str = "") -> None:
    """Cut the site off from the other sites and the front door."""
    faults.isolate(_topology(topology), site)


def heal(topology: str = "") -> list[str]:
    return faults.heal(_topology(topology))


def _kill_processes(topo: Topology, site: str, *matches: str) -> int:
    """SIGKILL the site's processes whose command line contains any of `matches`; return how many."""
    pids = []
    for pid in netns.pids_in(topo.site(site).namespace):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(m in cmdline for m in matches):
            pids.append(pid)
    if not pids:
        raise LabError(f"site {site}: no process matching {' or '.join(matches)} to crash")
    signal_pids(pids, signal.SIGKILL)
    return len(pids)


def crash_postgres_primary(topology: str = "") -> str:
    """SIGKILL every PostgreSQL process of the current primary (Patroni restarts or fails over)."""
    topo = _topology(topology)
    primary = next((m.name for m in probes.patroni_cluster(topo) or [] if m.role == "leader"), None)
    if primary is None:
        raise LabError("no PostgreSQL primary to crash")
    # The postmaster and every backend (theirs read "postgres: ..."): the instance dies at once, as in a crash.
    _kill_processes(topo, primary, "postgres -D", "postgres: ")
    return primary


def crash_kafka_broker(site: str, topology: str = "") -> str:
    """SIGKILL the Kafka process of a site (its supervisord restarts it)."""
    topo = _topology(topology)
    _kill_processes(topo, site, "kafka.Kafka")
    return site


def crash_zookeeper_leader(topology: str = "") -> str:
    """SIGKILL the ZooKeeper server that leads the ensemble (its supervisord restarts it)."""
    topo = _topology(topology)
    leader = next((n for n in topo.sites if probes.zookeeper_mode_of(topo, n) == "leader"), None)
    if leader is None:
        raise LabError("no ZooKeeper leader to crash")
    _kill_processes(topo, leader, "org.apache.zookeeper.server.quorum.QuorumPeerMain")
    return leader


def rolling_restart_site(site: str, timeout_s: float = 180, topology: str = "") -> list[str]:
    """Restart the site's programs one at a time (a maintenance window), each back healthy first."""
    topo = _topology(topology)
    layout = LabLayout(topo)
    proxy = rpc_proxy(layout.site(site).supervisor_socket)
    restarted = []
    for info in proxy.supervisor.getAllProcessInfo():
        if info["statename"] != "RUNNING":
            continue  # a cold standby that is not active here stays stopped
        console.print(f"site {site}: restarting {info['name']}")
        supervise.stop_program(layout, site, info["name"], timeout_s)
        supervise.start_program(layout, site, info["name"], timeout_s)
        restarted.append(str(info["name"]))
        health.wait_for(console, f"{site} healthy after restarting {info['name']}", lambda: converged(topo), timeout_s)
    return restarted


def start_site_programs(site: str, topology: str = "") -> list[str]:
    """Rollback: start every program of the site that should always run (not the cold standbys,
    which their controller starts where they belong). Returns what had to be started."""
    topo = _topology(topology)
    proxy = rpc_proxy(LabLayout(topo).site(site).supervisor_socket)
    started = []
    for info in proxy.supervisor.getAllProcessInfo():
        if info["name"] in COLD_PROGRAMS or info["statename"] in ("RUNNING", "STARTING"):
            continue
        proxy.supervisor.startProcess(f"{info['group']}:{info['name']}", False)
        started.append(str(info["name"]))
    return started


def wait_converged(timeout_s: float = 300, topology: str = "") -> float:
    """Wait until the lab is whole again: quorum, brokers in sync, a primary with a sync standby,
    every service in the front door. Returns seconds waited."""
    topo = _topology(topology)
    waited = health.wait_for(console, "the lab converged", lambda: converged(topo), timeout_s)
    return waited.seconds


def hold_fault(duration_s: float, abort_rto_s: float, drill_id: str = "guard", topology: str = "") -> float:
    """Keep the fault in place for `duration_s`, watching intake through the front door.

    The guardrail: if intake still fails `abort_rto_s` after the fault (its RTO passed the abort
    threshold), raise InterruptExecution, so Chaos Toolkit stops the method and plays the rollbacks.
    Returns the seconds until intake was first acknowledged again (0 when it never failed)."""
    topo = _topology(topology)
    url = topo.front_door_url("intake") + f"/v1/intake/{CHANNEL}"
    started = time.monotonic()
    fault_at = datetime.now(UTC)
    abort = Abort(rto_s=float(abort_rto_s))
    first_ok_after_failure: float | None = None
    failed = False
    seq = 0
    with httpx.Client(timeout=GUARD_TIMEOUT_S, verify=front_door_tls(topo)) as client:
        while time.monotonic() - started < float(duration_s):
            key = f"{drill_id}-guard-{seq:05d}"
            seq += 1
            try:
                body = canary_body(drill_id, key, subject_prefix=GUARD_SUBJECT)
                ok = client.post(url, json=body, headers={"Idempotency-Key": key}).status_code == 202
            except httpx.TransportError:
                ok = False
            now = time.monotonic()
            if ok:
                if failed and first_ok_after_failure is None:
                    first_ok_after_failure = now - started
            else:
                failed = True
                if abort_due(fault_at, datetime.now(UTC), intake_recovered=False, abort=abort):
                    raise InterruptExecution(
                        f"guardrail: intake still failing {now - started:.0f} s after the fault "
                        f"(abort threshold {abort.rto_s:.0f} s); rolling back"
                    )
            time.sleep(max(0.0, GUARD_INTERVAL_S - (time.monotonic() - now)))
    return first_ok_after_failure or 0.0


# -- data disasters ------------------------------------------------------------------------------
DAMAGED_COLUMNS = ("contact", "description")  # what the defective release of `bad-deployment` wipes


def _release_record(topo: Topology, drill_id: str) -> Path:
    """Where the deployment action leaves its deploy time for the repair (a rollback reads no
    other activity's output)."""
    return topo.drills.archive_dir / "work" / f"{drill_id}.release.json"


def lose_database(drill_id: str, topology: str = "") -> dict[str, Any]:
    """The database is lost now, and rebuilt from the backup repository into a scratch cluster at
    the witness as the archive held it at that moment: replayed to the primary's last archived WAL
    segment's time (the production cluster is not touched and goes on archiving, so "the end of the
    archive" would be later than the loss). Reports what the copy holds of this drill's canary and
    where a replay of the intake topic would start."""
    topo = _topology(topology)
    layout = LabLayout(topo)
    admin = admin_dsn(topo, lab_secrets.load(layout).superuser)
    at = time.time()
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute("SELECT last_archived_time FROM pg_stat_archiver").fetchone()
    archived_until = row[0] if row is not None else None
    if archived_until is None:
        raise LabError("the primary has archived no WAL segment: there is nothing to restore from")
    # A replay to a time stops at the first commit after it, so the archive must hold WAL past it
    # (the segment being written at the loss ends the replay; the copy still stops at `archived_until`).
    backup.archive_now(admin, topo.backup.archive_timeout_s)
    restored = backup.restore(layout, archived_until, subjects_like=f"{SUBJECT_PREFIX}{drill_id}-%")
    keys = sorted(k for s in restored.subjects if (k := key_of_subject(s)) is not None)
    return {
        "at": at,
        "archived_until": archived_until.timestamp(),
        "restore_s": round(restored.seconds, 3),
        "tickets": restored.tickets,
        "latest_commit": restored.latest_commit.timestamp() if restored.latest_commit else None,
        "canary_keys": keys,
        "replay_from": {str(p): o for p, o in sorted(restored.replay_from.items())},
    }


def deploy_defective_release(drill_id: str, topology: str = "") -> dict[str, Any]:
    """A defective release's data migration (a "scrub" run against production by mistake) wipes the
    contact and description of tickets, through the ticket service's own role. It touches only this
    drill's canary tickets, so a drill never damages anyone else's."""
    topo = _topology(topology)
    dsn = app_dsn(topo, lab_secrets.load(LabLayout(topo)).app)
    deployed = datetime.now(UTC)
    time.sleep(RELEASE_MARGIN_S)  # the repair's copy, as of `deployed`, must precede the damage
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "UPDATE tickets SET contact = '{}'::jsonb, description = '' WHERE subject LIKE %s AND created_at < %s "
            "RETURNING code",
            (f"{SUBJECT_PREFIX}{drill_id}-%", deployed - timedelta(seconds=RELEASE_MARGIN_S)),
        ).fetchall()
    record = _release_record(topo, drill_id)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"deployed_at": deployed.isoformat()}))
    return {"at": deployed.timestamp(), "touched": sorted(str(r[0]) for r in rows)}


def repair_defective_release(drill_id: str, topology: str = "") -> dict[str, Any]:
    """Recovery from the bad release: a copy restored as of its deploy time, and the columns it
    damaged written back (`ccdr backup repair`)."""
    topo = _topology(topology)
    layout = LabLayout(topo)
    record = _release_record(topo, drill_id)
    deployed = datetime.fromisoformat(json.loads(record.read_text())["deployed_at"])
    secrets = lab_secrets.load(layout)
    admin = admin_dsn(topo, secrets.superuser)
    repaired = backup.repair(layout, app_dsn(topo, secrets.app), admin, deployed, DAMAGED_COLUMNS)
    record.unlink(missing_ok=True)
    return repaired.record()
