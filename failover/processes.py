"""Processes the failover layer starts and stops: the site's supervisord programs (cold components,
and what stepping aside stops, through infra.supervisor_rpc, the client the lab and the drills use
too), or a host's systemd units (the step-aside guard in production)."""

from __future__ import annotations

import subprocess
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


class SystemdUnits:
    """Start/stop systemd units of this host (`systemctl --no-block`: a broker's orderly shutdown
    is not waited on here; the step-aside loop looks again next tick). Run as a user that a polkit
    rule lets manage exactly these units (infra/production renders it)."""

    def __init__(self, systemctl: str = "systemctl") -> None:
        self.systemctl = systemctl

    def running(self, name: str) -> bool:
        # 0 only while active: a unit still activating is started again (a no-op), one deactivating counts as stopped
        return subprocess.run([self.systemctl, "is-active", "--quiet", name], check=False).returncode == 0

    def start(self, name: str) -> None:
        subprocess.run([self.systemctl, "start", "--no-block", name], check=True, capture_output=True)

    def stop(self, name: str) -> None:
        subprocess.run([self.systemctl, "stop", "--no-block", name], check=True, capture_output=True)
