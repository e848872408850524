"""``run_cleanup`` survives its PostgreSQL server going away and coming back.

The test starts a throwaway cluster of its own (``tests/retention/pg_cluster.py``: as the
``postgres`` OS user, on a free port and its own socket directory), never the shared server on
5432, and removes it afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.retention.conftest import (
    requires_postgresql,
    run_line,
    running,
    stop_within_5s,
    write_config,
)
from tests.retention.pg_cluster import Cluster

pytestmark = [pytest.mark.slow, requires_postgresql]


def test_loop_survives_a_database_restart_and_reconnects(
    cluster: Cluster, cluster_env: dict[str, str], manage_py: list[str], tmp_path: Path
) -> None:
    env = cluster_env
    sweep_dir = tmp_path / "streaming"
    config = write_config(tmp_path, sweep_dir=sweep_dir, cleanup_interval="1s", sweep_interval=60)

    argv = [*manage_py, "run_cleanup", "--config", str(config)]
    with running(argv, env) as (process, log):
        log.wait_for(run_line("retention", "success"), timeout=60)
        cluster.stop()
        failed = log.wait_for(run_line("retention", "failed"), timeout=30)
        assert process.poll() is None, log.text()
        assert log.records[failed]["level"] == "ERROR"
        # The failure is logged with the database's error (and its traceback).
        errors = [r for r in log.records[:failed] if r.get("job") == "retention" and "error" in r]
        assert errors and "OperationalError" in errors[-1]["error"], log.text()
        assert "exception" in errors[-1]
        cluster.start()
        recovered = log.wait_for(run_line("retention", "success"), timeout=30, after=failed)
        assert process.poll() is None, log.text()
        # The run after the recovery was recorded in the restarted database.
        log.wait_for(run_line("retention", "success"), timeout=30, after=recovered + 1)
        stop_within_5s(process, log)
    assert any(r["message"] == "cleanup stopped" for r in log.records)
    recorded = cluster.psql(
        "SELECT outcome, count(*) FROM cleanup_runs WHERE job = 'retention' "
        "GROUP BY outcome ORDER BY outcome"
    ).split()
    outcomes = dict(line.split("|") for line in recorded)
    assert int(outcomes["success"]) >= 2
