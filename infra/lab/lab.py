"""Bring the lab up and down, and bring a site back: the orchestration behind `ccdr lab`."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from infra import kafka_access
from infra.lab import (
    backup,
    backup_config,
    database,
    faults,
    health,
    kafka_security,
    leaders,
    mail_relay,
    netns,
    pki,
    probes,
    supervise,
    topics,
)
from infra.lab import secrets as lab_secrets
from infra.lab.errors import LabError, MissingBinary
from infra.lab.layout import FRONT_DOOR, LabLayout
from infra.lab.render import (
    COLD_PROGRAMS,
    KAFKA_CONTROLLER,
    SERVICE_PROGRAMS,
    RenderedFile,
    Secrets,
    kafka_log_dir,
    kafka_ops_tools_file,
    kafka_passwords,
    kafka_programs,
    kafka_properties_path,
    new_kafka_cluster_id,
    render_group,
    services_settings_path,
)
from infra.lab.system import INSTALL_STEP, require_binaries, require_port_free, require_root, run, signal_pids
from infra.topology import Topology

KAFKA_SCRAM_MARKER = "kafka-formatted-with-scram"  # in the site dir: its log has the users


@dataclass
class Lab:
    topology: Topology
    console: Console

    @property
    def layout(self) -> LabLayout:
        return LabLayout(self.topology)

    # -- preconditions -------------------------------------------------------------
    def _preflight(self) -> None:
        require_root()
        layout = self.layout
        require_binaries(
            {
                str(
                    layout.kafka_libs / f"kafka_2.13-{self.topology.lab.kafka_version}.jar"
                ): f"{INSTALL_STEP} (maven: Kafka jars)",
                str(layout.patroni_venv / "bin" / "patroni"): f"{INSTALL_STEP} (Patroni venv)",
                str(mail_relay.POSTFIX): f"{INSTALL_STEP} (apt: postfix)",
            }
        )
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise MissingBinary("the postgres user", f"{INSTALL_STEP} (apt: postgresql-15)") from None
        if not supervise.is_up(layout, FRONT_DOOR):
            fd = self.topology.front_door
            for port, purpose in (
                (fd.postgres_primary, "front door: postgres primary"),
                (fd.postgres_replica, "front door: postgres replica"),
                (fd.stats, "front door: HAProxy stats"),
                (fd.intake_http, "front door: intake HTTP"),
                (fd.intake_smtp, "front door: intake SMTP"),
                (fd.tickets_http, "front door: ticket API"),
            ):
                require_port_free(str(fd.address), port, purpose)

    # -- files -----------------------------------------------------------------------
    def _write(self, files: list[RenderedFile]) -> list[Path]:
        """Write what differs; the paths written."""
        changed = []
        for f in files:
            f.path.parent.mkdir(parents=True, exist_ok=True)
            if f.path.exists() and f.path.read_text() == f.content:
                continue
            f.path.write_text(f.content)
            os.chmod(f.path, f.mode)
            shutil.chown(f.path, f.owner, f.owner)
            changed.append(f.path)
        return changed

    def _prepare_dirs(self, group: str) -> None:
        dirs = self.layout.dirs_of(group)
        for d in (dirs.conf, dirs.logs, dirs.run):
            d.mkdir(parents=True, exist_ok=True)
        if group != FRONT_DOOR:
            backup_config.prepare_dirs(self.layout, group)
        if group == self.topology.mail.relay_site:
            mail_relay.prepare_dirs(self.layout, group)
        if group != FRONT_DOOR and self.topology.site(group).role == "data":
            pg_root = dirs.root / "postgres"
            dirs.postgres_socket.mkdir(parents=True, exist_ok=True)
            pg_root.chmod(0o700)
            for path in (pg_root, dirs.postgres_socket):
                shutil.chown(path, "postgres", "postgres")
            if dirs.postgres_data.exists():
                shutil.chown(dirs.postgres_data, "postgres", "postgres")
        os.chmod(dirs.root, 0o755)

    def _kafka_cluster_id(self) -> str:
        path = self.layout.kafka_cluster_id_file
        if not path.exists():
            path.write_text(new_kafka_cluster_id())
        return path.read_text().strip()

    def _format_kafka(self, site: str, secrets: Secrets) -> None:
        """Format each of the site's Kafka logs once (its broker's, and a dedicated controller's),
        with every SCRAM user in its bootstrap metadata (the brokers authenticate each other with
        one before any admin client could add it)."""
        dirs = self.layout.site(site)
        marker = dirs.root / KAFKA_SCRAM_MARKER
        formatted = {
            p: (kafka_log_dir(dirs, p) / "meta.properties").exists() for p in kafka_programs(self.topology, site)
        }
        if any(formatted.values()) and not marker.exists():
            raise LabError(
                f"site {site}'s Kafka log was formatted before its listeners required SCRAM users; "
                "run `ccdr lab down --purge`, then `ccdr lab up`"
            )
        if formatted.get("kafka") and formatted.get(KAFKA_CONTROLLER) is False:
            raise LabError(
                f"site {site}'s Kafka log was formatted when its broker was its controller too; "
                "run `ccdr lab down --purge`, then `ccdr lab up`"
            )
        passwords = kafka_passwords(secrets)
        scram = [
            f"--add-scram={kafka_access.SCRAM_MECHANISM}=[name={user},password={passwords[user]}]"
            for user in kafka_access.users()
        ]
        for program in (p for p, done in formatted.items() if not done):
            run(
                [
                    "java",
                    "-Xmx128m",
                    "-cp",
                    f"{self.layout.kafka_libs}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    f"--cluster-id={self._kafka_cluster_id()}",
                    "--config",
                    str(kafka_properties_path(dirs, program)),
                    "--ignore-formatted",
                    *scram,
                ],
                timeout=120,
            )
        marker.touch()

    def render(self) -> list[Path]:
        """Every group's files; the paths that changed."""
        layout = self.layout
        changed: list[Path] = []
        layout.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(layout.state_dir, 0o755)  # the postgres user must reach its site dir
        secrets = lab_secrets.load_or_create(layout)
        certificates = pki.load_or_create(layout)
        changed += self._write([kafka_ops_tools_file(self.topology, certificates)])
        for group in layout.groups():
            self._prepare_dirs(group)
            changed += self._write(render_group(layout, group, secrets, pki=certificates))
            if group != FRONT_DOOR:
                self._format_kafka(group, secrets)
        return changed

    # -- up ----------------------------------------------------------------------------
    def up(self) -> list[health.Waited]:
        self._preflight()
        topo, layout, console = self.topology, self.layout, self.console
        timeout = topo.timers.lab.up_timeout_s
        with console.status("rendering configuration from the topology"):
            changed = self.render()
        console.print(f"[green]✓[/green] configuration rendered under {layout.state_dir}")
        netns.create_network(topo)
        console.print(
            f"[green]✓[/green] network: bridge {topo.lab.bridge}, namespaces "
            f"{', '.join(s.namespace for s in topo.sites.values())}"
        )
        haproxy_cfg = layout.front_door.conf / "haproxy.cfg"
        for group in layout.groups():
            if supervise.is_up(layout, group):
                supervise.reload(layout, group)
                # A running lab made by an older version: HAProxy reads its file only at start,
                # Patroni on request (a plain-HTTP one before its API had TLS).
                if group == FRONT_DOOR and haproxy_cfg in changed:
                    supervise.stop_program(layout, group, "haproxy")
                    supervise.start_program(layout, group, "haproxy")
                # Services read their settings at start: restart those whose file changed (a cold
                # one that is stopped stays stopped; its owner starts it with the new file).
                if group != FRONT_DOOR and topo.site(group).role == "data":
                    for program in (*SERVICE_PROGRAMS, *COLD_PROGRAMS):
                        if services_settings_path(layout.site(group), program) in changed:
                            supervise.restart_if_running(layout, group, program)
            else:
                supervise.start(layout, group)
        probes.patroni_reload(topo, lab_secrets.load(layout).patroni_rest)
        console.print("[green]✓[/green] supervisord started for " + ", ".join(layout.groups()))
        waited = [
            health.wait_for(
                console,
                "ZooKeeper quorum",
                health.zookeeper_quorum(topo),
                timeout,
                layout.site(topo.witness_site).log_of("zookeeper"),
            ),
            health.wait_for(
                console,
                "Kafka brokers",
                health.kafka_brokers(topo, in_sync=False),
                timeout,
                layout.site(topo.data_sites[0]).log_of("kafka"),
            ),
        ]
        access = kafka_security.apply(topo, kafka_passwords(lab_secrets.load(layout)))
        if access.users_added or access.acls_added or access.acls_removed:
            console.print(
                f"[green]✓[/green] Kafka access: {len(access.users_added)} users added, "
                f"{access.acls_added} ACLs added, {access.acls_removed} removed"
            )
        created = topics.ensure_topics(topo)
        if created:
            console.print(f"[green]✓[/green] topics created: {', '.join(created)}")
        waited += [
            health.wait_for(
                console,
                "Kafka replicas in sync",
                health.kafka_brokers(topo),
                timeout,
                layout.site(topo.data_sites[0]).log_of("kafka"),
            ),
            self._wait_preferred_leaders(timeout),
            health.wait_for(
                console,
                "Patroni primary and sync standby",
                health.patroni_pair(topo),
                timeout,
                layout.site(topo.data_sites[0]).log_of("patroni"),
            ),
            health.wait_for(
                console, "HAProxy front door", health.front_door(layout), timeout, layout.front_door.log_of("haproxy")
            ),
            health.wait_for(
                console,
                "mail relay",
                health.mail_relay(topo),
                timeout,
                layout.site(topo.mail.relay_site).log_of(mail_relay.PROGRAM),
            ),
        ]
        secrets = lab_secrets.load(layout)
        admin = database.front_door_dsn(topo, "postgres", secrets.superuser, "postgres")
        waited.append(
            health.wait_for(
                console,
                "PostgreSQL over verified TLS",
                health.postgres_tls(admin),
                timeout,
                layout.site(topo.data_sites[0]).log_of("patroni"),
            )
        )
        database.ensure_database(topo, secrets)
        applied = database.migrate(topo, secrets)
        console.print(
            f"[green]✓[/green] database {topo.database.name}: "
            f"{len(applied)} migration(s) applied" + (f" ({', '.join(applied)})" if applied else "")
        )
        seeded = database.seed_reference(topo, secrets)
        console.print(f"[green]✓[/green] reference data: {seeded} new customer/contract/asset rows")
        agents, shifts = database.seed_agents(topo, secrets)
        console.print(f"[green]✓[/green] demo agents: {agents} new, duty roster: {shifts} new shifts")
        with console.status("backups: the repository at the witness"):
            summary = self._ensure_backups()
        console.print(f"[green]✓[/green] backups: {summary}")
        waited += [
            health.wait_for(
                console,
                "intake and ticket services at both sites",
                health.services(layout),
                timeout,
                layout.site(topo.data_sites[0]).log_of("tickets"),
            ),
            health.wait_for(
                console,
                "ticket workers holding every intake partition",
                health.ticket_workers(topo),
                timeout,
                layout.site(topo.data_sites[0]).log_of("ticket-worker"),
            ),
        ]
        return waited

    def _wait_preferred_leaders(self, timeout: float) -> health.Waited:
        ops_password = kafka_passwords(lab_secrets.load(self.layout))[kafka_access.OPS]
        return health.wait_for(
            self.console,
            "Kafka partitions led by their preferred replicas",
            leaders.preferred_leaders(self.topology, ops_password),
            timeout,
            self.layout.site(self.topology.data_sites[0]).log_of("kafka"),
        )

    def _ensure_backups(self) -> str:
        """The repository's stanza, and a first full backup: a lab can be restored from its start."""
        created = backup.ensure_stanza(self.layout)
        taken = None
        if not backup.info(self.layout).get("backup"):
            taken = backup.backup(self.layout, "full")
        state = backup.info(self.layout)
        archive = (state.get("archive") or [{}])[-1]
        return (
            ("stanza created, " if created else "")
            + (f"first full backup {taken['label']}, " if taken else "")
            + f"{len(state.get('backup', []))} backup(s), WAL archived up to {archive.get('max') or 'nothing yet'}"
        )

    # -- down --------------------------------------------------------------------------
    def down(self, purge: bool = False) -> None:
        require_root()
        topo, layout, console = self.topology, self.layout, self.console
        with console.status("stopping every process"):
            for name in topo.sites:
                faults.thaw_site(topo, name)  # a frozen site cannot stop
            for group in layout.groups():
                supervise.shutdown(layout, group)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (self._lab_pids()):
                time.sleep(0.5)
            signal_pids(self._lab_pids(), signal.SIGKILL)
            self._wait_gone(self._lab_pids)
        console.print("[green]✓[/green] every lab process stopped")
        netns.remove_network(topo)
        console.print("[green]✓[/green] namespaces, bridge and fault rules removed")
        if purge and layout.state_dir.exists():
            shutil.rmtree(layout.state_dir)
            console.print(f"[green]✓[/green] purged {layout.state_dir}")

    def _lab_pids(self) -> list[int]:
        pids = [p for s in self.topology.sites.values() for p in netns.pids_in(s.namespace)]
        pid_file = self.layout.front_door.run / "supervisord.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().strip() or 0)
            if pid and _alive(pid):
                pids.append(pid)
                pids += _children(pid)
        return pids

    @staticmethod
    def _wait_gone(pids_of: Callable[[], list[int]]) -> None:
        deadline = time.monotonic() + faults.KILL_WAIT_S
        while time.monotonic() < deadline and pids_of():
            time.sleep(0.2)

    # -- faults and restore -----------------------------------------------------------
    def rebuild_site(self, site: str) -> list[health.Waited]:
        """Bring back a site whose disks were lost (`burn-site`): its identity (configuration, node
        ids, certificates) is rendered again, its Kafka log formatted with the cluster's id, and
        the survivors fill it: ZooKeeper sends a snapshot, Kafka's leaders re-replicate every
        partition, Patroni clones the primary (pg_basebackup). Waits as `restore_site` does."""
        topo = self.topology
        if netns.pids_in(topo.site(site).namespace):
            raise LabError(f"site {site} is running: burn it (`ccdr lab burn-site {site}`) or restore it instead")
        dirs = self.layout.site(site)
        kept = [
            str(p)
            for p in (
                dirs.zookeeper_data / "version-2",
                dirs.kafka_data / "meta.properties",
                dirs.kafka_controller_data / "meta.properties",
            )
            if p.exists()
        ]
        if kept:
            raise LabError(f"site {site} still has its data ({', '.join(kept)}): `ccdr lab restore-site {site}`")
        return self.restore_site(site)

    def restore_site(self, site: str) -> list[health.Waited]:
        """Start a killed site again and wait until it rejoins as follower/replica."""
        self._preflight()
        topo, layout, console = self.topology, self.layout, self.console
        timeout = topo.timers.lab.restore_timeout_s
        if netns.fault_rules(topo):
            raise LabError("fault rules are still in place: run `ccdr lab heal` before restoring a site")
        faults.thaw_site(topo, site)
        self.render()
        supervise.start(layout, site)
        console.print(f"[green]✓[/green] site {site}: supervisord started")
        dirs = layout.site(site)
        waited = [
            health.wait_for(
                console,
                f"ZooKeeper at {site} rejoined",
                health.zookeeper_quorum(topo),
                timeout,
                dirs.log_of("zookeeper"),
            ),
        ]
        if site in topo.kafka_broker_sites:
            waited.append(
                health.wait_for(
                    console, f"Kafka at {site} back in sync", health.kafka_brokers(topo), timeout, dirs.log_of("kafka")
                )
            )
            waited.append(self._wait_preferred_leaders(timeout))
        if topo.site(site).role == "data":
            waited += [
                health.wait_for(
                    console,
                    f"PostgreSQL at {site} back in the pair (primary or sync standby)",
                    health.patroni_pair(topo, member=site),
                    timeout,
                    dirs.log_of("patroni"),
                ),
                health.wait_for(
                    console,
                    f"intake and ticket services at {site} in the front door",
                    health.services(layout),
                    timeout,
                    dirs.log_of("tickets"),
                ),
                health.wait_for(
                    console,
                    f"ticket worker at {site} holding intake partitions",
                    health.ticket_workers(topo),
                    timeout,
                    dirs.log_of("ticket-worker"),
                ),
            ]
        return waited


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children(pid: int) -> list[int]:
    out = run(["ps", "-o", "pid=", "--ppid", str(pid)], check=False)
    return [int(p) for p in out.split()]
