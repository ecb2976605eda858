"""Priority: the matrix, and rules that only ever raise it, with reasons."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain.priority import Impact, Priority, PriorityPolicy, Urgency, assess

POLICY = PriorityPolicy()


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [
        (Impact.HIGH, Urgency.HIGH, Priority.P1),
        (Impact.HIGH, Urgency.MEDIUM, Priority.P2),
        (Impact.MEDIUM, Urgency.HIGH, Priority.P2),
        (Impact.HIGH, Urgency.LOW, Priority.P3),
        (Impact.MEDIUM, Urgency.MEDIUM, Priority.P3),
        (Impact.LOW, Urgency.HIGH, Priority.P3),
        (Impact.MEDIUM, Urgency.LOW, Priority.P4),
        (Impact.LOW, Urgency.MEDIUM, Priority.P4),
        (Impact.LOW, Urgency.LOW, Priority.P4),
    ],
)
def test_matrix(impact: Impact, urgency: Urgency, expected: Priority) -> None:
    decision = assess(POLICY, impact, urgency)
    assert decision.priority == expected
    assert decision.reasons == (f"matrix: impact {impact}, urgency {urgency} -> {expected}",)


def test_critical_alert_is_p1() -> None:
    decision = assess(POLICY, Impact.LOW, Urgency.LOW, alert_severity="Critical")
    assert decision.priority == Priority.P1
    assert decision.reasons[-1] == "alert severity Critical -> P1"


def test_outage_keyword_in_vietnamese_raises_to_p2() -> None:
    decision = assess(POLICY, Impact.LOW, Urgency.LOW, text="Chi nhánh Đà Nẵng MẤT KẾT NỐI internet")
    assert decision.priority == Priority.P2
    assert "outage keyword 'mất kết nối'" in decision.reasons[-1]


def test_keyword_needs_a_whole_word() -> None:
    assert assess(POLICY, Impact.LOW, Urgency.LOW, text="please download the report").priority == Priority.P4


def test_premium_tier_raises_one_level_but_never_above_p1() -> None:
    assert assess(POLICY, Impact.MEDIUM, Urgency.MEDIUM, contract_tier="Gold").priority == Priority.P2
    assert assess(POLICY, Impact.HIGH, Urgency.HIGH, contract_tier="platinum").priority == Priority.P1


def test_incomplete_matrix_refused() -> None:
    with pytest.raises(ValueError, match=r"matrix\.low\.low: missing"):
        PriorityPolicy(
            matrix={i: {u: Priority.P4 for u in Urgency if (i, u) != (Impact.LOW, Urgency.LOW)} for i in Impact}
        )


@given(
    impact=st.sampled_from(Impact),
    urgency=st.sampled_from(Urgency),
    severity=st.sampled_from([None, "critical", "warning", "info", "unknown"]),
    text=st.text(max_size=40),
    tier=st.sampled_from([None, "gold", "silver"]),
)
def test_rules_never_lower_the_matrix(
    impact: Impact, urgency: Urgency, severity: str | None, text: str, tier: str | None
) -> None:
    base = POLICY.matrix[impact][urgency]
    decision = assess(POLICY, impact, urgency, alert_severity=severity, text=text, contract_tier=tier)
    assert decision.priority.rank <= base.rank
    # Every raise is explained: one reason per step taken.
    assert (decision.priority == base) == (len(decision.reasons) == 1)
