"""TARSy's own schema inside the test's transaction, first on Django's search path.

For in-process tests of what TARSy Ops does on TARSy's tables: the tables of a release are
built (and seeded) in a schema of their own within the test's transaction, and that schema is
put first on the connection's search path until the transaction ends, so TARSy Ops' models and
queries find TARSy's tables exactly as they do attached. The rollback at the end of the test
removes it all.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import connection

from tests.tarsy_schema import Release, SeedSummary, create_tarsy_schema, seed_tarsy_data


def tarsy_tables_here(release: Release, *, now: datetime | None = None) -> SeedSummary | None:
    """Build TARSy's tables of ``release`` (seeded at ``now`` if given) and use them."""
    schema = f"tarsy_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        create_tarsy_schema(cursor, release=release, schema=schema)
        summary = (
            None
            if now is None
            else seed_tarsy_data(cursor, release=release, now=now, schema=schema)
        )
        # Local to the test's transaction: the rollback brings the old search path back.
        cursor.execute("SELECT set_config('search_path', %s, true)", [f"{schema},public"])
    return summary
