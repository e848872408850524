"""``stream_session`` in-process (the wiring); test_processes.py runs it as real processes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command


def test_stdin_is_copied_byte_for_byte_and_the_session_completed(
    base_dir: Path, config_file: Path
) -> None:
    data = bytes(range(256)) * 1000 + b"\nlast line without newline"
    call_command("stream_session", "s-1", config=str(config_file), stdin=io.BytesIO(data))
    assert (base_dir / "s-1.log").read_bytes() == data


def test_empty_input_creates_no_file(base_dir: Path, config_file: Path) -> None:
    call_command("stream_session", "s-1", config=str(config_file), stdin=io.BytesIO(b""))
    assert not base_dir.exists()


@pytest.mark.parametrize("session_id", ["../x", "a/b", "", "\x00", "x" * 10_000])
def test_a_bad_id_is_a_command_error(base_dir: Path, config_file: Path, session_id: str) -> None:
    with pytest.raises(CommandError, match="invalid session id"):
        call_command("stream_session", session_id, config=str(config_file), stdin=io.BytesIO(b"x"))
    assert not base_dir.exists()


def test_a_missing_config_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            "stream_session", "s1", config=str(tmp_path / "nope.yaml"), stdin=io.BytesIO(b"x")
        )


def test_an_unusable_base_dir_is_a_command_error(base_dir: Path, config_file: Path) -> None:
    base_dir.write_text("a file where the directory should be")
    with pytest.raises(CommandError, match="cannot stream session s1"):
        call_command("stream_session", "s1", config=str(config_file), stdin=io.BytesIO(b"x"))
