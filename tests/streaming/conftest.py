"""Fixtures shared by the streaming tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.streaming.util import StartWriter, WriterProcess, write_config


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    """The streaming-log directory of a test (not created: the writer creates it)."""
    return tmp_path / "streaming"


@pytest.fixture
def config_file(tmp_path: Path, base_dir: Path) -> Path:
    """A tarsy.yaml naming ``base_dir``; modules that need other settings override it."""
    return write_config(tmp_path / "tarsy.yaml", base_dir)


@pytest.fixture
def command_env() -> dict[str, str]:
    """Environment of a ``stream_session`` process: it needs no database, nor the test
    settings (it must not depend on them)."""
    environ = dict(os.environ)
    for name in ("TARSY_CONFIG", "DJANGO_SETTINGS_MODULE", "LOG_FORMAT"):
        environ.pop(name, None)
    environ["SECRET_KEY"] = "tests-only-not-secret"
    environ["PYTHONUNBUFFERED"] = "1"
    return environ


@pytest.fixture
def start_writer(
    tmp_path: Path, config_file: Path, command_env: dict[str, str], manage_py: list[str]
) -> Iterator[StartWriter]:
    """Start ``stream_session <id>`` with ``config_file`` and a pipe on stdin; stops leftovers
    at teardown."""
    started: list[WriterProcess] = []
    logs = tmp_path / "stderr"
    logs.mkdir()

    def start(session_id: str, *extra: str) -> WriterProcess:
        stderr_path = logs / f"{len(started)}.txt"
        stderr = open(stderr_path, "wb")
        proc = WriterProcess(
            [*manage_py, "stream_session", session_id, *extra, "--config", str(config_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=command_env,
            cwd=tmp_path,
        )
        stderr.close()
        proc.stderr_path = stderr_path
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
