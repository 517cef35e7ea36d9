"""Fixtures and hooks of the numbers API suite."""

import pytest
from django.db import connection


def pytest_runtest_setup(item):
    # Some behaviour (several connections racing on one row) only means something on a
    # server database: SQLite's in-memory test database is not one.
    if item.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")
