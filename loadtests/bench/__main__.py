"""`python -m loadtests.bench`: the same as `ccdr bench`."""

import typer

from loadtests.bench.cli import main

if __name__ == "__main__":
    typer.run(main)
