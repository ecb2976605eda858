"""Cold components' processes, for the standby controller: start and stop programs of the site's
supervisord group (through infra.supervisor_rpc, the client the lab and the drills use too)."""

from __future__ import annotations

import xmlrpc.client

from infra.supervisor_rpc import rpc_proxy


class SupervisorProcesses:
    """Start/stop programs of one supervisord group."""

    def __init__(self, sock: str, group: str) -> None:
        self.sock = sock
        self.group = group

    def running(self, name: str) -> bool:
        info = rpc_proxy(self.sock).supervisor.getProcessInfo(f"{self.group}:{name}")
        return info["statename"] in ("RUNNING", "STARTING", "BACKOFF")

    def start(self, name: str) -> None:
        try:
            rpc_proxy(self.sock).supervisor.startProcess(f"{self.group}:{name}", False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    def stop(self, name: str) -> None:
        try:
            rpc_proxy(self.sock).supervisor.stopProcess(f"{self.group}:{name}", False)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise
