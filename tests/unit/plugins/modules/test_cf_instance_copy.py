# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_instance_copy up to the first connection, against the replaying fake cf: what is refused before anything is
asked of cloud.gov, and how the instance is found (the copies themselves: tests/integration/test_scp_retrieve*.py)."""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_instance_copy
from tests.support.fake_cf import json_step, step
from tests.support.modules import run_main

APP = "tta-smarthub-dev"
APP_GUID = "1cb006ee-8e2d-4c29-a43a-5a9f4e1bfd2f"
WEB_GUID = "6a901b7c-3f56-4c6f-8f2e-3c6c1d1e9a10"
WORKER_GUID = "0c1ad7f3-4e0b-4f5a-9a55-5d3b7c2e8b11"


def processes() -> dict:
    return {"pagination": {"next": None}, "resources": [
        {"guid": WEB_GUID, "type": "web", "instances": 2}, {"guid": WORKER_GUID, "type": "worker", "instances": 1}]}


def stats(*states: str) -> dict:
    return {"resources": [{"type": "web", "index": i, "state": s} for i, s in enumerate(states)]}


def reads(ssh_status: dict, *states: str) -> list:
    return [
        step(["app", APP, "--guid"], "app_guid", APP=APP, APP_GUID=APP_GUID),
        json_step(["curl", f"/v3/apps/{APP_GUID}/processes"], processes()),
        json_step(["curl", f"/v3/processes/{WEB_GUID}/stats"], stats(*(states or ("RUNNING", "RUNNING")))),
        json_step(["curl", f"/v3/apps/{APP_GUID}/ssh_enabled"], ssh_status),
    ]


def args(cf_args, tmp_path, **more):
    return {**cf_args, "app": APP, "remote_path": "/home/vcap/app/logs/web.log", "dest": str(tmp_path / "out"), **more}


def test_an_existing_copy_is_refused_before_any_cf_call(fake, cf_args, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "web.log").write_text("keep me")
    result = run_main(cf_instance_copy, args(cf_args, tmp_path), capsys)
    assert result["failed"] and "already exists" in result["msg"] and "force: true" in result["msg"]
    assert fake.argvs == [] and (tmp_path / "out" / "web.log").read_text() == "keep me"


def test_uploads_are_refused_in_production_before_any_cf_call(fake, cf_args, tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    result = run_main(cf_instance_copy, args(cf_args, tmp_path, direction="upload", src=str(tmp_path / "f")), capsys)
    assert result["failed"] and "uploads to production instances are not allowed" in result["msg"]
    assert fake.argvs == []


def test_the_local_name_is_one_name(fake, cf_args, tmp_path, capsys):
    for remote, name in (("/", None), ("/home/vcap/..", None), ("/home/vcap/app/x", "../../etc"), ("/home/vcap/app/x", "a/b")):
        result = run_main(cf_instance_copy, args(cf_args, tmp_path, remote_path=remote, name=name), capsys)
        assert result["failed"] and "is not a single file or folder name" in result["msg"], remote
    result = run_main(cf_instance_copy, args(cf_args, tmp_path, remote_path="/a\nb"), capsys)
    assert result["failed"] and "line break" in result["msg"]
    (tmp_path / "file").write_text("")
    result = run_main(cf_instance_copy, args(cf_args, tmp_path, dest=str(tmp_path / "file")), capsys)
    assert result["failed"] and "is not a folder" in result["msg"]
    assert fake.argvs == []


def test_space_ssh_off_names_the_fix_outside_production(fake, cf_args, tmp_path, capsys):
    fake.plan(reads({"enabled": False, "reason": "ssh is disabled for space 'ttahub-dev'"}))
    result = run_main(cf_instance_copy, args(cf_args, tmp_path, production=False), capsys)
    assert result["failed"] and result["error_kind"] == "ssh_permission_denied"
    assert "SSH is off: ssh is disabled for space 'ttahub-dev'" in result["msg"]
    assert "cf allow-space-ssh ttahub-dev" in result["msg"]
    assert not (tmp_path / "out").exists(), "nothing is created before the copy can start"
    assert ["ssh-code"] not in fake.argvs


def test_space_ssh_off_names_the_procedure_in_production(fake, cf_args, tmp_path, capsys):
    fake.plan(reads({"enabled": False, "reason": "ssh is disabled for space 'ttahub-prod'"}))
    result = run_main(cf_instance_copy, args(cf_args, tmp_path), capsys)
    assert result["failed"]
    assert "playbooks/scp_retrieve.yml -i inventories/production" in result["msg"] and "prod_ssh_access" in result["msg"]
    assert "allow-space-ssh" not in result["msg"]


def test_the_process_guid_is_read_never_assumed(fake, cf_args, tmp_path, capsys):
    plan = reads({"enabled": True, "reason": ""}, "RUNNING", "CRASHED")[:3]
    fake.plan(plan)
    result = run_main(cf_instance_copy, args(cf_args, tmp_path, instance=1), capsys)
    assert result["failed"] and "instance 1 is CRASHED, not running" in result["msg"]
    assert ["curl", f"/v3/processes/{WEB_GUID}/stats"] in fake.argvs
    assert not any(APP_GUID in " ".join(a) and "stats" in " ".join(a) for a in fake.argvs)
    fake.plan(plan[:2])
    result = run_main(cf_instance_copy, args(cf_args, tmp_path, process="clock"), capsys)
    assert result["failed"] and "app tta-smarthub-dev has no clock process (it has web, worker)" in result["msg"]
    fake.plan(plan)
    result = run_main(cf_instance_copy, args(cf_args, tmp_path, instance=2), capsys)
    assert result["failed"] and "the web process has 2 instance(s)" in result["msg"]


def test_no_ssh_endpoint(fake, cf_args, tmp_path, capsys):
    fake.plan(reads({"enabled": True, "reason": ""}) + [json_step(["curl", "/"], {"links": {"self": {"href": "x"}}})])
    result = run_main(cf_instance_copy, args(cf_args, tmp_path, production=False), capsys)
    assert result["failed"] and "SSH endpoint not set" in result["msg"]
