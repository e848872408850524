"""Shared fixtures. Tests run against the database named by DATABASE_URL (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def subprocess_env(transactional_db) -> dict[str, str]:
    """Environment for a ``python manage.py ...`` subprocess that sees the test database."""
    settings = connection.settings_dict
    env = dict(os.environ)
    env.pop("TARSY_CONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    env["SECRET_KEY"] = "tests-only-not-secret"
    if connection.vendor == "postgresql":
        user = settings.get("USER") or "postgres"
        host = settings.get("HOST") or "127.0.0.1"
        port = settings.get("PORT") or 5432
        env["DATABASE_URL"] = f"postgres://{user}@{host}:{port}/{settings['NAME']}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{settings['NAME']}"
    return env


@pytest.fixture
def manage_py() -> list[str]:
    """The argv prefix that runs this checkout's manage.py with this interpreter."""
    return [sys.executable, str(REPO / "manage.py")]
