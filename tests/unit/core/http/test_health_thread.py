"""Readiness from a thread of its own: answers while the service's event loop is blocked."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request

from core.http.health_thread import HealthServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_ready_and_not_ready_with_the_reason() -> None:
    reason: list[str | None] = [None]
    port = _free_port()
    server = HealthServer("127.0.0.1", port, {"/readyz": lambda: reason[0]})
    server.start()
    try:
        assert _get(port, "/readyz") == (200, {"status": "ready"})
        reason[0] = "kafka producer not connected"
        assert _get(port, "/readyz") == (503, {"status": "not ready", "reason": "kafka producer not connected"})
        assert _get(port, "/healthz")[0] == 200
    finally:
        server.stop()


def test_it_answers_while_the_event_loop_is_blocked() -> None:
    port = _free_port()
    server = HealthServer("127.0.0.1", port, {"/readyz": lambda: None})
    server.start()

    def check() -> tuple[int, float]:  # the proxy, from outside the loop
        status, _ = _get(port, "/readyz")
        return status, time.monotonic()

    async def busy_loop_with_a_check() -> tuple[int, float, float]:
        answer = asyncio.get_running_loop().run_in_executor(None, check)
        busy_until = time.monotonic() + 1.5
        while time.monotonic() < busy_until:  # the loop never yields meanwhile
            pass
        status, answered_at = await answer
        return status, answered_at, busy_until

    try:
        status, answered_at, busy_until = asyncio.run(busy_loop_with_a_check())
        # Ordering, not speed: a check served by the blocked loop could only be answered after it.
        assert status == 200 and answered_at < busy_until
    finally:
        server.stop()
