"""Run one retention service function in this (fresh) process and report on stdout as JSON.

Used by ``bench_retention.py`` so that the peak RSS measured is the code path's own process.
``DATABASE_URL`` names the database. Not meant to be run by hand, but it can be::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_x python bench/service_child.py \
        soft_delete --retention-days 365 --batch-size 1000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tarsy_project.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("op", choices=["soft_delete", "expire", "purge"])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--retention-days", type=int, default=365)
    parser.add_argument("--ttl-seconds", type=int, default=3600)
    parser.add_argument("--purge-days", type=int, default=30)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from sessions.services import retention

    connection.ensure_connection()
    now = timezone.now()
    common = {"now": now, "batch_size": args.batch_size, "dry_run": args.dry_run}
    started = time.perf_counter()
    if args.op == "soft_delete":
        rows = retention.soft_delete_old_sessions(retention_days=args.retention_days, **common)
    elif args.op == "expire":
        rows = retention.expire_events(ttl=timedelta(seconds=args.ttl_seconds), **common)
    else:
        rows = retention.purge_deleted_sessions(after_days=args.purge_days, **common)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {"op": args.op, "rows": rows, "seconds": seconds, "maxrss_kb": usage.ru_maxrss}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
