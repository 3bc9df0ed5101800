# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The access review's comparison: the allowed list's validation, expected / unexpected / missing, the report files."""

from __future__ import annotations

import json
import os
import pathlib
import stat

import pytest
import yaml

from ansible_collections.ttahub.ops.plugins.module_utils import _access, _reports
from ansible_collections.ttahub.ops.plugins.module_utils._approval import load_roster

ORG = "hhs-acf-ohs-tta"
ROSTER = load_roster(
    [
        {"id": "paula", "name": "Paula Oduya", "roles": ["product_owner"], "email": "Paula.Oduya@agency.gov"},
        {"id": "vera", "name": "Vera Lindqvist", "roles": ["vendor_tech_lead"], "email": "vera@vendor.example"},
        {"id": "milo", "name": "Milo Park", "roles": ["vendor_product_manager"], "email": ""},
    ]
)
ALLOWED = [
    {"roster_role": "product_owner", "roles": ["organization_manager", "space_auditor"]},
    {"roster_role": "vendor_tech_lead", "roles": ["space_manager", "space_developer"], "required": True},
    {"roster_role": "vendor_product_manager", "roles": ["space_auditor"]},
    {"username": "ci-deployer", "roles": ["space_developer"], "spaces": ["ttahub-prod"], "required": True, "reason": "CI"},
]


def role(username, role_type, space=None, origin="sso", guid="r"):
    return {"guid": guid, "type": role_type, "user_guid": f"u-{username}", "username": username, "origin": origin,
            "org": ORG, "space": space}


def run(assignments, allowed=None, spaces=("ttahub-prod",)):
    allowed = ALLOWED if allowed is None else allowed
    return _access.review(assignments, ROSTER, _access.load_allowed(allowed), org=ORG, spaces=list(spaces))


def test_a_clean_org_has_everything_expected_and_nothing_missing():
    result = run([
        role("paula.oduya@agency.gov", "organization_user"),
        role("paula.oduya@agency.gov", "organization_manager"),
        role("vera@vendor.example", "organization_user"),
        role("vera@vendor.example", "space_manager", "ttahub-prod"),
        role("vera@vendor.example", "space_developer", "ttahub-prod"),
        role("ci-deployer", "space_developer", "ttahub-prod", origin="uaa"),
    ])
    assert result["summary"] == {"holders": 3, "assignments": 6, "expected": 6, "unexpected": 0, "unexpected_holders": 0,
                                 "missing": 0, "roster_unmatched": 1}
    # Matched by email, case-insensitively: the roster says Paula.Oduya@, cloud.gov paula.oduya@.
    paula = next(h for h in result["holders"] if h["username"] == "paula.oduya@agency.gov")
    assert {r["status"] for r in paula["roles"]} == {"expected"}
    assert result["roster_unmatched"] == [{"id": "milo", "name": "Milo Park", "roles": ["vendor_product_manager"]}]


def test_a_stranger_a_role_beyond_the_allowance_and_a_space_outside_it_are_unexpected():
    result = run([
        role("departed@agency.gov", "organization_user"),
        role("departed@agency.gov", "space_auditor", "ttahub-prod"),
        role("paula.oduya@agency.gov", "space_developer", "ttahub-prod"),
        role("ci-deployer", "space_developer", "ttahub-staging", origin="uaa"),
        role("ci-deployer", "space_developer", "ttahub-prod", origin="uaa"),
        role("vera@vendor.example", "space_manager", "ttahub-prod"),
        role("vera@vendor.example", "space_developer", "ttahub-prod"),
    ], spaces=("ttahub-prod", "ttahub-staging"))
    why = {(r["username"], r["role"], r["space"]): r["why"] for r in result["unexpected"]}
    assert why == {
        ("departed@agency.gov", "organization_user", None): "neither on the roster (by email) nor in the allowed list",
        ("departed@agency.gov", "space_auditor", "ttahub-prod"): "neither on the roster (by email) nor in the allowed list",
        ("paula.oduya@agency.gov", "space_developer", "ttahub-prod"):
            "the allowed list gives paula.oduya@agency.gov only SpaceAuditor in space ttahub-prod",
        ("ci-deployer", "space_developer", "ttahub-staging"):
            "the allowed list gives ci-deployer no role in space ttahub-staging",
    }
    assert result["summary"]["unexpected_holders"] == 3
    # Vera's required roles apply to every reviewed space: she holds them in ttahub-prod only.
    assert {(m["role"], m["scope"]) for m in result["missing"]} == {
        ("space_manager", "space ttahub-staging"), ("space_developer", "space ttahub-staging")}


def test_required_roles_nobody_holds_are_missing_in_each_space_they_apply_to():
    result = run([role("vera@vendor.example", "space_manager", "ttahub-prod")], spaces=("ttahub-prod", "ttahub-staging"))
    missing = {(m["username"], m["role"], m["scope"]) for m in result["missing"]}
    assert missing == {
        ("vera@vendor.example", "space_developer", "space ttahub-prod"),
        ("vera@vendor.example", "space_manager", "space ttahub-staging"),
        ("vera@vendor.example", "space_developer", "space ttahub-staging"),
        # The deployer's entry names ttahub-prod only.
        ("ci-deployer", "space_developer", "space ttahub-prod"),
    }
    vera = next(m for m in result["missing"] if m["username"] == "vera@vendor.example")
    assert vera["who"] == "Vera Lindqvist (vera, Vendor Technical Lead)" and vera["why"].startswith("required by ops_access_allowed[1]")


def test_a_required_roster_role_without_an_email_is_reported_as_unknown_not_silently_passed():
    result = run([], allowed=[{"roster_role": "vendor_product_manager", "roles": ["space_auditor"], "required": True}])
    assert len(result["missing"]) == 1
    assert result["missing"][0]["who"] == "Milo Park (milo, Vendor Product Manager)"
    assert "gives no email" in result["missing"][0]["why"]


def test_a_holder_without_a_username_is_unexpected_and_named_by_guid():
    result = run([{"guid": "r", "type": "space_auditor", "user_guid": "1f2e", "username": "", "origin": "", "org": ORG,
                   "space": "ttahub-prod"}])
    assert result["unexpected"][0]["username"] == "1f2e" and "no username" in result["unexpected"][0]["why"]


@pytest.mark.parametrize(
    ("allowed", "text"),
    [
        ("ci", "ops_access_allowed must be a list, got str"),
        ([["x"]], "ops_access_allowed[0] must be a mapping"),
        ([{"username": "x", "roles": ["space_developer"], "reason": "r", "role": "y"}], "unknown key 'role'"),
        ([{"roles": ["space_developer"]}], "exactly one of username"),
        ([{"username": "x", "roster_role": "product_owner", "roles": ["space_developer"], "reason": "r"}], "exactly one of"),
        ([{"roster_role": "gtm", "roles": ["space_developer"]}], "unknown roster_role 'gtm'"),
        ([{"roster_role": "product_owner", "roles": ["SpaceDeveloper"]}], "unknown role type 'SpaceDeveloper'"),
        ([{"roster_role": "product_owner", "roles": []}], "roles is empty"),
        ([{"roster_role": "product_owner", "roles": "space_developer"}], "roles must be a list"),
        ([{"roster_role": "product_owner", "roles": ["space_auditor"], "required": "yes"}], "required must be true or false"),
        ([{"username": "ci", "roles": ["space_developer"]}], "(ci) has no reason"),
    ],
)
def test_the_allowed_list_is_refused_with_one_clear_error(allowed, text):
    with pytest.raises(_access.AccessError) as err:
        _access.load_allowed(allowed)
    assert text in str(err.value)
    assert str(err.value).startswith("Failed to read the allowed list: ")
    assert str(err.value).endswith("(see docs/sops/access_review.md).")


def report():
    result = run([role("departed@agency.gov", "space_auditor", "ttahub-prod", guid="g1"),
                  role("departed@agency.gov", "organization_user", guid="g2")])
    return _access.make_report(result, environment="production", created="2026-11-28T14:00:00Z", run_id="run-1")


def test_the_markdown_says_what_to_remove_and_how():
    text = _access.render_markdown(report())
    assert text.startswith("# Access review: production\n")
    assert "`cf unset-space-role departed@agency.gov hhs-acf-ohs-tta ttahub-prod SpaceAuditor`" in text
    assert "`cf curl -X DELETE /v3/roles/g2`" in text
    assert "## Missing role holders" in text and "Milo Park (milo, Vendor Product Manager): no email in the roster" in text


def test_reports_are_written_whole_private_and_never_over_another(tmp_path):
    data = report()
    first = _access.write_report(data, str(tmp_path / "reports"), "20261128T140000Z")
    second = _access.write_report(data, str(tmp_path / "reports"), "20261128T140000Z")
    assert os.path.basename(first["json"]) == "access-review-production-20261128T140000Z.json"
    assert os.path.basename(second["json"]) == "access-review-production-20261128T140000Z-1.json"
    assert json.loads(open(first["json"], encoding="utf-8").read())["format"] == _access.REPORT_FORMAT
    assert stat.S_IMODE(os.stat(first["markdown"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "reports").st_mode) == 0o700
    assert sorted(os.listdir(tmp_path / "reports")) == sorted(os.path.basename(p) for p in (
        first["json"], first["markdown"], second["json"], second["markdown"]))


def test_a_report_that_cannot_be_written_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real = _reports._write_new

    def failing(path, data):
        calls.append(path)
        if path.endswith(".md"):
            raise PermissionError(13, "Permission denied")
        real(path, data)

    monkeypatch.setattr(_reports, "_write_new", failing)
    with pytest.raises(_access.AccessError) as err:
        _access.write_report(report(), str(tmp_path), "20261128T140000Z")
    assert "Failed to write the access review report: cannot write" in str(err.value)
    assert len(calls) == 2 and os.listdir(tmp_path) == []


@pytest.mark.parametrize("env", ["production", "staging", "dev", "sandbox", "rehearsal"])
def test_every_inventory_has_a_valid_allowed_list(env):
    path = pathlib.Path(__file__).resolve().parents[4] / "inventories" / env / "group_vars" / "all" / "access.yml"
    allowed = _access.load_allowed(yaml.safe_load(path.read_text(encoding="utf-8"))["ops_access_allowed"])
    assert {a.roster_role for a in allowed if a.roster_role} == {
        "product_owner", "government_technical_monitor", "vendor_tech_lead", "vendor_product_manager"}
    # Only the rehearsal knows its accounts' usernames; the real ones are read from each deployer's service key.
    assert bool([a for a in allowed if a.username]) == (env == "rehearsal")
