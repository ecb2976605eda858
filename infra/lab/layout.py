"""Where the lab keeps things: one directory per site under the state dir. Pure path arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra.topology import Topology

FRONT_DOOR = "frontdoor"  # the supervisord group of the root namespace (HAProxy)
PG_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
ZOOKEEPER_CLASSPATH = (
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
    # TLS (Netty's SslHandler): zookeeper.jar's manifest lists Netty's other jars, not its codec.
    "/usr/share/java/netty-codec.jar",
)


@dataclass(frozen=True)
class SiteDirs:
    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def zookeeper_data(self) -> Path:
        return self.root / "zookeeper"

    @property
    def kafka_data(self) -> Path:
        return self.root / "kafka"

    @property
    def kafka_controller_data(self) -> Path:
        """A dedicated controller's metadata log (Topology.dedicated_controller_sites)."""
        return self.root / "kafka-controller"

    @property
    def postgres_data(self) -> Path:
        return self.root / "postgres" / "data"

    @property
    def postgres_socket(self) -> Path:
        return self.root / "postgres" / "socket"

    @property
    def supervisor_socket(self) -> Path:
        return self.run / "supervisor.sock"

    @property
    def supervisor_conf(self) -> Path:
        return self.conf / "supervisord.conf"

    def log_of(self, program: str) -> Path:
        return self.logs / f"{program}.log"


@dataclass(frozen=True)
class LabLayout:
    topology: Topology

    @property
    def state_dir(self) -> Path:
        return self.topology.lab.state_dir

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.json"

    @property
    def kafka_cluster_id_file(self) -> Path:
        return self.state_dir / "kafka-cluster-id"

    @property
    def kafka_libs(self) -> Path:
        return self.topology.lab.install_dir / f"kafka-{self.topology.lab.kafka_version}" / "libs"

    @property
    def patroni_venv(self) -> Path:
        return self.topology.lab.install_dir / "patroni-venv"

    @property
    def front_door(self) -> SiteDirs:
        return SiteDirs(self.state_dir / FRONT_DOOR)

    def site(self, name: str) -> SiteDirs:
        self.topology.site(name)  # refuses unknown names
        return SiteDirs(self.state_dir / f"site-{name}")

    def groups(self) -> list[str]:
        """Every supervisord group: one per site, plus the front door."""
        return [*sorted(self.topology.sites), FRONT_DOOR]

    def dirs_of(self, group: str) -> SiteDirs:
        return self.front_door if group == FRONT_DOOR else self.site(group)
