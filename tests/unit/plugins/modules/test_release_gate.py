# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""release_gate and github_pr_merge against the rehearsal GitHub (real HTTP, GitHub's response shapes): the issue's
truth table, each row a pull request built through the emulator, the gate run through the module's real main()."""

from __future__ import annotations

import pytest

from ansible_collections.ttahub.ops.plugins.modules import github_pr_merge, github_pr_review, release_gate
from tests.support.modules import run_main
from tests.support.rehearsal_github import CI, GIDEON, MILO, OUTSIDER, PAULA, VERA, github_api, github_fixture

github_server = pytest.fixture(scope="module")(github_fixture)


@pytest.fixture
def gh(github_server):
    github_server.reset()
    return github_server


def gate(gh, capsys, login, **more):
    return run_main(release_gate, gh.gate_args(login, **more), capsys)


def opened(gh, author=PAULA):
    return github_api.open_pull(gh.home, author)


def reasons(result):
    return [r["reason"] for r in result.get("refusals", [])]


def review(gh, number, login, state="APPROVED", **kwargs):
    return github_api.add_review(gh.home, number, login, state, **kwargs)


# --- the truth table ------------------------------------------------------------------------------------------------

def test_po_opens_and_gtm_approves_passes(gh, capsys):
    n = opened(gh)
    review(gh, n, GIDEON)
    result = gate(gh, capsys, PAULA)
    assert result["_rc"] == 0 and result["granted"] is True, result["msg"]
    assert result["head_sha"] == gh.head("main") and result["number"] == n
    assert [(a["id"], a["method"]) for a in result["approvals"]] == [("paula", "github_pr"), ("gideon", "github_review")]
    assert [e["event"] for e in result["audit_events"]] == ["approval_granted", "approval_granted", "release_gate_passed"]
    assert result["operator"]["id"] == "paula" and result["checks"][0]["name"] == "tests_done"


def test_po_and_vtl_pass_only_while_the_gtm_role_is_vacant(gh, capsys):
    n = opened(gh)
    review(gh, n, VERA)
    held = gate(gh, capsys, PAULA)
    assert held["failed"] and reasons(held) == ["approval_missing"]
    assert "may stand in for the Government Technical Monitor only while no one holds that role" in held["msg"]
    vacant = gate(gh, capsys, PAULA, roster=gh.roster_without("gideon"), vacant_roles=["government_technical_monitor"])
    assert vacant["granted"] is True
    assert vacant["approvals"][1]["substitute_for"] == "government_technical_monitor"
    undeclared = gate(gh, capsys, PAULA, roster=gh.roster_without("gideon"))
    assert undeclared["failed"] and "does not declare it vacant" in undeclared["msg"]


def test_gtm_and_vtl_are_refused(gh, capsys):
    n = opened(gh, GIDEON)
    review(gh, n, VERA)
    result = gate(gh, capsys, GIDEON)
    assert reasons(result) == ["approval_missing"]
    assert "no approval of head" in result["msg"] and "by the Product Owner, Paula Oduya (@paula-oduya-rehearsal)" in result["msg"]


def test_one_person_as_author_and_approver_is_refused(gh, capsys):
    n = opened(gh)
    own = run_main(github_pr_review, gh.args(PAULA, number=n, event="APPROVE", body="mine"), capsys)
    assert own["failed"] and "422 Unprocessable Entity: Can not approve your own pull request" in own["msg"]  # GitHub says no
    review(gh, n, PAULA, force=True)  # ... and the gate does not rely on GitHub for it
    result = gate(gh, capsys, PAULA)
    assert reasons(result) == ["author_approved", "approval_missing"]
    assert "opened PR #{0} and also approved it".format(n) in result["msg"]


def test_an_approval_of_an_older_head_is_refused(gh, capsys):
    n = opened(gh)
    review(gh, n, GIDEON)
    old = gh.head("main")
    github_api.push_commit(gh.home, "main", "A late change")
    result = gate(gh, capsys, PAULA)
    assert reasons(result) == ["approval_missing"]
    assert f"approved {old[:7]}, an older head: the approval must be made at the current head {gh.head('main')[:7]}" in result["msg"]


def test_changes_requested_after_an_approval_is_refused(gh, capsys):
    n = opened(gh)
    review(gh, n, GIDEON)
    review(gh, n, GIDEON, "CHANGES_REQUESTED", body="Approved too early: INC-42")
    result = gate(gh, capsys, PAULA)
    assert reasons(result) == ["changes_requested", "approval_missing"]
    assert "requested changes at" in result["msg"] and "(Approved too early: INC-42)" in result["msg"]
    review(gh, n, GIDEON)
    assert gate(gh, capsys, PAULA)["granted"] is True


def test_a_dismissed_approval_is_refused(gh, capsys):
    n = opened(gh)
    rid = review(gh, n, GIDEON)
    github_api.dismiss_review(gh.home, n, rid)
    result = gate(gh, capsys, PAULA)
    assert reasons(result) == ["approval_missing"] and "was dismissed" in result["msg"]


def test_a_reviewer_not_in_the_roster_is_ignored(gh, capsys):
    n = opened(gh)
    review(gh, n, OUTSIDER)
    alone = gate(gh, capsys, PAULA)
    assert reasons(alone) == ["approval_missing"]
    assert alone["notes"] == [f"the APPROVED review of @{OUTSIDER} is ignored: @{OUTSIDER} is not in the roster"]
    review(gh, n, GIDEON)
    assert gate(gh, capsys, PAULA)["granted"] is True


def test_github_login_case_differences_are_handled(gh, capsys):
    n = opened(gh)
    review(gh, n, GIDEON)
    roster = [dict(p, github=p["github"].upper() if p["id"] == "paula" else p["github"].title()) for p in gh.roster]
    result = gate(gh, capsys, PAULA, roster=roster)
    assert result["granted"] is True and result["operator"]["login"] == PAULA


@pytest.mark.parametrize("conclusion, status, reason", [("failure", "completed", "check_failed"),
                                                        (None, "in_progress", "check_pending")])
def test_failing_or_unfinished_checks_are_refused(gh, capsys, conclusion, status, reason):
    n = opened(gh)
    review(gh, n, GIDEON)
    github_api.set_check(gh.home, gh.head("main"), "tests_done", conclusion, status)
    result = gate(gh, capsys, PAULA)
    assert reasons(result) == [reason] and "check tests_done on" in result["msg"]


def test_a_required_check_that_never_reported_and_a_failed_status_are_refused(gh, capsys):
    n = opened(gh)
    review(gh, n, GIDEON)
    github_api.add_status(gh.home, gh.head("main"), "ci/circleci: dynamic_security_scan", "failure")
    result = gate(gh, capsys, PAULA, required_checks=["tests_done", "release_inventory_check"])
    assert reasons(result) == ["check_failed", "check_missing"]
    assert "required check release_inventory_check has not reported" in result["msg"]


def test_an_unmergeable_pull_request_is_refused(gh, capsys):
    n = opened(gh)
    review(gh, n, GIDEON)
    github_api.set_mergeable(gh.home, n, False)
    result = gate(gh, capsys, PAULA)
    assert reasons(result) == ["not_mergeable"] and "(mergeable_state dirty)" in result["msg"]


def test_mergeability_still_computing_is_waited_for(gh, capsys):
    n = opened(gh)
    review(gh, n, GIDEON)
    github_api.set_mergeable(gh.home, n, True, pending=1)
    assert gate(gh, capsys, PAULA, wait_mergeable=3)["granted"] is True


def test_the_head_moved_between_the_gate_and_the_merge_is_refused_cleanly(gh, capsys):
    n = opened(gh)
    review(gh, n, GIDEON)
    production = gh.head("production")
    checked = gate(gh, capsys, PAULA)
    assert checked["granted"] is True
    github_api.push_commit(gh.home, "main", "Slipped in after the approval")
    merged = run_main(github_pr_merge, gh.args(PAULA, number=n, sha=checked["head_sha"]), capsys)
    assert merged["failed"] and merged["error_kind"] == "conflict" and merged["status"] == 409
    assert merged["msg"] == (
        f"Failed to merge pull request #{n} at {checked['head_sha'][:7]}: GitHub refused it (409 Head branch was modified. "
        f"Review and try the merge again.). The head of pull request #{n} is no longer the approved {checked['head_sha'][:7]}: "
        "someone pushed to it after the release gate checked it. Nothing was merged. Run release_deploy again; the new head "
        "needs an approving review of its own.")
    assert gh.head("production") == production and gh.pull(n)["state"] == "open"


def test_merge_at_the_approved_sha_then_the_deploy_commit_proves_the_release(gh, capsys):
    n = opened(gh)
    review(gh, n, GIDEON)
    checked = gate(gh, capsys, PAULA)
    merged = run_main(github_pr_merge, gh.args(PAULA, number=n, sha=checked["head_sha"]), capsys)
    assert merged["changed"] and merged["merge_commit_sha"] == gh.head("production")
    assert merged["audit_events"][0] == {"event": "release_merged", "pull_request": n, "head_sha": checked["head_sha"],
                                         "merge_commit_sha": merged["merge_commit_sha"]}
    again = run_main(github_pr_merge, gh.args(PAULA, number=n, sha=checked["head_sha"]), capsys)
    assert again["changed"] is False and again["merged"] is True
    proof = gate(gh, capsys, CI, mode="merged", commit=merged["merge_commit_sha"])
    assert proof["granted"] is True and proof["merge_commit_sha"] == merged["merge_commit_sha"]
    refused = gate(gh, capsys, CI, mode="merged", commit=checked["head_sha"])
    assert refused["failed"] and "is not the merge commit of any pull request into production" in refused["msg"]
    assert [e["reason"] for e in refused["audit_events"]] == [["not_a_release_merge"]]


def test_merging_an_unmergeable_pull_request_is_a_clean_405(gh, capsys):
    n = opened(gh)
    github_api.set_mergeable(gh.home, n, False)
    result = run_main(github_pr_merge, gh.args(PAULA, number=n, sha=gh.head("main")), capsys)
    assert result["failed"] and result["status"] == 405 and "Pull Request is not mergeable" in result["msg"]


def test_the_merger_must_be_one_of_the_two_approvers(gh, capsys):
    n = opened(gh, GIDEON)
    review(gh, n, PAULA)
    assert gate(gh, capsys, GIDEON)["granted"] is True
    roster = [dict(p, roles=["product_owner", "vendor_tech_lead"]) if p["id"] == "vera" else p for p in gh.roster]
    result = gate(gh, capsys, VERA, roster=roster)
    assert reasons(result) == ["merger_not_approver"]


def test_no_release_pull_request_and_unknown_operators(gh, capsys):
    none = gate(gh, capsys, PAULA)
    assert none["failed"] and "there is no open one. Open it with release_request" in none["msg"]
    opened(gh)
    outsider = gate(gh, capsys, OUTSIDER)
    assert outsider["failed"] and outsider["error_kind"] == "unknown_github_login"
    assert f"GitHub user @{OUTSIDER}, is not in the roster" in outsider["msg"]
    assert outsider["audit_events"][0]["event"] == "release_gate_failed"
    vpm = gate(gh, capsys, MILO, mode="identify")
    assert vpm["failed"] and vpm["error_kind"] == "no_release_role"


def test_request_mode_names_the_counterpart(gh, capsys):
    result = gate(gh, capsys, PAULA, mode="request")
    assert result["reviewers"] == [GIDEON] and "pr" not in result
    opened(gh, GIDEON)
    result = gate(gh, capsys, PAULA, mode="request")
    assert result["pr"]["author"] == GIDEON and result["reviewers"] == [PAULA]
    github_api.add_user(gh.home, "someone-else")
    gh.reset()
    github_api.open_pull(gh.home, OUTSIDER)
    refused = gate(gh, capsys, PAULA, mode="request")
    assert refused["failed"] and "close it and open it again with release_request" in refused["msg"]


def test_an_incomplete_roster_refuses_before_any_request(gh, capsys):
    roster = [dict(p, ssh_public_key="") if p["id"] == "gideon" else p for p in gh.roster]
    before = len(gh.requests())
    result = gate(gh, capsys, PAULA, roster=roster, roster_hint="fill the roster")
    assert result["failed"] and result["msg"].startswith("Failed to check the roster for policy release: roster incomplete: "
                                                         "Gideon Tamm has no ssh_public_key; fill the roster")
    assert len(gh.requests()) == before


def test_rate_limit_and_bad_token_fail_with_what_to_do(gh, capsys):
    opened(gh)
    github_api.inject_fault(gh.home, "rate_limit")
    limited = gate(gh, capsys, PAULA)
    assert limited["failed"] and limited["error_kind"] == "rate_limited" and "Wait until the limit resets" in limited["msg"]
    bad = run_main(release_gate, {**gh.gate_args(PAULA), "token": "ghp_wrong"}, capsys)
    assert bad["failed"] and bad["error_kind"] == "unauthorized" and "ghp_wrong" not in bad["_raw"]


def test_the_token_comes_from_github_token_and_never_appears(gh, capsys, monkeypatch):
    n = opened(gh)
    review(gh, n, GIDEON)
    token = gh.token(PAULA)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    args = {k: v for k, v in gh.gate_args(PAULA).items() if k != "token"}
    result = run_main(release_gate, args, capsys)
    assert result["granted"] is True and token not in result["_raw"]
    monkeypatch.delenv("GITHUB_TOKEN")
    missing = run_main(release_gate, args, capsys)
    assert missing["failed"] and missing["msg"].startswith("Failed to authenticate to GitHub: GITHUB_TOKEN is not set.")
