"""`ccdr report desk --format html|pdf`: the desk's KPIs as a page for people, with charts (SVG
drawn by matplotlib, inline), and the same page as PDF (WeasyPrint)."""

from __future__ import annotations

import io
import logging
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

from core.tickets.domain.kpi import Compliance, DeskReport

COLOURS = {"response": "#2b6cb0", "resolution": "#2f855a", "backlog": "#c05621", "missed": "#c53030"}
_RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": "ccdr-desk",
    "svg.fonttype": "path",
    "font.size": 8,
    "font.family": "DejaVu Sans",
}


def _svg(fig: Figure) -> Markup:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return Markup(text[text.index("<svg") :])  # matplotlib escapes the labels it draws


def _pct(c: Compliance) -> float:
    return 0.0 if c.share is None else c.share * 100


def sla_chart(report: DeskReport) -> Markup:
    """Response and resolution SLA compliance per priority, as grouped bars."""
    with rc_context(_RC):
        fig = Figure(figsize=(6.4, 2.6), layout="constrained")
        ax = fig.subplots()
        xs = range(len(report.by_priority))
        width = 0.38
        resp = [_pct(p.response_sla) for p in report.by_priority]
        reso = [_pct(p.resolution_sla) for p in report.by_priority]
        ax.bar([x - width / 2 for x in xs], resp, width, label="response", color=COLOURS["response"])
        ax.bar([x + width / 2 for x in xs], reso, width, label="resolution", color=COLOURS["resolution"])
        ax.set_xticks(list(xs), [p.priority for p in report.by_priority])
        ax.set_ylim(0, 100)
        ax.set_ylabel("met, % of tickets judged")
        ax.legend(frameon=False, ncol=2, loc="lower right")
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig)


def bars_chart(values: dict[str, float], colour: str, ylabel: str, *, percent: bool = False) -> Markup:
    with rc_context(_RC):
        fig = Figure(figsize=(6.4, 2.2), layout="constrained")
        ax = fig.subplots()
        names = list(values) or ["-"]
        ax.bar(names, [values.get(n, 0) for n in names], color=colour)
        if percent:
            ax.set_ylim(0, 100)
        ax.set_ylabel(ylabel)
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ccdr", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )
    env.filters["minutes"] = _minutes
    env.filters["share"] = _share
    return env


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def _share(c: Compliance) -> str:
    return "-" if c.share is None else f"{c.share * 100:.1f} % ({c.met}/{c.judged})"


def html(report: DeskReport) -> str:
    charts: dict[str, Any] = {
        "sla": sla_chart(report),
        "backlog": bars_chart({k: float(v) for k, v in report.backlog.items()}, COLOURS["backlog"], "open tickets"),
        "regions": bars_chart(
            {k: _pct(c) for k, c in report.by_region.items()},
            COLOURS["resolution"],
            "resolution SLA met, %",
            percent=True,
        ),
    }
    return _environment().get_template("desk-report.html.j2").render(r=report, charts=charts)


def pdf(report: DeskReport, page: str | None = None) -> bytes:
    """The page as PDF; `page`: its HTML when the caller rendered it already (charts are the slow part)."""
    import weasyprint  # slow to import: only when a PDF is wanted

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    data: bytes = weasyprint.HTML(string=page if page is not None else html(report)).write_pdf()
    return data
