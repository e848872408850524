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


def database_settings(environ: Mapping[str, str], *, default_sqlite: Path) -> dict[str, Any]:
    """``DATABASES["default"]`` for this environment."""
    url = environ.get("DATABASE_URL", "") or f"sqlite:///{default_sqlite}"
    database = Env.db_url_config(url)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        _sqlite_options(database)
    elif database["ENGINE"] == "django.db.backends.postgresql":
        _postgresql_options(database)
    return database


def _sqlite_options(database: dict[str, Any]) -> None:
    name = str(database["NAME"])
    if name != ":memory:":
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the admin read while the cleanup sidecar writes.
    options = database.setdefault("OPTIONS", {})
    options.setdefault("init_command", "PRAGMA journal_mode=WAL;")
    options.setdefault("timeout", 20)
    # A transaction takes the write lock when it begins, so one that reads before it writes
    # waits its turn (``timeout``) instead of failing at once with "database is locked" when
    # another connection wrote meanwhile (run_cleanup's jobs write side by side).
    options.setdefault("transaction_mode", "IMMEDIATE")


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
