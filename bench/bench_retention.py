"""Benchmarks 1-3 of issue 7: retention against PostgreSQL, code path vs one plain statement.

One command (from the repository root, PostgreSQL on 127.0.0.1:5432 by default)::

    .venv/bin/python bench/bench_retention.py            # all three, full scale, 3 runs each

Options: ``--case soft_delete|expire|purge`` (repeatable; default all), ``--scale 0.1``,
``--runs 5``, ``--batch-size 1000`` (the config default), ``--small-scale 0.1`` (the extra
run whose peak RSS is compared; ``0`` skips it), ``--server postgres://user@host:port``,
``--json results.json``.

For each case the data set is built once, server-side with ``generate_series``, in a template
database ``bench_p<pid>_<case>_tpl`` (schema from the project's migrations, then VACUUM FREEZE
ANALYZE); every timed run works on a fresh ``CREATE DATABASE bench_p<pid>_<case>_run TEMPLATE``
clone, checkpointed first. Code path and baseline alternate (the first side flips each round).

- code path: ``manage.py run_cleanup --once`` with a generated tarsy.yaml when the command
  exists (``--via run_cleanup``), else the service function in a fresh process
  (``bench/service_child.py``, ``--via service``). Its time is the job's own duration (the
  service call, or the duration that run_cleanup logs for the job), so Python/Django start-up is
  not counted; the process's wall time is reported beside it.
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
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl

RETENTION_DAYS = 365
# Event TTL: eligible events are 2-30 days old, the others less than 24 h, so the cutoff falls
# in the empty gap between them for hours after the data set is built.
TTL_HOURS = 36
PURGE_DAYS = 30
# Database names carry the process id, so concurrent runs (a smoke test beside a benchmark)
# never drop each other's databases.
TAG = f"p{os.getpid()}_"

SESSIONS_SQL = """
INSERT INTO alert_sessions (session_id, alert_data, agent_type, alert_type, status, created_at,
    started_at, completed_at, final_analysis, session_metadata, mcp_selection, chain_id, pod_id,
    current_stage_index, deleted_at)
SELECT md5(i::text)::uuid::text,
       'alert ' || i || ' ' || repeat(md5(i::text), 8),
       'KubernetesAgent', 'PodCrashLooping', status, created, created + interval '1 minute',
       CASE WHEN status IN ('completed', 'failed', 'cancelled', 'timed_out')
            THEN created + interval '5 minutes' END,
       CASE WHEN status = 'completed' THEN repeat('analysis ', 20) END,
       '{"severity": "warning", "cluster": "prod-1"}', '{"servers": ["kubernetes"]}',
       'kubernetes-chain', 'tarsy-0', 2, NULL
FROM (
    SELECT i,
           CASE WHEN i > %(old)s AND i %% 100 = 0 THEN 'in_progress'
                WHEN i > %(old)s AND i %% 50 = 25 THEN 'in_progress'
                WHEN i %% 50 = 0 THEN 'pending'
                WHEN i %% 50 = 1 THEN 'cancelling'
                ELSE (ARRAY['completed', 'completed', 'completed', 'failed', 'cancelled',
                            'timed_out'])[i %% 6 + 1] END AS status,
           CASE WHEN i <= %(old)s
                    THEN now() - interval '760 days' + (i::float8 / %(old)s) * interval '360 days'
                WHEN i %% 100 = 0 THEN now() - interval '500 days'
                ELSE now() - interval '330 days'
                     + ((i - %(old)s)::float8 / %(young)s) * interval '330 days' END AS created
    FROM generate_series(1, %(total)s) AS i
) AS s
"""

SOFT_DELETE_BASELINE = f"""
UPDATE alert_sessions SET deleted_at = now()
WHERE deleted_at IS NULL
  AND (completed_at < now() - interval '{RETENTION_DAYS} days'
       OR (status IN ('pending', 'cancelling')
           AND created_at < now() - interval '{RETENTION_DAYS} days'))
"""

EVENT_SESSIONS_SQL = """
INSERT INTO alert_sessions (session_id, alert_data, agent_type, alert_type, status, created_at)
SELECT 'sess-' || k, '', 'KubernetesAgent', '', 'in_progress', now() - interval '1 hour'
FROM generate_series(1, 1000) AS k
"""

EVENTS_SQL = """
INSERT INTO events (id, session_id, channel, payload, created_at)
SELECT i, 'sess-' || (i %% 1000 + 1), 'session:sess-' || (i %% 1000 + 1),
       jsonb_build_object('type', 'stage.progress', 'seq', i, 'text', repeat('x', 100)),
       CASE WHEN i <= %(old)s
            THEN now() - interval '30 days' + (i::float8 / %(old)s) * interval '28 days'
            ELSE now() - interval '24 hours'
                 + ((i - %(old)s)::float8 / %(young)s) * interval '23 hours' END
FROM generate_series(1, %(total)s) AS i;
SELECT setval('events_id_seq', %(total)s);
"""

EXPIRE_BASELINE = f"DELETE FROM events WHERE created_at < now() - interval '{TTL_HOURS} hours'"

# Purge: sessions 1..old are soft-deleted 60+ days ago (purged), old+1..total 1 day ago (stay).
# Per session: 1 chat, 5 chat messages, 5 stages, 10 executions, 50 messages, 30 LLM and 30 MCP
# interactions, 50 timeline events, 19 events = 200 child rows, with the cross-links set.
PURGE_SQL = """
INSERT INTO alert_sessions (session_id, alert_data, agent_type, alert_type, status, created_at,
    completed_at, deleted_at)
SELECT 'sess-' || s, repeat('a', 300), 'KubernetesAgent', 'PodCrashLooping', 'completed',
       now() - interval '500 days', now() - interval '499 days',
       CASE WHEN s <= %(old)s THEN now() - interval '60 days' - s * interval '1 minute'
            ELSE now() - interval '1 day' END
FROM generate_series(1, %(total)s) AS s;
INSERT INTO chats (id, session_id, created_by, created_at)
SELECT s, 'sess-' || s, 'oncall', now() FROM generate_series(1, %(total)s) AS s;
INSERT INTO chat_user_messages (id, chat_id, content, author, created_at)
SELECT i, (i - 1) / 5 + 1, repeat('why? ', 20), 'oncall', now()
FROM generate_series(1, %(total)s * 5) AS i;
INSERT INTO stages (id, session_id, name, stage_index, status, chat_id, chat_user_message_id)
SELECT i, 'sess-' || ((i - 1) / 5 + 1), 'stage ' || i, (i - 1) %% 5, 'completed',
       CASE WHEN i %% 5 = 1 THEN (i - 1) / 5 + 1 END, CASE WHEN i %% 5 = 1 THEN i END
FROM generate_series(1, %(total)s * 5) AS i;
INSERT INTO agent_executions (id, session_id, stage_id, agent_name, agent_index, status)
SELECT i, 'sess-' || ((i - 1) / 10 + 1), (i - 1) / 2 + 1, 'KubernetesAgent', 0, 'completed'
FROM generate_series(1, %(total)s * 10) AS i;
INSERT INTO messages (id, session_id, stage_id, execution_id, sequence_number, role, content,
    created_at)
SELECT i, 'sess-' || ((i - 1) / 50 + 1), ((i - 1) / 50) * 5 + (i - 1) %% 5 + 1,
       ((i - 1) / 50) * 10 + (i - 1) %% 10 + 1, i %% 50, 'assistant', repeat('m', 500), now()
FROM generate_series(1, %(total)s * 50) AS i;
INSERT INTO llm_interactions (id, session_id, stage_id, execution_id, interaction_type,
    model_name, last_message_id, llm_request, llm_response, created_at)
SELECT i, 'sess-' || ((i - 1) / 30 + 1), ((i - 1) / 30) * 5 + (i - 1) %% 5 + 1,
       ((i - 1) / 30) * 10 + (i - 1) %% 10 + 1, 'iteration', 'gemini',
       ((i - 1) / 30) * 50 + (i - 1) %% 30 + 1,
       jsonb_build_object('messages', repeat('prompt ', 140)),
       jsonb_build_object('text', repeat('answer ', 70)), now()
FROM generate_series(1, %(total)s * 30) AS i;
INSERT INTO mcp_interactions (id, session_id, stage_id, execution_id, interaction_type,
    server_name, tool_name, tool_arguments, tool_result, created_at)
SELECT i, 'sess-' || ((i - 1) / 30 + 1), ((i - 1) / 30) * 5 + (i - 1) %% 5 + 1,
       ((i - 1) / 30) * 10 + (i - 1) %% 10 + 1, 'tool_call', 'kubernetes', 'get_pods',
       '{"namespace": "prod"}', jsonb_build_object('pods', repeat('pod ', 100)), now()
FROM generate_series(1, %(total)s * 30) AS i;
INSERT INTO timeline_events (id, session_id, stage_id, execution_id, sequence_number, event_type,
    status, content, llm_interaction_id, mcp_interaction_id, created_at, updated_at)
SELECT i, 'sess-' || ((i - 1) / 50 + 1), ((i - 1) / 50) * 5 + (i - 1) %% 5 + 1,
       ((i - 1) / 50) * 10 + (i - 1) %% 10 + 1, i %% 50, 'llm_response', 'completed',
       repeat('t', 200),
       CASE WHEN (i - 1) %% 50 < 30 THEN ((i - 1) / 50) * 30 + (i - 1) %% 50 + 1 END,
       CASE WHEN (i - 1) %% 50 >= 30 THEN ((i - 1) / 50) * 30 + (i - 1) %% 50 - 29 END,
       now(), now()
FROM generate_series(1, %(total)s * 50) AS i;
INSERT INTO events (id, session_id, channel, payload, created_at)
SELECT i, 'sess-' || ((i - 1) / 19 + 1), 'session', '{"type": "done"}', now()
FROM generate_series(1, %(total)s * 19) AS i;
"""

PURGE_BASELINE = (
    f"DELETE FROM alert_sessions WHERE deleted_at < now() - interval '{PURGE_DAYS} days'"
)
CHILD_TABLES = (
    "stages agent_executions timeline_events messages llm_interactions mcp_interactions "
    "events chats chat_user_messages"
).split()


@dataclass
class Case:
    name: str
    job: str  # the step name run_cleanup logs / the service_child op
    baseline: str

    def build(self, server: str, db: str, scale: float) -> dict[str, int]:
        raise NotImplementedError

    def check(self, server: str, db: str, expected: dict[str, int]) -> dict[str, int]:
        raise NotImplementedError


class SoftDelete(Case):
    def build(self, server: str, db: str, scale: float) -> dict[str, int]:
        total = bl.scaled(1_000_000, scale)
        old = total // 2
        bl.run_sql(server, db, SESSIONS_SQL, {"total": total, "old": old, "young": total - old})
        return {"rows": total, "eligible": old}

    def check(self, server: str, db: str, expected: dict[str, int]) -> dict[str, int]:
        [(deleted, live)] = bl.run_sql(
            server,
            db,
            "SELECT count(deleted_at), count(*) - count(deleted_at) FROM alert_sessions",
        )
        return {"changed": deleted, "left": live}


class Expire(Case):
    def build(self, server: str, db: str, scale: float) -> dict[str, int]:
        total = bl.scaled(5_000_000, scale)
        old = bl.scaled(4_000_000, scale)
        bl.run_sql(server, db, EVENT_SESSIONS_SQL)
        bl.run_sql(server, db, EVENTS_SQL, {"total": total, "old": old, "young": total - old})
        return {"rows": total, "eligible": old}

    def check(self, server: str, db: str, expected: dict[str, int]) -> dict[str, int]:
        [(left,)] = bl.run_sql(server, db, "SELECT count(*) FROM events")
        return {"changed": expected["rows"] - left, "left": left}


class Purge(Case):
    def build(self, server: str, db: str, scale: float) -> dict[str, int]:
        old = bl.scaled(1000, scale)
        bl.run_sql(server, db, PURGE_SQL, {"total": 2 * old, "old": old})
        return {"rows": 2 * old, "eligible": old, "child_rows": 2 * old * 200}

    def check(self, server: str, db: str, expected: dict[str, int]) -> dict[str, int]:
        counts = " + ".join(f"(SELECT count(*) FROM {t})" for t in CHILD_TABLES)
        [(left, children)] = bl.run_sql(
            server, db, f"SELECT (SELECT count(*) FROM alert_sessions), {counts}"
        )
        return {"changed": expected["rows"] - left, "left": left, "children_left": children}


CASES: dict[str, Case] = {
    "soft_delete": SoftDelete("soft_delete", "soft_delete", SOFT_DELETE_BASELINE),
    "expire": Expire("expire", "expire", EXPIRE_BASELINE),
    "purge": Purge("purge", "purge", PURGE_BASELINE),
}


def has_run_cleanup() -> bool:
    return (bl.REPO / "retention" / "management" / "commands" / "run_cleanup.py").exists()


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
        "  streaming_logs:\n"
        f"    base_dir: {directory}/streaming\n"
    )
    return str(path)


# A job's duration in run_cleanup's JSON log lines (seconds or milliseconds, by key name).
DURATION_KEYS = ("duration_s", "duration_seconds", "duration", "duration_ms", "elapsed_s")


def job_seconds_from_log(stderr: str, case: str) -> float | None:
    """The retention job's own duration from run_cleanup's one structured line per run."""
    found = None
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "retention" not in json.dumps(record.get("job", "")):
            continue
        for key in DURATION_KEYS:
            value = record.get(key)
            if isinstance(value, int | float):
                found = value / 1000 if key.endswith("_ms") else float(value)
                break
    return found


def rows_from_log(stderr: str, case: str) -> int | None:
    keys = {
        "soft_delete": ("soft_deleted", "sessions_soft_deleted"),
        "expire": ("events_expired", "expired_events", "events_deleted"),
        "purge": ("purged", "sessions_purged"),
    }[case]
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            for key in keys:
                if isinstance(record.get(key), int):
                    return record[key]
            counts = record.get("counts")
            if isinstance(counts, dict):
                for key in keys:
                    if isinstance(counts.get(key), int):
                        return counts[key]
    return None


def run_code_path(args, case: Case, server: str, db: str, tmp: str) -> dict:
    """The project's code path on ``db``; returns seconds, wall, rows, peak RSS."""
    url = bl.db_url(server, db)
    if args.via == "run_cleanup":
        env = bl.project_env(url, LOG_FORMAT="json", LOG_LEVEL="info")
        config = tarsy_yaml(case.name, args.batch_size, tmp)
        argv = [bl.PYTHON, str(bl.REPO / "manage.py"), "run_cleanup", "--once"]
        result = bl.run_child([*argv, "--config", config], env=env)
        if result["rc"] != 0:
            raise RuntimeError(f"run_cleanup failed: {result['stderr'][-3000:]}")
        seconds = job_seconds_from_log(result["stderr"], case.name)
        return {
            "seconds": seconds if seconds is not None else result["wall"],
            "wall": result["wall"],
            "rows": rows_from_log(result["stderr"], case.name),
            "maxrss_kb": result["maxrss_kb"],
        }
    argv = [
        bl.PYTHON,
        str(bl.REPO / "bench" / "service_child.py"),
        case.job,
        f"--batch-size={args.batch_size}",
        f"--retention-days={RETENTION_DAYS}",
        f"--ttl-seconds={TTL_HOURS * 3600}",
        f"--purge-days={PURGE_DAYS}",
    ]
    result = bl.run_child(argv, env=bl.project_env(url))
    if result["rc"] != 0:
        raise RuntimeError(f"service run failed: {result['stderr'][-3000:]}")
    report = json.loads(result["stdout"].strip().splitlines()[-1])
    return {
        "seconds": report["seconds"],
        "wall": result["wall"],
        "rows": report["rows"],
        "maxrss_kb": result["maxrss_kb"],
    }


def run_baseline(case: Case, server: str, db: str) -> dict:
    with bl.connect(server, db) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        cur.execute(case.baseline)
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "rows": cur.rowcount}


def prepare_template(
    server: str, case: Case, scale: float, schema_tpl: str, dbs: list[str], suffix: str = ""
):
    tpl = f"bench_{TAG}{case.name}_tpl{suffix}"
    dbs.append(tpl)
    bl.create_db(server, tpl, template=schema_tpl)
    started = time.perf_counter()
    expected = case.build(server, tpl, scale)
    bl.run_sql(server, tpl, "VACUUM (FREEZE, ANALYZE)")
    expected["build_s"] = round(time.perf_counter() - started, 1)
    return tpl, expected


def clone(server: str, tpl: str, name: str) -> None:
    bl.create_db(server, name, template=tpl)
    bl.run_sql(server, "postgres", "CHECKPOINT")


def bench_case(args, case: Case, server: str, schema_tpl: str, dbs: list[str], tmp: str):
    tpl, expected = prepare_template(server, case, args.scale, schema_tpl, dbs)
    print(f"[{case.name}] built {expected} in template {tpl}", file=sys.stderr)
    run_db = f"bench_{TAG}{case.name}_run"
    dbs.append(run_db)
    code, base = bl.Series(), bl.Series()
    walls: list[float] = []
    checks: list[dict] = []

    def code_run(i: int) -> None:
        clone(server, tpl, run_db)
        with bl.TxnSampler(server, run_db) as sampler:
            result = run_code_path(args, case, server, run_db, tmp)
        checks.append(case.check(server, run_db, expected))
        code.seconds.append(result["seconds"])
        walls.append(result["wall"])
        code.rows.append(result["rows"])
        code.maxrss_kb.append(result["maxrss_kb"])
        code.longest_txn.append(sampler.max_seconds)
        code.transactions.append(sampler.transactions)
        print(f"[{case.name}] run {i} code: {result} txn {sampler.max_seconds:.3f}s "
              f"({sampler.transactions} sampled)", file=sys.stderr)  # fmt: skip
        bl.drop_db(server, run_db)

    def base_run(i: int) -> None:
        clone(server, tpl, run_db)
        with bl.TxnSampler(server, run_db) as sampler:
            result = run_baseline(case, server, run_db)
        checks.append(case.check(server, run_db, expected))
        base.seconds.append(result["seconds"])
        base.rows.append(result["rows"])
        base.longest_txn.append(sampler.max_seconds)
        base.transactions.append(sampler.transactions)
        print(f"[{case.name}] run {i} baseline: {result}", file=sys.stderr)
        bl.drop_db(server, run_db)

    bl.alternate(args.runs, code_run, base_run)
    out = {
        "data": expected,
        "code": {**code.summary(), "median_wall_s": round(sorted(walls)[len(walls) // 2], 3)},
        "baseline": base.summary(),
        "ratio": bl.ratio(code, base),
        "checks": checks,
        "same_result": all(c == checks[0] for c in checks),
    }
    if args.small_scale:
        small_tpl, small_expected = prepare_template(
            server, case, args.small_scale, schema_tpl, dbs, "_small"
        )
        small_run = f"bench_{TAG}{case.name}_run_small"
        dbs.append(small_run)
        clone(server, small_tpl, small_run)
        with bl.TxnSampler(server, small_run) as sampler:
            small = run_code_path(args, case, server, small_run, tmp)
        bl.drop_db(server, small_run)
        bl.drop_db(server, small_tpl)
        out["small_scale"] = {
            "scale": args.small_scale,
            "data": small_expected,
            "seconds": round(small["seconds"], 4),
            "peak_rss_kb": small["maxrss_kb"],
            "longest_txn_s": round(sampler.max_seconds, 3),
        }
        out["rss_ratio_full_to_small"] = round(out["code"]["peak_rss_kb"] / small["maxrss_kb"], 3)
    bl.drop_db(server, tpl)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--small-scale", type=float, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--via", choices=["auto", "run_cleanup", "service"], default="auto")
    parser.add_argument("--server", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.via == "auto":
        args.via = "run_cleanup" if has_run_cleanup() else "service"
    if args.small_scale is None:
        args.small_scale = args.scale / 10
    server = bl.server_url(args.server)
    cases = args.case or list(CASES)
    results: dict = {
        "machine": bl.machine(),
        "postgres": bl.run_sql(server, "postgres", "SELECT version()")[0][0],
        "scale": args.scale,
        "runs": args.runs,
        "batch_size": args.batch_size,
        "via": args.via,
        "pid": os.getpid(),
        "cases": {},
    }
    with bl.scratch_dbs(server) as dbs, tempfile.TemporaryDirectory(prefix="bench_") as tmp:
        schema_tpl = f"bench_{TAG}schema_tpl"
        dbs.append(schema_tpl)
        bl.create_db(server, schema_tpl)
        bl.migrate(server, schema_tpl)
        for name in cases:
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
