"""The drill report as HTML and PDF: what an auditor must find on the page."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from drills.model import Availability, DataRecovery, Findings, Latency, Outcome, Relogin, Rpo, Rto, Timeline
from drills.render import fmt_ms, fmt_seconds, render_html, render_pdf, timeline_chart_svg
from drills.report import (
    Artifact,
    CanarySettings,
    Check,
    DrillReport,
    Environment,
    LoadStats,
    Objectives,
    Roles,
    Scenario,
    Series,
    SignOff,
)

T0 = 1_740_821_400.0  # 2025-03-01T09:30:00Z
FAULT = 20.0
RESTORE = 45.0
CONVERGED = 52.0
END = 60.0


def _canary() -> tuple[tuple[float, float | None, Outcome], ...]:
    """60 operations, one a second; five around the fault failed or are unknown, slower ones just after."""
    ops: list[tuple[float, float | None, Outcome]] = []
    for i in range(60):
        at = float(i)
        if 21 <= i <= 25:
            ops.append((at, None, Outcome.UNKNOWN if i == 23 else Outcome.FAIL))
        elif 26 <= i <= 30:
            ops.append((at, 2.0 + 0.5 * (30 - i), Outcome.OK))
        else:
            ops.append((at, 0.020 + 0.001 * (i % 7), Outcome.OK))
    return tuple(ops)


def _probes() -> dict[str, tuple[tuple[float, bool], ...]]:
    return {
        "agent_login": tuple((float(t), not (FAULT <= t < 29)) for t in range(0, 60, 2)),
        "sla_clock": tuple((float(t) + 1, not (FAULT <= t + 1 < 33)) for t in range(0, 60, 2)),
    }


def _report(**overrides: Any) -> DrillReport:
    fields: dict[str, Any] = {
        "id": "20250301T093000Z-site-loss-a",
        "scenario": Scenario(
            name="site-loss-a",
            title="Loss of site a (power cut)",
            fault="Stop every process of site a at once",
            affected_sites=("a",),
        ),
        "trigger": "manual",
        "status": "completed",
        "deviated": False,
        "verdict": "pass",
        "objectives": Objectives(rpo_max_lost=0, rto_s={"agent_login": 30.0, "sla_clock": 30.0}, availability_min=0.9),
        "checks": (
            Check(name="RPO", target="<= 0 lost", achieved="0 lost", passed=True),
            Check(name="RTO agent_login", target="<= 30 s", achieved="9.0 s", passed=True),
            Check(name="RTO sla_clock", target="<= 30 s", achieved="13.0 s", passed=True),
            Check(name="availability", target=">= 90.00 %", achieved="91.67 %", passed=True),
        ),
        "findings": Findings(
            rpo=Rpo(acknowledged=55, lost=0, unknown=1, unknown_present=1),
            rto=(
                Rto(
                    capability="agent_login", disrupted=True, seconds=9.0, recovered_at=T0 + 29, failures=5, samples=13
                ),
                Rto(capability="sla_clock", disrupted=True, seconds=13.0, recovered_at=T0 + 33, failures=6, samples=13),
            ),
            availability=Availability(
                invoked=60,
                acknowledged=55,
                ratio=55 / 60,
                longest_gap_s=7.4,
                longest_gap_from=T0 + 20.6,
                longest_gap_to=T0 + 28.0,
            ),
            latency=(
                Latency(phase="before", count=20, p50_s=0.023, p99_s=0.026, max_s=0.026),
                Latency(phase="during", count=20, p50_s=0.024, p99_s=4.0, max_s=4.0),
                Latency(phase="after", count=15, p50_s=0.022, p99_s=0.026, max_s=0.026),
            ),
        ),
        "notes": ("Intake was unavailable for 7.4 s after site a was lost.", "No acknowledged intake was lost."),
        "timeline": Timeline(
            started=T0, fault_at=T0 + FAULT, restore_at=T0 + RESTORE, converged_at=T0 + CONVERGED, ended=T0 + END
        ),
        "roles_before": Roles(
            patroni_primary="a", patroni_sync_standby="b", kafka_controller="1", sla_clock_leader="a"
        ),
        "roles_after": Roles(patroni_primary="b", patroni_sync_standby="a", kafka_controller="1", sla_clock_leader="b"),
        "environment": Environment(
            ccdr_version="0.1.0",
            commit="0123456789abcdef0123456789abcdef01234567",
            host="runner-1",
            python="3.11.9",
            components={"postgresql": "16.4", "kafka": "3.8.0"},
            sites={"a": "data 10.0.1.10", "b": "data 10.0.2.10", "w": "witness 10.0.3.10"},
        ),
        "canary": CanarySettings(
            rate_per_s=1.0, deadline_s=10.0, attempt_timeout_s=2.0, channel="web", consecutive_successes=3
        ),
        "load": LoadStats(
            users=20,
            rate_per_s=15.5,
            requests=930,
            failures=12,
            p50_ms=31.0,
            p99_ms=420.0,
            by_name={"POST /intake": {"requests": 600.0, "failures": 10.0}, "GET /tickets": {"requests": 330.0}},
        ),
        "series": Series(canary=_canary(), probes=_probes()),
        "artifacts": (
            Artifact(name="journal.json", sha256="ab" * 32, media_type="application/json"),
            Artifact(name="canary.jsonl", sha256="cd" * 32, media_type="application/x-ndjson"),
        ),
        "sign_off": SignOff(operator="Alice Operator", reviewed_by="Bob Reviewer"),
    }
    fields.update(overrides)
    return DrillReport(**fields)


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(_report(), signature="c2lnbmF0dXJl", key_id="ed25519:4f2a", ledger_seq=7)


def _row(page: str, css_class: str, field: str) -> str:
    match = re.search(rf'<tr class="{css_class}[^"]*" data-field="{field}">.*?</tr>', page, re.S)
    assert match, f"no row for {field}"
    return match.group(0)


def test_header_shows_verdict_id_date_operator_and_trigger(page: str) -> None:
    assert 'class="badge pass"' in page
    assert ">PASS<" in page
    assert "FAIL" not in page.replace('"fail"', "")  # only CSS class names mention fail
    assert "20250301T093000Z-site-loss-a" in page
    assert "Loss of site a (power cut)" in page
    assert "2025-03-01T09:30:00Z" in page
    assert "Alice Operator" in page
    assert "manual" in page


def test_how_to_read_uses_the_canary_settings(page: str) -> None:
    text = re.sub(r"\s+", " ", page)
    assert "How to read this report" in text
    assert "K&nbsp;=&nbsp;3 consecutive" in text
    assert "client deadline of 10.0 s" in text


def test_every_check_is_shown_with_target_and_achieved(page: str) -> None:
    for check in _report().checks:
        assert f"<td>{html.escape(check.name)}</td><td>{html.escape(check.target)}</td>" in page
        assert f"<td>{html.escape(check.achieved)}</td>" in page


def test_findings_rto_availability_and_latency(page: str) -> None:
    assert "Intake was unavailable for 7.4 s after site a was lost." in page
    assert "9.0 s" in page and "13.0 s" in page
    assert "5 / 13" in page
    assert "91.67 %" in page
    assert "7.4 s" in page and "T+20.6 s" in page
    assert "4,000" in page  # p99 during, in ms
    assert "POST /intake" in page


def test_integrity_section_has_key_ledger_and_verify_command(page: str) -> None:
    assert "ccdr drill verify 20250301T093000Z-site-loss-a" in page
    assert "ed25519:4f2a" in page
    assert "<td>7</td>" in page
    assert "c2lnbmF0dXJl" in page
    assert "ab" * 32 in page


def test_unsigned_report_says_so() -> None:
    page = render_html(_report())
    assert "not signed" in page
    assert "ccdr drill verify 20250301T093000Z-site-loss-a" in page


def test_role_changes_are_marked(page: str) -> None:
    primary = _row(page, "role", "patroni_primary")
    assert "changed" in primary.split(">")[0]
    assert "<td>a</td><td>b</td>" in primary
    controller = _row(page, "role", "kafka_controller")
    assert "changed" not in controller.split(">")[0]
    assert "unchanged" in controller
    dispatcher = _row(page, "role", "dispatcher_leader")
    assert "<td>—</td><td>—</td>" in dispatcher


def test_page_embeds_the_chart_and_needs_nothing_external(page: str) -> None:
    assert page.count("<svg") == 1
    assert "<?xml" not in page
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_sign_off_fills_what_is_set(page: str) -> None:
    block = page[page.index('class="signoff"') :]
    assert "Alice Operator" in block and "Bob Reviewer" in block
    assert "Approved by" in block


def test_failed_report_shows_fail() -> None:
    report = _report(
        verdict="fail",
        checks=(Check(name="RPO", target="<= 0 lost", achieved="3 lost", passed=False),),
        deviated=True,
        abort_reason="steady state not restored",
    )
    page = render_html(report)
    assert 'class="badge fail"' in page
    assert ">FAIL<" in page
    assert ">PASS<" not in page
    assert "3 lost" in page
    assert "steady state not restored" in page


def test_operator_name_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    page = render_html(_report(sign_off=SignOff(operator=evil), notes=("<b>bold</b>",)))
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert "<b>bold</b>" not in page


def test_report_without_optional_parts_renders() -> None:
    report = _report(
        load=None,
        artifacts=(),
        notes=(),
        series=Series(),
        timeline=Timeline(started=T0, fault_at=T0 + 5, ended=T0 + 10),
    )
    page = render_html(report)
    assert "Background load" not in page
    assert "No artifacts were kept." in page
    assert page.count("<svg") == 1


def test_chart_is_an_inline_svg_and_deterministic() -> None:
    report = _report()
    first = timeline_chart_svg(report)
    assert first.startswith("<svg")
    assert first.rstrip().endswith("</svg>")
    assert first == timeline_chart_svg(_report())
    assert len(first) < 400_000


def test_chart_of_a_long_drill_stays_small() -> None:
    canary = tuple((i * 0.1, 0.02 + (i % 13) * 0.001, Outcome.OK) for i in range(5000))
    svg = timeline_chart_svg(_report(series=Series(canary=canary, probes=_probes())))
    assert "<image" in svg  # the scatter is rasterized
    assert len(svg) < 600_000


def test_chart_differs_when_the_data_does() -> None:
    assert timeline_chart_svg(_report()) != timeline_chart_svg(_report(series=Series(probes=_probes())))


def test_pdf_is_a_real_document(page: str) -> None:
    pdf = render_pdf(page)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 20_000


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(8.43, "8.4 s"), (None, "—"), (0.0, "0.0 s")],
)
def test_durations_are_formatted(seconds: float | None, text: str) -> None:
    assert fmt_seconds(seconds) == text


def test_latencies_in_ms() -> None:
    assert fmt_ms(None) == "—"
    assert fmt_ms(0.0234) == "23"
    assert fmt_ms(0.0042) == "4.2"


def _with_findings(**extra: Any) -> DrillReport:
    base = _report()
    return base.model_copy(update={"findings": base.findings.model_copy(update=extra)})


def test_a_re_login_surge_shows_who_got_in_and_when_the_last_one_did() -> None:
    surge = Relogin(sent=60, signed_in=59, refused=1, no_answer=0, fired_after_s=2.0, p50_s=0.4, p99_s=3.2, max_s=3.9)
    page = html.unescape(render_html(_with_findings(relogin=surge)))
    assert "The re-login surge" in page and "59 of 60" in page
    assert "not everyone got in" in page
    assert "The re-login surge" not in html.unescape(render_html(_report()))


def test_a_restore_drill_shows_the_copy_the_replay_and_the_loss() -> None:
    data = DataRecovery(kind="restore", at=T0 + FAULT, restore_s=4.2, acknowledged=120, in_copy=70, replayable=50)
    page = html.unescape(render_html(_with_findings(data=data)))
    assert "The database rebuilt from the backups" in page
    assert re.search(r"replayable from the intake topic</th><td class=\"num\">50", page)


def test_a_repair_drill_shows_what_was_damaged_and_put_back() -> None:
    data = DataRecovery(kind="repair", at=T0 + FAULT, restore_s=3.0, touched=48, repaired=48, repair_s=9.5)
    page = html.unescape(render_html(_with_findings(data=data)))
    assert "A bad release's damage repaired" in page
    assert re.search(r"Tickets it damaged</th><td class=\"num\">48", page)
