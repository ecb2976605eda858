from __future__ import annotations

import pytest

from core.agents.domain.credentials import hash_password, verify_password
from core.agents.domain.model import GRANTS, Permission, Role, allowed, may_grant


def test_passwords_are_argon2id_and_verify_only_the_right_one() -> None:
    stored = hash_password("đúng mật khẩu")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "đúng mật khẩu")
    assert not verify_password(stored, "sai mật khẩu")
    assert not verify_password(None, "anything")  # unknown agent
    assert not verify_password("not-a-hash", "x")


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_and_only_auditors_cannot_work_tickets(role: Role) -> None:
    assert allowed(role, Permission.READ)
    assert allowed(role, Permission.WORK_TICKETS) is (role is not Role.AUDITOR)


def test_only_supervisors_manage_the_roster_and_engineers_manage_nothing() -> None:
    assert {r for r in Role if allowed(r, Permission.MANAGE_ROSTER)} == {Role.SUPERVISOR}
    assert {r for r in Role if allowed(r, Permission.MANAGE_AGENTS)} == {Role.SUPERVISOR, Role.SRE}
    assert set(GRANTS) == set(Role)


@pytest.mark.parametrize("creator", list(Role))
@pytest.mark.parametrize("new", list(Role))
def test_an_account_never_holds_more_than_its_creator(creator: Role, new: Role) -> None:
    assert may_grant(creator, new) is (GRANTS[new] <= GRANTS[creator])


def test_an_sre_cannot_make_a_supervisor_but_a_supervisor_can_make_anyone() -> None:
    assert not may_grant(Role.SRE, Role.SUPERVISOR)
    assert may_grant(Role.SRE, Role.AGENT_L2) and may_grant(Role.SRE, Role.AUDITOR)
    assert all(may_grant(Role.SUPERVISOR, r) for r in Role)
