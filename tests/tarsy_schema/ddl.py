"""Build TARSy's own schema, at one of its releases, in a schema of a PostgreSQL database.

TARSy owns these tables through its own migrations; the DDL here is written by hand from the
catalog of a real TARSy database (``facts/``), so tests can attach to a faithful copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from tests.tarsy_schema.db import DatabaseHandle, cursor_for, quote_ident, search_path

Release = Literal["phase11", "latest"]
RELEASES: tuple[Release, ...] = get_args(Release)

_PHASE11_TABLES = frozenset(
    {
        "alert_sessions",
        "stages",
        "agent_executions",
        "timeline_events",
        "messages",
        "llm_interactions",
        "mcp_interactions",
        "events",
        "chats",
        "chat_user_messages",
    }
)
#: The tables TARSy owns at each release.
RELEASE_TABLES: dict[Release, frozenset[str]] = {
    "phase11": _PHASE11_TABLES,
    "latest": _PHASE11_TABLES
    | {
        "session_scores",
        "session_review_activities",
        "investigation_memories",
        "alert_session_injected_memories",
    },
}

_DDL_DIR = Path(__file__).resolve().parent


def check_release(release: str) -> Release:
    """``release`` itself, or a ValueError naming the releases there are."""
    if release not in RELEASES:
        raise ValueError(f"unknown TARSy release {release!r}; expected one of {RELEASES}")
    return release  # type: ignore[return-value]


def ddl_statements(release: Release) -> list[str]:
    """The release's DDL file as single statements, comments dropped (none holds a ';')."""
    text = (_DDL_DIR / f"{check_release(release)}.sql").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]


def create_tarsy_schema(
    handle: DatabaseHandle, *, release: Release, schema: str = "public"
) -> None:
    """Create TARSy's tables and indexes of ``release`` in ``schema`` (created if missing).

    Fails, like TARSy's first migration would, if a table of the same name is already there.
    """
    statements = ddl_statements(release)
    with cursor_for(handle) as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        with search_path(cursor, schema):
            for statement in statements:
                cursor.execute(statement)
