"""A supervisord client over its unix socket (XML-RPC) with a timeout: the lab, the drills' fault
actions and the failover agent's standby controller all start and stop programs through it."""

from __future__ import annotations

import socket
import xmlrpc.client
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport, UnixStreamHTTPConnection

# A frozen site's supervisord accepts on its socket but never answers: never wait forever.
RPC_TIMEOUT_S = 3.0


class _TimedUnixConnection(UnixStreamHTTPConnection):
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
