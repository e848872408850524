"""The transcribed facts about TARSy's schema (``facts/<release>.md``), and a catalog put in
the same shape, so a test can compare what the DDL builds with what a real TARSy database has.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tests.tarsy_schema.catalog import Catalog, Column
from tests.tarsy_schema.ddl import Release, check_release

_FACTS_DIR = Path(__file__).resolve().parent / "facts"
_SHORT_TYPES = {
    "character varying": "varchar",
    "timestamp with time zone": "timestamptz",
    "double precision": "float8",
}


@dataclass(frozen=True)
class SchemaFacts:
    #: table -> its columns in order, each (column, type, null "yes"/"no", default as written)
    columns: dict[str, tuple[tuple[str, str, str, str], ...]]
    primary_keys: dict[str, tuple[str, ...]]
    #: ("table.column", "referenced_table.column", ON DELETE action)
    foreign_keys: frozenset[tuple[str, str, str]]
    #: (table, index definition without "ON table")
    indexes: frozenset[tuple[str, str]]

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(self.columns)


def load_facts(release: Release) -> SchemaFacts:
    """Parse the four markdown tables of ``facts/<release>.md``."""
    text = (_FACTS_DIR / f"{check_release(release)}.md").read_text(encoding="utf-8")
    sections: dict[str, list[list[str]]] = defaultdict(list)
    header = ""
    for line in text.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if cells[0] in {"table", "table.column"}:
            header = " | ".join(cells)
        else:
            sections[header].append(cells)
    columns: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    for table, *column in sections["table | column | type | null | default"]:
        columns[table].append(tuple(column))  # type: ignore[arg-type]
    return SchemaFacts(
        columns={table: tuple(rows) for table, rows in columns.items()},
        primary_keys={
            table: tuple(key.split(", ")) for table, key in sections["table | primary key"]
        },
        foreign_keys=frozenset(
            tuple(row)
            for row in sections["table.column | references | on delete"]  # type: ignore[misc]
        ),
        indexes=frozenset((table, index) for table, index in sections["table | index"]),
    )


def facts_of(catalog: Catalog) -> SchemaFacts:
    """The catalog as the facts would spell it (foreign keys are single-column in TARSy)."""
    foreign_keys = set()
    for table in catalog.tables.values():
        for fk in table.foreign_keys:
            (column,), (ref_column,) = fk.columns, fk.ref_columns
            foreign_keys.add(
                (f"{table.name}.{column}", f"{fk.ref_table}.{ref_column}", fk.on_delete)
            )
    return SchemaFacts(
        columns={
            name: tuple(_column_fact(column) for column in table.columns)
            for name, table in catalog.tables.items()
        },
        primary_keys={
            name: table.primary_key.columns
            for name, table in catalog.tables.items()
            if table.primary_key is not None
        },
        foreign_keys=frozenset(foreign_keys),
        indexes=frozenset(
            (name, index.definition)
            for name, table in catalog.tables.items()
            for index in table.indexes
        ),
    )


def _column_fact(column: Column) -> tuple[str, str, str, str]:
    if column.identity is not None:
        default = f"identity ({column.identity})"
    elif column.generated is not None:
        default = f"generated: {column.generated}"
    else:
        default = column.default or ""
    return (
        column.name,
        _SHORT_TYPES.get(column.type, column.type),
        "no" if column.not_null else "yes",
        default,
    )
