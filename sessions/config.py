"""``queue.orphan_detection_interval`` and ``queue.orphan_threshold`` of tarsy.yaml.

``queue`` is TARSy's own section (its worker pool); TARSy Ops reads these two keys so that its
orphan detection follows the timing TARSy's workers use, and accepts the others unvalidated.
"""

from dataclasses import dataclass
from datetime import timedelta

from tarsy_project.config_fields import MAX_INTERVAL, setting


@dataclass(frozen=True)
class OrphanDetectionConfig:
    """How often sessions stuck ``in_progress`` are looked for, and how stale they must be."""

    orphan_detection_interval: timedelta = setting(
        timedelta(minutes=5), "duration", maximum=MAX_INTERVAL, doc="how often to look"
    )
    orphan_threshold: timedelta = setting(
        timedelta(minutes=5),
        "duration",
        maximum=MAX_INTERVAL,
        doc="an in_progress session without a heartbeat for this long is an orphan",
    )
