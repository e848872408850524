"""Tiny-scale smoke runs of the benchmark scripts, so they cannot rot.

They assert that each script runs to the end and reports what it should (keys, row counts,
the locked files spared); never timings. The retention benchmark needs PostgreSQL (it clones
databases with ``CREATE DATABASE ... TEMPLATE``): it runs on CI's PostgreSQL pass, against the
server DATABASE_URL names, and creates and drops only ``bench_p<pid>_*`` databases there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent.parent
DB = settings.DATABASES["default"]
ON_POSTGRESQL = DB["ENGINE"] == "django.db.backends.postgresql"

pytestmark = pytest.mark.slow


def run_script(name: str, *args: str, tmp_path: Path) -> dict:
    out = tmp_path / f"{name}.json"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("TARSY_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / name), *args, "--json", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="bench_retention.py needs PostgreSQL (CREATE DATABASE ... TEMPLATE); "
    "runs when DATABASE_URL points at PostgreSQL",
)
def test_retention_benchmark_smoke(tmp_path):
    server = f"postgres://{DB.get('USER') or 'postgres'}@{DB.get('HOST') or '127.0.0.1'}"
    server += f":{DB.get('PORT') or 5432}"
    args = ["--scale", "0.0001", "--small-scale", "0.0001", "--runs", "1", "--server", server]
    results = run_script("bench_retention.py", *args, tmp_path=tmp_path)

    cases = results["cases"]
    assert set(cases) == {"soft_delete", "expire", "purge"}
    eligible = {"soft_delete": 50, "expire": 400, "purge": 1}
    for name, case in cases.items():
        assert case["data"]["eligible"] == eligible[name]
        # The code path and the plain statement did the same work, and all of it.
        assert case["code"]["rows"] == [eligible[name]]
        assert case["baseline"]["rows"] == [eligible[name]]
        assert case["same_result"]
        assert case["checks"][0]["changed"] == eligible[name]
        for key in ("median_s", "longest_txn_s", "peak_rss_kb"):
            assert key in case["code"]
        assert {"median_s", "longest_txn_s"} <= set(case["baseline"])
        assert case["ratio"] > 0
        assert case["small_scale"]["peak_rss_kb"] > 0
        assert case["rss_ratio_full_to_small"] > 0
    assert cases["purge"]["checks"][0]["children_left"] == 200  # the session that stays

    # Every database the script created is gone.
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
    assert not [name for name in names if name.startswith(f"bench_p{results['pid']}_")]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="bench_retention.py needs PostgreSQL")
def test_retention_benchmark_with_held_sessions_smoke(tmp_path):
    """``--held``: the held sessions among the eligible are left alone by both sides."""
    server = f"postgres://{DB.get('USER') or 'postgres'}@{DB.get('HOST') or '127.0.0.1'}"
    server += f":{DB.get('PORT') or 5432}"
    args = ["--scale", "0.001", "--small-scale", "0", "--runs", "1", "--server", server]
    args += ["--held", "10000", "--case", "soft_delete", "--case", "purge"]
    results = run_script("bench_retention.py", *args, tmp_path=tmp_path)
    assert results["held"] == 10000
    soft, purge = results["cases"]["soft_delete"], results["cases"]["purge"]
    assert (soft["data"]["held"], soft["data"]["eligible"]) == (10, 490)
    assert soft["code"]["rows"] == soft["baseline"]["rows"] == [490]
    assert soft["checks"][0] == {"changed": 490, "left": 510}
    assert (purge["data"]["held"], purge["data"]["eligible"]) == (10, 1)
    assert purge["code"]["rows"] == purge["baseline"]["rows"] == [1]
    assert purge["checks"][0]["left"] == 1 + 10
    assert soft["same_result"] and purge["same_result"]


def test_sweep_benchmark_smoke(tmp_path):
    args = ["--scale", "0.01", "--runs", "1", "--dir", str(tmp_path)]
    results = run_script("bench_sweep.py", *args, tmp_path=tmp_path)
    assert results["files"] == 1000
    assert results["old"] == 900
    sweep = results["sweep"]
    locked = results["locked"]
    assert locked == 100
    assert sweep["code"]["locked_spared"] == [locked]  # the sweeper spares every locked file
    assert sweep["baseline"]["locked_spared"] == [0]  # find -delete does not
    assert sweep["code"]["rows"] == [results["old"] - locked]
    assert sweep["code_counts"]["skipped_active"] == locked
    assert sweep["baseline"]["rows"] == [results["old"]]
    assert results["idle_sweep"]["rows"] == [0]
    assert sweep["ratio"] > 0


def test_streaming_benchmark_smoke(tmp_path):
    args = ["--scale", "0.001", "--runs", "1", "--dir", str(tmp_path)]
    results = run_script("bench_streaming.py", *args, tmp_path=tmp_path)
    assert results["appends"] == 1000
    assert results["bytes"] == 1000 * 200
    assert results["bytes_match"]
    assert results["throughput_ratio"] > 0
    assert results["code"]["mb_per_s"] > 0
