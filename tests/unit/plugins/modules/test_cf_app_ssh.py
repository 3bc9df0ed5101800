# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_app_ssh
from tests.support.fake_cf import json_step, step
from tests.support.modules import run_main

APP = "tta-smarthub-dev"
GUID = "1cb006ee-8e2d-4c29-a43a-5a9f4e1bfd2f"
FEATURE = ["curl", f"/v3/apps/{GUID}/features/ssh"]
STATUS = ["curl", f"/v3/apps/{GUID}/ssh_enabled"]


def plan_reads(enabled: bool) -> list:
    return [
        step(["app", APP, "--guid"], "app_guid", APP=APP, APP_GUID=GUID),
        json_step(FEATURE, {"name": "ssh", "description": "Enable SSHing into the app.", "enabled": enabled}),
    ]


def test_enable_reports_the_restart(fake, cf_args, capsys):
    fake.plan(
        plan_reads(False)
        + [step(["enable-ssh", APP], "enable_ssh", APP=APP), json_step(STATUS, {"enabled": True, "reason": ""})]
    )
    result = run_main(cf_app_ssh, {**cf_args, "name": APP, "state": "enabled"}, capsys)
    assert result["changed"] is True and result["restart_required"] is True and result["effective"] is True
    assert result["audit_events"] == [{"event": "app_ssh_enabled", "app": APP}]


def test_enable_when_the_space_still_blocks(fake, cf_args, capsys):
    fake.plan(
        plan_reads(False)
        + [
            step(["enable-ssh", APP], "enable_ssh_space_disallowed", APP=APP),
            json_step(STATUS, {"enabled": False, "reason": "ssh is disabled for space 'ttahub-dev'"}),
        ]
    )
    result = run_main(cf_app_ssh, {**cf_args, "name": APP, "state": "enabled"}, capsys)
    assert result["changed"] is True and result["effective"] is False
    assert result["reason"] == "ssh is disabled for space 'ttahub-dev'"


def test_already_enabled_changes_nothing(fake, cf_args, capsys):
    fake.plan(plan_reads(True) + [json_step(STATUS, {"enabled": True, "reason": ""})])
    result = run_main(cf_app_ssh, {**cf_args, "name": APP, "state": "enabled"}, capsys)
    assert result["changed"] is False and result["restart_required"] is False
    assert ["enable-ssh", APP] not in fake.argvs


def test_check_mode_predicts_without_toggling(fake, cf_args, capsys):
    fake.plan(plan_reads(True) + [json_step(STATUS, {"enabled": True, "reason": ""})])
    result = run_main(cf_app_ssh, {**cf_args, "name": APP, "state": "disabled"}, capsys, check_mode=True)
    assert result["changed"] is True
    assert ["disable-ssh", APP] not in fake.argvs


def test_app_not_found(fake, cf_args, capsys):
    fake.plan([step(["app", APP, "--guid"], "app_guid_not_found", APP=APP)])
    result = run_main(cf_app_ssh, {**cf_args, "name": APP, "state": "enabled"}, capsys)
    assert result["failed"] is True and result["error_kind"] == "not_found"
    assert result["msg"] == (
        f"Failed to find app {APP}: app '{APP}' not found in the targeted space. "
        "Check the app name (cf_app) and the space (cf_space) in the inventory; `cf apps` lists the space's apps."
    )
