# SPDX-License-Identifier: GPL-3.0-or-later
"""The Cloud Controller routes, through ``cf curl``."""
from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from conftest import CF, Rehearsal

from rehearsal import API_URL, DEPLOYER, OPERATOR, ORG_NAME
from rehearsal import world as world_mod


def curl(r: Rehearsal, *argv: str) -> Any:
    result = r.cf("curl", *argv)
    assert result.returncode == 0, result
    return json.loads(result.stdout)


def test_root_advertises_the_ssh_proxy_from_the_world(ttahub: Rehearsal) -> None:
    ssh = curl(ttahub, "/")["links"]["app_ssh"]
    assert ssh == {"href": "127.0.0.1:2222", "meta": {"host_key_fingerprint": "", "oauth_client": "ssh-proxy"}}
    world_mod.set_ssh_proxy(ttahub.home, port=40022, host_key_fingerprint="SHA256:abc")
    ssh = curl(ttahub, "/")["links"]["app_ssh"]
    assert ssh == {"href": "127.0.0.1:40022", "meta": {"host_key_fingerprint": "SHA256:abc", "oauth_client": "ssh-proxy"}}
    info = curl(ttahub, "/v2/info")
    assert (info["app_ssh_endpoint"], info["app_ssh_host_key_fingerprint"]) == ("127.0.0.1:40022", "SHA256:abc")


def test_the_robust_web_process_guid_lookup_of_the_cloud_gov_docs(ttahub: Rehearsal) -> None:
    app_guid = ttahub.cf("app", "tta-smarthub-prod", "--guid").stdout.strip()
    processes = curl(ttahub, f"/v3/apps/{app_guid}/processes")
    web = [p for p in processes["resources"] if p["type"] == "web"]
    assert len(web) == 1 and web[0]["guid"] != app_guid
    assert web[0]["command"] == "[PRIVATE DATA HIDDEN IN LISTS]"
    assert curl(ttahub, f"/v3/processes/{web[0]['guid']}")["command"] == "yarn start:be"
    stats = curl(ttahub, f"/v3/processes/{web[0]['guid']}/stats")["resources"]
    assert [s["index"] for s in stats] == [0, 1, 2] and {s["state"] for s in stats} == {"RUNNING"}
    assert curl(ttahub, f"/v3/apps/{app_guid}/ssh_enabled") == {
        "enabled": False, "reason": "ssh is disabled for space 'ttahub-prod'"}


def test_lists_filter_and_paginate(ttahub: Rehearsal) -> None:
    org = curl(ttahub, f"/v3/organizations?names={ORG_NAME}")["resources"][0]
    page = curl(ttahub, f"/v3/spaces?organization_guids={org['guid']}&per_page=1&page=2")
    assert page["pagination"]["total_results"] == 4 and page["pagination"]["total_pages"] == 4
    assert page["pagination"]["previous"]["href"] == (
        f"{API_URL}/v3/spaces?organization_guids={org['guid']}&page=1&per_page=1")
    assert page["pagination"]["next"]["href"].endswith("&page=3&per_page=1")
    assert len(page["resources"]) == 1
    apps = curl(ttahub, "/v3/apps?names=TTA-SMARTHUB-DEV")["resources"]
    assert [a["name"] for a in apps] == ["tta-smarthub-dev"], "names match case-insensitively"
    bad = curl(ttahub, "/v3/apps?per_page=0")
    assert bad == {"errors": [{"code": 10005, "title": "CF-BadQueryParameter",
                               "detail": "Per page must be between 1 and 5000"}]}


def test_space_ssh_feature_patch_needs_a_manager(ttahub: Rehearsal) -> None:
    space = curl(ttahub, "/v3/spaces?names=ttahub-prod")["resources"][0]
    path = f"/v3/spaces/{space['guid']}/features/ssh"
    assert curl(ttahub, path) == {"name": "ssh", "description": "Enable SSHing into apps in the space.",
                                  "enabled": False}
    assert curl(ttahub, "-X", "PATCH", "-d", '{"enabled":true}', path) == {"errors": [
        {"code": 10003, "title": "CF-NotAuthorized", "detail": "You are not authorized to perform the requested action"}]}
    ttahub.login(OPERATOR, org=ORG_NAME, space="ttahub-prod")
    assert curl(ttahub, "-X", "PATCH", "-d", '{"enabled":true}', path)["enabled"] is True
    assert curl(ttahub, "-X", "PATCH", "-d", '{"enabled":"yes"}', path)["errors"][0]["code"] == 10008
    assert ttahub.cf("space-ssh-allowed", "ttahub-prod").stdout == "ssh support is enabled in space 'ttahub-prod'.\n"


def test_app_ssh_feature_patch_by_a_developer(ttahub: Rehearsal) -> None:
    guid = ttahub.cf("app", "tta-smarthub-prod", "--guid").stdout.strip()
    assert curl(ttahub, "-X", "PATCH", "-d", '{"enabled":true}', f"/v3/apps/{guid}/features/ssh") == {
        "name": "ssh", "description": "Enable SSHing into the app.", "enabled": True}
    assert world_mod.app_by_names(world_mod.load(ttahub.home), "ttahub-prod", "tta-smarthub-prod")["enable_ssh"]


def test_tasks_through_the_api_run_finish_and_cancel(ttahub: Rehearsal) -> None:
    world_mod.set_task_behaviour(ttahub.home, "sleep *", seconds=None)
    guid = ttahub.cf("app", "tta-smarthub-prod", "--guid").stdout.strip()
    quick = curl(ttahub, "-X", "POST", "-d", '{"command":"echo hi","name":"quick"}', f"/v3/apps/{guid}/tasks")
    endless = curl(ttahub, "-d", '{"command":"sleep 1000"}', f"/v3/apps/{guid}/tasks")
    assert (quick["state"], quick["sequence_id"], endless["sequence_id"]) == ("RUNNING", 1, 2)
    assert len(endless["name"]) == 8 and int(endless["name"], 16) >= 0
    world_mod.advance_clock(ttahub.home, 2)
    assert curl(ttahub, f"/v3/tasks/{quick['guid']}")["state"] == "SUCCEEDED"
    assert curl(ttahub, f"/v3/tasks/{endless['guid']}")["state"] == "RUNNING"
    refused = curl(ttahub, "-X", "POST", f"/v3/tasks/{quick['guid']}/actions/cancel")
    assert refused["errors"][0]["detail"] == "Task state is SUCCEEDED and therefore cannot be canceled"
    assert curl(ttahub, "-X", "POST", f"/v3/tasks/{endless['guid']}/actions/cancel")["state"] == "CANCELING"
    world_mod.advance_clock(ttahub.home, 1)
    done = curl(ttahub, f"/v3/tasks/{endless['guid']}")
    assert (done["state"], done["result"]["failure_reason"]) == ("FAILED", "task was cancelled")
    listed = curl(ttahub, f"/v3/apps/{guid}/tasks?order_by=-created_at&states=SUCCEEDED")["resources"]
    assert [t["name"] for t in listed] == ["quick"]


def test_a_failing_task_behaviour(ttahub: Rehearsal) -> None:
    world_mod.set_task_behaviour(ttahub.home, "yarn broken", seconds=0, result="FAILED",
                                 log=[{"stream": "ERR", "message": "boom"}])
    guid = ttahub.cf("app", "tta-smarthub-prod", "--guid").stdout.strip()
    task = curl(ttahub, "-d", '{"command":"yarn broken","name":"broken"}', f"/v3/apps/{guid}/tasks")
    done = curl(ttahub, f"/v3/tasks/{task['guid']}")
    assert (done["state"], done["result"]["failure_reason"]) == ("FAILED", "Exited with status 1")
    logs = ttahub.cf("logs", "tta-smarthub-prod", "--recent").stdout
    assert "[APP/TASK/broken/0] ERR boom\n" in logs and "[APP/TASK/broken/0] OUT Exit status 1\n" in logs


def test_roles_list_with_included_users(ttahub: Rehearsal) -> None:
    body = curl(ttahub, "/v3/roles?types=space_manager,space_developer&include=user&per_page=100")
    users = {u["guid"]: u["username"] for u in body["included"]["users"]}
    pairs = {(users[r["relationships"]["user"]["data"]["guid"]], r["type"]) for r in body["resources"]}
    assert pairs == {(DEPLOYER, "space_developer"), (OPERATOR, "space_developer"), (OPERATOR, "space_manager")}
    assert body["pagination"]["total_results"] == 12
    role = body["resources"][0]
    assert role["relationships"]["organization"]["data"] is None and role["relationships"]["space"]["data"]


def test_service_keys_through_the_v2_route_cf_service_connect_uses(ttahub: Rehearsal) -> None:
    assert ttahub.cf("create-service-key", "ttahub-prod", "SERVICE_CONNECT").returncode == 0
    si = ttahub.cf("service", "ttahub-prod", "--guid").stdout.strip()
    keys = curl(ttahub, f"/v2/service_instances/{si}/service_keys?q=name%3ASERVICE_CONNECT")
    assert keys["total_results"] == 1
    creds = keys["resources"][0]["entity"]["credentials"]
    assert set(creds) == {"db_name", "host", "name", "password", "port", "uri", "username"}
    assert curl(ttahub, f"/v2/service_instances/{si}/service_keys?q=name%3Aother")["total_results"] == 0


@pytest.mark.parametrize("argv, body", [
    (("/v3/apps",), {"description": "Authentication error", "error_code": "CF-NotAuthenticated", "code": 10002}),
    (("/",), None),
])
def test_unauthenticated_requests(rehearsal: Rehearsal, argv: tuple[str, ...], body: Any) -> None:
    rehearsal.seed()
    rehearsal.api_only()
    answer = curl(rehearsal, *argv)
    if body is None:
        assert "links" in answer
    else:
        assert answer == body


def test_curl_include_headers_and_output_file(ttahub: Rehearsal) -> None:
    result = subprocess.run([str(CF), "curl", "-i", "/v3/apps/nope"], env=ttahub.env, capture_output=True, check=False)
    head, _sep, body = result.stdout.decode("utf-8").partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 404 Not Found\r\n") and "Content-Type: application/json" in head
    assert json.loads(body)["errors"][0]["title"] == "CF-ResourceNotFound"
    out = ttahub.root / "body.json"
    result = ttahub.cf("curl", "/v3/apps", "--output", str(out))
    assert result.stdout == "OK\n\n" and json.loads(out.read_text())["pagination"]["total_results"] == 4
    assert ttahub.cf("curl").returncode == 1
