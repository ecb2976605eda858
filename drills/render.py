"""Render a drill report for people: a self-contained HTML page (inline CSS and SVG, no scripts) and its PDF.

Pure apart from `render_pdf`, which needs WeasyPrint (imported lazily: it is slow to import). Nothing here
reads or writes files; the caller decides where the page goes.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter

from drills.model import Outcome
from drills.report import SCHEMA, DrillReport, Roles

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

DASH = "—"
VERIFY_COMMAND = "ccdr drill verify {id}"

COLOURS: dict[str, str] = {
    "ok": "#2e7d32",
    "fail": "#c62828",
    "unknown": "#ef6c00",
    "fault": "#c62828",
    "restore": "#1565c0",
    "converged": "#757575",
}

ROLE_LABELS: dict[str, str] = {
    "patroni_primary": "PostgreSQL primary (Patroni)",
    "patroni_sync_standby": "PostgreSQL synchronous standby",
    "kafka_controller": "Kafka controller",
    "sla_clock_leader": "SLA-clock leader",
    "dispatcher_leader": "Dispatcher leader",
    "notifier_owner": "Notifier owner",
}

_SCATTER_RASTER_THRESHOLD = 2000  # more canary points than this: draw them as one embedded bitmap
_BAND = 0.12  # top share of the latency panel kept for operations without a latency


# -- formatting ------------------------------------------------------------------------------


def fmt_seconds(value: float | None) -> str:
    """A duration: "8.4 s"; None: "—"."""
    return DASH if value is None else f"{value:.1f} s"


def fmt_ms(seconds: float | None) -> str:
    """A latency given in seconds, shown as a number of milliseconds (no unit: the column says ms)."""
    if seconds is None:
        return DASH
    ms = seconds * 1000.0
    return f"{ms:.1f}" if ms < 10 else f"{ms:,.0f}"


def fmt_number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return DASH
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def fmt_percent(ratio: float | None) -> str:
    return DASH if ratio is None else f"{ratio * 100:.2f} %"


def fmt_utc(posix: float | None) -> str:
    """An instant as ISO 8601 UTC, to the second: 2025-03-01T09:30:00Z."""
    if posix is None:
        return DASH
    return datetime.fromtimestamp(posix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_yes_no(value: bool | None) -> str:
    return DASH if value is None else ("yes" if value else "no")


def fmt_dash(value: Any) -> str:
    return DASH if value is None or value == "" else str(value)


# -- chart -----------------------------------------------------------------------------------


def _probe_spans(samples: list[tuple[float, bool]], end: float) -> list[tuple[float, float, bool]]:
    """Consecutive samples with the same state merged into (start, width, ok) spans.

    A sample holds until the next one; the last one until `end`, or for one typical interval when the
    series runs past `end`.
    """
    if not samples:
        return []
    ordered = sorted(samples, key=lambda s: s[0])
    gaps = [b[0] - a[0] for a, b in pairwise(ordered) if b[0] > a[0]]
    step = sorted(gaps)[len(gaps) // 2] if gaps else 1.0
    spans: list[tuple[float, float, bool]] = []
    for i, (at, ok) in enumerate(ordered):
        until = ordered[i + 1][0] if i + 1 < len(ordered) else (end if end > at else at + step)
        if spans and spans[-1][2] == ok and math.isclose(spans[-1][0] + spans[-1][1], at):
            start, _, _ = spans[-1]
            spans[-1] = (start, until - start, ok)
        else:
            spans.append((at, until - at, ok))
    return spans


def _top_for_band(low: float, high: float, log: bool) -> float:
    """The upper y limit that leaves the top `_BAND` of the axes free above `high`."""
    if log:
        return low * (high / low) ** (1.0 / (1.0 - _BAND))
    return low + (high - low) / (1.0 - _BAND)


def _draw_latency(ax: Axes, report: DrillReport, raster: bool) -> None:
    by_outcome: dict[Outcome, list[tuple[float, float | None]]] = {o: [] for o in Outcome}
    for invoked, latency, outcome in report.series.canary:
        by_outcome[outcome].append((invoked, latency))

    ok = [(x, y) for x, y in by_outcome[Outcome.OK] if y is not None]
    positive = [y for _, y in ok if y > 0]
    log = bool(positive) and max(positive) / min(positive) > 30.0
    if log:
        ax.set_yscale("log")
        ok = [(x, y) for x, y in ok if y > 0]

    style: dict[str, Any] = {"s": 7, "linewidths": 0, "rasterized": raster, "zorder": 3}
    if ok:
        ax.scatter([x for x, _ in ok], [y for _, y in ok], color=COLOURS["ok"], **style)
        low = min(y for _, y in ok)
        high = max(y for _, y in ok)
        if log:
            low, high = low / 1.5, high * 1.5
        else:
            low, high = 0.0, (high * 1.1 if high > 0 else 1.0)
    else:
        low, high = (0.001, 1.0) if log else (0.0, 1.0)
    ax.set_ylim(low, _top_for_band(low, high, log))

    # Operations without a latency sit in a band at the top: x in data, y in axes coordinates.
    band = ax.get_xaxis_transform()
    ax.add_patch(
        Rectangle((0, 1.0 - _BAND), 1, _BAND, transform=ax.transAxes, facecolor="#f3f3f3", edgecolor="none", zorder=0)
    )
    ax.text(
        0.004,
        1.0 - _BAND / 2,
        "not acknowledged",
        transform=ax.transAxes,
        fontsize=6,
        color="#757575",
        va="center",
        ha="left",
        zorder=1,
    )
    cross = {**style, "s": 14, "linewidths": 0.9, "marker": "x", "transform": band}
    for outcome, y in ((Outcome.FAIL, 1.0 - _BAND * 0.35), (Outcome.UNKNOWN, 1.0 - _BAND * 0.7)):
        xs = [x for x, _ in by_outcome[outcome]]
        if xs:
            ax.scatter(xs, [y] * len(xs), color=COLOURS[outcome.value], **cross)
    # No latency labels inside the band: it has no latency scale.
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: "" if value > high * 1.0001 else f"{value:g}"))
    ax.set_ylabel("canary latency (s)" + (", log scale" if log else ""))
    ax.grid(True, which="major", axis="y", color="#dddddd", linewidth=0.5)


def _draw_probes(ax: Axes, report: DrillReport, end: float) -> None:
    names = sorted(report.series.probes)
    for row, name in enumerate(names):
        spans = _probe_spans(list(report.series.probes[name]), end)
        if spans:
            ax.broken_barh(
                [(start, width) for start, width, _ in spans],
                (row - 0.35, 0.7),
                facecolors=[COLOURS["ok"] if ok else COLOURS["fail"] for _, _, ok in spans],
                edgecolor="none",
            )
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5 if names else 0.5, -0.5)  # the first capability on top
    if not names:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no probe samples", transform=ax.transAxes, ha="center", va="center", color="#757575")
    ax.set_xlabel("seconds since the drill started")
    ax.tick_params(axis="y", length=0)


def _marks(report: DrillReport) -> list[tuple[str, float]]:
    t = report.timeline
    marks = [("fault", t.fault_at - t.started)]
    if t.restore_at is not None:
        marks.append(("restore", t.restore_at - t.started))
    if t.converged_at is not None:
        marks.append(("converged", t.converged_at - t.started))
    return marks


def timeline_chart_svg(report: DrillReport) -> str:
    """The drill's timeline as an inline SVG element (no XML prolog): canary latency above, probes below.

    The same report gives the same bytes: fixed hash salt, no date, bundled font drawn as paths.
    """
    t = report.timeline
    end = max(t.ended - t.started, 0.0)
    probes = len(report.series.probes)
    raster = len(report.series.canary) > _SCATTER_RASTER_THRESHOLD
    rc: dict[RcKeyType, Any] = {
        "svg.hashsalt": f"ccdr-{report.id}",
        "svg.fonttype": "path",
        "font.size": 8,
        "font.family": "DejaVu Sans",
    }
    with rc_context(rc):
        fig = Figure(figsize=(7.2, 3.4 + 0.28 * max(probes, 1)), layout="constrained")
        top, bottom = fig.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, max(0.9, 0.38 * probes)]}, squeeze=True
        )
        _draw_latency(top, report, raster)
        _draw_probes(bottom, report, end)
        for name, x in _marks(report):
            for ax in (top, bottom):
                ax.axvline(x, color=COLOURS[name], linewidth=1.0, linestyle="--" if name != "fault" else "-", zorder=4)
        top.set_xlim(0.0, end if end > 0 else 1.0)
        top.tick_params(axis="x", labelbottom=False)

        dot: dict[str, Any] = {"linestyle": "none", "markersize": 4}
        handles = [
            Line2D([], [], marker="o", color=COLOURS["ok"], label="ok (acknowledged)", markeredgewidth=0, **dot),
            Line2D([], [], marker="x", color=COLOURS["fail"], label="fail (no latency)", **dot),
            Line2D([], [], marker="x", color=COLOURS["unknown"], label="unknown (no latency)", **dot),
            Patch(color=COLOURS["ok"], label="probe ok"),
            Patch(color=COLOURS["fail"], label="probe failed"),
        ]
        handles += [
            Line2D([], [], color=COLOURS[name], linestyle="--" if name != "fault" else "-", label=name)
            for name, _ in _marks(report)
        ]
        fig.legend(handles=handles, loc="outside upper center", ncol=4, frameon=False, fontsize=7)

        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None}, dpi=150)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


# -- HTML ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleRow:
    field: str
    label: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def role_rows(before: Roles, after: Roles) -> list[RoleRow]:
    return [
        RoleRow(field, ROLE_LABELS.get(field, field.replace("_", " ")), getattr(before, field), getattr(after, field))
        for field in Roles.model_fields
    ]


def _offset(report: DrillReport, posix: float | None) -> str:
    """An instant as "T+12.3 s" from the start of the drill."""
    if posix is None:
        return DASH
    return f"T+{posix - report.timeline.started:.1f} s"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("drills", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        seconds=fmt_seconds,
        ms=fmt_ms,
        number=fmt_number,
        percent=fmt_percent,
        utc=fmt_utc,
        yesno=fmt_yes_no,
        dash=fmt_dash,
    )
    return env


_env = _environment()


def _load_columns(report: DrillReport) -> list[str]:
    if report.load is None:
        return []
    return sorted({key for metrics in report.load.by_name.values() for key in metrics})


def render_html(
    report: DrillReport,
    *,
    signature: str | None = None,
    key_id: str | None = None,
    ledger_seq: int | None = None,
) -> str:
    """The report as one self-contained, print-friendly HTML page (A4; no scripts, no external assets)."""
    targets = report.objectives.rto_s
    template = _env.get_template("report.html.j2")
    return template.render(
        r=report,
        schema=SCHEMA,
        date=fmt_utc(report.timeline.started),
        verdict=report.verdict.upper(),
        chart=Markup(timeline_chart_svg(report)),
        roles=role_rows(report.roles_before, report.roles_after),
        rto_rows=[(rto, targets.get(rto.capability)) for rto in report.findings.rto],
        load_columns=_load_columns(report),
        offset=lambda posix: _offset(report, posix),
        verify_command=VERIFY_COMMAND.format(id=report.id),
        signature=signature,
        key_id=key_id,
        ledger_seq=ledger_seq,
        generated=_generated_note(report),
    )


def _generated_note(report: DrillReport) -> str:
    return f"{SCHEMA} · ccdr {report.environment.ccdr_version}"


# -- PDF -------------------------------------------------------------------------------------


def render_pdf(html: str) -> bytes:
    """The HTML page printed to PDF (A4) by WeasyPrint."""
    import weasyprint  # slow to import: only when a PDF is wanted

    # WeasyPrint warns about every SVG presentation property it ignores in matplotlib's chart.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    pdf = weasyprint.HTML(string=html).write_pdf()
    assert pdf is not None  # no target given: WeasyPrint returns the bytes
    return pdf
