"""Running this checkout's ``manage.py`` (and servers) as real processes, for the tests of
what an operator sees: exit codes and the one line on stderr."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_env(**overrides: str) -> dict[str, str]:
    """This process's environment for a child, with nothing of this checkout's settings."""
    env = dict(os.environ)
    for name in ("DJANGO_SETTINGS_MODULE", "TARSY_CONFIG", "LOG_LEVEL", "DEBUG", "CI"):
        env.pop(name, None)
    env.update(LOG_FORMAT="json", PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, str(REPO / "manage.py"), *args], env=env)


def run(argv: list[str], *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in the repository to its end (two minutes at most), output captured."""
    return subprocess.run(
        argv,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def the_error(done: subprocess.CompletedProcess[str], command: str) -> str:
    """The message of the only stderr line, a JSON error record of ``command``."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    record = json.loads(lines[0])
    assert record["level"] == "ERROR", record
    assert record["logger"] == "tarsy.command", record
    assert record["command"] == command, record
    assert record["exit_code"] == done.returncode, record
    return record["message"]
