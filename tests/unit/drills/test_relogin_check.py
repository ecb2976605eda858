"""The re-login surge's findings and check on synthetic sign-ins."""

from __future__ import annotations

from drills.model import SignInRecord
from drills.relogin_check import check, findings
from drills.report import Objectives

FAULT = 100.0
OBJECTIVES = Objectives(rto_s={"agent_login": 10})


def signed_in(sent: float, latency: float, attempts: int = 1, site: str = "b") -> SignInRecord:
    return SignInRecord(agent="a", sent=sent, latency_s=latency, status=200, site=site, attempts=attempts)


def test_everyone_in_is_the_last_agent_in_counted_from_the_fault() -> None:
    records = [signed_in(102.0, 0.5), signed_in(104.0, 3.0, attempts=3), signed_in(103.0, 0.2)]
    surge = findings(records, FAULT)
    assert surge is not None
    assert surge.everyone_in_s == 7.0 and surge.fired_after_s == 2.0
    assert (surge.signed_in, surge.pressed_again, surge.max_s, surge.sites) == (3, 1, 3.0, ("b",))
    (passed,) = check(surge, OBJECTIVES)
    assert passed.passed


def test_an_agent_left_out_fails_the_check_and_there_is_no_everyone_in() -> None:
    records = [signed_in(102.0, 0.5), SignInRecord(agent="x", sent=102.5, status=503, attempts=29)]
    surge = findings(records, FAULT)
    assert surge is not None and surge.everyone_in_s is None and surge.refused == 1
    assert not check(surge, OBJECTIVES)[0].passed


def test_the_last_agent_in_after_the_target_fails_the_check() -> None:
    surge = findings([signed_in(102.0, 8.5)], FAULT)
    assert surge is not None and surge.everyone_in_s == 10.5
    assert not check(surge, OBJECTIVES)[0].passed


def test_no_surge_no_finding_no_check() -> None:
    assert findings([], FAULT) is None
    assert check(None, OBJECTIVES) == ()
