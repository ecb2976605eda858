"""`ccdr serve intake|tickets|ticket-worker|failover|notifier --config FILE`: run one service of a site
(supervisord keeps it): the two HTTP services under uvicorn, the failover agent and the notifier
as asyncio loops. The composition root: the only place where core's services meet the adapters
of the failover layer (ZooKeeper presence for the ticket API)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from core.console.panels import Panel
from core.http.observability import configure_logging
from core.settings import ServiceSettings, load_guard_settings, load_settings
from failover.coordination import Coordination

# Longer than HAProxy keeps idle server connections for reuse: with uvicorn's default (5 s, the
# same as HAProxy's pool-purge-delay) HAProxy sometimes sends a request on a connection uvicorn
# is closing, and answers its client by closing the connection without a response (seen in CI on
# a PUT). The server must never be the side that closes an idle keep-alive connection first.
KEEP_ALIVE_S = 75

app = typer.Typer(help="Run a ccdr service (the lab's supervisord does this at every data site).")


class Service(StrEnum):
    INTAKE = "intake"
    TICKETS = "tickets"
    FAILOVER = "failover"
    NOTIFIER = "notifier"
    TICKET_WORKER = "ticket-worker"
    STEP_ASIDE = "step-aside"  # the step-aside guard of a host without a failover agent (GuardSettings)


def _tickets_app(settings: ServiceSettings) -> FastAPI:
    """The ticket API with agent presence kept in ZooKeeper (ephemeral: it goes with a dead site)."""
    from core.tickets.app import create_app as create_tickets
    from failover.presence import PresenceBoard, kept
    from failover.zookeeper import site_coordination

    fo = settings.failover
    coord = site_coordination(settings)
    board = PresenceBoard(coord)
    return create_tickets(
        settings,
        board,
        lambda: kept(board, lambda: coord.start(fo.session_timeout_s), coord.stop, fo.heartbeat_s),
        panels=_console_panels(settings, coord),
    )


def _console_panels(settings: ServiceSettings, coord: Coordination) -> list[Panel]:
    """The console's pages of the outer layers: SRE status (from the failover layer's records in
    ZooKeeper, the pipeline's figures, the drill ledger) and the auditor's drill reports."""
    from ccdr.panels.audit import AuditPanel
    from ccdr.panels.status import StatusPanel, StatusSources
    from drills.archive import Archive

    archive_dir = settings.console.drill_archive_dir
    worker = settings.ticket_worker_listen
    sources = StatusSources(
        coord=coord,
        patroni_url=settings.patroni_url,
        patroni_ca=settings.patroni_ca,
        kafka_bootstrap=settings.kafka.bootstrap,
        kafka_auth=settings.kafka.auth,
        zookeeper_hosts=settings.zookeeper_hosts,
        zookeeper_tls=settings.zookeeper_tls,
        data_sites=settings.console.data_sites,
        cold={name: c.active_site for name, c in settings.failover.cold.items()},
        dsn=settings.database_dsn.get_secret_value(),
        worker_metrics_url=f"http://{worker.host}:{worker.http_port}/metrics",
        slo_s=settings.tickets.slo_s,
        slo_share=settings.tickets.slo_share,
        archive=Archive(Path(archive_dir)) if archive_dir else None,
    )
    panels: list[Panel] = [StatusPanel(sources)]
    if archive_dir:
        key = settings.console.drill_public_key
        panels.append(AuditPanel(Path(archive_dir), Path(key) if key else None))
    return panels


@app.command()
def serve(
    service: Annotated[Service, typer.Argument(help="which service")],
    config: Annotated[Path, typer.Option("--config", help="settings JSON rendered by `ccdr lab up`")],
) -> None:
    """Run SERVICE with the settings in CONFIG until stopped."""
    if service is Service.STEP_ASIDE:
        from failover.guard import run as run_guard

        guard = load_guard_settings(config)
        configure_logging(service.value, guard.site)
        asyncio.run(run_guard(guard))
        return
    settings = load_settings(config)
    configure_logging(service.value, settings.site)
    if service is Service.FAILOVER:
        from failover.agent import run as run_failover

        asyncio.run(run_failover(settings))
        return
    if service is Service.TICKET_WORKER:
        from core.tickets.worker import run as run_ticket_worker

        asyncio.run(run_ticket_worker(settings))
        return
    if service is Service.NOTIFIER:
        from core.notify.service import run as run_notifier

        asyncio.run(run_notifier(settings))
        return
    grace_s: int | None = None  # the ticket API lets its requests finish (uvicorn's default)
    if service is Service.INTAKE:
        from core.intake.app import create_app as create_intake

        web, listen = create_intake(settings), settings.intake_listen
        grace_s = settings.intake.shutdown_grace_s
    else:
        web, listen = _tickets_app(settings), settings.tickets_listen
    server = _Server(
        getattr(web.state, "begin_stopping", None),
        uvicorn.Config(
            web,
            host=listen.host,
            port=listen.http_port,
            log_config=None,
            access_log=False,
            # X-Forwarded-For only from the front door; anyone else's is ignored.
            proxy_headers=bool(listen.trusted_proxies),
            forwarded_allow_ips=",".join(listen.trusted_proxies) or None,
            timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=grace_s,
            ssl_certfile=listen.tls_cert if listen.https else None,
            ssl_keyfile=listen.tls_key if listen.https else None,
        ),
    )
    server.run()


class _Server(uvicorn.Server):
    """uvicorn, which tells the app first when it is told to stop (intake answers the requests
    still waiting on Kafka 503 at once: a client retries at the other site, not after its timeout)."""

    def __init__(self, on_stop: Callable[[], None] | None, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._on_stop = on_stop

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._on_stop is not None:
            self._on_stop()
        super().handle_exit(sig, frame)
