"""The systemd adapter of the step-aside guard calls systemctl as it should (a stand-in systemctl
records its arguments; the real one needs a systemd the test machine may not run)."""

from __future__ import annotations

import stat
from pathlib import Path

from failover.processes import SystemdUnits


def _systemctl(tmp_path: Path, active: bool) -> tuple[Path, Path]:
    log = tmp_path / "calls"
    script = tmp_path / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\n[ "$1" = is-active ] && exit {0 if active else 3}\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def test_running_asks_is_active_and_start_stop_do_not_wait(tmp_path: Path) -> None:
    script, log = _systemctl(tmp_path, active=False)
    units = SystemdUnits(str(script))
    assert units.running("ccdr-kafka.service") is False
    units.stop("ccdr-kafka.service")
    units.start("ccdr-kafka.service")
    assert log.read_text().splitlines() == [
        "is-active --quiet ccdr-kafka.service",
        "stop --no-block ccdr-kafka.service",
        "start --no-block ccdr-kafka.service",
    ]
    (tmp_path / "up").mkdir()
    assert SystemdUnits(str(_systemctl(tmp_path / "up", active=True)[0])).running("ccdr-kafka.service") is True
