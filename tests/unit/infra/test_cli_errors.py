"""CLI errors are one clear line on stderr and a non-zero exit, and change nothing."""

from __future__ import annotations

import os

import pytest

from ccdr import cli


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    monkeypatch.setattr("sys.argv", ["ccdr", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    return int(exit_.value.code or 0), capsys.readouterr().err


def test_not_root_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code, err = _run(monkeypatch, capsys, "lab", "kill-site", "a")
    assert code == 1
    assert err.strip() == "error: the lab needs root (network namespaces, nftables, the postgres user): run as root"


def test_unknown_site_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(monkeypatch, capsys, "lab", "freeze-site", "z")
    assert code == 1
    assert "unknown site 'z'; known: a, b, c" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_topology_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: os.PathLike[str]
) -> None:
    bad = os.path.join(tmp_path, "t.toml")
    with open(bad, "w") as f:
        f.write("[lab]\nbridge = 1\n")
    code, err = _run(monkeypatch, capsys, "lab", "status", "--topology", bad)
    assert code == 1
    assert "t.toml: lab.bridge: Input should be a valid string" in err


def test_partition_with_itself_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to reach the partition check")
    code, err = _run(monkeypatch, capsys, "lab", "partition", "a", "a")
    assert code == 1
    assert "cannot partition site a from itself" in err


def test_missing_binary_names_the_install_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.lab import system
    from infra.lab.errors import MissingBinary

    monkeypatch.setitem(system.REQUIRED_BINARIES, "no-such-binary-ccdr", "infra/install/install.sh (apt: nothing)")
    with pytest.raises(MissingBinary, match=r"no-such-binary-ccdr is missing: run `infra/install/install.sh"):
        system.require_binaries()


def test_taken_port_is_named() -> None:
    import socket

    from infra.lab.errors import PortTaken
    from infra.lab.system import require_port_free

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortTaken, match=rf"port 127.0.0.1:{port} \(front door: test\) is taken"):
            require_port_free("127.0.0.1", port, "front door: test")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("drill", "--bogus"), "No such option: --bogus"),
        (("lab", "kill-site"), "Missing argument 'site'"),
        (("drill", "run", "site-loss-a", "--duration", "1"), "Invalid value for '--duration'"),
    ],
)
def test_usage_errors_are_shown_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, err = _run(monkeypatch, capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_an_unknown_drill_scenario_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(monkeypatch, capsys, "drill", "run", "site-loss-z")
    assert code == 1
    assert err.startswith("error: unknown scenario 'site-loss-z'; known: ") and len(err.strip().splitlines()) == 1
