# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_app_info
from tests.support.fake_cf import json_step, step
from tests.support.modules import run_main

APP = "tta-smarthub-prod"
GUID = "1cb006ee-8e2d-4c29-a43a-5a9f4e1bfd2f"
WEB = "6a901b7c-3f56-4c6f-8f2e-3c6c1d1e9a10"
WORKER = "0c1ad7f3-4e0b-4f5a-9a55-5d3b7c2e8b11"


def test_reads_processes_with_their_own_guids(fake, cf_args, capsys):
    fake.plan(
        [
            step(["app", APP, "--guid"], "app_guid", APP=APP, APP_GUID=GUID),
            json_step(["curl", f"/v3/apps/{GUID}"], {"guid": GUID, "name": APP, "state": "STARTED"}),
            json_step(
                ["curl", f"/v3/apps/{GUID}/processes"],
                {
                    "pagination": {"next": None},
                    "resources": [
                        {"guid": WEB, "type": "web", "instances": 3},
                        {"guid": WORKER, "type": "worker", "instances": 2},
                    ],
                },
            ),
            json_step(
                ["curl", f"/v3/processes/{WEB}/stats"],
                {
                    "resources": [
                        {"type": "web", "index": i, "state": s} for i, s in enumerate(["RUNNING", "RUNNING", "CRASHED"])
                    ]
                },
            ),
            json_step(
                ["curl", f"/v3/processes/{WORKER}/stats"],
                {
                    "resources": [
                        {"type": "worker", "index": 0, "state": "RUNNING"},
                        {"type": "worker", "index": 1, "state": "RUNNING"},
                    ]
                },
            ),
            json_step(
                ["curl", f"/v3/apps/{GUID}/ssh_enabled"],
                {"enabled": False, "reason": "ssh is disabled for space 'ttahub-prod'"},
            ),
        ]
    )
    result = run_main(cf_app_info, {**cf_args, "name": APP}, capsys, check_mode=True)
    assert result["changed"] is False
    assert result["guid"] == GUID and result["state"] == "STARTED"
    assert result["web_process_guid"] == WEB != GUID
    assert result["processes"]["web"]["instances"] == 3 and result["processes"]["web"]["running"] == 2
    assert result["processes"]["worker"]["guid"] == WORKER
    assert result["ssh_enabled"] is False and result["ssh_reason"] == "ssh is disabled for space 'ttahub-prod'"
    assert len(fake.argvs) == 6


def test_app_not_found_and_not_logged_in(fake, cf_args, capsys):
    fake.plan([step(["app", APP, "--guid"], "app_guid_not_found", APP=APP)])
    result = run_main(cf_app_info, {**cf_args, "name": APP}, capsys)
    assert result["failed"] and result["error_kind"] == "not_found"
    fake.plan([step(["app", APP, "--guid"], "target_check_not_logged_in")])
    result = run_main(cf_app_info, {**cf_args, "name": APP}, capsys)
    assert result["failed"] and result["error_kind"] == "not_logged_in"
    assert "cf login -a <cf_api> --sso" in result["msg"]


def test_garbage_instead_of_json(fake, cf_args, capsys):
    fake.plan(
        [
            step(["app", APP, "--guid"], "app_guid", APP=APP, APP_GUID=GUID),
            step(["curl", f"/v3/apps/{GUID}"], stdout="<html>proxy error</html>\n"),
        ]
    )
    result = run_main(cf_app_info, {**cf_args, "name": APP}, capsys)
    assert result["failed"] and result["error_kind"] == "unexpected_output"
    assert result["msg"].startswith(f"Failed to read app {APP}: the API returned something that is not JSON")
