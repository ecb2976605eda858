"""Every channel end to end through the front door: accepted -> ticket visible via the API with
the right priority, SLA deadlines, team and region."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from core.intake.domain.codes import email_ticket_code
from infra.lab.pki import front_door_tls
from tests.integration.conftest import wait_until
from tests.integration.core.conftest import DESK_AGENT, Front
from tests.integration.core.mail import wait_for_chat_reply


def _due_minutes(ticket: dict, clock: str) -> float:
    received = datetime.fromisoformat(ticket["received_at"])
    return (datetime.fromisoformat(ticket["sla"][clock]["due"]) - received) / timedelta(minutes=1)


def _portal_body(subject: str, **extra: object) -> dict[str, object]:
    return {
        "contact": {"name": "Nguyễn Văn An", "phone": "+84 912 345 678", "email": "an.nguyen@songhong.example"},
        "subject": subject,
        "description": "Toàn bộ chi nhánh không truy cập được core banking",
        **extra,
    }


@pytest.mark.parametrize("channel", ["portal", "mobile", "chatbot"])
def test_json_channels_verify_prioritise_route_and_start_the_sla(front: Front, unique: Callable, channel: str) -> None:
    body = _portal_body(
        unique("firewall down"),
        contract_number="HD-2025-0001",  # platinum, 24x7
        asset_serial="SN-FW-HN-0001",
        category="network",
        location="Hội sở Hà Nội",
        impact="high",
        urgency="medium",
    )
    r = front.post(channel, body)
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert r.headers["location"] == accepted["status_url"]
    ticket = front.ticket(accepted["ticket_code"])
    assert ticket["channel"] == channel
    assert ticket["priority"] == "P1"  # matrix P2, raised by the platinum tier (and "down")
    assert (ticket["team"], ticket["region"]) == ("network", "north")
    assert ticket["customer_id"] == "CUST-HN-001"
    assert ticket["verification"]["contract"] == "active"
    assert ticket["verification"]["warranty"] == "under_warranty"
    assert ticket["sla"]["calendar"] == "24x7"
    # The platinum override of the P1 targets (base 15 min / 4 h; tickets.sla_overrides).
    assert ticket["sla"]["policy"] == "24x7/Asia/Ho_Chi_Minh/platinum"
    assert _due_minutes(ticket, "response") == pytest.approx(10)
    assert _due_minutes(ticket, "resolution") == pytest.approx(120)
    assert ticket["received_site"] in front.topo.data_sites
    assert ticket["status"] == "new"


def test_expired_contract_is_recorded_not_refused(front: Front, unique: Callable) -> None:
    r = front.post("portal", _portal_body(unique("báo cháy lỗi"), asset_serial="SN-ALM-BD-0005", impact="low"))
    assert r.status_code == 202, r.text
    ticket = front.ticket(r.json()["ticket_code"])
    assert ticket["verification"]["contract"] == "expired"
    assert ticket["verification"]["warranty"] == "no_warranty_data"
    assert ticket["sla"]["calendar"] == "vn-business-hours"  # no active contract: business hours
    assert (ticket["team"], ticket["region"]) == ("alarm", "south")  # from the asset


@pytest.mark.parametrize("channel", ["hotline", "walk_in"])
def test_agent_entered_intake_records_the_signed_in_agent(front: Front, unique: Callable, channel: str) -> None:
    call_id = unique("call")
    body = {
        "caller_number": "+84 236 3888 999",
        "call_id": call_id,
        "contact": {"name": "Trần Thị Bình"},
        "customer_id": "CUST-DN-002",
        "asset_serial": "SN-CAM-DN-0003",
        "subject": unique("camera kho bãi mất hình"),
        "impact": "medium",
        "urgency": "high",
    }
    # Without a session nothing is taken; naming another agent is refused; the desk's session is recorded.
    anonymous = front.post(channel, body)
    assert anonymous.status_code == 401, anonymous.text
    posing = front.desk.post(f"{front.intake}/v1/intake/{channel}", json={**body, "agent_id": "an.nguyen"})
    assert posing.status_code == 403, posing.text
    r = front.desk.post(f"{front.intake}/v1/intake/{channel}", json=body)
    assert r.status_code == 202, r.text
    ticket = front.ticket(r.json()["ticket_code"])
    assert ticket["receiver"] == f"agent:{DESK_AGENT}"
    assert ticket["contact"]["phone"] == "+84 236 3888 999"
    assert (ticket["team"], ticket["region"], ticket["priority"]) == ("camera", "central", "P2")
    again = front.desk.post(f"{front.intake}/v1/intake/{channel}", json=body)  # the PBX's call id: idempotent
    assert again.json()["ticket_code"] == r.json()["ticket_code"]


def _alertmanager(status: str, fingerprint: str, starts: str, severity: str = "critical") -> dict[str, object]:
    labels = {"alertname": "CoreSwitchDown", "instance": "sw-core-01:9116", "severity": severity, "region": "south"}
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "Core switch sw-core-01 unreachable", "description": "SNMP probe failing"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else starts.replace("T08", "T09"),
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }
    return {
        "version": "4",
        "groupKey": '{}:{alertname="CoreSwitchDown"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "ccdr",
        "groupLabels": {"alertname": "CoreSwitchDown"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": [alert],
    }


def test_alertmanager_firing_opens_a_p1_and_resolved_resolves_it(front: Front, unique: Callable) -> None:
    auth = {"Authorization": f"Bearer {front.secrets.alert_token}"}
    fingerprint, starts = unique("fp"), "2026-11-23T08:00:00Z"
    r = front.post("alertmanager", _alertmanager("firing", fingerprint, starts), headers=auth)
    assert r.status_code == 202, r.text
    code = r.json()["intakes"][0]["ticket_code"]
    ticket = front.ticket(code)
    assert (ticket["priority"], ticket["team"], ticket["region"]) == ("P1", "network", "south")
    assert ticket["alert_fingerprint"] == fingerprint
    repeat = front.post("alertmanager", _alertmanager("firing", fingerprint, starts), headers=auth)
    assert repeat.json()["intakes"][0]["ticket_code"] == code  # repeat notification: same ticket

    resolved = front.post("alertmanager", _alertmanager("resolved", fingerprint, starts), headers=auth)
    assert resolved.status_code == 202, resolved.text
    assert resolved.json()["intakes"][0]["ticket_code"] == code

    def is_resolved() -> dict | None:
        t = front.ticket(code)
        return t if t["status"] == "resolved" else None

    final = wait_until("the alert's ticket resolved", is_resolved, 60)
    assert "cleared" in final["root_cause"]
    kinds = [e["kind"] for e in front.events(code)]
    assert kinds == ["created", "alert_resolved", "status_changed"]
    assert front.sql("SELECT count(*) FROM tickets WHERE alert_fingerprint = %s", fingerprint) == [(1,)]


def test_grafana_alert_opens_a_ticket(front: Front, unique: Callable) -> None:
    body = {
        "receiver": "ccdr",
        "status": "firing",
        "orgId": 1,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "UPSOnBattery", "severity": "warning", "serial": "SN-UPS-SG-0004"},
                "annotations": {"summary": "UPS on battery at Phòng máy TP.HCM"},
                "startsAt": "2026-11-23T07:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://grafana.example/alerting/grafana/abc/view",
                "fingerprint": unique("gf"),
                "silenceURL": "http://grafana.example/alerting/silence/new",
                "dashboardURL": "",
                "panelURL": "",
                "values": {"B": 1},
                "valueString": "[ var='B' labels={} value=1 ]",
            }
        ],
        "groupLabels": {"alertname": "UPSOnBattery"},
        "commonLabels": {"alertname": "UPSOnBattery"},
        "commonAnnotations": {},
        "externalURL": "http://grafana.example/",
        "version": "1",
        "groupKey": '{}:{alertname="UPSOnBattery"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] UPSOnBattery",
        "state": "alerting",
        "message": "UPS on battery",
    }
    r = front.post("grafana", body, headers={"Authorization": f"Bearer {front.secrets.alert_token}"})
    assert r.status_code == 202, r.text
    ticket = front.ticket(r.json()["intakes"][0]["ticket_code"])
    assert (ticket["team"], ticket["region"]) == ("datacenter", "south")
    assert ticket["verification"]["contract"] == "active"
    assert ticket["priority"] == "P2"  # warning floor P3, raised one level by the gold contract


def test_slack_event_is_verified_and_opens_a_ticket(front: Front, unique: Callable) -> None:
    secret = front.secrets.slack_signing
    challenge = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"}).encode()
    r = front.http.post(f"{front.intake}/v1/intake/slack", content=challenge, headers=_slack_headers(secret, challenge))
    assert (r.status_code, r.json()) == (200, {"challenge": "c-123"})

    event_id = unique("Ev")
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event": {
                "type": "message",
                "user": "U024BE7LH",
                "text": "Wifi tầng 3 mất kết nối từ 9h",
                "ts": "1763888400.000100",
                "channel": "C024BE91L",
                "event_ts": "1763888400.000100",
                "client_msg_id": unique("msg"),
            },
            "event_id": event_id,
            "event_time": 1763888400,
        }
    ).encode()
    r = front.http.post(f"{front.intake}/v1/intake/slack", content=body, headers=_slack_headers(secret, body))
    assert r.status_code == 200, r.text
    code = r.json()["intakes"][0]["ticket_code"]
    ticket = front.ticket(code)
    assert ticket["channel"] == "slack"
    assert ticket["team"] == "network"
    reply = wait_for_chat_reply(front.topo, "slack", code)  # no e-mail address: answered where they wrote
    assert reply["channel"] == "C024BE91L" and reply["text"].startswith("<@U024BE7LH> ")
    assert "/status/" in reply["text"]
    retry = front.http.post(
        f"{front.intake}/v1/intake/slack",
        content=body,
        headers={**_slack_headers(secret, body), "X-Slack-Retry-Num": "1"},
    )
    assert retry.json()["intakes"][0]["ticket_code"] == code  # Slack's retry: the event_id dedups
    replay = front.http.post(  # a captured request sent again under a new (unsigned) Idempotency-Key
        f"{front.intake}/v1/intake/slack",
        content=body,
        headers={**_slack_headers(secret, body), "Idempotency-Key": unique("replay")},
    )
    assert replay.status_code == 200 and replay.json()["intakes"][0]["ticket_code"] == code


def _slack_headers(secret: str, body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={sig}"}


def test_teams_outgoing_webhook_is_verified_and_answers_in_the_conversation(front: Front, unique: Callable) -> None:
    body = json.dumps(
        {
            "type": "message",
            "id": unique("1763888400"),
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "serviceUrl": "https://smba.trafficmanager.net/apac/",
            "channelId": "msteams",
            "from": {"id": "29:1abc", "name": "Lê Văn Cường", "aadObjectId": "a1b2c3d4"},
            "conversation": {"id": "19:meeting_abc@thread.v2", "isGroup": True},
            "text": "<at>ccdr</at> Máy in tầng 2 kẹt giấy liên tục",
            "textFormat": "plain",
            "channelData": {"teamsChannelId": "19:abc@thread.skype", "tenant": {"id": "t-1"}},
        }
    ).encode()
    key = base64.b64decode(front.secrets.teams_hmac)
    auth = "HMAC " + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    r = front.http.post(
        f"{front.intake}/v1/intake/teams",
        content=body,
        headers={"Authorization": auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "message"
    code = r.json()["text"].split()[-1]
    ticket = front.ticket(code)
    assert (ticket["channel"], ticket["team"]) == ("teams", "devices")
    assert ticket["contact"]["name"] == "Lê Văn Cường"
    # Later notices go through the desk's bot (Bot Framework): a token first, then the activity.
    reply = wait_for_chat_reply(front.topo, "teams", code)
    assert reply["conversation"] == "19:meeting_abc@thread.v2" and reply["type"] == "message"


def test_zalo_message_is_verified_and_opens_a_ticket(front: Front, unique: Callable) -> None:
    ts = str(int(time.time() * 1000))
    app_id = front.secrets.zalo_app_id
    body = json.dumps(
        {
            "app_id": app_id,
            "user_id_by_app": "552177279717587730",
            "event_name": "user_send_text",
            "timestamp": ts,
            "sender": {"id": "246845883529197922"},
            "recipient": {"id": "388613280878808645"},
            "message": {"text": "Camera cổng chính không lên hình", "msg_id": unique("zmsg")},
        },
        ensure_ascii=False,
    ).encode()
    mac = hashlib.sha256((app_id + body.decode() + ts + front.secrets.zalo_oa_key).encode()).hexdigest()
    r = front.http.post(
        f"{front.intake}/v1/intake/zalo",
        content=body,
        headers={"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"},
    )
    assert r.status_code == 202, r.text
    code = r.json()["ticket_code"]
    ticket = front.ticket(code)
    assert (ticket["channel"], ticket["team"]) == ("zalo", "camera")
    reply = wait_for_chat_reply(front.topo, "zalo", code)
    assert reply["recipient"] == {"user_id": "246845883529197922"} and "/status/" in reply["message"]["text"]


def _send_mail(front: Front, msg: EmailMessage) -> str:
    fd = front.topo.front_door
    with smtplib.SMTP(str(fd.address), fd.intake_smtp, timeout=30) as smtp:
        smtp.starttls(context=front_door_tls(front.topo))  # the site's certificate names the front door too
        refused = smtp.send_message(msg)
        assert not refused
        return smtp.noop()[1].decode()


def test_mail_in_clear_is_refused_until_starttls(front: Front) -> None:
    fd = front.topo.front_door
    with smtplib.SMTP(str(fd.address), fd.intake_smtp, timeout=30) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        code, reply = smtp.mail("ha.pham@songhong.example")
        assert (code, reply) == (530, b"Must issue a STARTTLS command first")
        smtp.starttls(context=front_door_tls(front.topo))
        smtp.ehlo()
        assert smtp.mail("ha.pham@songhong.example")[0] == 250
        assert isinstance(smtp.sock, ssl.SSLSocket) and smtp.sock.version() in ("TLSv1.2", "TLSv1.3")


def test_email_opens_a_ticket_and_a_reply_threads_onto_it(front: Front, unique: Callable) -> None:
    first_id = make_msgid(domain="songhong.example")
    msg = EmailMessage()
    msg["From"] = "Phạm Thu Hà <ha.pham@songhong.example>"
    msg["To"] = "support@ccdr.example"
    msg["Subject"] = unique("Mất kết nối mạng tại chi nhánh Hải Phòng")
    msg["Message-ID"] = first_id
    msg["Date"] = "Mon, 23 Nov 2026 08:15:00 +0700"
    msg.set_content("Từ 8h sáng toàn bộ chi nhánh không vào được mạng.\nHợp đồng HD-2025-0001.")
    msg.add_alternative("<p>Từ 8h sáng toàn bộ chi nhánh <b>không vào được mạng</b>.</p>", subtype="html")
    _send_mail(front, msg)
    code = email_ticket_code(first_id)
    ticket = front.ticket(code)
    assert ticket["channel"] == "email"
    assert ticket["contact"]["email"] == "ha.pham@songhong.example"
    assert (ticket["team"], ticket["region"]) == ("network", "north")

    reply = EmailMessage()
    reply["From"] = "ha.pham@songhong.example"
    reply["To"] = "support@ccdr.example"
    reply["Subject"] = "Re: " + msg["Subject"]
    reply["Message-ID"] = make_msgid(domain="songhong.example")
    reply["In-Reply-To"] = first_id
    reply["References"] = first_id
    reply.set_content("Đã khởi động lại router nhưng vẫn không được.")
    _send_mail(front, reply)

    def replied() -> list | None:
        kinds = [e["kind"] for e in front.events(code)]
        return kinds if "customer_replied" in kinds else None

    wait_until("the reply appended to the first ticket", replied, 60)
    assert front.sql("SELECT count(*) FROM tickets WHERE code = %s", email_ticket_code(reply["Message-ID"])) == [(0,)]
