"""Agent API routes, and the `Authorization: Bearer` dependency every ticket route uses."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from core.agents.domain.model import Agent, Session
from core.agents.http.schemas import (
    LoginRequest,
    LoginView,
    MeView,
    NewAgentRequest,
    PresenceRequest,
    RevokeView,
    RosterImportView,
    ShiftView,
)
from core.agents.service import AgentService
from core.agents.sessions import bearer_token as bearer
from core.errors import InvalidInput

Authenticate = Callable[..., Awaitable[Session]]


def authenticator(service: AgentService) -> Authenticate:
    async def current_session(authorization: Annotated[str | None, Header()] = None) -> Session:
        return await service.authenticate(bearer(authorization))

    return current_session


def build_router(service: AgentService, authenticate: Authenticate, roster_max_bytes: int) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Auth = Annotated[Session, Depends(authenticate)]

    @router.post("/agents/login", response_model=LoginView)
    async def login(body: LoginRequest, request: Request) -> LoginView:
        """Log in at whichever site serves this request; the token is valid at both sites."""
        client = request.client.host if request.client else None
        done = await service.login(body.agent_id, body.password, client)
        agent = done.session.agent
        return LoginView(
            token=done.token,
            expires_at=done.session.expires_at,
            agent=agent,
            site=done.session.site,
            home_site=agent.home_site,
            remote=done.remote,
        )

    @router.post("/agents/logout", status_code=204)
    async def logout(session: Auth, authorization: Annotated[str | None, Header()] = None) -> None:
        """Revoke this token (at both sites) and withdraw the agent's presence."""
        await service.logout(bearer(authorization) or "", session)

    @router.get("/agents/me", response_model=MeView)
    async def me(session: Auth) -> MeView:
        return MeView(
            agent=session.agent, session_site=session.site, serving_site=service.site, expires_at=session.expires_at
        )

    @router.put("/agents/me/presence")
    async def presence(body: PresenceRequest, session: Auth) -> dict[str, Any]:
        return await service.set_presence(session, body.status)

    @router.get("/presence")
    async def everyone(session: Auth) -> list[dict[str, Any]]:
        """Every present agent and the site they work through (ZooKeeper ephemeral records)."""
        return await service.everyone_present()

    @router.get("/agents/{agent_id}/logins")
    async def logins(
        agent_id: str, session: Auth, limit: Annotated[int, Query(ge=1, le=200)] = 20
    ) -> list[dict[str, Any]]:
        """The login audit: when, from where, at which site, and whether away from home."""
        return await service.logins(agent_id, session, limit)

    @router.post("/agents", response_model=Agent, status_code=201)
    async def create(body: NewAgentRequest, session: Auth) -> Agent:
        agent = Agent.model_validate(body.model_dump(exclude={"password"}))
        return await service.create(agent, body.password, session)

    @router.post("/agents/{agent_id}/revoke", response_model=RevokeView)
    async def revoke(agent_id: str, session: Auth) -> RevokeView:
        """End every session of an agent, at both sites."""
        return RevokeView(revoked=await service.revoke_all(agent_id, session))

    @router.put("/roster", response_model=RosterImportView)
    async def import_roster(
        request: Request,
        session: Auth,
        window_from: Annotated[datetime | None, Query(alias="from")] = None,
        window_to: Annotated[datetime | None, Query(alias="to")] = None,
    ) -> RosterImportView:
        """Replace the duty roster inside the imported shifts' window (text/csv or text/calendar)."""
        body = await request.body()
        if len(body) > roster_max_bytes:
            raise InvalidInput(f"the roster is larger than {roster_max_bytes} bytes", malformed=True)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        window = None
        if window_from and window_to:
            if window_from.tzinfo is None or window_to.tzinfo is None:
                raise InvalidInput("from/to: give a time zone (e.g. 2026-11-23T00:00:00+07:00)")
            window = (window_from, window_to)
        removed, added = await service.import_roster(body, media_type, session, window)
        return RosterImportView(removed=removed, added=added)

    @router.get("/roster/on-duty", response_model=list[ShiftView])
    async def on_duty(session: Auth, at: datetime | None = None) -> list[ShiftView]:
        when = at or datetime.now(UTC)
        if when.tzinfo is None:
            raise InvalidInput("at: give a time zone")
        return [ShiftView.model_validate(s.model_dump()) for s in await service.on_duty(when)]

    return router
