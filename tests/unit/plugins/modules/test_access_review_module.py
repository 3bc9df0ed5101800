# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The access_review module's real main(): check mode, the report, the audit event, bad input, fail_on_findings."""

from __future__ import annotations

import json
import os

from ansible_collections.ttahub.ops.plugins.modules import access_review
from tests.support.modules import run_main

ORG = "hhs-acf-ohs-tta"
ASSIGNMENTS = [
    {"guid": "r1", "type": "space_developer", "user_guid": "u1", "username": "ci-deployer", "origin": "uaa", "org": ORG,
     "space": "ttahub-prod"},
    {"guid": "r2", "type": "space_auditor", "user_guid": "u2", "username": "departed@agency.gov", "origin": "sso",
     "org": ORG, "space": "ttahub-prod"},
]
ARGS = {
    "assignments": ASSIGNMENTS, "org": ORG, "spaces": ["ttahub-prod"], "environment": "production",
    "roster": [{"id": "vera", "name": "Vera Lindqvist", "roles": ["vendor_tech_lead"], "email": "vera@vendor.example"}],
    "allowed": [{"username": "ci-deployer", "roles": ["space_developer"], "required": True, "reason": "CI"},
                {"roster_role": "vendor_tech_lead", "roles": ["space_manager"], "required": True}],
}


def test_check_mode_compares_and_writes_nothing(tmp_path, capsys):
    result = run_main(access_review, {**ARGS, "report_dir": str(tmp_path / "r")}, capsys, check_mode=True)
    assert result["changed"] is True and result["report"] == {} and not (tmp_path / "r").exists()
    assert "would have been written if not in check mode" in result["msg"]
    assert result["findings"] == [
        "unexpected: departed@agency.gov holds SpaceAuditor in space ttahub-prod (neither on the roster (by email) nor in "
        "the allowed list)",
        "missing: Vera Lindqvist (vera, Vendor Technical Lead) does not hold SpaceManager in space ttahub-prod (required by "
        "ops_access_allowed[1] (roster role vendor_tech_lead))",
    ]


def test_the_report_and_its_audit_event(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TTAHUB_OPS_RUN_ID", "run-42")
    result = run_main(access_review, {**ARGS, "report_dir": str(tmp_path)}, capsys)
    assert result["changed"] is True
    report = json.loads(open(result["report"]["json"], encoding="utf-8").read())
    assert report["run_id"] == "run-42" and report["environment"] == "production"
    assert os.path.basename(result["report"]["json"]).startswith("access-review-production-")
    assert result["report"]["markdown"] == result["report"]["json"][:-5] + ".md"
    (event,) = result["audit_events"]
    assert event["event"] == "access_review_completed" and event["unexpected_holders"] == ["departed@agency.gov"]
    assert (event["unexpected"], event["missing"], event["report"]) == (1, 1, result["report"]["json"])
    assert len(event["report_sha256"]) == 64


def test_fail_on_findings_fails_after_writing_the_report(tmp_path, capsys):
    result = run_main(access_review, {**ARGS, "report_dir": str(tmp_path), "fail_on_findings": True}, capsys)
    assert result["failed"] is True and result["_rc"] == 1
    assert result["msg"].startswith("Failed to pass the access review: 1 unexpected and 1 missing role assignments. See ")
    assert os.path.exists(result["report"]["markdown"])


def test_a_bad_roster_or_allowed_list_is_one_error_and_no_report(tmp_path, capsys):
    bad = {**ARGS, "report_dir": str(tmp_path / "r"), "roster": [{"id": "Vera", "name": "V", "roles": ["vendor_tech_lead"]}]}
    result = run_main(access_review, bad, capsys)
    assert result["failed"] and result["msg"].startswith("Failed to load the approval roster:")
    bad = {**ARGS, "report_dir": str(tmp_path / "r"), "allowed": [{"username": "x", "roles": ["admin"], "reason": "r"}]}
    result = run_main(access_review, bad, capsys)
    assert result["failed"] and "unknown role type 'admin'" in result["msg"]
    assert not (tmp_path / "r").exists()
