"""The ``default`` database, from ``DATABASE_URL`` (an SQLite file in ``var/`` when unset).

Kept apart from the rest of the settings because several rules meet here: how the URL is
read, what each backend needs to behave under a cleanup sidecar and an admin at once, and
which mode TARSy Ops runs in (``database_mode``, ``attach``):

- ``standalone`` (the default): TARSy Ops creates TARSy's tables itself, in an SQLite file or
  a PostgreSQL database of its own.
- ``attached``: ``DATABASE_URL`` is TARSy's own PostgreSQL database. TARSy's tables are TARSy's
  (``migrate`` leaves them alone, see ``sessions.routers``); TARSy Ops' own tables live in a
  schema of their own (``TARSY_OPS_SCHEMA``, default ``tarsy_ops``), first on the connection's
  search path, so TARSy's schema gains nothing and one statement can still join both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from environ import Env

STANDALONE = "standalone"
ATTACHED = "attached"
DEFAULT_OPS_SCHEMA = "tarsy_ops"
# A plain, unquoted PostgreSQL identifier: what search_path and CREATE SCHEMA take as written.
_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_RESERVED_SCHEMAS = ("public", "information_schema")


@dataclass(frozen=True)
class DatabaseMode:
    name: str  # STANDALONE or ATTACHED
    ops_schema: str  # where TARSy Ops' own tables live in attached mode

    @property
    def attached(self) -> bool:
        return self.name == ATTACHED


def database_mode(environ: Mapping[str, str]) -> DatabaseMode:
    """``TARSY_DB_MODE`` and ``TARSY_OPS_SCHEMA``, checked; a bad value is one clear line."""
    name = environ.get("TARSY_DB_MODE", "").strip().lower() or STANDALONE
    if name not in (STANDALONE, ATTACHED):
        raise ImproperlyConfigured(
            f"TARSY_DB_MODE: unknown mode {environ['TARSY_DB_MODE']!r} "
            f"(use {STANDALONE} or {ATTACHED})"
        )
    schema = environ.get("TARSY_OPS_SCHEMA", "").strip() or DEFAULT_OPS_SCHEMA
    if (
        not _PLAIN_IDENTIFIER.fullmatch(schema)
        or schema in _RESERVED_SCHEMAS
        or schema.startswith("pg_")
    ):
        raise ImproperlyConfigured(
            f"TARSY_OPS_SCHEMA: {schema!r} is not a schema TARSy Ops can own (a lower-case "
            "name of letters, digits and _, at most 63 characters, not public or pg_*)"
        )
    return DatabaseMode(name, schema)


def attach(database: dict[str, Any], mode: DatabaseMode) -> dict[str, Any]:
    """``database`` as ``mode`` needs it: in attached mode, TARSy's PostgreSQL database with
    TARSy Ops' schema first on the search path (Django creates its tables in the first one)."""
    if not mode.attached:
        return database
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"TARSY_DB_MODE={ATTACHED} needs DATABASE_URL to be TARSy's PostgreSQL database, "
            f"not {database['ENGINE'].rsplit('.', 1)[-1]}"
        )
    options = database.setdefault("OPTIONS", {})
    search_path = f"-c search_path={mode.ops_schema},public"
    options["options"] = f"{options.get('options', '')} {search_path}".strip()
    return database


def database_settings(environ: Mapping[str, str], *, default_sqlite: Path) -> dict[str, Any]:
    """``DATABASES["default"]`` for this environment."""
    url = environ.get("DATABASE_URL", "") or f"sqlite:///{default_sqlite}"
    database = Env.db_url_config(url)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        _sqlite_options(database)
    return database


def _sqlite_options(database: dict[str, Any]) -> None:
    name = str(database["NAME"])
    if name != ":memory:":
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the admin read while the cleanup sidecar writes.
    options = database.setdefault("OPTIONS", {})
    options.setdefault("init_command", "PRAGMA journal_mode=WAL;")
    options.setdefault("timeout", 20)
