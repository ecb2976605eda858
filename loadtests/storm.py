"""`ccdr load storm`: an open-loop overload of intake, and what each class of sender lived through.

Locust users wait for their answers (closed loop), so an overloaded system slows them down and
they never overload it. A storm sends request n at start + n / rate whatever happened to the
others, one attempt each with the client's deadline, as a monitoring system or a crowd of
customers would. Each request is classed as intake would class it (core.intake.domain.admission):
urgent (a critical alert, a hotline call) or normal (a portal form, a non-critical alert).

Reported per class: sent, accepted (202), refused with 503 + Retry-After (shed), other answers,
no answer within the deadline; answered within 1 s; accepted latency p50/p99.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import aiohttp
from rich.console import Console
from rich.table import Table

from core.intake.domain.admission import CRITICAL_SEVERITIES
from drills.checker import nearest_rank
from loadtests.payloads import Built, PayloadFactory

ANSWER_BOUND_S = 1.0  # "answer fast": accepted or refused, within this
DESK_AGENT = "an.nguyen"  # hotline entries are typed by a demo agent (infra/lab/demo_agents.py)
console = Console(stderr=True)


@dataclass(frozen=True)
class Credentials:
    alert_token: str  # what Alertmanager sends
    agent_token: str  # DESK_AGENT's session (hotline entries need a signed-in agent)


@dataclass
class Outcome:
    urgency: str
    channel: str
    sent: float
    done: float | None = None
    status: int | None = None  # None: no answer within the deadline
    retry_after: str | None = None
    ticket_code: str | None = None  # from a 202: what must become a ticket


@dataclass
class ClassFigures:
    sent: int = 0
    accepted: int = 0
    shed: int = 0  # 503 with Retry-After
    other: Counter[int] = field(default_factory=Counter)
    unanswered: int = 0
    within_bound: int = 0
    accepted_latencies: list[float] = field(default_factory=list)


def urgency_of_request(built: Built) -> str:
    if built.channel in ("hotline", "walk_in"):
        return "urgent"
    alerts = built.body.get("alerts") if isinstance(built.body, dict) else None
    if isinstance(alerts, list):
        for alert in alerts:
            severity = str(alert.get("labels", {}).get("severity", "")).casefold()
            if severity in CRITICAL_SEVERITIES:
                return "urgent"
    return "normal"


def summarise(outcomes: list[Outcome]) -> dict[str, ClassFigures]:
    by: dict[str, ClassFigures] = {}
    for o in outcomes:
        f = by.setdefault(o.urgency, ClassFigures())
        f.sent += 1
        if o.status is None or o.done is None:
            f.unanswered += 1
            continue
        if o.done - o.sent <= ANSWER_BOUND_S:
            f.within_bound += 1
        if o.status == 202:
            f.accepted += 1
            f.accepted_latencies.append(o.done - o.sent)
        elif o.status == 503 and o.retry_after:
            f.shed += 1
        else:
            f.other[o.status] += 1
    return by


def render(by: dict[str, ClassFigures], offered: float, duration: float) -> Table:
    table = Table(title=f"storm: {offered:,.0f} requests/s offered for {duration:.0f} s, one attempt each")
    for column in ("class", "sent", "accepted", "shed (503)", "other", "no answer", "answered ≤ 1 s", "p50", "p99"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name in sorted(by):
        f = by[name]
        lat = f.accepted_latencies
        p50, p99 = (nearest_rank(lat, 50), nearest_rank(lat, 99)) if lat else (None, None)
        table.add_row(
            name,
            f"{f.sent:,}",
            f"{f.accepted:,}",
            f"{f.shed:,}",
            ", ".join(f"{n} x {s}" for s, n in f.other.items()) or "0",
            f"{f.unanswered:,}",
            f"{f.within_bound / f.sent:.1%}" if f.sent else "-",
            f"{p50 * 1000:,.0f} ms" if p50 is not None else "-",
            f"{p99 * 1000:,.0f} ms" if p99 is not None else "-",
        )
    return table


async def storm(
    base_url: str,
    credentials: Credentials,
    *,
    rate: float,
    duration: float,
    urgent_share: float,
    deadline_s: float,
    tls: ssl.SSLContext | None = None,
) -> list[Outcome]:
    factory = PayloadFactory.seeded("storm", 0, 7)
    rng = random.Random(11)
    outcomes: list[Outcome] = []
    connector = aiohttp.TCPConnector(limit=0, ssl=tls if tls is not None else True)
    timeout = aiohttp.ClientTimeout(total=deadline_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(request: _Request) -> None:
            outcome = Outcome(request.urgency, request.channel, time.monotonic())
            outcomes.append(outcome)
            try:
                async with session.post(request.url, data=request.data, headers=request.headers) as r:
                    body = await r.read()
                    outcome.status, outcome.retry_after = r.status, r.headers.get("Retry-After")
                    if r.status == 202:
                        outcome.ticket_code = json.loads(body).get("ticket_code")
            except (aiohttp.ClientError, TimeoutError, ValueError):
                return
            outcome.done = time.monotonic()

        # Every request is built before the clock starts: the generator shares the machine with the
        # lab, and building bodies while sending would make its own lag part of the figures.
        total = int(rate * duration)
        requests = []
        for _ in range(total):
            now = datetime.now(UTC)
            if rng.random() < urgent_share:
                built = factory.agent_entry(now, DESK_AGENT) if rng.random() < 0.5 else _critical_alert(factory, now)
            else:
                built = factory.portal(now)
            requests.append(_Request.of(built, base_url, credentials))
        tasks = []
        started = time.monotonic()
        for n, request in enumerate(requests):
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(request)))
            if n and n % int(rate * 5) == 0:
                console.print(f"  {time.monotonic() - started:.0f} s: {n:,} sent")
        await asyncio.gather(*tasks)
    return outcomes


@dataclass(frozen=True)
class _Request:
    urgency: str
    channel: str
    url: str
    data: bytes
    headers: dict[str, str]

    @classmethod
    def of(cls, built: Built, base_url: str, credentials: Credentials) -> _Request:
        headers = {"Content-Type": "application/json"}
        if built.idempotency_key:
            headers["Idempotency-Key"] = built.idempotency_key
        if built.channel == "alertmanager":
            headers["Authorization"] = f"Bearer {credentials.alert_token}"
        elif built.channel in ("hotline", "walk_in"):  # entered by a signed-in agent
            headers["Authorization"] = f"Bearer {credentials.agent_token}"
        url = f"{base_url}/v1/intake/{built.channel}"
        return cls(urgency_of_request(built), built.channel, url, built.data(), headers)


def _critical_alert(factory: PayloadFactory, now: datetime) -> Built:
    built = factory.alertmanager(now)
    alerts = cast("list[dict[str, dict[str, str]]]", built.body["alerts"])  # as factory.alertmanager builds them
    for alert in alerts:
        alert["labels"]["severity"] = "critical"
    return built


def run_storm(
    base_url: str,
    credentials: Credentials,
    *,
    rate: float,
    duration: float,
    urgent_share: float,
    deadline_s: float,
    out: Path,
    tls: ssl.SSLContext | None = None,
) -> list[Outcome]:
    console.print(f"storm on {base_url}: {rate:,.0f}/s for {duration:.0f} s, {urgent_share:.0%} urgent")
    outcomes = asyncio.run(
        storm(
            base_url,
            credentials,
            rate=rate,
            duration=duration,
            urgent_share=urgent_share,
            deadline_s=deadline_s,
            tls=tls,
        )
    )
    first, last = min(o.sent for o in outcomes), max(o.sent for o in outcomes)
    offered = len(outcomes) / (last - first) if last > first else float(len(outcomes))
    by = summarise(outcomes)
    Console().print(render(by, offered, duration))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([o.__dict__ for o in outcomes]) + "\n")
    console.print(f"offered {offered:,.0f}/s achieved by the generator; every outcome in {out}")
    return outcomes


@dataclass(frozen=True)
class Landed:
    """What became of the accepted intakes: their tickets, and receipt -> ticket committed."""

    accepted: int
    found: int
    waited_s: float
    p50_s: float | None
    p99_s: float | None


def tickets_of_accepted(dsn: str, codes: list[str], *, wait_s: float, poll_s: float = 1.0) -> Landed:
    """Wait up to `wait_s` for every accepted intake's ticket (each 202 names its ticket code)."""
    import psycopg

    started = time.monotonic()
    wanted = sorted(set(codes))
    delays: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT extract(epoch FROM created_at - received_at)::float8 FROM tickets WHERE code = ANY(%s)",
                (wanted,),
            ).fetchall()
            delays = [r[0] for r in rows]
            if len(rows) >= len(wanted) or time.monotonic() - started >= wait_s:
                break
            time.sleep(poll_s)
    return Landed(
        accepted=len(wanted),
        found=len(delays),
        waited_s=time.monotonic() - started,
        p50_s=nearest_rank(delays, 50) if delays else None,
        p99_s=nearest_rank(delays, 99) if delays else None,
    )
