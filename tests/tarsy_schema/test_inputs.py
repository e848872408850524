"""Bad arguments to the schema helpers fail with one clear message, before any SQL runs."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.tarsy_schema import create_tarsy_schema, seed_tarsy_data
from tests.tarsy_schema.ddl import ddl_statements


class NoDatabase:
    """A handle whose use would be a bug: these checks come before any statement."""

    def cursor(self):
        raise AssertionError("the database was touched")


def test_an_unknown_release_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"unknown TARSy release 'phase12'.*'phase11', 'latest'"):
        create_tarsy_schema(NoDatabase(), release="phase12")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown TARSy release 'v2'"):
        seed_tarsy_data(NoDatabase(), release="v2", now=datetime.now().astimezone())  # type: ignore[arg-type]


def test_seeding_needs_an_aware_now():
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        seed_tarsy_data(NoDatabase(), release="latest", now=datetime(2026, 1, 1))


@pytest.mark.parametrize("release, tables, indexes", [("phase11", 10, 31), ("latest", 14, 53)])
def test_the_ddl_files_split_into_whole_statements(release, tables, indexes):
    statements = ddl_statements(release)
    assert sum(s.startswith("CREATE TABLE ") for s in statements) == tables
    assert (
        sum(s.startswith(("CREATE INDEX ", "CREATE UNIQUE INDEX ")) for s in statements) == indexes
    )
    assert len(statements) == tables + indexes
    assert not any("--" in s for s in statements)
