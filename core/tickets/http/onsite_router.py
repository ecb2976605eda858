"""On-site dispatch routes (docs/onsite.md). Thin: parse, call the service, shape the answer."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from core.agents.domain.model import Permission, Session
from core.agents.http.router import Authenticate
from core.agents.service import acting_as
from core.tickets.onsite import CancelRequest, DepartureRequest, DispatchRequest, OnsiteService, Visit


class DispatchView(BaseModel):
    visit: Visit
    warnings: list[str]  # e.g. the technician cannot arrive before the resolution is due


class VisitList(BaseModel):
    visits: list[Visit]


def build_onsite_router(service: OnsiteService, authenticate: Authenticate) -> APIRouter:
    router = APIRouter(prefix="/v1/tickets", dependencies=[Depends(authenticate)])
    Auth = Annotated[Session, Depends(authenticate)]

    @router.post("/{code}/dispatch", response_model=DispatchView, status_code=201)
    async def dispatch(code: str, req: DispatchRequest, session: Auth) -> DispatchView:
        """Send the nearest qualified technician on duty, with the parts reserved (409 when nobody
        can go or no warehouse holds every part; then nothing changed)."""
        done = await service.dispatch(code, req, acting_as(session, Permission.WORK_TICKETS))
        return DispatchView(visit=done.visit, warnings=list(done.warnings))

    @router.get("/{code}/visits", response_model=VisitList)
    async def visits(code: str) -> VisitList:
        return VisitList(visits=await service.visits(code))

    @router.post("/{code}/visits/{visit_id}/arrival", response_model=Visit)
    async def arrival(code: str, visit_id: UUID, session: Auth) -> Visit:
        return await service.arrive(code, visit_id, acting_as(session, Permission.WORK_TICKETS))

    @router.post("/{code}/visits/{visit_id}/departure", response_model=Visit)
    async def departure(code: str, visit_id: UUID, req: DepartureRequest, session: Auth) -> Visit:
        """The visit record: work done, parts used (the rest goes back on the shelf), photos, sign-off."""
        return await service.depart(code, visit_id, req, acting_as(session, Permission.WORK_TICKETS))

    @router.post("/{code}/visits/{visit_id}/cancellation", response_model=Visit)
    async def cancellation(code: str, visit_id: UUID, req: CancelRequest, session: Auth) -> Visit:
        return await service.cancel(code, visit_id, req, acting_as(session, Permission.WORK_TICKETS))

    return router
