# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""access_review.yml end to end on the rehearsal, run by the operator with their cf SSO login.

The seeded world holds one departed engineer who still has a role in production: the review finds them and only them.
Then the world drifts (CI's deployer loses its role, a roster member gets one) and the review says so.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from rehearsal import seed as seed_mod
from rehearsal import world as world_mod
from tests.support.playbooks import Rehearsal

PLAYBOOK = "playbooks/access_review.yml"
pytestmark = pytest.mark.slow


@pytest.fixture
def rh(tmp_path):
    rehearsal = Rehearsal(tmp_path)
    rehearsal.operator_login()
    return rehearsal


def reports(rh: Rehearsal) -> list:
    return sorted((rh.home / "ops" / "reports").glob("access-review-rehearsal-*"))


def test_the_seeded_rehearsal_has_one_unexpected_role_holder(rh, capsys):
    before = world_mod.load(rh.home)["roles"]
    login_calls = len(rh.calls())
    run = rh.playbook(PLAYBOOK)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 unexpected role assignments (held by 1), 0 missing, 6 expected." in run.stdout
    assert "unexpected: departed.engineer@rehearsal.gov holds SpaceAuditor in space ttahub-prod" in run.stdout
    json_path, md_path = reports(rh)
    report = json.loads(json_path.read_text(encoding="utf-8"))
    assert report["format"] == "ttahub-ops-access-review/1" and report["environment"] == "rehearsal"
    assert report["spaces"] == ["ttahub-prod"] and report["summary"]["unexpected_holders"] == 1
    assert {r["username"] for r in report["unexpected"]} == {"departed.engineer@rehearsal.gov"}
    assert "`cf unset-space-role departed.engineer@rehearsal.gov hhs-acf-ohs-tta ttahub-prod SpaceAuditor`" in md_path.read_text()
    # Evidence: the audit log holds the review's counts and the report's digest, and its chain verifies.
    assert _audit.verify(str(rh.audit_log)).ok
    (event,) = [r for r in rh.audit_records() if r["event"] == "access_review_completed"]
    assert event["unexpected_holders"] == ["departed.engineer@rehearsal.gov"] and event["cf_user"] == "operator@rehearsal.gov"
    assert event["report"] == str(json_path) and len(event["report_sha256"]) == 64
    # It only read: the same roles, and cf was asked for nothing but the session and GETs.
    assert world_mod.load(rh.home)["roles"] == before
    argvs = [c["argv"] for c in rh.calls()[login_calls:]]
    assert {a[0] for a in argvs} <= {"version", "api", "target", "curl", "config", "auth"}, argvs
    assert not [a for a in argvs if a[0] == "curl" and "-X" in a]
    assert not list((rh.tmp / "runtime").glob("ttahub-ops-cf-*")), "the cf session must be removed"
    with capsys.disabled():
        print(f"\n[figures] access_review: {len(argvs)} cf calls, {len(report['holders'])} holders, "
              f"{report['summary']['assignments']} role assignments")


def test_drift_is_reported_and_fails_the_run_when_asked(rh):
    world_mod.revoke_role(rh.home, "ttahub-rehearsal-deployer", "space_developer", space="ttahub-prod")
    with world_mod.transaction(rh.home) as world:
        # Vera (the Vendor Tech Lead on the rehearsal roster) logs in with her roster email and is a Space Manager.
        vera = seed_mod.add_user(world, "vera.lindqvist@rehearsal.invalid", origin="rehearsal.gov", kind="sso")
        prod = next(s for s in world["spaces"].values() if s["name"] == "ttahub-prod")
        seed_mod.add_role(world, vera, "space_manager", space=prod)
    check = rh.playbook(PLAYBOOK, "--check")
    assert check.returncode == 0 and reports(rh) == [], check.stdout[-3000:]
    assert not list((rh.tmp / "runtime").glob("ttahub-ops-cf-*")), "a check-mode run must end its session too"

    run = rh.playbook(PLAYBOOK, "-e", "access_review_fail_on_findings=true")
    assert run.returncode != 0
    assert "Failed to pass the access review: 2 unexpected and 1 missing role assignments. See " in run.stdout
    json_path, _ = reports(rh)
    report = json.loads(json_path.read_text(encoding="utf-8"))
    assert [(m["username"], m["role"], m["scope"]) for m in report["missing"]] == [
        ("ttahub-rehearsal-deployer", "space_developer", "space ttahub-prod")]
    vera_roles = next(h for h in report["holders"] if h["username"] == "vera.lindqvist@rehearsal.invalid")["roles"]
    assert {(r["role"], r["status"]) for r in vera_roles} == {("organization_user", "expected"), ("space_manager", "expected")}
    assert "ops_access_allowed[2] (roster role vendor_tech_lead)" in next(
        r["why"] for r in vera_roles if r["role"] == "space_manager")
    assert rh.audit_records()[-1]["outcome"] == "failed"
    assert not list((rh.tmp / "runtime").glob("ttahub-ops-cf-*")), "the always section ends the session"
