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

from environ import Env

from tarsy_project.exits import ExitCode, SettingsError

# The schemes TARSy Ops runs on (django-environ knows more, for backends this code never uses).
SUPPORTED_SCHEMES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "psql": "django.db.backends.postgresql",
    "sqlite": "django.db.backends.sqlite3",
}
# How long an SQLite writer waits for another one's transaction before "database is locked".
SQLITE_BUSY_TIMEOUT_SECONDS = 20

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
        raise SettingsError(
            f"TARSY_DB_MODE: unknown mode {environ['TARSY_DB_MODE']!r} "
            f"(use {STANDALONE} or {ATTACHED})",
            exit_code=ExitCode.USAGE,
        )
    schema = environ.get("TARSY_OPS_SCHEMA", "").strip() or DEFAULT_OPS_SCHEMA
    if (
        not _PLAIN_IDENTIFIER.fullmatch(schema)
        or schema in _RESERVED_SCHEMAS
        or schema.startswith("pg_")
    ):
        raise SettingsError(
            f"TARSY_OPS_SCHEMA: {schema!r} is not a schema TARSy Ops can own (a lower-case "
            "name of letters, digits and _, at most 63 characters, not public or pg_*)",
            exit_code=ExitCode.USAGE,
        )
    return DatabaseMode(name, schema)


def attach(database: dict[str, Any], mode: DatabaseMode) -> dict[str, Any]:
    """``database`` as ``mode`` needs it: in attached mode, TARSy's PostgreSQL database with
    TARSy Ops' schema first on the search path (Django creates its tables in the first one)."""
    if not mode.attached:
        return database
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise SettingsError(
            f"TARSY_DB_MODE={ATTACHED} needs DATABASE_URL to be TARSy's PostgreSQL database, "
            f"not {database['ENGINE'].rsplit('.', 1)[-1]}",
            exit_code=ExitCode.USAGE,
        )
    options = database.setdefault("OPTIONS", {})
    search_path = f"-c search_path={mode.ops_schema},public"
    options["options"] = f"{options.get('options', '')} {search_path}".strip()
    return database


def database_settings(environ: Mapping[str, str], *, default_sqlite: Path) -> dict[str, Any]:
    """``DATABASES["default"]`` for this environment."""
    url = environ.get("DATABASE_URL", "") or f"sqlite:///{default_sqlite}"
    check_database_url(url)
    database = Env.db_url_config(url)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        _sqlite_options(database)
    elif database["ENGINE"] == "django.db.backends.postgresql":
        _postgresql_options(database)
    return database


def check_database_url(url: str) -> None:
    """Raise a one-line :class:`SettingsError` (exit 5) for a URL with a scheme TARSy Ops does
    not run on. The message shows the scheme only: the rest may hold a password."""
    scheme, found, _rest = url.partition("://")
    if found and scheme.lower() in SUPPORTED_SCHEMES:
        return
    said = f"an unrecognised scheme {scheme!r}" if found else "no scheme"
    raise SettingsError(
        f"DATABASE_URL has {said}: use postgres://USER:PASSWORD@HOST:PORT/NAME "
        "or sqlite:////absolute/path.sqlite3",
        exit_code=ExitCode.BAD_DATABASE_URL,
    )


def _sqlite_options(database: dict[str, Any]) -> None:
    """Several processes on one SQLite file (the sidecar, a second `run_cleanup --once`, an
    operator's `restore_session`, the admin) must wait for each other, never fail at once.

    WAL lets readers go on while one process writes. IMMEDIATE transactions take the write lock
    when they begin, where SQLite waits up to the busy timeout for it; a deferred transaction
    that reads first and then wants to write fails at once with "database is locked" when
    another process wrote in between (the timeout is never waited). synchronous=NORMAL is
    WAL's usual setting: a commit does not wait for fsync (a power cut may lose the last
    commits, never consistency).
    """
    name = str(database["NAME"])
    if name != ":memory:":
        try:
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(
                f"database unreachable: cannot create the directory of SQLite database {name}: "
                f"{exc.strerror or exc}",
                exit_code=ExitCode.DATABASE_UNREACHABLE,
            ) from None
    options = database.setdefault("OPTIONS", {})
    options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    options.setdefault("transaction_mode", "IMMEDIATE")
    options.setdefault("timeout", SQLITE_BUSY_TIMEOUT_SECONDS)


# Client-side bounds, so that an unreachable server cannot hang a process. A connection
# attempt gives up after 10 s; keepalives and the TCP user timeout notice a peer that vanished
# (about a minute). A server that is frozen but whose kernel still answers is noticed by
# neither: run_cleanup's watchdog covers that (retention/watchdog.py). A value in
# DATABASE_URL's query string wins.
POSTGRESQL_CLIENT_BOUNDS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60000,  # milliseconds
}


def _postgresql_options(database: dict[str, Any]) -> None:
    options = database.setdefault("OPTIONS", {})
    for name, value in POSTGRESQL_CLIENT_BOUNDS.items():
        options.setdefault(name, value)
