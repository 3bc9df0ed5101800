#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: github_pr_info
short_description: Read a GitHub pull request, its reviews, and the commits a branch carries over another
description:
  - Finds a pull request by O(number), or the newest one from O(head) into O(base) in O(state).
  - With O(commits=true), lists the commits on O(head) that O(base) does not have (C(GET /compare/BASE...HEAD)), oldest
    first; for a release, what C(main) carries since the last production deploy.
  - With O(reviews=true), lists the pull request's reviews.
  - Reports the GitHub account of the token as RV(operator).
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._github
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: N/A
  platform:
    platforms: posix
options:
  number:
    description: The pull request number. When not set, the newest pull request from O(head) into O(base) is read.
    type: int
  base:
    description: The branch the pull request merges into.
    type: str
    default: production
  head:
    description: The branch of the repository itself that the pull request merges.
    type: str
    default: main
  state:
    description: Which pull requests to look among when O(number) is not set.
    type: str
    choices: [open, closed, all]
    default: open
  commits:
    description: List the commits on O(head) that O(base) does not have.
    type: bool
    default: false
  reviews:
    description: List the pull request's reviews.
    type: bool
    default: false
seealso:
  - module: ttahub.ops.github_pr
  - module: ttahub.ops.release_gate
"""

EXAMPLES = r"""
- name: List what the release carries (commits on main since the last production deploy)
  ttahub.ops.github_pr_info:
    repo: HHS/Head-Start-TTADP
    base: production
    head: main
    commits: true
  register: release_carry
"""

RETURN = r"""
operator:
  description: The GitHub login of the token's account.
  returned: success
  type: str
  sample: paula-oduya
found:
  description: Whether a pull request was found.
  returned: success
  type: bool
  sample: true
pr:
  description: The pull request (empty when none was found).
  returned: success
  type: dict
  sample: {"number": 3900, "title": "Release", "state": "open", "merged": false, "merge_commit_sha": "",
           "author": "paula-oduya", "head_ref": "main", "head_sha": "88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b",
           "base_ref": "production", "html_url": "https://github.com/HHS/Head-Start-TTADP/pull/3900",
           "requested_reviewers": ["gideon-tamm"], "mergeable": true, "mergeable_state": "clean",
           "merged_by": "", "merged_at": null, "created_at": "2026-11-28T12:00:00Z", "body": "..."}
reviews:
  description: The pull request's reviews, oldest first.
  returned: success and O(reviews=true) and a pull request was found
  type: list
  elements: dict
  sample: [{"id": 1001, "login": "gideon-tamm", "state": "APPROVED", "commit_id": "88a2a22f...",
            "submitted_at": "2026-11-28T12:30:00Z", "body": "", "html_url": "https://github.com/..."}]
commits:
  description: The commits on O(head) that O(base) does not have, oldest first.
  returned: success and O(commits=true)
  type: list
  elements: dict
  sample: [{"sha": "88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b", "short_sha": "88a2a22",
            "headline": "[TTAHUB-5654] Add TTA Timeline BE API (#3846)", "author_login": "vera", "author_name": "Vera",
            "date": "2026-11-27T10:00:00Z", "html_url": "https://github.com/..."}]
head_sha:
  description: The SHA of O(head) that the commit list was computed for.
  returned: success and O(commits=true)
  type: str
  sample: 88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._github import (
    GitHubClient,
    commit_summary,
    find_pull,
    get_pull,
    github_argument_spec,
    pr_summary,
    review_summary,
)
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, gh: GitHubClient) -> dict:
    p = module.params
    result: dict = {"changed": False, "operator": gh.whoami()["login"], "found": False, "pr": {}}
    action = "find the pull request"
    if p["number"]:
        pr = get_pull(gh, p["number"], action=f"read pull request #{p['number']}")
    else:
        listed = find_pull(gh, action=f"find the pull request {p['head']} -> {p['base']}", base=p["base"], head=p["head"],
                           state=p["state"])
        pr = get_pull(gh, listed["number"], action=action) if listed else None
    if pr:
        result.update(found=True, pr=pr_summary(pr))
        if p["reviews"]:
            reviews = gh.paginate(gh.repo_path(f"/pulls/{pr['number']}/reviews"),
                                  action=f"read the reviews of pull request #{pr['number']}")
            result["reviews"] = [review_summary(r) for r in reviews if isinstance(r, dict)]
    if p["commits"]:
        action = f"compare {p['base']} with {p['head']}"
        commits = gh.paginate(gh.repo_path(f"/compare/{p['base']}...{p['head']}"), action=action, key="commits")
        result["commits"] = [commit_summary(c) for c in commits if isinstance(c, dict)]
        head = gh.get(gh.repo_path(f"/branches/{p['head']}"), action=f"read branch {p['head']}")
        result["head_sha"] = str(((head or {}).get("commit") or {}).get("sha") or "")
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=github_argument_spec(
            number={"type": "int"},
            base={"type": "str", "default": "production"},
            head={"type": "str", "default": "main"},
            state={"type": "str", "choices": ["open", "closed", "all"], "default": "open"},
            commits={"type": "bool", "default": False},
            reviews={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda gh: body(module, gh), client="github")


if __name__ == "__main__":
    main()
