"""The customer's status page: `/status/{code}?k=<tag>`, the link in every mail the customer gets
(core.domain.status_links). No sign-in: the signed link is the credential, and it opens that one
ticket's public progress (status, due times, the steps so far, the root cause once resolved), never
the work log, the engineers or the description. After the resolution it takes the customer's
satisfaction rating (CSAT), which lands where an agent's would.

A wrong or missing tag answers exactly like an unknown code (404), so the page tells nobody which
codes exist. The pages are not cached and send no Referer: the link is a secret."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from core.domain.status_links import status_tag, tag_matches
from core.domain.ticket_states import TicketState
from core.errors import CcdrError, NotFound
from core.tickets.domain.model import Ticket, TicketEvent
from core.tickets.http.schemas import ComplaintRequest, CsatRequest
from core.tickets.service import TicketService, takes_rating

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TAG_MAX = 64  # a longer `k` is no tag of ours; refused before any work (the same 404 page)
K_MAX = 4096  # what the form and query take at all (beyond: the framework's 422)
SCORES = {str(n): n for n in range(1, 6)}  # the form's values; anything else ("²", "9") is a 422 page
PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
S = TicketState
Req = TypeVar("Req", bound=BaseModel)


def _steps(events: list[TicketEvent]) -> list[tuple[datetime, str]]:
    """The steps a customer may see: received, and every change of status."""
    out = []
    for e in events:
        if e.kind == "created":
            out.append((e.at, S.NEW.value))
        elif e.kind == "status_changed" and str(e.data.get("to")) in {s.value for s in S}:
            out.append((e.at, str(e.data["to"])))
    return out


def _customer(ticket: Ticket) -> str:
    """Who acts through a status link: the ticket's contact (whoever holds the link speaks for them)."""
    who = ticket.contact.email or ticket.contact.handle or ticket.contact.phone or "status link"
    return f"customer:{who}"


def build_status_router(tickets: TicketService, link_key: str, zone: ZoneInfo) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def ticket_for(code: str, tag: str) -> Ticket:
        if len(tag) > TAG_MAX or not tag_matches(link_key, code, tag):
            raise NotFound("no such status page")
        try:
            return await tickets.get(code)
        except NotFound:
            raise NotFound("no such status page") from None

    def page(request: Request, status: int, **context: object) -> HTMLResponse:
        def local(at: datetime | None) -> str:
            return "-" if at is None else at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

        response = TEMPLATES.TemplateResponse(
            request, "status.html", {"local": local, "zone": zone.key, **context}, status_code=status
        )
        response.headers.update(PRIVATE)
        return response

    def error(request: Request, exc: CcdrError) -> HTMLResponse:
        return page(request, exc.status, error=exc.detail, ticket=None)

    async def act(
        request: Request,
        code: str,
        k: str,
        parse: Callable[[], Req],
        refusal: str,
        do: Callable[[str, Req, str], Awaitable[Ticket]],
        done: str,
    ) -> Response:
        """A customer's form through their link: the link checked, the form parsed (a 422 page
        saying what to fix), the service called as the ticket's contact, then back to the page."""
        try:
            ticket = await ticket_for(code, k)
            try:
                req = parse()
            except ValidationError:
                return page(request, 422, error=refusal, ticket=None)
            await do(ticket.code, req, _customer(ticket))
        except CcdrError as exc:
            return error(request, exc)
        return back(ticket, done)

    def back(ticket: Ticket, done: str) -> Response:
        """Post/redirect/get: back to the page, saying what was done."""
        target = f"/status/{ticket.code}?k={status_tag(link_key, ticket.code)}&{done}=1"
        response = RedirectResponse(target, status_code=303)
        response.headers.update(PRIVATE)
        return response

    @router.get("/status/{code}", response_class=HTMLResponse)
    async def status_page(
        request: Request,
        code: str,
        k: Annotated[str, Query(max_length=K_MAX)] = "",
        rated: int = 0,
        complained: int = 0,
    ) -> Response:
        try:
            ticket = await ticket_for(code, k)
            events = await tickets.events(ticket.code)
        except CcdrError as exc:
            return error(request, exc)
        rateable = takes_rating(ticket, events)
        return page(
            request,
            200,
            ticket=ticket,
            steps=_steps(events),
            k=k,
            rateable=rateable,
            rated=bool(rated),
            complained=bool(complained),
            error=None,
        )

    @router.post("/status/{code}/csat")
    async def rate(
        request: Request,
        code: str,
        k: Annotated[str, Form(max_length=K_MAX)],
        score: Annotated[str, Form(max_length=2)],
        comment: Annotated[str, Form(max_length=5000)] = "",
    ) -> Response:
        return await act(
            request,
            code,
            k,
            lambda: CsatRequest(score=SCORES.get(score.strip(), 0), comment=comment),
            "score: choose 1 to 5 / chọn từ 1 đến 5",
            tickets.csat,
            "rated",
        )

    @router.post("/status/{code}/complaint")
    async def complain(
        request: Request,
        code: str,
        k: Annotated[str, Form(max_length=K_MAX)],
        text: Annotated[str, Form(max_length=10_000)],
    ) -> Response:
        """The customer's complaint from their page: it reaches the ServiceDesk manager."""
        return await act(
            request,
            code,
            k,
            lambda: ComplaintRequest(text=text),
            "text: at least 3 characters / ít nhất 3 ký tự",
            tickets.complain,
            "complained",
        )

    return router
