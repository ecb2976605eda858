"""Production configuration, per host, from a production topology: systemd units and the configs
of ZooKeeper, Kafka (KRaft), Patroni/PostgreSQL, HAProxy and the ccdr services, plus a
certificate request per host. Written under OUT/<host>/ as the files' absolute paths, so a host's
tree can be copied to its root; nothing secret is written (each secret is named in
OUT/<host>/SECRETS.txt and read at start from /etc/ccdr/secrets).

The component configs come from the lab's templates (infra/lab/templates): what the drills
measured is what is deployed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jinja2

from core.settings import GuardSettings, ServiceSettings
from infra import kafka_access, pgbackrest_conf
from infra.lab import front_door
from infra.lab.render import (
    COLD_PROGRAMS,
    SERVICE_PROGRAMS,
    Program,
    haproxy_config,
    render_template,
    service_dsn,
)
from infra.production.topology import Host, ProductionTopology
from infra.topology import patroni_watchdog_margin_s

_units = jinja2.Environment(
    loader=jinja2.PackageLoader("infra.production", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # systemd units, not HTML
)

SYSTEMD_DIR = Path("/etc/systemd/system")
SOCKET_DIR = Path("/var/run/postgresql")  # Debian's PostgreSQL socket directory (Patroni's and pgBackRest's)


kafka_secret_name = kafka_access.secret_name  # the secret file holding a principal's SCRAM password


# Secrets each role reads at start (files under <etc>/secrets, 0600, owned by the service's user).
ROLE_SECRETS: dict[str, tuple[str, ...]] = {
    "postgres": (
        "patroni.env: PATRONI_SUPERUSER_PASSWORD, PATRONI_REPLICATION_PASSWORD, PATRONI_REWIND_PASSWORD, "
        "PATRONI_RESTAPI_USERNAME, PATRONI_RESTAPI_PASSWORD",
    ),
    "ccdr": (
        "pgpass: the application role's line for every PostgreSQL host (libpq passfile format)",
        "alert_token",
        "slack_signing_secret",
        "teams_hmac_secret",
        "zalo_oa_secret_key",
        "session_signing_key: Ed25519 seed, base64url (python -m ccdr.keys new-session-key)",
        "session_public_key: its public key (and older ones, one per line, while rotating)",
        "zookeeper_auth: user:password, the digest credentials ccdr's znodes belong to",
        "slack_bot_token: the Slack app's bot token (xoxb-...), with chat:write",
        "zalo_oa_access_token: the Zalo Official Account's access token (refresh it before it expires)",
        "teams_app_id, teams_app_password: the desk's Teams bot (Azure Bot registration), for replies in Teams",
        "status_link_key: 32+ random characters signing the customers' status-page links (same at every site)",
        *(
            f"{kafka_secret_name(principal)}: the SCRAM password of Kafka principal {principal} ({program})"
            for program, principal in kafka_access.SERVICE_PRINCIPALS.items()
        ),
    ),
    "kafka-broker": (
        "kafka_broker: the SCRAM password the brokers authenticate each other with",
        "kafka_ops: the operators' SCRAM password (kafka-access.sh acls; Kafka's tools)",
        "zookeeper_auth: user:password, for the step-aside guard (reads the sites' registry records)",
    ),
    "kafka-controller": (
        "every kafka_<principal> password, to format the log with the SCRAM users (kafka-access.sh format)",
    ),
}


@dataclass(frozen=True)
class HostFile:
    path: Path  # absolute, on the host
    content: str
    mode: int = 0o644


def render_production(topo: ProductionTopology, out: Path) -> dict[str, list[Path]]:
    """Write every host's files under `out/<host>/`; returns what was written per host."""
    written: dict[str, list[Path]] = {}
    for site, host in topo.hosts:
        files = host_files(topo, site, host)
        root = out / host.name
        for f in files:
            target = root / f.path.relative_to("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.content)
            target.chmod(f.mode)
        written[host.name] = [root / f.path.relative_to("/") for f in files]
    return written


def host_files(topo: ProductionTopology, site: str, host: Host) -> list[HostFile]:
    files: list[HostFile] = [_certificate_request(topo, site, host)]
    if "zookeeper" in host.roles:
        files += _zookeeper(topo, host)
    if host.roles & {"kafka-controller", "kafka-broker"}:
        files += _kafka(topo, host)
    if "postgres" in host.roles:
        files += _patroni(topo, site, host)
        files += _pgbackrest_database(topo, host)
    if "backup-repo" in host.roles:
        files += _pgbackrest_repository(topo, host)
    if "haproxy" in host.roles:
        files += _haproxy(topo, host)
    if "ccdr" in host.roles:
        files += _ccdr(topo, site, host)
    kafka_node = host.roles & {"kafka-broker", "kafka-controller"}
    if kafka_node and topo.failover.step_aside is not None and site in topo.data_sites:
        files += _step_aside_guard(topo, site, host)
    secrets = [line for role in sorted(host.roles) for line in ROLE_SECRETS.get(role, ())]
    listing = "\n".join(f"- {line}" for line in secrets) or "(none)"
    readme = (
        f"# {host.name} (site {site}: {', '.join(sorted(host.roles))})\n"
        f"Secrets this host needs under {topo.paths.etc}/secrets/ (0700; each file 0600):\n{listing}\n"
    )
    return [*files, HostFile(Path("/SECRETS.txt"), readme)]


def _unit(
    topo: ProductionTopology,
    host: Host,
    name: str,
    description: str,
    command: str,
    user: str,
    directory: Path,
    *,
    stop_signal: str = "SIGTERM",
    env_file: Path | None = None,
) -> HostFile:
    p = topo.paths
    content = _units.get_template("unit.service.j2").render(
        host=host.name,
        description=description,
        docs="/usr/share/doc/ccdr/production.md",
        user=user,
        directory=directory,
        env_file=env_file,
        command=command,
        stop_signal=stop_signal,
        writable=[p.data, p.logs],
    )
    return HostFile(SYSTEMD_DIR / f"ccdr-{name}.service", content)


def _zookeeper(topo: ProductionTopology, host: Host) -> list[HostFile]:
    p = topo.paths
    conf, data = p.etc / "zookeeper" / "zoo.cfg", p.data / "zookeeper"
    log4j = p.etc / "zookeeper" / "log4j.properties"
    servers = [{"node_id": h.node_id, "address": h.address} for _, h in topo.with_role("zookeeper")]
    zoo = render_template(
        "zoo.cfg.j2",
        site=host.name,
        zk=topo.timers.zookeeper,
        data_dir=data,
        address=host.address,
        ports=topo.ports,
        servers=servers,
        tls={"keystore": p.etc / "tls" / f"{host.name}.pem", "ca_file": p.etc / "tls" / "ca.crt"},
    )
    heap = topo.timers.zookeeper.heap_mb
    classpath = ":".join(str(c) for c in [conf.parent, *p.zookeeper_classpath])
    command = (
        f"{p.java} -Xms{heap}m -Xmx{heap}m -Djava.awt.headless=true -Dzookeeper.log.dir={p.logs} "
        f"-Dlog4j.configuration=file:{log4j} -cp {classpath} org.apache.zookeeper.server.quorum.QuorumPeerMain {conf}"
    )
    return [
        HostFile(conf, zoo),
        HostFile(log4j, render_template("zk-log4j.properties.j2", site=host.name)),
        HostFile(data / "myid", f"{host.node_id}\n"),
        _unit(topo, host, "zookeeper", "ZooKeeper (coordination quorum)", command, "zookeeper", data),
    ]


def _kafka(topo: ProductionTopology, host: Host) -> list[HostFile]:
    p = topo.paths
    conf, data = p.etc / "kafka" / "server.properties", p.data / "kafka"
    log4j = p.etc / "kafka" / "log4j2.properties"
    is_broker, is_controller = "kafka-broker" in host.roles, "kafka-controller" in host.roles
    roles = ",".join(r for r, on in (("broker", is_broker), ("controller", is_controller)) if on)
    tls, secrets = p.etc / "tls", p.etc / "secrets"
    # Key and passwords stay in their files: Kafka reads them through its directory config provider.
    node_tls = {
        "mechanism": kafka_access.SCRAM_MECHANISM,
        "broker_user": kafka_access.BROKER,
        "broker_password": f"${{dir:{secrets}:kafka_broker}}",
        "cert_pem": f"${{dir:{tls}:{host.name}.crt}}",
        "key_pem": f"${{dir:{tls}:{host.name}.key}}",
        "ca_file": tls / "ca.crt",
        "principal_rules": kafka_access.PRINCIPAL_MAPPING_RULES,
        "super_users": kafka_access.super_users(
            sorted({h.name for role in ("kafka-controller", "kafka-broker") for _, h in topo.with_role(role)})
        ),
        "config_providers": True,
    }
    props = render_template(
        "kafka.properties.j2",
        site=host.name,
        node_id=host.node_id,
        roles=roles,
        is_broker=is_broker,
        is_controller=is_controller,
        voters=topo.kafka_voters(),
        address=host.address,
        ports=topo.ports,
        data_dir=data,
        kafka=topo.kafka,
        timers=topo.timers.kafka,
        tls=node_tls,
    )
    heap = topo.kafka.broker_heap_mb if is_broker else topo.kafka.controller_heap_mb
    command = (
        f"{p.java} -Xms{heap}m -Xmx{heap}m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true "
        f"-Dkafka.logs.dir={p.logs} -Dlog4j2.configurationFile={log4j} -cp {p.kafka_libs}/* kafka.Kafka {conf}"
    )
    return [
        HostFile(conf, props, mode=0o640),
        HostFile(log4j, render_template("kafka-log4j2.properties.j2", site=host.name)),
        *_kafka_access(topo, host, conf),
        _unit(topo, host, "kafka", f"Kafka ({roles})", command, "kafka", data),
    ]


_ACL_OPERATION = {"READ": "Read", "WRITE": "Write", "DESCRIBE": "Describe"}


def _kafka_access(topo: ProductionTopology, host: Host, server_properties: Path) -> list[HostFile]:
    """`kafka-access.sh format` (every node, once, before the first start: the log with every SCRAM
    user, since brokers authenticate each other before an admin client could add one) and
    `kafka-access.sh acls` (one broker, once the cluster runs): the plan of infra.kafka_access."""
    p = topo.paths
    conf_dir, secrets = server_properties.parent, p.etc / "secrets"
    client = conf_dir / "ops-client.properties"
    client_props = "\n".join(
        [
            "# The operators' admin client (kafka-access.sh acls); its password is read from its file.",
            "config.providers=dir",
            "config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider",
            "security.protocol=SASL_SSL",
            f"sasl.mechanism={kafka_access.SCRAM_MECHANISM}",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{kafka_access.OPS}" password="${{dir:{secrets}:kafka_ops}}";',
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={p.etc / 'tls' / 'ca.crt'}",
        ]
    )
    java = f"{p.java} -Xmx256m -cp '{p.kafka_libs}/*'"
    users = " ".join(f"{u}:{kafka_secret_name(u)}" for u in kafka_access.users())
    bootstrap = ",".join(topo.kafka_bootstrap())
    grants = "\n".join(
        f"  acl --allow-principal User:{g.principal} --operation {_ACL_OPERATION[g.operation]} --{g.resource} {g.name}"
        for g in kafka_access.service_grants(topo.kafka, topo.tickets.consumer_group)
    )
    script = f"""#!/bin/sh
# rendered by ccdr for {host.name}; do not edit. Usage: kafka-access.sh format CLUSTER_ID | acls
set -eu
secrets={secrets}
case "${{1:-}}" in
format)
  # Every SCRAM user into this node's log (passwords from $secrets/kafka_<name>).
  set -- "${{2:?usage: $0 format CLUSTER_ID}}"
  scram=""
  for pair in {users}; do
    scram="$scram --add-scram=SCRAM-SHA-512=[name=${{pair%%:*}},password=$(cat "$secrets/${{pair#*:}}")]"
  done
  # shellcheck disable=SC2086 # one argument per user
  exec {java} kafka.tools.StorageTool format --cluster-id="$1" --config {server_properties} $scram
  ;;
acls)
  acl() {{
    {java} org.apache.kafka.tools.AclCommand --bootstrap-server {bootstrap} \\
      --command-config {client} --add "$@"
  }}
{grants}
  ;;
*)
  echo "usage: $0 format CLUSTER_ID | acls" >&2
  exit 2
  ;;
esac
"""
    return [
        HostFile(client, client_props + "\n", mode=0o640),
        HostFile(conf_dir / "kafka-access.sh", script, mode=0o750),
    ]


def _patroni(topo: ProductionTopology, site: str, host: Host) -> list[HostFile]:
    p = topo.paths
    conf, tls = p.etc / "patroni.yml", p.etc / "tls"
    data_networks = [topo.sites[s].network for s in topo.data_sites]
    content = render_template(
        "patroni.yml.j2",
        site=host.name,
        address=host.address,
        ports=topo.ports,
        zookeeper_hosts=topo.zookeeper_connect().split(","),
        timers=topo.timers.patroni,
        watchdog_margin_s=patroni_watchdog_margin_s(topo.timers.zookeeper, topo.timers.patroni),
        data_dir=p.data / "postgres",
        socket_dir=SOCKET_DIR,
        pg_bin_dir=p.pg_bin_dir,
        pgpass=p.data / "postgres.pgpass",
        zookeeper_tls={
            "cert": tls / f"{host.name}.crt",
            "key": tls / f"{host.name}.key",
            "ca": tls / "ca.crt",
            "owners": [host_subject(topo, s, h) for s, h in topo.with_role("postgres")],
        },
        archive_command=pgbackrest_conf.archive_command(p.pgbackrest, _pgbackrest_conf(topo), topo.backup.stanza),
        wal_switch_s=topo.backup.wal_switch_s,
        secrets=None,  # from the unit's EnvironmentFile
        rest_auth=None,  # likewise (PATRONI_RESTAPI_USERNAME, PATRONI_RESTAPI_PASSWORD)
        tls={"cert": tls / f"{host.name}.crt", "key": tls / f"{host.name}.key", "ca": tls / "ca.crt"},
        pg_hba=[
            "local all postgres peer",
            *(f"hostssl replication replicator {net} scram-sha-256" for net in data_networks),
            *(f"hostssl all all {net} scram-sha-256" for net in data_networks),
        ],
    )
    env = p.etc / "secrets" / "patroni.env"
    unit = _unit(
        topo,
        host,
        "patroni",
        f"Patroni and PostgreSQL (site {site})",
        f"{p.patroni} {conf}",
        "postgres",
        p.data,
        stop_signal="SIGINT",
        env_file=env,
    )
    return [HostFile(conf, content, mode=0o640), unit]


BACKUP_USER = "pgbackrest"  # runs the repository host's server and the scheduled backups


def _pgbackrest_conf(topo: ProductionTopology) -> Path:
    return topo.paths.etc / "pgbackrest.conf"


def _backup_host(topo: ProductionTopology, host: Host) -> pgbackrest_conf.Host:
    """This host as pgBackRest sees it: its own certificate (the request names the host as a DNS
    name, which is what pgBackRest 2.45 checks)."""
    p, tls = topo.paths, topo.paths.etc / "tls"
    return pgbackrest_conf.Host(
        name=host.name,
        address=str(host.address),
        log_dir=p.logs / "pgbackrest",
        lock_dir=p.data / "pgbackrest" / "lock",
        tls=pgbackrest_conf.Tls(tls / f"{host.name}.crt", tls / f"{host.name}.key", tls / "ca.crt"),
    )


def _backup_database(topo: ProductionTopology, host: Host) -> pgbackrest_conf.Database:
    return pgbackrest_conf.Database(host.name, topo.paths.data / "postgres", topo.ports.postgres, SOCKET_DIR)


def _backup_repository(topo: ProductionTopology) -> pgbackrest_conf.Repository:
    b = topo.backup
    path = topo.paths.data / "pgbackrest" / "repo"
    return pgbackrest_conf.Repository(b.stanza, path, topo.ports.backup_tls, b.archive_timeout_s, b.retention_full)


def _pgbackrest_database(topo: ProductionTopology, host: Host) -> list[HostFile]:
    """A PostgreSQL host: archive_command pushes to the repository host, whose backups reach this
    host's pgBackRest server (which admits the repository host only)."""
    p = topo.paths
    _, repo = topo.with_role("backup-repo")[0]
    conf = pgbackrest_conf.database_host(
        _backup_host(topo, host), _backup_repository(topo), repo.name, _backup_database(topo, host)
    )
    command = pgbackrest_conf.server_command(p.pgbackrest, _pgbackrest_conf(topo))
    unit = _unit(
        topo, host, "pgbackrest", "pgBackRest TLS server (backups of this database)", command, "postgres", p.data
    )
    return [HostFile(_pgbackrest_conf(topo), conf, mode=0o640), unit]


def _pgbackrest_repository(topo: ProductionTopology, host: Host) -> list[HostFile]:
    """The witness's repository host: it keeps the archive and the backups, takes them on a
    schedule (systemd timers) from whichever database host is the primary."""
    p, b = topo.paths, topo.backup
    databases = [_backup_database(topo, h) for _, h in topo.with_role("postgres")]
    conf = pgbackrest_conf.repository_host(_backup_host(topo, host), _backup_repository(topo), databases)
    server = pgbackrest_conf.server_command(p.pgbackrest, _pgbackrest_conf(topo))
    files = [
        HostFile(_pgbackrest_conf(topo), conf, mode=0o640),
        _unit(topo, host, "pgbackrest", "pgBackRest TLS server (the backup repository)", server, BACKUP_USER, p.data),
    ]
    for kind, calendar in (("full", b.full_schedule), ("incr", b.incremental_schedule)):
        what = f"{kind} backup of the database (pgBackRest)"
        command = f"{p.pgbackrest} --config={_pgbackrest_conf(topo)} --stanza={b.stanza} --type={kind} backup"
        common = {"host": host.name, "description": what, "docs": "/usr/share/doc/ccdr/backup.md"}
        service = _units.get_template("backup.service.j2").render(
            **common, user=BACKUP_USER, directory=p.data, command=command, writable=[p.data, p.logs]
        )
        timer = _units.get_template("backup.timer.j2").render(**common, calendar=calendar)
        files += [
            HostFile(SYSTEMD_DIR / f"ccdr-backup-{kind}.service", service),
            HostFile(SYSTEMD_DIR / f"ccdr-backup-{kind}.timer", timer),
        ]
    return files


def _haproxy(topo: ProductionTopology, host: Host) -> list[HostFile]:
    p = topo.paths
    conf, errorfile = p.etc / "haproxy" / "haproxy.cfg", p.etc / "haproxy" / "intake-overloaded.http"
    app = [{"name": h.name, "address": h.address, "tls_name": h.name} for _, h in topo.with_role("ccdr")]
    db = [{"name": h.name, "address": h.address, "tls_name": h.name} for _, h in topo.with_role("postgres")]
    fd = topo.front_door.model_copy(update={"address": host.address})  # each front door binds its own address
    ca = p.etc / "tls" / "ca.crt"
    # HTTPS for clients: the host's certificate followed by its key, in one file (HAProxy's form).
    tls_cert = p.etc / "tls" / f"{host.name}.pem"
    content = haproxy_config(
        fd, topo.timers.haproxy, topo.ports, app, db, Path("/run/haproxy/admin.sock"), errorfile, ca, tls_cert, ca
    )
    refusal = front_door.overloaded_errorfile(fd.intake_admission.retry_after_s)
    command = f"{p.haproxy} -Ws -f {conf}"
    unit = _unit(topo, host, "haproxy", "HAProxy (front door)", command, "haproxy", conf.parent, stop_signal="SIGUSR1")
    return [HostFile(conf, content), HostFile(errorfile, refusal), unit]


def _ccdr(topo: ProductionTopology, site: str, host: Host) -> list[HostFile]:
    """The services under one supervisord (the failover agent starts the cold notifier through it)."""
    p = topo.paths
    socket = Path("/run/ccdr/supervisor.sock")
    programs = [
        Program(
            name,
            f"{p.python} -m ccdr serve {name} --config {services_path(topo, name)}",
            p.data,
            user="ccdr",
            startsecs=2,
            environment='LANG="C.UTF-8",PYTHONUNBUFFERED="1"',
            autostart=name not in COLD_PROGRAMS,
        )
        for name in (*SERVICE_PROGRAMS, *COLD_PROGRAMS)
    ]
    supervisord = render_template(
        "supervisord.conf.j2",
        socket=socket,
        log_dir=p.logs,
        run_dir=socket.parent,
        group=f"site-{site}",
        programs=programs,
    )
    conf = p.etc / "supervisord.conf"
    command = f"{p.python} -m supervisor.supervisord --nodaemon --configuration {conf}"
    unit = _unit(topo, host, "services", f"ccdr services (site {site})", command, "root", p.data)
    documents = [
        HostFile(
            services_path(topo, p.name),
            json.dumps(services_document(topo, site, host, socket, p.name), indent=2) + "\n",
            mode=0o640,
        )
        for p in programs
    ]
    return [*documents, HostFile(conf, supervisord, mode=0o640), unit]


KAFKA_UNIT = "ccdr-kafka.service"


def _step_aside_guard(topo: ProductionTopology, site: str, host: Host) -> list[HostFile]:
    """A data site's Kafka host follows the step-aside rule itself (`ccdr serve step-aside`): when
    its site is cut off from the other one, which holds the primary, a broker stops so that its
    leaders move, and a controller so that a leading one resigns. A dedicated controller's guard
    also keeps it from leading (failover.controller_steward). It runs as `ccdr`, which a polkit
    rule lets start and stop that one unit only."""
    p = topo.paths
    settings = p.etc / "step-aside.json"
    dedicated = "kafka-controller" in host.roles and "kafka-broker" not in host.roles
    document = {
        "environment": "production",
        "site": site,
        "zookeeper_hosts": topo.zookeeper_connect(first=topo.zookeeper_preference(site, "step-aside")),
        "zookeeper_auth": _secret(topo, "zookeeper_auth"),
        "zookeeper_tls": _zookeeper_tls(topo, host),
        "failover": topo.failover.model_dump(),
        "peer_endpoints": peer_endpoints(topo, site),
        "patroni_url": _own_patroni_url(topo, site),
        "patroni_ca": str(p.etc / "tls" / "ca.crt"),
        "units": [KAFKA_UNIT],
        "kafka_controller": _local_controller(topo, host) if dedicated else None,
    }
    command = f"{p.python} -m ccdr serve step-aside --config {settings}"
    unit = _unit(
        topo, host, "step-aside", f"ccdr step-aside guard (site {site}, {KAFKA_UNIT})", command, "ccdr", p.data
    )
    polkit = (
        "// rendered by ccdr: the step-aside guard (user ccdr) may start and stop the Kafka broker, nothing else\n"
        "polkit.addRule(function(action, subject) {\n"
        '    if (action.id == "org.freedesktop.systemd1.manage-units" &&\n'
        f'        action.lookup("unit") == "{KAFKA_UNIT}" &&\n'
        '        (action.lookup("verb") == "start" || action.lookup("verb") == "stop") &&\n'
        '        subject.user == "ccdr") {\n'
        "        return polkit.Result.YES;\n"
        "    }\n"
        "});\n"
    )
    return [
        HostFile(settings, json.dumps(document, indent=2) + "\n", mode=0o640),
        unit,
        HostFile(Path("/etc/polkit-1/rules.d/50-ccdr-step-aside.rules"), polkit),
    ]


def _local_controller(topo: ProductionTopology, host: Host) -> dict[str, object]:
    """A coordination host's controller: its metadata log is its only log dir (Kafka's data dir),
    whose `quorum-state` the guard (user ccdr) reads."""
    return {
        "program": KAFKA_UNIT,
        "node_id": host.node_id,
        "quorum_state": str(topo.paths.data / "kafka" / "__cluster_metadata-0" / "quorum-state"),
        "other_voters": [
            f"{h.address}:{topo.ports.kafka_controller}" for _, h in topo.with_role("kafka-controller") if h != host
        ],
    }


def peer_endpoints(topo: ProductionTopology, site: str) -> dict[str, list[str]]:
    """Per other data site, what proves this site reaches it: its Patroni API and its brokers."""
    ports = topo.ports
    return {
        peer: [f"{h.address}:{ports.patroni_rest}" for s, h in topo.with_role("postgres") if s == peer]
        + [f"{h.address}:{ports.kafka_broker}" for s, h in topo.with_role("kafka-broker") if s == peer]
        for peer in topo.data_sites
        if peer != site
    }


def _own_patroni_url(topo: ProductionTopology, site: str) -> str:
    own = next(h for s, h in topo.with_role("postgres") if s == site)
    return f"https://{own.address}:{topo.ports.patroni_rest}"


def _zookeeper_tls(topo: ProductionTopology, host: Host) -> dict[str, str]:
    tls = topo.paths.etc / "tls"
    return {
        "ca_file": str(tls / "ca.crt"),
        "cert_file": str(tls / f"{host.name}.crt"),
        "key_file": str(tls / f"{host.name}.key"),
    }


def services_path(topo: ProductionTopology, program: str) -> Path:
    """One settings file per program: each reaches Kafka as its own principal."""
    return topo.paths.etc / f"services-{program}.json"


def _secret(topo: ProductionTopology, name: str) -> dict[str, str]:
    return {"$file": str(topo.paths.etc / "secrets" / name)}


def services_document(
    topo: ProductionTopology, site: str, host: Host, supervisor_socket: Path, program: str
) -> dict[str, object]:
    """One service program's settings at one host, secrets by reference (core.settings.resolve_secrets)."""
    postgres = topo.with_role("postgres")
    near_first = [str(h.address) for _, h in sorted(postgres, key=lambda sh: sh[0] != site)]
    db, ports = topo.database, topo.ports
    passfile = str(topo.paths.etc / "secrets" / "pgpass")
    tls = {"sslmode": "verify-full", "sslrootcert": str(topo.paths.etc / "tls" / "ca.crt")}
    proxies = [str(h.address) for _, h in topo.with_role("haproxy")]
    address = str(host.address)
    host_tls = {
        "tls_cert": str(topo.paths.etc / "tls" / f"{host.name}.crt"),
        "tls_key": str(topo.paths.etc / "tls" / f"{host.name}.key"),
        "https": True,
    }
    document: dict[str, object] = {
        "environment": "production",
        "site": site,
        "public_base_url": topo.public_base_url,
        "kafka": {
            "bootstrap": topo.kafka_bootstrap(),
            "intake_topic": topo.kafka.intake_topic,
            "ticket_events_topic": topo.kafka.ticket_events_topic,
            "quarantine_topic": topo.kafka.quarantine_topic,
            "auth": {
                "username": kafka_access.SERVICE_PRINCIPALS[program],
                "password": _secret(topo, kafka_secret_name(kafka_access.SERVICE_PRINCIPALS[program])),
                "ca_file": str(topo.paths.etc / "tls" / "ca.crt"),
            },
        },
        "database_dsn": service_dsn(
            [str(h.address) for _, h in postgres],
            ports.postgres,
            db.app_user,
            db.name,
            any_node=False,
            passfile=passfile,
            **tls,
        ),
        "database_read_dsn": service_dsn(
            near_first, ports.postgres, db.app_user, db.name, any_node=True, passfile=passfile, **tls
        ),
        "database_reconnect_s": db.reconnect_s,
        "database_check_timeout_s": db.check_timeout_s,
        "intake_listen": {
            "host": address,
            "http_port": ports.intake_http,
            "smtp_port": ports.intake_smtp,
            "health_port": ports.intake_health,
            **host_tls,
            "smtp_require_tls": True,
        },
        "tickets_listen": {
            "host": address,
            "http_port": ports.tickets_http,
            "health_port": ports.tickets_health,
            "trusted_proxies": proxies,
            **host_tls,
        },
        "ticket_worker_listen": {"host": address, "http_port": ports.ticket_worker_http},
        "intake": topo.intake.model_dump(),
        "tickets": topo.tickets.model_dump(),
        "channels": {
            "alert_token": _secret(topo, "alert_token"),
            "slack_signing_secret": _secret(topo, "slack_signing_secret"),
            "teams_hmac_secret": _secret(topo, "teams_hmac_secret"),
            "zalo_app_id": _secret(topo, "zalo_app_id"),  # not secret, but set per deployment with the others
            "zalo_oa_secret_key": _secret(topo, "zalo_oa_secret_key"),
        },
        "zookeeper_hosts": topo.zookeeper_connect(first=topo.zookeeper_preference(site, program)),
        "zookeeper_auth": _secret(topo, "zookeeper_auth"),
        "zookeeper_tls": _zookeeper_tls(topo, host),
        "failover": topo.failover.model_dump(),
        "agents": topo.agents.model_dump(),
        "sessions": {
            "signing_key": _secret(topo, "session_signing_key"),
            "public_keys": [_secret(topo, "session_public_key")],
        },
        "supervisor": {"socket": str(supervisor_socket), "group": f"site-{site}"},
        "patroni_url": _own_patroni_url(topo, site),
        "peer_endpoints": peer_endpoints(topo, site),
        "patroni_ca": str(topo.paths.etc / "tls" / "ca.crt"),
        "mail": {
            "relay_host": topo.mail.relay_host,
            "relay_port": topo.mail.relay_port,
            "sender": topo.mail.sender,
            "ca_file": str(topo.paths.etc / "tls" / "ca.crt"),
            "cert_file": str(topo.paths.etc / "tls" / f"{host.name}.crt"),
            "key_file": str(topo.paths.etc / "tls" / f"{host.name}.key"),
            "timeout_s": topo.mail.send_timeout_s,
            "retry_s": topo.mail.retry_s,
            "max_per_address_per_hour": topo.mail.max_per_address_per_hour,
        },
        "chat_replies": {
            "slack_api_url": topo.chat.slack_api_url,
            "slack_bot_token": _secret(topo, "slack_bot_token"),
            "zalo_api_url": topo.chat.zalo_api_url,
            "zalo_oa_access_token": _secret(topo, "zalo_oa_access_token"),
            "teams_service_url": topo.chat.teams_service_url,
            "teams_token_url": topo.chat.teams_token_url,
            "teams_scope": topo.chat.teams_scope,
            "teams_app_id": _secret(topo, "teams_app_id"),
            "teams_app_password": _secret(topo, "teams_app_password"),
            "timeout_s": topo.chat.send_timeout_s,
        },
        "customer": {"status_link_key": _secret(topo, "status_link_key"), "timezone": topo.mail.customer_timezone},
        "console": {"data_sites": topo.data_sites},
    }
    return document


def check_document(document: dict[str, object], secrets: dict[str, str]) -> ServiceSettings:
    """Validate a rendered services document as the services will, each secret reference filled
    from `secrets` by file name (the real files live only on the hosts)."""
    return ServiceSettings.model_validate(_fill(document, secrets))


def check_guard_document(document: dict[str, object], secrets: dict[str, str]) -> GuardSettings:
    """The same for the step-aside guard's settings (a Kafka broker's host)."""
    return GuardSettings.model_validate(_fill(document, secrets))


def _fill(value: object, secrets: dict[str, str]) -> object:
    if isinstance(value, dict):
        if set(value) == {"$file"}:
            return secrets[Path(str(value["$file"])).name]
        return {k: _fill(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, secrets) for v in value]
    return value


def host_subject(topo: ProductionTopology, site: str, host: Host) -> str:
    """A host certificate's subject as ZooKeeper's x509 identities read it (RFC 2253: the request's
    [dn] in reverse)."""
    return f"CN={host.name},OU=site {site},O={topo.name}"


def _certificate_request(topo: ProductionTopology, site: str, host: Host) -> HostFile:
    """An OpenSSL request config: the host makes its own key and CSR, the organisation's CA signs it."""
    tls = topo.paths.etc / "tls"
    key, csr, cnf = tls / f"{host.name}.key", tls / f"{host.name}.csr", tls / f"{host.name}.cnf"
    content = (
        f"# On {host.name}: openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \\\n"
        f"#   -keyout {key} -out {csr} -config {cnf}\n"
        "# then have the CA sign it into "
        f"{tls / (host.name + '.crt')} (with the CA's own certificate as {tls / 'ca.crt'}).\n"
        "[req]\nprompt = no\ndistinguished_name = dn\nreq_extensions = ext\n\n"
        # CN last: its RFC 2253 form (what Kafka's principal rule and ZooKeeper's x509 ids read) starts with it.
        f"[dn]\nO = {topo.name}\nOU = site {site}\nCN = {host.name}\n\n"
        f"[ext]\nsubjectAltName = DNS:{host.name}, IP:{host.address}\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth, clientAuth\n"
    )
    return HostFile(cnf, content)
