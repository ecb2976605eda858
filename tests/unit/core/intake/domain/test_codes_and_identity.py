"""Ticket codes and intake identity: derived, stable across sites, readable over the phone."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.intake.domain.codes import (
    CODE_PATTERN,
    codes_in,
    email_ticket_code,
    intake_id_for,
    normalize_code,
    ticket_code_for,
)
from core.intake.domain.schemas import SIGNED_CHANNELS, Channel, IntakeDraft, IntakeKind
from core.intake.service import identify


@given(st.uuids())
def test_every_code_is_well_formed_and_survives_normalisation(intake_id: uuid.UUID) -> None:
    code = ticket_code_for(intake_id)
    assert CODE_PATTERN.fullmatch(code)
    assert normalize_code(code) == code
    assert normalize_code(code.lower().replace("-", " ")) == code
    assert codes_in(f"Re: [{code}] còn lỗi") == [code]


def test_confusable_characters_are_forgiven() -> None:
    assert normalize_code("inc-o1il-0000-uuuu") == "INC-0111-0000-VVVV"
    assert normalize_code("INC-1234") is None
    assert normalize_code("hello") is None


def test_keyed_identity_is_deterministic_and_random_without_key() -> None:
    assert intake_id_for(Channel.PORTAL, IntakeKind.NEW, "k") == intake_id_for(Channel.PORTAL, IntakeKind.NEW, "k")
    assert intake_id_for(Channel.PORTAL, IntakeKind.NEW, "k") != intake_id_for(Channel.MOBILE, IntakeKind.NEW, "k")
    assert intake_id_for(Channel.PORTAL, IntakeKind.NEW, None) != intake_id_for(Channel.PORTAL, IntakeKind.NEW, None)


def test_distinct_ids_give_distinct_codes() -> None:
    codes = {ticket_code_for(uuid.uuid4()) for _ in range(20_000)}
    assert len(codes) == 20_000


def test_client_key_wins_and_numbers_a_group() -> None:
    draft = IntakeDraft(channel=Channel.ALERTMANAGER, natural_key="fp@t")
    assert identify(draft, None, 0) == identify(draft, None, 0)
    keyed = [identify(draft, "client-key", i) for i in range(2)]
    assert keyed[0].intake_id != keyed[1].intake_id
    assert identify(draft, None, 0).intake_id not in {k.intake_id for k in keyed}


@pytest.mark.parametrize("channel", sorted(SIGNED_CHANNELS))
def test_on_a_signed_channel_no_header_changes_the_intake_the_signature_covers(channel: Channel) -> None:
    draft = IntakeDraft(channel=channel, natural_key="Ev0123")
    replayed = {identify(draft, header, 0) for header in (None, "captured-then-replayed", "another")}
    assert len(replayed) == 1  # one intake, one ticket code, whatever Idempotency-Key a replay carries


def test_on_a_signed_channel_without_a_natural_key_the_header_still_counts() -> None:
    draft = IntakeDraft(channel=Channel.SLACK)
    assert identify(draft, "k", 0) == identify(draft, "k", 0)


def test_resolved_alert_points_at_the_firing_alerts_ticket() -> None:
    firing = identify(IntakeDraft(channel=Channel.ALERTMANAGER, natural_key="fp@t"), None, 0)
    resolved = identify(
        IntakeDraft(channel=Channel.ALERTMANAGER, kind=IntakeKind.ALERT_RESOLVED, natural_key="fp@t"), None, 0
    )
    assert resolved.intake_id != firing.intake_id
    assert resolved.reply_to == (firing.ticket_code,)


def test_email_code_is_what_the_intake_gives_the_message() -> None:
    mid = "<abc@mail.example>"
    ident = identify(IntakeDraft(channel=Channel.EMAIL, natural_key="abc@mail.example"), None, 0)
    assert email_ticket_code(mid) == ident.ticket_code
    reply = identify(IntakeDraft(channel=Channel.EMAIL, kind=IntakeKind.REPLY, natural_key="abc@mail.example"), None, 0)
    assert reply.ticket_code == ident.ticket_code  # a reply that finds no thread opens the same code
