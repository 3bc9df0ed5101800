#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: github_pr_review
short_description: Submit a review on a GitHub pull request (for example, request changes to retract an approval)
description:
  - Submits a review as the token's account with O(event) and O(body), bound to O(commit_id) (by default the pull
    request's current head).
  - V(REQUEST_CHANGES) is how a premature release approval is retracted before the merge (the SOP's "submit a new
    review with request changes state"); the release gate refuses a pull request with an outstanding request for changes
    by a roster approver.
  - GitHub does not let the author approve or request changes on their own pull request; the module says so and what
    to do instead.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._github
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the pull request and reports the review that would be submitted.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  number:
    description: The pull request number.
    type: int
    required: true
  event:
    description: The review's decision.
    type: str
    choices: [REQUEST_CHANGES, COMMENT, APPROVE]
    required: true
  body:
    description: The review text (the reason, for a retraction).
    type: str
    required: true
  commit_id:
    description: The commit the review is about; defaults to the pull request's current head.
    type: str
seealso:
  - module: ttahub.ops.release_gate
"""

EXAMPLES = r"""
- name: Retract a premature approval with a "request changes" review
  ttahub.ops.github_pr_review:
    repo: HHS/Head-Start-TTADP
    number: 3900
    event: REQUEST_CHANGES
    body: "Approved too early: the data migration is not ready (INC-42)"
"""

RETURN = r"""
review:
  description: The submitted review (in check mode, what would be submitted).
  returned: success
  type: dict
  sample: {"id": 1042, "login": "gideon-tamm", "state": "CHANGES_REQUESTED",
           "commit_id": "88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b", "submitted_at": "2026-11-28T13:00:00Z",
           "body": "Approved too early", "html_url": "https://github.com/HHS/Head-Start-TTADP/pull/3900#pullrequestreview-1042"}
audit_events:
  description: Evidence for the audit log.
  returned: success
  type: list
  elements: dict
  sample: [{"event": "release_review_submitted", "pull_request": 3900, "reviewer": "gideon-tamm",
            "state": "CHANGES_REQUESTED", "commit": "88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._github import (
    GitHubClient,
    get_pull,
    github_argument_spec,
    review_summary,
)
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module

STATES = {"REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", "APPROVE": "APPROVED"}


def body(module: AnsibleModule, gh: GitHubClient) -> dict:
    p = module.params
    number = p["number"]
    pr = get_pull(gh, number, action=f"read pull request #{number}")
    commit = p["commit_id"] or pr["head"]["sha"]
    if module.check_mode:
        login = gh.whoami()["login"]
        return {"changed": True, "skipped": True, "msg": f"a {p['event']} review would be submitted if not in check mode",
                "review": {"login": login, "state": STATES[p["event"]], "commit_id": commit, "body": p["body"]}}
    own = ("GitHub does not let the author of a pull request approve or request changes on it: the author withdraws "
           "their own approval by closing the pull request (release_retract does)")
    review, _headers = gh.request(
        "POST", gh.repo_path(f"/pulls/{number}/reviews"), action=f"submit a {p['event']} review on pull request #{number}",
        body={"event": p["event"], "body": p["body"], "commit_id": commit}, need="pull requests: write",
        hints={422: own},
    )
    summary = review_summary(review)
    return {
        "changed": True,
        "review": summary,
        "audit_events": [{"event": "release_review_submitted", "pull_request": number, "reviewer": summary["login"],
                          "state": summary["state"], "commit": summary["commit_id"], "reason": p["body"][:500]}],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=github_argument_spec(
            number={"type": "int", "required": True},
            event={"type": "str", "choices": list(STATES), "required": True},
            body={"type": "str", "required": True},
            commit_id={"type": "str"},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda gh: body(module, gh), client="github")


if __name__ == "__main__":
    main()
