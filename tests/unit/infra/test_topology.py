"""Topology validation: the shipped file loads; each bad field is refused with its name and reason."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from pydantic import ValidationError

from infra.topology import DEFAULT_TOPOLOGY, TopologyError, load_topology, parse_topology, patroni_leader_session_s


def _raw() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_TOPOLOGY.read_text())


def _leader_session_s(raw: dict[str, Any]) -> float:
    timers = parse_topology(tomli_w.dumps(raw)).timers
    return patroni_leader_session_s(timers.zookeeper, timers.patroni)


def _refused(raw: dict[str, Any]) -> str:
    with pytest.raises(TopologyError) as err:
        parse_topology(tomli_w.dumps(raw), "t.toml")
    return str(err.value)


def test_shipped_topology_loads_with_three_sites() -> None:
    topo = load_topology()
    assert topo.data_sites == ["a", "b"]
    assert topo.witness_site == "c"
    assert topo.zookeeper_connect().count(",") == 2
    assert topo.kafka_voters() == "101@10.77.0.11:9093,102@10.77.0.12:9093,3@10.77.0.13:9093"
    assert topo.dedicated_controller_sites() == ["a", "b"]


def test_two_sites_with_one_address() -> None:
    raw = _raw()
    raw["sites"]["b"]["address"] = raw["sites"]["a"]["address"]
    assert re.search(r"sites\.b\.address: sites a and b share address 10\.77\.0\.11", _refused(raw))


def test_port_out_of_range() -> None:
    raw = _raw()
    raw["ports"]["kafka_broker"] = 70000
    assert "ports.kafka_broker: Input should be less than or equal to 65535" in _refused(raw)


def test_two_components_on_one_port() -> None:
    raw = _raw()
    raw["ports"]["patroni_rest"] = raw["ports"]["postgres"]
    assert "patroni_rest and postgres share port 5432" in _refused(raw)


def test_no_witness() -> None:
    raw = _raw()
    raw["sites"]["c"]["role"] = "data"
    msg = _refused(raw)
    assert "exactly two data sites" in msg


def test_witness_missing_entirely() -> None:
    raw = _raw()
    del raw["sites"]["c"]
    assert "exactly one witness site is required, found 0" in _refused(raw)


def test_site_outside_subnet() -> None:
    raw = _raw()
    raw["sites"]["a"]["address"] = "192.168.9.9"
    assert "sites.a.address: 192.168.9.9 is outside the lab subnet 10.77.0.0/24" in _refused(raw)


def test_site_on_bridge_address() -> None:
    raw = _raw()
    raw["sites"]["a"]["address"] = raw["lab"]["bridge_address"]
    assert "is the bridge's own address" in _refused(raw)


def test_bad_ip_address() -> None:
    raw = _raw()
    raw["sites"]["a"]["address"] = "10.77.0.300"
    assert "sites.a.address:" in _refused(raw)


def test_patroni_timers_rule() -> None:
    raw = _raw()
    raw["timers"]["patroni"].update(ttl=20, loop_wait=10, retry_timeout=6)
    assert "timers.patroni: loop_wait + 2 x retry_timeout (22) must not exceed ttl (20)" in _refused(raw)


def test_patroni_ttl_floor() -> None:
    raw = _raw()
    raw["timers"]["patroni"]["ttl"] = 10
    assert "timers.patroni.ttl: Input should be greater than or equal to 20" in _refused(raw)


def test_patroni_leader_session_shorter_than_a_cut_off_primary_takes_to_demote() -> None:
    raw = _raw()
    raw["timers"]["zookeeper"]["max_session_timeout_ms"] = 8_000  # read 2 + loop_wait 2 + retry 4 = 8 s
    assert "could be promoted while the old primary still serves" in _refused(raw)


def test_patroni_rule_holds_within_the_session_zookeeper_grants() -> None:
    raw = _raw()
    raw["timers"]["patroni"]["retry_timeout"] = 5  # 2 + 2 x 5 = 12 s > the 10 s granted
    assert "exceeds the leader session ZooKeeper grants" in _refused(raw)


def test_patroni_leader_session_is_what_zookeeper_grants_of_the_ttl() -> None:
    raw = _raw()
    raw["timers"]["zookeeper"]["max_session_timeout_ms"] = 10_000
    assert _leader_session_s(raw) == 10.0
    raw["timers"]["zookeeper"]["max_session_timeout_ms"] = 60_000
    assert _leader_session_s(raw) == raw["timers"]["patroni"]["ttl"]


def test_kafka_heartbeat_too_slow() -> None:
    raw = _raw()
    raw["timers"]["kafka"]["broker_heartbeat_interval_ms"] = 5000
    assert "broker_heartbeat_interval_ms must be at most half" in _refused(raw)


def test_min_isr_above_rf() -> None:
    raw = _raw()
    raw["kafka"].update(replication_factor=2, min_insync_replicas=3)
    assert "min_insync_replicas 3 exceeds replication_factor 2" in _refused(raw)


def test_rf_above_brokers() -> None:
    raw = _raw()
    raw["kafka"].update(replication_factor=3, min_insync_replicas=1, witness_replica=False, intake_replica_pairs=False)
    assert "kafka.replication_factor: 3 exceeds the 2 brokers" in _refused(raw)


def test_intake_pairs_need_the_witness_two_acknowledgements_and_partitions_in_threes() -> None:
    raw = _raw()
    raw["kafka"].update(intake_replica_pairs=True, witness_replica=False, replication_factor=2)
    assert "intake_replica_pairs needs witness_replica" in _refused(raw)
    raw = _raw()
    raw["kafka"].update(intake_replica_pairs=True, min_insync_replicas=1)
    assert "intake_replica_pairs needs min_insync_replicas 2 (got 1)" in _refused(raw)
    raw = _raw()
    raw["kafka"].update(intake_replica_pairs=True, partitions=4)
    assert "intake_replica_pairs needs partitions in threes" in _refused(raw)


def test_the_witness_replica_makes_a_third_broker() -> None:
    raw = _raw()
    raw["kafka"].update(replication_factor=3, min_insync_replicas=2, witness_replica=True)
    topo = parse_topology(tomli_w.dumps(raw), "t.toml")
    assert topo.kafka_broker_sites == ["a", "b", "c"]
    assert len(topo.kafka_bootstrap()) == 3
    raw["kafka"].update(replication_factor=4)
    assert "kafka.replication_factor: 4 exceeds the 3 brokers (data sites, witness)" in _refused(raw)


def test_unknown_field_refused() -> None:
    raw = _raw()
    raw["ports"]["kafak_broker"] = 9094
    assert "ports.kafak_broker: Extra inputs are not permitted" in _refused(raw)


def test_duplicate_namespace() -> None:
    raw = _raw()
    raw["sites"]["b"]["namespace"] = raw["sites"]["a"]["namespace"]
    assert "sites a and b share namespace ccdr-a" in _refused(raw)


def test_front_door_ports_distinct() -> None:
    raw = _raw()
    raw["front_door"]["stats"] = raw["front_door"]["postgres_primary"]
    assert "front_door: stats and postgres_primary share port" in _refused(raw)


def test_not_toml() -> None:
    with pytest.raises(TopologyError, match=r"t\.toml: not valid TOML"):
        parse_topology("[lab\n", "t.toml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read topology"):
        load_topology(tmp_path / "absent.toml")


def test_unknown_site_lookup() -> None:
    with pytest.raises(TopologyError, match="unknown site 'z'; known: a, b, c"):
        load_topology().site("z")


@pytest.mark.parametrize("key", ["signing_key", "trusted_public_key"])
def test_a_drill_key_inside_the_archive_it_signs_is_refused(key: str) -> None:
    drills = load_topology().drills
    inside = drills.archive_dir / "keys" / "drill-signing.pem"
    with pytest.raises(ValidationError, match=f"drills.{key} must not be inside"):
        drills.model_validate(drills.model_dump() | {key: inside})


def test_the_application_role_cannot_be_the_schema_owner() -> None:
    raw = _raw()
    raw["database"]["owner_user"] = raw["database"]["app_user"]
    assert "owner_user must differ from app_user" in _refused(raw)


def test_an_intake_request_timeout_within_the_broker_session_is_refused() -> None:
    raw = _raw()
    raw["intake"]["kafka_request_timeout_ms"] = raw["timers"]["kafka"]["broker_session_timeout_ms"]
    assert "is not above the broker session timeout" in _refused(raw)


def test_an_outbox_publish_bound_at_postgres_idle_transaction_timeout_is_refused() -> None:
    raw = _raw()
    raw["tickets"]["outbox_publish_timeout_s"] = raw["timers"]["patroni"]["idle_in_transaction_timeout_s"]
    assert "outbox_publish_timeout_s" in _refused(raw)


def test_zookeeper_servers_by_preference() -> None:
    topo = load_topology()
    port = topo.ports.zookeeper_client
    assert topo.zookeeper_connect(first=["c", "b"]).split(",") == [
        f"{topo.sites[s].address}:{port}" for s in ("c", "b", "a")
    ]
    assert topo.zookeeper_preference("b", "failover") == ["c", "b"]
    assert topo.zookeeper_preference("b", "intake") == ["b", "c"]


def test_a_controller_id_shared_with_a_broker_is_refused() -> None:
    raw = _raw()
    raw["sites"]["a"]["kafka_controller_id"] = raw["sites"]["c"]["node_id"]
    assert "is site c's node_id" in _refused(raw)


def test_two_sites_sharing_a_controller_id_is_refused() -> None:
    raw = _raw()
    raw["sites"]["b"]["kafka_controller_id"] = raw["sites"]["a"]["kafka_controller_id"]
    assert "share kafka_controller_id" in _refused(raw)


def test_a_dedicated_controller_at_the_witness_is_refused() -> None:
    raw = _raw()
    raw["sites"]["c"]["kafka_controller_id"] = 103
    assert "kafka_controller_id is for data sites" in _refused(raw)
