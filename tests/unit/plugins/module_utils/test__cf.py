# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers and failure classification of the cf client, on the exact strings of cf-cli.md (tests/fixtures/cf_v8)."""

from __future__ import annotations

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import (
    CfAuthError,
    CfError,
    CfNoApiError,
    CfNoOrgError,
    CfNoSpaceError,
    CfNotAuthorizedError,
    CfNotFoundError,
    CfNotLoggedInError,
    CfOutputError,
    CfTokenExpiredError,
    CfUsageError,
    classify_failure,
)
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import (
    parse_app_ssh_toggle,
    parse_guid,
    parse_key_values,
    parse_log_lines,
    parse_run_task,
    parse_space_ssh_allowed,
    parse_space_ssh_toggle,
    parse_ssh_code,
    parse_ssh_enabled,
    parse_version,
)
from tests.support.fake_cf import fixture

GUID = "1cb006ee-8e2d-4c29-a43a-5a9f4e1bfd2f"


def test_version():
    assert parse_version(fixture("version")["stdout"]) == (8, 7, 10)
    with pytest.raises(CfOutputError):
        parse_version("<html>")


def test_guid_from_app_guid_and_space_guid():
    assert parse_guid(fixture("app_guid", APP_GUID=GUID)["stdout"]) == GUID
    assert parse_guid(fixture("space_guid", SPACE_GUID=GUID)["stdout"]) == GUID
    for garbage in ("", "FAILED\n", f"{GUID}\n{GUID}\n", "not-a-guid\n"):
        with pytest.raises(CfOutputError):
            parse_guid(garbage)


def test_ssh_code_is_read_and_never_echoed_in_errors():
    assert parse_ssh_code(fixture("ssh_code")["stdout"]) == "E1x89n"
    with pytest.raises(CfOutputError) as err:
        parse_ssh_code("\nFAILED\nsecret-looking garbage here\n")
    assert "garbage" not in str(err.value) and err.value.stdout is None


@pytest.mark.parametrize(
    ("name", "allowed"), [("space_ssh_allowed_enabled", True), ("space_ssh_allowed_disabled", False)]
)
def test_space_ssh_allowed(name, allowed):
    assert parse_space_ssh_allowed(fixture(name)["stdout"]) is allowed


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        ("allow_space_ssh", True),
        ("allow_space_ssh_already", False),
        ("disallow_space_ssh", True),
        ("disallow_space_ssh_already", False),
    ],
)
def test_space_ssh_toggles(name, changed):
    assert parse_space_ssh_toggle(fixture(name)["stdout"]) is changed


def test_space_ssh_parsers_refuse_other_output():
    with pytest.raises(CfOutputError):
        parse_space_ssh_allowed(fixture("ssh_enabled")["stdout"])
    with pytest.raises(CfOutputError):
        parse_space_ssh_toggle(fixture("allow_space_ssh_not_authorized")["stdout"])


@pytest.mark.parametrize(
    ("name", "enabled", "reason"),
    [
        ("ssh_enabled", True, ""),
        ("ssh_enabled_disabled_app", False, "ssh is disabled for app"),
        ("ssh_enabled_disabled_space", False, "ssh is disabled for space 'dev'"),
        ("ssh_enabled_disabled_globally", False, "ssh is disabled globally"),
    ],
)
def test_app_ssh_enabled(name, enabled, reason):
    got_enabled, got_reason = parse_ssh_enabled(fixture(name, SPACE="dev")["stdout"])
    assert got_enabled is enabled
    assert got_reason == reason


@pytest.mark.parametrize(
    ("name", "changed", "restart", "blocked"),
    [
        ("enable_ssh", True, "required", False),
        ("enable_ssh_already", False, "may_be_required", False),
        ("enable_ssh_space_disallowed", True, "not_required", True),
        ("disable_ssh", True, "not_required", False),
        ("disable_ssh_already", False, "not_required", False),
    ],
)
def test_app_ssh_toggles(name, changed, restart, blocked):
    assert parse_app_ssh_toggle(fixture(name)["stdout"]) == {
        "changed": changed,
        "restart": restart,
        "blocked_elsewhere": blocked,
    }


def test_target_table():
    table = parse_key_values(fixture("target")["stdout"])
    assert table == {
        "api endpoint": "https://api.fr.cloud.gov",
        "api version": "3.180.0",
        "user": "user@example.gov",
        "org": "my-org",
        "space": "dev",
    }


@pytest.mark.parametrize("name", ["run_task", "run_task_wait"])
def test_run_task(name):
    assert parse_run_task(fixture(name)["stdout"]) == {"name": "migrate", "id": 3}


def test_run_task_refuses_output_without_an_id():
    with pytest.raises(CfOutputError):
        parse_run_task(fixture("tasks")["stdout"])


def test_logs_recent_filtered_to_a_task():
    out = fixture("logs_recent")["stdout"]
    assert parse_log_lines(out, "APP/TASK/migrate") == [
        {
            "time": "2024-05-01T12:00:42.10-0400",
            "source": "APP/TASK/migrate/0",
            "stream": "ERR",
            "message": "some error",
        }
    ]
    assert [line["source"] for line in parse_log_lines(out)] == ["APP/PROC/WEB/0", "APP/TASK/migrate/0"]
    # A task whose name is a prefix of another is not mixed up with it.
    assert parse_log_lines(out, "APP/TASK/migr") == []


# Every failure text of cf-cli.md that the client classifies, with the class and the fix it names.
CLASSIFIED = [
    ("target_check_no_api", CfNoApiError, "no API endpoint is set", "cf api"),
    ("target_check_not_logged_in", CfNotLoggedInError, "not logged in", "cf login -a <cf_api> --sso"),
    ("target_check_no_org", CfNoOrgError, "no org is targeted", "cf_org"),
    ("target_check_no_space", CfNoSpaceError, "no space is targeted", "cf_space"),
    ("token_expired", CfTokenExpiredError, "token expired or was revoked", "cf login"),
    ("auth_rejected", CfAuthError, "rejected the credentials", "service account"),
    ("app_not_found", CfNotFoundError, "app 'NAME' not found", "cf apps"),
    ("app_guid_not_found", CfNotFoundError, "not found in the targeted space", "cf_app"),
    ("space_not_found", CfNotFoundError, "space", "cf_space"),
    ("target_org_not_found", CfNotFoundError, "org", "cf_org"),
    ("service_not_found", CfNotFoundError, "service instance", "cf services"),
    ("service_key_not_found", CfNotFoundError, "no service key", "cf service-keys"),
    ("terminate_task_not_found", CfNotFoundError, "task 9 not found", "cf tasks"),
    ("allow_space_ssh_not_authorized", CfNotAuthorizedError, "not authorized", "Space Manager"),
    ("allow_space_ssh_space_not_found", CfNotFoundError, "space", "cf_space"),
    ("incorrect_usage_missing_argument", CfUsageError, "rejected the command line", "cf CLI v8"),
    ("incorrect_usage_unknown_flag", CfUsageError, "rejected the command line", "cf CLI v8"),
    ("unknown_command", CfUsageError, "does not know the command", "cf CLI v8"),
    ("terminate_task_bad_id", CfUsageError, "rejected the command line", "cf CLI v8"),
]


@pytest.mark.parametrize(("name", "cls", "cause", "hint"), CLASSIFIED, ids=[c[0] for c in CLASSIFIED])
def test_failures_are_classified_with_what_to_do(name, cls, cause, hint):
    case = fixture(name)
    assert case["rc"] != 0
    err = classify_failure("do the thing", ["cf", *case["argv"]], case["rc"], case["stdout"], case["stderr"])
    assert err.__class__ is cls  # exactly this class, not a parent
    assert str(err).startswith("Failed to do the thing: ")
    assert cause in err.cause
    assert hint in err.fix
    assert err.details()["rc"] == case["rc"]


def test_unrecognised_failure_keeps_cfs_own_words():
    err = classify_failure("do it", ["cf", "x"], 1, "FAILED\n", "Something new went wrong\n")
    assert err.__class__ is CfError
    assert "cf exited 1: Something new went wrong" in str(err)


def test_failures_the_client_must_not_misread():
    # A task that cannot be cancelled any more is a plain failure, not a not-found.
    case = fixture("terminate_task_finished")
    err = classify_failure("terminate task", ["cf"], case["rc"], case["stdout"], case["stderr"])
    assert not isinstance(err, CfNotFoundError)
    assert "cannot be canceled" in str(err)
