"""Test settings: the real settings plus a signing key (tests never run with DEBUG on)."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")

from tarsy_project.settings import *  # noqa: F403
