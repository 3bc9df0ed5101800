# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release procedures end to end with ansible-playbook and the rehearsal inventory against the rehearsal GitHub:
release_request (first approval) -> a review on GitHub -> release_deploy (gate, merge at the approved SHA);
a head that moves between the gate and the merge; release_retract before and after the merge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.rehearsal_github import GIDEON, PAULA, VERA, github_api, github_fixture

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SCRUB = ("CI", "CF_USERNAME", "CF_PASSWORD", "CF_HOME", "GITHUB_TOKEN", "TTAHUB_OPS_RUN_ID", "TTAHUB_OPS_AUDIT_LOG",
         "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CONFIG")

github_server = pytest.fixture(scope="module")(github_fixture)


@pytest.fixture
def gh(github_server):
    github_server.reset()
    return github_server


@pytest.fixture
def run(gh, tmp_path):
    audit = tmp_path / "audit.jsonl"

    def playbook(name, login, *extra):
        env = {k: v for k, v in os.environ.items() if k not in SCRUB}
        env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                   REHEARSAL_HOME=str(gh.home), TTAHUB_OPS_AUDIT_LOG=str(audit), GITHUB_TOKEN=gh.token(login),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"))
        args = [a for e in extra for a in ("-e", json.dumps(dict([e.split("=", 1)])))]
        return subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "inventories/rehearsal", f"playbooks/{name}.yml", *args],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)

    playbook.audit = lambda: [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
    return playbook


def events(run, name):
    return [r for r in run.audit() if r["event"] == name]


def test_request_review_deploy_merges_at_the_approved_sha(gh, run):
    opened = run("release_request", PAULA)
    assert opened.returncode == 0, opened.stdout
    (number,) = [int(n) for n in gh.repo()["pulls"]]
    pr = gh.pull(number)
    assert pr["user"] == PAULA and pr["base"] == "production" and pr["head"] == "main" and pr["requested_reviewers"] == [GIDEON]
    assert "This release carries 3 commit(s)" in pr["body"] and "[TTAHUB-5654] Add TTA Timeline BE API (#3846)" in pr["body"]
    assert "Government Technical Monitor (@gideon-tamm-rehearsal)" in pr["body"]
    assert f"Review requested from @{GIDEON}" in opened.stdout

    early = run("release_deploy", PAULA)
    assert early.returncode != 0 and f"no approval of head {gh.head('main')[:7]} by the Government Technical Monitor" in early.stdout
    assert gh.pull(number)["state"] == "open"

    github_api.add_review(gh.home, number, GIDEON, body="Approved for release")
    approved_head = gh.head("main")
    deployed = run("release_deploy", PAULA)
    assert deployed.returncode == 0, deployed.stdout
    merged = gh.pull(number)
    assert merged["merged_at"] and merged["head_sha"] == approved_head and merged["merged_by"] == PAULA
    merge_commit = gh.repo()["commits"][gh.head("production")]
    assert merge_commit["parents"][1] == approved_head
    assert [e["merge_commit_sha"] for e in events(run, "release_merged")] == [gh.head("production")]
    assert [(e["approver"], e["method"]) for e in events(run, "approval_granted")] == [("paula", "github_pr"),
                                                                                      ("gideon", "github_review")]
    assert "approved by Paula Oduya and Gideon Tamm" in deployed.stdout


def test_a_head_that_moves_between_the_gate_and_the_merge_is_refused_cleanly(gh, run):
    number = github_api.open_pull(gh.home, PAULA)
    github_api.add_review(gh.home, number, GIDEON)
    approved, production = gh.head("main"), gh.head("production")
    github_api.inject_fault(gh.home, "move_head", method="PUT", path_contains="/merge")
    result = run("release_deploy", PAULA)
    assert result.returncode != 0
    assert "409 Head branch was modified. Review and try the merge again." in result.stdout
    assert f"is no longer the approved {approved[:7]}" in result.stdout and "Nothing was merged" in result.stdout
    assert gh.head("production") == production and gh.pull(number)["state"] == "open"
    again = run("release_deploy", PAULA)
    assert again.returncode != 0 and "an older head" in again.stdout


def test_retract_before_the_merge_requests_changes_and_the_gate_refuses(gh, run):
    number = github_api.open_pull(gh.home, PAULA)
    github_api.add_review(gh.home, number, GIDEON)
    missing_reason = run("release_retract", GIDEON)
    assert missing_reason.returncode != 0 and "the reason is required" in missing_reason.stdout
    retracted = run("release_retract", GIDEON, "reason=Approved before the migration was ready")
    assert retracted.returncode == 0, retracted.stdout
    review = gh.pull(number)["reviews"][-1]
    assert (review["user"], review["state"], review["commit_id"]) == (GIDEON, "CHANGES_REQUESTED", gh.head("main"))
    assert "Approved before the migration was ready" in review["body"]
    refused = run("release_deploy", PAULA)
    assert refused.returncode != 0 and "requested changes" in refused.stdout and gh.pull(number)["state"] == "open"


def test_the_author_retracts_by_closing(gh, run):
    number = github_api.open_pull(gh.home, PAULA)
    result = run("release_retract", PAULA, "reason=Opened too early")
    assert result.returncode == 0, result.stdout
    pr = gh.pull(number)
    assert pr["state"] == "closed" and pr["merged_at"] is None and pr["reviews"][-1]["state"] == "COMMENTED"
    assert "closed by its author" in result.stdout


def test_retract_after_the_merge_names_the_vtl_and_opens_a_revert(gh, run):
    number = github_api.open_pull(gh.home, PAULA)
    github_api.add_review(gh.home, number, GIDEON)
    assert run("release_deploy", PAULA).returncode == 0
    merge = gh.head("production")
    told = run("release_retract", GIDEON, "reason=INC-42")
    assert told.returncode == 0, told.stdout
    assert f"as {merge}" in told.stdout and "revert the merge" in told.stdout and "follow-up pull request" in told.stdout
    assert "Vera Lindqvist (vera.lindqvist@rehearsal.invalid; GitHub @vera-lindqvist-rehearsal)" in told.stdout
    assert len(gh.repo()["pulls"]) == 1
    reverted = run("release_retract", VERA, "reason=INC-42", "revert=true")
    assert reverted.returncode != 0 and "Vera Lindqvist" in reverted.stdout  # the VTL cannot approve while a GTM exists
    reverted = run("release_retract", GIDEON, "reason=INC-42", "revert=true")
    assert reverted.returncode == 0, reverted.stdout
    revert = [p for p in gh.repo()["pulls"].values() if p["number"] != number]
    assert len(revert) == 1 and revert[0]["head"] == f"revert-{number}-main" and revert[0]["base"] == "production"
    assert f"release_deploy -e release_head=revert-{number}-main" in reverted.stdout
    assert [e["reverts"] for e in events(run, "release_revert_opened")] == [number]


def test_an_operator_outside_the_roster_cannot_request_a_release(gh, run):
    result = run("release_request", github_api.OUTSIDER)
    assert result.returncode != 0 and "is not in the roster" in result.stdout
    assert gh.repo()["pulls"] == {}
