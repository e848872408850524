"""Test settings: the real settings plus a signing key (tests never run with DEBUG on)."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")

from tarsy_project.settings import *  # noqa: F403
from tarsy_project.settings import BASE_DIR, DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that `manage.py` subprocesses started by tests see the same data;
    # one per test run, so that runs side by side never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "var" / f"test_tarsy_{os.getpid()}.sqlite3")
    }
