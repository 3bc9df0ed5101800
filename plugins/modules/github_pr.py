#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: github_pr
short_description: Open (or find) a GitHub pull request and request reviews on it, or close it
description:
  - With O(state=present), finds the open pull request from O(head) into O(base), or opens it with O(title) and O(body).
    An open pull request whose body differs from O(body) gets O(body); its title is kept.
  - Requests a review from each of O(reviewers) who is not already requested and has not yet approved the pull
    request's current head. The author is never requested (GitHub refuses it).
  - With O(state=closed), closes the pull request O(number) (or the open one from O(head) into O(base)) without merging.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._github
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the pull request and reports what would be opened, updated, requested or closed.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description: V(present) opens or updates the pull request; V(closed) closes it.
    type: str
    choices: [present, closed]
    default: present
  number:
    description: With O(state=closed), the pull request to close.
    type: int
  base:
    description: The branch the pull request merges into.
    type: str
    default: production
  head:
    description: The branch of the repository itself that the pull request merges.
    type: str
    default: main
  title:
    description: The title of a new pull request.
    type: str
    default: Release main to production
  body:
    description: The pull request's description (Markdown).
    type: str
    default: ""
  reviewers:
    description: GitHub logins to request a review from.
    type: list
    elements: str
    default: []
seealso:
  - module: ttahub.ops.github_pr_info
  - module: ttahub.ops.release_gate
"""

EXAMPLES = r"""
- name: Open the release pull request and request the counterpart's review
  ttahub.ops.github_pr:
    repo: HHS/Head-Start-TTADP
    base: production
    head: main
    title: Release main to production
    body: "{{ release_body }}"
    reviewers: ["{{ gtm_login }}"]
"""

RETURN = r"""
pr:
  description: The pull request after the task (see M(ttahub.ops.github_pr_info) for the fields).
  returned: success, unless a new pull request would be opened in check mode
  type: dict
  sample: {"number": 3900, "state": "open", "author": "paula-oduya", "head_sha": "88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b",
           "html_url": "https://github.com/HHS/Head-Start-TTADP/pull/3900", "requested_reviewers": ["gideon-tamm"]}
created:
  description: Whether the pull request was opened by this task.
  returned: success
  type: bool
  sample: true
updated:
  description: Whether the body of an existing pull request was changed.
  returned: success
  type: bool
  sample: false
requested:
  description: The logins a review was requested from by this task.
  returned: success
  type: list
  elements: str
  sample: ["gideon-tamm"]
closed:
  description: Whether the pull request was closed by this task.
  returned: success
  type: bool
  sample: false
audit_events:
  description: Evidence for the audit log.
  returned: success
  type: list
  elements: dict
  sample: [{"event": "release_pr_opened", "pull_request": 3900, "author": "paula-oduya",
            "head_sha": "88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._github import (
    GitHubClient,
    GitHubError,
    find_pull,
    get_pull,
    github_argument_spec,
    pr_summary,
)
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def present(module: AnsibleModule, gh: GitHubClient) -> dict:
    p = module.params
    result: dict = {"changed": False, "created": False, "updated": False, "requested": [], "closed": False,
                    "audit_events": []}
    listed = find_pull(gh, action=f"find the pull request {p['head']} -> {p['base']}", base=p["base"], head=p["head"])
    if listed is None:
        if module.check_mode:
            result.update(changed=True, created=True, requested=list(p["reviewers"]),
                          msg=f"a pull request {p['head']} -> {p['base']} would be opened if not in check mode")
            return result
        pr, _headers = gh.request(
            "POST", gh.repo_path("/pulls"), action=f"open the pull request {p['head']} -> {p['base']}",
            body={"title": p["title"], "head": p["head"], "base": p["base"], "body": p["body"]}, need="pull requests: write",
            hints={422: f"GitHub opens a pull request only when {p['head']} has commits that {p['base']} does not have"},
        )
        result.update(changed=True, created=True)
        result["audit_events"].append({"event": "release_pr_opened", "pull_request": pr["number"],
                                       "author": pr["user"]["login"], "base": p["base"], "head": p["head"],
                                       "head_sha": pr["head"]["sha"]})
    else:
        pr = get_pull(gh, listed["number"], action=f"read pull request #{listed['number']}")
        if (pr.get("body") or "") != p["body"]:
            result.update(changed=True, updated=True)
            if not module.check_mode:
                pr, _headers = gh.request("PATCH", gh.repo_path(f"/pulls/{pr['number']}"),
                                          action=f"update the description of pull request #{pr['number']}",
                                          body={"body": p["body"]}, need="pull requests: write")
    number, author = pr["number"], pr["user"]["login"]
    already = {u["login"].lower() for u in pr.get("requested_reviewers") or []}
    reviews = [] if result["created"] else gh.paginate(gh.repo_path(f"/pulls/{number}/reviews"),
                                                       action=f"read the reviews of pull request #{number}")
    approved = {r["user"]["login"].lower() for r in reviews
                if r.get("state") == "APPROVED" and r.get("commit_id") == pr["head"]["sha"]}
    wanted = [login for login in p["reviewers"]
              if login.lower() not in already and login.lower() not in approved and login.lower() != author.lower()]
    if wanted:
        result.update(changed=True, requested=wanted)
        if not module.check_mode:
            pr, _headers = gh.request(
                "POST", gh.repo_path(f"/pulls/{number}/requested_reviewers"),
                action=f"request a review of pull request #{number} from {', '.join('@' + w for w in wanted)}",
                body={"reviewers": wanted}, need="pull requests: write",
                hints={422: "Reviewers must be collaborators of the repository; check the roster's github logins"},
            )
            result["audit_events"].append({"event": "release_review_requested", "pull_request": number,
                                           "reviewers": wanted})
            pr = get_pull(gh, number, action=f"read pull request #{number}")
    result["pr"] = pr_summary(pr)
    return result


def closed(module: AnsibleModule, gh: GitHubClient) -> dict:
    p = module.params
    result: dict = {"changed": False, "created": False, "updated": False, "requested": [], "closed": False,
                    "audit_events": []}
    if p["number"]:
        pr = get_pull(gh, p["number"], action=f"read pull request #{p['number']}")
    else:
        listed = find_pull(gh, action=f"find the pull request {p['head']} -> {p['base']}", base=p["base"], head=p["head"])
        if listed is None:
            raise GitHubError(f"close the pull request {p['head']} -> {p['base']}", "there is no open one",
                              "Nothing to close; give the number to close another one", kind="not_found")
        pr = get_pull(gh, listed["number"], action=f"read pull request #{listed['number']}")
    if pr["state"] == "open":
        result.update(changed=True, closed=True)
        if not module.check_mode:
            pr, _headers = gh.request("PATCH", gh.repo_path(f"/pulls/{pr['number']}"),
                                      action=f"close pull request #{pr['number']}", body={"state": "closed"},
                                      need="pull requests: write")
            result["audit_events"].append({"event": "release_pr_closed", "pull_request": pr["number"],
                                           "head_sha": pr["head"]["sha"]})
    result["pr"] = pr_summary(pr)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=github_argument_spec(
            state={"type": "str", "choices": ["present", "closed"], "default": "present"},
            number={"type": "int"},
            base={"type": "str", "default": "production"},
            head={"type": "str", "default": "main"},
            title={"type": "str", "default": "Release main to production"},
            body={"type": "str", "default": ""},
            reviewers={"type": "list", "elements": "str", "default": []},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda gh: (present if module.params["state"] == "present" else closed)(module, gh), client="github")


if __name__ == "__main__":
    main()
