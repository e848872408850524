"""Records of what the cleanup sidecar did."""

from django.db import models


class CleanupRun(models.Model):
    """One run of one cleanup job on one host: when, how it ended, and what it changed.

    Every retention run is recorded; sweeps only when they changed something, failed, or are
    the first after a start or a failure (so thousands of empty sweeps leave no rows). Dry
    runs record nothing. Records older than 30 days expire with the retention job.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILED = "failed"
        INTERRUPTED = "interrupted"

    job = models.CharField(max_length=50)
    host = models.CharField(max_length=255)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    counts = models.JSONField(default=dict)
    error = models.TextField(blank=True, default="")
    # The steps that failed, in step order: a run goes on past a failed step.
    failed_steps = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "cleanup_runs"
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["job", "host", "-started_at"], name="cleanup_runs_last_idx"),
            models.Index(fields=["started_at"], name="cleanup_runs_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.job} on {self.host} at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.outcome})"

    @property
    def duration_ms(self) -> int:
        return int((self.finished_at - self.started_at).total_seconds() * 1000)
