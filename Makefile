# The two commands in the README; both install what is missing first (infra/install/install.sh).
.PHONY: install demo test lint unit integration bench bench-lab bench-drills bench-replication bench-singletons down overload screenshots

install:
	bash infra/install/install.sh

# The lab, then a drill: the site that holds the PostgreSQL primary is lost under the canary and
# 80 requests/s of locust load, and its agents all sign in again at the other (60 sign-ins);
# prints the verdict and the HTML report's path. A FAIL verdict
# (exit 3) is a result the demo shows, not a broken demo; exit 1 (the drill could not run) is.
demo: install
	.venv/bin/ccdr lab up
	.venv/bin/ccdr drill run site-loss-primary --duration 45 --load 80 --relogin 60 --operator demo || [ $$? -eq 3 ]

test: install lint
	.venv/bin/pytest -q tests/unit
	.venv/bin/pytest -q tests/integration

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

unit: install
	.venv/bin/pytest -q tests/unit

# Capacity of the intake path against its ceilings (pgbench, raw Kafka producer), on the running lab;
# prints a table and writes bench-results/<UTC time>.json.
bench: install
	.venv/bin/ccdr bench

bench-lab: install
	.venv/bin/python -m loadtests.bench_lab

# Every scenario three times under 40 requests/s of locust load (hours: one drill takes 3-5 min).
# SCENARIOS="partition-a-b isolate-a" narrows it; every site loss also fires a re-login surge of
# RELOGIN sign-ins of the lost site's agents (RELOGIN=0: none).
RELOGIN ?= 60
bench-drills: install
	.venv/bin/python -m drills.bench $(SCENARIOS) --runs 3 --load 40 --relogin $(RELOGIN)

# What the witness's third Kafka replica costs: produce rate and one ack's latency, RF 2 vs RF 3, one run.
bench-replication: install
	.venv/bin/python -m loadtests.bench_replication --seconds 10 --rounds 2

down:
	.venv/bin/ccdr lab down

# The SLA clock's and the dispatcher's reads at 100,000 open tickets: before (full scans) and now (by index).
bench-singletons: install
	.venv/bin/python -m loadtests.bench_singletons --open 100000 --due 100

# Intake overload at 2x and 5x the measured capacity (CAPACITY requests/s, from `make bench`'s phase 3),
# open loop through the front door; each storm checks every accepted intake got its ticket.
CAPACITY ?= 260
overload: install
	.venv/bin/ccdr load storm --rate $$(( $(CAPACITY) * 2 )) --duration 15
	.venv/bin/ccdr load storm --rate $$(( $(CAPACITY) * 5 )) --duration 15

screenshots: install  ## the console's views as PNG files for docs/console.md (needs `ccdr lab up` and a ticket)
	.venv/bin/python -m infra.console_screenshots --out docs/console
