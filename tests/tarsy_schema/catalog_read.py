"""Read a :class:`Catalog` of some tables of one schema from PostgreSQL's system catalogs."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from tests.tarsy_schema.catalog import (
    Catalog,
    Column,
    Constraint,
    ForeignKey,
    Index,
    Table,
    Trigger,
)
from tests.tarsy_schema.db import Cursor, DatabaseHandle, cursor_for


def _owned(joins: str = "", condition: str = "TRUE") -> str:
    """FROM and WHERE for rows of the snapshot's tables (ordinary or partitioned) and ``joins``.

    Takes two parameters: the schema and the array of table names.
    """
    return (
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"{joins} WHERE n.nspname = %s AND c.relname = ANY(%s::text[]) "
        f"AND c.relkind IN ('r', 'p') AND ({condition})"
    )


_TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
"""
_COLUMNS = f"""
    SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
           CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
           CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END,
           CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END,
           CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END
    {
    _owned('''
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
    ''')
}
    ORDER BY c.relname, a.attnum
"""


def _key_names(key: str, table: str) -> str:
    """SQL for the column names of the attnum array ``key`` of ``table``, in key order."""
    return (
        f"ARRAY(SELECT a.attname::text FROM unnest(con.{key}) WITH ORDINALITY k(num, i)"
        f" JOIN pg_attribute a ON a.attrelid = con.{table} AND a.attnum = k.num ORDER BY k.i)"
    )


# Constraints of the snapshot's tables, and foreign keys of other tables that point at them.
_CONSTRAINTS = f"""
    SELECT n.nspname, c.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid),
           con.convalidated, {_key_names("conkey", "conrelid")},
           rn.nspname, rc.relname, {_key_names("confkey", "confrelid")},
           con.confdeltype::text, con.confupdtype::text, con.confmatchtype::text,
           con.condeferrable, con.condeferred
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_class rc ON rc.oid = con.confrelid
    LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
    WHERE (n.nspname = %s AND c.relname = ANY(%s::text[]))
       OR (con.contype = 'f' AND rn.nspname = %s AND rc.relname = ANY(%s::text[]))
"""
_INDEXES = f"""
    SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid), x.indisvalid
    {_owned("JOIN pg_index x ON x.indrelid = c.oid JOIN pg_class i ON i.oid = x.indexrelid")}
"""
_TRIGGERS = f"""
    SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled::text
    {_owned("JOIN pg_trigger t ON t.tgrelid = c.oid", "NOT t.tgisinternal")}
"""
# Everything else that changes how a table behaves, one line of text per fact.
_POLICY = """'POLICY ' || p.polname || ' ' || p.polcmd::text
    || CASE WHEN p.polpermissive THEN ' PERMISSIVE' ELSE ' RESTRICTIVE' END
    || coalesce(' USING ' || pg_get_expr(p.polqual, p.polrelid), '')
    || coalesce(' WITH CHECK ' || pg_get_expr(p.polwithcheck, p.polrelid), '')"""
_PROPERTIES = " UNION ALL ".join(
    f"SELECT c.relname, {fact} {_owned(joins, condition)}"
    for fact, joins, condition in (
        ("'PERSISTENCE ' || c.relpersistence::text", "", "c.relpersistence <> 'p'"),
        ("'PARTITIONED'", "", "c.relkind = 'p'"),
        ("'ROW LEVEL SECURITY'", "", "c.relrowsecurity"),
        ("'FORCE ROW LEVEL SECURITY'", "", "c.relforcerowsecurity"),
        ("'REPLICA IDENTITY ' || c.relreplident::text", "", "c.relreplident <> 'd'"),
        ("'WITH (' || array_to_string(c.reloptions, ', ') || ')'", "", "c.reloptions IS NOT NULL"),
        (
            "'INHERITS ' || h.inhparent::regclass::text",
            "JOIN pg_inherits h ON h.inhrelid = c.oid",
            "TRUE",
        ),
        (_POLICY, "JOIN pg_policy p ON p.polrelid = c.oid", "TRUE"),
        ("'RULE ' || pg_get_ruledef(r.oid)", "JOIN pg_rewrite r ON r.ev_class = c.oid", "TRUE"),
    )
)

_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_MATCH = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
_PARTS = ("constraints", "foreign_keys", "referenced_by", "indexes", "triggers", "properties")
_KINDS = {"p": "PRIMARY KEY", "u": "UNIQUE", "c": "CHECK", "x": "EXCLUDE"}
_IDENT = r'(?:"(?:[^"]|"")+"|[^ ."]+)'
# The " ON [ONLY] [schema.]table " of an index or trigger definition.
_ON_TABLE = re.compile(rf" ON (?:ONLY )?(?:{_IDENT}\.)?(?P<table>{_IDENT}) ")


def read_catalog(
    handle: DatabaseHandle, *, schema: str = "public", tables: Iterable[str] | None = None
) -> Catalog:
    """Snapshot ``tables`` of ``schema`` (all its tables when None); absent names are skipped."""
    with cursor_for(handle) as cursor:
        if tables is None:
            cursor.execute(_TABLES, [schema])
            tables = [row[0] for row in cursor.fetchall()]
        names = sorted(set(tables))
        owned = [schema, names]
        columns = defaultdict(list)
        for table, *column in _rows(cursor, _COLUMNS, owned):
            columns[table].append(Column(*column))
        # Table field -> table name -> its items.
        parts: dict[str, defaultdict[str, set]] = {part: defaultdict(set) for part in _PARTS}
        for row in _rows(cursor, _CONSTRAINTS, owned):
            _add_constraint(parts, row, schema, set(names))
        for table, name, definition, valid in _rows(cursor, _INDEXES, owned):
            parts["indexes"][table].add(Index(name, _ON_TABLE.sub(" ", definition, 1), valid))
        for table, name, definition, enabled in _rows(cursor, _TRIGGERS, owned):
            unqualified = _ON_TABLE.sub(r" ON \g<table> ", definition, 1)
            parts["triggers"][table].add(Trigger(name, unqualified, enabled))
        for table, fact in _rows(cursor, _PROPERTIES, owned):
            parts["properties"][table].add(fact)
    return Catalog(
        schema=schema,
        tables={
            name: Table(
                name,
                tuple(columns[name]),
                **{part: frozenset(items[name]) for part, items in parts.items()},
            )
            for name in names
            if name in columns
        },
    )


def _rows(cursor: Cursor, sql: str, owned: list) -> list[tuple]:
    """Run a query whose parameters are (schema, table names) pairs, however many it has."""
    cursor.execute(sql, owned * (sql.count("%s") // 2))
    return [tuple(row) for row in cursor.fetchall()]


def _add_constraint(parts: dict, row: tuple, schema: str, names: set[str]) -> None:
    (nsp, table, name, kind, definition, validated, columns) = row[:7]
    (ref_nsp, ref_table, ref_columns, on_delete, on_update, match, deferrable, deferred) = row[7:]
    owned = nsp == schema and table in names
    if kind != "f":
        parts["constraints"][table].add(
            Constraint(name, _KINDS.get(kind, kind), tuple(columns), definition, validated)
        )
        return
    foreign_key = ForeignKey(
        table=table if nsp == schema else f"{nsp}.{table}",
        name=name,
        columns=tuple(columns),
        ref_table=ref_table if ref_nsp == schema else f"{ref_nsp}.{ref_table}",
        ref_columns=tuple(ref_columns),
        on_delete=_ACTIONS[on_delete],
        on_update=_ACTIONS[on_update],
        match=_MATCH[match],
        deferrable=(
            "NOT DEFERRABLE"
            if not deferrable
            else f"DEFERRABLE INITIALLY {'DEFERRED' if deferred else 'IMMEDIATE'}"
        ),
        validated=validated,
    )
    if owned:
        parts["foreign_keys"][table].add(foreign_key)
    else:
        parts["referenced_by"][ref_table].add(foreign_key)
