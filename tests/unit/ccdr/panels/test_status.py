"""The SRE status page through the console, on an in-memory coordination service: a site without
a record is shown lost, role holders with their epochs, and a source that does not answer is named
rather than hidden."""

from __future__ import annotations

import time
from pathlib import Path

from ccdr.panels.status import StatusPanel, StatusSources
from failover.coordination import SLA_CLOCK
from tests.unit.core.console.test_console import EN, _desk, _sign_in
from tests.unit.failover.memory import Ensemble, MemoryCoordination

UNREACHABLE_DSN = "postgresql://ccdr@127.0.0.1:1/ccdr?connect_timeout=1"
UNREACHABLE_WORKER = "http://127.0.0.1:1/metrics"


def _panel(tmp_path: Path, site_a: dict[str, object] | None = None) -> StatusPanel:
    ensemble = Ensemble()
    site_b = MemoryCoordination(ensemble, "b")
    site_b.start(timeout=1)
    if site_a is not None:
        site_b.announce("sites", "a", site_a)
    site_b.announce(
        "sites",
        "b",
        {
            "heartbeat_at": time.time(),
            "patroni": "primary (running)",
            "kafka": {"10.0.0.2:9092": "reachable", "10.0.0.1:9092": "unreachable"},
            "zookeeper": {"session": "connected"},
            "cold_running": ["notifier"],
        },
    )
    assert site_b.try_acquire(SLA_CLOCK, "b") is not None
    sources = StatusSources(
        coord=site_b,
        patroni_url="https://127.0.0.1:1",
        patroni_ca=None,
        kafka_bootstrap=["127.0.0.1:1"],
        kafka_auth=None,
        zookeeper_hosts="127.0.0.1:1",
        zookeeper_tls=None,
        data_sites=["a", "b"],
        cold={"notifier": "a"},
        dsn=UNREACHABLE_DSN,
        worker_metrics_url=UNREACHABLE_WORKER,
        slo_s=10,
        slo_share=0.99,
        archive=None,
    )
    return StatusPanel(sources)


def test_the_status_page_shows_a_lost_site_the_survivor_and_its_roles(tmp_path: Path) -> None:
    desk = _desk(panels=[_panel(tmp_path)])
    _sign_in(desk, "sre.khoa", EN)
    page = desk.client.get("/console/status", headers=EN)
    assert page.status_code == 200, page.text
    assert '<tr id="site-a" data-registered="no">' in page.text and "LOST: no record" in page.text
    assert '<tr id="site-b" data-registered="yes">' in page.text and "primary (running)" in page.text
    assert '<tr id="role-sla-clock"><th scope="row">sla-clock</th><td>b (' in page.text
    assert 'id="role-dispatcher"' in page.text and "nobody" in page.text  # nobody holds the dispatcher


def test_a_site_that_stepped_aside_says_so_and_why(tmp_path: Path) -> None:
    why = "the other data site is alive and holds the primary, but we cannot reach it"
    record = {"heartbeat_at": time.time(), "patroni": "replica (running)"}
    record |= {"posture": "stepped aside", "posture_reason": why}
    desk = _desk(panels=[_panel(tmp_path, site_a=record)])
    _sign_in(desk, "sre.khoa", EN)
    page = desk.client.get("/console/status", headers=EN)
    assert page.status_code == 200, page.text
    assert 'data-posture="stepped-aside">⚠ STEPPED ASIDE' in page.text and why in page.text
    assert page.text.count('data-posture="stepped-aside"') == 1, "the serving site b is not marked"


def test_a_source_that_does_not_answer_is_named_not_hidden(tmp_path: Path) -> None:
    desk = _desk(panels=[_panel(tmp_path)])
    _sign_in(desk, "sre.khoa", EN)
    page = desk.client.get("/console/status/live", headers=EN)
    assert page.status_code == 200
    assert 'id="database-error"' in page.text and "PostgreSQL did not answer" in page.text
    assert "Backlog at this site&#39;s worker: unknown events" in page.text
    assert "PostgreSQL (Patroni):" in page.text and "Kafka: <span" in page.text
    assert "127.0.0.1:1 does not answer" in page.text  # ZooKeeper


def test_an_agent_may_not_see_the_status_page(tmp_path: Path) -> None:
    desk = _desk(panels=[_panel(tmp_path)])
    _sign_in(desk, "l1.an")
    assert desk.client.get("/console/status").status_code == 403
