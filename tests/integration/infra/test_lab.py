"""The lab against its acceptance: real quorums, real replication, real faults.

Tests run in file order and each leaves the lab converged (all sites up, no fault rules).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

import psycopg
import pytest

from infra.lab import netns, probes
from infra.lab.database import app_dsn, site_dsn
from infra.lab.layout import FRONT_DOOR, LabLayout
from infra.lab.render import COLD_PROGRAMS, Secrets, haproxy_stats_socket
from infra.topology import Topology
from tests.integration.conftest import ccdr, wait_until

pytestmark = pytest.mark.lab
FAILOVER_TIMEOUT_S = 60  # the leader lock (10 s granted) + loop + HAProxy checks, with margin for a loaded CI box
REBALANCE_SLACK_S = 30  # the imbalance check runs on the controller's schedule, then moves leaders one by one


def _primary(topo: Topology) -> str | None:
    members = probes.patroni_cluster(topo) or []
    leaders = [m.name for m in members if m.role == "leader" and m.state == "running"]
    return leaders[0] if len(leaders) == 1 else None


def _write_probe(topo: Topology, secrets: Secrets) -> str:
    token = uuid.uuid4().hex
    dsn = app_dsn(topo, secrets.app)
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO replication_probe (token) VALUES (%s)", (token,))
    return token


def _read_probe(topo: Topology, secrets: Secrets, site: str, token: str) -> bool:
    dsn = site_dsn(topo, site, topo.database.app_user, secrets.app, topo.database.name)
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT 1 FROM replication_probe WHERE token = %s", (token,)).fetchone() is not None


def _intake_led_without(topo: Topology, victim: int) -> bool:
    """Every intake partition has a leader, and it is not at the victim's site."""
    meta = probes.kafka_metadata(topo)
    if meta is None:
        return False
    leaders = meta.leaders_of(topo.kafka.intake_topic)
    return len(leaders) == topo.kafka.partitions and all(leader not in (victim, -1) for leader in leaders.values())


def test_quorums_and_roles(lab: Topology) -> None:
    modes = [str(probes.zookeeper_mode_of(lab, n)) for n in lab.sites]  # no answer shows as "None"
    assert sorted(modes) == ["follower", "follower", "leader"]

    meta = probes.kafka_metadata(lab)
    assert meta is not None
    assert meta.brokers == [1, 2, 3], "a broker at each data site and the witness's replica"
    intake = [p for p in meta.partitions if p.topic == lab.kafka.intake_topic]
    assert len(intake) == lab.kafka.partitions
    if lab.kafka.intake_replica_pairs:  # each partition on one pair of sites; every pair used
        assert {tuple(sorted(p.replicas)) for p in intake} == {(1, 2), (2, 3), (1, 3)}, "intake on the three pairs"
    else:
        assert all(sorted(p.replicas) == [1, 2, 3] for p in intake), "intake replicas span every site"
    # Leaders on the data sites, in turns. After a site returns, the lab's restore hands them back at
    # once; after a healed cut, Kafka's imbalance check does within its interval.
    leaders = wait_until(
        "every partition led by its preferred replica",
        lambda: _preferred_leaders(lab),
        timeout=lab.timers.kafka.leader_imbalance_check_interval_s + REBALANCE_SLACK_S,
    )
    assert set(leaders) == {lab.sites["a"].node_id, lab.sites["b"].node_id}, "the witness leads no intake partition"

    quorum = probes.kafka_quorum(LabLayout(lab))
    assert quorum is not None
    controllers = sorted(s.controller_id for s in lab.sites.values())
    assert quorum.voters == controllers, "the witness's controller, and each data site's own"
    assert quorum.leader_id in controllers

    members = probes.patroni_cluster(lab) or []
    assert sorted(m.role for m in members) == ["leader", "sync_standby"]


def test_the_active_kafka_controller_settles_at_the_witness(lab: Topology) -> None:
    """Wherever `lab up` elected it, the data sites' failover agents hand the lead on
    (failover.controller_steward) until the witness's controller holds it."""
    witness = lab.sites[lab.witness_site].controller_id
    layout = LabLayout(lab)

    def led_by_witness() -> bool:
        quorum = probes.kafka_quorum(layout)
        return quorum is not None and quorum.leader_id == witness

    # A hold, a look, a restart and an election per hand-over; two when the other data site wins first.
    fo = lab.failover
    wait_until("the witness's controller leads", led_by_witness, timeout=2 * (fo.controller_steward_hold_s + 30))


def test_row_written_through_primary_is_read_on_standby(lab: Topology, secrets: Secrets) -> None:
    token = _write_probe(lab, secrets)
    primary = _primary(lab)
    standby = next(s for s in lab.data_sites if s != primary)
    # Synchronous replication: the commit returned only once the standby had the WAL, and with
    # remote_apply not required it is visible there within moments.
    wait_until("probe row on the standby", lambda: _read_probe(lab, secrets, standby, token), timeout=10)
    # The row would reach an asynchronous standby too: the primary itself must say the standby is
    # synchronous and that commits wait for it.
    assert primary is not None
    with psycopg.connect(site_dsn(lab, primary, "postgres", secrets.superuser, "postgres")) as conn:
        commit = conn.execute("SELECT current_setting('synchronous_commit')").fetchone()
        replicas = conn.execute("SELECT application_name, sync_state FROM pg_stat_replication").fetchall()
    assert commit is not None and commit[0] in ("on", "remote_write", "remote_apply"), commit
    assert (standby, "sync") in replicas, replicas


def test_status_json_reports_every_site(lab: Topology) -> None:
    status = json.loads(ccdr("lab", "status", "--json").stdout)
    assert [s["site"] for s in status["sites"]] == ["a", "b", "c"]
    assert status["patroni_primary"] in ("a", "b")
    assert status["kafka"]["voters"] == [3, 101, 102]  # the witness, and the data sites' dedicated controllers
    assert status["kafka"]["under_replicated"] == 0
    for site in status["sites"]:
        always_on = [c for c in site["components"] if c["name"] not in COLD_PROGRAMS]
        assert all(c["process"] == "RUNNING" for c in always_on), site
    for name in COLD_PROGRAMS:  # a cold component runs at exactly one data site (started by the failover agent)

        def running_at(name: str = name) -> list[str] | None:
            view = json.loads(ccdr("lab", "status", "--json").stdout)
            sites = [
                s["site"]
                for s in view["sites"]
                for c in s["components"]
                if (c["name"], c["process"]) == (name, "RUNNING")
            ]
            return sites or None

        assert len(wait_until(f"{name} running", running_at, 30)) == 1


@pytest.mark.parametrize("victim", ["a", "b", "c"])
def test_kill_site_then_restore(lab: Topology, secrets: Secrets, victim: str) -> None:
    primary_before = _primary(lab)
    assert primary_before is not None
    survivors = [s for s in lab.data_sites if s != victim]

    ccdr("lab", "kill-site", victim)
    assert netns.pids_in(lab.sites[victim].namespace) == []

    # ZooKeeper keeps quorum on the two remaining sites.
    wait_until(
        "ZooKeeper quorum without the victim",
        lambda: (
            sorted(m or "down" for n in lab.sites if n != victim for m in [probes.zookeeper_mode_of(lab, n)])
            == ["follower", "leader"]
        ),
        timeout=30,
    )
    if lab.sites[victim].role == "data":
        victim_id = lab.sites[victim].node_id
        wait_until("intake partitions led by the survivors", lambda: _intake_led_without(lab, victim_id), timeout=30)
    expected_primary = survivors[0] if victim == primary_before else primary_before
    wait_until(
        f"Patroni primary at {expected_primary}", lambda: _primary(lab) == expected_primary, timeout=FAILOVER_TIMEOUT_S
    )
    # Writes land through the front door and are on the new primary.
    token = wait_until("a write through the front door", lambda: _try_write(lab, secrets), timeout=FAILOVER_TIMEOUT_S)
    assert _read_probe(lab, secrets, expected_primary, token)

    ccdr("lab", "restore-site", victim)
    members = {m.name: m for m in probes.patroni_cluster(lab) or []}
    assert members[expected_primary].role == "leader"
    assert sorted(m.role for m in members.values()) == ["leader", "sync_standby"]
    # Restored means leading again what it is the preferred replica of, not five minutes later.
    meta = probes.kafka_metadata(lab)
    assert meta is not None
    assert meta.led_elsewhere == []
    if lab.sites[victim].role == "data":
        assert members[victim].role == "sync_standby" and members[victim].state == "streaming"
        wait_until("the write replicated to the restored site", lambda: _read_probe(lab, secrets, victim, token), 10)


def _preferred_leaders(lab: Topology) -> list[int] | None:
    """The intake partitions' leaders, once every partition of the cluster is led by its preferred
    replica (None before)."""
    meta = probes.kafka_metadata(lab)
    if meta is None or meta.led_elsewhere:
        return None
    return list(meta.leaders_of(lab.kafka.intake_topic).values())


def _try_write(topo: Topology, secrets: Secrets) -> str | None:
    try:
        return _write_probe(topo, secrets)
    except psycopg.Error:
        return None


def _posture(site: str) -> str:
    status = json.loads(ccdr("failover", "status", "--json").stdout)
    return str(status["sites"][site].get("posture") or "")


def _in_front_door(lab: Topology, site: str) -> bool:
    servers = probes.haproxy_servers(haproxy_stats_socket(LabLayout(lab).dirs_of(FRONT_DOOR)))
    return all(servers.get(backend, {}).get(site) == "UP" for backend in ("intake_http", "tickets_http"))


def test_partition_a_b_never_two_primaries(lab: Topology, secrets: Secrets) -> None:
    seen_two: list[float] = []
    primaries_seen: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            # Each node's own view of itself: two nodes claiming primary at once is split brain.
            roles = {s: probes.patroni_role(lab, s) for s in lab.data_sites}
            claiming = [s for s, r in roles.items() if r == "primary"]
            primaries_seen.update(claiming)
            if len(claiming) > 1:
                seen_two.append(time.monotonic())
            time.sleep(0.25)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        primary = _primary(lab)
        assert primary is not None
        cut_off = next(s for s in lab.data_sites if s != primary)
        partitioned = time.monotonic()
        ccdr("lab", "partition", "a", "b")
        # The side without the primary steps aside: out of the front door, its broker stopped.
        wait_until(f"{cut_off} stepped aside", lambda: _posture(cut_off).startswith("stepped aside"), timeout=20)
        wait_until(f"{cut_off} out of the front door", lambda: not _in_front_door(lab, cut_off), timeout=10)
        stepped_aside_s = time.monotonic() - partitioned
        assert _posture(primary).startswith("serving"), "the primary's side stays"
        wait_until(f"{primary} in the front door", lambda: _in_front_door(lab, primary), timeout=15)
        # Through the ttl and one more loop: whichever side keeps the ZooKeeper majority
        # (both still reach the witness) keeps or takes the lock; the other must demote.
        time.sleep(max(0.0, lab.timers.patroni.ttl + 3 * lab.timers.patroni.loop_wait - stepped_aside_s))
        assert _primary(lab) == primary, "the primary stays where it was during the partition"
    finally:
        ccdr("lab", "heal")
        stop.set()
        watcher.join()
        # Converged even when the test failed above: the next test must not start from a
        # half-healed lab (a primary without its synchronous standby cannot fail over).
        wait_until("lab converged after heal", lambda: _converged(lab), timeout=120)
        wait_until(
            "both sites serving again", lambda: all(_posture(s).startswith("serving") for s in lab.data_sites), 60
        )
        wait_until("both sites in the front door", lambda: all(_in_front_door(lab, s) for s in lab.data_sites), 120)
    assert seen_two == [], f"two primaries at once at {seen_two}"
    assert netns.fault_rules(lab) == {}
    token = wait_until("a write after heal", lambda: _try_write(lab, secrets), timeout=30)
    standby = next(s for s in lab.data_sites if s != _primary(lab))
    wait_until("replicated after heal", lambda: _read_probe(lab, secrets, standby, token), timeout=10)


def _converged(topo: Topology) -> bool:
    members = probes.patroni_cluster(topo) or []
    roles = sorted((m.role, m.state) for m in members)
    meta = probes.kafka_metadata(topo)
    return (
        roles == [("leader", "running"), ("sync_standby", "streaming")]
        and meta is not None
        and not meta.under_replicated
    )


def test_freeze_primary_site_fails_over_and_thaw_converges(lab: Topology, secrets: Secrets) -> None:
    frozen = _primary(lab)
    assert frozen is not None
    other = next(s for s in lab.data_sites if s != frozen)
    ccdr("lab", "freeze-site", frozen)
    try:
        status = json.loads(ccdr("lab", "status", "--json").stdout)
        assert [s["frozen"] for s in status["sites"] if s["site"] == frozen] == [True]
        # The frozen node cannot renew its ZooKeeper session: the other site takes the lock.
        wait_until(f"Patroni primary at {other}", lambda: _primary(lab) == other, timeout=FAILOVER_TIMEOUT_S)
        wait_until("a write through the front door", lambda: _try_write(lab, secrets), timeout=FAILOVER_TIMEOUT_S)
    finally:
        ccdr("lab", "thaw-site", frozen)
    # On waking, the old primary finds its lock gone and rejoins as the standby (pg_rewind).
    wait_until("lab converged after thaw", lambda: _converged(lab), timeout=120)
    assert _primary(lab) == other


def test_down_leaves_nothing_and_up_works_again(lab: Topology) -> None:
    layout = LabLayout(lab)
    ccdr("lab", "down")
    assert netns.namespaces_left(lab) == []
    assert not os.path.exists(f"/sys/class/net/{lab.lab.bridge}")
    assert not os.path.exists(f"/sys/class/net/{netns.veth_name('a')}")
    leftovers = [line for line in os.popen("ps -eo args").read().splitlines() if str(layout.state_dir) in line]
    assert leftovers == [], leftovers
    ruleset = os.popen("nft list ruleset").read()
    assert netns.FAULT_TABLE not in ruleset

    ccdr("lab", "up")
    assert _converged(lab)
