"""What the customer hears about their incident, and when. Pure: no I/O.

- **created**: the acknowledgement, with the ticket code, the priority, when we respond and resolve
  by, and the status-page link;
- **status_changed**: each step the customer can see (work started, waiting for them, technician
  on the way, resolved with its root cause and the satisfaction survey, reopened);
- **progress_update_due**: the regular update of a P1/P2 (the SLA clock schedules it every 2 h).

Internal events (work log, assignment, escalation between levels) are never told. Each mail is
in Vietnamese, then English, and its subject carries the code, so a reply threads onto the ticket.
A customer without an e-mail address who wrote on Slack, Zalo or Teams is answered there.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from core.domain.ticket_states import TicketState
from core.notify.domain.chat import can_reply
from core.notify.domain.rules import ChatTarget, Notice, TicketEventMessage

S = TicketState


class CustomerView(BaseModel):
    """What the notifier reads of the ticket (now) when it tells its customer about an event."""

    model_config = ConfigDict(frozen=True)

    code: str
    subject: str
    status: TicketState
    priority: str
    email: str | None
    response_due: datetime | None
    resolution_due: datetime | None
    root_cause: str | None
    actions_taken: str | None
    chat: ChatTarget | None = None  # a chat incident: where it came from


# (Vietnamese, English) for each step the customer sees.
_STEPS: dict[TicketState, tuple[str, str]] = {
    S.ACKNOWLEDGED: ("Kỹ sư đã nhận yêu cầu của quý khách.", "An engineer has taken your request."),
    S.IN_PROGRESS: ("Kỹ sư đang xử lý sự cố.", "An engineer is working on your incident."),
    S.PENDING_CUSTOMER: (
        "Chúng tôi cần thêm thông tin từ quý khách: vui lòng trả lời thư này.",
        "We need more information from you: please reply to this mail.",
    ),
    S.DISPATCHED_ONSITE: (
        "Kỹ thuật viên đang được cử đến địa điểm của quý khách.",
        "A technician is being sent to your site.",
    ),
}
_STATUS_VI = {
    S.NEW: "mới tiếp nhận",
    S.ACKNOWLEDGED: "đã nhận",
    S.IN_PROGRESS: "đang xử lý",
    S.PENDING_CUSTOMER: "chờ thông tin từ quý khách",
    S.DISPATCHED_ONSITE: "đã cử kỹ thuật viên",
    S.RESOLVED: "đã giải quyết",
    S.CLOSED: "đã đóng",
}


def customer_notices(event: TicketEventMessage, view: CustomerView, link: str, zone: ZoneInfo) -> list[Notice]:
    """The notice (none or one) that `event` sends the ticket's customer: by mail to their address,
    else on the chat they wrote from (Slack, Zalo, Teams); `link` is their status page."""
    body = _body(event, view, link, zone)
    if body is None:
        return []
    subject, text = body
    if view.email:
        return [Notice(view.email, f"[{view.code}] {subject}", text, to_customer=True)]
    chat = view.chat
    if chat is not None and can_reply(chat):
        who = f"{chat.platform}:{chat.user_id or chat.conversation}"
        return [Notice(who, f"[{view.code}] {subject}", text, chat=chat, to_customer=True)]
    return []  # no address to write to (a call, a walk-in): the engineer calls back


def _body(event: TicketEventMessage, view: CustomerView, link: str, zone: ZoneInfo) -> tuple[str, str] | None:
    if event.kind == "created":
        return _acknowledgement(view, link, zone)
    if event.kind == "progress_update_due":
        if view.status not in _STATUS_VI or view.status in (S.RESOLVED, S.CLOSED):
            return None
        vi = f"Cập nhật định kỳ: sự cố {view.code} ({view.priority}) {_STATUS_VI[view.status]}."
        en = f"Regular update: incident {view.code} ({view.priority}) is {view.status.value.replace('_', ' ')}."
        due = _when(view.resolution_due, zone)
        return "Cập nhật tiến độ / Progress update", _two(
            [vi, f"Hạn giải quyết: {due}.", "Lần cập nhật tiếp theo sau 2 giờ."],
            [en, f"To be resolved by {due}.", "Next update in 2 hours."],
            link,
        )
    if event.kind != "status_changed":
        return None
    to, previous = _state(event.data.get("to")), _state(event.data.get("from"))
    if to is S.RESOLVED:
        return _resolution(view, link)
    if to is S.IN_PROGRESS and previous in (S.RESOLVED, S.CLOSED):
        return "Mở lại / Reopened", _two(
            [f"Sự cố {view.code} đã được mở lại và đang được xử lý."],
            [f"Incident {view.code} has been reopened and is being worked on."],
            link,
        )
    if to in _STEPS:
        vi, en = _STEPS[to]
        eta = _eta(event.data.get("eta"), zone) if to is S.DISPATCHED_ONSITE else None
        extra_vi, extra_en = ([f"Dự kiến đến nơi: {eta}."], [f"Expected on site: {eta}."]) if eta else ([], [])
        return "Cập nhật / Update", _two([vi, *extra_vi], [en, *extra_en], link)
    return None  # closing follows the resolution the customer was told about


def _acknowledgement(view: CustomerView, link: str, zone: ZoneInfo) -> tuple[str, str]:
    respond, resolve = _when(view.response_due, zone), _when(view.resolution_due, zone)
    # The subject carries no text the sender typed: the portal takes anyone's address, and the
    # desk's mail must not carry a stranger's words in its subject line.
    return "Đã tiếp nhận / Received", _two(
        [
            f"Chúng tôi đã tiếp nhận yêu cầu của quý khách. Mã sự cố: {view.code}.",
            f"Mức ưu tiên: {view.priority}. Phản hồi trước: {respond}. Giải quyết trước: {resolve}.",
            "Vui lòng giữ nguyên mã sự cố trong tiêu đề khi trả lời.",
        ],
        [
            f"We have received your request. Incident code: {view.code}.",
            f"Priority: {view.priority}. We respond by {respond} and resolve by {resolve}.",
            "Please keep the code in the subject when you reply.",
        ],
        link,
    )


def _resolution(view: CustomerView, link: str) -> tuple[str, str]:
    cause = view.root_cause or "-"
    actions = view.actions_taken or "-"
    return "Đã giải quyết / Resolved", _two(
        [
            f"Sự cố {view.code} đã được giải quyết.",
            f"Nguyên nhân: {cause}",
            f"Đã thực hiện: {actions}",
            "Xin quý khách đánh giá mức độ hài lòng (1-5) tại trang trạng thái bên dưới.",
            "Nếu sự cố vẫn còn, vui lòng trả lời thư này.",
        ],
        [
            f"Incident {view.code} is resolved.",
            f"Root cause: {cause}",
            f"What we did: {actions}",
            "Please rate our service (1-5) on the status page below.",
            "If the problem is still there, reply to this mail.",
        ],
        link,
    )


def _two(vi: list[str], en: list[str], link: str) -> str:
    return "\n".join([*vi, "", *en, "", f"Trạng thái / Status: {link}", ""])


def _when(at: datetime | None, zone: ZoneInfo) -> str:
    if at is None:
        return "-"
    local = at.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def _eta(value: object, zone: ZoneInfo) -> str | None:
    try:
        return _when(datetime.fromisoformat(str(value)), zone) if value else None
    except ValueError:
        return None


def _state(value: object) -> TicketState | None:
    try:
        return TicketState(str(value))
    except ValueError:
        return None
