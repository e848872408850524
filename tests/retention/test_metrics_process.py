"""``manage.py run_cleanup`` with metrics on, as a real process scraped over HTTP.

The loop runs with short intervals; each test waits for a run's log line, scrapes until the
scrape shows the run (listeners hear of a run's end just after its line), well before the next
run is due, and compares the scrape with the logged counts and the run records.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retention.models import CleanupRun
from tests.commandline import free_port
from tests.retention.conftest import (
    REPO,
    ProcessLog,
    kill_quietly,
    old_log_file,
    run,
    run_line,
    seed_backlog,
    start,
    stop_and_wait,
    write_config,
)
from tests.retention.metrics_support import (
    Scrape,
    contract_violations,
    runs_reach,
    scrape_until,
    scrape_url,
)

pytestmark = pytest.mark.slow

ROWS = "tarsy_ops_rows_changed_total"
LAST_SUCCESS = "tarsy_ops_job_last_success_timestamp_seconds"
BACKLOG_GAUGES = {
    "backlog_due_for_soft_delete": "tarsy_ops_backlog_sessions_due_for_soft_delete",
    "backlog_due_for_purge": "tarsy_ops_backlog_sessions_due_for_purge",
    "backlog_events_past_ttl": "tarsy_ops_backlog_events_past_ttl",
    "backlog_sessions_held": "tarsy_ops_sessions_held",
}


@pytest.fixture
def metrics_env(cleanup_env: dict[str, str]) -> dict[str, str]:
    return dict(cleanup_env, METRICS_ADDR="127.0.0.1", METRICS_PORT=str(free_port()))


StartLoop = Callable[[Path], tuple[subprocess.Popen[str], ProcessLog]]


@pytest.fixture
def loop(manage_py: list[str], metrics_env: dict[str, str]) -> Iterator[StartLoop]:
    """Starts ``run_cleanup --config PATH`` as a loop with metrics on; kills what it started
    at the end, whatever happened."""
    processes: list[subprocess.Popen[str]] = []

    def start_loop(config: Path) -> tuple[subprocess.Popen[str], ProcessLog]:
        process, log = start(
            [*manage_py, "run_cleanup", "--config", str(config)], metrics_env, REPO
        )
        processes.append(process)
        return process, log

    yield start_loop
    for process in processes:
        kill_quietly(process)


def started_at(job: str, outcome: str, index: int = 0) -> float:
    runs = CleanupRun.objects.filter(job=job, outcome=outcome).order_by("started_at")
    return runs[index].started_at.timestamp()


def assert_retention_matches(scrape: Scrape, lines: list[dict]) -> None:
    """The counters are the sums of the logged runs, the gauges the last run's measurements."""
    for step in ("soft_deleted", "events_expired", "runs_expired"):
        logged = sum(line[step] for line in lines)
        assert scrape.value(ROWS, job="retention", step=step) == logged, step
    runs = scrape.value("tarsy_ops_job_runs_total", job="retention", outcome="success")
    assert runs == len(lines)
    duration = scrape.value("tarsy_ops_job_duration_seconds_sum", job="retention")
    logged_ms = sum(line["duration_ms"] for line in lines)
    assert logged_ms / 1000 <= duration < (logged_ms + len(lines)) / 1000
    for key, gauge in BACKLOG_GAUGES.items():
        assert scrape.value(gauge) == lines[-1][key], key


def test_a_scrape_after_each_run_shows_the_logged_counts_and_the_runs_start(
    loop: StartLoop, metrics_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    seed_backlog(old_sessions=25, old_events=7)
    old_log_file(sweep_dir, "done.log", 123)
    config = write_config(tmp_path, sweep_dir=sweep_dir, cleanup_interval="5s", sweep_interval=3600)
    port = int(metrics_env["METRICS_PORT"])
    _, log = loop(config)

    log.wait_for(run_line("sweep", "success"), timeout=60)
    log.wait_for(run_line("retention", "success"), timeout=60)
    scrape_until(port, runs_reach("sweep", "success", 1))
    first = scrape_until(port, runs_reach("retention", "success", 1))
    serving = log.records[log.wait_for(lambda r: r["message"] == "serving metrics", timeout=1)]
    assert (serving["metrics_addr"], serving["metrics_port"]) == ("127.0.0.1", port)
    seed_backlog(old_sessions=5, young_sessions=0, young_events=0)  # for the second run
    assert contract_violations(first, complete=False) == []
    (line,) = log.job_runs("retention")
    assert line["soft_deleted"] == 25 and line["events_expired"] == 7
    assert_retention_matches(first, [line])
    assert first.value(LAST_SUCCESS, job="retention") == pytest.approx(
        started_at("retention", "success"), abs=1e-6
    )
    (sweep,) = log.job_runs("sweep")
    assert sweep["deleted"] == 1 and sweep["bytes_freed"] == 123
    assert first.value("tarsy_ops_sweep_files_deleted_total", reason="retention") == 1
    assert first.value("tarsy_ops_sweep_bytes_freed_total", reason="retention") == 123
    assert first.value("tarsy_ops_sweep_files_skipped_active_total") == sweep["skipped_active"]
    assert first.value("tarsy_ops_job_interval_seconds", job="retention") == 5
    assert first.value("tarsy_ops_job_interval_seconds", job="sweep") == 3600

    log.wait_for(run_line("retention", "success"), timeout=60, after=log.records.index(line) + 1)
    second = scrape_until(port, runs_reach("retention", "success", 2))
    lines = log.job_runs("retention")[:2]
    assert lines[1]["soft_deleted"] == 5  # the second run added to the counters
    assert_retention_matches(second, lines)
    assert second.value(ROWS, job="retention", step="soft_deleted") == 30
    assert second.value(LAST_SUCCESS, job="retention") == pytest.approx(
        started_at("retention", "success", 1), abs=1e-6
    )


def test_a_failing_step_counts_an_error_and_leaves_the_last_success_alone(
    loop: StartLoop, metrics_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    config = write_config(tmp_path, sweep_dir=sweep_dir, sweep_interval=3)
    port = int(metrics_env["METRICS_PORT"])
    _, log = loop(config)
    log.wait_for(run_line("sweep", "success"), timeout=60)
    before = scrape_until(port, runs_reach("sweep", "success", 1))
    assert before.value("tarsy_ops_step_errors_total", job="sweep", step="sweep") == 0
    sweep_dir.rmdir()
    sweep_dir.write_text("not a directory")  # the next sweep cannot list it: the step fails

    log.wait_for(run_line("sweep", "failed"), timeout=60)
    after = scrape_until(port, runs_reach("sweep", "failed", 1))
    errors = after.value("tarsy_ops_step_errors_total", job="sweep", step="sweep")
    failed_runs = after.value("tarsy_ops_job_runs_total", job="sweep", outcome="failed")
    streak = after.value("tarsy_ops_step_consecutive_failures", job="sweep", step="sweep")
    assert errors is not None and errors >= 1
    assert errors == failed_runs == streak  # one per failed run, none succeeded since
    assert after.value(LAST_SUCCESS, job="sweep") == pytest.approx(
        started_at("sweep", "success"), abs=1e-6
    )
    assert after.value("tarsy_ops_job_runs_total", job="sweep", outcome="success") == 1
    assert after.value("tarsy_ops_step_errors_total", job="retention", step="soft_deleted") == 0


def test_sigterm_ends_the_process_within_5s_with_scrapes_in_flight(
    loop: StartLoop, metrics_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    config = write_config(tmp_path, sweep_dir=sweep_dir)
    port = int(metrics_env["METRICS_PORT"])
    process, log = loop(config)
    log.wait_for(run_line("retention", "success"), timeout=60)
    log.wait_for(run_line("sweep", "success"), timeout=60)
    scrape_until(port, runs_reach("sweep", "success", 1))

    # A client that sent half a request and waits, and one that never reads its response.
    half = socket.create_connection(("127.0.0.1", port), timeout=5)
    half.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n")
    unread = socket.create_connection(("127.0.0.1", port), timeout=5)
    unread.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    try:
        # The stuck clients block neither the server nor the loop.
        assert scrape_url(port).value("tarsy_ops_job_runs_total", job="sweep", outcome="success")
        code, took = stop_and_wait(process, timeout=5)
    finally:
        half.close()
        unread.close()
    assert code == 0, log.text()
    assert took < 5
    log.finish()
    assert log.records[-1]["message"] == "cleanup stopped"


def test_a_port_in_use_is_one_error_line_and_a_non_zero_exit_before_any_work(
    manage_py: list[str], metrics_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    seed_backlog(old_sessions=3)
    config = write_config(tmp_path, sweep_dir=sweep_dir)
    port = int(metrics_env["METRICS_PORT"])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        code, records = run([*manage_py, "run_cleanup", "--config", str(config)], metrics_env)
    assert code == 1, records
    (error,) = [r for r in records if r["level"] == "ERROR"]  # one line, no traceback
    assert error == records[-1] and "exception" not in error
    assert error["message"].startswith(f"cannot serve metrics on 127.0.0.1:{port}: ")
    assert "in use" in error["message"]
    assert "cleanup starting" not in [r["message"] for r in records]
    assert CleanupRun.objects.count() == 0
    assert not Path(metrics_env["TARSY_HEARTBEAT_FILE"]).exists()


def test_no_metrics_server_without_metrics_port(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    config = write_config(tmp_path, sweep_dir=sweep_dir)
    env = {**cleanup_env, "METRICS_PORT": ""}
    code, records = run([*manage_py, "run_cleanup", "--once", "--config", str(config)], env)
    assert code == 0, records
    messages = [r["message"] for r in records]
    assert "cleanup finished" in messages and "serving metrics" not in messages


def test_a_once_run_serves_no_metrics_even_with_the_sidecars_port_taken(
    manage_py: list[str], metrics_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    """An operator's ``run_cleanup --once`` in the cleanup container, beside the sidecar."""
    config = write_config(tmp_path, sweep_dir=sweep_dir)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", int(metrics_env["METRICS_PORT"])))
        taken.listen()
        code, records = run(
            [*manage_py, "run_cleanup", "--once", "--config", str(config)], metrics_env
        )
    assert code == 0, records
    messages = [r["message"] for r in records]
    assert "cleanup finished" in messages and "serving metrics" not in messages
