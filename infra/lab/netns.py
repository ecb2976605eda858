"""The lab's network: a bridge, one namespace per site, and nftables fault rules inside them."""

from __future__ import annotations

import logging
from pathlib import Path

from infra.lab.system import run
from infra.topology import Topology

log = logging.getLogger(__name__)

FAULT_TABLE = "ccdr_fault"  # every fault rule lives in this table, so heal is one delete


def _exists(namespace: str) -> bool:
    return Path(f"/run/netns/{namespace}").exists()


def _link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def veth_name(site: str) -> str:
    return f"veth-ccdr-{site}"[:15]


def create_network(topo: Topology) -> None:
    """Bridge + namespaces + veth pairs; idempotent."""
    lab = topo.lab
    if not _link_exists(lab.bridge):
        run(["ip", "link", "add", lab.bridge, "type", "bridge"])
        run(["ip", "addr", "add", f"{lab.bridge_address}/{lab.subnet.prefixlen}", "dev", lab.bridge])
    run(["ip", "link", "set", lab.bridge, "up"])
    for name, site in sorted(topo.sites.items()):
        ns = site.namespace
        if not _exists(ns):
            run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        veth = veth_name(name)
        if not _link_exists(veth):
            run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
            run(["ip", "-n", ns, "addr", "add", f"{site.address}/{lab.subnet.prefixlen}", "dev", "eth0"])
        run(["ip", "link", "set", veth, "master", lab.bridge, "up"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])


def remove_network(topo: Topology) -> None:
    for name, site in sorted(topo.sites.items()):
        if _exists(site.namespace):
            run(["ip", "netns", "del", site.namespace])
        if _link_exists(veth_name(name)):
            # Deleting the namespace destroys the pair asynchronously: it may vanish under us.
            run(["ip", "link", "del", veth_name(name)], check=False)
    if _link_exists(topo.lab.bridge):
        run(["ip", "link", "del", topo.lab.bridge])


def network_exists(topo: Topology) -> bool:
    return _link_exists(topo.lab.bridge) and all(_exists(s.namespace) for s in topo.sites.values())


def namespaces_left(topo: Topology) -> list[str]:
    return [s.namespace for s in topo.sites.values() if _exists(s.namespace)]


def pids_in(namespace: str) -> list[int]:
    if not _exists(namespace):
        return []
    return [int(p) for p in run(["ip", "netns", "pids", namespace]).split()]


def _nft(namespace: str, script: str) -> None:
    run(["ip", "netns", "exec", namespace, "nft", "-f", "-"], input=script)


def drop_traffic_between(topo: Topology, site: str, peer_address: str) -> None:
    """In `site`'s namespace, drop every packet to or from `peer_address`."""
    ns = topo.site(site).namespace
    _nft(
        ns,
        f"""
        table inet {FAULT_TABLE} {{
          chain input {{ type filter hook input priority 0; policy accept; }}
          chain output {{ type filter hook output priority 0; policy accept; }}
        }}
        add rule inet {FAULT_TABLE} input ip saddr {peer_address} drop
        add rule inet {FAULT_TABLE} output ip daddr {peer_address} drop
        """,
    )


def isolate(topo: Topology, site: str) -> None:
    """Cut `site` off from everything (other sites and the front door); loopback still works."""
    ns = topo.site(site).namespace
    _nft(
        ns,
        f"""
        table inet {FAULT_TABLE} {{
          chain input {{ type filter hook input priority 0; policy accept; }}
          chain output {{ type filter hook output priority 0; policy accept; }}
        }}
        add rule inet {FAULT_TABLE} input iifname "eth0" drop
        add rule inet {FAULT_TABLE} output oifname "eth0" drop
        """,
    )


def fault_rules(topo: Topology) -> dict[str, str]:
    """Site -> the fault table's ruleset, for sites that have one."""
    rules: dict[str, str] = {}
    for name, site in sorted(topo.sites.items()):
        if not _exists(site.namespace):
            continue
        out = run(["ip", "netns", "exec", site.namespace, "nft", "list", "tables"], check=False)
        if FAULT_TABLE in out:
            rules[name] = run(["ip", "netns", "exec", site.namespace, "nft", "list", "table", "inet", FAULT_TABLE])
    return rules


def heal(topo: Topology) -> list[str]:
    """Remove every fault rule; return the sites that had some."""
    healed = list(fault_rules(topo))
    for name in healed:
        run(["ip", "netns", "exec", topo.site(name).namespace, "nft", "delete", "table", "inet", FAULT_TABLE])
    return healed
