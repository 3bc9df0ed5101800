# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_roles_info: the v3 roles API through cf curl, every page with its included users, the org and the spaces."""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_roles_info
from tests.support.fake_cf import json_step
from tests.support.modules import run_main

API = "https://api.example.org"
ORG_G, PROD_G, STAGING_G = "0000-org", "0000-prod", "0000-staging"


def page(resources, nxt=None, included=None):
    body = {"pagination": {"total_results": len(resources), "next": {"href": f"{API}{nxt}"} if nxt else None},
            "resources": resources}
    if included is not None:
        body["included"] = included
    return body


def role(guid, role_type, user, space=None):
    return {"guid": guid, "type": role_type,
            "relationships": {"user": {"data": {"guid": user}},
                              "organization": {"data": None if space else {"guid": ORG_G}},
                              "space": {"data": {"guid": space} if space else None}}}


def user(guid, username, origin="uaa"):
    return {"guid": guid, "username": username, "presentation_name": username, "origin": origin}


ORGS = ["curl", "/v3/organizations?names=hhs-acf-ohs-tta"]
SPACES = ["curl", f"/v3/spaces?organization_guids={ORG_G}&per_page=200"]
SPACE_LIST = page([{"guid": PROD_G, "name": "ttahub-prod"}, {"guid": STAGING_G, "name": "ttahub-staging"}])


def test_org_and_space_roles_with_users_from_every_page(fake, cf_args, capsys):
    space_roles = f"/v3/roles?space_guids={PROD_G}&include=user&per_page=200"
    fake.plan([
        json_step(ORGS, page([{"guid": ORG_G, "name": "hhs-acf-ohs-tta"}])),
        json_step(SPACES, SPACE_LIST),
        json_step(["curl", f"/v3/roles?organization_guids={ORG_G}&include=user&per_page=200"],
                  page([role("r1", "organization_manager", "u-op")], included={"users": [user("u-op", "op@agency.gov", "sso")]})),
        json_step(["curl", space_roles],
                  page([role("r2", "space_developer", "u-ci", PROD_G)], nxt="/v3/roles?page=2&space_guids=x",
                       included={"users": [user("u-ci", "ci-deployer")]})),
        # The second page's holder is only in the second page's included users.
        json_step(["curl", "/v3/roles?page=2&space_guids=x"],
                  page([role("r3", "space_auditor", "u-gone", PROD_G), role("r4", "space_manager", "u-ci", PROD_G)],
                       included={"users": [user("u-gone", "departed@agency.gov", "sso"), user("u-ci", "ci-deployer")]})),
    ])
    result = run_main(cf_roles_info, {**cf_args, "org": "hhs-acf-ohs-tta", "spaces": ["ttahub-prod"]}, capsys, check_mode=True)
    assert result["changed"] is False and result["org"] == {"name": "hhs-acf-ohs-tta", "guid": ORG_G}
    assert result["spaces"] == [{"name": "ttahub-prod", "guid": PROD_G}]
    got = [(r["guid"], r["type"], r["role_name"], r["username"], r["origin"], r["space"]) for r in result["roles"]]
    assert got == [
        ("r1", "organization_manager", "OrgManager", "op@agency.gov", "sso", None),
        ("r2", "space_developer", "SpaceDeveloper", "ci-deployer", "uaa", "ttahub-prod"),
        ("r3", "space_auditor", "SpaceAuditor", "departed@agency.gov", "sso", "ttahub-prod"),
        ("r4", "space_manager", "SpaceManager", "ci-deployer", "uaa", "ttahub-prod"),
    ]
    assert all(r["org"] == "hhs-acf-ohs-tta" for r in result["roles"])


def test_all_spaces_when_none_are_named_and_no_org_roles_on_request(fake, cf_args, capsys):
    fake.plan([
        json_step(ORGS, page([{"guid": ORG_G, "name": "hhs-acf-ohs-tta"}])),
        json_step(SPACES, SPACE_LIST),
        json_step(["curl", f"/v3/roles?space_guids={PROD_G},{STAGING_G}&include=user&per_page=200"], page([])),
    ])
    result = run_main(cf_roles_info, {**cf_args, "org": "hhs-acf-ohs-tta", "org_roles": False}, capsys)
    assert [s["name"] for s in result["spaces"]] == ["ttahub-prod", "ttahub-staging"] and result["roles"] == []


def test_an_unknown_org_or_space_fails_with_what_to_check(fake, cf_args, capsys):
    fake.plan([json_step(ORGS, page([]))])
    result = run_main(cf_roles_info, {**cf_args, "org": "hhs-acf-ohs-tta"}, capsys)
    assert result["failed"] and result["msg"].startswith("Failed to find org hhs-acf-ohs-tta: org 'hhs-acf-ohs-tta' not found.")
    fake.plan([json_step(ORGS, page([{"guid": ORG_G, "name": "hhs-acf-ohs-tta"}])), json_step(SPACES, SPACE_LIST)])
    result = run_main(cf_roles_info, {**cf_args, "org": "hhs-acf-ohs-tta", "spaces": ["ttahub-prd"]}, capsys)
    assert result["failed"] and result["error_kind"] == "not_found"
    assert "space 'ttahub-prd' not found in org hhs-acf-ohs-tta" in result["msg"] and len(fake.argvs) == 2
