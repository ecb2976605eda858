"""The canary's client logic against an in-memory transport: outcomes, retries, open loop."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import httpx

from drills.canary import Canary, CanarySettings, canary_key, key_of_subject
from drills.model import CanaryOp, Outcome

Handler = Callable[[httpx.Request, int], httpx.Response]  # (request, attempt number of its key) -> response


def _run(handler: Handler, *, seconds: float = 0.05, rate: float = 100, deadline: float = 0.4) -> list[CanaryOp]:
    tries: dict[str, int] = {}
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        key = request.headers["Idempotency-Key"]
        tries[key] = tries.get(key, 0) + 1
        seen.append(request)
        return handler(request, tries[key])

    settings = CanarySettings(
        base_url="http://front",
        drill_id="d1",
        rate_per_s=rate,
        deadline_s=deadline,
        attempt_timeout_s=0.2,
        retry_s=0.01,
    )
    canary = Canary(settings, transport=httpx.MockTransport(respond))

    async def drive() -> list[CanaryOp]:
        task = asyncio.create_task(canary.run())
        await asyncio.sleep(seconds)
        canary.stop()
        return await task

    return asyncio.run(drive())


def _accepted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, json={"ticket_code": "INC-" + request.headers["Idempotency-Key"][-6:]})


def test_acknowledged_intakes_are_ok_with_their_ticket_code() -> None:
    ops = _run(lambda req, n: _accepted(req))
    assert ops and all(op.outcome is Outcome.OK for op in ops)
    assert all(op.ticket_code == "INC-" + op.key[-6:] and len(op.attempts) == 1 for op in ops)
    assert [op.seq for op in ops] == list(range(len(ops)))


def test_a_503_is_retried_with_the_same_key_and_then_acknowledged() -> None:
    ops = _run(lambda req, n: _accepted(req) if n >= 3 else httpx.Response(503, json={"title": "Kafka unavailable"}))
    op = ops[0]
    assert op.outcome is Outcome.OK
    assert [a.status for a in op.attempts] == [503, 503, 202]
    assert op.attempts[0].error == "Kafka unavailable"


def test_a_request_the_service_rejects_is_a_failure_and_is_not_retried() -> None:
    ops = _run(lambda req, n: httpx.Response(422, json={"title": "Invalid input"}))
    assert all(op.outcome is Outcome.FAIL and len(op.attempts) == 1 for op in ops)


def test_never_connecting_is_a_definite_failure() -> None:
    def refuse(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    ops = _run(refuse)
    assert all(op.outcome is Outcome.FAIL for op in ops)
    assert len(ops[0].attempts) > 1  # retried until the deadline


def test_an_answer_that_never_came_is_unknown() -> None:
    def time_out(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    ops = _run(time_out)
    assert all(op.outcome is Outcome.UNKNOWN and op.acked is None for op in ops)


def test_a_5xx_then_a_refusal_stays_unknown() -> None:
    # The 503 may have reached Kafka after all (the ack timed out): the client cannot know.
    ops = _run(lambda req, n: httpx.Response(503) if n == 1 else httpx.Response(422))
    assert ops[0].outcome is Outcome.UNKNOWN


def test_open_loop_sends_on_schedule_however_slow_the_answers() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.15)
        return _accepted(request)

    settings = CanarySettings(
        base_url="http://front", drill_id="d1", rate_per_s=50, deadline_s=1, attempt_timeout_s=1, retry_s=0.01
    )

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await slow(request)

    canary = Canary(settings, transport=Slow())

    async def drive() -> list[CanaryOp]:
        task = asyncio.create_task(canary.run())
        await asyncio.sleep(0.2)
        canary.stop()
        return await task

    ops = asyncio.run(drive())
    assert len(ops) >= 5  # a closed loop would have sent 1-2 in 0.2 s at 0.15 s per answer
    gaps = {round(b.invoked - a.invoked, 6) for a, b in itertools.pairwise(ops)}
    assert gaps == {0.02}
    assert all(op.outcome is Outcome.OK for op in ops)


def test_keys_and_subjects_round_trip() -> None:
    key = canary_key("20261123T000000Z-site-loss-a", 42)
    assert key.endswith("-000042")
    assert key_of_subject(f"drill canary {key}") == key
    assert key_of_subject("something else") is None
