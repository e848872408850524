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
    return database


def _sqlite_options(database: dict[str, Any]) -> None:
    name = str(database["NAME"])
    if name != ":memory:":
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the admin read while the cleanup sidecar writes.
    options = database.setdefault("OPTIONS", {})
    options.setdefault("init_command", "PRAGMA journal_mode=WAL;")
    options.setdefault("timeout", 20)
