"""``manage.py check`` validates the tarsy.yaml that ``TARSY_CONFIG`` names.

A typo then fails the deployment's check, not the first cleanup run: the loader's message is a
check Error, its unknown-key warnings are check Warnings. The commands that load tarsy.yaml
themselves (those with ``--config``) skip this check while they run their own system checks:
they report a bad file as one clean line, and with ``--config`` they read another file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core import checks

from tarsy_project.config import ConfigError, load_config_with_warnings

TAG = "tarsy_config"
_skipped: ContextVar[bool] = ContextVar("tarsy_config_check_skipped", default=False)


@contextmanager
def config_check_skipped() -> Iterator[None]:
    """Within the block, :func:`check_tarsy_config` finds nothing: the caller validates."""
    token = _skipped.set(True)
    try:
        yield
    finally:
        _skipped.reset(token)


def check_tarsy_config(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The problems of the file ``TARSY_CONFIG`` names (none when it is unset)."""
    path = settings.TARSY_CONFIG
    if not path or _skipped.get():
        return []
    try:
        loaded = load_config_with_warnings(path)
    except ConfigError as exc:
        return [
            checks.Error(
                f"invalid configuration: {exc}",
                hint=f"fix the file TARSY_CONFIG names ({path})",
                id="tarsy.E001",
            )
        ]
    return [checks.Warning(f"{path}: {warning}", id="tarsy.W001") for warning in loaded.warnings]
