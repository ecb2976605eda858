"""The re-login surge counts what the agents lived through (against a local stand-in sign-in)."""

from __future__ import annotations

import asyncio
import io

from aiohttp import web
from rich.console import Console

from loadtests.relogin import SignIn, SurgeInBackground, render, surge


async def _surge_against_stand_in(count: int) -> list[SignIn]:
    seen: list[str] = []

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body["agent_id"])
        if body["agent_id"] == "locked.out":
            return web.json_response({"title": "Too many requests"}, status=429)
        await asyncio.sleep(0.05)
        return web.json_response({"token": "t", "site": "b"})

    app = web.Application()
    app.router.add_post("/v1/agents/login", login)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        outcomes = await surge(
            f"http://127.0.0.1:{port}",
            ["an.nguyen", "locked.out", "chi.le"],
            "pw",
            count=count,
            spread_s=0.2,
            deadline_s=5,
        )
    finally:
        await runner.cleanup()
    assert sorted(seen) == sorted(o.agent for o in outcomes)
    return outcomes


def test_every_sign_in_is_counted_with_its_outcome_and_spread_as_asked() -> None:
    outcomes = asyncio.run(_surge_against_stand_in(9))
    assert len(outcomes) == 9
    assert sum(o.status == 200 for o in outcomes) == 6 and sum(o.status == 429 for o in outcomes) == 3
    assert max(o.sent for o in outcomes) >= 0.15  # spread over 0.2 s, not all at once
    assert all(o.latency_s is not None and o.latency_s >= 0.05 for o in outcomes if o.status == 200)
    out = io.StringIO()
    Console(file=out, width=100).print(render(outcomes, 5))
    text = out.getvalue()
    assert "6 of 9" in text and "HTTP 429" in text and "signed in at" in text


async def _refused_twice_then_in(retry_after_s: float | None) -> list[SignIn]:
    presses = 0

    async def login(request: web.Request) -> web.Response:
        nonlocal presses
        presses += 1
        if presses <= 2:
            return web.json_response({"title": "Service Unavailable"}, status=503)
        return web.json_response({"token": "t", "site": "b"})

    app = web.Application()
    app.router.add_post("/v1/agents/login", login)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        return await surge(
            f"http://127.0.0.1:{port}",
            ["an.nguyen"],
            "pw",
            count=1,
            spread_s=0,
            deadline_s=5,
            retry_after_s=retry_after_s,
        )
    finally:
        await runner.cleanup()


def test_an_agent_who_wants_in_presses_again_after_a_refusal() -> None:
    (outcome,) = asyncio.run(_refused_twice_then_in(retry_after_s=0.05))
    assert (outcome.status, outcome.attempts) == (200, 3)
    assert outcome.latency_s is not None and outcome.latency_s >= 0.1  # two pauses before the third press


def test_without_retries_a_refusal_is_the_outcome() -> None:
    (outcome,) = asyncio.run(_refused_twice_then_in(retry_after_s=None))
    assert (outcome.status, outcome.attempts, outcome.latency_s) == (503, 1, None)


def test_a_surge_beside_a_load_run_fires_when_due_and_hands_back_its_sign_ins() -> None:
    async def one_sign_in() -> list[SignIn]:
        return [SignIn("an.nguyen", 0.0, latency_s=0.1, status=200, site="b", attempts=1)]

    background = SurgeInBackground(0.05, one_sign_in)
    background.start()
    outcomes = background.outcomes(timeout_s=5)
    assert outcomes is not None and [o.agent for o in outcomes] == ["an.nguyen"]
    late = SurgeInBackground(30, one_sign_in)
    late.start()
    assert late.outcomes(timeout_s=0.05) is None  # not due before the run ended
