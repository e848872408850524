"""The rows a session owns in every table that cascades from it, found from the database's
foreign keys: on TARSy's own schema at each release, newer tables without a model included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sessions import selectors
from sessions.models import CHILD_MODELS
from tests.attached.conftest import requires_postgresql
from tests.attached.tarsy_here import tarsy_tables_here
from tests.tarsy_schema import RELEASE_TABLES, RELEASES, SeedSummary

pytestmark = requires_postgresql

NEWER = [
    "alert_session_injected_memories",
    "investigation_memories",
    "session_review_activities",
    "session_scores",
]


@pytest.fixture(params=RELEASES)
def seeded(request, db) -> SeedSummary:
    return tarsy_tables_here(request.param, now=datetime.now(UTC))


def _owned(summary: SeedSummary, session_ids: list[str]) -> dict[str, int]:
    """What the seed says these sessions own, by child table (a row owned twice counts once)."""
    tables = RELEASE_TABLES[summary.release] - {"alert_sessions"}
    return {
        table: len(set().union(*(summary.sessions[i].rows[table] for i in session_ids)))
        for table in tables
    }


def test_the_child_tables_are_every_table_that_cascades_from_a_session(seeded) -> None:
    models = [m._meta.db_table for m in CHILD_MODELS]
    expected = models + (NEWER if seeded.release == "latest" else [])
    assert selectors.child_tables() == expected
    labels = [selectors.child_label(table) for table in expected]
    assert labels[:9] == [str(m._meta.verbose_name_plural) for m in CHILD_MODELS]
    if seeded.release == "latest":
        assert labels[9:] == [
            "alert session injected memories",
            "investigation memories",
            "session review activities",
            "session scores",
        ]


def test_each_session_owns_what_deleting_it_removes(seeded) -> None:
    for session_id in seeded.sessions:
        counts = selectors.count_children(session_ids=[session_id])
        assert counts == _owned(seeded, [session_id]), seeded.sessions[session_id].age
        assert all(counts.values())


def test_several_sessions_count_each_row_once(seeded) -> None:
    group = [s.session_id for s in seeded.select(age="long_soft_deleted")]
    counts = selectors.count_children(session_ids=group)
    assert counts == _owned(seeded, group)
    if seeded.release == "latest":
        # Consecutive sessions inject each other's memories: shared rows are counted once.
        per_session = sum(
            selectors.count_children(session_ids=[i])["alert_session_injected_memories"]
            for i in group
        )
        assert counts["alert_session_injected_memories"] < per_session
    everything = selectors.count_children(session_ids=list(seeded.sessions))
    assert everything == {t: n for t, n in seeded.table_counts().items() if t != "alert_sessions"}
    assert selectors.count_children(session_ids=[]) == dict.fromkeys(counts, 0)
    assert selectors.count_children(session_ids=["no-such-session"]) == dict.fromkeys(counts, 0)
