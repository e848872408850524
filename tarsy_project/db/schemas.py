"""PostgreSQL schemas: whether one exists, and creating one.

In attached mode TARSy Ops' own tables live in a schema of their own, first on the connection's
search path. PostgreSQL silently skips a schema of the search path that does not exist, so
without it Django would create its tables in the next one (TARSy's ``public``): the schema
must exist before anything creates a table.
"""

from __future__ import annotations

from django.db import connections


def schema_exists(name: str, *, using: str = "default") -> bool:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", [name])
        return bool(cursor.fetchone()[0])


def create_schema(name: str, *, using: str = "default") -> bool:
    """Create schema ``name`` unless it exists; return whether it was created."""
    if schema_exists(name, using=using):
        return False
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {connection.ops.quote_name(name)}")
    return True
