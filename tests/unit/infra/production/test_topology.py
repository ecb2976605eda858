from __future__ import annotations

import tomllib
from typing import Any

import pytest
import tomli_w

from infra.production.cli import EXAMPLE
from infra.production.topology import ProductionTopology, load_production_topology
from infra.topology import TopologyError


def _raw() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text())


def _refused(raw: dict[str, Any], tmp_path: Any) -> str:
    path = tmp_path / "prod.toml"
    path.write_text(tomli_w.dumps(raw))
    with pytest.raises(TopologyError) as err:
        load_production_topology(path)
    return str(err.value)


def test_the_example_spreads_every_quorum_over_three_sites() -> None:
    topo = load_production_topology(EXAMPLE)
    assert isinstance(topo, ProductionTopology)
    assert topo.zookeeper_connect() == "10.10.1.11:2181,10.20.1.11:2181,10.30.1.5:2181"
    assert topo.kafka_voters() == "1@10.10.1.11:9093,2@10.20.1.11:9093,3@10.30.1.5:9093"
    assert topo.kafka_bootstrap() == ["10.10.1.21:9092", "10.20.1.21:9092", "10.30.1.5:9092"]


def test_a_site_holding_a_zookeeper_majority_is_refused(tmp_path: Any) -> None:
    raw = _raw()
    hosts = raw["sites"]["a"]["hosts"]
    hosts += [
        {"name": "hn-coord2", "address": "10.10.1.12", "node_id": 4, "roles": ["zookeeper"]},
        {"name": "hn-coord3", "address": "10.10.1.13", "node_id": 5, "roles": ["zookeeper"]},
    ]
    assert "losing site a would leave 2 of 5 zookeeper hosts, no quorum" in _refused(raw, tmp_path)


def test_an_even_ensemble_is_refused(tmp_path: Any) -> None:
    raw = _raw()
    raw["sites"]["a"]["hosts"].append(
        {"name": "hn-coord2", "address": "10.10.1.12", "node_id": 4, "roles": ["zookeeper"]}
    )
    assert "zookeeper needs an odd number of hosts" in _refused(raw, tmp_path)


def test_the_witness_runs_no_data(tmp_path: Any) -> None:
    raw = _raw()
    raw["sites"]["c"]["hosts"][0]["roles"].append("postgres")
    assert "the witness host wit1 cannot run postgres" in _refused(raw, tmp_path)


def test_a_data_site_without_a_database_host_is_refused(tmp_path: Any) -> None:
    raw = _raw()
    raw["sites"]["b"]["hosts"] = [h for h in raw["sites"]["b"]["hosts"] if "postgres" not in h["roles"]]
    assert "a data site needs hosts for postgres" in _refused(raw, tmp_path)


@pytest.mark.parametrize(("field", "value"), [("address", "10.20.1.21"), ("node_id", 12), ("name", "dn-kafka1")])
def test_two_hosts_sharing_an_identity_are_refused(tmp_path: Any, field: str, value: object) -> None:
    raw = _raw()
    raw["sites"]["a"]["hosts"][1][field] = value
    assert f"hosts share {field}" in _refused(raw, tmp_path)


def test_a_host_outside_its_site_network_is_refused(tmp_path: Any) -> None:
    raw = _raw()
    raw["sites"]["a"]["hosts"][0]["address"] = "10.20.1.99"
    assert "is outside 10.10.1.0/24" in _refused(raw, tmp_path)


def test_plain_http_is_refused_for_the_public_address(tmp_path: Any) -> None:
    raw = _raw()
    raw["public_base_url"] = "http://servicedesk.example.vn"
    assert "public_base_url" in _refused(raw, tmp_path)


def test_the_witness_keeps_a_kafka_replica_only_when_the_topology_says_so(tmp_path: Any) -> None:
    raw = _raw()
    raw["kafka"].update(witness_replica=False, intake_replica_pairs=False, replication_factor=2, min_insync_replicas=1)
    assert "the witness host wit1 cannot run kafka-broker" in _refused(raw, tmp_path)
