"""JSON channels: the web portal, the mobile app and the chatbot post this form; hotline and
walk-in intakes are the same form entered by an agent, plus who took the call. Pure: no I/O.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from core.domain.priority import Impact, Urgency
from core.domain.taxonomy import Category, Region
from core.intake.domain.schemas import Attachment, CallInfo, Channel, Contact, IntakeDraft

JSON_CHANNELS = frozenset({Channel.PORTAL, Channel.MOBILE, Channel.CHATBOT})
AGENT_CHANNELS = frozenset({Channel.HOTLINE, Channel.WALK_IN})


class PortalIntake(BaseModel):
    """An incident report from a form. A way to reach the reporter is required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: str | None = Field(default=None, max_length=64)
    contact: Contact
    contract_number: str | None = Field(default=None, max_length=64)
    asset_serial: str | None = Field(default=None, max_length=64)
    category: Category | None = None
    region: Region | None = None
    location: str | None = Field(default=None, max_length=300)
    impact: Impact = Impact.MEDIUM
    urgency: Urgency = Urgency.MEDIUM
    subject: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20_000)
    occurred_at: AwareDatetime | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _reachable(self) -> PortalIntake:
        if not (self.contact.phone or self.contact.email or self.contact.handle or self._caller()):
            raise ValueError("contact needs a phone, an email or a chat handle")
        return self

    def _caller(self) -> str | None:
        return None


class AgentEnteredIntake(PortalIntake):
    """A call or a visit, typed in by the agent who took it."""

    # Who took it comes from the agent's session; if the form names someone, it must be them.
    agent_id: str | None = Field(default=None, min_length=1, max_length=64)
    caller_number: str | None = Field(default=None, max_length=40)
    call_id: str | None = Field(default=None, max_length=128)  # the PBX's id: a retry's natural key

    def _caller(self) -> str | None:
        return self.caller_number


def portal_draft(channel: Channel, form: PortalIntake) -> IntakeDraft:
    return IntakeDraft(
        channel=channel,
        event_time=form.occurred_at,
        customer_id=form.customer_id,
        contact=form.contact,
        contract_number=form.contract_number,
        asset_serial=form.asset_serial,
        category=form.category,
        region=form.region,
        location=form.location,
        impact=form.impact,
        urgency=form.urgency,
        subject=form.subject,
        description=form.description,
        attachments=tuple(form.attachments),
    )


def agent_draft(channel: Channel, form: AgentEnteredIntake, agent_id: str) -> IntakeDraft:
    """`agent_id`: the signed-in agent who entered it (the session's, not the form's)."""
    base = portal_draft(channel, form)
    call = CallInfo(caller_number=form.caller_number, call_id=form.call_id, agent_id=agent_id)
    contact = form.contact
    if contact.phone is None and form.caller_number:
        contact = contact.model_copy(update={"phone": form.caller_number})
    return base.model_copy(update={"call": call, "contact": contact, "natural_key": form.call_id})
