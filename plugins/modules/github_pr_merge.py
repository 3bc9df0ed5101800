#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: github_pr_merge
short_description: Merge a GitHub pull request only at the head SHA that was approved
description:
  - Merges pull request O(number) with a merge commit, passing O(sha) to GitHub, which merges only when the pull
    request's head is still that commit. A head that moved after the release gate checked it (GitHub's 409) is a clean
    refusal; nothing is merged.
  - A pull request that is already merged at O(sha) is reported as merged, unchanged.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._github
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the pull request and reports whether it would be merged.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  number:
    description: The pull request number.
    type: int
    required: true
  sha:
    description: The head SHA that was approved (RV(ttahub.ops.release_gate#module:head_sha)).
    type: str
    required: true
  commit_title:
    description: The merge commit's title; by default GitHub's own, "Merge pull request" with the number and the branch.
    type: str
seealso:
  - module: ttahub.ops.release_gate
"""

EXAMPLES = r"""
- name: Merge the pull request at the approved head SHA
  ttahub.ops.github_pr_merge:
    repo: HHS/Head-Start-TTADP
    number: "{{ release_gate_result.number }}"
    sha: "{{ release_gate_result.head_sha }}"
"""

RETURN = r"""
merged:
  description: Whether the pull request is merged after the task (predicted in check mode).
  returned: success
  type: bool
  sample: true
merge_commit_sha:
  description: The merge commit, the commit CI deploys.
  returned: success and not in check mode
  type: str
  sample: 5d1e0a7c9b3f2e8d6a4c1b0f9e8d7c6b5a4f3e2d
audit_events:
  description: Evidence for the audit log.
  returned: success
  type: list
  elements: dict
  sample: [{"event": "release_merged", "pull_request": 3900, "head_sha": "88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b",
            "merge_commit_sha": "5d1e0a7c9b3f2e8d6a4c1b0f9e8d7c6b5a4f3e2d"}]
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._github import (
    GitHubClient,
    GitHubError,
    get_pull,
    github_argument_spec,
)
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, gh: GitHubClient) -> dict:
    p = module.params
    number, sha = p["number"], p["sha"].strip().lower()
    action = f"merge pull request #{number} at {sha[:7]}"
    if not re.match(r"^[0-9a-f]{40}$", sha):
        raise GitHubError(action, f"{p['sha']!r} is not a full commit SHA", "Pass the head_sha the release gate returned",
                          kind="usage_error")
    pr = get_pull(gh, number, action=f"read pull request #{number}")
    if pr.get("merged"):
        if pr["head"]["sha"] == sha:
            return {"changed": False, "merged": True, "merge_commit_sha": pr.get("merge_commit_sha") or ""}
        raise GitHubError(action, f"it was already merged at another head, {pr['head']['sha'][:7]}",
                          "Nothing was merged now; check the merge with release_retract if it was not approved",
                          kind="conflict")
    if module.check_mode:
        return {"changed": True, "merged": True, "msg": f"pull request #{number} would be merged at {sha[:7]} if not in check mode"}
    moved = (f"The head of pull request #{number} is no longer the approved {sha[:7]}: someone pushed to it after the "
             "release gate checked it. Nothing was merged. Run release_deploy again; the new head needs an approving "
             "review of its own")
    answer, _headers = gh.request(
        "PUT", gh.repo_path(f"/pulls/{number}/merge"), action=action,
        body={"sha": sha, "merge_method": "merge", **({"commit_title": p["commit_title"]} if p["commit_title"] else {})},
        need="contents: write",
        hints={409: moved, 405: "GitHub will not merge it now (conflicts, or a branch protection rule): read GitHub's "
                                "message, resolve it, and run release_deploy again"},
    )
    merge_sha = str((answer or {}).get("sha") or "")
    if not (answer or {}).get("merged") or not merge_sha:
        raise GitHubError(action, f"GitHub did not confirm the merge ({(answer or {}).get('message') or 'no message'})",
                          "Check the pull request on GitHub before doing anything else", kind="unexpected")
    return {
        "changed": True,
        "merged": True,
        "merge_commit_sha": merge_sha,
        "audit_events": [{"event": "release_merged", "pull_request": number, "head_sha": sha, "merge_commit_sha": merge_sha}],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=github_argument_spec(
            number={"type": "int", "required": True},
            sha={"type": "str", "required": True},
            commit_title={"type": "str"},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda gh: body(module, gh), client="github")


if __name__ == "__main__":
    main()
