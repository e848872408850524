"""``system.streaming_logs`` of tarsy.yaml: session log files and their sweep."""

from dataclasses import dataclass
from pathlib import Path

from tarsy_project.config_fields import MAX_INTERVAL, setting

_DAY_SECONDS = 24 * 3600
_INTERVAL_SECONDS = int(MAX_INTERVAL.total_seconds())
# A cap on the directory's size, in MiB: 16 TiB is beyond any volume a log directory gets.
MAX_DIR_MB = 16 * 1024 * 1024


@dataclass(frozen=True)
class StreamingLogsConfig:
    """Where session log files live, how they are flushed, and how long completed ones stay."""

    enabled: bool = setting(True, "bool")
    base_dir: Path = setting(Path("logs/streaming"), "path")
    flush_interval_seconds: int = setting(2, "int", minimum=1, maximum=_DAY_SECONDS)
    cleanup_interval_seconds: int = setting(60, "int", minimum=1, maximum=_INTERVAL_SECONDS)
    file_retention_minutes: int = setting(10, "int", minimum=0, maximum=_INTERVAL_SECONDS // 60)
    max_session_age_hours: int = setting(24, "int", minimum=1, maximum=_INTERVAL_SECONDS // 3600)
    time_based_cleanup: bool = setting(True, "bool")
    min_free_percent: float = setting(
        5.0,
        "number",
        minimum=0,
        maximum=100,
        doc="below this much free space, completed files go oldest first (0 = off)",
    )
    max_dir_mb: int | None = setting(
        None,
        "int",
        minimum=1,
        maximum=MAX_DIR_MB,
        nullable=True,
        doc="above this size, completed files go oldest first (null = off)",
    )

    def __post_init__(self) -> None:
        # A relative base_dir is resolved against the working directory at start.
        object.__setattr__(self, "base_dir", Path(self.base_dir).expanduser().absolute())
