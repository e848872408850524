"""The ``default`` database, from ``DATABASE_URL`` (an SQLite file in ``var/`` when unset).

Kept apart from the rest of the settings because several rules meet here: how the URL is
read, what each backend needs to behave under a cleanup sidecar and an admin at once, and
(later) which mode TARSy Ops runs in against TARSy's own database.
"""

from __future__ import annotations

from collections.abc import Mapping
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
