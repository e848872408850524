"""``run_cleanup --once --dry-run --list``: what each step of a run would change, by name.

Every job the configuration asks for is looked at once, at one frozen ``now``, as a dry run:
a step with a ``preview`` lists the first rows it would change (at most ``limit``) and how many
there are in all; any other step gives the counts of its dry run. Nothing is changed and
nothing is recorded. The listing is text for people or JSON for scripts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from retention.registry import Counts, Job, Step, StepRun, registry
from tarsy_project.config import TarsyConfig
from tarsy_project.text_output import json_value, rfc3339, table

TEXT, JSON = "text", "json"
FORMATS = (TEXT, JSON)


@dataclass(frozen=True)
class StepListing:
    """One step's share of the listing: rows it would change (steps with a preview) or the
    counts of its dry run."""

    job: str
    step: str
    counts: dict[str, int]
    rows: tuple[Mapping[str, Any], ...] = ()
    listed: bool = False  # whether the step names its rows (has a preview)

    @property
    def more(self) -> int:
        """Rows the step would change beyond those listed."""
        return self.counts[self.step] - len(self.rows) if self.listed else 0


@dataclass(frozen=True)
class Listing:
    now: datetime
    limit: int
    steps: list[StepListing] = field(default_factory=list)


def list_changes(config: TarsyConfig, *, limit: int, now: datetime | None = None) -> Listing:
    """What a run of every job ``config`` asks for would change at ``now`` (default: now)."""
    listing = Listing(now or timezone.now(), limit)
    run = StepRun(
        now=listing.now, dry_run=True, progress=lambda done: None, stop_requested=lambda: False
    )
    for job in registry.build_jobs(config):
        listing.steps.extend(_step_listing(job, step, run, limit) for step in job.steps)
    return listing


def _step_listing(job: Job, step: Step, run: StepRun, limit: int) -> StepListing:
    if step.preview is not None:
        preview = step.preview(run, limit)
        return StepListing(job.name, step.name, {step.name: preview.total}, preview.rows, True)
    counted: int | Counts = step.perform(run)
    counts = {step.name: counted} if isinstance(counted, int) else dict(counted)
    return StepListing(job.name, step.name, counts)


def render(listing: Listing, output_format: str) -> str:
    return render_json(listing) if output_format == JSON else render_text(listing)


def render_json(listing: Listing) -> str:
    """One JSON document: ``now``, ``limit`` and per step its counts, and for a step that names
    its rows, ``rows`` (times in RFC 3339, UTC) and ``more`` (those not listed)."""
    steps = []
    for step in listing.steps:
        entry: dict[str, Any] = {"job": step.job, "step": step.step, "counts": step.counts}
        if step.listed:
            entry["rows"] = [{k: json_value(v) for k, v in row.items()} for row in step.rows]
            entry["more"] = step.more
        steps.append(entry)
    document = {"now": json_value(listing.now), "limit": listing.limit, "steps": steps}
    return json.dumps(document, indent=2)


def render_text(listing: Listing) -> str:
    """A heading per step (``retention / soft_deleted: 3``), then its rows as a table."""
    lines = [f"Dry run at {rfc3339(listing.now)}: nothing was changed."]
    for step in listing.steps:
        counts = ", ".join(f"{name} {n}" for name, n in step.counts.items())
        lines.append("")
        lines.append(f"{step.job} / {step.step}: {counts}")
        if step.rows:
            lines.extend(f"  {line}" for line in table(step.rows))
        if step.more:
            lines.append(f"  ... and {step.more} more (--limit to see more)")
    return "\n".join(lines)
