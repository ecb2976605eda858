"""The agent console on in-memory services: sign-in with CSRF and a hardened cookie, queues and
ticket pages, forms that do what the API does and refuse what it refuses, in Vietnamese and English."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient

from core.agents.domain.model import Agent, Role, Session
from core.console import security
from core.console.panels import Panel
from core.console.router import STATIC_DIR, build_console_router
from core.errors import Unauthenticated
from core.tickets.domain.board import Board, Escalation, OnDuty, OpenCount
from core.tickets.domain.model import EventDraft, Ticket
from core.tickets.service import TicketService
from tests.fakes import MemoryTicketStore, opened_ticket

PASSWORD = "đúng-mật-khẩu-0123"
EN = {"Accept-Language": "en-GB,en;q=0.8"}


@dataclass
class _Login:
    token: str
    session: Session
    remote: bool


class Accounts:
    """AgentService's console-facing surface in memory."""

    def __init__(self, site: str, agents: list[Agent]) -> None:
        self.site, self.agents = site, {a.id: a for a in agents}
        self.sessions: dict[str, Session] = {}

    async def login(self, agent_id: str, password: str, client: str | None) -> _Login:
        agent = self.agents.get(agent_id)
        if agent is None or password != PASSWORD:
            raise Unauthenticated("unknown agent or wrong password")
        now = datetime.now(UTC)
        session = Session(agent=agent, site=self.site, issued_at=now, expires_at=now + timedelta(hours=8))
        token = uuid.uuid4().hex
        self.sessions[token] = session
        return _Login(token, session, agent.home_site != self.site)

    async def authenticate(self, token: str | None) -> Session:
        if not token or token not in self.sessions:
            raise Unauthenticated("unknown token")
        return self.sessions[token]

    async def logout(self, token: str, session: Session) -> None:
        self.sessions.pop(token, None)


class StaticBoard:
    """A wallboard source with fixed figures."""

    async def on_duty(self, now: datetime) -> tuple[OnDuty, ...]:
        return (await self.snapshot(now)).on_duty

    async def snapshot(self, now: datetime) -> Board:
        return Board(
            at=now,
            open=(
                OpenCount("P1", "network", "south", "breached", 2),
                OpenCount("P1", "network", "south", "on_track", 1),
                OpenCount("P3", "camera", None, "warning", 4),
            ),
            escalations=(Escalation("INC-AAAA-BBBB-CCCC", now, "L2", "P1", "network"),),
            on_duty=(
                OnDuty("l1.an", "network", "south", "L1", ("b",), "available"),
                OnDuty("l1.hai", "camera", "north", "L1", (), None),
            ),
            created_last_15_min=7,
        )


def _agent(agent_id: str, role: Role = Role.AGENT_L1, home: str = "b") -> Agent:
    return Agent(id=agent_id, name=agent_id.title(), role=role, teams=("network",), home_site=home)


def _ticket(assignee: str | None = "l1.an") -> tuple[Ticket, EventDraft]:
    received = datetime.now(UTC) - timedelta(hours=3)
    ticket, created = opened_ticket(received, "Mất kết nối core switch", "high", "high")
    return ticket.model_copy(update={"assignee": assignee, "team": "network"}), created


@dataclass
class Desk:
    client: TestClient
    store: MemoryTicketStore
    ticket: Ticket


def _desk(*, secure: bool = False, site: str = "b", panels: list[Panel] | None = None) -> Desk:
    ticket, created = _ticket()
    store = MemoryTicketStore()
    store.open(ticket, created)
    accounts = Accounts(
        site,
        [
            _agent("l1.an"),
            _agent("audit.binh", Role.AUDITOR),
            _agent("l2.chi", home="a"),
            _agent("sre.khoa", Role.SRE),
            _agent("sup.hoa", Role.SUPERVISOR),
        ],
    )
    app = FastAPI()
    router = build_console_router(
        accounts, TicketService(store), StaticBoard(), site, secure_cookies=secure, panels=panels
    )
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    return Desk(TestClient(app, base_url="https://testserver" if secure else "http://testserver"), store, ticket)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _sign_in(desk: Desk, agent_id: str = "l1.an", headers: dict[str, str] | None = None) -> None:
    page = desk.client.get("/console/", headers=headers)
    r = desk.client.post(
        "/console/login",
        data={"agent_id": agent_id, "password": PASSWORD, "csrf": _csrf(page.text)},
        headers=headers,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/queue", r.text


def test_the_login_page_is_labelled_and_allows_no_inline_script() -> None:
    r = _desk().client.get("/console/")
    assert r.status_code == 200
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert '<label for="agent_id">' in r.text and '<label for="password">' in r.text
    assert "<script>" not in r.text and " style=" not in r.text
    assert "Trang này do site b phục vụ" in r.text  # Vietnamese by default, and which site served it


def test_a_login_without_its_csrf_token_is_refused_and_sets_no_session() -> None:
    desk = _desk()
    desk.client.get("/console/")
    r = desk.client.post("/console/login", data={"agent_id": "l1.an", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and security.SESSION_COOKIE not in r.cookies


def test_a_wrong_password_is_one_answer_and_no_session() -> None:
    desk = _desk()
    page = desk.client.get("/console/", headers=EN)
    r = desk.client.post(
        "/console/login", data={"agent_id": "l1.an", "password": "nope", "csrf": _csrf(page.text)}, headers=EN
    )
    assert r.status_code == 401 and "Unknown agent or wrong password." in r.text
    assert security.SESSION_COOKIE not in r.cookies


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_http_only_strict_and_secure_over_tls(secure: bool) -> None:
    desk = _desk(secure=secure)
    page = desk.client.get("/console/")
    r = desk.client.post(
        "/console/login",
        data={"agent_id": "l1.an", "password": PASSWORD, "csrf": _csrf(page.text)},
        follow_redirects=False,
    )
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith(security.SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert ("Secure" in cookie) is secure


def test_the_queue_shows_my_tickets_with_their_sla_state_and_marks_a_remote_login() -> None:
    desk = _desk(site="b")
    _sign_in(desk, "l2.chi", EN)  # home site a, signed in at b
    page = desk.client.get("/console/queue", headers=EN)
    assert 'id="remote"' in page.text and "your home site is a" in page.text
    desk.client.cookies.clear()
    _sign_in(desk, "l1.an", EN)
    page = desk.client.get("/console/queue", headers=EN)
    assert page.status_code == 200 and desk.ticket.code in page.text and "My queue" in page.text
    assert re.search(r'<tr class="sla-(on_track|warning|breached|paused)" data-code="' + desk.ticket.code, page.text)
    assert 'id="remote"' not in page.text
    rows = desk.client.get("/console/queue/rows", headers=EN)
    assert desk.ticket.code in rows.text and "<html" not in rows.text  # a fragment for htmx


def test_a_form_without_csrf_writes_nothing_and_with_it_adds_the_worklog() -> None:
    desk = _desk()
    _sign_in(desk)
    url = f"/console/tickets/{desk.ticket.code}/worklog"
    forged = desk.client.post(url, data={"note": "gọi khách", "minutes": "10"}, follow_redirects=False)
    assert forged.status_code == 403 and len(desk.store.committed.events[desk.ticket.code]) == 1
    page = desk.client.get(f"/console/tickets/{desk.ticket.code}")
    done = desk.client.post(
        url, data={"note": "gọi khách", "minutes": "10", "csrf": _csrf(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    event = desk.store.committed.events[desk.ticket.code][-1]
    assert (event.kind, event.actor, event.data["minutes_spent"]) == ("worklog", "l1.an", 10)


def test_resolving_needs_root_cause_and_actions_like_the_api() -> None:
    desk = _desk()
    _sign_in(desk)
    page = desk.client.get(f"/console/tickets/{desk.ticket.code}", headers=EN)
    assert 'id="resolve"' in page.text
    r = desk.client.post(
        f"/console/tickets/{desk.ticket.code}/resolve",
        data={"root_cause": "", "actions_taken": "", "csrf": _csrf(page.text)},
        headers=EN,
    )
    assert r.status_code == 422 and "root_cause" in r.text
    assert desk.store.committed.tickets[desk.ticket.code].status == "new"


def test_only_allowed_moves_are_offered_and_a_refused_one_says_what_is_allowed() -> None:
    desk = _desk()
    _sign_in(desk)
    page = desk.client.get(f"/console/tickets/{desk.ticket.code}")
    assert '<option value="acknowledged">' in page.text and '<option value="closed">' not in page.text
    r = desk.client.post(f"/console/tickets/{desk.ticket.code}/move", data={"to": "closed", "csrf": _csrf(page.text)})
    assert r.status_code == 409 and "allowed" in r.text


def test_an_auditor_reads_but_gets_no_forms_and_a_forged_post_is_refused() -> None:
    desk = _desk()
    _sign_in(desk, "audit.binh", EN)
    page = desk.client.get(f"/console/tickets/{desk.ticket.code}", headers=EN)
    assert 'id="read-only"' in page.text and 'id="add-worklog"' not in page.text
    token = security.csrf_for(desk.client.cookies[security.SESSION_COOKIE])
    r = desk.client.post(
        f"/console/tickets/{desk.ticket.code}/worklog", data={"note": "x", "csrf": token}, follow_redirects=False
    )
    assert r.status_code == 403 and len(desk.store.committed.events[desk.ticket.code]) == 1


def test_signing_out_needs_csrf_and_ends_the_session() -> None:
    desk = _desk()
    _sign_in(desk)
    page = desk.client.get("/console/queue")
    r = desk.client.post("/console/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert desk.client.get("/console/queue", follow_redirects=False).headers["location"].startswith("/console/?why=")


def test_the_language_switch_wins_over_the_browser() -> None:
    desk = _desk()
    desk.client.get("/console/lang/en?back=/console/")
    assert "Sign in" in desk.client.get("/console/").text
    desk.client.get("/console/lang/vi?back=https://evil.example/")  # never redirects off the console
    assert "Đăng nhập" in desk.client.get("/console/", headers=EN).text


def test_assets_are_served_by_ccdr_itself() -> None:
    client = _desk().client
    assert client.get("/console/static/console.js").status_code == 200
    assert client.get("/console/static/console.css").status_code == 200


def test_the_wallboard_shows_open_tickets_by_priority_and_team_escalations_and_who_is_on_duty() -> None:
    desk = _desk()
    _sign_in(desk, "l1.an", EN)
    page = desk.client.get("/console/board", headers=EN)
    assert page.status_code == 200
    assert re.search(r'data-cell="P1/network">3 <span class="pill sla-breached">2</span>', page.text)
    assert re.search(r'data-cell="P3/camera">4 <span class="pill sla-warning">4</span>', page.text)
    assert "INC-AAAA-BBBB-CCCC" in page.text and "Tickets opened in the last 15 minutes: 7" in page.text
    assert re.search(r'data-agent="l1.hai">.*not present', page.text, re.S)
    assert 'id="unstaffed"' in page.text and "camera" in page.text  # open camera tickets, nobody present
    live = desk.client.get("/console/board/live", headers=EN)
    assert 'id="grid"' in live.text and "<html" not in live.text
    desk.client.cookies.clear()
    expired = desk.client.get("/console/board/live", headers=EN)
    assert expired.status_code == 401 and expired.headers["hx-redirect"].startswith("/console/")


def test_text_the_database_cannot_store_is_refused_by_the_form_and_writes_nothing() -> None:
    desk = _desk()
    _sign_in(desk)
    page = desk.client.get(f"/console/tickets/{desk.ticket.code}")
    form = {"note": "gọi\x00khách", "minutes": "1", "csrf": _csrf(page.text)}
    r = desk.client.post(f"/console/tickets/{desk.ticket.code}/worklog", data=form)
    assert r.status_code == 422 and "NUL" in r.text
    assert len(desk.store.committed.events[desk.ticket.code]) == 1


def test_a_sign_in_with_an_unstorable_agent_id_is_a_wrong_login_not_an_error() -> None:
    desk = _desk()
    page = desk.client.get("/console/", headers=EN)
    form = {"agent_id": "an\x00", "password": PASSWORD, "csrf": _csrf(page.text)}
    r = desk.client.post("/console/login", data=form, headers=EN)
    assert r.status_code == 401 and "Unknown agent or wrong password." in r.text


def test_search_finds_a_ticket_by_a_word_of_its_subject_and_refuses_unsearchable_text() -> None:
    desk = _desk()
    _sign_in(desk, "audit.binh", EN)  # read access is enough to search
    found = desk.client.get("/console/search", params={"q": "switch"}, headers=EN)
    assert found.status_code == 200 and f'href="/console/tickets/{desk.ticket.code}"' in found.text
    missed = desk.client.get("/console/search", params={"q": "printer"}, headers=EN)
    assert desk.ticket.code not in missed.text and 'id="no-results"' in missed.text
    bad = desk.client.get("/console/search", params={"q": "switch\x00"}, headers=EN)
    assert bad.status_code == 422 and desk.ticket.code not in bad.text


def test_csat_is_offered_after_resolution_only_and_recorded_once_submitted() -> None:
    desk = _desk()
    _sign_in(desk, "l1.an", EN)
    page = desk.client.get(f"/console/tickets/{desk.ticket.code}", headers=EN)
    assert 'id="record-csat"' not in page.text  # an open ticket takes no CSAT
    early = desk.client.post(
        f"/console/tickets/{desk.ticket.code}/csat", data={"score": "5", "csrf": _csrf(page.text)}, headers=EN
    )
    assert early.status_code == 409 and desk.store.committed.tickets[desk.ticket.code].csat_score is None
    resolved = desk.client.post(
        f"/console/tickets/{desk.ticket.code}/resolve",
        data={"root_cause": "bad uplink", "actions_taken": "replaced the cable", "csrf": _csrf(page.text)},
    )
    assert resolved.status_code == 200 and 'id="record-csat"' in resolved.text
    rated = desk.client.post(
        f"/console/tickets/{desk.ticket.code}/csat",
        data={"score": "4", "comment": "nhanh", "csrf": _csrf(resolved.text)},
    )
    ticket = desk.store.committed.tickets[desk.ticket.code]
    assert (ticket.csat_score, ticket.csat_comment) == (4, "nhanh")
    assert [e.kind for e in desk.store.committed.events[desk.ticket.code]].count("csat") == 1
    assert 'id="record-csat"' not in rated.text  # this resolution is rated: no second form
    again = desk.client.post(
        f"/console/tickets/{desk.ticket.code}/csat", data={"score": "1", "csrf": _csrf(resolved.text)}, headers=EN
    )
    assert again.status_code == 409 and desk.store.committed.tickets[desk.ticket.code].csat_score == 4


def test_a_supervisor_reassigns_and_escalates_from_the_ticket_page_and_an_agent_cannot() -> None:
    desk = _desk()
    desk.store.committed.engineers.add("l2.chi")
    _sign_in(desk, "l1.an", EN)
    page = desk.client.get(f"/console/tickets/{desk.ticket.code}", headers=EN)
    assert 'id="escalate"' not in page.text and 'id="reassign"' not in page.text
    forged = desk.client.post(
        f"/console/tickets/{desk.ticket.code}/escalate",
        data={"from_level": "L1", "note": "tự nâng", "csrf": _csrf(page.text)},
        headers=EN,
    )
    assert forged.status_code == 403 and desk.store.committed.events[desk.ticket.code][-1].kind != "escalated"

    desk.client.cookies.clear()
    _sign_in(desk, "sup.hoa", EN)
    page = desk.client.get(f"/console/tickets/{desk.ticket.code}", headers=EN)
    assert 'id="reassign"' in page.text and "Escalate to L2 now" in page.text
    desk.client.post(
        f"/console/tickets/{desk.ticket.code}/assign", data={"assignee": "l2.chi", "csrf": _csrf(page.text)}
    )
    up = desk.client.post(
        f"/console/tickets/{desk.ticket.code}/escalate",
        data={"from_level": "L1", "note": "khách VIP", "csrf": _csrf(page.text)},
        headers=EN,
    )
    assert up.status_code == 200 and "Escalate to L3 now" in up.text
    again = desk.client.post(  # the same form sent twice (a double click, a retry after a failover)
        f"/console/tickets/{desk.ticket.code}/escalate",
        data={"from_level": "L1", "note": "khách VIP", "csrf": _csrf(page.text)},
        headers=EN,
    )
    assert again.status_code == 409 and "nothing was escalated" in again.text
    kinds = [e.kind for e in desk.store.committed.events[desk.ticket.code]]
    assert kinds.count("reassigned") == 1 and kinds.count("escalated") == 1
