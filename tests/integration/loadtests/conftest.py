"""Fixtures shared with the core tests: the front door as a client sees it."""

from tests.integration.core.conftest import front  # noqa: F401 - shared fixture
