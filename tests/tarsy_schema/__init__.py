"""TARSy's own PostgreSQL schema, rebuilt for tests that attach to a TARSy database.

TARSy (the Go service) owns its tables through its own migrations; this package rebuilds them
from hand-written DDL at two releases, fills them with realistic sessions, and snapshots the
catalog so a test can prove that nothing TARSy Ops does alters them:

- ``create_tarsy_schema(handle, *, release, schema="public")``: the tables and indexes.
- ``seed_tarsy_data(handle, *, release, now, schema="public") -> SeedSummary``: sessions of
  every status and age with rows in every table, and what deleting each one removes.
- ``read_catalog(handle, *, schema="public", tables=None) -> Catalog`` and
  ``diff_catalogs(before, after) -> list[str]``: compare the shape of tables.

``handle`` is a DB-API cursor (psycopg 3 or Django's) or a connection with ``cursor()``.
"""

from tests.tarsy_schema.catalog import (
    Catalog,
    Column,
    Constraint,
    ForeignKey,
    Index,
    Table,
    Trigger,
    diff_catalogs,
)
from tests.tarsy_schema.catalog_read import read_catalog
from tests.tarsy_schema.ddl import RELEASE_TABLES, RELEASES, Release, create_tarsy_schema
from tests.tarsy_schema.seed import (
    AGES,
    STATUSES,
    Age,
    RowKey,
    SeededSession,
    SeedSummary,
    seed_tarsy_data,
)

__all__ = [
    "AGES",
    "RELEASES",
    "RELEASE_TABLES",
    "STATUSES",
    "Age",
    "Catalog",
    "Column",
    "Constraint",
    "ForeignKey",
    "Index",
    "Release",
    "RowKey",
    "SeedSummary",
    "SeededSession",
    "Table",
    "Trigger",
    "create_tarsy_schema",
    "diff_catalogs",
    "read_catalog",
    "seed_tarsy_data",
]
