"""The agent console: server-rendered pages (Jinja2) with htmx for live parts, served by the
ticket service at both sites under /console/. Every page uses the same services and permission
checks as the API (core.agents.service, core.tickets.service): a page never shows or does what the
API would refuse. HTML forms, a session cookie and CSRF tokens (core.console.security)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from pydantic import ValidationError

from core.agents.domain.model import Permission, Session, allowed
from core.console import i18n, security
from core.console.panels import Panel, visible
from core.domain.escalation import NEXT_LEVEL
from core.domain.text import unstorable
from core.domain.ticket_states import TRANSITIONS, TicketState
from core.errors import CcdrError, TooManyRequests, Unauthenticated, Unavailable
from core.tickets.domain.board import PRIORITIES, Board, OnDuty
from core.tickets.domain.filters import TicketFilter
from core.tickets.domain.lifecycle import ticket_sla_state
from core.tickets.domain.model import Ticket
from core.tickets.http.schemas import (
    CsatRequest,
    EscalateRequest,
    ReassignRequest,
    ResolutionRequest,
    TransitionRequest,
    WorklogRequest,
)
from core.tickets.service import TicketService, takes_rating

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
QUEUE_LIMIT = 50  # rows per queue on one page
POLL_S = 15  # how often an open queue page refreshes its rows
SEARCH_MAX = 200  # characters of a search
STATUSES = [s.value for s in TicketState]


class LoginResult(Protocol):
    token: str
    session: Session
    remote: bool


class BoardSource(Protocol):
    async def snapshot(self, now: datetime) -> Board: ...

    async def on_duty(self, now: datetime) -> tuple[OnDuty, ...]: ...


class Accounts(Protocol):
    """What the console needs of core.agents.service.AgentService."""

    async def login(self, agent_id: str, password: str, client: str | None) -> Any: ...

    async def authenticate(self, token: str | None) -> Session: ...

    async def logout(self, token: str, session: Session) -> None: ...


@dataclass(frozen=True)
class Viewer:
    session: Session
    token: str

    @property
    def csrf(self) -> str:
        return security.csrf_for(self.token)

    @property
    def can_work(self) -> bool:
        return allowed(self.session.agent.role, Permission.WORK_TICKETS)

    @property
    def can_supervise(self) -> bool:
        return allowed(self.session.agent.role, Permission.SUPERVISE)


def build_console_router(
    accounts: Accounts,
    tickets: TicketService,
    board: BoardSource,
    site: str,
    *,
    secure_cookies: bool,
    panels: list[Panel] | None = None,
) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    panels = panels or []
    labels = {key: text for p in panels for key, text in p.labels.items()}
    loaders = [FileSystemLoader(HERE / "templates"), *(FileSystemLoader(p.templates) for p in panels)]
    # Every value is escaped: a ticket's subject is whatever a customer typed.
    templates = Jinja2Templates(env=Environment(loader=ChoiceLoader(loaders), autoescape=True))

    def lang_of(request: Request) -> str:
        return i18n.pick(request.cookies.get(security.LANG_COOKIE), request.headers.get("accept-language"))

    def page(request: Request, name: str, status: int = 200, /, **values: Any) -> HTMLResponse:
        lang = lang_of(request)
        me = values.get("me")
        context = {
            "lang": lang,
            "t": lambda key, **kw: i18n.translate(lang, key, labels, **kw),
            "site": site,
            "panels": visible(panels, me.session.agent.role) if isinstance(me, Viewer) else [],
            "poll_s": POLL_S,
            "csrf_field": security.CSRF_FIELD,
            **values,
        }
        response = templates.TemplateResponse(request, name, context, status_code=status)
        response.headers.update(security.HEADERS)
        return response

    def with_login_csrf(response: Response, token: str) -> Response:
        response.set_cookie(
            security.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies, path="/console"
        )
        return response

    def to_login(request: Request, reason: str | None = None) -> RedirectResponse:
        target = "/console/" + (f"?why={quote(reason)}" if reason else "")
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(security.SESSION_COOKIE, path="/console")
        return response

    async def viewer(request: Request) -> Viewer | None:
        token = request.cookies.get(security.SESSION_COOKIE)
        if not token:
            return None
        try:
            return Viewer(await accounts.authenticate(token), token)
        except Unauthenticated:
            return None

    @router.get("/", response_class=HTMLResponse)
    async def login_page(request: Request, why: str | None = None) -> Response:
        if await viewer(request) is not None:
            return RedirectResponse("/console/queue", status_code=303)
        token = security.new_login_csrf()
        message = i18n.translate(lang_of(request), "expired") if why == "expired" else None
        return with_login_csrf(page(request, "login.html", login_csrf=token, message=message), token)

    @router.post("/login")
    async def login(
        request: Request,
        agent_id: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=1000)],
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        lang = lang_of(request)
        if not security.login_csrf_ok(request.cookies.get(security.LOGIN_CSRF_COOKIE), csrf):
            token = security.new_login_csrf()
            response = page(request, "login.html", 403, login_csrf=token, message=i18n.translate(lang, "bad_csrf"))
            response.set_cookie(
                security.LOGIN_CSRF_COOKIE,
                token,
                httponly=True,
                samesite="strict",
                secure=secure_cookies,
                path="/console",
            )
            return response
        client = request.client.host if request.client else None
        try:
            if unstorable(agent_id):  # no such account can exist: the same answer as a wrong password
                raise Unauthenticated("unknown agent or wrong password")
            done = await accounts.login(agent_id.strip(), password, client)
        except TooManyRequests as exc:
            message = i18n.translate(lang, "throttled", s=exc.retry_after_s)
            refused = page(request, "login.html", 429, login_csrf=csrf, message=message, agent_id=agent_id)
            refused.headers["Retry-After"] = str(exc.retry_after_s)
            return refused
        except Unauthenticated:
            return page(
                request,
                "login.html",
                401,
                login_csrf=csrf,
                message=i18n.translate(lang, "bad_login"),
                agent_id=agent_id,
            )
        ttl = int((done.session.expires_at - datetime.now(UTC)).total_seconds())
        signed_in = RedirectResponse("/console/queue", status_code=303)
        signed_in.set_cookie(
            security.SESSION_COOKIE,
            done.token,
            max_age=max(ttl, 0),
            httponly=True,
            samesite="strict",
            secure=secure_cookies,
            path="/console",
        )
        signed_in.delete_cookie(security.LOGIN_CSRF_COOKIE, path="/console")
        return signed_in

    @router.post("/logout")
    async def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        me = await viewer(request)
        if me is not None and security.csrf_ok(me.token, csrf):
            await accounts.logout(me.token, me.session)
        return to_login(request)

    @router.get("/lang/{lang}")
    async def choose_language(lang: str, back: str = "/console/") -> Response:
        response = RedirectResponse(back if back.startswith("/console/") else "/console/", status_code=303)
        if lang in i18n.LANGS:
            response.set_cookie(security.LANG_COOKIE, lang, samesite="strict", secure=secure_cookies, path="/console")
        return response

    async def queues(me: Viewer) -> list[tuple[str, list[dict[str, Any]]]]:
        now = datetime.now(UTC)
        out = []
        mine, _ = await tickets.list(TicketFilter(assignee=me.session.agent.id, open_only=True), QUEUE_LIMIT, None)
        out.append(("mine", [_row(t, now) for t in mine]))
        for team in me.session.agent.teams:
            found, _ = await tickets.list(TicketFilter(team=team, open_only=True), QUEUE_LIMIT, None)
            out.append((team, [_row(t, now) for t in found]))
        return out

    @router.get("/queue", response_class=HTMLResponse)
    async def queue(request: Request) -> Response:
        me = await viewer(request)
        if me is None:
            return to_login(request, "expired")
        return page(request, "queue.html", me=me, queues=await queues(me))

    @router.get("/queue/rows", response_class=HTMLResponse)
    async def queue_rows(request: Request) -> Response:
        me = await viewer(request)
        if me is None:  # htmx follows HX-Redirect to the login page
            return Response(status_code=401, headers={"HX-Redirect": "/console/?why=expired"})
        return page(request, "_queues.html", me=me, queues=await queues(me))

    @router.get("/board", response_class=HTMLResponse)
    async def wallboard(request: Request) -> Response:
        me = await viewer(request)
        if me is None:
            return to_login(request, "expired")
        return page(request, "board.html", me=me, board=await board.snapshot(datetime.now(UTC)), priorities=PRIORITIES)

    @router.get("/board/live", response_class=HTMLResponse)
    async def wallboard_live(request: Request) -> Response:
        me = await viewer(request)
        if me is None:
            return Response(status_code=401, headers={"HX-Redirect": "/console/?why=expired"})
        return page(request, "_board.html", me=me, board=await board.snapshot(datetime.now(UTC)), priorities=PRIORITIES)

    @router.get("/search", response_class=HTMLResponse)
    async def search(request: Request, q: str = "", status: str = "") -> Response:
        """Tickets whose code, subject or description match `q` (the API's `q` filter), newest
        first; optionally one status. Read access is enough (auditors search too)."""
        me = await viewer(request)
        if me is None:
            return to_login(request, "expired")
        q, status = q.strip()[:SEARCH_MAX], status if status in STATUSES else ""
        rows: list[dict[str, Any]] = []
        error = None
        if q and unstorable(q):
            error = i18n.translate(lang_of(request), "bad_search")
        elif q:
            found, _ = await tickets.list(TicketFilter(q=q, status=status or None), QUEUE_LIMIT, None)
            now = datetime.now(UTC)
            rows = [_row(t, now) for t in found]
        code = 422 if error else 200
        return page(request, "search.html", code, me=me, q=q, status=status, statuses=STATUSES, rows=rows, error=error)

    async def ticket_page(
        request: Request, me: Viewer, code: str, status: int = 200, error: str | None = None
    ) -> Response:
        ticket = await tickets.get(code)
        events = await tickets.events(code)
        moves = sorted(s.value for s in TRANSITIONS[TicketState(ticket.status)] if s is not TicketState.RESOLVED)
        is_open = TicketState(ticket.status) not in (TicketState.RESOLVED, TicketState.CLOSED)
        engineers: list[str] = []
        if me.can_supervise and is_open:  # who could take it: on duty in its team, present first
            on_duty = await board.on_duty(datetime.now(UTC))
            engineers = [d.agent for d in sorted(on_duty, key=lambda d: not d.present_at) if d.team == ticket.team]
        return page(
            request,
            "ticket.html",
            status,
            me=me,
            ticket=ticket,
            row=_row(ticket, datetime.now(UTC)),
            events=events,
            moves=moves,
            can_resolve=TicketState.RESOLVED in TRANSITIONS[TicketState(ticket.status)],
            takes_csat=takes_rating(ticket, events),
            supervise=me.can_supervise and is_open,
            engineers=engineers,
            next_level=NEXT_LEVEL[ticket.support_level],
            error=error,
        )

    @router.get("/tickets/{code}", response_class=HTMLResponse)
    async def ticket(request: Request, code: str) -> Response:
        me = await viewer(request)
        if me is None:
            return to_login(request, "expired")
        try:
            return await ticket_page(request, me, code)
        except CcdrError as exc:
            return page(request, "error.html", exc.status, me=me, error=exc.detail)

    async def act(
        request: Request, code: str, csrf: str, action: Any, permission: Permission = Permission.WORK_TICKETS
    ) -> Response:
        me = await viewer(request)
        if me is None:
            return to_login(request, "expired")
        if not security.csrf_ok(me.token, csrf):
            return await ticket_page(request, me, code, 403, i18n.translate(lang_of(request), "bad_csrf"))
        if not allowed(me.session.agent.role, permission):
            return await ticket_page(request, me, code, 403, i18n.translate(lang_of(request), "read_only"))
        try:
            await action(me)
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            return await ticket_page(request, me, code, 422, detail)
        except Unavailable as exc:
            return await ticket_page(request, me, code, 503, exc.detail)
        except CcdrError as exc:
            return await ticket_page(request, me, code, exc.status, exc.detail)
        return RedirectResponse(f"/console/tickets/{quote(code)}", status_code=303)

    @router.post("/tickets/{code}/move")
    async def move(
        request: Request,
        code: str,
        to: Annotated[str, Form(max_length=40)],
        note: Annotated[str, Form(max_length=5000)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        async def run(me: Viewer) -> None:
            await tickets.transition(
                code, TransitionRequest.model_validate({"to": to, "note": note}), me.session.agent.id
            )

        return await act(request, code, csrf, run)

    @router.post("/tickets/{code}/worklog")
    async def worklog(
        request: Request,
        code: str,
        note: Annotated[str, Form(max_length=10_000)] = "",
        minutes: Annotated[str, Form(max_length=10)] = "0",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        async def run(me: Viewer) -> None:
            body = WorklogRequest.model_validate({"note": note, "minutes_spent": minutes or "0"})
            await tickets.worklog(code, body, me.session.agent.id)

        return await act(request, code, csrf, run)

    @router.post("/tickets/{code}/resolve")
    async def resolve(
        request: Request,
        code: str,
        root_cause: Annotated[str, Form(max_length=5000)] = "",
        actions_taken: Annotated[str, Form(max_length=10_000)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        async def run(me: Viewer) -> None:
            body = ResolutionRequest.model_validate({"root_cause": root_cause, "actions_taken": actions_taken})
            await tickets.resolve(code, body, me.session.agent.id)

        return await act(request, code, csrf, run)

    @router.post("/tickets/{code}/csat")
    async def csat(
        request: Request,
        code: str,
        score: Annotated[str, Form(max_length=2)] = "",
        comment: Annotated[str, Form(max_length=5000)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        async def run(me: Viewer) -> None:
            body = CsatRequest.model_validate({"score": score, "comment": comment})
            await tickets.csat(code, body, me.session.agent.id)

        return await act(request, code, csrf, run)

    @router.post("/tickets/{code}/assign")
    async def reassign(
        request: Request,
        code: str,
        assignee: Annotated[str, Form(max_length=64)] = "",
        note: Annotated[str, Form(max_length=5000)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        async def run(me: Viewer) -> None:
            body = ReassignRequest.model_validate({"assignee": assignee.strip(), "note": note})
            await tickets.reassign(code, body, me.session.agent.id)

        return await act(request, code, csrf, run, Permission.SUPERVISE)

    @router.post("/tickets/{code}/escalate")
    async def escalate(
        request: Request,
        code: str,
        from_level: Annotated[str, Form(max_length=4)] = "",
        note: Annotated[str, Form(max_length=5000)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        async def run(me: Viewer) -> None:
            body = EscalateRequest.model_validate({"from_level": from_level, "note": note})
            await tickets.escalate(code, body, me.session.agent.id)

        return await act(request, code, csrf, run, Permission.SUPERVISE)

    for panel in panels:
        _add_panel(router, panel, viewer, page, to_login, lambda r, key: i18n.translate(lang_of(r), key))
    return router


def _add_panel(router: APIRouter, panel: Panel, viewer: Any, page: Any, to_login: Any, say: Any) -> None:
    """/console/<name> (the page), /console/<name>/live (its live part) and
    /console/<name>/files/<item>/<file> (what it hands out), for its roles only."""

    async def allowed_viewer(request: Request) -> Viewer | Response:
        me = await viewer(request)
        if me is None:
            return to_login(request, "expired")
        if me.session.agent.role not in panel.roles:
            return page(request, "error.html", 403, me=me, error=say(request, "forbidden"))
        return me

    async def show(request: Request) -> Response:
        me = await allowed_viewer(request)
        if isinstance(me, Response):
            return me
        return page(request, f"{panel.name}.html", me=me, panel=panel.name, **await panel.view())

    async def live(request: Request) -> Response:
        me = await viewer(request)
        if me is None:
            return Response(status_code=401, headers={"HX-Redirect": "/console/?why=expired"})
        if me.session.agent.role not in panel.roles:
            return Response(status_code=403)
        return page(request, f"_{panel.name}.html", me=me, panel=panel.name, **await panel.view())

    async def download(request: Request, item: str, file: str) -> Response:
        me = await allowed_viewer(request)
        if isinstance(me, Response):
            return me
        found = await panel.artifact(item, file)
        if found is None:
            return page(request, "error.html", 404, me=me, error=say(request, "not_found"))
        return FileResponse(found.path, media_type=found.media_type, headers=security.ARTIFACT_HEADERS)

    base = f"/{panel.name}"
    router.add_api_route(base, show, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(f"{base}/live", live, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(f"{base}/files/{{item}}/{{file}}", download, methods=["GET"])


def _row(ticket: Ticket, now: datetime) -> dict[str, Any]:
    clock = ticket.clock
    return {
        "code": ticket.code,
        "priority": ticket.priority,
        "status": ticket.status,
        "subject": ticket.subject,
        "team": ticket.team,
        "region": ticket.region,
        "assignee": ticket.assignee,
        "received_at": ticket.received_at,
        "response_due": None if clock.responded_at else clock.response_due,
        "resolution_due": None if clock.resolved_at else clock.resolution_due,
        "sla": ticket_sla_state(clock, TicketState(ticket.status), now).value,
    }
