"""The load test sends valid requests: every builder's body passes core's parser, and signed as the
locustfile signs it, the real intake app (on an in-memory bus) answers 202 (Slack, Teams: 200)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.agents.sessions import SessionCheck
from core.intake.app import create_app
from core.intake.domain.channels import alerts, chat, email, portal
from core.intake.domain.channels.payload import parse_json
from core.intake.domain.schemas import Channel, IntakeEvent, IntakeKind
from core.settings import ServiceSettings
from infra.lab.layout import SiteDirs
from infra.lab.render import Secrets, service_settings
from infra.topology import load_topology
from loadtests import signing
from loadtests.payloads import Built, PayloadFactory, alert_fingerprint
from tests.fakes import agent_token, memory_sessions

NOW = datetime(2026, 11, 23, 8, 30, 15, 123456, tzinfo=UTC)
SEEDS = range(40)
CODE = "INC-7K3M-9QX2-AB4D"
SECRETS = Secrets(
    superuser="su",
    replication="re",
    rewind="rw",
    app="app",
    schema_owner="owner",
    alert_token="alert-token-0123456789",
    slack_signing="slack-signing-0123456789",
    teams_hmac=base64.b64encode(b"teams outgoing webhook secret 32b").decode(),
    zalo_app_id="3061483922957117442",
    zalo_oa_key="zalo-oa-key-0123456789",
    agent_password="agent-password-0123456789",
    session_key="x5DwLwYz4lJg6pXcGcC8qyTLEp3E7dUbH5gK1oXk3s0",
    status_link_key="status-link-key-for-unit-tests-0123456789",
    slack_bot_token="xoxb-slack-bot-token-for-unit-tests",
    zalo_oa_access_token="zalo-oa-access-token-for-unit-tests",
    teams_app_id="00000000-0000-4000-8000-000000000001",
    teams_app_password="teams-app-password-for-unit-tests",
    patroni_rest="patroni-rest-0123456789",
    zookeeper_ccdr="zookeeper-ccdr-0123456789",
    kafka_broker="kafka-broker-0123456789",
    kafka_ops="kafka-ops-0123456789",
    kafka_intake="kafka-intake-0123456789",
    kafka_tickets="kafka-tickets-0123456789",
    kafka_ticket_worker="kafka-ticket-worker-0123456789",
    kafka_notifier="kafka-notifier-0123456789",
    kafka_failover="kafka-failover-0123456789",
)


def factory(seed: int = 1) -> PayloadFactory:
    return PayloadFactory.seeded("t3st", seed, seed)


def test_portal_and_mobile_forms_are_valid() -> None:
    for seed in SEEDS:
        for channel in ("portal", "mobile"):
            built = factory(seed).portal(NOW, channel)
            draft = portal.portal_draft(Channel(channel), parse_json(portal.PortalIntake, built.data(), channel))
            assert built.marker in draft.description
            assert built.idempotency_key == f"{channel}-{built.marker}"
            assert draft.region is not None and draft.category is not None


def test_hotline_and_walk_in_entries_are_valid() -> None:
    for seed in SEEDS:
        f = factory(seed)
        call = f.agent_entry(NOW, "khanh.bui", "hotline")
        form = parse_json(portal.AgentEnteredIntake, call.data(), "hotline")
        draft = portal.agent_draft(Channel.HOTLINE, form, "khanh.bui")
        assert draft.call is not None and draft.call.agent_id == "khanh.bui"
        assert draft.natural_key == call.body["call_id"]
        assert draft.contact.phone == call.body["caller_number"]
        visit = f.agent_entry(NOW, "linh.dang", "walk_in")
        parse_json(portal.AgentEnteredIntake, visit.data(), "walk_in")


def test_alertmanager_and_grafana_notifications_are_valid() -> None:
    for seed in SEEDS:
        f = factory(seed)
        built = f.alertmanager(NOW)
        drafts = alerts.parse_alertmanager(built.data())
        assert drafts and all(d.kind is IntakeKind.NEW and built.marker in d.description for d in drafts)
        grafana = alerts.parse_grafana(f.grafana(NOW).data())
        assert len(grafana) == 1 and grafana[0].alert is not None and grafana[0].alert.url


def test_a_resolution_carries_the_natural_keys_of_its_firing() -> None:
    f = factory()
    for firing in (f.alertmanager(NOW), f.grafana(NOW)):
        parse = alerts.parse_alertmanager if firing.channel == "alertmanager" else alerts.parse_grafana
        opened = parse(firing.data())
        cleared = parse(f.resolved(firing, NOW).data())
        assert [d.natural_key for d in cleared] == [d.natural_key for d in opened]
        assert {d.kind for d in cleared} == {IntakeKind.ALERT_RESOLVED}


def test_an_alert_storm_repeats_fingerprints_and_collapses_to_its_distinct_alerts() -> None:
    storm = factory().alert_storm(NOW, alerts=60, distinct=12)
    listed = storm.body["alerts"]
    assert isinstance(listed, list) and len(listed) == 60
    assert len({a["fingerprint"] for a in listed}) <= 12 < len(listed)
    assert all(a["fingerprint"] == alert_fingerprint(a["labels"]) for a in listed)
    assert len(alerts.parse_alertmanager(storm.data())) == 12


def test_alert_storm_bounds() -> None:
    with pytest.raises(ValueError):
        factory().alert_storm(NOW, alerts=5, distinct=6)


def test_chat_messages_are_valid_and_a_named_ticket_makes_a_reply() -> None:
    for seed in SEEDS:
        f = factory(seed)
        slack_drafts = chat.parse_slack(f.slack(NOW).data())
        assert isinstance(slack_drafts, list)
        (slack,) = slack_drafts
        (teams,) = chat.parse_teams(f.teams(NOW).data())
        (zalo,) = chat.parse_zalo(f.zalo(NOW, "42").data())
        assert {slack.kind, teams.kind, zalo.kind} == {IntakeKind.NEW}
    f = factory()
    replies = [
        chat.parse_slack(f.slack(NOW, CODE).data()),
        chat.parse_teams(f.teams(NOW, CODE).data()),
        chat.parse_zalo(f.zalo(NOW, "42", CODE).data()),
    ]
    for drafts in replies:
        assert isinstance(drafts, list)
        assert drafts[0].kind is IntakeKind.REPLY and drafts[0].reply_to == (CODE,)


def test_email_and_its_reply_parse_as_core_reads_mail() -> None:
    for seed in SEEDS:
        mail = factory(seed).email(NOW)
        draft = email.parse_email(mail.raw())
        assert draft.kind is IntakeKind.NEW
        assert draft.contact.email == mail.sender
        assert draft.subject == mail.subject and mail.marker in draft.description
        assert draft.natural_key == mail.message_id.strip("<>")
    f = factory()
    first = f.email(NOW)
    reply = email.parse_email(f.email_reply(first, CODE, NOW).raw())
    assert reply.kind is IntakeKind.REPLY and reply.reply_to[0] == CODE
    assert reply.email is not None and reply.email.in_reply_to == first.message_id.strip("<>")


def test_same_seed_same_traffic_and_markers_never_repeat() -> None:
    a, b = factory(7), factory(7)
    assert a.portal(NOW).body == b.portal(NOW).body
    f = factory()
    markers = [f.portal(NOW).marker for _ in range(200)] + [f.email(NOW).marker for _ in range(50)]
    assert len(set(markers)) == len(markers)
    assert all(m.isalnum() and m.islower() for m in markers)  # one token for PostgreSQL's 'simple' parser


def test_run_id_must_be_one_search_token() -> None:
    with pytest.raises(ValueError):
        PayloadFactory.seeded("run-1", 1, 1)


# The real intake app on an in-memory bus, with the headers the locustfile sends.


class MemoryBus:
    def __init__(self) -> None:
        self.events: list[IntakeEvent] = []

    async def publish(self, events: Sequence[IntakeEvent]) -> None:
        self.events.extend(events)

    def not_ready(self) -> str | None:
        return None


@pytest.fixture
def bus() -> MemoryBus:
    return MemoryBus()


@pytest.fixture
def sessions() -> SessionCheck:
    return memory_sessions()


@pytest.fixture
def client(bus: MemoryBus, sessions: SessionCheck) -> Iterator[TestClient]:
    raw = service_settings(load_topology(), "a", SECRETS, SiteDirs(Path("/tmp/ccdr-test-loadtests-a")))
    with TestClient(create_app(ServiceSettings.model_validate(raw), bus, side_listeners=False, sessions=sessions)) as c:
        yield c


def send(client: TestClient, built: Built, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json", **headers}
    if built.idempotency_key:
        headers["Idempotency-Key"] = built.idempotency_key
    r = client.post(f"/v1/intake/{built.channel}", content=built.data(), headers=headers)
    return r.status_code, r.json()


def test_the_intake_app_accepts_every_channel_as_the_locustfile_sends_it(
    client: TestClient, bus: MemoryBus, sessions: SessionCheck
) -> None:
    f, now = factory(), datetime.now(UTC)  # Slack refuses a timestamp more than 5 minutes off
    bearer = signing.bearer_headers(SECRETS.alert_token)
    desk = {"Authorization": f"Bearer {agent_token(sessions, 'khanh.bui')}"}
    firing = f.alertmanager(now)
    cases: list[tuple[Built, dict[str, str], int]] = [
        (f.portal(now), {}, 202),
        (f.portal(now, "mobile"), {}, 202),
        (f.agent_entry(now, "khanh.bui"), desk, 202),
        (f.agent_entry(now, "khanh.bui", "walk_in"), desk, 202),
        (firing, bearer, 202),
        (f.resolved(firing, now), bearer, 202),
        (f.grafana(now), bearer, 202),
        (f.alert_storm(now, 30, 6), bearer, 202),
    ]
    slack = f.slack(now)
    cases.append((slack, signing.slack_headers(SECRETS.slack_signing, slack.data(), now.timestamp()), 200))
    teams = f.teams(now)
    cases.append((teams, signing.teams_headers(SECRETS.teams_hmac, teams.data()), 200))
    zalo = f.zalo(now, SECRETS.zalo_app_id)
    timestamp = str(zalo.body["timestamp"])
    cases.append((zalo, signing.zalo_headers(SECRETS.zalo_app_id, SECRETS.zalo_oa_key, zalo.data(), timestamp), 202))
    for built, headers, status in cases:
        code, answer = send(client, built, headers)
        assert code == status, (built.channel, answer)
        assert built.marker in json.dumps([e.description for e in bus.events], ensure_ascii=False)
    storm_events = [e for e in bus.events if cases[7][0].marker in e.description]
    assert len(storm_events) == 6


def test_a_wrong_secret_is_refused_so_the_signing_matters(client: TestClient) -> None:
    built = factory().slack(datetime.now(UTC))
    code, answer = send(client, built, signing.slack_headers("wrong", built.data(), datetime.now(UTC).timestamp()))
    assert code == 401 and answer["title"]
