"""The tarsy.yaml the admin goes by, read once per process.

The admin's restore holds for ``system.retention.restore_hold_days`` and previews the next
cleanup run with the retention settings the sidecar reads, from the same file
(``TARSY_CONFIG``; ``manage.py check`` validates it before a deployment).
"""

from __future__ import annotations

from functools import cache

from django.conf import settings

from tarsy_project.config import TarsyConfig, load_config


@cache
def tarsy_config() -> TarsyConfig:
    return load_config(settings.TARSY_CONFIG)
