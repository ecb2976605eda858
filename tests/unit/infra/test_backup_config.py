"""pgBackRest's lab configuration: the repository at the witness reaches both database sites over
mutual TLS, each database site archives to the witness, and each admits only its counterpart."""

from __future__ import annotations

import configparser

import pytest
import yaml

from infra.lab.backup_config import config_path
from infra.lab.layout import LabLayout
from infra.lab.pki import backup_tls_name
from infra.lab.render import render_group
from infra.topology import load_topology
from tests.unit.infra.test_render import SECRETS


@pytest.fixture
def layout() -> LabLayout:
    return LabLayout(load_topology())


def _conf(layout: LabLayout, site: str) -> configparser.ConfigParser:
    rendered = {f.path: f for f in render_group(layout, site, SECRETS)}
    conf = rendered[config_path(layout.site(site))]
    assert conf.owner == "postgres" and conf.mode == 0o600
    parser = configparser.ConfigParser(strict=False, interpolation=None)  # tls-server-auth repeats
    parser.read_string(conf.content)
    return parser


def test_the_witness_keeps_the_repository_and_backs_up_both_database_sites(layout: LabLayout) -> None:
    topo = layout.topology
    conf = _conf(layout, topo.witness_site)
    stanza = conf[topo.backup.stanza]
    assert "repo1-path" in conf["global"] and "repo1-host" not in conf["global"]
    hosts = {stanza[f"pg{n}-host"] for n in (1, 2)}
    assert hosts == {backup_tls_name(topo, s) for s in topo.data_sites}
    assert {stanza[f"pg{n}-host-type"] for n in (1, 2)} == {"tls"}


def test_a_database_site_archives_to_the_witness_and_admits_only_it(layout: LabLayout) -> None:
    topo = layout.topology
    text = next(f.content for f in render_group(layout, "a", SECRETS) if f.path == config_path(layout.site("a")))
    admitted = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("tls-server-auth=")]
    assert admitted == [f"{backup_tls_name(topo, topo.witness_site)}={topo.backup.stanza}"]
    conf = _conf(layout, "a")
    assert conf["global"]["repo1-host"] == backup_tls_name(topo, topo.witness_site)
    assert conf["global"]["repo1-host-type"] == "tls"


def test_the_witness_admits_each_database_site_by_its_own_name(layout: LabLayout) -> None:
    """pgBackRest 2.45 keys tls-server-auth by certificate name: one line per site."""
    topo = layout.topology
    text = next(
        f.content
        for f in render_group(layout, topo.witness_site, SECRETS)
        if f.path == config_path(layout.site(topo.witness_site))
    )
    admitted = sorted(line for line in text.splitlines() if line.startswith("tls-server-auth="))
    assert admitted == sorted(
        f"tls-server-auth={backup_tls_name(topo, s)}={topo.backup.stanza}" for s in topo.data_sites
    )


def test_postgres_archives_every_segment_through_pgbackrest(layout: LabLayout) -> None:
    topo = layout.topology
    patroni = next(f for f in render_group(layout, "a", SECRETS) if f.path.name == "patroni.yml")
    params = yaml.safe_load(patroni.content)["postgresql"]["parameters"]
    assert params["archive_mode"] == "on"
    assert f"--stanza={topo.backup.stanza} archive-push %p" in params["archive_command"]
    assert str(config_path(layout.site("a"))) in params["archive_command"]
    assert params["archive_timeout"] == topo.backup.wal_switch_s
