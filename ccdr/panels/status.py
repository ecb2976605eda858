"""The SRE status page: each data site as the failover layer sees it (its registry record: ZooKeeper
session, Kafka brokers it reaches, its PostgreSQL role; heartbeat age), who holds the SLA clock and
the dispatcher and under which epoch, who runs each cold component (the notifier), the ticket
pipeline (the SLO over the last minutes, this site's worker backlog, the quarantine) and the latest
drills. Each source is read on its own; one that does not answer is shown as such, never hidden."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from aiokafka.errors import KafkaError

from core.agents.domain.model import Role
from core.console.panels import Artifact
from core.settings import KafkaAuth, ZooKeeperTls
from core.tickets.store import quarantine
from core.tickets.store.pipeline_slo import SloWindow, slo_window
from drills.archive import Archive, ArchiveError
from failover import status as failover_status
from failover.coordination import Coordination, CoordinationUnavailable
from infra.lab import probes
from infra.lab.pki import zookeeper_context

HERE = Path(__file__).parent
CACHE_S = 5.0  # several viewers refreshing at once cost one read of each source
SOURCE_TIMEOUT_S = 3.0  # a source slower than this is shown as not answering
SLO_WINDOW_S = 600.0
LATEST_DRILLS = 5
LAG_EVENTS = "ccdr_tickets_consumer_lag_events"
LAG_SECONDS = "ccdr_tickets_consumer_lag_seconds"


@dataclass(frozen=True)
class StatusSources:
    coord: Coordination
    patroni_url: str  # this site's Patroni REST API (its /cluster lists every member)
    patroni_ca: str | None  # what its HTTPS certificate is checked against
    kafka_bootstrap: list[str]
    kafka_auth: KafkaAuth | None
    zookeeper_hosts: str  # host:port,host:port,...
    zookeeper_tls: ZooKeeperTls | None
    data_sites: list[str]
    cold: dict[str, str]  # cold component -> declared site
    dsn: str
    worker_metrics_url: str  # this site's ticket worker
    slo_s: float
    slo_share: float
    archive: Archive | None


@dataclass
class StatusView:
    checked_at: float
    failover: dict[str, Any] | None = None
    failover_error: str | None = None
    slo: SloWindow | None = None
    quarantined: int | None = None
    database_error: str | None = None
    worker_lag_events: float | None = None
    worker_lag_s: float | None = None
    drills: list[dict[str, Any]] = field(default_factory=list)
    slo_share: float = 0.99
    postgres: list[dict[str, Any]] | None = None  # Patroni's members: name, role, state, lag
    kafka: dict[str, Any] | None = None  # brokers, partitions, under-replicated
    zookeeper: dict[str, str | None] = field(default_factory=dict)  # host:port -> mode (None: down)

    @property
    def slo_met(self) -> bool | None:
        return None if self.slo is None else self.slo.share >= self.slo_share


async def collect(src: StatusSources) -> StatusView:
    view = StatusView(checked_at=time.time(), slo_share=src.slo_share)
    failover, database, worker, postgres, kafka, zookeeper = await asyncio.gather(
        _failover(src),
        _database(src),
        _worker(src.worker_metrics_url),
        _patroni(src.patroni_url, src.patroni_ca),
        _kafka(src.kafka_bootstrap, src.kafka_auth),
        asyncio.to_thread(_zookeeper, src.zookeeper_hosts, src.zookeeper_tls),
    )
    view.failover, view.failover_error = failover
    view.slo, view.quarantined, view.database_error = database
    view.worker_lag_events, view.worker_lag_s = worker
    view.postgres, view.kafka, view.zookeeper = postgres, kafka, zookeeper
    view.drills = await asyncio.to_thread(_latest_drills, src.archive)
    return view


async def _failover(src: StatusSources) -> tuple[dict[str, Any] | None, str | None]:
    try:
        found = await asyncio.wait_for(
            asyncio.to_thread(failover_status.collect, src.coord, src.data_sites, src.cold), SOURCE_TIMEOUT_S
        )
    except (CoordinationUnavailable, TimeoutError) as exc:
        return None, f"ZooKeeper did not answer: {exc or 'timed out'}"
    return found, None


async def _database(src: StatusSources) -> tuple[SloWindow | None, int | None, str | None]:
    try:
        async with await psycopg.AsyncConnection.connect(src.dsn, connect_timeout=int(SOURCE_TIMEOUT_S)) as conn:
            window = await slo_window(conn, window_s=SLO_WINDOW_S, slo_s=src.slo_s)
            return window, await quarantine.pending_count(conn), None
    except (psycopg.Error, TimeoutError) as exc:
        return None, None, f"PostgreSQL did not answer: {str(exc).splitlines()[0][:160]}"


async def _worker(url: str) -> tuple[float | None, float | None]:
    samples = await asyncio.to_thread(probes.scrape_metrics, url, SOURCE_TIMEOUT_S)
    if samples is None:
        return None, None
    return probes.metric_total(samples, LAG_EVENTS), probes.metric_total(samples, LAG_SECONDS)


async def _patroni(url: str, ca: str | None) -> list[dict[str, Any]] | None:
    members = await asyncio.to_thread(probes.patroni_members, url, ca)
    if members is None:
        return None
    return [{"name": m.name, "role": m.role, "state": m.state, "lag": m.lag_bytes} for m in members]


async def _kafka(bootstrap: list[str], auth: KafkaAuth | None) -> dict[str, Any] | None:
    """Brokers registered and partitions whose in-sync replicas are fewer than their replicas. KRaft
    does not tell clients which controller is active (`ccdr lab status` asks the quorum itself)."""
    try:
        meta = await asyncio.wait_for(probes.kafka_metadata_at(bootstrap, auth), SOURCE_TIMEOUT_S * 2)
    except (KafkaError, OSError, TimeoutError):
        return None
    return {"brokers": meta.brokers, "partitions": len(meta.partitions), "under_replicated": len(meta.under_replicated)}


def _zookeeper(hosts: str, tls: ZooKeeperTls | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    context = zookeeper_context(tls)
    for node in hosts.split(","):
        host, _, port = node.strip().rpartition(":")
        out[node.strip()] = probes.zookeeper_mode(host, int(port), context) if port.isdigit() else None
    return out


def _latest_drills(archive: Archive | None) -> list[dict[str, Any]]:
    if archive is None:
        return []
    try:
        entries, _ = archive.read_entries()
    except OSError:
        return []
    out = []
    for entry in reversed(entries[-LATEST_DRILLS:]):
        try:
            report = archive.load_report(entry.report_id)
        except (ArchiveError, ValueError):
            out.append({"id": entry.report_id, "title": "?", "verdict": None, "signed_at": entry.signed_at})
            continue
        out.append(
            {
                "id": entry.report_id,
                "title": report.scenario.title,
                "verdict": report.verdict,
                "signed_at": entry.signed_at,
            }
        )
    return out


LABELS: dict[str, dict[str, str]] = {
    "status": {"vi": "Trạng thái hệ thống", "en": "System status"},
    "status_sites": {"vi": "Các site dữ liệu", "en": "Data sites"},
    "status_site": {"vi": "Site", "en": "Site"},
    "status_registered": {"vi": "Đăng ký (nhịp tim)", "en": "Registered (heartbeat)"},
    "status_lost": {"vi": "MẤT: không có bản ghi", "en": "LOST: no record"},
    "status_stepped_aside": {"vi": "ĐÃ TẠM RÚT khỏi phục vụ", "en": "STEPPED ASIDE"},
    "status_postgres": {"vi": "PostgreSQL", "en": "PostgreSQL"},
    "status_kafka": {"vi": "Kafka (broker đến được)", "en": "Kafka (brokers reached)"},
    "status_zookeeper": {"vi": "ZooKeeper", "en": "ZooKeeper"},
    "status_leads": {"vi": "Giữ vai trò", "en": "Holds"},
    "status_cold": {"vi": "Thành phần dự phòng nguội", "en": "Cold components"},
    "status_roles": {"vi": "Vai trò đơn nhất", "en": "Singleton roles"},
    "status_role": {"vi": "Vai trò", "en": "Role"},
    "status_holder": {"vi": "Site giữ (kỳ)", "en": "Holder (epoch)"},
    "status_nobody": {"vi": "không ai", "en": "nobody"},
    "status_pipeline": {"vi": "Đường ống phiếu", "en": "Ticket pipeline"},
    "status_slo": {
        "vi": "SLO: {share} phiếu trong {slo} s sau khi nhận ({n} phiếu trong 10 phút; p99 {p99})",
        "en": "SLO: {share} of tickets within {slo} s of receipt ({n} tickets in 10 min; p99 {p99})",
    },
    "status_slo_met": {"vi": "đạt", "en": "met"},
    "status_slo_breached": {"vi": "VI PHẠM", "en": "BREACHED"},
    "status_backlog": {
        "vi": "Tồn đọng ở worker của site này: {events} sự kiện, {s} s",
        "en": "Backlog at this site's worker: {events} events, {s} s",
    },
    "status_quarantine": {"vi": "Cách ly: {n} sự kiện chờ xử lý", "en": "Quarantine: {n} events waiting"},
    "status_drills": {"vi": "Các lần diễn tập gần nhất", "en": "Latest drills"},
    "status_presence": {"vi": "Nhân viên đang có mặt: {n}", "en": "Agents present: {n}"},
    "status_unknown": {"vi": "không rõ", "en": "unknown"},
    "status_components": {"vi": "Thành phần", "en": "Components"},
    "status_pg_members": {"vi": "PostgreSQL (Patroni)", "en": "PostgreSQL (Patroni)"},
    "status_lag": {"vi": "độ trễ {lag} B", "en": "lag {lag} B"},
    "status_kafka_summary": {
        "vi": "Kafka: broker {brokers}; {urp} trên {n} phân vùng thiếu bản sao đồng bộ",
        "en": "Kafka: brokers {brokers}; {urp} of {n} partitions under-replicated",
    },
    "status_zk": {"vi": "ZooKeeper", "en": "ZooKeeper"},
    "status_no_answer": {"vi": "không trả lời", "en": "does not answer"},
}


class StatusPanel:
    name = "status"
    roles = frozenset({Role.SRE, Role.SUPERVISOR})
    templates = HERE / "templates"

    def __init__(self, sources: StatusSources) -> None:
        self.sources = sources
        self.labels = LABELS
        self._cached: StatusView | None = None
        self._lock = asyncio.Lock()

    async def view(self) -> dict[str, Any]:
        async with self._lock:
            if self._cached is None or time.time() - self._cached.checked_at > CACHE_S:
                self._cached = await collect(self.sources)
        return {"system": self._cached}

    async def artifact(self, item: str, file: str) -> Artifact | None:
        return None  # reports are handed out by the audit page


__all__ = ["StatusPanel", "StatusSources", "StatusView", "collect"]
