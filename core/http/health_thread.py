"""Readiness answered from a thread of its own, on a port of its own: busy is not dead.

HAProxy used to ask the service's `/readyz` on its event loop; under overload the loop answered
late, HAProxy marked both intake sites down and an overload became an outage (issue 19). This
server runs in a daemon thread, so it answers within a scheduler slice however busy the loop is,
and reports only what makes the process unable to serve (e.g. no Kafka producer). A busy process
stays in rotation and sheds what it cannot take itself (core.intake.domain.admission).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Ready = Callable[[], str | None]  # None when ready, else why not; must be thread-safe


class HealthServer:
    """`/healthz`, and one readiness path per entry of `checks` (e.g. `/readyz`)."""

    def __init__(self, host: str, port: int, checks: Mapping[str, Ready]) -> None:
        self._address = (host, port)
        self._checks = dict(checks)
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        checks = self._checks

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self._send(200, {"status": "alive"})
                elif self.path in checks:
                    reason = checks[self.path]()
                    if reason is None:
                        self._send(200, {"status": "ready"})
                    else:
                        self._send(503, {"status": "not ready", "reason": reason})
                else:
                    self._send(404, {"status": "not found"})

            def _send(self, status: int, body: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the checker has what it needed (the status line) and hung up

            def log_message(self, format: str, *args: object) -> None:
                return  # one check per second per proxy: not worth a log line

        self._server = ThreadingHTTPServer(self._address, Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="health", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
