"""Alertmanager and Grafana webhooks: one draft per alert, keyed so a resolution finds its firing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain.priority import Impact, Urgency
from core.domain.taxonomy import Category, Region
from core.errors import InvalidInput
from core.intake.domain.channels.alerts import category_of, parse_alertmanager, parse_grafana
from core.intake.domain.schemas import Channel, IntakeKind

SAMPLES = Path(__file__).resolve().parents[5] / "samples" / "channels"
STARTS = datetime(2024, 5, 6, 7, 40, 12, 345678, tzinfo=UTC)  # nanoseconds in the payload, truncated
KEY = "9d3a6f1c2b7e8a45@2024-05-06T07:40:12.345678+00:00"


def load(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def one_alert(**labels: str) -> bytes:
    payload = load("alertmanager-firing.json")
    alert = payload["alerts"][0]
    alert["labels"] = {"alertname": "Probe", **labels}
    alert["annotations"] = {}
    payload["alerts"] = [alert]
    return body(payload)


def test_firing_alert_maps_every_field() -> None:
    first, second = parse_alertmanager((SAMPLES / "alertmanager-firing.json").read_bytes())
    assert first.channel is Channel.ALERTMANAGER
    assert first.kind is IntakeKind.NEW
    assert first.natural_key == KEY
    assert first.event_time == STARTS
    assert (first.customer_id, first.contract_number, first.asset_serial) == ("KH-00417", "HD-2023-0815", "FOC2231X0AB")
    assert first.region is Region.CENTRAL
    assert first.category is Category.NETWORK  # "InterfaceDown": interface
    assert (first.impact, first.urgency) == (Impact.HIGH, Urgency.HIGH)
    assert first.subject == "WAN uplink down on dn-core-sw01 (Đà Nẵng)"
    assert first.description.splitlines() == [
        "Interface Gi1/0/48 (WAN-VNPT-FTTH) on dn-core-sw01 has been down for more than 2 minutes.",
        "runbook: https://wiki.example.com/runbooks/network/interface-down",
        "labels: alertname=InterfaceDown, contract=HD-2023-0815, customer=KH-00417, ifAlias=WAN-VNPT-FTTH, "
        "ifName=Gi1/0/48, instance=dn-core-sw01, job=snmp, region=central, serial=FOC2231X0AB, severity=critical",
    ]
    alert = first.alert
    assert alert is not None
    assert (alert.source, alert.fingerprint, alert.status, alert.severity) == (
        "alertmanager",
        "9d3a6f1c2b7e8a45",
        "firing",
        "critical",
    )
    assert alert.starts_at == STARTS
    assert alert.ends_at is None  # "0001-01-01T00:00:00Z"
    assert alert.labels["ifName"] == "Gi1/0/48"
    assert alert.annotations["summary"] == "WAN uplink down on dn-core-sw01 (Đà Nẵng)"
    assert alert.url is not None and alert.url.startswith("http://prometheus-dn.example.com:9090/graph?")

    assert second.subject == "InterfaceDown on dn-access-sw03"  # no summary: alertname on instance
    assert (second.impact, second.urgency) == (Impact.MEDIUM, Urgency.MEDIUM)
    assert second.contract_number is None and second.asset_serial is None
    assert second.natural_key == "4b0e91d7c35af268@2024-05-06T07:41:42.100000+00:00"


def test_resolved_alert_carries_the_firing_key() -> None:
    (firing, _) = parse_alertmanager((SAMPLES / "alertmanager-firing.json").read_bytes())
    (resolved,) = parse_alertmanager((SAMPLES / "alertmanager-resolved.json").read_bytes())
    assert resolved.kind is IntakeKind.ALERT_RESOLVED
    assert resolved.natural_key == firing.natural_key == KEY
    ended = datetime(2024, 5, 6, 9, 5, 42, 123456, tzinfo=UTC)
    assert resolved.event_time == ended
    assert resolved.alert is not None
    assert (resolved.alert.status, resolved.alert.ends_at) == ("resolved", ended)


def test_duplicates_within_a_payload_are_dropped_keeping_the_first() -> None:
    payload = load("alertmanager-firing.json")
    first = payload["alerts"][0]
    echo = copy.deepcopy(first)
    echo["annotations"]["summary"] = "a later copy"
    resolved = copy.deepcopy(first) | {"status": "resolved", "endsAt": "2024-05-06T09:05:42Z"}
    payload["alerts"] = [first, echo, payload["alerts"][1], resolved]
    drafts = parse_alertmanager(body(payload))
    assert [d.kind for d in drafts] == [IntakeKind.NEW, IntakeKind.NEW, IntakeKind.ALERT_RESOLVED]
    assert drafts[0].subject == "WAN uplink down on dn-core-sw01 (Đà Nẵng)"
    assert drafts[0].natural_key == drafts[2].natural_key


@pytest.mark.parametrize(
    ("severity", "impact", "urgency"),
    [
        ("critical", Impact.HIGH, Urgency.HIGH),
        ("Critical", Impact.HIGH, Urgency.HIGH),
        ("error", Impact.HIGH, Urgency.MEDIUM),
        ("major", Impact.HIGH, Urgency.MEDIUM),
        ("warning", Impact.MEDIUM, Urgency.MEDIUM),
        ("minor", Impact.MEDIUM, Urgency.MEDIUM),
        ("info", Impact.LOW, Urgency.LOW),
        ("page", Impact.LOW, Urgency.LOW),
        (None, Impact.LOW, Urgency.LOW),
    ],
)
def test_severity_sets_impact_and_urgency(severity: str | None, impact: Impact, urgency: Urgency) -> None:
    labels = {"severity": severity} if severity else {}
    (draft,) = parse_alertmanager(one_alert(**labels))
    assert (draft.impact, draft.urgency) == (impact, urgency)
    assert draft.alert is not None and draft.alert.severity == severity


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"alertname": "HostHighCpuLoad", "category": "Cabling"}, Category.CABLING),  # explicit wins
        ({"alertname": "HostHighCpuLoad", "team": "datacenter"}, Category.DATACENTER),
        ({"alertname": "HostHighCpuLoad", "team": "noc"}, Category.SERVER),  # not a category: keywords
        ({"alertname": "UPSOnBattery"}, Category.DATACENTER),
        ({"alertname": "PduPowerHigh"}, Category.DATACENTER),
        ({"alertname": "BGPSessionDown"}, Category.NETWORK),
        ({"alertname": "LinksFlapping"}, Category.NETWORK),  # plural
        ({"alertname": "NVRDiskFull"}, Category.CAMERA),  # first keyword wins
        ({"alertname": "Fire alarm zone 3"}, Category.ALARM),
        ({"alertname": "FirewallSessionsHigh"}, None),  # "fire" is not "firewall"
        ({"alertname": "BackupsFailed"}, None),  # "ups" is not "backups"
        ({"alertname": "TargetDown", "job": "node_exporter"}, Category.SERVER),  # falls back to job
        ({"alertname": "TargetDown", "job": "blackbox"}, None),
    ],
)
def test_category(labels: dict[str, str], expected: Category | None) -> None:
    assert category_of(labels) == expected


def test_invalid_region_and_overlong_ids_are_dropped() -> None:
    (draft,) = parse_alertmanager(one_alert(region="mars", customer="K" * 65, serial="  SN-1 "))
    assert draft.region is None
    assert draft.customer_id is None
    assert draft.asset_serial == "SN-1"


def test_subject_falls_back_to_the_fingerprint() -> None:
    payload = json.loads(one_alert())
    payload["alerts"][0]["labels"] = {"job": "snmp"}
    (draft,) = parse_alertmanager(body(payload))
    assert draft.subject == "alert 9d3a6f1c2b7e8a45"
    assert draft.description == "labels: job=snmp"


def test_unknown_fields_are_accepted() -> None:
    payload = load("alertmanager-firing.json")
    payload["newTopLevelField"] = {"x": 1}
    payload["alerts"][0]["silenceURL"] = "http://alertmanager/silence"
    assert len(parse_alertmanager(body(payload))) == 2


@pytest.mark.parametrize("version", ["3", 4, None])
def test_other_versions_are_refused_naming_the_field(version: object) -> None:
    payload = load("alertmanager-firing.json")
    if version is None:
        del payload["version"]
    else:
        payload["version"] = version
    with pytest.raises(InvalidInput) as caught:
        parse_alertmanager(body(payload))
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == ["version"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe{}", b"[]", b'"firing"'])
@pytest.mark.parametrize("parse", [parse_alertmanager, parse_grafana])
def test_malformed_bodies_are_400(raw: bytes, parse: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(raw)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["alerts"][0].pop("fingerprint"), "alerts.0.fingerprint"),
        (lambda p: p["alerts"][1].update(startsAt="yesterday"), "alerts.1.startsAt"),
        (lambda p: p["alerts"][0].update(status="pending"), "alerts.0.status"),
        (lambda p: p["alerts"][0]["labels"].update(port=48), "alerts.0.labels.port"),
        (lambda p: p.pop("alerts"), "alerts"),
    ],
)
def test_missing_or_wrong_fields_are_422_naming_the_path(mutate: Any, field: str) -> None:
    payload = load("alertmanager-firing.json")
    mutate(payload)
    with pytest.raises(InvalidInput) as caught:
        parse_alertmanager(body(payload))
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == [field]
    assert field in caught.value.detail


def test_grafana_alert_maps_every_field() -> None:
    (draft,) = parse_grafana((SAMPLES / "grafana-firing.json").read_bytes())
    assert draft.channel is Channel.GRAFANA
    assert draft.kind is IntakeKind.NEW
    assert draft.natural_key == "e0b7c1a94f2d6358@2024-05-07T01:15:20+00:00"  # +07:00 written as UTC
    assert draft.event_time == datetime(2024, 5, 7, 8, 15, 20, tzinfo=timezone(timedelta(hours=7)))
    assert draft.category is Category.CAMERA  # "NVR recording stopped"
    assert draft.region is Region.SOUTH
    assert (draft.customer_id, draft.asset_serial) == ("KH-00417", "DS7616NIK2-20240193")
    assert (draft.impact, draft.urgency) == (Impact.HIGH, Urgency.MEDIUM)  # major
    assert draft.subject == "NVR bd-nvr-01 stopped recording (kho Bình Dương)"
    lines = draft.description.splitlines()
    assert lines[0] == "No new recording segments from bd-nvr-01 for 10 minutes (4 channels, loading bay)."
    assert lines[1].startswith("value: [ var='A' labels={instance=bd-nvr-01} value=0 ]")
    assert lines[2].startswith("labels: alertname=NVR recording stopped, customer=KH-00417")
    assert draft.alert is not None
    assert (draft.alert.source, draft.alert.status, draft.alert.ends_at) == ("grafana", "firing", None)
    assert draft.alert.url == "https://grafana.example.com/d/cctv-overview/cctv-overview?orgId=1"


@pytest.mark.parametrize(
    ("dashboard", "panel", "expected"),
    [
        ("", "https://grafana.example.com/d/x?viewPanel=4", "https://grafana.example.com/d/x?viewPanel=4"),
        ("", "", "https://grafana.example.com/alerting/grafana/cdk3x9q2v7b40e/view?orgId=1"),
    ],
)
def test_grafana_url_falls_back(dashboard: str, panel: str, expected: str) -> None:
    payload = load("grafana-firing.json")
    payload["alerts"][0].update(dashboardURL=dashboard, panelURL=panel)
    (draft,) = parse_grafana(body(payload))
    assert draft.alert is not None and draft.alert.url == expected


def test_grafana_resolved_and_missing_fields() -> None:
    payload = load("grafana-firing.json")
    payload["alerts"][0].update(status="resolved", endsAt="2024-05-07T08:45:00+07:00")
    (draft,) = parse_grafana(body(payload))
    assert draft.kind is IntakeKind.ALERT_RESOLVED
    assert draft.natural_key == "e0b7c1a94f2d6358@2024-05-07T01:15:20+00:00"
    assert draft.event_time == datetime(2024, 5, 7, 1, 45, tzinfo=UTC)

    del payload["alerts"][0]["labels"]
    with pytest.raises(InvalidInput) as caught:
        parse_grafana(body(payload))
    assert (caught.value.status, [e.field for e in caught.value.errors]) == (422, ["alerts.0.labels"])


_ALERT_KEYS = st.tuples(
    st.sampled_from(["aaaa1111", "bbbb2222", "cccc3333"]),
    st.sampled_from(["2024-05-06T07:40:12Z", "2024-05-06T07:45:00Z"]),
    st.sampled_from(["firing", "resolved"]),
)


@given(keys=st.lists(_ALERT_KEYS, max_size=12))
def test_one_draft_per_distinct_alert_in_first_seen_order(keys: list[tuple[str, str, str]]) -> None:
    alerts = [
        {"status": s, "labels": {"alertname": "X"}, "startsAt": t, "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f}
        for f, t, s in keys
    ]
    drafts = parse_alertmanager(body({"version": "4", "status": "firing", "alerts": alerts}))
    distinct = list(dict.fromkeys(keys))
    assert [(d.alert.fingerprint, d.alert.status) for d in drafts if d.alert] == [(f, s) for f, _, s in distinct]


@given(offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_the_key_does_not_depend_on_how_the_start_time_is_written(offset_minutes: int) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    payload = load("alertmanager-firing.json")
    payload["alerts"][0]["startsAt"] = STARTS.astimezone(zone).isoformat()
    assert parse_alertmanager(body(payload))[0].natural_key == KEY
