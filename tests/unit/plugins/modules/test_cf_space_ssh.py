# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.ttahub.ops.plugins.modules import cf_space_ssh
from tests.support.fake_cf import step
from tests.support.modules import run_main

SPACE = "ttahub-prod"
READ = ["space-ssh-allowed", SPACE]


def test_allows_ssh_when_disallowed(fake, cf_args, capsys):
    fake.plan(
        [
            step(READ, "space_ssh_allowed_disabled", SPACE=SPACE),
            step(["allow-space-ssh", SPACE], "allow_space_ssh", SPACE=SPACE),
        ]
    )
    result = run_main(cf_space_ssh, {**cf_args, "space": SPACE, "state": "allowed"}, capsys)
    assert result["changed"] is True and result["before"] is False and result["allowed"] is True
    assert result["audit_events"] == [{"event": "space_ssh_allowed", "space": SPACE}]
    assert fake.argvs == [READ, ["allow-space-ssh", SPACE]]


def test_does_not_toggle_when_already_in_state(fake, cf_args, capsys):
    fake.plan([step(READ, "space_ssh_allowed_disabled", SPACE=SPACE)])
    result = run_main(cf_space_ssh, {**cf_args, "space": SPACE, "state": "disallowed"}, capsys)
    assert result["changed"] is False and result["audit_events"] == []
    assert fake.argvs == [READ]


@pytest.mark.parametrize(
    ("fixture", "want", "changed"),
    [("space_ssh_allowed_enabled", "disallowed", True), ("space_ssh_allowed_enabled", "allowed", False)],
)
def test_check_mode_predicts_and_reads_only(fake, cf_args, capsys, fixture, want, changed):
    fake.plan([step(READ, fixture, SPACE=SPACE)])
    result = run_main(cf_space_ssh, {**cf_args, "space": SPACE, "state": want}, capsys, check_mode=True)
    assert result["changed"] is changed
    assert result["diff"] == {"before": {"ssh_allowed": True}, "after": {"ssh_allowed": want == "allowed"}}
    assert fake.argvs == [READ]


@pytest.mark.parametrize(
    ("fixture", "kind", "text"),
    [
        ("allow_space_ssh_not_authorized", "not_authorized", "Space Manager"),
        ("allow_space_ssh_space_not_found", "not_found", "space 'SPACE' not found"),
    ],
)
def test_toggle_failures_name_the_fix(fake, cf_args, capsys, fixture, kind, text):
    fake.plan([step(READ, "space_ssh_allowed_disabled", SPACE=SPACE), step(["allow-space-ssh", SPACE], fixture)])
    result = run_main(cf_space_ssh, {**cf_args, "space": SPACE, "state": "allowed"}, capsys)
    assert result["failed"] is True and result["error_kind"] == kind
    assert result["msg"].startswith(f"Failed to allow SSH in space {SPACE}: ")
    assert text in result["msg"]


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("target_check_not_logged_in", "not_logged_in"),
        ("token_expired", "token_expired"),
        ("target_check_no_org", "no_org_targeted"),
    ],
)
def test_read_failures(fake, cf_args, capsys, fixture, kind):
    fake.plan([step(READ, fixture)])
    result = run_main(cf_space_ssh, {**cf_args, "space": SPACE, "state": "disallowed"}, capsys)
    assert result["failed"] is True and result["error_kind"] == kind
    assert result["msg"].startswith(f"Failed to read whether SSH is allowed in space {SPACE}: ")
