"""The lab as clients see it (shared with the core tests)."""

from tests.integration.core.conftest import front  # noqa: F401 - shared fixture
