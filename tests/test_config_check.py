"""The system check of tarsy.yaml: ``manage.py check`` validates the file TARSY_CONFIG names.

Commands that load tarsy.yaml themselves (those with ``--config``) skip it during their own
system checks; every other command that runs checks fails on a bad file.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from tarsy_project.checks import TAG, check_tarsy_config, config_check_skipped


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("system:\n  retention:\n    batch_sise: 5\n", encoding="utf-8")
    return path


@pytest.fixture
def warned_file(tmp_path: Path) -> Path:
    path = tmp_path / "warned.yaml"
    path.write_text("sytem: {}\nagent: {}\nsystem:\n  retention: {}\n", encoding="utf-8")
    return path


def test_the_check_is_registered_under_its_tag() -> None:
    assert check_tarsy_config in checks.registry.registry.get_checks()
    assert TAG in checks.registry.registry.tags_available()


def test_no_tarsy_config_means_no_issue() -> None:
    with override_settings(TARSY_CONFIG=None):
        assert check_tarsy_config() == []


def test_a_bad_file_is_an_error_with_the_loaders_message(bad_file: Path) -> None:
    with override_settings(TARSY_CONFIG=str(bad_file)):
        [issue] = check_tarsy_config()
    assert isinstance(issue, checks.Error)
    assert issue.id == "tarsy.E001"
    assert issue.msg.startswith(
        "invalid configuration: system.retention.batch_sise: unknown key (allowed keys: "
    )
    assert str(bad_file) in issue.hint


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with override_settings(TARSY_CONFIG=str(path)):
        [issue] = check_tarsy_config()
    assert issue.msg == f"invalid configuration: config file {str(path)!r} does not exist"


def test_unknown_keys_are_check_warnings(warned_file: Path) -> None:
    with override_settings(TARSY_CONFIG=str(warned_file)):
        issues = check_tarsy_config()
    assert [type(i) for i in issues] == [checks.Warning, checks.Warning]
    assert [i.id for i in issues] == ["tarsy.W001", "tarsy.W001"]
    assert issues[0].msg == f"{warned_file}: sytem: unknown key, ignored (did you mean system?)"
    assert issues[1].msg == f"{warned_file}: agent: unknown key, ignored (did you mean agents?)"


def test_manage_py_check_fails_on_a_bad_file(bad_file: Path) -> None:
    with override_settings(TARSY_CONFIG=str(bad_file)), pytest.raises(SystemCheckError) as info:
        call_command("check")
    assert "(tarsy.E001) invalid configuration: system.retention.batch_sise" in str(info.value)
    out = StringIO()
    with override_settings(TARSY_CONFIG=str(bad_file)):
        call_command("check", "--tag", "models", stdout=out)  # other tags do not run it
    assert "no issues" in out.getvalue()


def test_the_skip_is_scoped_to_its_block(bad_file: Path) -> None:
    with override_settings(TARSY_CONFIG=str(bad_file)):
        with config_check_skipped():
            assert check_tarsy_config() == []
        assert len(check_tarsy_config()) == 1


def test_a_command_with_config_skips_the_check(bad_file: Path, tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    heartbeat.touch()
    out = StringIO()
    with override_settings(TARSY_CONFIG=str(bad_file), TARSY_HEARTBEAT_FILE=str(heartbeat)):
        call_command("cleanup_status", "--liveness", skip_checks=False, stdout=out)
    assert out.getvalue().startswith("alive: heartbeat ")


@pytest.mark.django_db
def test_a_command_without_config_runs_the_check(bad_file: Path) -> None:
    with (
        override_settings(TARSY_CONFIG=str(bad_file)),
        pytest.raises(SystemCheckError, match="tarsy.E001"),
    ):
        call_command("hold_session", "list", skip_checks=False)
