"""What a drill records and what the checker concludes. Pure data: no I/O.

Times are POSIX seconds (float, UTC) taken from one clock, the drill runner's host, so every
duration in a report is a difference of two readings of the same clock.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    """Every drill record: immutable, and unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Outcome(StrEnum):
    OK = "ok"  # acknowledged (HTTP 202) within the client deadline
    FAIL = "fail"  # definitely refused (an HTTP error, connection refused) until the deadline
    UNKNOWN = "unknown"  # the last attempt timed out: it may or may not have been recorded


class Attempt(Frozen):
    """One HTTP request of a canary operation (retries reuse the Idempotency-Key)."""

    sent: float
    done: float
    ok: bool
    status: int | None = None  # HTTP status; None: no response (timeout, connection error)
    error: str | None = None  # short reason when not ok


class CanaryOp(Frozen):
    """One canary intake: invoked on the open-loop schedule, retried until the client deadline."""

    seq: int = Field(ge=0)
    key: str  # the Idempotency-Key, unique per operation; also written into the subject
    invoked: float  # the scheduled send time (open loop: not delayed by slow responses)
    outcome: Outcome
    ticket_code: str | None = None  # from the acknowledgement
    acked: float | None = None  # when the acknowledgement arrived
    attempts: tuple[Attempt, ...] = ()

    @property
    def latency_s(self) -> float | None:
        return None if self.acked is None else self.acked - self.invoked


class Sample(Frozen):
    """One probe of a capability (agent login, database primary, SLA-clock leadership, ...)."""

    capability: str
    at: float
    ok: bool
    latency_s: float | None = None
    detail: str | None = None  # e.g. the SLA-clock leader's site, or an error


class Timeline(Frozen):
    """The drill's marks, from the Chaos Toolkit journal and the runner."""

    started: float  # canary and probes running
    fault_at: float  # the fault action began
    restore_at: float | None = None  # the rollback (restore/heal) began; None: it never ran
    converged_at: float | None = None  # the lab was whole again
    ended: float  # canary and probes stopped


class TicketSeen(Frozen):
    """A ticket the checker found in PostgreSQL for a canary key (matched by the subject)."""

    code: str
    created: float


class Observed(Frozen):
    """What the checker read after recovery, keyed by canary key."""

    tickets: dict[str, tuple[TicketSeen, ...]] = Field(default_factory=dict)
    in_kafka: frozenset[str] = frozenset()  # canary keys whose intake event is in the topic
    # canary key -> (partition, offset) of its intake event in the topic ({} in drills before it existed)
    kafka_positions: dict[str, tuple[int, int]] = Field(default_factory=dict)
    # A data drill's evidence: what its restore or repair action reported (restore-database,
    # bad-deployment), and the canary tickets whose intake columns differ from what the canary sent.
    data_action: dict[str, object] | None = None
    damaged: tuple[str, ...] = ()


# -- findings --------------------------------------------------------------------------------


class Rpo(Frozen):
    acknowledged: int  # canary intakes acknowledged
    lost: int  # acknowledged, but no ticket
    lost_keys: tuple[str, ...] = ()  # the first few, for the report
    lost_span_s: float = 0.0  # from the first to the last lost acknowledgement
    lost_not_in_kafka: int = 0  # of the lost, how many are missing from the topic too
    duplicates: int = 0  # intakes with more than one ticket
    duplicate_keys: tuple[str, ...] = ()
    unknown: int = 0  # outcomes the client could not know
    unknown_present: int = 0  # ... that turned out recorded (a ticket exists)
    unknown_absent: int = 0  # ... that did not


class Rto(Frozen):
    """Recovery of one capability, measured from the fault injection."""

    capability: str
    disrupted: bool  # at least one failure while the fault lasted
    seconds: float | None  # fault -> first of K consecutive successes; None: not recovered
    recovered_at: float | None = None
    failures: int = 0  # failed samples while the fault lasted
    samples: int = 0
    recovered_during_fault: bool = True  # False: it came back only after the restore
    # What a client lived through (intake and ticket creation): from the fault to the end of the
    # last operation that needed a retry or was slower than its bound; None: not measured this way.
    full_recovery_s: float | None = None
    slow_or_retried: int = 0  # those operations


class Latency(Frozen):
    phase: str  # before | during | after
    count: int
    p50_s: float | None = None
    p99_s: float | None = None
    max_s: float | None = None


class Availability(Frozen):
    invoked: int
    acknowledged: int  # within the client deadline
    ratio: float  # acknowledged / invoked (1.0 when nothing was invoked)
    longest_gap_s: float  # longest time with no successful attempt, while the drill ran
    longest_gap_from: float | None = None
    longest_gap_to: float | None = None


class TicketSlo(Frozen):
    """Acknowledged canary intakes whose pipeline ran outside the fault window (before the fault,
    after the lab converged) and how many had their ticket committed within `slo_s` of the
    acknowledgement; one without a ticket counts as late. One acknowledged before the fault whose
    ticket was not committed before it, with its objective not yet run out, is not judged here
    (`in_flight_at_fault`): ticket creation's RTO judges it, and the RPO check whether it was lost.
    One invoked before the fault but acknowledged after it belongs to the fault as well."""

    slo_s: float
    judged: int
    within: int
    p99_s: float | None = None
    in_flight_at_fault: int = 0

    @property
    def share(self) -> float:
        return self.within / self.judged if self.judged else 1.0


class DataRecovery(Frozen):
    """A data disaster's drill (restore-database, bad-deployment): the copy rebuilt from the backup
    repository, checked against the canary's acknowledged intakes."""

    kind: str  # restore | repair
    at: float  # restore: the database was lost; repair: the bad release was deployed
    restore_s: float  # repository -> a promoted copy (archive check, restore, WAL replay)
    # restore: the canary intakes acknowledged before `at` whose ticket the cluster holds, and of them
    acknowledged: int = 0
    in_copy: int = 0  # ... those the copy holds
    replayable: int = 0  # ... those it lacks, still in the intake topic at or past the copy's replay point
    lost: int = 0  # ... those it lacks and no replay brings back: lost for good
    copy_lag_s: float | None = None  # `at` minus the copy's newest ticket
    # repair: the tickets the release damaged, those the repair put back, those still damaged after it
    touched: int = 0
    repaired: int = 0
    still_damaged: int = 0
    repair_s: float | None = None  # the whole repair, its restore included


class SignInRecord(Frozen):
    """One sign-in of a re-login surge: one attempt, as a person pressing "sign in" makes."""

    agent: str
    sent: float
    latency_s: float | None = None  # None: no answer within the deadline
    status: int | None = None
    site: str | None = None  # the site that signed the agent in
    attempts: int = 1  # presses of "sign in" until in, or until the deadline


class Relogin(Frozen):
    """The re-login surge fired by a site loss: every agent of the lost site signs in at the other."""

    sent: int
    signed_in: int
    refused: int  # answered, but not 200
    no_answer: int
    fired_after_s: float  # the first sign-in, after the fault
    p50_s: float | None = None
    p99_s: float | None = None
    max_s: float | None = None
    everyone_in_s: float | None = None  # from the fault to the last agent in; None: someone never got in
    sites: tuple[str, ...] = ()
    pressed_again: int = 0  # sign-ins that needed more than one press


class Findings(Frozen):
    rpo: Rpo
    rto: tuple[Rto, ...]
    availability: Availability
    latency: tuple[Latency, ...]
    # acknowledgement -> ticket committed, of acknowledged canary intakes with a ticket, by the
    # phase their intake was invoked in (as `latency`); () in reports written before it existed
    ticket_delay: tuple[Latency, ...] = ()
    ticket_slo: TicketSlo | None = None
    data: DataRecovery | None = None  # data drills only
    relogin: Relogin | None = None  # drills run with a re-login surge only
