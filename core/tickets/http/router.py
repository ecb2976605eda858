"""Ticket API routes. Thin: parse, call the service, shape the answer."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from core.agents.domain.model import Permission, Session
from core.agents.http.router import Authenticate
from core.agents.service import acting_as, require
from core.domain.priority import Priority
from core.domain.routing import Team
from core.domain.taxonomy import Region
from core.domain.text import StorableText
from core.domain.ticket_states import TicketState
from core.tickets.domain.filters import TicketFilter
from core.tickets.domain.lifecycle import ClockState
from core.tickets.domain.model import Ticket
from core.tickets.http.schemas import (
    ComplaintRequest,
    CsatRequest,
    DuplicateRequest,
    EscalateRequest,
    EventView,
    FollowupRequest,
    ReassignRequest,
    ResolutionRequest,
    ReviewRequest,
    TicketPage,
    TicketView,
    TransitionRequest,
    WorklogRequest,
)
from core.tickets.service import TicketService


def build_router(service: TicketService, page_size_max: int, authenticate: Authenticate) -> APIRouter:
    """Every route needs an agent session; writes need a role that may work tickets (not auditors)."""
    router = APIRouter(prefix="/v1/tickets", dependencies=[Depends(authenticate)])
    Auth = Annotated[Session, Depends(authenticate)]

    def view(ticket: Ticket) -> TicketView:
        return TicketView.of(ticket, datetime.now(UTC))

    @router.get("", response_model=TicketPage)
    async def list_tickets(
        status: TicketState | None = None,
        priority: Priority | None = None,
        team: Team | None = None,
        region: Region | None = None,
        sla_state: ClockState | None = None,
        q: Annotated[StorableText | None, Query(max_length=200, description="full-text search")] = None,
        assignee: Annotated[StorableText | None, Query(max_length=64)] = None,
        open_only: bool = False,
        limit: Annotated[int, Query(ge=1, le=page_size_max)] = 50,
        cursor: Annotated[StorableText | None, Query(max_length=500)] = None,
    ) -> TicketPage:
        flt = TicketFilter(
            status=status.value if status else None,
            priority=priority.value if priority else None,
            team=team.value if team else None,
            region=region.value if region else None,
            sla_state=sla_state,
            q=q or None,
            assignee=assignee,
            open_only=open_only,
        )
        tickets, next_cursor = await service.list(flt, limit, cursor)
        return TicketPage(items=[view(t) for t in tickets], next_cursor=next_cursor)

    @router.get("/queue", response_model=TicketPage)
    async def my_queue(session: Auth, limit: Annotated[int, Query(ge=1, le=page_size_max)] = 50) -> TicketPage:
        """The caller's open tickets (what they see after logging in, at either site)."""
        tickets, next_cursor = await service.list(TicketFilter(assignee=session.agent.id, open_only=True), limit, None)
        return TicketPage(items=[view(t) for t in tickets], next_cursor=next_cursor)

    @router.get("/{code}", response_model=TicketView)
    async def get_ticket(code: str) -> TicketView:
        return view(await service.get(code))

    @router.get("/{code}/events", response_model=list[EventView])
    async def ticket_events(code: str) -> list[EventView]:
        return [EventView.of(e) for e in await service.events(code)]

    @router.post("/{code}/transitions", response_model=TicketView)
    async def transition(code: str, body: TransitionRequest, session: Auth) -> TicketView:
        """Move the ticket; 409 lists the allowed targets when the move is not allowed."""
        return view(await service.transition(code, body, acting_as(session, Permission.WORK_TICKETS)))

    @router.post("/{code}/worklog", response_model=TicketView, status_code=201)
    async def worklog(code: str, body: WorklogRequest, session: Auth) -> TicketView:
        return view(await service.worklog(code, body, acting_as(session, Permission.WORK_TICKETS)))

    @router.post("/{code}/resolution", response_model=TicketView)
    async def resolve(code: str, body: ResolutionRequest, session: Auth) -> TicketView:
        return view(await service.resolve(code, body, acting_as(session, Permission.WORK_TICKETS)))

    @router.post("/{code}/duplicate-of", response_model=TicketView)
    async def duplicate_of(code: str, body: DuplicateRequest, session: Auth) -> TicketView:
        """Close this ticket out as a duplicate of `primary` (both linked; work goes on in the primary)."""
        return view(await service.mark_duplicate(code, body, acting_as(session, Permission.WORK_TICKETS)))

    @router.post("/{code}/complaint", response_model=TicketView)
    async def complaint(code: str, body: ComplaintRequest, session: Auth) -> TicketView:
        """A customer's complaint, taken by an agent: it reaches the ServiceDesk manager."""
        return view(await service.complain(code, body, acting_as(session, Permission.WORK_TICKETS)))

    @router.post("/{code}/review", response_model=TicketView)
    async def review(code: str, body: ReviewRequest, session: Auth) -> TicketView:
        """A P1's post-incident review, once, after its resolution: a P1 is closed only after it."""
        return view(await service.review(code, body, acting_as(session, Permission.WORK_TICKETS)))

    @router.post("/{code}/followup", response_model=TicketView)
    async def followup(code: str, body: FollowupRequest, session: Auth) -> TicketView:
        """Record the follow-up after a resolution (once per resolution; 409 before one or twice);
        `reopened` sends the ticket back to in_progress."""
        return view(await service.followup(code, body, acting_as(session, Permission.WORK_TICKETS)))

    @router.post("/{code}/csat", response_model=TicketView)
    async def csat(code: str, body: CsatRequest, session: Auth) -> TicketView:
        return view(await service.csat(code, body, acting_as(session, Permission.WORK_TICKETS)))

    def supervisor(session: Session) -> str:
        require(session, Permission.SUPERVISE)
        return session.agent.id

    @router.post("/{code}/assign", response_model=TicketView)
    async def reassign(code: str, body: ReassignRequest, session: Auth) -> TicketView:
        """Give an open ticket to an engineer (supervisors)."""
        return view(await service.reassign(code, body, supervisor(session)))

    @router.post("/{code}/escalate", response_model=TicketView)
    async def escalate(code: str, body: EscalateRequest, session: Auth) -> TicketView:
        """Move an open ticket to the next support level now (supervisors); 409 if it is no longer
        at `from_level` or is at the last level."""
        return view(await service.escalate(code, body, supervisor(session)))

    return router
