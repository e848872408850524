"""TARSy Ops' version: the one in pyproject.toml, as the installed package records it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "tarsy-ops"


def project_version() -> str:
    """``0.1.0``; ``unknown`` when the project runs without being installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def version_line() -> str:
    """What ``--version`` prints."""
    return f"tarsy-ops {project_version()}"
