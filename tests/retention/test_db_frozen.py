"""``run_cleanup`` with its PostgreSQL server frozen: nothing it waits for ever answers.

A throwaway cluster of the test's own (``tests/retention/pg_cluster.py``) is stopped with
SIGSTOP, the postmaster and every child: its sockets stay open and the kernel still accepts
and acknowledges, but no query, connection or cancel request is ever answered. It is resumed
with SIGCONT whatever happens (and removed afterwards).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from retention.loop import MAX_WAIT
from tests.retention.conftest import (
    requires_postgresql,
    run_line,
    running,
    stop_within_5s,
    wait_until,
    write_config,
)
from tests.retention.pg_cluster import Cluster

pytestmark = [pytest.mark.slow, requires_postgresql]

BACKLOG = 400  # old sessions; with 20 ms per row and batches of 20, a run takes ~8 s
FROZEN_FOR = 8  # seconds the server stays frozen before SIGTERM


def slow_backlog(cluster: Cluster) -> None:
    """Old sessions to soft-delete, and a trigger that makes every updated row take 20 ms."""
    cluster.psql(
        "INSERT INTO alert_sessions (session_id, alert_data, agent_type, alert_type, status, "
        "chain_id, created_at, completed_at) "
        "SELECT 's-' || g, '', 'kubernetes', '', 'completed', 'kubernetes-chain', "
        "now() - interval '60 days', now() - interval '60 days' + g * interval '1 second' "
        f"FROM generate_series(1, {BACKLOG}) AS g"
    )
    cluster.psql(
        "CREATE FUNCTION slow_row() RETURNS trigger AS $$ "
        "BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$ LANGUAGE plpgsql; "
        "CREATE TRIGGER slow_row BEFORE UPDATE ON alert_sessions "
        "FOR EACH ROW EXECUTE FUNCTION slow_row()"
    )


def batch_in_flight(cluster: Cluster) -> bool:
    return cluster.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        "AND pid <> pg_backend_pid() AND query ILIKE '%update%alert_sessions%'"
    ).strip() not in ("", "0")


def heartbeat_age(path: Path) -> float:
    return time.time() - path.stat().st_mtime


def test_a_frozen_database_holds_neither_the_sweep_nor_the_heartbeat_nor_sigterm(
    cluster: Cluster, cluster_env: dict[str, str], manage_py: list[str], tmp_path: Path
) -> None:
    slow_backlog(cluster)
    sweep_dir = tmp_path / "streaming"
    sweep_dir.mkdir()
    config = write_config(tmp_path, sweep_dir=sweep_dir, sweep_interval=1, batch_size=20)
    heartbeat = Path(cluster_env["TARSY_HEARTBEAT_FILE"])
    argv = [*manage_py, "run_cleanup", "--config", str(config)]
    with running(argv, cluster_env) as (process, log):
        # Freeze while retention waits for the server's answer to a batch.
        wait_until(lambda: batch_in_flight(cluster), process, log, timeout=60)
        with cluster.frozen():
            frozen_at = len(log.records)
            time.sleep(FROZEN_FOR)
            # The sweep, which needs no database, kept its 1 s interval meanwhile ...
            sweeps = [r for r in log.records[frozen_at:] if run_line("sweep", "success")(r)]
            assert len(sweeps) >= FROZEN_FOR - 3, log.text()
            # ... retention is still waiting (no run line), and the heartbeat stayed fresh.
            assert log.job_runs("retention") == [], log.text()
            assert heartbeat_age(heartbeat) < MAX_WAIT + 1.5
            stop_within_5s(process, log)
    # The run waiting on the frozen server was abandoned, and the process said so.
    assert log.records[-1]["message"] == "cleanup stopped", log.text()
    assert log.records[-1]["abandoned"] == ["retention"]
