# The two commands in the README; both install what is missing first (infra/install/install.sh).
.PHONY: install demo test lint unit integration bench-lab down

install:
	bash infra/install/install.sh

demo: install
	.venv/bin/ccdr lab up

test: install lint
	.venv/bin/pytest -q tests/unit
	.venv/bin/pytest -q tests/integration

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

unit: install
	.venv/bin/pytest -q tests/unit

bench-lab: install
	.venv/bin/python -m loadtests.bench_lab

down:
	.venv/bin/ccdr lab down
