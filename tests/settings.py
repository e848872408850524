"""Test settings: the real settings plus a signing key (tests never run with DEBUG on)."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")

from tarsy_project.settings import *  # noqa: F403
from tarsy_project.settings import BASE_DIR, DATABASES, MIDDLEWARE

# Django's CSP middleware sends no header while SECURE_CSP is empty (its default): the tests
# that check a policy set one (a strict one for the retention overview).
CSP_MIDDLEWARE = "django.middleware.csp.ContentSecurityPolicyMiddleware"
if CSP_MIDDLEWARE not in MIDDLEWARE:
    MIDDLEWARE = [*MIDDLEWARE, CSP_MIDDLEWARE]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that `manage.py` subprocesses started by tests see the same data;
    # one per test run, so that runs side by side never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "var" / f"test_tarsy_{os.getpid()}.sqlite3")
    }
