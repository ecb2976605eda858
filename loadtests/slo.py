"""The SLO gate: a locust run exits 1 when the whole run's p99 or error ratio breaks the objective.

`register(events)` is called by the locustfile at import time. It adds `--slo-p99-ms` (default
1000) and `--slo-error-ratio` (default 0.01), and an `init` listener that judges the totals when
locust quits and sets `environment.process_exit_code`: 1 on a breach, 0 when the SLO is met (so
failures within the error budget do not fail the run by locust's own rule), and leaves it alone
when the locustfile itself raised (locust then reports that). A run without a single request is a
breach: nothing was measured, so nothing is proven.

Locust is imported only inside `register`: `slo_verdict` is unit-tested in a process that must not
be monkey-patched by gevent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from locust.argument_parser import LocustArgumentParser
    from locust.env import Environment
    from locust.event import Events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SloLimits:
    p99_ms: float = 1000.0  # 202 means Kafka acknowledged with acks=all; a second is the intake's promise
    error_ratio: float = 0.01

    def __post_init__(self) -> None:
        if self.p99_ms <= 0 or not 0 <= self.error_ratio <= 1:
            raise ValueError("SLO limits need p99_ms > 0 and 0 <= error_ratio <= 1")


def slo_verdict(p99_ms: float, error_ratio: float, limits: SloLimits) -> tuple[bool, str]:
    """Pure. Met when p99 and the error ratio are each at most their limit; the reason names both."""
    breaches = []
    if p99_ms > limits.p99_ms:
        breaches.append(f"p99 {p99_ms:.0f} ms > {limits.p99_ms:.0f} ms")
    if error_ratio > limits.error_ratio:
        breaches.append(f"error ratio {error_ratio:.2%} > {limits.error_ratio:.2%}")
    if breaches:
        return False, "SLO breached: " + "; ".join(breaches)
    return True, (
        f"SLO met: p99 {p99_ms:.0f} ms <= {limits.p99_ms:.0f} ms, "
        f"error ratio {error_ratio:.2%} <= {limits.error_ratio:.2%}"
    )


def judge(environment: Environment, limits: SloLimits) -> tuple[bool, str]:
    """The verdict on the run's totals (all request names together)."""
    total = environment.stats.total
    if total.num_requests == 0:
        return False, "SLO breached: no requests were made, so nothing was measured"
    return slo_verdict(float(total.get_response_time_percentile(0.99) or 0), total.fail_ratio, limits)


def limits_of(environment: Environment) -> SloLimits:
    options = environment.parsed_options
    if options is None:  # a library run without the command line: the defaults
        return SloLimits()
    return SloLimits(p99_ms=float(options.slo_p99_ms), error_ratio=float(options.slo_error_ratio))


def register(events: Events) -> None:
    """Add the SLO options and the gate to locust's events (call once, from the locustfile)."""
    from locust.runners import WorkerRunner  # deferred: importing locust monkey-patches the process

    @events.init_command_line_parser.add_listener
    def _options(parser: LocustArgumentParser, **_: Any) -> None:
        parser.add_argument(
            "--slo-p99-ms",
            type=float,
            default=SloLimits.p99_ms,
            env_var="CCDR_SLO_P99_MS",
            help="fail the run (exit 1) when the total p99 exceeds this many ms",
        )
        parser.add_argument(
            "--slo-error-ratio",
            type=float,
            default=SloLimits.error_ratio,
            env_var="CCDR_SLO_ERROR_RATIO",
            help="fail the run (exit 1) when failures/requests exceeds this ratio",
        )

    @events.init.add_listener
    def _gate(environment: Environment, **_: Any) -> None:
        if isinstance(environment.runner, WorkerRunner):
            return  # the master holds the aggregated stats and decides
        limits = limits_of(environment)

        @environment.events.quitting.add_listener
        def _judge(environment: Environment, **_: Any) -> None:
            ok, reason = judge(environment, limits)
            runner = environment.runner
            if not ok:
                log.error(reason)
                environment.process_exit_code = 1
            else:
                log.info(reason)
                if runner is None or not runner.exceptions:
                    environment.process_exit_code = 0
