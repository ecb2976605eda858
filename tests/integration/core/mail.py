"""Reading what the lab's mail relay and chat stand-in kept: the customer's side of the desk's replies."""

from __future__ import annotations

import email
import re
import uuid
from email import policy
from email.message import EmailMessage
from typing import Any

from infra.lab import mail_relay
from infra.lab.chat_standin import received
from infra.lab.layout import LabLayout
from infra.lab.render import chat_received
from infra.topology import Topology
from tests.integration.conftest import wait_until
from tests.integration.core.conftest import Front

MAIL_WAIT_S = 60  # the notifier is one process at one site, reading the events in order
LINK = re.compile(r"https://\S+/status/(?P<code>[^?\s]+)\?k=(?P<tag>[A-Za-z0-9_-]+)")


def mail_to(topo: Topology, address: str, since: float) -> list[EmailMessage]:
    """Every message the relay kept for `address`, oldest first."""
    kept = mail_relay.kept_mail(LabLayout(topo))
    found: list[EmailMessage] = []
    for path in sorted((p for d in ("new", "cur") for p in (kept / d).glob("*")), key=lambda p: p.stat().st_mtime):
        if path.stat().st_mtime < since - 1:
            continue
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg["To"] == address:
            found.append(msg)
    return found


def wait_for_mail(topo: Topology, address: str, since: float, subject_has: str) -> EmailMessage:
    def probe() -> EmailMessage | None:
        return next((m for m in mail_to(topo, address, since) if subject_has in str(m["Subject"])), None)

    return wait_until(f"mail to {address} with {subject_has!r} at the relay", probe, MAIL_WAIT_S)


def customer_address() -> str:
    return f"khach-{uuid.uuid4().hex[:10]}@songhong.example"


def open_ticket(front: Front, address: str, subject: str) -> dict[str, str]:
    """The 202's body: the ticket code, and the customer's status page."""
    r = front.post("portal", {"contact": {"email": address, "name": "Nguyễn Văn An"}, "subject": subject})
    assert r.status_code == 202, r.text
    return dict(r.json())


def wait_for_chat_reply(topo: Topology, platform: str, code: str) -> dict[str, Any]:
    """The body of the first reply the chat stand-in accepted on `platform` about ticket `code`."""

    def probe() -> dict[str, Any] | None:
        for line in received(chat_received(topo)):
            body = line["body"]
            text = body.get("text") or body.get("message", {}).get("text", "")
            if line["platform"] == platform and f"[{code}]" in text:
                return dict(body)
        return None

    return wait_until(f"a {platform} reply about {code} at the chat stand-in", probe, MAIL_WAIT_S)
