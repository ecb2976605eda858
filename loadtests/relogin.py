"""The re-login surge: after a site is lost, every agent of that site signs in at the other within
seconds. Fired open loop (all at once, or spread over `--spread-s`), each sign-in one attempt with
a deadline, as a desk of people pressing "sign in" would; reported as what they lived through:
how many got in, how fast, and when the last one did."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from rich.table import Table

from drills.checker import nearest_rank
from infra.lab.pki import front_door_tls
from infra.topology import Topology

OK = 200
MIN_ATTEMPT_S = 0.1


@dataclass
class SignIn:
    agent: str
    sent: float  # seconds after the surge began
    latency_s: float | None = None  # None: no answer within the deadline
    status: int | None = None
    site: str | None = None  # the site that signed the agent in
    attempts: int = 0


async def surge(
    tickets_url: str,
    agents: list[str],
    password: str,
    *,
    count: int,
    spread_s: float,
    deadline_s: float,
    tls: ssl.SSLContext | None = None,
    retry_after_s: float | None = None,
) -> list[SignIn]:
    """`count` sign-ins, agents taken in turn, sent evenly over `spread_s` (0: all at once). Each is
    one attempt, or (with `retry_after_s`) pressed again that long after each refusal or error,
    until `deadline_s` after its first press: a person who wants in."""
    outcomes: list[SignIn] = []
    connector = aiohttp.TCPConnector(limit=0, ssl=tls if tls is not None else True)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.monotonic()

        async def attempt(outcome: SignIn, timeout_s: float) -> bool:
            body = {"agent_id": outcome.agent, "password": password}
            outcome.attempts += 1
            try:
                timeout = aiohttp.ClientTimeout(total=timeout_s)
                async with http.post(f"{tickets_url}/v1/agents/login", json=body, timeout=timeout) as r:
                    answer = await r.json(content_type=None)
                    outcome.status = r.status
                    outcome.site = answer.get("site") if isinstance(answer, dict) else None
            except (aiohttp.ClientError, TimeoutError, ValueError):
                outcome.status = None
                return False
            return outcome.status == OK

        async def one(n: int) -> None:
            delay = started + (spread_s * n / count if count > 1 else 0) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            outcome = SignIn(agents[n % len(agents)], time.monotonic() - started)
            outcomes.append(outcome)
            give_up = started + outcome.sent + deadline_s
            while True:
                if await attempt(outcome, max(MIN_ATTEMPT_S, give_up - time.monotonic())):
                    outcome.latency_s = time.monotonic() - started - outcome.sent
                    return
                if retry_after_s is None or time.monotonic() + retry_after_s >= give_up:
                    return
                await asyncio.sleep(retry_after_s)

        await asyncio.gather(*(one(n) for n in range(count)))
    return outcomes


def render(outcomes: list[SignIn], deadline_s: float) -> Table:
    ok = [o for o in outcomes if o.status == 200 and o.latency_s is not None]
    latencies = sorted(o.latency_s for o in ok if o.latency_s is not None)
    table = Table(title=f"re-login surge: {len(outcomes)} sign-ins", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("signed in", f"{len(ok)} of {len(outcomes)}")
    refused = sorted({o.status for o in outcomes if o.status not in (None, 200)})
    table.add_row("refused", ", ".join(f"HTTP {s}" for s in refused) or "none")
    table.add_row(f"no answer within {deadline_s:g} s", str(sum(o.status is None for o in outcomes)))
    if latencies:
        p50, p99 = nearest_rank(latencies, 50), nearest_rank(latencies, 99)
        table.add_row("latency p50 / p99 / max", f"{p50:.2f} s / {p99:.2f} s / {latencies[-1]:.2f} s")
        last = max(o.sent + (o.latency_s or 0) for o in ok)
        table.add_row("everyone in after", f"{last:.2f} s")
        sites = sorted({o.site or "?" for o in ok})
        table.add_row("signed in at", ", ".join(sites))
    return table


class SurgeInBackground:
    """A surge fired `at_s` into a load run (`ccdr load run --relogin N --relogin-at S`), in its own
    thread beside locust; `outcomes()` waits for it."""

    def __init__(self, at_s: float, run: Callable[[], Coroutine[Any, Any, list[SignIn]]]) -> None:
        self._at_s = at_s
        self._run = run
        self._outcomes: list[SignIn] = []
        self.error: str | None = None  # the surge itself broke (not a refused sign-in)
        self._thread = threading.Thread(target=self._main, name="relogin-surge", daemon=True)

    def _main(self) -> None:
        time.sleep(self._at_s)
        try:
            self._outcomes = asyncio.run(self._run())
        except Exception as exc:  # noqa: BLE001 - handed to the caller, who fails the run with it
            self.error = f"{type(exc).__name__}: {exc}"

    def start(self) -> None:
        self._thread.start()

    def outcomes(self, timeout_s: float) -> list[SignIn] | None:
        """None: it had not fired or finished within `timeout_s` (the load ended before it was due)."""
        self._thread.join(timeout_s)
        return None if self._thread.is_alive() else self._outcomes


def topology_surge(topo: Topology, agents: list[str], password: str, count: int) -> Coroutine[Any, Any, list[SignIn]]:
    """The surge as the topology sets it (`drills.relogin_*`), through the front door, each agent
    pressing again after a refusal: the same in a drill and beside a load run."""
    d = topo.drills
    return surge(
        topo.front_door_url("tickets"),
        agents,
        password,
        count=count,
        spread_s=d.relogin_spread_s,
        deadline_s=d.relogin_deadline_s,
        tls=front_door_tls(topo),
        retry_after_s=d.relogin_retry_s,
    )
