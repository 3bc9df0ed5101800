# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""github_pr_info, github_pr, github_pr_review and github_revert against the rehearsal GitHub (real HTTP)."""

from __future__ import annotations

import pytest

from ansible_collections.ttahub.ops.plugins.modules import github_pr, github_pr_info, github_pr_merge, github_pr_review, github_revert
from tests.support.modules import run_main
from tests.support.rehearsal_github import GIDEON, OUTSIDER, PAULA, github_api, github_fixture

github_server = pytest.fixture(scope="module")(github_fixture)


@pytest.fixture
def gh(github_server):
    github_server.reset()
    return github_server


def test_info_lists_what_main_carries_and_finds_pull_requests(gh, capsys):
    info = run_main(github_pr_info, gh.args(PAULA, commits=True), capsys)
    assert info["operator"] == PAULA and info["found"] is False
    assert [c["headline"] for c in info["commits"]] == [
        "[TTAHUB-5641] Monitoring goal reopen fix (#3838)", "[TTAHUB-5650] Recipient record search (#3842)",
        "[TTAHUB-5654] Add TTA Timeline BE API (#3846)"]
    assert info["head_sha"] == gh.head("main") and info["commits"][-1]["sha"] == gh.head("main")
    n = github_api.open_pull(gh.home, PAULA)
    github_api.add_review(gh.home, n, GIDEON)
    info = run_main(github_pr_info, gh.args(GIDEON, reviews=True), capsys)
    assert info["found"] and info["pr"]["number"] == n and info["pr"]["author"] == PAULA
    assert [(r["login"], r["state"]) for r in info["reviews"]] == [(GIDEON, "APPROVED")]
    assert run_main(github_pr_info, gh.args(PAULA, state="closed"), capsys)["found"] is False
    missing = run_main(github_pr_info, gh.args(PAULA, number=4242), capsys)
    assert missing["failed"] and missing["error_kind"] == "not_found" and "Check the pull request number (4242)" in missing["msg"]


def test_present_opens_once_requests_reviews_and_updates_the_body(gh, capsys):
    args = gh.args(PAULA, body="first body", reviewers=[GIDEON, PAULA])
    check = run_main(github_pr, args, capsys, check_mode=True)
    assert check["changed"] and check["created"] and gh.repo()["pulls"] == {}
    first = run_main(github_pr, args, capsys)
    assert first["created"] and first["requested"] == [GIDEON] and first["pr"]["requested_reviewers"] == [GIDEON]
    assert [e["event"] for e in first["audit_events"]] == ["release_pr_opened", "release_review_requested"]
    again = run_main(github_pr, gh.args(PAULA, body="first body", reviewers=[GIDEON]), capsys)
    assert again["changed"] is False and again["pr"]["number"] == first["pr"]["number"]
    updated = run_main(github_pr, gh.args(PAULA, body="second body", reviewers=[GIDEON]), capsys)
    assert updated["changed"] and updated["updated"] and gh.pull(first["pr"]["number"])["body"] == "second body"
    github_api.add_review(gh.home, first["pr"]["number"], GIDEON)
    after = run_main(github_pr, gh.args(PAULA, body="second body", reviewers=[GIDEON]), capsys)
    assert after["changed"] is False and after["requested"] == []  # approved the current head: not asked again


def test_present_with_nothing_to_release_and_an_unknown_reviewer(gh, capsys):
    production = gh.head("production")
    github_api.push_commit(gh.home, "production", "sync")
    with github_api.transaction(gh.home) as state:
        state["repos"][github_api.REPO]["branches"]["main"] = production
    nothing = run_main(github_pr, gh.args(PAULA), capsys)
    assert nothing["failed"] and "No commits between production and main" in nothing["msg"]
    assert "GitHub opens a pull request only when main has commits that production does not have" in nothing["msg"]
    gh.reset()
    unknown = run_main(github_pr, gh.args(PAULA, reviewers=["nobody-here"]), capsys)
    assert unknown["failed"] and "Reviews may only be requested from collaborators" in unknown["msg"]


def test_close_and_review_modules(gh, capsys):
    n = github_api.open_pull(gh.home, PAULA)
    head = gh.head("main")
    retract = run_main(github_pr_review, gh.args(GIDEON, number=n, event="REQUEST_CHANGES", body="too early"), capsys)
    assert retract["changed"] and retract["review"]["state"] == "CHANGES_REQUESTED" and retract["review"]["commit_id"] == head
    assert retract["audit_events"][0] == {"event": "release_review_submitted", "pull_request": n, "reviewer": GIDEON,
                                          "state": "CHANGES_REQUESTED", "commit": head, "reason": "too early"}
    own = run_main(github_pr_review, gh.args(PAULA, number=n, event="REQUEST_CHANGES", body="mine"), capsys)
    assert own["failed"] and "Can not request changes on your own pull request" in own["msg"]
    assert "the author withdraws their own approval by closing the pull request" in own["msg"]
    dry = run_main(github_pr_review, gh.args(OUTSIDER, number=n, event="COMMENT", body="hi"), capsys, check_mode=True)
    assert dry["skipped"] and dry["review"]["login"] == OUTSIDER and len(gh.pull(n)["reviews"]) == 1
    closed = run_main(github_pr, gh.args(PAULA, state="closed", number=n), capsys)
    assert closed["closed"] and gh.pull(n)["state"] == "closed"
    assert run_main(github_pr, gh.args(PAULA, state="closed", number=n), capsys)["changed"] is False


def merged_release(gh, capsys):
    n = github_api.open_pull(gh.home, PAULA, title="Release main to production")
    result = run_main(github_pr_merge, gh.args(PAULA, number=n, sha=gh.head("main")), capsys)
    return n, result["merge_commit_sha"]


def test_revert_opens_a_pull_request_that_restores_production(gh, capsys):
    before_tree = gh.repo()["commits"][gh.head("production")]["tree"]
    n, merge = merged_release(gh, capsys)
    check = run_main(github_revert, gh.args(PAULA, number=n, reason="INC-42"), capsys, check_mode=True)
    assert check["changed"] and check["branch"] == f"revert-{n}-main" and len(gh.repo()["pulls"]) == 1
    result = run_main(github_revert, gh.args(PAULA, number=n, reason="INC-42: approved too early"), capsys)
    assert result["created"] and result["pr"]["title"] == 'Revert "Release main to production"'
    assert result["pr"]["head_ref"] == f"revert-{n}-main" and result["pr"]["base_ref"] == "production"
    revert_commit = gh.repo()["commits"][result["pr"]["head_sha"]]
    assert revert_commit["parents"] == [merge] and revert_commit["tree"] == before_tree
    assert f"This reverts commit {merge}" in revert_commit["message"] and "INC-42: approved too early" in revert_commit["message"]
    again = run_main(github_revert, gh.args(PAULA, number=n, reason="INC-42"), capsys)
    assert again["changed"] is False and again["pr"]["number"] == result["pr"]["number"]


def test_revert_refuses_an_open_pull_request_and_a_moved_production(gh, capsys):
    n = github_api.open_pull(gh.home, PAULA)
    unmerged = run_main(github_revert, gh.args(PAULA, number=n, reason="x"), capsys)
    assert unmerged["failed"] and "is not merged" in unmerged["msg"] and "request for changes" in unmerged["msg"]
    gh.reset()
    n, merge = merged_release(gh, capsys)
    github_api.push_commit(gh.home, "production", "hotfix")
    moved = run_main(github_revert, gh.args(PAULA, number=n, reason="x"), capsys)
    assert moved["failed"] and f"git revert -m 1 {merge}" in moved["msg"]
