"""What deleting sessions takes with it, read from the database's own foreign keys.

TARSy's later releases add tables that cascade from a session (scores, review activities,
memories and their injections) and TARSy Ops has no model for them, yet deleting a session
deletes their rows all the same. So the cascade is read from the catalog (PostgreSQL's
``pg_constraint``, SQLite's ``PRAGMA foreign_key_list``): every table an ``ON DELETE CASCADE``
reaches from ``alert_sessions``, directly or through other cascading tables. ``count_sql``
counts, in one statement, the rows a set of sessions owns in each: the rows reachable along
any cascade path (an injected memory goes with its own session *and* with the session the
memory was learned from).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

ROOT = "alert_sessions"
CASCADE, SET_NULL = "CASCADE", "SET NULL"
_PG_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": CASCADE, "n": SET_NULL, "d": "SET DEFAULT"}

_PG_FOREIGN_KEYS = """
    SELECT con.conrelid::regclass::text,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, i)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                 ORDER BY k.i),
           con.confrelid::regclass::text,
           ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, i)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
                 ORDER BY k.i),
           con.confdeltype::text
    FROM pg_constraint con WHERE con.contype = 'f'
"""


@dataclass(frozen=True)
class ForeignKey:
    """One foreign key; tables as SQL names them on this connection (schema-qualified only
    when not on its search path)."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str


@dataclass(frozen=True)
class CascadeGraph:
    """The foreign keys of a database, seen from ``root``."""

    root: str
    foreign_keys: tuple[ForeignKey, ...]

    def cascading(self) -> list[ForeignKey]:
        """The ``ON DELETE CASCADE`` keys a delete of ``root`` rows follows."""
        reached, found = {self.root}, True
        while found:
            found = False
            for fk in self.foreign_keys:
                if fk.on_delete == CASCADE and fk.ref_table in reached and fk.table not in reached:
                    reached.add(fk.table)
                    found = True
        return [fk for fk in self.foreign_keys if fk.on_delete == CASCADE and fk.table in reached]

    def tables(self) -> list[str]:
        """The tables that lose rows with ``root``'s, each after every table it cascades from
        (a key back to a table not yet listed, a cycle, is left out of the order)."""
        parents: dict[str, set[str]] = defaultdict(set)
        for fk in self.cascading():
            if fk.table != fk.ref_table:
                parents[fk.table].add(fk.ref_table)
        done, ordered = {self.root}, []
        while len(ordered) < len(parents):
            ready = sorted(t for t in parents if t not in done and parents[t] <= done)
            if not ready:  # a cycle: take the rest in name order
                ready = sorted(t for t in parents if t not in done)[:1]
            done.update(ready)
            ordered += ready
        return ordered

    def reached(self) -> list[ForeignKey]:
        """Every key whose target loses rows with ``root``'s: the database follows each of
        them (cascading or setting NULL) for every deleted target row."""
        losing = {self.root, *self.tables()}
        return [fk for fk in self.foreign_keys if fk.ref_table in losing]

    def count_sql(self, sessions_sql: str, connection: BaseDatabaseWrapper) -> str:
        """One statement giving, in ``tables()`` order, how many rows of each table the
        sessions whose keys ``sessions_sql`` selects own (reachable along any cascade).

        One common table expression per table: its rows reached through each cascading key
        (a ``UNION`` of one index lookup per key, never an ``OR`` that would scan the table),
        and, for a key to the table itself (sub-agent executions), a recursive step.
        """
        tables = self.tables()
        if not tables:
            return "SELECT 1 WHERE FALSE"
        qn = connection.ops.quote_name
        row_id = "ctid" if connection.vendor == "postgresql" else "rowid"
        needed = self._needed_columns()
        names = {self.root: "d0"}
        parts = [
            f"d0 AS (SELECT {_columns(needed[self.root], qn)} FROM {self.root} "
            f"WHERE {_row(_root_key(self), qn)} IN ({sessions_sql}))"
        ]
        for i, table in enumerate(tables, start=1):
            names[table] = f"d{i}"
            select = f"SELECT {_columns([row_id, *needed[table]], qn, 't.')} FROM {table} t"
            arms = []
            for fk in self.cascading():
                if fk.table != table or fk.ref_table not in names:
                    continue  # another table's key, or one back into a cycle
                if fk.ref_table == table:
                    on = " AND ".join(
                        f"t.{qn(c)} = p.{qn(r)}"
                        for c, r in zip(fk.columns, fk.ref_columns, strict=True)
                    )
                    arms.append(f"{select} JOIN d{i} p ON {on}")  # recursive: goes last
                else:
                    target = f"SELECT {_columns(fk.ref_columns, qn)} FROM {names[fk.ref_table]}"
                    arms.insert(0, f"{select} WHERE {_row(fk.columns, qn, 't.')} IN ({target})")
            columns = ", ".join(["r", *(qn(c) for c in needed[table])])
            parts.append(f"d{i}({columns}) AS ({' UNION '.join(arms)})")
        counts = ", ".join(f"(SELECT count(*) FROM d{i})" for i in range(1, len(tables) + 1))
        return f"WITH RECURSIVE {', '.join(parts)} SELECT {counts}"

    def _needed_columns(self) -> dict[str, list[str]]:
        """Per table, the columns other tables' cascading keys point at."""
        needed: dict[str, list[str]] = defaultdict(list)
        needed[self.root] = list(_root_key(self))
        for fk in self.cascading():
            for column in fk.ref_columns:
                if column not in needed[fk.ref_table]:
                    needed[fk.ref_table].append(column)
        return needed


def read_graph(connection: BaseDatabaseWrapper, root: str = ROOT) -> CascadeGraph:
    """Every foreign key of the database ``connection`` is on."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FOREIGN_KEYS)
            keys = [
                ForeignKey(t, tuple(c), rt, tuple(rc), _PG_ACTIONS[action])
                for t, c, rt, rc, action in cursor.fetchall()
            ]
        else:
            keys = _sqlite_foreign_keys(cursor)
    return CascadeGraph(root, tuple(keys))


def _sqlite_foreign_keys(cursor: Any) -> list[ForeignKey]:
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    keys = []
    for (table,) in cursor.fetchall():
        cursor.execute(f'PRAGMA foreign_key_list("{table}")')
        grouped: dict[int, list[tuple]] = defaultdict(list)
        for row in cursor.fetchall():
            grouped[row[0]].append(row)
        for rows in grouped.values():
            rows.sort(key=lambda row: row[1])
            keys.append(
                ForeignKey(
                    table,
                    tuple(row[3] for row in rows),
                    rows[0][2],
                    tuple(row[4] for row in rows),
                    rows[0][6].upper(),
                )
            )
    return keys


def _root_key(graph: CascadeGraph) -> tuple[str, ...]:
    """The root's key, as the cascading keys to it name it (``session_id``)."""
    for fk in graph.foreign_keys:
        if fk.ref_table == graph.root and fk.on_delete == CASCADE:
            return fk.ref_columns
    return ("session_id",)


def _columns(columns: Sequence[str], qn: Callable[[str], str], prefix: str = "") -> str:
    return ", ".join(prefix + (c if c in ("ctid", "rowid") else qn(c)) for c in columns)


def _row(columns: Sequence[str], qn: Callable[[str], str], prefix: str = "") -> str:
    names = [f"{prefix}{qn(c)}" for c in columns]
    return names[0] if len(names) == 1 else f"({', '.join(names)})"
