"""Agents, their roles and what each role may do. Pure data: no I/O."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from core.domain.escalation import SupportLevel


class Role(StrEnum):
    AGENT_L1 = "agent-L1"
    AGENT_L2 = "agent-L2"
    AGENT_L3 = "agent-L3"
    SUPERVISOR = "supervisor"
    SRE = "sre"
    AUDITOR = "auditor"  # reads everything, changes nothing


class Permission(StrEnum):
    READ = "read"
    WORK_TICKETS = "work_tickets"  # move, log work, resolve, record CSAT
    MANAGE_AGENTS = "manage_agents"  # create accounts, revoke sessions
    MANAGE_ROSTER = "manage_roster"
    SUPERVISE = "supervise"  # reassign and escalate tickets
    PUBLISH_KNOWLEDGE = "publish_knowledge"  # write and revise knowledge-base articles and runbooks


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.AGENT_L1: frozenset({Permission.READ, Permission.WORK_TICKETS}),
    Role.AGENT_L2: frozenset({Permission.READ, Permission.WORK_TICKETS, Permission.PUBLISH_KNOWLEDGE}),
    Role.AGENT_L3: frozenset({Permission.READ, Permission.WORK_TICKETS, Permission.PUBLISH_KNOWLEDGE}),
    Role.SUPERVISOR: frozenset(Permission),
    # SREs write the runbooks.
    Role.SRE: frozenset(
        {Permission.READ, Permission.WORK_TICKETS, Permission.MANAGE_AGENTS, Permission.PUBLISH_KNOWLEDGE}
    ),
    Role.AUDITOR: frozenset({Permission.READ}),
}


def may_grant(creator: Role, new: Role) -> bool:
    """An account may only be given what its creator holds: an SRE (who manages accounts) cannot
    make a supervisor, who also manages the roster."""
    return GRANTS[new] <= GRANTS[creator]


LEVEL_OF_ROLE: dict[Role, SupportLevel] = {
    Role.AGENT_L1: SupportLevel.L1,
    Role.AGENT_L2: SupportLevel.L2,
    Role.AGENT_L3: SupportLevel.L3,
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


class Agent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    email: str | None = None
    role: Role
    teams: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    home_site: str
    active: bool = True


class Session(BaseModel):
    """An authenticated agent, as every request sees it."""

    model_config = ConfigDict(frozen=True)

    agent: Agent
    site: str  # where the token was issued
    issued_at: datetime
    expires_at: datetime
