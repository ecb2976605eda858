"""The locustfile loads in locust (in a subprocess: locust monkey-patches with gevent), lists one User
per persona, defines exactly the shape CCDR_SHAPE names, and pulls in none of ccdr's asyncio code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
LOCUST = Path(sys.executable).parent / "locust"
PERSONAS = {"PortalUser", "EmailUser", "MonitoringUser", "ChatUser", "HotlineAgentUser", "DeskAgentUser"}
FORBIDDEN = ("core", "infra", "aiokafka", "psycopg", "psycopg_pool", "fastapi", "uvicorn", "kazoo", "asyncio")
PROBE = """
import json, sys
from locust.util.load_locustfile import load_locustfile
users, shapes = load_locustfile(sys.argv[1])
loaded = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"users": sorted(users), "shapes": [type(s).__name__ for s in shapes], "modules": loaded}))
"""


def run(args: list[str], shape: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CCDR_SHAPE": shape}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_locust_lists_one_user_per_persona() -> None:
    listed = run([str(LOCUST), "-f", str(LOCUSTFILE), "--list"])
    assert listed.returncode == 0, listed.stderr
    assert {line.strip() for line in listed.stdout.splitlines()} >= PERSONAS


OPTIONS = """
import json, sys
from locust.argument_parser import parse_options
from locust.util.load_locustfile import load_locustfile
load_locustfile(sys.argv[1])
o = parse_options(["-f", sys.argv[1], *sys.argv[2:]])
keys = ("ccdr_mix", "ccdr_secrets", "ccdr_rate", "smtp_host", "smtp_port", "slo_p99_ms", "slo_error_ratio")
print(json.dumps({k: getattr(o, k) for k in keys}))
"""


def options(args: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", OPTIONS, str(LOCUSTFILE), *args],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("CCDR_")}, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_custom_options_defaults_environment_and_command_line() -> None:
    assert options([], {}) == {
        "ccdr_mix": "portal=40,email=20,monitoring=20,chat=15,hotline=5",
        "ccdr_secrets": "/var/lib/ccdr-lab/secrets.json",
        "ccdr_rate": 1.0,
        "smtp_host": "127.0.0.1",
        "smtp_port": 10025,
        "slo_p99_ms": 1000.0,
        "slo_error_ratio": 0.01,
    }
    from_env = options([], {"CCDR_MIX": "portal=1", "CCDR_SMTP_PORT": "2525", "CCDR_SLO_P99_MS": "250"})
    assert (from_env["ccdr_mix"], from_env["smtp_port"], from_env["slo_p99_ms"]) == ("portal=1", 2525, 250.0)
    from_args = options(["--ccdr-mix", "chat=1", "--slo-error-ratio", "0.05"], {"CCDR_MIX": "portal=1"})
    assert (from_args["ccdr_mix"], from_args["slo_error_ratio"]) == ("chat=1", 0.05)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("", []),
        ("constant", ["ConstantLoad"]),
        ("step", ["StepLoad"]),
        ("spike", ["SpikeLoad"]),
        ("soak", ["SoakLoad"]),
    ],
)
def test_exactly_the_chosen_shape_and_no_asyncio_code(shape: str, expected: list[str]) -> None:
    probe = run([sys.executable, "-c", PROBE, str(LOCUSTFILE)], shape)
    assert probe.returncode == 0, probe.stderr
    loaded = json.loads(probe.stdout.strip().splitlines()[-1])
    assert set(loaded["users"]) == PERSONAS
    assert loaded["shapes"] == expected
    assert not set(FORBIDDEN) & set(loaded["modules"])


def test_an_unknown_shape_stops_locust() -> None:
    refused = run([str(LOCUST), "-f", str(LOCUSTFILE), "--list"], "ramp")
    assert refused.returncode != 0 and "CCDR_SHAPE='ramp'" in refused.stderr
