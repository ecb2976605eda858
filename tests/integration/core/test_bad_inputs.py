"""Bad input on the authenticated channels, correctly signed: a clear 4xx problem, nothing produced.

A signature proves who sent a request, not that its content is storable: these are the requests
that once answered 500 or 503 (issue 15's battery), sent through the front door as each platform
would sign them."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from loadtests import signing
from loadtests.payloads import Built, PayloadFactory
from tests.integration.core.conftest import Front

LONE_SURROGATE = b"\\ud800"  # JSON's escape for a UTF-16 half no UTF-8 text can hold


def _factory() -> PayloadFactory:
    return PayloadFactory.seeded("badinput", int(time.time()) % 10_000, 7)


def _signed(front: Front, built: Built, body: bytes) -> dict[str, str]:
    s = front.secrets
    if built.channel in ("alertmanager", "grafana"):
        return signing.bearer_headers(s.alert_token)
    if built.channel == "slack":
        return signing.slack_headers(s.slack_signing, body, time.time())
    if built.channel == "teams":
        return signing.teams_headers(s.teams_hmac, body)
    if built.channel == "zalo":
        return signing.zalo_headers(s.zalo_app_id, s.zalo_oa_key, body, str(built.body["timestamp"]))
    raise AssertionError(built.channel)


def _build(front: Front, channel: str) -> Built:
    f, now = _factory(), datetime.now(UTC)
    builders: dict[str, Callable[[], Built]] = {
        "alertmanager": lambda: f.alertmanager(now),
        "grafana": lambda: f.grafana(now),
        "slack": lambda: f.slack(now),
        "teams": lambda: f.teams(now),
        "zalo": lambda: f.zalo(now, front.secrets.zalo_app_id),
    }
    return builders[channel]()


def _refused_and_nothing_produced(front: Front, built: Built, body: bytes) -> dict[str, object]:
    before = front.intake_offsets()
    r = front.http.post(f"{front.intake}/v1/intake/{built.channel}", content=body, headers=_signed(front, built, body))
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/problem+json", r.headers
    assert "retry-after" not in r.headers  # a permanent refusal: the sender must not retry it for ever
    assert front.intake_offsets() == before, "a refused request produced an intake event"
    return dict(r.json())


@pytest.mark.parametrize("channel", ["alertmanager", "grafana", "slack", "teams", "zalo"])
def test_a_lone_surrogate_in_a_correctly_signed_request_is_a_4xx(front: Front, channel: str) -> None:
    built = _build(front, channel)
    body = built.data()
    assert built.marker.encode() in body
    bad = body.replace(built.marker.encode(), built.marker.encode() + LONE_SURROGATE, 1)
    problem = _refused_and_nothing_produced(front, built, bad)
    assert problem["status"] in (400, 422)


def test_a_resolved_alert_with_a_megabyte_of_labels_is_a_4xx_not_a_retry(front: Front) -> None:
    f, now = _factory(), datetime.now(UTC)
    firing = f.alertmanager(now)
    resolved = f.resolved(firing, now)
    alerts = resolved.body["alerts"]
    assert isinstance(alerts, list)
    # The megabyte on one alert: spread over several (the factory's alert count varies with its
    # seed), each event stayed under the event limit and the body under the body limit (a 202).
    alerts[0]["labels"] |= {f"junk_{i}": "x" * 1000 for i in range(1000)}
    problem = _refused_and_nothing_produced(front, resolved, resolved.data())
    assert problem["status"] in (413, 422)
