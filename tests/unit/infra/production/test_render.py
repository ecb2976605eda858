"""The rendered production configuration is accepted by each component's own checker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra import kafka_access
from infra.production.cli import EXAMPLE
from infra.production.render import (
    check_document,
    check_guard_document,
    host_subject,
    kafka_secret_name,
    render_production,
)
from infra.production.topology import ProductionTopology, load_production_topology
from infra.topology import TopologyError

PATRONI = Path("/opt/ccdr/patroni-venv/bin/patroni")  # installed by `make install`
STAND_IN_SECRETS = {
    "alert_token": "alert-token-for-validation-0123",
    "slack_signing_secret": "slack-signing-for-validation-0123",
    "teams_hmac_secret": "dGVhbXMtaG1hYy1zZWNyZXQtMDEyMzQ1Njc4OTAxMjM0NQ==",
    "zalo_app_id": "3061483922957117442",
    "zalo_oa_secret_key": "zalo-oa-key-for-validation-0123",
    "session_signing_key": "x5DwLwYz4lJg6pXcGcC8qyTLEp3E7dUbH5gK1oXk3s0",
    "session_public_key": "o8S-gCOS6ikHDIpWhDIm_vyUiMdvuDgPMmeVXZWm2Bw",
    "zookeeper_auth": "ccdr:zookeeper-digest-for-validation",
    "status_link_key": "status-link-key-for-validation-0123456789",
    "slack_bot_token": "xoxb-slack-bot-token-for-validation",
    "zalo_oa_access_token": "zalo-oa-access-token-for-validation",
    "teams_app_id": "00000000-0000-4000-8000-000000000001",
    "teams_app_password": "teams-app-password-for-validation",
    **{
        kafka_secret_name(principal): f"{principal}-scram-for-validation"
        for principal in kafka_access.SERVICE_PRINCIPALS.values()
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProductionTopology, Path]:
    topo = load_production_topology(EXAMPLE)
    # This machine's interpreter stands in for the hosts' venv, so systemd can check the command.
    topo = topo.model_copy(update={"paths": topo.paths.model_copy(update={"python": Path(sys.executable)})})
    out = tmp_path_factory.mktemp("production")
    render_production(topo, out)
    return topo, out


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=60, check=False)


def test_every_front_door_passes_haproxy_check(rendered: tuple[ProductionTopology, Path]) -> None:
    topo, out = rendered
    configs = sorted(out.glob("*/etc/ccdr/haproxy/haproxy.cfg"))
    assert [c.parts[-5] for c in configs] == ["dn-app1", "hn-app1"]
    for cfg in configs:
        host_root = cfg.parents[3]
        # Point the config's absolute paths at the rendered tree (the errorfile must exist to check).
        local = cfg.with_name("check.cfg")
        local.write_text(cfg.read_text().replace(f"{topo.paths.etc}/", f"{host_root}{topo.paths.etc}/"))
        # The organisation's CA is installed on the host, not rendered: a stand-in for the check.
        ca = host_root / str(topo.paths.etc).lstrip("/") / "tls" / "ca.crt"
        key = ca.with_suffix(".key")
        made = _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", ca, "-subj", "/CN=stand-in CA", "-days", "1")  # fmt: skip
        assert made.returncode == 0, made.stderr
        # Likewise the host's certificate and key, which HAProxy serves HTTPS with (one PEM file).
        front = ca.with_name(f"{cfg.parts[-5]}.pem")
        made = _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", front.with_suffix(".key"), "-out", front.with_suffix(".crt"),
                    "-subj", f"/CN={cfg.parts[-5]}", "-days", "1")  # fmt: skip
        assert made.returncode == 0, made.stderr
        front.write_text(front.with_suffix(".crt").read_text() + front.with_suffix(".key").read_text())
        result = _run("haproxy", "-c", "-f", local)
        assert result.returncode == 0, result.stdout + result.stderr
        text = cfg.read_text()
        for host in ("hn-app1", "hn-app2", "dn-app1", "dn-app2"):  # every ccdr host serves intake and tickets
            assert f"server {host} " in text
        # Patroni's REST API is checked over HTTPS, the node's certificate verified by name.
        assert "server hn-db1 10.10.1.31:5432 check port 8008 check-ssl verify required ca-file" in text
        assert "verifyhost hn-db1" in text
        # Intake and the ticket API are served over HTTPS only.
        assert text.count(f"ssl crt {topo.paths.etc}/tls/{cfg.parts[-5]}.pem") == 2


def test_every_patroni_config_passes_patronis_own_validation(rendered: tuple[ProductionTopology, Path]) -> None:
    _, out = rendered
    configs = sorted(out.glob("*/etc/ccdr/patroni.yml"))
    assert len(configs) == 2
    for cfg in configs:
        result = _run(PATRONI, "--validate-config", "--ignore-listen-port", cfg)
        assert result.returncode == 0, result.stdout + result.stderr
        text = cfg.read_text()
        assert "password:" not in text  # passwords come from the unit's EnvironmentFile
        assert "hostssl all all 10.10.1.0/24 scram-sha-256" in text and "\n    - host " not in text
        assert "ssl: 'on'" in text


def test_every_systemd_unit_passes_systemd_analyze_verify(rendered: tuple[ProductionTopology, Path]) -> None:
    _, out = rendered
    units = sorted(out.glob("*/etc/systemd/system/*.service")) + sorted(out.glob("*/etc/systemd/system/*.timer"))
    assert {u.name for u in units} == {
        "ccdr-pgbackrest.service",
        "ccdr-backup-full.service",
        "ccdr-backup-full.timer",
        "ccdr-backup-incr.service",
        "ccdr-backup-incr.timer",
        "ccdr-zookeeper.service",
        "ccdr-kafka.service",
        "ccdr-patroni.service",
        "ccdr-haproxy.service",
        "ccdr-services.service",
        "ccdr-step-aside.service",
    }
    for unit in units:
        result = _run("systemd-analyze", "verify", unit)
        assert result.returncode == 0, f"{unit}: {result.stdout}{result.stderr}"


def test_each_hosts_certificate_request_names_the_host_and_its_address(
    rendered: tuple[ProductionTopology, Path], tmp_path: Path
) -> None:
    topo, out = rendered
    for site, host in topo.hosts:
        cnf = out / host.name / "etc/ccdr/tls" / f"{host.name}.cnf"
        key, csr = tmp_path / f"{host.name}.key", tmp_path / f"{host.name}.csr"
        made = _run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", csr, "-config", cnf)  # fmt: skip
        assert made.returncode == 0, made.stderr
        shown = _run("openssl", "req", "-in", csr, "-noout", "-text").stdout
        assert f"DNS:{host.name}" in shown and f"IP Address:{host.address}" in shown
        subject = _run("openssl", "req", "-in", csr, "-noout", "-subject", "-nameopt", "RFC2253").stdout
        assert subject.strip() == f"subject={host_subject(topo, site, host)}"  # what ZooKeeper's ACLs name


def test_the_services_settings_validate_in_production_mode_with_secrets_by_reference(
    rendered: tuple[ProductionTopology, Path],
) -> None:
    topo, out = rendered
    paths = sorted(out.glob("*/etc/ccdr/services-*.json"))
    programs = set(kafka_access.SERVICE_PRINCIPALS)
    assert len(paths) == len(topo.with_role("ccdr")) * len(programs)
    for path in paths:
        document = json.loads(path.read_text())
        assert document["channels"]["alert_token"] == {"$file": "/etc/ccdr/secrets/alert_token"}
        settings = check_document(document, STAND_IN_SECRETS)
        assert settings.environment == "production"
        # Each program reaches Kafka as its own principal, over TLS, its password read from a file.
        program = path.stem.removeprefix("services-")
        assert settings.kafka.auth is not None
        assert settings.kafka.auth.username == kafka_access.SERVICE_PRINCIPALS[program]
        assert document["kafka"]["auth"]["password"] == {
            "$file": f"/etc/ccdr/secrets/{kafka_secret_name(settings.kafka.auth.username)}"
        }
        dsn = settings.database_dsn.get_secret_value()
        assert "passfile=/etc/ccdr/secrets/pgpass" in dsn and "sslmode=verify-full" in dsn and "password" not in dsn
        read_dsn = settings.database_read_dsn.get_secret_value()
        own_site_first = "10.10.1.31" if settings.site == "a" else "10.20.1.31"
        assert read_dsn.split("host=")[1].startswith(own_site_first)


def test_each_data_sites_kafka_host_runs_the_step_aside_guard_for_its_kafka_node(
    rendered: tuple[ProductionTopology, Path],
) -> None:
    topo, out = rendered
    nodes = {h.name: (s, h) for role in ("kafka-broker", "kafka-controller") for s, h in topo.with_role(role)}
    guarded = {p.parts[-4] for p in out.glob("*/etc/ccdr/step-aside.json")}
    assert guarded == {name for name, (site, _) in nodes.items() if site in topo.data_sites}, "not at the witness"
    for name in guarded:
        site, host = nodes[name]
        settings = check_guard_document(
            json.loads((out / name / "etc/ccdr/step-aside.json").read_text()), STAND_IN_SECRETS
        )
        assert settings.site == site and settings.units == ["ccdr-kafka.service"]
        witness_zookeeper = {str(h.address) for s, h in topo.with_role("zookeeper") if s == topo.witness_site}
        assert settings.zookeeper_hosts.split(",")[0].rpartition(":")[0] in witness_zookeeper, "the witness first"
        peer = next(s for s in topo.data_sites if s != site)
        peer_hosts = {str(h.address) for s, h in topo.hosts if s == peer and h.roles & {"postgres", "kafka-broker"}}
        assert {e.rpartition(":")[0] for e in settings.peer_endpoints[peer]} == peer_hosts
        rule = (out / name / "etc/polkit-1/rules.d/50-ccdr-step-aside.rules").read_text()
        assert 'action.lookup("unit") == "ccdr-kafka.service"' in rule and 'subject.user == "ccdr"' in rule
        assert "ccdr-services" not in rule and "ccdr-zookeeper" not in rule
        if "kafka-broker" in host.roles:  # a broker is never restarted to move the controller's lead
            assert settings.kafka_controller is None
            continue
        local = settings.kafka_controller
        assert local is not None and local.node_id == host.node_id and local.program == "ccdr-kafka.service"
        others = {f"{h.address}:{topo.ports.kafka_controller}" for _, h in topo.with_role("kafka-controller")}
        assert set(local.other_voters) == others - {f"{host.address}:{topo.ports.kafka_controller}"}
        assert local.quorum_state == "/var/lib/ccdr/kafka/__cluster_metadata-0/quorum-state"


def test_a_placeholder_secret_is_refused_in_production(rendered: tuple[ProductionTopology, Path]) -> None:
    _, out = rendered
    document = json.loads(next(out.glob("*/etc/ccdr/services-intake.json")).read_text())
    with pytest.raises(ValueError, match="alert_token: a placeholder or short secret"):
        check_document(document, STAND_IN_SECRETS | {"alert_token": "changeme"})
    with pytest.raises(ValueError, match=r"kafka\.auth\.password: a short secret"):
        check_document(document, STAND_IN_SECRETS | {"kafka_intake": "short"})
    with pytest.raises(ValueError, match=r"customer\.status_link_key: at least 32 characters"):
        check_document(document, STAND_IN_SECRETS | {"status_link_key": "short-status-key"})
    without_client_cert = json.loads(json.dumps(document))
    del without_client_cert["mail"]["cert_file"], without_client_cert["mail"]["key_file"]
    with pytest.raises(ValueError, match=r"mail\.cert_file: the relay must know this site"):
        check_document(without_client_cert, STAND_IN_SECRETS)
    without_kafka_auth = json.loads(json.dumps(document))
    del without_kafka_auth["kafka"]["auth"]
    with pytest.raises(ValueError, match=r"kafka\.auth: required in production"):
        check_document(without_kafka_auth, STAND_IN_SECRETS)


def test_every_kafka_node_authenticates_and_reads_its_key_and_password_from_files(
    rendered: tuple[ProductionTopology, Path],
) -> None:
    _, out = rendered
    configs = sorted(out.glob("*/etc/ccdr/kafka/server.properties"))
    assert configs
    for cfg in configs:
        props = dict(
            line.split("=", 1) for line in cfg.read_text().splitlines() if "=" in line and not line.startswith("#")
        )
        host = cfg.parts[-5]
        assert props["listener.name.controller.ssl.client.auth"] == "required"
        assert props["ssl.keystore.key"] == f"${{dir:/etc/ccdr/tls:{host}.key}}"
        assert props["authorizer.class.name"].endswith("StandardAuthorizer")
        assert "PLAINTEXT" not in props["listener.security.protocol.map"]
        if "advertised.listeners" in props:  # a broker
            assert props["advertised.listeners"].startswith("SASL_SSL://")
            assert 'password="${dir:/etc/ccdr/secrets:kafka_broker}"' in cfg.read_text()


def test_the_kafka_access_script_formats_every_scram_user_and_grants_exactly_the_plan(
    rendered: tuple[ProductionTopology, Path],
) -> None:
    topo, out = rendered
    scripts = sorted(out.glob("*/etc/ccdr/kafka/kafka-access.sh"))
    assert len(scripts) == len({h.name for r in ("kafka-broker", "kafka-controller") for _, h in topo.with_role(r)})
    grants = kafka_access.service_grants(topo.kafka, topo.tickets.consumer_group)
    for script in scripts:
        assert _run("sh", "-n", script).returncode == 0
        assert script.stat().st_mode & 0o777 == 0o750
        text = script.read_text()
        for user in kafka_access.users():
            assert f"{user}:{kafka_secret_name(user)}" in text  # its password read from its secret file
        acl_lines = [line.strip() for line in text.splitlines() if line.strip().startswith("acl --allow-principal")]
        assert len(acl_lines) == len(grants)
        for g in grants:
            line = f"acl --allow-principal User:{g.principal} --operation {g.operation.title()} --{g.resource} {g.name}"
            assert line in acl_lines
        assert "password=" not in text.replace("password=$(cat", "")  # no password written into the script
        usage = _run("sh", script)
        assert usage.returncode == 2 and "usage" in usage.stderr


def test_the_witness_keeps_the_backups_and_takes_them_on_a_schedule(rendered: tuple[ProductionTopology, Path]) -> None:
    topo, out = rendered
    ((_, repo_host),) = topo.with_role("backup-repo")
    databases = [h.name for _, h in topo.with_role("postgres")]
    conf = (out / repo_host.name / "etc/ccdr/pgbackrest.conf").read_text()
    assert sorted(line for line in conf.splitlines() if line.startswith("tls-server-auth=")) == sorted(
        f"tls-server-auth={name}={topo.backup.stanza}" for name in databases
    ), "it admits the database hosts by their certificates' names"
    assert {line.split("=", 1)[1] for line in conf.splitlines() if line.startswith(("pg1-host=", "pg2-host="))} == set(
        databases
    )
    full = (out / repo_host.name / "etc/systemd/system/ccdr-backup-full.timer").read_text()
    assert f"OnCalendar={topo.backup.full_schedule}" in full and "Persistent=true" in full
    for name in databases:
        db_conf = (out / name / "etc/ccdr/pgbackrest.conf").read_text()
        assert f"repo1-host={repo_host.name}" in db_conf
        assert f"tls-server-auth={repo_host.name}={topo.backup.stanza}" in db_conf
        patroni = (out / name / "etc/ccdr/patroni.yml").read_text()
        assert "archive_mode: 'on'" in patroni and "archive-push %p" in patroni


def test_a_topology_without_a_backup_repository_at_the_witness_is_refused(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace(', "backup-repo"]', "]")
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(TopologyError, match="backup-repo"):
        load_production_topology(path)
