"""What the front door needs to know about intake's admission control, derived from intake's own
rules (core.intake.domain.admission) so the proxy and the service agree on what is urgent. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from core.errors import Overloaded
from core.http.problems import MEDIA_TYPE, PROBLEM_BASE
from core.intake.domain.admission import CRITICAL_SEVERITIES
from core.intake.domain.schemas import Channel
from infra.topology import IntakeAdmission

INTAKE_PATH = "/v1/intake/{channel}"
NORMAL_BACKEND = "intake_http"
BUSY_BACKEND = "intake_http_busy"
URGENT_BACKEND = "intake_http_urgent"


@dataclass(frozen=True)
class Lane:
    backend: str  # HAProxy's name for it (what `ccdr lab status` and the health checks read)
    maxconn: int
    queue_timeout_ms: int


def intake_lanes(admission: IntakeAdmission) -> list[Lane]:
    """Normal first: its servers carry the health checks the other lanes track. The normal lane
    waits long enough to ride out a stall; the busy lane, which takes non-urgent requests only while
    arrivals exceed what the sites up can take, refuses quickly."""
    return [
        Lane(NORMAL_BACKEND, admission.server_maxconn, admission.stall_queue_timeout_ms),
        Lane(BUSY_BACKEND, admission.server_maxconn, admission.queue_timeout_ms),
        Lane(URGENT_BACKEND, admission.urgent_server_maxconn, admission.urgent_queue_timeout_ms),
    ]


def channel_paths(channels: frozenset[Channel]) -> list[str]:
    return [INTAKE_PATH.format(channel=c.value) for c in sorted(channels)]


def critical_alert_regex() -> str:
    """Matches a monitoring payload's `"severity": "<critical>"` label (case-insensitive at use).
    Only a queue lane hint: intake still judges the parsed alert itself."""
    names = "|".join(re.escape(s) for s in sorted(CRITICAL_SEVERITIES))
    return rf'"severity"\s*:\s*"({names})"'


def overloaded_errorfile(retry_after_s: int) -> str:
    """The raw HTTP response HAProxy sends for a request it could not hand to any intake in time:
    the same problem+json as intake's own refusal (core.errors.Overloaded)."""
    body = json.dumps(
        {
            "type": PROBLEM_BASE + Overloaded.code,
            "title": Overloaded.title,
            "status": Overloaded.status,
            "detail": f"intake is at capacity right now; nothing was accepted; retry after {retry_after_s} s",
        }
    )
    head = [
        "HTTP/1.1 503 Service Unavailable",
        f"Content-Type: {MEDIA_TYPE}",
        f"Retry-After: {retry_after_s}",
        "Cache-Control: no-store",
        f"Content-Length: {len(body.encode())}",  # and no `Connection: close`: a refused client keeps its connection
    ]
    return "\r\n".join(head) + "\r\n\r\n" + body


__all__ = [
    "BUSY_BACKEND",
    "NORMAL_BACKEND",
    "URGENT_BACKEND",
    "Lane",
    "channel_paths",
    "critical_alert_regex",
    "intake_lanes",
    "overloaded_errorfile",
]
