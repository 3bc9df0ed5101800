#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: release_gate
short_description: Check the SOP's two-person rule on the release pull request main -> production
description:
  - The production deploy needs the approval of the Product Owner and the Government Technical Monitor (or the Vendor
    Tech Lead while the GTM role is vacant). The first approval is one of them opening the pull request C(main) ->
    C(production), the second an approving review by the other. This module checks that rule against the roster and
    the release policy, with the same evaluation as typed and signed approvals.
  - O(mode=identify) checks that the token's GitHub account belongs to a roster member who can approve releases.
  - O(mode=request) does the same, then returns whom the author of the release pull request (the open one, or the
    operator who is about to open it) must ask for the second approval (RV(reviewers)).
  - O(mode=deploy) checks the open release pull request before the merge. It must be open and mergeable and merge
    C(main) of the repository itself into C(production). Its author must be in the roster with a release role. It
    needs an approving review by a different roster member whose role completes the policy, made at the pull request's
    current head SHA. The latest decisive review of each reviewer counts, and reviews of people not in the roster are
    ignored. No roster approver may have an outstanding request for changes. Every check on the head must be green,
    and every O(required_checks) must have reported. The token's account, which merges, must be one of the two
    approvers. It returns RV(head_sha), the only SHA M(ttahub.ops.github_pr_merge) may merge.
  - O(mode=merged) proves, for a deploy, that O(commit) is the merge commit of a pull request into C(production) that
    passes the same rule (merged instead of open; whoever merged it must be one of the approvers).
  - Any failed check fails the task with every reason, each naming exactly what is missing.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._github
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The gate only reads; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  mode:
    description: What to check (see the description).
    type: str
    choices: [identify, request, deploy, merged]
    required: true
  roster:
    description: The named people (the inventory's C(ops_roster)).
    type: list
    elements: dict
    required: true
  vacant_roles:
    description: Roles no one holds on purpose (C(ops_roster_vacant_roles)).
    type: list
    elements: str
    default: []
  policies:
    description: The approval policies (C(ops_approval_policies)).
    type: dict
    required: true
  policy:
    description: The policy of the release; it must accept the methods V(github_pr) and V(github_review).
    type: str
    default: release
  roster_hint:
    description: What to tell the operator when the roster is incomplete.
    type: str
  number:
    description: With O(mode=deploy), the pull request to check; by default the open one from O(head) into O(base).
    type: int
  base:
    description: The branch a release merges into.
    type: str
    default: production
  head:
    description: The branch a release merges (a revert pull request's branch for a revert).
    type: str
    default: main
  commit:
    description: With O(mode=merged), the full SHA being deployed.
    type: str
  required_checks:
    description: Check runs or commit status contexts that must have reported green on the head (for example the CI
      job that deploys). Without any, at least one check must have reported, and every reported check must be green.
    type: list
    elements: str
    default: []
  wait_mergeable:
    description: Seconds to wait for GitHub to compute whether the pull request can be merged.
    type: float
    default: 10
seealso:
  - module: ttahub.ops.github_pr_merge
  - module: ttahub.ops.github_pr
  - module: ttahub.ops.approval_gate
"""

EXAMPLES = r"""
- name: Check the two-person rule on the release pull request
  ttahub.ops.release_gate:
    repo: HHS/Head-Start-TTADP
    mode: deploy
    roster: "{{ ops_roster }}"
    vacant_roles: "{{ ops_roster_vacant_roles }}"
    policies: "{{ ops_approval_policies }}"
  register: release_gate_result

- name: Prove that the commit CI deploys is an approved release
  ttahub.ops.release_gate:
    repo: HHS/Head-Start-TTADP
    mode: merged
    commit: "{{ build_commit }}"
    roster: "{{ ops_roster }}"
    policies: "{{ ops_approval_policies }}"
"""

RETURN = r"""
granted:
  description: Whether the pull request passes the gate (in modes V(deploy) and V(merged)).
  returned: always
  type: bool
  sample: true
operator:
  description: The roster member behind the token's account (modes V(identify), V(request), V(deploy)).
  returned: success in modes identify, request and deploy
  type: dict
  sample: {"login": "paula-oduya", "id": "ppascual", "name": "Patrice Pascual", "roles": ["product_owner"]}
reviewers:
  description: With O(mode=request), the GitHub logins to request the second approval from.
  returned: success in mode request
  type: list
  elements: str
  sample: ["gideon-tamm"]
counterparts:
  description: With O(mode=request), per role still to approve, the roster members who can.
  returned: success in mode request
  type: list
  elements: dict
  sample: [{"role": "government_technical_monitor", "title": "Government Technical Monitor",
            "members": [{"id": "gideon", "name": "Gideon Tamm", "github": "gideon-tamm", "substitute_for": ""}]}]
pr:
  description: The pull request checked (or, in mode V(request), the open release pull request, if any).
  returned: when a pull request was found
  type: dict
  sample: {"number": 3900, "state": "open", "author": "paula-oduya", "head_sha": "88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b"}
number:
  description: The pull request checked.
  returned: modes deploy and merged, when a pull request was found
  type: int
  sample: 3900
head_sha:
  description: The head SHA the approval is bound to; merge at exactly this SHA.
  returned: modes deploy and merged, when a pull request was found
  type: str
  sample: 88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b
merge_commit_sha:
  description: With O(mode=merged), the merge commit (equal to O(commit)).
  returned: mode merged, when a pull request was found
  type: str
  sample: 5d1e0a7c9b3f2e8d6a4c1b0f9e8d7c6b5a4f3e2d
approvals:
  description: The two approvals that count.
  returned: modes deploy and merged, when a pull request was found
  type: list
  elements: dict
  sample: [{"id": "paula", "name": "Paula Oduya", "role": "product_owner", "role_title": "Product Owner",
            "method": "github_pr", "github": "paula-oduya", "time": "2026-11-28T12:00:00Z", "substitute_for": ""}]
refusals:
  description: Every reason the pull request does not pass, each with a C(reason) code and a C(message).
  returned: modes deploy and merged, when a pull request was found
  type: list
  elements: dict
  sample: [{"reason": "approval_missing", "message": "no approval of head 88a2a22 by the Government Technical Monitor (Gideon Tamm (@gideon-tamm))"}]
notes:
  description: Reviews that were ignored or did not count, and why.
  returned: modes deploy and merged, when a pull request was found
  type: list
  elements: str
  sample: ["the APPROVED review of @octo-outsider is ignored: @octo-outsider is not in the roster"]
checks:
  description: Every check run and commit status on the head, with its state (green, pending, failing).
  returned: modes deploy and merged, when a pull request was found
  type: list
  elements: dict
  sample: [{"name": "tests_done", "kind": "check_run", "state": "green", "conclusion": "success"}]
audit_events:
  description: The gate's decision for the audit log (approval_granted per approver, release_gate_passed or
    release_gate_failed).
  returned: always
  type: list
  elements: dict
  sample: [{"event": "release_gate_passed", "pull_request": 3900, "head_sha": "88a2a22f0d4c5b1e9f3a7c6d2b8e4f1a0c9d7e6b"}]
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._approval import (
    ApprovalError,
    Member,
    Policy,
    Refused,
    Roster,
    audit_event,
    check_policy,
    get_policy,
    load_policies,
    load_roster,
)
from ansible_collections.ttahub.ops.plugins.module_utils._github import (
    GitHubClient,
    GitHubError,
    find_pull,
    get_pull,
    github_argument_spec,
    pr_summary,
)
from ansible_collections.ttahub.ops.plugins.module_utils._release import counterparts, evaluate_release, release_member
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def _operator(policy: Policy, roster: Roster, gh: GitHubClient, result: dict) -> Member:
    login = gh.whoami()["login"]
    try:
        member = release_member(policy, roster, login)
    except Refused as exc:
        result["audit_events"].append(audit_event("release_gate_failed", policy=policy.name, reason=exc.reason,
                                                  detail=exc.message, operator=login))
        raise ApprovalError("check the operator's GitHub identity", exc.message,
                            "Run it with the GITHUB_TOKEN of a release approver, or add your GitHub login to the "
                            "roster (ops_roster) if you are one", reason=exc.reason) from None
    result["operator"] = {"login": login, "id": member.id, "name": member.name, "roles": list(member.roles)}
    return member


def body(module: AnsibleModule, gh: GitHubClient, result: dict) -> dict:
    """The gate; its refusals of the roster, the policy or a person become one failed task with the audit events
    (``result`` is returned beside the error)."""
    try:
        return _body(module, gh, result)
    except ApprovalError as exc:
        if not any(e.get("event") == "release_gate_failed" for e in result["audit_events"]):
            result["audit_events"].append(audit_event("release_gate_failed", policy=module.params["policy"],
                                                      mode=module.params["mode"], reason=exc.reason, detail=exc.message))
        raise


def _body(module: AnsibleModule, gh: GitHubClient, result: dict) -> dict:
    p = module.params
    roster = load_roster(p["roster"], p["vacant_roles"])
    policy = get_policy(load_policies(p["policies"]), p["policy"])
    check_policy(policy, roster, hint=p["roster_hint"] or "fill the inventory's group_vars/all/roster.yml")
    mode = p["mode"]
    if mode == "identify":
        _operator(policy, roster, gh, result)
        return result
    if mode == "request":
        operator = _operator(policy, roster, gh, result)
        listed = find_pull(gh, action=f"find the pull request {p['head']} -> {p['base']}", base=p["base"], head=p["head"])
        author = operator
        if listed is not None:
            result["pr"] = pr_summary(listed)
            try:
                author = release_member(policy, roster, listed["user"]["login"], who=f"the author of pull request #{listed['number']}")
            except Refused as exc:
                raise ApprovalError(f"request the second approval on pull request #{listed['number']}", exc.message,
                                    "Its opening cannot be the first approval: close it and open it again with "
                                    "release_request as a release approver", reason=exc.reason) from None
        result["counterparts"] = counterparts(policy, roster, author)
        result["reviewers"] = sorted({m["github"] for c in result["counterparts"] for m in c["members"] if m["github"]})
        if not result["reviewers"]:
            raise ApprovalError("find whom to ask for the second approval",
                                f"no one in the roster can give the approval that completes {author.label}'s",
                                "Fill the roster (ops_roster, ops_roster_vacant_roles)", reason="policy_unsatisfiable")
        return result

    merger = ""
    if mode == "deploy":
        _operator(policy, roster, gh, result)
        merger = result["operator"]["login"]
        if p["number"]:
            number = p["number"]
        else:
            listed = find_pull(gh, action=f"find the pull request {p['head']} -> {p['base']}", base=p["base"], head=p["head"])
            if listed is None:
                raise GitHubError(f"find the release pull request {p['head']} -> {p['base']}", "there is no open one",
                                  "Open it with release_request (the first approval), have it reviewed, then run "
                                  "release_deploy", kind="not_found")
            number = listed["number"]
    else:
        commit = (p["commit"] or "").strip().lower()
        action = f"find the pull request merged as {commit[:7] or '(no commit)'}"
        if not re.match(r"^[0-9a-f]{40}$", commit):
            raise GitHubError(action, f"commit {p['commit']!r} is not a full SHA",
                              "Pass the full SHA being deployed (BUILD_COMMIT)", kind="usage_error")
        associated = gh.paginate(gh.repo_path(f"/commits/{commit}/pulls"), action=action, limit_pages=5)
        merged = [pr for pr in associated if isinstance(pr, dict) and pr.get("merge_commit_sha") == commit
                  and pr.get("merged_at") and (pr.get("base") or {}).get("ref") == p["base"]]
        if not merged:
            result["audit_events"].append(audit_event("release_gate_failed", policy=policy.name, mode=mode, commit=commit,
                                                      reason=["not_a_release_merge"]))
            raise OpsError(f"prove that {commit[:7]} is an approved release",
                           f"it is not the merge commit of any pull request into {p['base']}",
                           "Nothing was deployed. Production deploys only the merge commit of a release pull request "
                           "(release_request, a review, release_deploy)", kind="not_a_release_merge")
        number = merged[0]["number"]

    pr = get_pull(gh, number, action=f"read pull request #{number}", wait_mergeable=p["wait_mergeable"])
    head_sha = pr["head"]["sha"]
    reviews = gh.paginate(gh.repo_path(f"/pulls/{number}/reviews"), action=f"read the reviews of pull request #{number}")
    runs = gh.paginate(gh.repo_path(f"/commits/{head_sha}/check-runs"), key="check_runs",
                       action=f"read the check runs of {head_sha[:7]}", need="checks: read")
    statuses = gh.paginate(gh.repo_path(f"/commits/{head_sha}/status"), key="statuses",
                           action=f"read the commit statuses of {head_sha[:7]}", need="commit statuses: read")
    decision = evaluate_release(
        policy=policy, roster=roster, pr=pr, reviews=reviews, check_runs=runs, statuses=statuses,
        required_checks=p["required_checks"], repo=gh.repo, base=p["base"], head=p["head"], mode=mode,
        commit=p["commit"] or "", merger_login=merger,
    )
    result.update(
        granted=decision.granted, pr=pr_summary(pr), number=decision.number, head_sha=decision.head_sha,
        merge_commit_sha=decision.merge_commit_sha, approvals=decision.approvals, refusals=decision.refusals,
        notes=decision.notes, checks=decision.checks, msg=decision.message(),
    )
    result["audit_events"].extend(decision.events(policy, mode))
    if not decision.granted:
        raise OpsError(f"pass the release gate for pull request #{decision.number} (head {decision.head_sha[:7]})",
                       decision.message(), "Nothing was merged or deployed; fix what is named and run again",
                       kind="not_granted")
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=github_argument_spec(
            mode={"type": "str", "choices": ["identify", "request", "deploy", "merged"], "required": True},
            roster={"type": "list", "elements": "dict", "required": True},
            vacant_roles={"type": "list", "elements": "str", "default": []},
            policies={"type": "dict", "required": True},
            policy={"type": "str", "default": "release"},
            roster_hint={"type": "str"},
            number={"type": "int"},
            base={"type": "str", "default": "production"},
            head={"type": "str", "default": "main"},
            commit={"type": "str"},
            required_checks={"type": "list", "elements": "str", "default": []},
            wait_mergeable={"type": "float", "default": 10},
        ),
        required_if=[("mode", "merged", ("commit",))],
        supports_check_mode=True,
    )
    result: dict = {"changed": False, "granted": False, "audit_events": []}
    run_module(module, lambda gh: body(module, gh, result), client="github", partial=result)


if __name__ == "__main__":
    main()
