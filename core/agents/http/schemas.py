"""Agent API requests and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.agents.domain.model import Agent, Role
from core.agents.domain.presence import Status
from core.domain.text import StorableModel


class _Request(StorableModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Request):
    agent_id: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginView(BaseModel):
    token: str
    token_type: str = "Bearer"
    expires_at: datetime
    agent: Agent
    site: str  # the site that served the login
    home_site: str
    remote: bool


class MeView(BaseModel):
    agent: Agent
    session_site: str
    serving_site: str
    expires_at: datetime


class PresenceRequest(_Request):
    status: Status


class NewAgentRequest(_Request):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$")
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    password: str = Field(min_length=12, max_length=1024)
    role: Role
    teams: list[str] = Field(default_factory=list, max_length=20)
    regions: list[str] = Field(default_factory=list, max_length=3)
    skills: list[str] = Field(default_factory=list, max_length=50)
    home_site: str = Field(pattern=r"^[a-z0-9]+$")


class RevokeView(BaseModel):
    revoked: int


class RosterImportView(BaseModel):
    removed: int
    added: int


class ShiftView(BaseModel):
    agent_id: str
    team: str
    region: str
    level: str
    kind: str
    starts_at: datetime
    ends_at: datetime
