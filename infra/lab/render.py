"""Render every lab configuration file from the topology. Pure: returns files, writes nothing."""

from __future__ import annotations

import json
import sys
import uuid
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from psycopg.conninfo import make_conninfo

from core.agents.domain.tokens import public_key_of
from core.intake.domain.admission import ALERT_CHANNELS, URGENT_CHANNELS
from core.settings import ServiceSettings
from infra import kafka_access
from infra.lab import backup_config, front_door, mail_relay
from infra.lab.files import Program, RenderedFile
from infra.lab.layout import FRONT_DOOR, PG_BIN_DIR, ZOOKEEPER_CLASSPATH, LabLayout, SiteDirs
from infra.lab.pki import (
    LabPki,
    ca_file,
    certificate_subject,
    client_tls,
    ops_tools_config,
    pki_dir,
    site_tls_name,
)
from infra.topology import FrontDoor, HAProxyTimers, Ports, Topology, patroni_watchdog_margin_s

TCP_USER_TIMEOUT_MS = 5000  # unacknowledged data on a connection for 5 s: it is dead
PATRONI_REST_USER = "patroni"  # who may switch over, restart or reload through Patroni's REST API
CONNECT_TIMEOUT_S = 3  # never libpq's default: a dropped-packet partition must fail fast
_templates = Environment(
    loader=PackageLoader("infra.lab", "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # config files, not HTML
)


@dataclass(frozen=True)
class Secrets:
    superuser: str
    replication: str
    rewind: str
    app: str
    schema_owner: str  # database.owner_user's password (migrations only)
    alert_token: str
    slack_signing: str
    teams_hmac: str  # base64 of 32 random bytes, as Teams issues them
    zalo_app_id: str
    zalo_oa_key: str
    agent_password: str  # every demo agent's password in the lab (infra/lab/demo_agents.py)
    patroni_rest: str  # Patroni REST API's basic-auth password (switchover, restart, reload)
    zookeeper_ccdr: str  # the digest password of ccdr's znodes
    session_key: str  # Ed25519 seed signing agent session tokens (core.agents.domain.tokens)
    status_link_key: str  # signs the customers' status-page links (core.domain.status_links)
    slack_bot_token: str  # what the chat stand-in takes as Slack's bot token (infra.lab.chat_standin)
    zalo_oa_access_token: str  # ... and as the Zalo OA's access token
    teams_app_id: str  # ... and as the Teams bot's app id and password (client credentials)
    teams_app_password: str
    # SCRAM passwords of the Kafka principals (infra.kafka_access): the brokers', the operators'
    # tools', and one per service program.
    kafka_broker: str
    kafka_ops: str
    kafka_intake: str
    kafka_tickets: str
    kafka_ticket_worker: str
    kafka_notifier: str
    kafka_failover: str


def kafka_passwords(secrets: Secrets) -> dict[str, str]:
    """Each Kafka principal's SCRAM password."""
    # Each principal's field is named as its production secret file: ccdr-ticket-worker -> kafka_ticket_worker.
    return {user: str(getattr(secrets, kafka_access.secret_name(user))) for user in kafka_access.users()}


def group_name(group: str) -> str:
    return FRONT_DOOR if group == FRONT_DOOR else f"site-{group}"


def render_template(template: str, **values: object) -> str:
    return _templates.get_template(template).render(**values)


def _zookeeper(topo: Topology, site: str, dirs: SiteDirs, pki: LabPki | None) -> tuple[Program, list[RenderedFile]]:
    s = topo.site(site)
    servers = [topo.sites[n] for n in sorted(topo.sites)]
    zoo_cfg = dirs.conf / "zoo.cfg"
    log4j = dirs.conf / "zk-log4j.properties"
    keystore = dirs.conf / "zookeeper-keystore.pem"
    tls = {"keystore": keystore, "ca_file": ca_file(topo)} if pki is not None else None
    files = [
        RenderedFile(
            zoo_cfg,
            render_template(
                "zoo.cfg.j2",
                site=site,
                zk=topo.timers.zookeeper,
                data_dir=dirs.zookeeper_data,
                address=s.address,
                ports=topo.ports,
                servers=servers,
                tls=tls,
            ),
        ),
        RenderedFile(log4j, render_template("zk-log4j.properties.j2", site=site)),
        RenderedFile(dirs.zookeeper_data / "myid", f"{s.node_id}\n"),
    ]
    if pki is not None:  # ZooKeeper reads its key and certificate from one PEM file
        files.append(RenderedFile(keystore, pki.sites[site].key_pem + pki.sites[site].cert_pem, mode=0o600))
    heap = topo.timers.zookeeper.heap_mb
    classpath = ":".join([str(dirs.conf), *ZOOKEEPER_CLASSPATH])
    command = (
        f"java -Xms{heap}m -Xmx{heap}m -XX:+UseSerialGC -Djava.awt.headless=true "
        f"-Dzookeeper.log.dir={dirs.logs} -Dlog4j.configuration=file:{log4j} "
        f"-cp {classpath} org.apache.zookeeper.server.quorum.QuorumPeerMain {zoo_cfg}"
    )
    return Program("zookeeper", command, dirs.root, startsecs=2), files


def kafka_properties_path(dirs: SiteDirs, program: str = "kafka") -> Path:
    return dirs.conf / f"{program}.properties"


def kafka_log_dir(dirs: SiteDirs, program: str) -> Path:
    """The log dir of one of the site's Kafka processes (`kafka_programs`)."""
    return dirs.kafka_controller_data if program == KAFKA_CONTROLLER else dirs.kafka_data


KAFKA_CONTROLLER = "kafka-controller"  # a data site's dedicated controller (Topology.dedicated_controller_sites)


def kafka_programs(topo: Topology, site: str) -> list[str]:
    """The site's Kafka processes, each with its own properties file and log (its node's)."""
    return [KAFKA_CONTROLLER, "kafka"] if site in topo.dedicated_controller_sites() else ["kafka"]


def _kafka_tls(topo: Topology, site: str, secrets: Secrets, pki: LabPki) -> dict[str, object]:
    return {
        "mechanism": kafka_access.SCRAM_MECHANISM,
        "broker_user": kafka_access.BROKER,
        "broker_password": secrets.kafka_broker,
        "cert_pem": _properties_pem(pki.sites[site].cert_pem),
        "key_pem": _properties_pem(pki.sites[site].key_pem),
        "ca_file": ca_file(topo),
        "principal_rules": kafka_access.PRINCIPAL_MAPPING_RULES,
        "super_users": kafka_access.super_users([site_tls_name(n) for n in sorted(topo.sites)]),
        "config_providers": False,  # the lab writes the key and the password into the file itself
    }


def _properties_pem(pem: str) -> str:
    """A PEM block as one Java properties value (Properties.load turns `\\n` back into newlines)."""
    return pem.replace("\n", "\\n")


def kafka_ops_tools_file(topo: Topology, pki: LabPki) -> RenderedFile:
    """Kafka's own tools (kafka-metadata-quorum) reach the controllers as the operators, by
    certificate: the controller listener takes nothing else."""
    lines = [
        "# rendered by ccdr; do not edit",
        "security.protocol=SSL",
        "ssl.keystore.type=PEM",
        f"ssl.keystore.certificate.chain={_properties_pem(pki.ops.cert_pem)}",
        f"ssl.keystore.key={_properties_pem(pki.ops.key_pem)}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={ca_file(topo)}",
    ]
    return RenderedFile(ops_tools_config(topo), "\n".join(lines) + "\n", mode=0o600)


def _kafka(
    topo: Topology, layout: LabLayout, site: str, dirs: SiteDirs, secrets: Secrets, pki: LabPki | None
) -> list[tuple[Program, list[RenderedFile]]]:
    """With `pki`: SASL_SSL for clients and brokers, mutual TLS between controllers and nodes,
    ACLs enforced (the file holds the node's key and the brokers' password: 0600). A data site
    with a dedicated controller runs two processes (two nodes, one certificate), as production's
    coordination and broker hosts do; the witness runs one that is both."""
    s = topo.site(site)
    tls = _kafka_tls(topo, site, secrets, pki) if pki is not None else None
    out = []
    for program in kafka_programs(topo, site):
        dedicated = program == KAFKA_CONTROLLER
        is_broker = not dedicated and site in topo.kafka_broker_sites
        is_controller = dedicated or s.kafka_controller_id is None
        props = kafka_properties_path(dirs, program)
        log4j = dirs.conf / f"{program}-log4j2.properties"
        roles = ",".join(r for r, on in (("broker", is_broker), ("controller", is_controller)) if on)
        files = [
            RenderedFile(
                props,
                render_template(
                    "kafka.properties.j2",
                    site=site,
                    node_id=s.controller_id if dedicated else s.node_id,
                    roles=roles,
                    is_broker=is_broker,
                    is_controller=is_controller,
                    voters=topo.kafka_voters(),
                    address=s.address,
                    ports=topo.ports,
                    data_dir=kafka_log_dir(dirs, program),
                    kafka=topo.kafka,
                    timers=topo.timers.kafka,
                    tls=tls,
                ),
                mode=0o600,
            ),
            RenderedFile(log4j, render_template("kafka-log4j2.properties.j2", site=site)),
        ]
        heap = topo.kafka.broker_heap_mb if is_broker else topo.kafka.controller_heap_mb
        command = (
            f"java -Xms{heap}m -Xmx{heap}m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true "
            f"-Dkafka.logs.dir={dirs.logs} -Dlog4j2.configurationFile={log4j} "
            f"-cp {layout.kafka_libs}/* kafka.Kafka {props}"
        )
        out.append((Program(program, command, dirs.root, startsecs=3), files))
    return out


def _patroni(
    topo: Topology, layout: LabLayout, site: str, dirs: SiteDirs, secrets: Secrets, pki: LabPki | None
) -> tuple[Program, list[RenderedFile]]:
    s = topo.site(site)
    conf = dirs.conf / "patroni.yml"
    tls_dir = dirs.root / "postgres" / "tls"
    tls = {"cert": tls_dir / "server.crt", "key": tls_dir / "server.key", "ca": tls_dir / "ca.crt"}
    tls_files = []
    if pki is not None:  # PostgreSQL reads its key only if the server's user owns it, 0600
        tls_files = [
            RenderedFile(tls["cert"], pki.sites[site].cert_pem, owner="postgres", mode=0o644),
            RenderedFile(tls["key"], pki.sites[site].key_pem, owner="postgres", mode=0o600),
            RenderedFile(tls["ca"], pki.ca_pem, owner="postgres", mode=0o644),
        ]
    host = "hostssl" if pki is not None else "host"
    content = render_template(
        "patroni.yml.j2",
        site=site,
        address=s.address,
        ports=topo.ports,
        zookeeper_hosts=topo.zookeeper_connect().split(","),
        zookeeper_tls=(
            {**tls, "owners": [certificate_subject(site_tls_name(n)) for n in topo.data_sites]}
            if pki is not None
            else None
        ),
        timers=topo.timers.patroni,
        watchdog_margin_s=patroni_watchdog_margin_s(topo.timers.zookeeper, topo.timers.patroni),
        archive_command=backup_config.archive_command(topo, dirs),
        wal_switch_s=topo.backup.wal_switch_s,
        data_dir=dirs.postgres_data,
        socket_dir=dirs.postgres_socket,
        pg_bin_dir=PG_BIN_DIR,
        pgpass=dirs.root / "postgres" / "pgpass",
        secrets=secrets,
        tls=tls if pki is not None else None,
        rest_auth={"username": PATRONI_REST_USER, "password": secrets.patroni_rest},
        pg_hba=[
            "local all all trust",
            f"{host} replication replicator {topo.lab.subnet} scram-sha-256",
            f"{host} all all {topo.lab.subnet} scram-sha-256",
            f"{host} all all 127.0.0.1/32 scram-sha-256",
        ],
    )
    files = [*tls_files, RenderedFile(conf, content, owner="postgres", mode=0o600)]
    command = f"{layout.patroni_venv}/bin/patroni {conf}"
    program = Program(
        "patroni",
        command,
        dirs.root / "postgres",
        user="postgres",
        startsecs=3,
        stopsignal="INT",
        environment=f'LANG="C.UTF-8",HOME="{dirs.root / "postgres"}"',
    )
    return program, files


def haproxy_config(
    topo_front_door: FrontDoor,
    timers: HAProxyTimers,
    ports: Ports,
    app_servers: list[dict[str, object]],
    db_servers: list[dict[str, object]],
    stats_socket: Path,
    errorfile: Path,
    patroni_ca: Path | None = None,
    tls_cert: Path | None = None,
    services_ca: Path | None = None,
) -> str:
    """The front door's haproxy.cfg: `app_servers` run intake and the ticket API, `db_servers`
    PostgreSQL under Patroni (each {name, address, tls_name}); with `patroni_ca`, Patroni's REST API
    is checked over HTTPS against that CA; with `tls_cert` (certificate and key in one PEM file),
    intake and the ticket API are served over TLS only; with `services_ca`, HAProxy reaches them over
    TLS too, each app server's certificate verified against it by its `tls_name`. Shared by the lab
    and production rendering."""
    admission = topo_front_door.intake_admission
    return render_template(
        "haproxy.cfg.j2",
        stats_socket=stats_socket,
        timers=timers,
        front_door=topo_front_door,
        ports=ports,
        app_servers=app_servers,
        db_servers=db_servers,
        patroni_ca=patroni_ca,
        tls_cert=tls_cert,
        services_ca=services_ca,
        intake_lanes=front_door.intake_lanes(admission),
        urgent_paths=front_door.channel_paths(URGENT_CHANNELS),
        alert_paths=front_door.channel_paths(ALERT_CHANNELS),
        critical_alert_regex=front_door.critical_alert_regex(),
        overloaded_errorfile=errorfile,
        site_capacity_per_s=admission.site_capacity_per_s,
        arrivals_window_ms=admission.arrivals_window_ms,
        normal_backend=front_door.NORMAL_BACKEND,
        busy_backend=front_door.BUSY_BACKEND,
        urgent_backend=front_door.URGENT_BACKEND,
    )


def _haproxy(topo: Topology, dirs: SiteDirs, pki: LabPki | None) -> tuple[Program, list[RenderedFile]]:
    conf = dirs.conf / "haproxy.cfg"
    errorfile = dirs.conf / "intake-overloaded.http"
    # One intake/ticket server and one PostgreSQL node per lab site.
    data_sites: list[dict[str, object]] = [
        {"name": n, "address": topo.sites[n].address, "tls_name": site_tls_name(n)} for n in topo.data_sites
    ]
    fd = topo.front_door
    ca = ca_file(topo) if pki is not None else None
    tls_cert = dirs.conf / "front-door.pem" if pki is not None else None
    content = haproxy_config(
        fd,
        topo.timers.haproxy,
        topo.ports,
        data_sites,
        data_sites,
        haproxy_stats_socket(dirs),
        errorfile,
        ca,
        tls_cert,
        ca,
    )
    command = f"haproxy -db -f {conf}"
    refusal = front_door.overloaded_errorfile(fd.intake_admission.retry_after_s)
    files = [RenderedFile(conf, content), RenderedFile(errorfile, refusal)]
    if pki is not None and tls_cert is not None:  # HAProxy reads the certificate and its key from one file
        files.append(RenderedFile(tls_cert, pki.front_door.cert_pem + pki.front_door.key_pem, mode=0o600))
    return Program("haproxy", command, dirs.root, startsecs=1, stopsignal="USR1"), files


def haproxy_stats_socket(dirs: SiteDirs) -> Path:
    return dirs.run / "haproxy.sock"


def _supervisord(group: str, dirs: SiteDirs, programs: list[Program]) -> RenderedFile:
    content = render_template(
        "supervisord.conf.j2",
        socket=dirs.supervisor_socket,
        log_dir=dirs.logs,
        run_dir=dirs.run,
        group=group_name(group),
        programs=programs,
    )
    return RenderedFile(dirs.supervisor_conf, content, mode=0o600)


SERVICE_PROGRAMS = ("intake", "tickets", "ticket-worker", "failover")
COLD_PROGRAMS = ("notifier",)  # present at both data sites, started by the standby controller
CHAT_STANDIN = "chat-platforms"  # the lab's stand-in for Slack's and Zalo's APIs


def programs_of(topo: Topology, group: str) -> list[str]:
    """The supervised program names of one group (a site or the front door)."""
    if group == FRONT_DOOR:
        return ["haproxy"]
    relay = [mail_relay.PROGRAM] if group == topo.mail.relay_site else []
    relay += [CHAT_STANDIN] if group == topo.chat.standin_site else []
    if topo.site(group).role == "data":
        kafka = kafka_programs(topo, group)
        return ["zookeeper", *kafka, "patroni", "pgbackrest", *SERVICE_PROGRAMS, *COLD_PROGRAMS, *relay]
    return ["zookeeper", *kafka_programs(topo, group), "pgbackrest", *relay]


def services_settings_path(dirs: SiteDirs, program: str) -> Path:
    """Each program has its own file: they differ in the Kafka principal (and its password)."""
    return dirs.conf / f"services-{program}.json"


def _services(
    topo: Topology, site: str, dirs: SiteDirs, secrets: Secrets, python: Path, kafka_tls: bool
) -> list[tuple[Program, list[RenderedFile]]]:
    env = 'LANG="C.UTF-8",PYTHONUNBUFFERED="1"'
    out: list[tuple[Program, list[RenderedFile]]] = []
    for name in (*SERVICE_PROGRAMS, *COLD_PROGRAMS):
        path = services_settings_path(dirs, name)
        raw = service_settings(topo, site, secrets, dirs, program=name if kafka_tls else None, runs=name)
        settings = RenderedFile(path, json.dumps(raw, indent=2) + "\n", mode=0o600)
        program = Program(
            name,
            f"{python} -m ccdr serve {name} --config {path}",
            dirs.root,
            startsecs=2,
            environment=env,
            autostart=name not in COLD_PROGRAMS,
        )
        out.append((program, [settings]))
    return out


def kafka_auth_of(topo: Topology, principal: str, password: str) -> dict[str, str]:
    """A client's `kafka.auth` settings (core.settings.KafkaAuth)."""
    return {"username": principal, "password": password, "ca_file": str(ca_file(topo))}


def _local_controller(topo: Topology, site: str, dirs: SiteDirs) -> dict[str, object] | None:
    """What the failover agent needs to keep this site's dedicated controller from leading."""
    if site not in topo.dedicated_controller_sites():
        return None
    return {
        "program": KAFKA_CONTROLLER,
        "node_id": topo.site(site).controller_id,
        "quorum_state": str(dirs.kafka_controller_data / "__cluster_metadata-0" / "quorum-state"),
        "other_voters": [
            f"{s.address}:{topo.ports.kafka_controller}" for n, s in sorted(topo.sites.items()) if n != site
        ],
    }


def service_settings(
    topo: Topology, site: str, secrets: Secrets, dirs: SiteDirs, program: str | None = None, runs: str = "tickets"
) -> dict[str, object]:
    """The settings of one service program at one site (validated as core.settings.ServiceSettings);
    with `program`, it reaches Kafka as that program's principal over SASL_SSL. `runs` names the
    program that reads them (it decides which ZooKeeper servers it tries first)."""
    address = str(topo.site(site).address)
    kafka_auth = None
    if program is not None:
        principal = kafka_access.SERVICE_PRINCIPALS[program]
        kafka_auth = kafka_auth_of(topo, principal, kafka_passwords(secrets)[principal])
    site_tls = {  # HTTPS (and STARTTLS): the site's certificate names the front door's address too
        "tls_cert": str(pki_dir(topo) / f"site-{site}.crt"),
        "tls_key": str(pki_dir(topo) / f"site-{site}.key"),
        "https": True,
    }
    raw: dict[str, object] = {
        "environment": "lab",
        "site": site,
        "public_base_url": topo.front_door_url("tickets"),
        "kafka": {
            "bootstrap": topo.kafka_bootstrap(),
            "intake_topic": topo.kafka.intake_topic,
            "ticket_events_topic": topo.kafka.ticket_events_topic,
            "quarantine_topic": topo.kafka.quarantine_topic,
            "auth": kafka_auth,
        },
        "database_dsn": app_dsn(topo, secrets.app),
        "database_read_dsn": app_dsn(topo, secrets.app, reads_near=site),
        "database_reconnect_s": topo.database.reconnect_s,
        "database_check_timeout_s": topo.database.check_timeout_s,
        "intake_listen": {
            "host": address,
            "http_port": topo.ports.intake_http,
            "smtp_port": topo.ports.intake_smtp,
            "health_port": topo.ports.intake_health,
            # The site's certificate also names the front door, which passes SMTP through.
            **site_tls,
            "smtp_require_tls": True,
        },
        "tickets_listen": {
            "host": address,
            "http_port": topo.ports.tickets_http,
            "health_port": topo.ports.tickets_health,
            **site_tls,
            "trusted_proxies": [str(topo.lab.bridge_address)],  # HAProxy reaches the sites from the bridge
        },
        "ticket_worker_listen": {"host": address, "http_port": topo.ports.ticket_worker_http},
        "intake": topo.intake.model_dump(),
        "tickets": topo.tickets.model_dump(),
        "channels": {
            "alert_token": secrets.alert_token,
            "slack_signing_secret": secrets.slack_signing,
            "teams_hmac_secret": secrets.teams_hmac,
            "zalo_app_id": secrets.zalo_app_id,
            "zalo_oa_secret_key": secrets.zalo_oa_key,
        },
        "zookeeper_hosts": topo.zookeeper_connect(first=topo.zookeeper_preference(site, runs)),
        "zookeeper_auth": f"ccdr:{secrets.zookeeper_ccdr}",
        "zookeeper_tls": {
            "ca_file": str(ca_file(topo)),
            "cert_file": str(pki_dir(topo) / f"site-{site}.crt"),
            "key_file": str(pki_dir(topo) / f"site-{site}.key"),
        },
        "failover": topo.failover.model_dump(),
        "agents": topo.agents.model_dump(),
        "sessions": {"signing_key": secrets.session_key, "public_keys": [public_key_of(secrets.session_key)]},
        "supervisor": {"socket": str(dirs.supervisor_socket), "group": group_name(site)},
        "patroni_url": f"https://{address}:{topo.ports.patroni_rest}",
        "peer_endpoints": {
            peer: [f"{topo.sites[peer].address}:{port}" for port in (topo.ports.patroni_rest, topo.ports.kafka_broker)]
            for peer in topo.data_sites
            if peer != site
        },
        "kafka_controller": _local_controller(topo, site, dirs),
        "patroni_ca": str(ca_file(topo)),
        "mail": {
            "relay_host": str(topo.site(topo.mail.relay_site).address),
            "relay_port": topo.mail.relay_port,
            "sender": topo.mail.sender,
            "ca_file": str(ca_file(topo)),
            "cert_file": str(pki_dir(topo) / f"site-{site}.crt"),
            "key_file": str(pki_dir(topo) / f"site-{site}.key"),
            "timeout_s": topo.mail.send_timeout_s,
            "retry_s": topo.mail.retry_s,
            "max_per_address_per_hour": topo.mail.max_per_address_per_hour,
        },
        "chat_replies": {
            "slack_api_url": f"{chat_standin_url(topo)}/slack/api",
            "slack_bot_token": secrets.slack_bot_token,
            "zalo_api_url": f"{chat_standin_url(topo)}/zalo",
            "zalo_oa_access_token": secrets.zalo_oa_access_token,
            "teams_service_url": f"{chat_standin_url(topo)}/teams/",
            "teams_token_url": f"{chat_standin_url(topo)}/teams/token",
            "teams_scope": topo.chat.teams_scope,
            "teams_app_id": secrets.teams_app_id,
            "teams_app_password": secrets.teams_app_password,
            "ca_file": str(ca_file(topo)),
            "timeout_s": topo.chat.send_timeout_s,
        },
        "customer": {"status_link_key": secrets.status_link_key, "timezone": topo.mail.customer_timezone},
        "console": {
            "data_sites": list(topo.data_sites),
            "drill_archive_dir": str(topo.drills.archive_dir),
            "drill_public_key": str(topo.drills.trusted_public_key),
        },
    }
    ServiceSettings.model_validate(raw)  # refuse to render what the services would refuse to start with
    return raw


def chat_standin_url(topo: Topology) -> str:
    return f"https://{topo.site(topo.chat.standin_site).address}:{topo.chat.standin_port}"


def chat_received(topo: Topology) -> Path:
    """The JSON lines of every message the chat stand-in accepted."""
    return LabLayout(topo).site(topo.chat.standin_site).root / "chat-standin" / "received.jsonl"


def _chat_standin(topo: Topology, dirs: SiteDirs, secrets: Secrets, python: Path) -> tuple[Program, list[RenderedFile]]:
    site = topo.chat.standin_site
    config = {
        "host": str(topo.site(site).address),
        "port": topo.chat.standin_port,
        "cert_file": str(pki_dir(topo) / f"site-{site}.crt"),
        "key_file": str(pki_dir(topo) / f"site-{site}.key"),
        "slack_bot_token": secrets.slack_bot_token,
        "zalo_oa_access_token": secrets.zalo_oa_access_token,
        "teams_app_id": secrets.teams_app_id,
        "teams_app_password": secrets.teams_app_password,
        "teams_scope": topo.chat.teams_scope,
        "received": str(chat_received(topo)),
    }
    path = dirs.conf / "chat-standin.json"
    program = Program(
        CHAT_STANDIN,
        f"{python} -m infra.lab.chat_standin --config {path}",
        dirs.root,
        environment='LANG="C.UTF-8",PYTHONUNBUFFERED="1"',
    )
    return program, [RenderedFile(path, json.dumps(config, indent=2) + "\n", mode=0o600)]


def app_dsn(topo: Topology, password: str, reads_near: str | None = None) -> str:
    """Both data sites, whichever is read-write (multi-host conninfo); fail fast per host. With
    `reads_near`, any node that answers, that site's first (reads that must not wait for a primary)."""
    sites = sorted(topo.data_sites, key=lambda s: s != reads_near)
    hosts = [str(topo.sites[s].address) for s in sites]
    db = topo.database
    any_node = reads_near is not None
    tls = client_tls(topo)
    return service_dsn(hosts, topo.ports.postgres, db.app_user, db.name, any_node=any_node, password=password, **tls)


def service_dsn(hosts: list[str], port: int, user: str, dbname: str, *, any_node: bool, **auth: str) -> str:
    """A service's multi-host conninfo: the read-write node among `hosts`, or (`any_node`) the
    first that answers; `auth` is `password=` (lab) or `passfile=` (production), and the TLS options."""
    return make_conninfo(
        host=",".join(hosts),
        port=",".join(str(port) for _ in hosts),
        user=user,
        dbname=dbname,
        target_session_attrs="any" if any_node else "read-write",
        connect_timeout=CONNECT_TIMEOUT_S,
        # A primary cut off or frozen drops packets without a reset: without these a pooled
        # connection's next query waits for the kernel's retransmission timeout (~2 min).
        tcp_user_timeout=TCP_USER_TIMEOUT_MS,
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=2,
        **auth,
    )


def render_group(
    layout: LabLayout, group: str, secrets: Secrets, python: Path | None = None, pki: LabPki | None = None
) -> list[RenderedFile]:
    """Every file one group needs, supervisord.conf last. With `pki`, PostgreSQL takes TLS
    connections only (the lab always passes it; without it, plain `host` lines)."""
    topo = layout.topology
    dirs = layout.dirs_of(group)
    parts: list[tuple[Program, list[RenderedFile]]]
    if group == FRONT_DOOR:
        parts = [_haproxy(topo, dirs, pki)]
    else:
        parts = [_zookeeper(topo, group, dirs, pki), *_kafka(topo, layout, group, dirs, secrets, pki)]
        if topo.site(group).role == "data":
            parts.append(_patroni(topo, layout, group, dirs, secrets, pki))
        parts.append(backup_config.render_site(topo, layout, group, pki))
        if topo.site(group).role == "data":
            parts.extend(_services(topo, group, dirs, secrets, python or Path(sys.executable), pki is not None))
        if group == topo.mail.relay_site:
            parts.append(mail_relay.render_site(topo, layout, group, pki))
        if group == topo.chat.standin_site:
            parts.append(_chat_standin(topo, dirs, secrets, python or Path(sys.executable)))
    programs = [p for p, _ in parts]
    files = [f for _, fs in parts for f in fs]
    assert [p.name for p in programs] == programs_of(topo, group)
    return [*files, _supervisord(group, dirs, programs)]


def new_kafka_cluster_id() -> str:
    """Kafka's Uuid text form: 16 random bytes, URL-safe base64, no padding.

    Like Kafka's own Uuid.randomUuid, never one starting with '-': command-line parsers
    (kafka-storage among them) would take it for an option.
    """
    while True:
        text = urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text
