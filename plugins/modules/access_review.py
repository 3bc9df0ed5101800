#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: access_review
short_description: Compare who holds cloud.gov roles with the roster and the allowed list, and write the report
description:
  - Takes the role assignments that M(ttahub.ops.cf_roles_info) read and compares them with the roster
    (C(ops_roster)) and the allowed list (C(ops_access_allowed)).
  - An assignment is expected when an entry of the allowed list covers its role type (and space) for its holder. An
    entry names either a cloud.gov username (a service account, with the reason it holds roles) or a roster role, which
    stands for every roster member holding it. Roster members are matched by their C(email), the username a person logs
    in to cloud.gov with. Everyone an entry names may also be an org user (C(organization_user)), which cloud.gov gives
    to anyone with a role in the org.
  - Every other assignment is unexpected. Every role that a C(required) entry names and its holder does not hold, in
    every reviewed space the entry applies to, is missing.
  - Writes the report as C(access-review-<environment>-<UTC timestamp>.json) and C(.md) (mode 0600) into
    O(report_dir), both or neither, and returns an C(access_review_completed) audit event with the counts and the
    JSON report's SHA-256.
  - Changes nothing in cloud.gov. The report says how to remove an unexpected role.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the comparison runs and nothing is written.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  assignments:
    description: The role assignments, the RV(ttahub.ops.cf_roles_info#module:roles) of M(ttahub.ops.cf_roles_info).
    type: list
    elements: dict
    required: true
  org:
    description: The org that was reviewed.
    type: str
    required: true
  spaces:
    description: The spaces whose roles were reviewed (missing space roles are looked for in these).
    type: list
    elements: str
    default: []
  roster:
    description: The roster, C(ops_roster); validated as the approval gate validates it.
    type: list
    elements: dict
    default: []
  allowed:
    description:
      - The allowed list, C(ops_access_allowed). Each entry has C(username) or C(roster_role), C(roles) (v3 role types
        such as V(space_developer)), and optionally C(spaces) (space roles only there), C(required) (report it as
        missing when not held) and C(reason) (required with C(username)).
    type: list
    elements: dict
    default: []
  environment:
    description: The environment's name (C(ops_environment)); it names the report.
    type: str
    required: true
  report_dir:
    description: Where to write the report (C(ops_reports_dir)); created with mode 0700 when missing. Not set, no report is written.
    type: path
  fail_on_findings:
    description: Fail (after writing the report) when anything is unexpected or missing, for scheduled reviews in CI.
    type: bool
    default: false
seealso:
  - module: ttahub.ops.cf_roles_info
"""

EXAMPLES = r"""
- name: Compare the role holders with the roster and the allowed list, and write the report
  ttahub.ops.access_review:
    assignments: "{{ access_review_roles.roles }}"
    org: "{{ access_review_roles.org.name }}"
    spaces: "{{ access_review_roles.spaces | map(attribute='name') | list }}"
    roster: "{{ ops_roster }}"
    allowed: "{{ ops_access_allowed }}"
    environment: "{{ ops_environment }}"
    report_dir: "{{ ops_reports_dir }}"
  register: access_review_result
"""

RETURN = r"""
summary:
  description: The counts.
  returned: success
  type: dict
  sample: {"holders": 3, "assignments": 12, "expected": 10, "unexpected": 2, "unexpected_holders": 1, "missing": 0,
           "roster_unmatched": 0}
unexpected:
  description: The unexpected role assignments, each with C(username), C(role), C(role_name), C(scope), C(why).
  returned: success
  type: list
  elements: dict
  sample:
    - {"username": "departed.engineer@rehearsal.gov", "role": "space_auditor", "role_name": "SpaceAuditor",
       "scope": "space ttahub-prod", "why": "neither on the roster (by email) nor in the allowed list"}
missing:
  description: The required role assignments nobody holds, each with C(who), C(username), C(role_name), C(scope), C(why).
  returned: success
  type: list
  elements: dict
  sample: []
findings:
  description: One line per unexpected or missing role assignment.
  returned: success
  type: list
  elements: str
  sample:
    - "unexpected: departed.engineer@rehearsal.gov holds SpaceAuditor in space ttahub-prod (neither on the roster
      (by email) nor in the allowed list)"
holders:
  description: Every holder with their roles and each role's status (V(expected) or V(unexpected)).
  returned: success
  type: list
  elements: dict
roster_unmatched:
  description: Roster members without an email, who cannot be matched to a cloud.gov user.
  returned: success
  type: list
  elements: dict
report:
  description: The written report's paths (C(json), C(markdown)) and the JSON file's C(sha256); empty in check mode
    or without O(report_dir).
  returned: success
  type: dict
  sample: {"json": "reports/access-review-production-20261128T140000Z.json",
           "markdown": "reports/access-review-production-20261128T140000Z.md", "sha256": "9f2c..."}
audit_events:
  description: The C(access_review_completed) event for the audit log.
  returned: success
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._access import (
    AccessError,
    load_allowed,
    make_report,
    report_basename,
    review,
    utc_stamp,
    write_report,
)
from ansible_collections.ttahub.ops.plugins.module_utils._approval import load_roster
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def findings(report: dict) -> list[str]:
    """One line per finding, for the play's output."""
    lines = [f"unexpected: {r['username']} holds {r['role_name']} in {r['scope']} ({r['why']})" for r in report["unexpected"]]
    lines += [
        f"missing: {r['who']} does not hold {r['role_name']}{' in ' + r['scope'] if r['scope'] else ''} ({r['why']})"
        for r in report["missing"]
    ]
    return lines


def run(module: AnsibleModule) -> dict:
    params = module.params
    roster = load_roster(params["roster"])
    allowed = load_allowed(params["allowed"])
    result = review(params["assignments"], roster, allowed, org=params["org"], spaces=params["spaces"])
    created, stamp = utc_stamp()
    report = make_report(result, environment=params["environment"], created=created,
                         run_id=os.environ.get("TTAHUB_OPS_RUN_ID", ""))
    written: dict = {}
    if params["report_dir"] and not module.check_mode:
        written = write_report(report, params["report_dir"], stamp)
    summary = report["summary"]
    event = {
        "event": "access_review_completed",
        "org": params["org"],
        "spaces": list(params["spaces"]),
        "assignments": summary["assignments"],
        "unexpected": summary["unexpected"],
        "unexpected_holders": sorted({r["username"] for r in report["unexpected"]}),
        "missing": summary["missing"],
        "report": written.get("json", ""),
        "report_sha256": written.get("sha256", ""),
    }
    out = {
        "changed": bool(written) or bool(params["report_dir"] and module.check_mode),
        "summary": summary,
        "unexpected": report["unexpected"],
        "missing": report["missing"],
        "holders": report["holders"],
        "roster_unmatched": report["roster_unmatched"],
        "report": written,
        "findings": findings(report),
        "audit_events": [event],
    }
    if params["report_dir"] and module.check_mode:
        out["msg"] = f"{report_basename(params['environment'], stamp)}.json and .md would have been written if not in check mode"
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "assignments": {"type": "list", "elements": "dict", "required": True},
            "org": {"type": "str", "required": True},
            "spaces": {"type": "list", "elements": "str", "default": []},
            "roster": {"type": "list", "elements": "dict", "default": []},
            "allowed": {"type": "list", "elements": "dict", "default": []},
            "environment": {"type": "str", "required": True},
            "report_dir": {"type": "path"},
            "fail_on_findings": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    partial: dict = {}

    def body() -> dict:
        result = run(module)
        summary = result["summary"]
        if module.params["fail_on_findings"] and (summary["unexpected"] or summary["missing"]):
            partial.update((k, v) for k, v in result.items() if k != "msg")
            where = f"See {result['report']['markdown']}. " if result["report"] else ""
            raise AccessError(
                "pass the access review", f"{summary['unexpected']} unexpected and {summary['missing']} missing role assignments",
                f"{where}Remove the unexpected roles or add them to ops_access_allowed with a reason, grant the missing ones, "
                "then run the review again", kind="findings",
            )
        return result

    run_module(module, body, partial=partial)


if __name__ == "__main__":
    main()
