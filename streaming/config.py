"""``system.streaming_logs`` of tarsy.yaml: session log files and their sweep."""

from dataclasses import dataclass
from pathlib import Path

from tarsy_project.config_fields import setting


@dataclass(frozen=True)
class StreamingLogsConfig:
    """Where session log files live, how they are flushed, and how long completed ones stay."""

    enabled: bool = setting(True, "bool")
    base_dir: Path = setting(Path("logs/streaming"), "path")
    flush_interval_seconds: int = setting(2, "int", minimum=1)
    cleanup_interval_seconds: int = setting(60, "int", minimum=1)
    file_retention_minutes: int = setting(10, "int", minimum=0)
    max_session_age_hours: int = setting(24, "int", minimum=1)
    time_based_cleanup: bool = setting(True, "bool")
    # Disk pressure (streaming.pressure): below this share of free space (0 = off), or above
    # this many MiB in the directory (null = off), completed files go inside the window too.
    min_free_percent: int = setting(5, "int", minimum=0, maximum=100)
    max_dir_mb: int | None = setting(None, "int", minimum=1, nullable=True)

    def __post_init__(self) -> None:
        # A relative base_dir is resolved against the working directory at start.
        object.__setattr__(self, "base_dir", Path(self.base_dir).expanduser().absolute())
