"""The site's process supervisor (supervisord over its unix socket, XML-RPC): the standby
controller starts and stops cold components through it, and the lab uses the same client."""

from __future__ import annotations

import socket
import xmlrpc.client
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport, UnixStreamHTTPConnection

# A frozen site's supervisord accepts on its socket but never answers: never wait forever.
RPC_TIMEOUT_S = 3.0


# supervisor ships no type hints: its connection class is Any to mypy, which strict mode refuses to subclass.
class _TimedUnixConnection(UnixStreamHTTPConnection):  # type: ignore[misc]
    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(RPC_TIMEOUT_S)
        self.sock.connect(self.socketfile)


def rpc_proxy(sock: Path | str) -> Any:
    transport = SupervisorTransport(None, None, f"unix://{sock}")

    def connection() -> _TimedUnixConnection:
        conn = _TimedUnixConnection("localhost")
        conn.socketfile = str(sock)
        return conn

    transport._get_connection = connection  # supervisor's hook; its default has no timeout
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


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
