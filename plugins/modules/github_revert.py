#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: github_revert
short_description: Open a pull request that reverts a merged GitHub pull request
description:
  - For a merged pull request O(number) whose merge commit is still the head of its base branch, creates a commit whose
    tree is the base branch as it was before the merge (what C(git revert -m 1) gives), a branch
    C(revert-NUMBER-HEAD) for it, and a pull request C(Revert "TITLE") into the base branch.
  - The revert pull request goes through the release gate like any release.
  - When the base branch has moved since the merge, a tree-level revert would also undo the later changes; the module
    refuses and says to revert by hand (C(git revert -m 1 MERGE_SHA)) or to open a follow-up pull request.
  - An open revert pull request for O(number) is found again instead of opening a second one.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._github
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the pull request and the branch and reports the revert that would be opened.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  number:
    description: The merged pull request to revert.
    type: int
    required: true
  reason:
    description: Why the merge is reverted; written into the revert commit and pull request.
    type: str
    required: true
seealso:
  - module: ttahub.ops.github_pr
  - module: ttahub.ops.release_gate
"""

EXAMPLES = r"""
- name: Open a pull request that reverts the premature release
  ttahub.ops.github_revert:
    repo: HHS/Head-Start-TTADP
    number: 3900
    reason: "Approved before the data migration was ready (INC-42)"
"""

RETURN = r"""
pr:
  description: The revert pull request (see M(ttahub.ops.github_pr_info) for the fields).
  returned: success and not in check mode
  type: dict
  sample: {"number": 3901, "title": "Revert \"Release main to production\"", "head_ref": "revert-3900-main",
           "base_ref": "production", "html_url": "https://github.com/HHS/Head-Start-TTADP/pull/3901"}
branch:
  description: The branch holding the revert commit.
  returned: success
  type: str
  sample: revert-3900-main
created:
  description: Whether the revert pull request was opened by this task.
  returned: success
  type: bool
  sample: true
audit_events:
  description: Evidence for the audit log.
  returned: success
  type: list
  elements: dict
  sample: [{"event": "release_revert_opened", "pull_request": 3901, "reverts": 3900,
            "merge_commit_sha": "5d1e0a7c9b3f2e8d6a4c1b0f9e8d7c6b5a4f3e2d"}]
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


def body(module: AnsibleModule, gh: GitHubClient) -> dict:
    p = module.params
    number = p["number"]
    action = f"revert pull request #{number}"
    pr = get_pull(gh, number, action=f"read pull request #{number}")
    if not pr.get("merged"):
        raise GitHubError(action, f"pull request #{number} is not merged",
                          "Before the merge, retract the approval with a request for changes instead (release_retract "
                          "without revert=true)", kind="usage_error")
    base, merge_sha = pr["base"]["ref"], str(pr.get("merge_commit_sha") or "")
    branch = f"revert-{number}-{pr['head']['ref']}"
    result: dict = {"changed": False, "created": False, "branch": branch, "audit_events": []}
    existing = find_pull(gh, action=f"find an open revert of #{number}", base=base, head=branch)
    if existing is not None:
        result["pr"] = pr_summary(get_pull(gh, existing["number"], action=f"read pull request #{existing['number']}"))
        return result
    tip = gh.get(gh.repo_path(f"/branches/{base}"), action=f"read branch {base}")
    tip_sha = str(((tip or {}).get("commit") or {}).get("sha") or "")
    if tip_sha != merge_sha:
        raise GitHubError(
            action, f"{base} has moved since the merge ({merge_sha[:7]} is no longer its head, {tip_sha[:7]} is), so "
            "reverting to the tree before the merge would also undo the later changes",
            f"Revert by hand (git revert -m 1 {merge_sha} on a branch from {base}) or open a follow-up pull request, "
            "and put it through release_request and release_deploy", kind="conflict")
    merge = gh.get(gh.repo_path(f"/git/commits/{merge_sha}"), action=f"read the merge commit {merge_sha[:7]}")
    parents = [str(x.get("sha")) for x in (merge or {}).get("parents") or [] if isinstance(x, dict)]
    if len(parents) < 2:
        raise GitHubError(action, f"{merge_sha[:7]} is not a merge commit", "Revert it by hand with git revert",
                          kind="unexpected")
    before = gh.get(gh.repo_path(f"/git/commits/{parents[0]}"), action=f"read commit {parents[0][:7]}")
    if module.check_mode:
        result.update(changed=True, created=True, msg=f"a pull request reverting #{number} would be opened if not in check mode")
        return result
    title = f'Revert "{pr["title"]}"'
    message = (f"{title}\n\nThis reverts commit {merge_sha}, reversing\nchanges made to {parents[0]}.\n\n"
               f"Reason: {p['reason']}\n")
    commit, _h = gh.request("POST", gh.repo_path("/git/commits"), action=f"create the revert commit of #{number}",
                            body={"message": message, "tree": before["tree"]["sha"], "parents": [merge_sha]},
                            need="contents: write")
    gh.request("POST", gh.repo_path("/git/refs"), action=f"create branch {branch}",
               body={"ref": f"refs/heads/{branch}", "sha": commit["sha"]}, need="contents: write",
               hints={422: f"A branch {branch} already exists: delete it on GitHub (or open its pull request) and run again"})
    opened, _h = gh.request(
        "POST", gh.repo_path("/pulls"), action=f"open the pull request reverting #{number}",
        body={"title": title, "head": branch, "base": base,
              "body": f"Reverts {gh.repo}#{number}\n\nReason: {p['reason']}\n\nThis pull request needs the same two "
                      "approvals as any release (release_deploy -e release_head=" + branch + ")."},
        need="pull requests: write",
    )
    result.update(changed=True, created=True, pr=pr_summary(opened))
    result["audit_events"].append({"event": "release_revert_opened", "pull_request": opened["number"], "reverts": number,
                                   "merge_commit_sha": merge_sha, "branch": branch, "reason": p["reason"][:500]})
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=github_argument_spec(
            number={"type": "int", "required": True},
            reason={"type": "str", "required": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda gh: body(module, gh), client="github")


if __name__ == "__main__":
    main()
