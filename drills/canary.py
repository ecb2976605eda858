"""The canary: an open-loop client that keeps sending intakes through the front door.

Open loop, as Jepsen's generators: operation n is sent at `start + n / rate` whatever happened to
the earlier ones, so a slow or dead system does not slow the canary down and hide the outage.
Each operation has its own Idempotency-Key and is retried with that key until the client's
deadline; every attempt is recorded. The outcome is what a client could honestly know:
- ok: acknowledged (202) within the deadline;
- fail: every attempt was definitely refused (no connection, or a 4xx that will never change);
- unknown: an attempt may have reached Kafka (a timeout, a dropped response, a 5xx after the
  request was read), so the checker decides later whether it was recorded.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass, field

import httpx

from drills.model import Attempt, CanaryOp, Outcome

log = logging.getLogger(__name__)

CHANNEL = "portal"
SUBJECT_PREFIX = "drill canary "  # + key: how the checker finds the canary's tickets and events
RETRYABLE_4XX = {408, 409, 425, 429}


def canary_key(drill_id: str, seq: int) -> str:
    return f"{drill_id}-{seq:06d}"


def canary_subject(key: str) -> str:
    return f"{SUBJECT_PREFIX}{key}"


def key_of_subject(subject: str) -> str | None:
    return subject.removeprefix(SUBJECT_PREFIX) if subject.startswith(SUBJECT_PREFIX) else None


def canary_body(drill_id: str, key: str, *, subject_prefix: str = SUBJECT_PREFIX) -> dict[str, object]:
    # Low impact and urgency: P4, so the canary's tickets page nobody during the drill.
    return {
        "contact": {"name": "ccdr drill canary", "email": "canary@drills.ccdr.lab"},
        "category": "other",
        "impact": "low",
        "urgency": "low",
        "subject": f"{subject_prefix}{key}",
        "description": f"Synthetic intake of failover drill {drill_id}; no action needed.",
    }


@dataclass
class CanarySettings:
    base_url: str  # the front door's intake, e.g. https://127.0.0.1:18080
    drill_id: str
    rate_per_s: float
    deadline_s: float
    attempt_timeout_s: float
    retry_s: float
    tls: ssl.SSLContext | None = None  # what the front door's certificate is verified with (None: the system's CAs)


@dataclass
class _Op:
    seq: int
    key: str
    invoked: float
    attempts: list[Attempt] = field(default_factory=list)
    ticket_code: str | None = None
    acked: float | None = None
    maybe_recorded: bool = False
    refused: bool = False


class Canary:
    """Runs until `stop()`; `history()` returns every operation, finished or given up on."""

    def __init__(self, settings: CanarySettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport  # tests inject one; None: real sockets
        self._ops: list[_Op] = []
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> list[CanaryOp]:
        s = self.settings
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        verify: ssl.SSLContext | bool = s.tls if s.tls is not None else True
        async with httpx.AsyncClient(
            base_url=s.base_url, limits=limits, transport=self._transport, verify=verify
        ) as client:
            tasks: set[asyncio.Task[None]] = set()
            start = time.time()
            seq = 0
            while not self._stop.is_set():
                due = start + seq / s.rate_per_s
                delay = due - time.time()
                if delay > 0:
                    try:
                        await asyncio.wait_for(self._stop.wait(), timeout=delay)
                        break
                    except TimeoutError:
                        pass
                op = _Op(seq, canary_key(s.drill_id, seq), due)
                self._ops.append(op)
                task = asyncio.create_task(self._operate(client, op))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                seq += 1
            if tasks:  # let the ones in flight reach their deadline
                await asyncio.wait(tasks, timeout=s.deadline_s + s.attempt_timeout_s)
        return self.history()

    async def _operate(self, client: httpx.AsyncClient, op: _Op) -> None:
        s = self.settings
        deadline = op.invoked + s.deadline_s
        body = canary_body(s.drill_id, op.key)
        while (remaining := deadline - time.time()) > 0:
            sent = time.time()
            try:
                r = await client.post(
                    f"/v1/intake/{CHANNEL}",
                    json=body,
                    headers={"Idempotency-Key": op.key},
                    timeout=min(s.attempt_timeout_s, remaining),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                op.attempts.append(Attempt(sent=sent, done=time.time(), ok=False, error=_short(exc)))
            except httpx.TransportError as exc:  # sent, but no answer: it may have been recorded
                op.maybe_recorded = True
                op.attempts.append(Attempt(sent=sent, done=time.time(), ok=False, error=_short(exc)))
            else:
                done = time.time()
                if r.status_code == 202:
                    op.ticket_code = str(r.json().get("ticket_code"))
                    op.acked = done
                    op.attempts.append(Attempt(sent=sent, done=done, ok=True, status=202))
                    return
                op.attempts.append(Attempt(sent=sent, done=done, ok=False, status=r.status_code, error=_title(r)))
                if r.status_code >= 500:
                    op.maybe_recorded = True  # e.g. 503 after the Kafka ack timed out: the write may land
                elif r.status_code not in RETRYABLE_4XX:
                    op.refused = True  # the request itself is wrong: retrying cannot help
                    return
            await asyncio.sleep(min(s.retry_s, max(0.0, deadline - time.time())))

    def counts(self) -> tuple[int, int]:
        """(operations sent, acknowledged) so far, without building the history."""
        return len(self._ops), sum(1 for op in self._ops if op.acked is not None)

    def history(self) -> list[CanaryOp]:
        return [_freeze(op) for op in self._ops]


def _freeze(op: _Op) -> CanaryOp:
    if op.acked is not None:
        outcome = Outcome.OK
    elif op.maybe_recorded:
        outcome = Outcome.UNKNOWN
    else:
        outcome = Outcome.FAIL
    return CanaryOp(
        seq=op.seq,
        key=op.key,
        invoked=op.invoked,
        outcome=outcome,
        ticket_code=op.ticket_code,
        acked=op.acked,
        attempts=tuple(op.attempts),
    )


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _title(r: httpx.Response) -> str:
    try:
        return str(r.json().get("title") or r.reason_phrase)[:200]
    except ValueError:
        return r.reason_phrase[:200]
