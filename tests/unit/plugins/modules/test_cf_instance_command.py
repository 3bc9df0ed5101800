# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_instance_command against the replaying fake cf: the remote exit status versus cf's own failures (§3.8)."""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_instance_command
from tests.support.fake_cf import json_step, step
from tests.support.modules import run_main

APP = "tta-smarthub-dev"
APP_GUID = "1cb006ee-8e2d-4c29-a43a-5a9f4e1bfd2f"
SSH = ["ssh", APP, "-i", "0", "--process", "web", "-T", "-c"]


def test_output_and_exit_status_come_back(fake, cf_args, capsys):
    fake.plan([step(SSH + ["ls -l app"], stdout="package.json\n", stderr="")])
    result = run_main(cf_instance_command, {**cf_args, "app": APP, "command": "ls -l app", "production": False}, capsys)
    assert result["rc"] == 0 and result["stdout"] == "package.json\n" and result["changed"] is True
    assert result["audit_events"] == [{"event": "instance_command_run", "app": APP, "process": "web", "instance": 0,
                                       "command": "ls -l app", "rc": 0}]
    fake.plan([step(SSH + ["asdf"], stderr="bash: line 1: asdf: command not found\n", rc=127)])
    result = run_main(cf_instance_command, {**cf_args, "app": APP, "command": "asdf"}, capsys)
    assert result["failed"] and result["rc"] == 127 and "the command exited 127" in result["msg"]
    assert "command not found" in result["stderr"] and result["audit_events"][0]["rc"] == 127


def test_a_refusal_is_explained_by_the_cloud_controller(fake, cf_args, capsys):
    fake.plan([
        step(SSH + ["true"], stdout="FAILED\n",
             stderr="Error opening SSH connection: You are not authorized to perform the requested action.\n", rc=1),
        step(["app", APP, "--guid"], "app_guid", APP=APP, APP_GUID=APP_GUID),
        json_step(["curl", f"/v3/apps/{APP_GUID}/ssh_enabled"], {"enabled": False, "reason": "ssh is disabled for space 'ttahub-dev'"}),
    ])
    result = run_main(cf_instance_command, {**cf_args, "app": APP, "command": "true", "production": False}, capsys)
    assert result["failed"] and result["error_kind"] == "ssh_permission_denied"
    assert "refused the connection: ssh is disabled for space 'ttahub-dev'" in result["msg"]
    assert "cf allow-space-ssh ttahub-dev" in result["msg"]


def test_in_production_the_refusal_names_the_procedure(fake, cf_args, capsys):
    fake.plan([
        step(SSH + ["true"], stdout="FAILED\n",
             stderr="Error opening SSH connection: You are not authorized to perform the requested action.\n", rc=1),
        step(["app", APP, "--guid"], "app_guid", APP=APP, APP_GUID=APP_GUID),
        json_step(["curl", f"/v3/apps/{APP_GUID}/ssh_enabled"], {"enabled": False, "reason": "ssh is disabled for space 'ttahub-prod'"}),
    ])
    result = run_main(cf_instance_command, {**cf_args, "app": APP, "command": "true"}, capsys)
    assert result["failed"] and "playbooks/ssh_access.yml -i inventories/production" in result["msg"]


def test_host_key_and_instance_failures(fake, cf_args, capsys):
    fake.plan([step(SSH + ["true"], stdout="FAILED\n",
                    stderr='Host key verification failed.\n\nThe fingerprint of the received key was "ab:cd".\n', rc=1)])
    result = run_main(cf_instance_command, {**cf_args, "app": APP, "command": "true"}, capsys)
    assert result["failed"] and result["error_kind"] == "host_key_mismatch" and "Do not connect" in result["msg"]
    fake.plan([step(SSH + ["true"], stdout="FAILED\n", stderr="Instance 0 of process web not running\n", rc=1)])
    result = run_main(cf_instance_command, {**cf_args, "app": APP, "command": "true"}, capsys)
    assert result["failed"] and "instance 0 of the web process is not running" in result["msg"]


def test_check_mode_runs_nothing(fake, cf_args, capsys):
    result = run_main(cf_instance_command, {**cf_args, "app": APP, "command": "true"}, capsys, check_mode=True)
    assert result["changed"] is True and fake.argvs == []
