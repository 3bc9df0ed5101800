# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_curl
from tests.support.fake_cf import json_step, step
from tests.support.modules import run_main

PROCESSES = {
    "pagination": {"total_results": 2, "total_pages": 1, "next": None},
    "resources": [
        {"guid": "6a901b7c-0000-4000-8000-000000000001", "type": "web"},
        {"guid": "6a901b7c-0000-4000-8000-000000000002", "type": "worker"},
    ],
}


def test_get_with_the_seed_query(fake, cf_args, capsys):
    fake.plan([json_step(["curl", "/v3/apps/G/processes"], PROCESSES)])
    result = run_main(
        cf_curl, {**cf_args, "path": "/v3/apps/G/processes", "query": "resources[?type=='web'].guid | [0]"}, capsys
    )
    assert result["result"] == "6a901b7c-0000-4000-8000-000000000001" and result["changed"] is False


def test_patch_is_a_change_and_is_skipped_in_check_mode(fake, cf_args, capsys):
    args = {**cf_args, "path": "/v3/apps/G/features/ssh", "method": "PATCH", "body": {"enabled": True}}
    fake.plan([])
    result = run_main(cf_curl, args, capsys, check_mode=True)
    assert result["changed"] is True and result["skipped"] is True and fake.argvs == []
    fake.plan(
        [
            json_step(
                ["curl", "/v3/apps/G/features/ssh", "-X", "PATCH", "-d", '{"enabled":true}'],
                {"name": "ssh", "enabled": True},
            )
        ]
    )
    result = run_main(cf_curl, args, capsys)
    assert result["changed"] is True and result["json"]["enabled"] is True


def test_cc_error_bodies_with_exit_0_fail(fake, cf_args, capsys):
    fake.plan([step(["curl", "/v3/apps/1cb006ee-…"], "curl_v3_not_found")])
    result = run_main(cf_curl, {**cf_args, "path": "/v3/apps/1cb006ee-…"}, capsys)
    assert result["failed"] is True and result["error_kind"] == "not_found"
    assert "CF-ResourceNotFound (10010): App not found" in result["msg"]


def test_unknown_request_and_not_authenticated(fake, cf_args, capsys):
    fake.plan([step(["curl", "/v3/nope"], "curl_unknown_request")])
    result = run_main(cf_curl, {**cf_args, "path": "/v3/nope"}, capsys)
    assert result["failed"] and "Unknown request" in result["msg"]
    fake.plan([step(["curl", "/v3/apps"], "curl_not_authenticated")])
    result = run_main(cf_curl, {**cf_args, "path": "/v3/apps"}, capsys)
    assert result["failed"] and result["error_kind"] == "not_logged_in"


def test_all_pages_from_an_empty_list(fake, cf_args, capsys):
    fake.plan([step(["curl", "/v3/apps?names=x"], "curl_pagination_empty")])
    result = run_main(cf_curl, {**cf_args, "path": "/v3/apps?names=x", "all_pages": True}, capsys)
    assert result["json"] == {"resources": []}
