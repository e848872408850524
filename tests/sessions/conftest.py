"""Fixtures of the session tests."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection


@pytest.fixture
def other_host(transactional_db) -> Iterator[psycopg.Connection]:
    """A second PostgreSQL connection to the test database (autocommit), as another cleanup
    host would hold; the test is skipped elsewhere (advisory locks are PostgreSQL's)."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite has one writer anyway")
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres",
        dbname=settings["NAME"],
        autocommit=True,
    )
    try:
        yield other
    finally:
        other.close()
