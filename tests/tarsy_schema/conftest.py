"""Fixtures for building TARSy's schema in throwaway schemas of the Django test database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.db import connection

from tests.tarsy_schema.db import quote_ident

requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="TARSy's schema is PostgreSQL DDL (identity, jsonb, tsvector, partial and gin "
    "indexes); runs when DATABASE_URL points at PostgreSQL",
)


@pytest.fixture
def pg(transactional_db) -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection of the test's own to Django's test database.

    ``transactional_db`` both makes pytest-django create the test database (it does only for
    tests that ask for a database) and keeps Django's connection out of a transaction that
    could hold locks on what this connection drops. A lock timeout turns any such wait into
    an error rather than a hang.
    """
    settings = connection.settings_dict
    if not str(settings["NAME"]).startswith("test_"):
        pytest.fail(
            f"refusing to build TARSy's schema in {settings['NAME']!r}: not a test database"
        )
    params = {
        "dbname": settings["NAME"],
        "user": settings.get("USER"),
        "password": settings.get("PASSWORD"),
        "host": settings.get("HOST"),
        "port": settings.get("PORT"),
    }
    with psycopg.connect(
        **{key: str(value) for key, value in params.items() if value}, autocommit=True
    ) as conn:
        conn.execute("SET lock_timeout = '20s'")
        yield conn


@pytest.fixture
def new_schema(pg: psycopg.Connection) -> Iterator[Callable[[], str]]:
    """Names for fresh schemas (``tarsy_fixture_<hex>``); each is dropped after the test."""
    names: list[str] = []

    def make() -> str:
        names.append(f"tarsy_fixture_{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield make
    for name in names:
        pg.execute(f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")
