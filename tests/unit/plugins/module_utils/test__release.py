# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release gate's pure part: the two-person rule over GitHub's JSON (the pull request, its reviews, its checks),
fed into the approval policy's own evaluation. The same table runs against the rehearsal GitHub in
tests/unit/plugins/modules/test_release_gate.py."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
import yaml

from ansible_collections.ttahub.ops.plugins.module_utils import _approval as A
from ansible_collections.ttahub.ops.plugins.module_utils import _release as R

REPO = Path(__file__).resolve().parents[4]
POLICIES = yaml.safe_load((REPO / "inventories/production/group_vars/all/policies.yml").read_text())["ops_approval_policies"]
HEAD, OLD, MERGE = "a" * 40, "b" * 40, "c" * 40


def fake_key(seed: str) -> str:
    kind = b"ssh-ed25519"
    blob = len(kind).to_bytes(4, "big") + kind + (32).to_bytes(4, "big") + hashlib.sha256(seed.encode()).digest()
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {seed}@test"


def person(pid, name, role):
    return {"id": pid, "name": name, "roles": [role], "github": f"{pid}-gh", "email": f"{pid}@example.gov",
            "ssh_public_key": fake_key(pid)}


PEOPLE = [person("paula", "Paula Oduya", "product_owner"), person("gideon", "Gideon Tamm", "government_technical_monitor"),
          person("vera", "Vera Lindqvist", "vendor_tech_lead"), person("milo", "Milo Park", "vendor_product_manager")]
ROSTER = A.load_roster(PEOPLE)
NO_GTM = A.load_roster([p for p in PEOPLE if p["id"] != "gideon"], ["government_technical_monitor"])
POLICY = A.load_policy("release", POLICIES["release"])


def pr(author="paula-gh", **changes):
    body = {"number": 3900, "state": "open", "draft": False, "mergeable": True, "mergeable_state": "clean",
            "merged": False, "merged_at": None, "merge_commit_sha": None, "user": {"login": author},
            "created_at": "2026-11-28T12:00:00Z", "head": {"ref": "main", "sha": HEAD, "label": "HHS:main",
                                                           "repo": {"full_name": "HHS/Head-Start-TTADP"}},
            "base": {"ref": "production"}}
    body.update(changes)
    return body


def review(login, state="APPROVED", commit=HEAD, at="2026-11-28T13:00:00Z", rid=1, body=""):
    return {"id": rid, "user": {"login": login}, "state": state, "commit_id": commit, "submitted_at": at, "body": body}


GREEN = ({"id": 1, "name": "tests_done", "status": "completed", "conclusion": "success"},)
FAILED = {"id": 1, "name": "tests_done", "status": "completed", "conclusion": "failure"}


def decide(the_pr=None, reviews=(), roster=ROSTER, checks=GREEN, statuses=(), **kwargs):
    return R.evaluate_release(policy=POLICY, roster=roster, pr=the_pr or pr(), reviews=list(reviews), check_runs=checks,
                              statuses=statuses, repo="HHS/Head-Start-TTADP", **kwargs)


def reasons(decision):
    return [r["reason"] for r in decision.refusals]


# The truth table of the issue, on GitHub's JSON.
TABLE = [
    ("PO opens, GTM approves", dict(reviews=[review("gideon-gh")]), []),
    ("GTM opens, PO approves", dict(the_pr=pr("gideon-gh"), reviews=[review("paula-gh")]), []),
    ("PO opens, VTL approves while GTM vacant", dict(reviews=[review("vera-gh")], roster=NO_GTM), []),
    ("VTL opens, PO approves while GTM vacant", dict(the_pr=pr("vera-gh"), reviews=[review("paula-gh")], roster=NO_GTM), []),
    ("PO opens, VTL approves while a GTM exists", dict(reviews=[review("vera-gh")]), ["approval_missing"]),
    ("GTM opens, VTL approves", dict(the_pr=pr("gideon-gh"), reviews=[review("vera-gh")]), ["approval_missing"]),
    ("one person opens and approves", dict(reviews=[review("paula-gh")]), ["author_approved", "approval_missing"]),
    ("approval of an older head", dict(reviews=[review("gideon-gh", commit=OLD)]), ["approval_missing"]),
    ("changes requested after the approval",
     dict(reviews=[review("gideon-gh", rid=1), review("gideon-gh", "CHANGES_REQUESTED", at="2026-11-28T14:00:00Z", rid=2)]),
     ["changes_requested", "approval_missing"]),
    ("approval after changes requested",
     dict(reviews=[review("gideon-gh", "CHANGES_REQUESTED", rid=1), review("gideon-gh", at="2026-11-28T14:00:00Z", rid=2)]), []),
    ("a comment after the approval keeps it",
     dict(reviews=[review("gideon-gh", rid=1), review("gideon-gh", "COMMENTED", at="2026-11-28T14:00:00Z", rid=2)]), []),
    ("a dismissed approval", dict(reviews=[review("gideon-gh", "DISMISSED")]), ["approval_missing"]),
    ("a reviewer not in the roster is ignored", dict(reviews=[review("octocat")]), ["approval_missing"]),
    ("a reviewer not in the roster besides the GTM", dict(reviews=[review("octocat", rid=1), review("gideon-gh", rid=2)]), []),
    ("GitHub login case differs from the roster",
     dict(the_pr=pr("PAULA-GH"), reviews=[review("Gideon-Gh")]), []),
    ("changes requested by the VTL while a GTM exists",
     dict(reviews=[review("gideon-gh", rid=1), review("vera-gh", "CHANGES_REQUESTED", rid=2)]), ["changes_requested"]),
    ("changes requested by the VPM (not an approver) are noted only",
     dict(reviews=[review("gideon-gh", rid=1), review("milo-gh", "CHANGES_REQUESTED", rid=2)]), []),
    ("author not in the roster", dict(the_pr=pr("octocat"), reviews=[review("gideon-gh")]), ["author_not_in_roster", "approval_missing"]),
    ("failing check", dict(reviews=[review("gideon-gh")], checks=[FAILED]), ["check_failed"]),
    ("unmergeable", dict(the_pr=pr(mergeable=False, mergeable_state="dirty"), reviews=[review("gideon-gh")]), ["not_mergeable"]),
    ("mergeability not computed yet", dict(the_pr=pr(mergeable=None), reviews=[review("gideon-gh")]), ["mergeability_unknown"]),
    ("closed", dict(the_pr=pr(state="closed"), reviews=[review("gideon-gh")]), ["pr_not_open"]),
    ("draft", dict(the_pr=pr(draft=True), reviews=[review("gideon-gh")]), ["pr_draft"]),
    ("wrong base", dict(the_pr=pr(base={"ref": "main"}), reviews=[review("gideon-gh")]), ["wrong_base"]),
    ("a fork's main", dict(the_pr=pr(head={"ref": "main", "sha": HEAD, "label": "evil:main", "repo": {"full_name": "evil/Head-Start-TTADP"}}),
                           reviews=[review("gideon-gh")]), ["wrong_head"]),
]


@pytest.mark.parametrize("case, kwargs, expected", TABLE, ids=[row[0] for row in TABLE])
def test_truth_table(case, kwargs, expected):
    decision = decide(**kwargs)
    assert reasons(decision) == expected, decision.message()
    assert decision.granted is (not expected)
    if decision.granted:
        assert [a["method"] for a in decision.approvals] in (["github_pr", "github_review"], ["github_review", "github_pr"])
        assert len({a["id"] for a in decision.approvals}) == 2


def test_refusals_name_exactly_what_is_missing():
    d = decide(reviews=[review("vera-gh")])
    assert d.message() == (
        "no approval of head aaaaaaa by the Government Technical Monitor, Gideon Tamm (@gideon-gh); Vera Lindqvist (vera), "
        "Vendor Technical Lead, may stand in for the Government Technical Monitor only while no one holds that role, and "
        "Gideon Tamm (gideon) holds it")
    d = decide(reviews=[review("gideon-gh", commit=OLD)])
    assert "Gideon Tamm (gideon) (@gideon-gh) approved bbbbbbb, an older head: the approval must be made at the current head aaaaaaa" in d.message()
    d = decide(reviews=[review("gideon-gh", "DISMISSED")])
    assert "the review of Gideon Tamm (gideon) (@gideon-gh) was dismissed" in d.message()
    d = decide(reviews=[review("gideon-gh", rid=1), review("gideon-gh", "CHANGES_REQUESTED", at="2026-11-28T14:00:00Z", rid=2,
                                                           body="Not yet: INC-42\nmore")])
    assert ("Gideon Tamm (gideon) (@gideon-gh) requested changes at 2026-11-28T14:00:00Z (Not yet: INC-42): they must approve "
            "head aaaaaaa before the release goes on") in d.message()
    d = decide(reviews=[review("paula-gh")])
    assert "Paula Oduya (paula) opened PR #3900 and also approved it; the two approvals must come from two different people" in d.message()
    d = decide(reviews=[review("octocat"), review("gideon-gh", rid=2)])
    assert d.granted and d.notes == ["the APPROVED review of @octocat is ignored: @octocat is not in the roster"]


def test_the_approvals_that_count_carry_roles_methods_and_logins():
    d = decide(the_pr=pr("PAULA-GH"), reviews=[review("Gideon-Gh")])
    assert [(a["id"], a["role"], a["method"], a["github"]) for a in d.approvals] == [
        ("paula", "product_owner", "github_pr", "PAULA-GH"), ("gideon", "government_technical_monitor", "github_review", "Gideon-Gh")]
    d = decide(reviews=[review("vera-gh")], roster=NO_GTM)
    assert d.approvals[1]["substitute_for"] == "government_technical_monitor"
    events = d.events(POLICY, "deploy")
    assert [e["event"] for e in events] == ["approval_granted", "approval_granted", "release_gate_passed"]
    assert events[-1]["approvers"] == ["paula", "vera"] and events[-1]["head_sha"] == HEAD


def test_whoever_merges_is_one_of_the_two_approvers():
    assert decide(reviews=[review("gideon-gh")], merger_login="gideon-gh").granted
    assert decide(reviews=[review("gideon-gh")], merger_login="Paula-GH").granted
    d = decide(reviews=[review("gideon-gh")], merger_login="milo-gh")
    assert reasons(d) == ["merger_not_approver"]
    assert "@milo-gh, who merges PR #3900, is neither its author nor its approving reviewer" in d.message()


def test_merged_mode_binds_the_deployed_commit_to_the_merge():
    merged = pr(state="closed", merged=True, merged_at="2026-11-28T15:00:00Z", merge_commit_sha=MERGE, mergeable=None,
                merged_by={"login": "paula-gh"})
    assert decide(the_pr=merged, reviews=[review("gideon-gh")], mode="merged", commit=MERGE).granted
    d = decide(the_pr=merged, reviews=[review("gideon-gh")], mode="merged", commit=OLD)
    assert reasons(d) == ["not_the_merge_commit"]
    d = decide(the_pr=pr(), reviews=[review("gideon-gh")], mode="merged", commit=MERGE)
    assert reasons(d) == ["pr_not_merged"]
    d = decide(the_pr=dict(merged, merged_by={"login": "octocat"}), reviews=[review("gideon-gh")], mode="merged", commit=MERGE)
    assert reasons(d) == ["merger_not_approver"] and "who merged PR #3900" in d.message()
    with pytest.raises(ValueError):
        decide(mode="sideways")


def test_checks_all_green_required_present_at_least_one():
    runs = [{"id": 1, "name": "tests_done", "status": "completed", "conclusion": "failure"},
            {"id": 2, "name": "tests_done", "status": "completed", "conclusion": "success"},  # a re-run: the latest counts
            {"id": 3, "name": "lint", "status": "in_progress", "conclusion": None},
            {"id": 4, "name": "docs", "status": "completed", "conclusion": "skipped"}]
    statuses = [{"id": 5, "context": "ci/circleci: sast", "state": "success", "updated_at": "2026-11-28T12:00:00Z"},
                {"id": 6, "context": "ci/circleci: zap", "state": "error", "updated_at": "2026-11-28T12:00:00Z"}]
    summary, refusals = R.evaluate_checks(runs, statuses, ["tests_done", "release_inventory_check"], HEAD)
    states = {s["name"]: s["state"] for s in summary}
    assert states == {"tests_done": "green", "lint": "pending", "docs": "green", "ci/circleci: sast": "green",
                      "ci/circleci: zap": "failing"}
    assert [r["message"] for r in refusals] == [
        "check lint on aaaaaaa has not finished (in_progress): wait for CI",
        "status ci/circleci: zap on aaaaaaa is error",
        "required check release_inventory_check has not reported on aaaaaaa"]
    _summary, refusals = R.evaluate_checks([], [], [], HEAD)
    assert [r["reason"] for r in refusals] == ["no_checks"]
    assert R.evaluate_checks([], [{"id": 1, "context": "ci", "state": "success"}], ["ci"], HEAD)[1] == []


def test_latest_reviews_ignore_comments_and_pending_and_order_by_time():
    latest = R.latest_reviews([
        review("gideon-gh", "CHANGES_REQUESTED", at="2026-11-28T15:00:00Z", rid=9),
        review("Gideon-GH", "APPROVED", at="2026-11-28T14:00:00Z", rid=10),
        review("gideon-gh", "COMMENTED", at="2026-11-28T16:00:00Z", rid=11),
        {"id": 12, "user": {"login": "vera-gh"}, "state": "PENDING", "submitted_at": None},
    ])
    assert list(latest) == ["gideon-gh"] and latest["gideon-gh"]["id"] == 9


def test_counterparts_follow_the_policy_and_the_vacancy():
    paula, gideon, vera = (ROSTER.get(i) for i in ("paula", "gideon", "vera"))
    assert [(c["role"], [m["id"] for m in c["members"]]) for c in R.counterparts(POLICY, ROSTER, paula)] == [
        ("government_technical_monitor", ["gideon"])]
    assert [(c["role"], [m["id"] for m in c["members"]]) for c in R.counterparts(POLICY, ROSTER, gideon)] == [
        ("product_owner", ["paula"])]
    assert [(c["role"], [m["id"] for m in c["members"]]) for c in R.counterparts(POLICY, NO_GTM, NO_GTM.get("paula"))] == [
        ("government_technical_monitor", ["vera"])]
    assert R.counterparts(POLICY, ROSTER, vera) == []


def test_release_member_refuses_outsiders_and_people_without_a_release_role():
    assert R.release_member(POLICY, ROSTER, "PAULA-GH").id == "paula"
    with pytest.raises(A.Refused) as info:
        R.release_member(POLICY, ROSTER, "octocat")
    assert info.value.reason == "unknown_github_login" and "the operator, GitHub user @octocat, is not in the roster" in info.value.message
    with pytest.raises(A.Refused) as info:
        R.release_member(POLICY, ROSTER, "milo-gh")
    assert info.value.reason == "no_release_role" and "is the Vendor Product Manager and cannot approve" in info.value.message
    with pytest.raises(A.Refused) as info:
        R.release_member(POLICY, ROSTER, "vera-gh")
    assert "may stand in for the Government Technical Monitor only while no one holds that role" in info.value.message
    assert R.release_member(POLICY, NO_GTM, "vera-gh").id == "vera"


def test_a_policy_without_the_github_methods_refuses_them():
    strict = A.load_policy("release", dict(POLICIES["release"], methods=["typed", "signed"]))
    d = R.evaluate_release(policy=strict, roster=ROSTER, pr=pr(), reviews=[review("gideon-gh")], check_runs=GREEN,
                           repo="HHS/Head-Start-TTADP")
    assert "method_not_allowed" in reasons(d)
    assert "policy release does not accept github_pr approvals" in d.message()


def test_the_github_proofs_map_logins_to_roster_members():
    proof = A.proof_from_github_pr(ROSTER, "Paula-GH", "2026-11-28T12:00:00Z")
    assert (proof.approver, proof.method, proof.detail) == ("paula", "github_pr", "@Paula-GH")
    with pytest.raises(A.Refused) as info:
        A.proof_from_github_pr(ROSTER, "octocat", "")
    assert info.value.reason == "unknown_github_login" and info.value.method == "github_pr"
