"""Fault actions the drills inject: power cut, burnt site, freeze, partition, isolation, heal.

Each is honest: signals go to every process in the site's namespace (its supervisord too, so
nothing restarts behind the drill's back) and partitions are nftables rules inside namespaces.
"""

from __future__ import annotations

import shutil
import signal
import time

from infra.lab import netns
from infra.lab.errors import LabError
from infra.lab.layout import SiteDirs
from infra.lab.system import require_root, signal_pids
from infra.topology import Topology

KILL_WAIT_S = 10.0


def _signal_site(topo: Topology, site: str, sig: signal.Signals) -> list[int]:
    require_root()
    ns = topo.site(site).namespace
    pids = netns.pids_in(ns)
    signal_pids(pids, sig)
    return pids


def kill_site(topo: Topology, site: str) -> int:
    """SIGKILL every process of the site (power cut) and wait until none is left; return the count."""
    killed: set[int] = set()
    deadline = time.monotonic() + KILL_WAIT_S
    while pids := _signal_site(topo, site, signal.SIGKILL):
        killed.update(pids)
        if time.monotonic() > deadline:
            raise LabError(f"site {site}: processes {pids} survived SIGKILL for {KILL_WAIT_S:.0f} s")
        time.sleep(0.1)
    return len(killed)


def burn_site(topo: Topology, site: str, dirs: SiteDirs) -> list[str]:
    """A site that burns down: SIGKILL every process, then delete what its disks held (ZooKeeper's
    snapshots and logs, Kafka's log dirs (its broker's and its controller's), PostgreSQL's data
    directory); return what was deleted. Only `rebuild_site` brings it back, from the survivors."""
    kill_site(topo, site)
    burnt = []
    for path in (dirs.zookeeper_data, dirs.kafka_data, dirs.kafka_controller_data, dirs.postgres_data):
        if path.exists():
            shutil.rmtree(path)
            burnt.append(str(path))
    return burnt


def freeze_site(topo: Topology, site: str) -> int:
    """SIGSTOP every process of the site: a hung site that still holds its sockets."""
    return len(_signal_site(topo, site, signal.SIGSTOP))


def thaw_site(topo: Topology, site: str) -> int:
    return len(_signal_site(topo, site, signal.SIGCONT))


def partition(topo: Topology, site: str, other: str) -> None:
    """Cut the link between two sites, both ways; each still reaches the rest."""
    require_root()
    if site == other:
        raise LabError(f"cannot partition site {site} from itself")
    topo.site(site), topo.site(other)
    netns.drop_traffic_between(topo, site, str(topo.sites[other].address))
    netns.drop_traffic_between(topo, other, str(topo.sites[site].address))


def isolate(topo: Topology, site: str) -> None:
    """Cut a site off from every other site and from the front door."""
    require_root()
    netns.isolate(topo, site)


def heal(topo: Topology) -> list[str]:
    require_root()
    return netns.heal(topo)
