"""A comparable snapshot of PostgreSQL's catalog for a set of tables, and its differences.

Two snapshots are equal when nothing about the tables' shape differs: columns (in order, with
type, NOT NULL, default, identity, generation, collation), constraints, foreign keys both ways,
indexes, triggers and table-level properties (persistence, row-level security, policies, rules,
storage options, inheritance). Names that would carry the schema are stored without it, so a
copy of the schema built elsewhere compares equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as format_type() spells it: "character varying", "timestamp with time zone"
    not_null: bool
    default: str | None = None  # pg_get_expr() of the default, None for generated columns
    identity: str | None = None  # "ALWAYS" or "BY DEFAULT"
    generated: str | None = None  # expression of a STORED generated column
    collation: str | None = None  # only when not the type's own

    def describe(self) -> str:
        parts = [self.type, "NOT NULL" if self.not_null else "NULL"]
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.identity is not None:
            parts.append(f"GENERATED {self.identity} AS IDENTITY")
        if self.generated is not None:
            parts.append(f"GENERATED ALWAYS AS ({self.generated}) STORED")
        if self.collation is not None:
            parts.append(f"COLLATE {self.collation}")
        return " ".join(parts)


@dataclass(frozen=True)
class Constraint:
    """A primary key, unique, check or exclusion constraint (foreign keys have their own)."""

    name: str
    kind: str  # "PRIMARY KEY", "UNIQUE", "CHECK" or "EXCLUDE"
    columns: tuple[str, ...]
    definition: str  # pg_get_constraintdef(), which ends in NOT VALID when not validated
    validated: bool = True

    def describe(self) -> str:
        return self.definition


@dataclass(frozen=True)
class ForeignKey:
    table: str  # the referencing table ("schema.table" when outside the snapshot's schema)
    name: str
    columns: tuple[str, ...]
    ref_table: str  # the referenced table, qualified the same way
    ref_columns: tuple[str, ...]
    on_delete: str  # "CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT" or "NO ACTION"
    on_update: str = "NO ACTION"
    match: str = "SIMPLE"
    deferrable: str = "NOT DEFERRABLE"
    validated: bool = True

    def describe(self) -> str:
        """The reference and its ON DELETE action, then whatever differs from the defaults."""
        parts = [
            f"{self.table}({', '.join(self.columns)}) ->",
            f"{self.ref_table}({', '.join(self.ref_columns)}) ON DELETE {self.on_delete}",
        ]
        if self.on_update != "NO ACTION":
            parts.append(f"ON UPDATE {self.on_update}")
        if self.match != "SIMPLE":
            parts.append(f"MATCH {self.match}")
        if self.deferrable != "NOT DEFERRABLE":
            parts.append(self.deferrable)
        if not self.validated:
            parts.append("NOT VALID")
        return " ".join(parts)


@dataclass(frozen=True)
class Index:
    name: str
    definition: str  # pg_get_indexdef() without "ON table": "CREATE INDEX x USING btree (a)"
    valid: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        """The key columns or expressions, as written between the parentheses after USING."""
        keys = self.definition.split(" USING ", 1)[1].split(" (", 1)[1]
        depth, current, found = 0, "", []
        for char in keys:
            if char == ")" and depth == 0:
                break
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "," and depth == 0:
                found.append(current.strip())
                current = ""
            else:
                current += char
        return (*found, current.strip())

    def describe(self) -> str:
        return self.definition + ("" if self.valid else " (INVALID)")


@dataclass(frozen=True)
class Trigger:
    name: str
    definition: str  # pg_get_triggerdef() with the table unqualified
    enabled: str = "O"  # pg_trigger.tgenabled: O origin, D disabled, R replica, A always

    def describe(self) -> str:
        return f"{self.definition} [enabled {self.enabled}]"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    constraints: frozenset[Constraint] = frozenset()
    foreign_keys: frozenset[ForeignKey] = frozenset()
    referenced_by: frozenset[ForeignKey] = frozenset()  # from tables outside the snapshot
    indexes: frozenset[Index] = frozenset()
    triggers: frozenset[Trigger] = frozenset()
    properties: frozenset[str] = frozenset()  # "UNLOGGED", "POLICY ...", "RULE ...", ...

    def column(self, name: str) -> Column:
        return _named(self.columns, name, f"column {self.name}.{name}")

    def index(self, name: str) -> Index:
        return _named(self.indexes, name, f"index {name} on {self.name}")

    @property
    def primary_key(self) -> Constraint | None:
        keys = [c for c in self.constraints if c.kind == "PRIMARY KEY"]
        return keys[0] if keys else None

    def describe(self) -> dict[str, str]:
        """One line per part of the table, keyed by what it is ("column x", "index y")."""
        items = {f"column {c.name}": c.describe() for c in self.columns}
        items |= {f"constraint {c.name}": c.describe() for c in self.constraints}
        items |= {f"foreign key {f.name}": f.describe() for f in self.foreign_keys}
        items |= {f"referenced by {f.table}.{f.name}": f.describe() for f in self.referenced_by}
        items |= {f"index {i.name}": i.describe() for i in self.indexes}
        items |= {f"trigger {t.name}": t.describe() for t in self.triggers}
        items |= {f"property {p}": p for p in self.properties}
        return items


@dataclass(frozen=True)
class Catalog:
    schema: str = field(compare=False)
    tables: Mapping[str, Table]

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]


def diff_catalogs(before: Catalog, after: Catalog) -> list[str]:
    """What changed from ``before`` to ``after``, one human-readable line each; [] if equal."""
    lines = [f"table {name}: removed" for name in sorted(before.tables.keys() - after.tables)]
    lines += [f"table {name}: added" for name in sorted(after.tables.keys() - before.tables)]
    for name in sorted(before.tables.keys() & after.tables.keys()):
        lines += _diff_tables(before.tables[name], after.tables[name])
    return lines


def _diff_tables(before: Table, after: Table) -> list[str]:
    old, new = before.describe(), after.describe()
    lines = [f"{before.name}: {key} removed ({old[key]})" for key in sorted(old.keys() - new)]
    lines += [f"{before.name}: {key} added ({new[key]})" for key in sorted(new.keys() - old)]
    lines += [
        f"{before.name}: {key} changed: {old[key]} -> {new[key]}"
        for key in sorted(old.keys() & new.keys())
        if old[key] != new[key]
    ]
    old_order = [c.name for c in before.columns]
    new_order = [c.name for c in after.columns]
    if old_order != new_order and sorted(old_order) == sorted(new_order):
        lines.append(f"{before.name}: column order changed: {old_order} -> {new_order}")
    return lines


def _named[T](items: tuple[T, ...] | frozenset[T], name: str, what: str) -> T:
    for item in items:
        if item.name == name:  # type: ignore[attr-defined]
            return item
    raise KeyError(f"no {what}")
