"""The console's words in Vietnamese and English. Pure. The viewer's choice (a cookie set by the
language switch) wins over the browser's Accept-Language; Vietnamese is the default."""

from __future__ import annotations

LANGS = ("vi", "en")
DEFAULT = "vi"

MESSAGES: dict[str, dict[str, str]] = {
    "title": {"vi": "Bàn dịch vụ ccdr", "en": "ccdr service desk"},
    "sign_in": {"vi": "Đăng nhập", "en": "Sign in"},
    "sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "agent_id": {"vi": "Mã nhân viên", "en": "Agent ID"},
    "password": {"vi": "Mật khẩu", "en": "Password"},
    "served_by": {"vi": "Trang này do site {site} phục vụ", "en": "This page is served by site {site}"},
    "remote_login": {
        "vi": "Đăng nhập từ xa: bạn đang làm việc qua site {site}, site nhà của bạn là {home}.",
        "en": "Remote sign-in: you are working through site {site}; your home site is {home}.",
    },
    "bad_login": {"vi": "Sai mã nhân viên hoặc mật khẩu.", "en": "Unknown agent or wrong password."},
    "throttled": {
        "vi": "Đăng nhập sai quá nhiều lần: hãy thử lại sau {s} giây.",
        "en": "Too many failed sign-ins: try again in {s} s.",
    },
    "expired": {"vi": "Phiên đã hết hạn: hãy đăng nhập lại.", "en": "Your session has ended: sign in again."},
    "bad_csrf": {"vi": "Biểu mẫu đã cũ: hãy tải lại trang.", "en": "This form is stale: reload the page."},
    "my_queue": {"vi": "Hàng đợi của tôi", "en": "My queue"},
    "team_queue": {"vi": "Hàng đợi của nhóm {team}", "en": "Team {team} queue"},
    "empty": {"vi": "Không có phiếu nào.", "en": "No tickets."},
    "code": {"vi": "Mã phiếu", "en": "Ticket"},
    "priority": {"vi": "Ưu tiên", "en": "Priority"},
    "status": {"vi": "Trạng thái", "en": "Status"},
    "subject": {"vi": "Tiêu đề", "en": "Subject"},
    "response_due": {"vi": "Hạn phản hồi", "en": "Response due"},
    "resolution_due": {"vi": "Hạn xử lý", "en": "Resolution due"},
    "sla": {"vi": "SLA", "en": "SLA"},
    "sla_on_track": {"vi": "đúng hạn", "en": "on track"},
    "sla_warning": {"vi": "sắp trễ", "en": "at risk"},
    "sla_breached": {"vi": "đã trễ", "en": "breached"},
    "sla_paused": {"vi": "tạm dừng", "en": "paused"},
    "assignee": {"vi": "Người xử lý", "en": "Assignee"},
    "nobody": {"vi": "chưa giao", "en": "unassigned"},
    "timeline": {"vi": "Diễn biến", "en": "Timeline"},
    "verification": {"vi": "Xác minh khách hàng, hợp đồng, thiết bị", "en": "Customer, contract and asset check"},
    "move_to": {"vi": "Chuyển sang", "en": "Move to"},
    "note": {"vi": "Ghi chú", "en": "Note"},
    "worklog": {"vi": "Nhật ký công việc", "en": "Work log"},
    "minutes": {"vi": "Số phút", "en": "Minutes spent"},
    "add": {"vi": "Thêm", "en": "Add"},
    "resolve": {"vi": "Đóng xử lý", "en": "Resolve"},
    "root_cause": {"vi": "Nguyên nhân gốc", "en": "Root cause"},
    "actions_taken": {"vi": "Biện pháp đã làm", "en": "Actions taken"},
    "back": {"vi": "Về hàng đợi", "en": "Back to the queue"},
    "search": {"vi": "Tìm phiếu", "en": "Search"},
    "search_for": {"vi": "Mã phiếu, tiêu đề hoặc mô tả", "en": "Ticket code, subject or description"},
    "any": {"vi": "bất kỳ", "en": "any"},
    "results": {"vi": "{n} phiếu khớp với “{q}”", "en": "{n} tickets match “{q}”"},
    "bad_search": {
        "vi": "Nội dung tìm kiếm có ký tự không hợp lệ.",
        "en": "The search text has characters that cannot be searched for.",
    },
    "csat": {"vi": "Mức hài lòng (CSAT)", "en": "Satisfaction (CSAT)"},
    "csat_score": {"vi": "Điểm hài lòng của khách (1 đến 5)", "en": "Customer's satisfaction score (1 to 5)"},
    "csat_comment": {"vi": "Nhận xét của khách", "en": "Customer's comment"},
    "csat_record": {"vi": "Ghi nhận CSAT", "en": "Record CSAT"},
    "supervise": {"vi": "Điều phối (giám sát viên)", "en": "Supervise"},
    "reassign_to": {"vi": "Giao cho kỹ sư (mã nhân viên)", "en": "Give to engineer (agent ID)"},
    "reassign": {"vi": "Giao lại", "en": "Reassign"},
    "escalate_why": {"vi": "Lý do chuyển lên {level}", "en": "Why escalate to {level}"},
    "escalate": {"vi": "Chuyển lên {level} ngay", "en": "Escalate to {level} now"},
    "forbidden": {"vi": "Vai trò của bạn không được xem trang này.", "en": "Your role may not see this page."},
    "not_found": {"vi": "Không có tệp này.", "en": "No such file."},
    "read_only": {"vi": "Chỉ xem (vai trò kiểm toán).", "en": "Read only (auditor role)."},
    "live": {"vi": "Tự cập nhật", "en": "Live"},
    "language": {"vi": "Ngôn ngữ", "en": "Language"},
    "opened": {"vi": "Mở lúc", "en": "Opened"},
    "team": {"vi": "Nhóm", "en": "Team"},
    "region": {"vi": "Vùng", "en": "Region"},
    "board": {"vi": "Bảng giám sát", "en": "Wallboard"},
    "open_by_priority_team": {"vi": "Phiếu đang mở theo ưu tiên và nhóm", "en": "Open tickets by priority and team"},
    "open_by_region": {"vi": "Phiếu đang mở theo vùng", "en": "Open tickets by region"},
    "escalations_hour": {"vi": "Leo thang trong 1 giờ qua", "en": "Escalations in the last hour"},
    "on_duty": {"vi": "Đang trực", "en": "On duty now"},
    "present_at": {"vi": "Đăng nhập tại site", "en": "Signed in at site"},
    "absent": {"vi": "vắng mặt", "en": "not present"},
    "created_15": {"vi": "Phiếu mới trong 15 phút qua: {n}", "en": "Tickets opened in the last 15 minutes: {n}"},
    "unstaffed": {
        "vi": "Nhóm có phiếu mở nhưng không ai trực có mặt: {teams}",
        "en": "Teams with open tickets and nobody on duty present: {teams}",
    },
    "total": {"vi": "Tổng", "en": "Total"},
    "level": {"vi": "Cấp", "en": "Level"},
}


def pick(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGS:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGS:
            return tag
    return DEFAULT


def translate(lang: str, key: str, extra: dict[str, dict[str, str]] | None = None, **values: object) -> str:
    """`extra`: a panel's own words, consulted before the console's."""
    found = (extra or {}).get(key) or MESSAGES[key]
    text = found.get(lang) or found[DEFAULT]
    return text.format(**values) if values else text
