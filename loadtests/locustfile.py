"""ccdr intake under load: one locust User per persona, talking HTTP and SMTP to the front door.

Personas and what they send (request names are the channels):

- `PortalUser`: the web portal and the mobile app (`portal`, `mobile`), with an Idempotency-Key.
- `EmailUser`: customers' mail over real SMTP (`email`, type SMTP); one in ten answers its own
  earlier thread (`Re: [INC-…]`, In-Reply-To), so replies append to tickets.
- `MonitoringUser`: Alertmanager and Grafana webhooks with the bearer token (`alertmanager`,
  `grafana`), resolved notifications of earlier firings, and now and then an alert storm:
  one Alertmanager notification of many alerts sharing fingerprints (`alertmanager-storm`, kept
  apart because one storm costs a dozen Kafka events and would otherwise own the channel's p99).
- `ChatUser`: Slack, Teams and Zalo webhooks, signed as each platform signs (`slack`, `teams`,
  `zalo`); some messages name a ticket code from an earlier answer and so append to it.
- `HotlineAgentUser`: the form a desk agent files for a call or a visit (`hotline`, `walk_in`),
  with the PBX's call id and an Idempotency-Key, under the agent's session (`agent-login`).
- `DeskAgentUser` (not in the default mix): an engineer working the queue through the ticket API
  (`agent: queue`, `agent: ticket`, `agent: worklog`, `agent: transition`).

Default mix (user weights; every user runs at the same `--ccdr-rate`, so it is also the share of
requests): `portal=40,email=20,monitoring=20,chat=15,hotline=5`. In an IT service desk for
networks, data centres and cameras, monitoring and the self-service portal carry intake around
the clock (monitoring also in bursts); enterprise customers still write mail; chat (Zalo above
all in Vietnam, Teams for corporate staff) is growing; the hotline is limited by the people at
the desk, each typing one call at a time. Override with `CCDR_MIX` or `--ccdr-mix`.

Success is 202 (Slack and Teams: 200); anything else is a failure named "HTTP <status> <problem
title>". Webhook personas send what the real platforms send: no Idempotency-Key, since their
natural keys (event_id, activity id, msg_id, fingerprint@startsAt) carry the deduplication and a
resolved alert finds its firing only through them.

Locust runs on gevent: this file imports only locust and the standard-library modules of
`loadtests` (never `core`, aiokafka, psycopg or fastapi). The load shape is chosen by `CCDR_SHAPE`
(constant|step|spike|soak, see `loadtests/shapes.py`; unset: locust's -u/-r/-t) when this file is
imported, because locust runs the one shape class it finds here.

    CCDR_SHAPE=step .venv/bin/locust -f loadtests/locustfile.py --headless \\
        --csv out/step --csv-full-history
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import smtplib
import ssl
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol, cast

from locust import FastHttpUser, LoadTestShape, User, constant_throughput, events, task
from locust.argument_parser import LocustArgumentParser
from locust.contrib.fasthttp import ResponseContextManager
from locust.env import Environment

from loadtests import payloads, shapes, signing, slo

log = logging.getLogger(__name__)
FRONT_DOOR = "https://127.0.0.1:18080"
TICKETS_FRONT_DOOR = "https://127.0.0.1:18081"
TICKET_CODE = re.compile(r"\bINC-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
REMEMBERED = 50  # ticket codes and firings kept per user for replies and resolutions
_user_numbers = itertools.count(1)


@dataclass(frozen=True)
class RunConfig:
    """What every user of this process shares, fixed at `init`."""

    run_id: str
    seed: int
    secrets: signing.LabSecrets | None  # None when no persona that needs them runs
    smtp_host: str
    smtp_port: int
    tickets_url: str  # where desk agents sign in
    ca_file: Path | None  # what HTTPS and STARTTLS peers are verified against (None: the system's CAs)
    storm_share: float
    storm_alerts: int
    storm_distinct: int


_config: RunConfig | None = None


def config() -> RunConfig:
    if _config is None:
        raise RuntimeError("the locustfile's init listener has not run")
    return _config


def lab_secrets() -> signing.LabSecrets:
    secrets = config().secrets
    if secrets is None:
        raise RuntimeError("no lab secrets loaded (--ccdr-secrets)")
    return secrets


slo.register(events)


@events.init_command_line_parser.add_listener
def _options(parser: LocustArgumentParser, **_: Any) -> None:
    group = parser.add_argument_group("ccdr")
    group.add_argument("--ccdr-mix", default=shapes.DEFAULT_MIX, env_var="CCDR_MIX", help="persona weights")
    group.add_argument(
        "--ccdr-secrets",
        default=str(signing.DEFAULT_SECRETS_PATH),
        env_var="CCDR_SECRETS",
        help="the lab's secrets.json (alert token, Slack/Teams/Zalo secrets)",
    )
    group.add_argument("--ccdr-rate", type=float, default=1.0, env_var="CCDR_RATE", help="requests/s per user")
    group.add_argument("--ccdr-seed", type=int, default=2025, env_var="CCDR_SEED", help="payload random seed")
    group.add_argument("--ccdr-run-id", default="", env_var="CCDR_RUN_ID", help="marker prefix (default random)")
    group.add_argument(
        "--ccdr-tickets-url", default=TICKETS_FRONT_DOOR, env_var="CCDR_TICKETS_URL", help="where agents sign in"
    )
    group.add_argument(
        "--ccdr-ca-file",
        default=str(signing.DEFAULT_CA_PATH),
        env_var="CCDR_CA_FILE",
        help="CA the front door's HTTPS and the sites' STARTTLS are verified against (system CAs if absent)",
    )
    group.add_argument("--smtp-host", default="127.0.0.1", env_var="CCDR_SMTP_HOST", help="SMTP front door")
    group.add_argument("--smtp-port", type=int, default=10025, env_var="CCDR_SMTP_PORT", help="SMTP port")
    group.add_argument(
        "--storm-share", type=float, default=0.02, env_var="CCDR_STORM_SHARE", help="monitoring requests that storm"
    )
    group.add_argument("--storm-alerts", type=int, default=60, env_var="CCDR_STORM_ALERTS", help="alerts per storm")
    group.add_argument(
        "--storm-distinct", type=int, default=12, env_var="CCDR_STORM_DISTINCT", help="distinct alerts per storm"
    )


@events.init.add_listener
def _configure(environment: Environment, **_: Any) -> None:
    """Weights and pacing from the options, secrets from their file; refuse to start on a bad value."""
    global _config
    options = environment.parsed_options
    if options is None:
        raise RuntimeError("run this locustfile with the locust command line")
    mix = shapes.parse_mix(options.ccdr_mix)
    rate = float(options.ccdr_rate)
    if rate <= 0:
        raise ValueError("--ccdr-rate must be positive")
    for persona, user_class in PERSONAS.items():
        user_class.weight = mix[persona]
        user_class.wait_time = constant_throughput(rate)
    environment.user_classes[:] = [u for u in environment.user_classes if u.weight > 0]
    if not environment.user_classes:
        raise ValueError(f"the mix {options.ccdr_mix!r} leaves none of the selected user classes to run")
    if not 0 <= options.storm_share <= 1 or not 1 <= options.storm_distinct <= options.storm_alerts:
        raise ValueError("storms need 0 <= --storm-share <= 1 and 1 <= --storm-distinct <= --storm-alerts")
    needs_secrets = any(mix[p] for p in ("monitoring", "chat", "hotline", "agent"))
    ca_file = Path(options.ccdr_ca_file)
    ca = ca_file if ca_file.is_file() else None
    # Verified TLS (locust's fast client skips verification unless told otherwise).
    _IntakeUser.insecure = False
    _IntakeUser.ssl_context_factory = staticmethod(partial(verifying_context, ca))
    _config = RunConfig(
        run_id=options.ccdr_run_id or os.urandom(3).hex(),
        seed=int(options.ccdr_seed),
        secrets=signing.load_secrets(Path(options.ccdr_secrets)) if needs_secrets else None,
        smtp_host=options.smtp_host,
        smtp_port=int(options.smtp_port),
        tickets_url=str(options.ccdr_tickets_url),
        ca_file=ca,
        storm_share=float(options.storm_share),
        storm_alerts=int(options.storm_alerts),
        storm_distinct=int(options.storm_distinct),
    )
    payloads.PayloadFactory.seeded(_config.run_id, 0, _config.seed)  # refuses a run id that is not one search token
    log.info("ccdr load test: run %s, mix %s, %.2f req/s per user", _config.run_id, mix, rate)


def verifying_context(ca: Path | None, **_: Any) -> ssl.SSLContext:
    """A client context trusting `ca` (or the system's CAs), names checked."""
    return ssl.create_default_context(cafile=str(ca) if ca else None)


def _now() -> datetime:
    return datetime.now(UTC)


class _Unanswered(Protocol):
    """A response that never came: locust sets `error` on it, which its type hints do not declare."""

    error: BaseException


def _verdict(response: ResponseContextManager, ok: tuple[int, ...]) -> dict[str, Any] | None:
    """Mark the response; its JSON body when it is a success."""
    if response.status_code in ok:
        response.success()
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None
    if response.status_code == 0:
        response.failure(f"no response: {type(cast(_Unanswered, response).error).__name__}")
        return None
    try:
        problem = response.json()
        title = problem.get("title") if isinstance(problem, dict) else None
    except ValueError:
        title = None
    response.failure(f"HTTP {response.status_code} {title or '(no problem body)'}")
    return None


class _IntakeUser(FastHttpUser):
    abstract = True
    host = FRONT_DOOR

    def on_start(self) -> None:
        cfg = config()
        self.factory = payloads.PayloadFactory.seeded(cfg.run_id, next(_user_numbers), cfg.seed)

    def post(
        self, built: payloads.Built, headers: dict[str, str], ok: tuple[int, ...] = (202,), name: str | None = None
    ) -> dict[str, Any] | None:
        headers = {"Content-Type": "application/json", **headers}
        if built.idempotency_key:
            headers["Idempotency-Key"] = built.idempotency_key
        with self.client.post(
            f"/v1/intake/{built.channel}",
            data=cast(Any, built.data()),  # bytes: locust hints `str | dict`, but its client sends bytes as they are
            headers=headers,
            name=name or built.channel,
            catch_response=True,
        ) as response:
            return _verdict(response, ok)


class PortalUser(_IntakeUser):
    @task(3)
    def portal(self) -> None:
        self.post(self.factory.portal(_now(), "portal"), {})

    @task(1)
    def mobile(self) -> None:
        self.post(self.factory.portal(_now(), "mobile"), {})


class _SignedIn(_IntakeUser):
    """A desk agent with a session from the ticket API (any site: sessions are signed tokens)."""

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.agent_id = self.factory.rng.choice(payloads.DESK_AGENTS)  # one person at one desk
        self.auth: dict[str, str] = {}
        self.sign_in()

    def sign_in(self) -> None:
        with self.client.post(
            f"{config().tickets_url}/v1/agents/login",
            json={"agent_id": self.agent_id, "password": lab_secrets().agent_password},
            name="agent-login",
            catch_response=True,
        ) as response:
            body = _verdict(response, (200,))
        self.auth = {"Authorization": f"Bearer {body['token']}"} if body and "token" in body else {}


class HotlineAgentUser(_SignedIn):
    """Hotline and walk-in entries carry the desk agent's session (intake takes the agent from it)."""

    def enter(self, channel: str) -> None:
        if not self.auth:
            self.sign_in()
        self.post(self.factory.agent_entry(_now(), self.agent_id, channel), self.auth)

    @task(9)
    def hotline(self) -> None:
        self.enter("hotline")

    @task(1)
    def walk_in(self) -> None:
        self.enter("walk_in")


class MonitoringUser(_IntakeUser):
    def on_start(self) -> None:
        super().on_start()
        self.firing: deque[payloads.Built] = deque(maxlen=REMEMBERED)

    @task
    def notify(self) -> None:
        """One notification: a storm, a resolution of an earlier firing, or a new firing."""
        cfg, rng, now = config(), self.factory.rng, _now()
        headers = signing.bearer_headers(lab_secrets().alert_token)
        draw = rng.random()
        if draw < cfg.storm_share:
            storm = self.factory.alert_storm(now, cfg.storm_alerts, cfg.storm_distinct)
            self.post(storm, headers, name="alertmanager-storm")
        elif draw < cfg.storm_share + 0.15 and self.firing:
            self.post(self.factory.resolved(self.firing.popleft(), now), headers)
        else:
            built = self.factory.grafana(now) if rng.random() < 0.3 else self.factory.alertmanager(now)
            if self.post(built, headers) is not None:
                self.firing.append(built)


class ChatUser(_IntakeUser):
    def on_start(self) -> None:
        super().on_start()
        self.codes: dict[str, deque[str]] = {p: deque(maxlen=REMEMBERED) for p in ("slack", "teams", "zalo")}

    def _reply_to(self, platform: str) -> str | None:
        codes = self.codes[platform]
        return self.factory.rng.choice(codes) if codes and self.factory.rng.random() < 0.1 else None

    def _remember(self, platform: str, answer: dict[str, Any] | None) -> None:
        if answer is not None:
            self.codes[platform].extend(TICKET_CODE.findall(str(answer.get("text", ""))))
            self.codes[platform].extend(str(i["ticket_code"]) for i in answer.get("intakes", []) if "ticket_code" in i)

    @task(2)
    def slack(self) -> None:
        now = time.time()
        built = self.factory.slack(datetime.fromtimestamp(now, UTC), self._reply_to("slack"))
        body = built.data()
        self._remember("slack", self.post(built, signing.slack_headers(lab_secrets().slack_signing, body, now), (200,)))

    @task(3)
    def teams(self) -> None:
        built = self.factory.teams(_now(), self._reply_to("teams"))
        headers = signing.teams_headers(lab_secrets().teams_hmac, built.data())
        self._remember("teams", self.post(built, headers, (200,)))

    @task(4)
    def zalo(self) -> None:
        secrets = lab_secrets()
        built = self.factory.zalo(_now(), secrets.zalo_app_id, self._reply_to("zalo"))
        headers = signing.zalo_headers(
            secrets.zalo_app_id, secrets.zalo_oa_key, built.data(), str(built.body["timestamp"])
        )
        self._remember("zalo", self.post(built, headers))


class SmtpRefused(Exception):
    """The listener answered a transaction with something other than 250 (451: retry; 550: refused)."""


class EmailUser(User):
    """A customer's mail server delivering to the SMTP front door over one kept-open connection."""

    def on_start(self) -> None:
        cfg = config()
        self.factory = payloads.PayloadFactory.seeded(cfg.run_id, next(_user_numbers), cfg.seed)
        self.smtp: smtplib.SMTP | None = None
        self.threads: deque[tuple[payloads.Mail, str]] = deque(maxlen=REMEMBERED)

    def on_stop(self) -> None:
        self._close()

    @task
    def email(self) -> None:
        now = _now()
        if self.threads and self.factory.rng.random() < 0.1:
            original, code = self.factory.rng.choice(self.threads)
            mail = self.factory.email_reply(original, code, now)
        else:
            mail = self.factory.email(now)
        start = time.perf_counter()
        error: Exception | None = None
        try:
            ticket = self._deliver(mail)
            if ticket and not mail.subject.startswith("Re:"):
                self.threads.append((mail, ticket))
        except (smtplib.SMTPException, OSError, SmtpRefused) as exc:
            error = exc if isinstance(exc, SmtpRefused) else SmtpRefused(f"SMTP {type(exc).__name__}")
            self._close()  # the session's state is unknown: start the next mail on a fresh connection
        self.environment.events.request.fire(
            request_type="SMTP",
            name="email",
            response_time=(time.perf_counter() - start) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    def _deliver(self, mail: payloads.Mail) -> str | None:
        """MAIL, RCPT, DATA; the ticket code from `250 2.0.0 OK INC-…`."""
        smtp = self._connection()
        code, reply = smtp.mail(mail.sender)
        if code != 250:
            raise SmtpRefused(f"SMTP {code} at MAIL")
        for recipient in mail.recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise SmtpRefused(f"SMTP {code} at RCPT")
        try:
            code, reply = smtp.data(mail.raw())
        except smtplib.SMTPDataError as exc:
            raise SmtpRefused(f"SMTP {exc.smtp_code} {_first_words(exc.smtp_error)}") from None
        found = TICKET_CODE.search(reply.decode(errors="replace"))
        return found.group(0) if found else None

    def _connection(self) -> smtplib.SMTP:
        if self.smtp is None:
            cfg = config()
            self.smtp = smtplib.SMTP(
                cfg.smtp_host, cfg.smtp_port, local_hostname="mta.loadtest.example.com", timeout=30
            )
            self.smtp.ehlo()
            if self.smtp.has_extn("starttls"):  # as a relay does: encrypted whenever offered
                self.smtp.starttls(context=verifying_context(cfg.ca_file))
                self.smtp.ehlo()
        return self.smtp

    def _close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


def _first_words(error: bytes | str, words: int = 3) -> str:
    """The stable head of an SMTP reply (its tail names the mail, which would split the failure stats)."""
    text = error.decode(errors="replace") if isinstance(error, bytes) else error
    return " ".join(text.split()[:words])


class DeskAgentUser(_SignedIn):
    """An L1 engineer working the queue through the ticket API: reads the queue and tickets, logs
    work, moves tickets on (acknowledged, in progress). Not in the default mix: intake capacity
    figures stay comparable; add `agent=N` to measure agents' work beside intake."""

    def on_start(self) -> None:
        super().on_start()
        self.tickets: deque[tuple[str, str]] = deque(maxlen=REMEMBERED)  # (code, status) from the queue

    def _call(self, method: str, path: str, name: str, ok: tuple[int, ...], **kw: Any) -> dict[str, Any] | None:
        if not self.auth:
            self.sign_in()
        with self.client.request(
            method, f"{config().tickets_url}{path}", headers=self.auth, name=name, catch_response=True, **kw
        ) as response:
            if response.status_code == 401:  # revoked or expired: sign in again next time
                self.auth = {}
            return _verdict(response, ok)

    @task(5)
    def queue(self) -> None:
        page = self._call("GET", "/v1/tickets/queue?limit=20", "agent: queue", (200,))
        for item in (page or {}).get("items", []):
            self.tickets.append((str(item["code"]), str(item["status"])))

    @task(3)
    def read(self) -> None:
        if self.tickets:
            code, _ = self.factory.rng.choice(self.tickets)
            self._call("GET", f"/v1/tickets/{code}", "agent: ticket", (200,))

    @task(2)
    def log_work(self) -> None:
        if self.tickets:
            code, _ = self.factory.rng.choice(self.tickets)
            note = {"note": f"Đã kiểm tra từ xa ({self.factory.next_marker()})"}
            self._call("POST", f"/v1/tickets/{code}/worklog", "agent: worklog", (200, 201), json=note)

    @task(1)
    def move_on(self) -> None:
        """The next step of a ticket this agent saw: new → acknowledged → in progress. A 409 (the
        ticket moved since the queue was read: several users share the demo agents) is what a
        person sees and handles, not a failure; the ticket is then forgotten until the queue
        shows it again."""
        for i, (code, status) in enumerate(self.tickets):
            target = NEXT_STEP.get(status)
            if target is not None:
                path, body = f"/v1/tickets/{code}/transitions", {"to": target}
                moved = self._call("POST", path, "agent: transition", (200, 409), json=body)
                if moved is not None and moved.get("status") == target:
                    self.tickets[i] = (code, target)
                else:
                    del self.tickets[i]
                return


NEXT_STEP = {"new": "acknowledged", "acknowledged": "in_progress"}

PERSONAS: dict[str, type[User]] = {
    "portal": PortalUser,
    "email": EmailUser,
    "monitoring": MonitoringUser,
    "chat": ChatUser,
    "hotline": HotlineAgentUser,
    "agent": DeskAgentUser,
}


# Locust runs the one LoadTestShape it finds in this module, so define only the chosen one.
# Reading the environment at import time is deliberate here: the choice must exist before locust looks.
_shape = os.environ.get("CCDR_SHAPE", "").strip().lower()
shapes.shape_mixin(_shape)  # refuses an unknown name before locust starts
if _shape == "constant":

    class ConstantLoad(shapes.ConstantShape, LoadTestShape):
        """CCDR_SHAPE=constant."""

elif _shape == "step":

    class StepLoad(shapes.StepShape, LoadTestShape):
        """CCDR_SHAPE=step."""

elif _shape == "spike":

    class SpikeLoad(shapes.SpikeShape, LoadTestShape):
        """CCDR_SHAPE=spike."""

elif _shape == "soak":

    class SoakLoad(shapes.SoakShape, LoadTestShape):
        """CCDR_SHAPE=soak."""
