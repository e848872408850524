"""Retention benchmarks against PostgreSQL, code path vs one plain statement.

One command (from the repository root, PostgreSQL on 127.0.0.1:5432 by default)::

    .venv/bin/python bench/bench_retention.py            # all three, full scale, 3 runs each

Options: ``--case soft_delete|expire|purge`` (repeatable; default all), ``--scale 0.1``,
``--runs 5``, ``--batch-size 1000`` (the config default), ``--small-scale 0.1`` (the extra
run whose peak RSS is compared; ``0`` skips it), ``--server postgres://user@host:port``,
``--json results.json``, ``--held 10000`` (soft_delete and purge: that many of the eligible
sessions held, times ``--scale``; the baseline then skips them the way the code does).

For each case the data set is built once, server-side with ``generate_series``, in a template
database ``bench_p<pid>_<case>_tpl`` (schema from the project's migrations, then VACUUM FREEZE
ANALYZE); every timed run works on a fresh ``CREATE DATABASE bench_p<pid>_<case>_run TEMPLATE``
clone, checkpointed first. Code path and baseline alternate (the first side flips each round).

- code path: ``manage.py run_cleanup --once`` with a generated tarsy.yaml that makes it do
  exactly the case's work. Its time is the ``duration_ms`` that run_cleanup logs for the
  retention job, so Python/Django start-up is not counted; the process's wall time is reported
  beside it.
- baseline: the one statement doing the same work, on its own connection.
- longest transaction: ``pg_stat_activity`` sampled every 20 ms (see ``benchlib.TxnSampler``).
- peak RSS: ``ru_maxrss`` of the code path's process (``os.wait4``), at ``--scale`` and at
  ``--small-scale``.

Every database created is dropped at the end (also on error or Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl
from retention_cases import (
    CASES,
    PURGE_DAYS,
    RETENTION_DAYS,
    TTL_HOURS,
    Case,
    add_holds,
    excluding_holds,
)

# Database names carry the process id, so concurrent runs (a smoke test beside a benchmark)
# never drop each other's databases.
TAG = f"p{os.getpid()}_"


def tarsy_yaml(case: str, batch_size: int, directory: str) -> str:
    """A config that makes ``run_cleanup --once`` do exactly this case's work."""
    purge = PURGE_DAYS if case == "purge" else "null"
    path = Path(directory) / f"tarsy-{case}.yaml"
    path.write_text(
        "system:\n"
        "  retention:\n"
        f"    session_retention_days: {RETENTION_DAYS}\n"
        f"    event_ttl: {TTL_HOURS}h\n"
        f"    purge_after_days: {purge}\n"
        f"    batch_size: {batch_size}\n"
        "    orphan_detection: false\n"
        "  streaming_logs:\n"
        f"    base_dir: {directory}/streaming\n"
    )
    return str(path)


def retention_run_record(stderr: str) -> dict:
    """run_cleanup's one JSON line for the retention job's run (it logs ``job`` and
    ``outcome`` on that line only)."""
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("job") == "retention" and "outcome" in record:
            return record
    raise RuntimeError(f"run_cleanup logged no retention run line: {stderr[-3000:]}")


def run_code_path(args, case: Case, server: str, db: str, tmp: str) -> dict:
    """``run_cleanup --once`` on ``db``; returns the job's seconds, wall, rows, peak RSS."""
    env = bl.project_env(bl.db_url(server, db), LOG_FORMAT="json", LOG_LEVEL="info")
    config = tarsy_yaml(case.name, args.batch_size, tmp)
    argv = [bl.PYTHON, str(bl.REPO / "manage.py"), "run_cleanup", "--once", "--config", config]
    result = bl.run_child(argv, env=env)
    if result["rc"] != 0:
        raise RuntimeError(f"run_cleanup failed: {result['stderr'][-3000:]}")
    record = retention_run_record(result["stderr"])
    return {
        "seconds": record["duration_ms"] / 1000,
        "wall": result["wall"],
        "rows": record[case.count_key],
        "maxrss_kb": result["maxrss_kb"],
    }


def run_baseline(case: Case, server: str, db: str, held: int) -> dict:
    with bl.connect(server, db) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        cur.execute(excluding_holds(case) if held else case.baseline)
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "rows": cur.rowcount}


def prepare_template(
    server: str,
    case: Case,
    scale: float,
    schema_tpl: str,
    dbs: list[str],
    suffix: str = "",
    held: int = 0,
):
    tpl = f"bench_{TAG}{case.name}_tpl{suffix}"
    dbs.append(tpl)
    bl.create_db(server, tpl, template=schema_tpl)
    started = time.perf_counter()
    expected = case.build(server, tpl, scale)
    if held:
        add_holds(server, tpl, case, expected, bl.scaled(held, scale))
    bl.run_sql(server, tpl, "VACUUM (FREEZE, ANALYZE)")
    expected["build_s"] = round(time.perf_counter() - started, 1)
    return tpl, expected


def clone(server: str, tpl: str, name: str) -> None:
    bl.create_db(server, name, template=tpl)
    bl.run_sql(server, "postgres", "CHECKPOINT")


class CaseRuns:
    """Both sides of one case, alternating on fresh clones of one template."""

    def __init__(self, args, case: Case, server: str, tpl: str, expected: dict, tmp: str):
        self.args, self.case, self.server, self.tpl = args, case, server, tpl
        self.expected, self.tmp = expected, tmp
        self.run_db = f"bench_{TAG}{case.name}_run"
        self.code, self.base = bl.Series(), bl.Series()
        self.walls: list[float] = []
        self.checks: list[dict] = []

    def _measure(self, side: bl.Series, run) -> dict:
        clone(self.server, self.tpl, self.run_db)
        try:
            with bl.TxnSampler(self.server, self.run_db) as sampler:
                result = run()
            self.checks.append(self.case.check(self.server, self.run_db, self.expected))
        finally:
            bl.drop_db(self.server, self.run_db)
        side.seconds.append(result["seconds"])
        side.rows.append(result["rows"])
        side.longest_txn.append(sampler.max_seconds)
        side.transactions.append(sampler.transactions)
        print(f"[{self.case.name}] {result} txn {sampler.max_seconds:.3f}s", file=sys.stderr)
        return result

    def code_run(self, i: int) -> None:
        result = self._measure(
            self.code,
            lambda: run_code_path(self.args, self.case, self.server, self.run_db, self.tmp),
        )
        self.walls.append(result["wall"])
        self.code.maxrss_kb.append(result["maxrss_kb"])

    def base_run(self, i: int) -> None:
        self._measure(
            self.base,
            lambda: run_baseline(self.case, self.server, self.run_db, self.args.held),
        )

    def summary(self) -> dict:
        return {
            "data": self.expected,
            "code": {**self.code.summary(), "median_wall_s": round(bl.median(self.walls), 3)},
            "baseline": self.base.summary(),
            "ratio": bl.ratio(self.code, self.base),
            "checks": self.checks,
            "same_result": all(c == self.checks[0] for c in self.checks),
        }


def small_scale_run(args, case: Case, server: str, schema_tpl: str, dbs: list[str], tmp: str):
    """The code path once at ``--small-scale``: its peak RSS, to compare with full scale."""
    tpl, expected = prepare_template(
        server, case, args.small_scale, schema_tpl, dbs, "_small", args.held
    )
    run_db = f"bench_{TAG}{case.name}_run_small"
    dbs.append(run_db)
    clone(server, tpl, run_db)
    with bl.TxnSampler(server, run_db) as sampler:
        small = run_code_path(args, case, server, run_db, tmp)
    bl.drop_db(server, run_db)
    bl.drop_db(server, tpl)
    return {
        "scale": args.small_scale,
        "data": expected,
        "seconds": round(small["seconds"], 4),
        "peak_rss_kb": small["maxrss_kb"],
        "longest_txn_s": round(sampler.max_seconds, 3),
    }


def bench_case(args, case: Case, server: str, schema_tpl: str, dbs: list[str], tmp: str):
    tpl, expected = prepare_template(server, case, args.scale, schema_tpl, dbs, held=args.held)
    print(f"[{case.name}] built {expected} in template {tpl}", file=sys.stderr)
    runs = CaseRuns(args, case, server, tpl, expected, tmp)
    bl.alternate(args.runs, runs.code_run, runs.base_run)
    out = runs.summary()
    if args.small_scale:
        out["small_scale"] = small_scale_run(args, case, server, schema_tpl, dbs, tmp)
        small_rss = out["small_scale"]["peak_rss_kb"]
        out["rss_ratio_full_to_small"] = round(out["code"]["peak_rss_kb"] / small_rss, 3)
    bl.drop_db(server, tpl)
    return out


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bl.add_common_args(parser, directory=False)
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    parser.add_argument("--small-scale", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--server", default=None)
    parser.add_argument("--held", type=int, default=0)
    args = parser.parse_args(argv)
    if args.small_scale is None:
        args.small_scale = args.scale / 10
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = bl.server_url(args.server)
    results: dict = {
        "machine": bl.machine(),
        "postgres": bl.run_sql(server, "postgres", "SELECT version()")[0][0],
        "scale": args.scale,
        "runs": args.runs,
        "batch_size": args.batch_size,
        "held": args.held,
        "pid": os.getpid(),
        "cases": {},
    }
    with bl.scratch_dbs(server) as dbs, tempfile.TemporaryDirectory(prefix="bench_") as tmp:
        schema_tpl = f"bench_{TAG}schema_tpl"
        dbs.append(schema_tpl)
        bl.create_db(server, schema_tpl)
        bl.migrate(server, schema_tpl)
        for name in args.case or list(CASES):
            results["cases"][name] = bench_case(args, CASES[name], server, schema_tpl, dbs, tmp)
    bl.emit(results, args.json)
    print(table(results), file=sys.stderr)
    return 0


def table(results: dict) -> str:
    lines = [
        "| case | code median s | baseline median s | ratio | longest txn code / base s "
        "| peak RSS full / small MB |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results["cases"].items():
        small = r.get("small_scale", {}).get("peak_rss_kb")
        rss = f"{r['code']['peak_rss_kb'] / 1024:.1f}"
        if small:
            rss += f" / {small / 1024:.1f}"
        lines.append(
            f"| {name} | {r['code']['median_s']} | {r['baseline']['median_s']} | {r['ratio']} "
            f"| {r['code']['longest_txn_s']} / {r['baseline']['longest_txn_s']} | {rss} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
