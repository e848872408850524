"""Databases shaped like TARSy's own, and TARSy Ops' commands run against them attached.

Each database is created for the test (or module) that asks for it, on the PostgreSQL server
``DATABASE_URL`` names, under a name of the test database's own (``test_<name>_att_<hex>``),
and dropped afterwards. Commands are real ``manage.py`` processes with
``TARSY_DB_MODE=attached``; nothing here points Django's own test connection at them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.tarsy_schema import Catalog, Release, SeedSummary, create_tarsy_schema, read_catalog
from tests.tarsy_schema import seed_tarsy_data as seed

REPO = Path(__file__).resolve().parents[2]
DATABASE = settings.DATABASES["default"]
ON_POSTGRESQL = DATABASE["ENGINE"] == "django.db.backends.postgresql"

requires_postgresql = pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="attached mode is TARSy's PostgreSQL database; runs when DATABASE_URL points at "
    "PostgreSQL",
)


def _server() -> str:
    user = DATABASE.get("USER") or "postgres"
    password = f":{DATABASE['PASSWORD']}" if DATABASE.get("PASSWORD") else ""
    host = DATABASE.get("HOST") or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{DATABASE.get('PORT') or 5432}"


@dataclass(frozen=True)
class AttachedDatabase:
    """A throwaway database standing for TARSy's, and how to run TARSy Ops against it."""

    name: str

    @property
    def url(self) -> str:
        return f"{_server()}/{self.name}"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def query(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(sql, list(params)).fetchall()

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("TARSY_CONFIG", None)
        env.update(
            TARSY_DB_MODE="attached",
            DATABASE_URL=self.url,
            SECRET_KEY="tests-only-not-secret",
            PYTHONUNBUFFERED="1",
            LOG_LEVEL="info",
            LOG_FORMAT="text",
        )
        env.update(extra)
        return env

    def manage(
        self, *args: str, timeout: float = 180, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``manage.py <args>`` attached to this database, run to its end."""
        return subprocess.run(
            [sys.executable, str(REPO / "manage.py"), *args],
            env=self.env(**env),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def build(self, release: Release, *, now: datetime | None = None) -> SeedSummary | None:
        """TARSy's tables of ``release`` in ``public``; seeded when ``now`` is given."""
        with self.connect() as conn:
            create_tarsy_schema(conn, release=release)
            return None if now is None else seed(conn, release=release, now=now)

    def catalog(self, schema: str = "public") -> Catalog:
        with self.connect() as conn:
            return read_catalog(conn, schema=schema)

    def relations(self, schema: str) -> set[tuple[str, str]]:
        """Every relation of ``schema`` (tables, indexes, sequences, views...) by kind."""
        rows = self.query(
            "SELECT c.relname, c.relkind::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s",
            [schema],
        )
        return set(rows)


@contextmanager
def attached_database() -> Iterator[AttachedDatabase]:
    """A new, empty database, dropped (connections and all) when the block ends."""
    base = str(DATABASE["NAME"])
    base = base if base.startswith("test_") else f"test_{base}"
    database = AttachedDatabase(f"{base[:40]}_att_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(f"{_server()}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database.name}"')
    try:
        yield database
    finally:
        with psycopg.connect(f"{_server()}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


@pytest.fixture
def empty_database() -> Iterator[AttachedDatabase]:
    if not ON_POSTGRESQL:
        pytest.skip("attached mode needs PostgreSQL")
    with attached_database() as database:
        yield database


def one_line(process: subprocess.CompletedProcess[str]) -> str:
    """The process's output, for an assertion message."""
    return f"exit {process.returncode}\nstdout:\n{process.stdout}\nstderr:\n{process.stderr}"
