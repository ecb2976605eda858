"""Realistic intake payloads per channel, for the load test. Pure: no I/O, no clock, standard library only.

Every builder takes `now` and draws from the factory's seeded `random.Random`, so a seed replays the
same traffic. Every request carries a unique marker (`lt<run>u<user>n<seq>`, one search token for
PostgreSQL's 'simple' parser) in its description, so `GET /v1/tickets?q=<marker>` finds its ticket;
the run id keeps Idempotency-Keys and natural keys of two runs apart.

The bodies are the platforms' wire formats (Alertmanager webhook v4, Grafana unified alerting,
Slack Events API, Teams outgoing webhook, Zalo OA, RFC 5322 mail), modelled on
`tests/samples/channels`; `tests/unit/loadtests/test_payloads.py` runs them through core's parsers.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

VIETNAM = timezone(timedelta(hours=7))
# Python 3.11's header folder drops the space between two encoded words it splits ("chập chờn" is
# read back as "chậpchờn"), so fold only at SMTP's hard line limit; our subjects never reach it.
WIRE_POLICY = SMTP.clone(max_line_length=998)
SUPPORT_MAILBOX = Address("Bộ phận hỗ trợ kỹ thuật", "support", "helpdesk.example.com")
GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # how Alertmanager and Grafana say "not ended"
SLACK_BOT = "U06QHB7TJ2K"
SLACK_TEAM = "T04KQ7ZD1RN"
ZALO_OA_ID = "579745863508352884"
DESK_AGENTS = ("khanh.bui", "linh.dang", "an.nguyen", "binh.tran", "hai.do", "dung.pham")  # L1, lab demo agents
_RUN_ID = re.compile(r"[a-z0-9]{1,16}")
_BASE32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

JsonObject = dict[str, object]


@dataclass(frozen=True)
class Customer:
    id: str
    contract: str | None
    region: str
    domain: str


@dataclass(frozen=True)
class Asset:
    serial: str
    customer: str
    category: str
    location: str


@dataclass(frozen=True)
class Place:
    name: str
    slug: str
    region: str
    area_code: str


@dataclass(frozen=True)
class Problem:
    category: str
    subject: str  # may name {place}, {n}, {host}
    detail: str


@dataclass(frozen=True)
class AlertRule:
    category: str
    alertname: str
    job: str
    host: str  # instance pattern, e.g. "{slug}-core-sw0{n}"
    summary: str
    description: str = ""


# The lab's reference data (infra/lab/reference.sql), so verification finds customers and assets.
CUSTOMERS = (
    Customer("CUST-HN-001", "HD-2025-0001", "north", "songhong.example.com"),
    Customer("CUST-DN-002", "HD-2025-0002", "central", "tiensa-logistics.example.com"),
    Customer("CUST-SG-003", "HD-2025-0003", "south", "phuongnam-retail.example.com"),
    Customer("CUST-SG-004", "HD-2023-0004", "south", "bdsteel.example.com"),  # expired: recorded, never refused
)
ASSETS = (
    Asset("SN-FW-HN-0001", "CUST-HN-001", "network", "Hội sở Hà Nội"),
    Asset("SN-SRV-HN-0002", "CUST-HN-001", "server", "DC Hà Nội"),
    Asset("SN-CAM-DN-0003", "CUST-DN-002", "camera", "Kho bãi Đà Nẵng"),
    Asset("SN-UPS-SG-0004", "CUST-SG-003", "datacenter", "Phòng máy TP.HCM"),
    Asset("SN-ALM-BD-0005", "CUST-SG-004", "alarm", "Nhà máy Bình Dương"),
)
UNKNOWN_CUSTOMER_SHARE = 0.05  # reports from customers the CRM does not know yet

PLACES = (
    Place("Hà Nội", "hn", "north", "24"),
    Place("Hải Phòng", "hp", "north", "225"),
    Place("Bắc Ninh", "bn", "north", "222"),
    Place("Đà Nẵng", "dn", "central", "236"),
    Place("Huế", "hue", "central", "234"),
    Place("Nha Trang", "nt", "central", "258"),
    Place("TP.HCM", "hcm", "south", "28"),
    Place("Cần Thơ", "ct", "south", "292"),
    Place("Bình Dương", "bd", "south", "274"),
)

PROBLEMS = (
    Problem("network", "Mất kết nối mạng chi nhánh {place}", "Cả chi nhánh không ra Internet, đã khởi động lại modem."),
    Problem("network", "Firewall {place} reboot liên tục", "The firewall reboots every few minutes; the VPN drops."),
    Problem("network", "VPN site-to-site {place} - Hội sở chập chờn", "Kết nối VPN rớt 5-10 phút một lần từ sáng."),
    Problem("network", "Wi-Fi tầng {n} không vào được mạng", "Nhân viên tầng {n} bắt được sóng nhưng không có IP."),
    Problem("server", "Server ERP chậm", "ERP phản hồi trên 30 giây khi lập phiếu xuất kho, nhiều người bị ảnh hưởng."),
    Problem("server", "ERP server slow at month-end closing", "Closing jobs time out; CPU on {host} stays at 100%."),
    Problem("server", "Ổ cứng máy chủ {host} báo lỗi RAID", "Đèn ổ số {n} chuyển màu cam, RAID đang degraded."),
    Problem("camera", "Camera kho {n} không ghi hình", "Đầu ghi không có dữ liệu camera kho {n} từ tối qua."),
    Problem("camera", "Camera cổng chính {place} mất hình", "Màn hình giám sát báo 'No video' cho camera cổng."),
    Problem("datacenter", "UPS phòng máy {place} chuyển sang chạy pin", "Mất điện lưới, UPS còn khoảng {n}0 phút."),
    Problem("datacenter", "Nhiệt độ phòng máy {place} vượt 30°C", "Điều hoà chính dừng, nhiệt độ rack tăng nhanh."),
    Problem("alarm", "Tủ báo cháy nhà máy báo lỗi zone {n}", "Tủ trung tâm báo lỗi đường dây zone {n}, còi kêu."),
    Problem("alarm", "Fire alarm panel fault in zone {n}", "Wiring fault on zone {n}; please send a technician."),
    Problem("cabling", "Cáp quang tầng {n} bị đứt", "Thi công trần làm đứt cáp quang trục tầng {n}."),
    Problem("devices", "Máy in tầng {n} kẹt giấy liên tục", "Đã tắt bật lại nhưng vẫn lỗi, cần thay trục cuốn."),
    Problem("devices", "Máy POS quầy {n} không in được hoá đơn", "Receipt printer at counter {n} prints blank pages."),
)

ALERT_RULES = (
    AlertRule("network", "InterfaceDown", "snmp", "{slug}-core-sw0{n}", "WAN uplink down on {host} ({place})"),
    AlertRule("network", "BlackboxProbeFailed", "blackbox", "{slug}-gw0{n}", "Chi nhánh {place} không phản hồi ping"),
    AlertRule("server", "HostHighCpuLoad", "node", "{slug}-erp-app0{n}", "Server ERP {host} CPU > 95%", "Load > 32."),
    AlertRule("server", "NodeDown", "node", "{slug}-file0{n}", "Máy chủ {host} mất kết nối exporter"),
    AlertRule("datacenter", "UPSOnBattery", "snmp", "{slug}-ups0{n}", "UPS {host} đang chạy pin ({place})"),
    AlertRule("datacenter", "RoomTemperatureHigh", "snmp", "{slug}-env0{n}", "Nhiệt độ phòng máy {place} > 30°C"),
    AlertRule("camera", "NVRRecordingStopped", "blackbox", "{slug}-nvr-0{n}", "Camera kho {n} không ghi hình ({host})"),
    AlertRule("alarm", "FireAlarmPanelFault", "modbus", "{slug}-fap-0{n}", "Tủ báo cháy {place} báo lỗi zone {n}"),
)
SEVERITIES = ("critical", "critical", "major", "warning", "warning", "warning", "info")

PEOPLE = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Võ Minh Đức", "Đặng Quốc Huy")


@dataclass(frozen=True)
class Built:
    """One HTTP request: the channel (also the locust request name), its JSON body and its marker."""

    channel: str
    body: JsonObject
    marker: str
    idempotency_key: str | None = None

    def data(self) -> bytes:
        return encode(self.body)


@dataclass(frozen=True)
class Mail:
    """One email for SMTP; `raw()` is what DATA carries."""

    message: EmailMessage
    marker: str
    sender: str
    recipients: tuple[str, ...]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def raw(self) -> bytes:
        return self.message.as_bytes(policy=WIRE_POLICY)


@dataclass(frozen=True)
class _Scene:
    customer: Customer | None
    asset: Asset | None
    place: Place
    problem: Problem
    n: int

    @property
    def region(self) -> str:
        return self.customer.region if self.customer else self.place.region

    def host(self) -> str:
        return f"{self.place.slug}-srv0{self.n}"

    def subject(self) -> str:
        return self.problem.subject.format(place=self.place.name, n=self.n, host=self.host())

    def detail(self) -> str:
        return self.problem.detail.format(place=self.place.name, n=self.n, host=self.host())


def encode(body: JsonObject) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON, as the platforms send it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def alert_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint: FNV-1a 64 over the sorted label pairs, 16 hex digits."""
    value = 0xCBF29CE484222325
    for name in sorted(labels):
        for chunk in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in chunk:
                value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class PayloadFactory:
    """Builds one user's payloads; `run_id` is per test process, `user` per user in it."""

    run_id: str
    user: int
    rng: random.Random
    _seq: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not _RUN_ID.fullmatch(self.run_id):
            raise ValueError("run_id must be 1-16 lowercase letters or digits (it becomes one search token)")

    @classmethod
    def seeded(cls, run_id: str, user: int, seed: int) -> PayloadFactory:
        return cls(run_id, user, random.Random(f"{seed}:{user}"))

    def next_marker(self) -> str:
        self._seq += 1
        return f"lt{self.run_id}u{self.user}n{self._seq}"

    # JSON forms: portal, mobile, hotline, walk-in

    def portal(self, now: datetime, channel: str = "portal") -> Built:
        """The web portal's or the mobile app's incident form, keyed by Idempotency-Key."""
        marker, scene = self.next_marker(), self._scene()
        name = self.rng.choice(PEOPLE)
        body: JsonObject = {
            "contact": {"name": name, "phone": self._mobile(), "email": self._email_of(name, scene.customer)},
            **self._form(scene, now, marker),
        }
        if self.rng.random() < 0.3:
            body["attachments"] = [self._attachment()]
        return Built(channel, body, marker, f"{channel}-{marker}")

    def agent_entry(self, now: datetime, agent_id: str, channel: str = "hotline") -> Built:
        """What a desk agent types for a call (hotline) or a visit (walk_in); `call_id` is the PBX's id."""
        marker, scene = self.next_marker(), self._scene()
        body: JsonObject = {"agent_id": agent_id, "contact": {"name": self.rng.choice(PEOPLE)}}
        if channel == "hotline":
            body["caller_number"] = self._landline(scene.place)
            body["call_id"] = f"pbx-{now.astimezone(VIETNAM):%Y%m%d}-{_digest(marker)[:10]}"
        else:
            body["contact"] = {"name": self.rng.choice(PEOPLE), "phone": self._mobile()}
        body |= self._form(scene, now, marker)
        return Built(channel, body, marker, f"{channel}-{marker}")

    def _form(self, scene: _Scene, now: datetime, marker: str) -> JsonObject:
        form: JsonObject = {
            "category": scene.problem.category,
            "region": scene.region,
            "location": scene.asset.location if scene.asset else f"Chi nhánh {scene.place.name}",
            "impact": self.rng.choice(("high", "medium", "medium", "low")),
            "urgency": self.rng.choice(("high", "medium", "medium", "low")),
            "subject": scene.subject(),
            "description": f"{scene.detail()}\nMã tham chiếu: {marker}",
            "occurred_at": (now - timedelta(minutes=self.rng.randint(1, 90))).astimezone(VIETNAM).isoformat(),
        }
        if scene.customer:
            form["customer_id"] = scene.customer.id
            if scene.customer.contract:
                form["contract_number"] = scene.customer.contract
        if scene.asset:
            form["asset_serial"] = scene.asset.serial
        return form

    # Monitoring: Alertmanager and Grafana

    def alertmanager(self, now: datetime) -> Built:
        """A notification of one Alertmanager group: 1-3 firing alerts of one rule at one customer."""
        marker, scene = self.next_marker(), self._scene()
        rule = self.rng.choice(ALERT_RULES)
        alerts = [self._alert(rule, scene, now, marker, n) for n in range(1, self.rng.randint(1, 3) + 1)]
        return Built("alertmanager", self._group(alerts, {"alertname": rule.alertname, "region": scene.region}), marker)

    def alert_storm(self, now: datetime, alerts: int = 60, distinct: int = 12) -> Built:
        """A branch outage: `alerts` entries of only `distinct` alerts (shared fingerprints, by design)."""
        if not 1 <= distinct <= alerts:
            raise ValueError("an alert storm needs 1 <= distinct <= alerts")
        marker, scene = self.next_marker(), self._scene()
        unique = [
            self._alert(self.rng.choice(ALERT_RULES), scene, now, marker, n, severity="critical")
            for n in range(1, distinct + 1)
        ]
        entries = [unique[i % distinct] for i in range(alerts)]  # each distinct alert at least once
        self.rng.shuffle(entries)
        body = self._group([copy.deepcopy(a) for a in entries], {"region": scene.region})
        return Built("alertmanager", body, marker)

    def grafana(self, now: datetime) -> Built:
        """Grafana's webhook contact point (unified alerting) with one firing alert."""
        marker, scene = self.next_marker(), self._scene()
        rule = self.rng.choice(ALERT_RULES)
        alert = self._alert(rule, scene, now, marker, 1)
        labels = alert["labels"]
        assert isinstance(labels, dict)
        alert |= {
            "dashboardURL": f"https://grafana.example.com/d/{rule.job}-overview?orgId=1",
            "valueString": f"[ var='A' labels={{instance={labels['instance']}}} value=1 ]",
        }
        body: JsonObject = {
            "receiver": "ccdr-intake",
            "status": "firing",
            "orgId": 1,
            "alerts": [alert],
            "groupLabels": {"alertname": rule.alertname},
            "commonLabels": labels,
            "commonAnnotations": alert["annotations"],
            "externalURL": "https://grafana.example.com/",
            "version": "1",
            "groupKey": f'{{}}:{{alertname="{rule.alertname}"}}',
            "truncatedAlerts": 0,
            "title": f"[FIRING:1] {rule.alertname}",
            "state": "alerting",
        }
        return Built("grafana", body, marker)

    def resolved(self, firing: Built, now: datetime) -> Built:
        """The notification that the alerts of `firing` cleared: same fingerprints and starts."""
        body = copy.deepcopy(firing.body)
        body["status"] = "resolved"
        alerts = body["alerts"]
        assert isinstance(alerts, list)
        for alert in alerts:
            if isinstance(alert, dict):
                alert |= {"status": "resolved", "endsAt": rfc3339(now)}
        if "title" in body:
            body["title"] = str(body["title"]).replace("[FIRING", "[RESOLVED", 1)
            body["state"] = "ok"
        return Built(firing.channel, body, firing.marker)

    def _alert(
        self, rule: AlertRule, scene: _Scene, now: datetime, marker: str, n: int, severity: str | None = None
    ) -> JsonObject:
        host = rule.host.format(slug=scene.place.slug, n=n)
        words = {"host": host, "place": scene.place.name, "n": n}
        labels = {
            "alertname": rule.alertname,
            "instance": host,
            "job": rule.job,
            "severity": severity or self.rng.choice(SEVERITIES),
            "region": scene.region,
            "category": rule.category,
        }
        if scene.customer:
            labels["customer"] = scene.customer.id
            if scene.customer.contract:
                labels["contract"] = scene.customer.contract
        if scene.asset and scene.asset.category == rule.category:
            labels["serial"] = scene.asset.serial
        description = " ".join(filter(None, [rule.description.format(**words), f"Mã tham chiếu: {marker}"]))
        starts = now - timedelta(seconds=self.rng.uniform(5, 300))
        return {
            "status": "firing",
            "labels": labels,
            "annotations": {
                "summary": rule.summary.format(**words),
                "description": description,
                "runbook_url": f"https://wiki.example.com/runbooks/{rule.category}/{rule.alertname.lower()}",
            },
            "startsAt": rfc3339(starts),
            "endsAt": GO_ZERO_TIME,
            "generatorURL": f"http://prometheus-{scene.place.slug}.example.com:9090/graph?g0.expr=up",
            "fingerprint": alert_fingerprint(labels),
        }

    def _group(self, alerts: list[JsonObject], group_labels: dict[str, str]) -> JsonObject:
        matchers = ", ".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
        return {
            "version": "4",
            "groupKey": f'{{}}/{{region=~"central|north|south"}}:{{{matchers}}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "ccdr-intake",
            "groupLabels": group_labels,
            "commonLabels": group_labels,
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.com:9093",
            "alerts": alerts,
        }

    # Chat: Slack, Teams, Zalo

    def slack(self, now: datetime, reply_to: str | None = None) -> Built:
        """An Events API `event_callback`: a mention of the helpdesk bot, or a reply naming a ticket."""
        marker, text = self.next_marker(), self._chat_text(reply_to)
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # as Slack sends text
        user = "U0" + "".join(self.rng.choice(_BASE32) for _ in range(9))
        ts = f"{now.timestamp():.6f}"
        body: JsonObject = {
            "token": "ZZZZZZWSxiZZZ2yIvs3peJ",
            "team_id": SLACK_TEAM,
            "api_app_id": "A06QHB2L9EF",
            "event": {
                "client_msg_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "type": "app_mention",
                "text": f"<@{SLACK_BOT}> {escaped}\nMã tham chiếu: {marker}",
                "user": user,
                "ts": ts,
                "team": SLACK_TEAM,
                "channel": "C05HD8TQ1UZ",
                "event_ts": ts,
            },
            "type": "event_callback",
            "event_id": "Ev" + _base32(_digest(marker), 10),
            "event_time": int(now.timestamp()),
            "authorizations": [{"team_id": SLACK_TEAM, "user_id": SLACK_BOT, "is_bot": True}],
        }
        return Built("slack", body, marker)

    def teams(self, now: datetime, reply_to: str | None = None) -> Built:
        """A Teams outgoing-webhook activity: a message that @-mentions the helpdesk."""
        marker, text = self.next_marker(), self._chat_text(reply_to)
        activity_id = str(int(_digest(marker)[:12], 16))
        conversation = "19:8c2d6f4b1e0a4f7c9b3d2e1f0a9b8c7d@thread.tacv2"
        body: JsonObject = {
            "type": "message",
            "id": activity_id,
            "timestamp": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "localTimestamp": now.astimezone(VIETNAM).isoformat(timespec="milliseconds"),
            "serviceUrl": "https://smba.trafficmanager.net/apac/",
            "channelId": "msteams",
            "from": {
                "id": "29:" + _digest(f"teams-user-{self.rng.randrange(500)}")[:40],
                "name": self.rng.choice(PEOPLE),
                "aadObjectId": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            },
            "conversation": {"isGroup": True, "id": f"{conversation};messageid={activity_id}"},
            "textFormat": "plain",
            "locale": "vi-VN",
            "text": f"<at>Helpdesk</at> {text}\nMã tham chiếu: {marker}",
        }
        return Built("teams", body, marker)

    def zalo(self, now: datetime, app_id: str, reply_to: str | None = None) -> Built:
        """A Zalo OA webhook event: mostly text, sometimes a photo of the problem."""
        marker, text = self.next_marker(), self._chat_text(reply_to)
        message: JsonObject = {"msg_id": _digest(marker)[:40], "text": f"{text}\nMã tham chiếu: {marker}"}
        event = "user_send_text"
        if reply_to is None and self.rng.random() < 0.15:
            event = "user_send_image"
            url = f"https://photo-stal-1.zdn.vn/{_digest(marker)[:24]}.jpg"
            message["attachments"] = [{"type": "image", "payload": {"url": url, "thumbnail": url}}]
        sender = str(10**18 + self.rng.randrange(9 * 10**18))
        body: JsonObject = {
            "app_id": app_id,
            "user_id_by_app": str(10**18 + self.rng.randrange(9 * 10**18)),
            "event_name": event,
            "timestamp": str(int(now.timestamp() * 1000)),
            "sender": {"id": sender},
            "recipient": {"id": ZALO_OA_ID},
            "message": message,
        }
        return Built("zalo", body, marker)

    def _chat_text(self, reply_to: str | None) -> str:
        scene = self._scene()
        if reply_to:
            return f"{reply_to} cập nhật: vẫn còn lỗi, nhờ kỹ thuật kiểm tra lại giúp."
        return f"{scene.subject()}\n{scene.detail()}"

    # Email

    def email(self, now: datetime) -> Mail:
        """A customer's first mail to the support mailbox (Outlook-like, quoted-printable)."""
        marker, scene = self.next_marker(), self._scene()
        name = self.rng.choice(PEOPLE)
        sender = Address(name, addr_spec=self._email_of(name, scene.customer))
        msg = self._envelope(sender, scene.subject(), marker, now, scene.customer)
        body = f"Kính gửi bộ phận hỗ trợ,\n\n{scene.detail()}\n"
        if scene.customer:
            body += f"Khách hàng: {scene.customer.id}"
            body += f", hợp đồng {scene.customer.contract}\n" if scene.customer.contract else "\n"
        if scene.asset:
            body += f"Thiết bị: {scene.asset.serial} ({scene.asset.location})\n"
        msg.set_content(f"{body}\nMã tham chiếu: {marker}\n\nTrân trọng,\n{name}\n", cte="quoted-printable")
        if self.rng.random() < 0.25:
            log = "\n".join(f"{now:%H:%M:%S} link down, retry {i}" for i in range(self.rng.randint(5, 40)))
            msg.add_attachment(log.encode(), maintype="text", subtype="plain", filename="syslog.txt")
        return Mail(msg, marker, sender.addr_spec, (SUPPORT_MAILBOX.addr_spec,))

    def email_reply(self, original: Mail, ticket_code: str, now: datetime) -> Mail:
        """The customer answers in the thread: `Re: [INC-…]` and In-Reply-To/References set."""
        marker = self.next_marker()
        sender = Address(addr_spec=original.sender)
        subject = f"Re: [{ticket_code}] {original.subject}"
        msg = self._envelope(sender, subject, marker, now, None)
        msg["In-Reply-To"] = original.message_id
        msg["References"] = original.message_id
        msg.set_content(f"Đã thử theo hướng dẫn nhưng vẫn lỗi.\n\nMã tham chiếu: {marker}\n", cte="quoted-printable")
        return Mail(msg, marker, original.sender, original.recipients)

    def _envelope(
        self, sender: Address, subject: str, marker: str, now: datetime, customer: Customer | None
    ) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = SUPPORT_MAILBOX
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now.astimezone(VIETNAM))
        domain = customer.domain if customer and customer.domain else "mail.example.com"
        msg["Message-ID"] = f"<{marker}.{_digest(marker)[:8]}@{domain}>"
        msg["X-Mailer"] = "Microsoft Outlook 16.0"
        return msg

    # Shared pieces

    def _scene(self) -> _Scene:
        n = self.rng.randint(1, 9)
        draw = self.rng.random()
        if draw < UNKNOWN_CUSTOMER_SHARE:
            place = self.rng.choice(PLACES)
            unknown = Customer(f"CUST-{place.slug.upper()}-{self.rng.randint(100, 999)}", None, place.region, "")
            return _Scene(unknown, None, place, self.rng.choice(PROBLEMS), n)
        if draw < 0.45:  # a report about a registered asset: verification finds customer, contract and warranty
            asset = self.rng.choice(ASSETS)
            customer = next(c for c in CUSTOMERS if c.id == asset.customer)
            problem = self.rng.choice([p for p in PROBLEMS if p.category == asset.category])
        else:
            asset, customer, problem = None, self.rng.choice(CUSTOMERS), self.rng.choice(PROBLEMS)
        place = self.rng.choice([p for p in PLACES if p.region == customer.region])
        return _Scene(customer, asset, place, problem, n)

    def _mobile(self) -> str:
        digits = self.rng.randrange(10**8)
        return f"+84 9{digits // 10**6:02d} {digits // 1000 % 1000:03d} {digits % 1000:03d}"

    def _landline(self, place: Place) -> str:
        return f"+84 {place.area_code} {self.rng.randint(3000, 3999)} {self.rng.randint(100, 999)}"

    def _email_of(self, name: str, customer: Customer | None) -> str:
        domain = customer.domain if customer and customer.domain else "gmail.example.com"
        given = _ascii_fold(name.split()[-1]).lower()
        family = _ascii_fold(name.split()[0]).lower()
        return f"{given}.{family}{self.rng.randint(1, 99)}@{domain}"

    def _attachment(self) -> JsonObject:
        if self.rng.random() < 0.5:
            return {
                "filename": "anh-chup-loi.jpg",
                "content_type": "image/jpeg",
                "size_bytes": self.rng.randint(40_000, 900_000),
            }
        return {"filename": "log.txt", "content_type": "text/plain", "size_bytes": self.rng.randint(500, 20_000)}


_FOLD = str.maketrans("đĐ", "dD")


def _ascii_fold(text: str) -> str:
    """Vietnamese name to an address-safe word ("Đức" -> "Duc")."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _base32(hex_digest: str, length: int) -> str:
    value = int(hex_digest, 16)
    return "".join(_BASE32[(value >> (5 * i)) & 31] for i in range(length))
