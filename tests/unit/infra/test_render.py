"""Rendering: every config comes from the topology; roles differ between data and witness sites."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import tomli_w
import yaml

from infra.lab.layout import FRONT_DOOR, LabLayout
from infra.lab.render import RenderedFile, Secrets, new_kafka_cluster_id, render_group
from infra.topology import DEFAULT_TOPOLOGY, load_topology, parse_topology

SECRETS = Secrets(
    superuser="su-secret",
    replication="repl-secret",
    rewind="rw-secret",
    app="app-secret",
    schema_owner="owner-secret",
    alert_token="alert-token-0123456789",
    slack_signing="slack-signing-0123456789",
    teams_hmac="dGVhbXMtaG1hYy1zZWNyZXQtMDEyMzQ1Njc4OTAxMjM0NQ==",
    zalo_app_id="1234567890",
    zalo_oa_key="zalo-oa-key-0123456789",
    agent_password="agent-password-0123456789",
    session_key="x5DwLwYz4lJg6pXcGcC8qyTLEp3E7dUbH5gK1oXk3s0",
    status_link_key="status-link-key-for-unit-tests-0123456789",
    slack_bot_token="xoxb-slack-bot-token-for-unit-tests",
    zalo_oa_access_token="zalo-oa-access-token-for-unit-tests",
    teams_app_id="00000000-0000-4000-8000-000000000001",
    teams_app_password="teams-app-password-for-unit-tests",
    patroni_rest="patroni-rest-0123456789",
    zookeeper_ccdr="zookeeper-ccdr-0123456789",
    kafka_broker="kafka-broker-0123456789",
    kafka_ops="kafka-ops-0123456789",
    kafka_intake="kafka-intake-0123456789",
    kafka_tickets="kafka-tickets-0123456789",
    kafka_ticket_worker="kafka-ticket-worker-0123456789",
    kafka_notifier="kafka-notifier-0123456789",
    kafka_failover="kafka-failover-0123456789",
)


@pytest.fixture
def layout() -> LabLayout:
    return LabLayout(load_topology())


def _files(layout: LabLayout, group: str) -> dict[str, RenderedFile]:
    return {f.path.name: f for f in render_group(layout, group, SECRETS)}


def _voters(layout: LabLayout) -> str:
    topo, port = layout.topology, layout.topology.ports.kafka_controller
    return ",".join(f"{topo.sites[n].controller_id}@{topo.sites[n].address}:{port}" for n in sorted(topo.sites))


def test_data_site_runs_its_broker_and_a_dedicated_controller(layout: LabLayout) -> None:
    files = _files(layout, "a")
    site, ports = layout.topology.sites["a"], layout.topology.ports
    dirs = layout.site("a")
    broker, controller = files["kafka.properties"].content, files["kafka-controller.properties"].content
    assert "process.roles=broker\n" in broker and f"node.id={site.node_id}\n" in broker
    assert f"listeners=PLAINTEXT://{site.address}:{ports.kafka_broker}\n" in broker  # no CONTROLLER listener
    assert f"log.dirs={dirs.kafka_data}\n" in broker
    assert "unclean.leader.election.enable=false" in broker
    assert "process.roles=controller\n" in controller and f"node.id={site.kafka_controller_id}\n" in controller
    assert f"listeners=CONTROLLER://{site.address}:{ports.kafka_controller}\n" in controller
    assert f"log.dirs={dirs.kafka_controller_data}\n" in controller
    for props in (broker, controller):
        assert f"controller.quorum.voters={_voters(layout)}" in props
    conf = files["supervisord.conf"].content
    assert conf.index("[program:kafka-controller]") < conf.index("[program:kafka]")


def test_a_data_site_without_a_controller_id_runs_one_combined_process() -> None:
    raw = tomllib.loads(DEFAULT_TOPOLOGY.read_text())
    del raw["sites"]["a"]["kafka_controller_id"]
    layout = LabLayout(parse_topology(tomli_w.dumps(raw), "t.toml"))
    files = _files(layout, "a")
    a, ports = layout.topology.sites["a"].address, layout.topology.ports
    props = files["kafka.properties"].content
    assert "process.roles=broker,controller" in props
    assert f"listeners=PLAINTEXT://{a}:{ports.kafka_broker},CONTROLLER://{a}:{ports.kafka_controller}" in props
    assert "kafka-controller.properties" not in files
    assert "[program:kafka-controller]" not in files["supervisord.conf"].content
    assert f"controller.quorum.voters={_voters(layout)}" in props


def test_witness_keeps_a_kafka_replica_but_no_database(layout: LabLayout) -> None:
    files = _files(layout, "c")
    props = files["kafka.properties"].content
    c = layout.topology.sites["c"].address
    assert "process.roles=broker,controller\n" in props
    assert f"listeners=PLAINTEXT://{c}:{layout.topology.ports.kafka_broker}," in props
    assert "min.insync.replicas=2\n" in props
    assert "patroni.yml" not in files
    assert "[program:patroni]" not in files["supervisord.conf"].content


def test_witness_without_its_replica_is_controller_only() -> None:
    raw = tomllib.loads(DEFAULT_TOPOLOGY.read_text())
    raw["kafka"].update(witness_replica=False, intake_replica_pairs=False, replication_factor=2, min_insync_replicas=1)
    layout = LabLayout(parse_topology(tomli_w.dumps(raw), "t.toml"))
    files = _files(layout, "c")
    props = files["kafka.properties"].content
    assert "process.roles=controller\n" in props
    assert "PLAINTEXT://" not in props  # no broker listener
    assert "-Xmx256m" in files["supervisord.conf"].content  # controller heap, not broker heap


def test_zookeeper_ensemble_lists_every_site(layout: LabLayout) -> None:
    files = _files(layout, "b")
    cfg = files["zoo.cfg"].content
    topo = layout.topology
    for site in topo.sites.values():
        peer, election = topo.ports.zookeeper_peer, topo.ports.zookeeper_election
        assert f"server.{site.node_id}={site.address}:{peer}:{election}" in cfg
    assert f"maxSessionTimeout={topo.timers.zookeeper.max_session_timeout_ms}" in cfg
    assert files["myid"].content == "2\n"


def test_patroni_runs_as_postgres_with_sync_mode(layout: LabLayout) -> None:
    files = _files(layout, "a")
    patroni = files["patroni.yml"]
    assert patroni.owner == "postgres" and patroni.mode == 0o600
    assert "synchronous_mode: true" in patroni.content
    assert "ttl: 20" in patroni.content
    topo = layout.topology
    hosts = ", ".join(f"'{topo.sites[n].address}:{topo.ports.zookeeper_client}'" for n in sorted(topo.sites))
    assert hosts in patroni.content
    assert "su-secret" in patroni.content
    supervisord = files["supervisord.conf"].content
    program = supervisord.split("[program:patroni]")[1]
    assert "user=postgres" in program
    assert str(LabLayout(load_topology()).patroni_venv) in program


def test_postgres_drops_the_sessions_of_clients_cut_off_mid_transaction(layout: LabLayout) -> None:
    """Local parameters (applied on reload, so a running lab gets them too), not bootstrap-only ones."""
    local = yaml.safe_load(_files(layout, "a")["patroni.yml"].content)["postgresql"]["parameters"]
    assert local["idle_in_transaction_session_timeout"] == "10s"
    assert local["tcp_user_timeout"] == 8000
    dead_peer_s = local["tcp_keepalives_idle"] + local["tcp_keepalives_interval"] * local["tcp_keepalives_count"]
    assert dead_peer_s <= 10, "an idle connection to a vanished client is dropped within seconds"


def test_front_door_routes_writes_by_patroni_primary(layout: LabLayout) -> None:
    cfg = _files(layout, FRONT_DOOR)["haproxy.cfg"].content
    primary = cfg.split("listen postgres_primary")[1].split("listen postgres_replica")[0]
    topo = layout.topology
    assert f"bind {topo.front_door.address}:{topo.front_door.postgres_primary}" in primary
    assert "uri /primary" in primary
    for name in topo.data_sites:
        server = f"server {name} {topo.sites[name].address}:{topo.ports.postgres} check port {topo.ports.patroni_rest}"
        assert server in primary
    assert "on-marked-down shutdown-sessions" in primary


def test_supervisord_config_is_last_and_per_group(layout: LabLayout) -> None:
    for group in layout.groups():
        files = render_group(layout, group, SECRETS)
        assert files[-1].path == layout.dirs_of(group).supervisor_conf
        assert all(Path(f.path).is_absolute() for f in files)


def test_kafka_cluster_ids_are_valid_and_never_look_like_options() -> None:
    import base64

    ids = {new_kafka_cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    for text in ids:
        assert len(text) == 22 and not text.startswith("-")
        assert len(base64.urlsafe_b64decode(text + "==")) == 16


@pytest.mark.parametrize("site", ["a", "b"])
def test_the_failover_agent_tries_the_witness_zookeeper_first_and_the_rest_their_own_site(
    layout: LabLayout, site: str
) -> None:
    """The witness's server is on the quorum's side of any cut between a and b: the agent, which
    decides whether its site is cut off, keeps its session through one."""
    topo, port = layout.topology, layout.topology.ports.zookeeper_client
    other = next(s for s in topo.data_sites if s != site)
    files = _files(layout, site)

    def order(program: str) -> list[str]:
        return json.loads(files[f"services-{program}.json"].content)["zookeeper_hosts"].split(",")

    def address(name: str) -> str:
        return f"{topo.sites[name].address}:{port}"

    assert order("failover") == [address("c"), address(site), address(other)]
    for program in ("intake", "tickets", "ticket-worker", "notifier"):
        assert order(program) == [address(site), address("c"), address(other)], program


def test_the_failover_agent_is_told_its_sites_dedicated_controller(layout: LabLayout) -> None:
    settings = json.loads(_files(layout, "b")["services-failover.json"].content)
    topo = layout.topology
    local = settings["kafka_controller"]
    assert local["program"] == "kafka-controller"
    assert local["node_id"] == topo.sites["b"].kafka_controller_id
    assert local["quorum_state"] == str(
        layout.site("b").kafka_controller_data / "__cluster_metadata-0" / "quorum-state"
    )
    assert sorted(local["other_voters"]) == sorted(
        f"{topo.sites[n].address}:{topo.ports.kafka_controller}" for n in ("a", "c")
    )
    # the step-aside rule stops the controller first: a leading one resigns before the broker goes
    assert settings["failover"]["step_aside"]["programs"][:2] == ["kafka-controller", "kafka"]
