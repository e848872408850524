"""What the schema helpers need from a database handle, and how they point it at one schema.

Every helper takes either a DB-API cursor (a psycopg 3 cursor or a Django ``CursorWrapper``)
or something with a ``cursor()`` method (a psycopg 3 connection or Django's ``connection``), so
the same code serves a test's own psycopg connection and the Django test database. Statements
run in the caller's transaction: committing is the caller's business.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] | None = ...) -> Any: ...

    def executemany(self, sql: str, param_list: Sequence[Sequence[Any]]) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def cursor(self) -> Any: ...


DatabaseHandle = Cursor | Connection


@contextlib.contextmanager
def cursor_for(handle: DatabaseHandle) -> Iterator[Cursor]:
    """The handle itself when it is a cursor, else a cursor of it closed on exit.

    Tested with ``hasattr``: Django's cursor wrapper hands ``fetchone`` on through
    ``__getattr__``, which a runtime Protocol check does not see.
    """
    if hasattr(handle, "fetchone"):
        yield handle  # type: ignore[misc]
        return
    with handle.cursor() as cursor:
        yield cursor


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (schema names come from callers)."""
    return '"' + name.replace('"', '""') + '"'


@contextlib.contextmanager
def search_path(cursor: Cursor, schema: str) -> Iterator[None]:
    """Resolve unqualified names in ``schema`` only; the previous search_path comes back after.

    On an error the old path is restored only if the connection still accepts statements: in
    a failed transaction the caller's rollback restores it anyway.
    """
    cursor.execute("SELECT current_setting('search_path')")
    previous = cursor.fetchone()[0]
    cursor.execute("SELECT set_config('search_path', %s, false)", [quote_ident(schema)])
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            cursor.execute("SELECT set_config('search_path', %s, false)", [previous])
        raise
    cursor.execute("SELECT set_config('search_path', %s, false)", [previous])
