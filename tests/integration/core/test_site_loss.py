"""With site b killed, intake at a still accepts and tickets appear (then b comes back)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.integration.conftest import ccdr, wait_until
from tests.integration.core.conftest import Front

RECOVERY_S = 90  # Kafka leader move + Patroni failover are ~10 s and ~22 s here; generous margin


def test_kill_site_b_intake_at_a_keeps_accepting_and_tickets_appear(front: Front, unique: Callable[[str], str]) -> None:
    ccdr("lab", "kill-site", "b")
    try:
        codes = []
        for i in range(3):
            key = unique("during-loss")
            body = {"contact": {"phone": "+84 24 0000 0000"}, "subject": f"{key} mạng chập chờn {i}"}

            def accepted(key: str = key, body: dict = body) -> str | None:
                try:  # a client retries with the same key until acknowledged
                    r = front.post("portal", body, headers={"Idempotency-Key": key})
                except httpx.TransportError:
                    return None
                return r.json()["ticket_code"] if r.status_code == 202 else None

            codes.append(wait_until("intake acknowledged with site b dead", accepted, RECOVERY_S, interval=1))
        for code in codes:
            ticket = front.ticket(code, timeout=RECOVERY_S)
            assert ticket["received_site"] == "a"
    finally:
        ccdr("lab", "restore-site", "b")
    after = front.post("portal", {"contact": {"phone": "1"}, "subject": unique("after restore")})
    assert after.status_code == 202
    front.ticket(after.json()["ticket_code"])
