#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_counts_report
short_description: Read the counts audit's log lines, compare them with the previous report, and write the report
description:
  - Reads the AUDIT records that the TTA Hub counts script (C(yarn db:validation)) wrote to its task's log, in
    either shape that C(cf logs) shows them; one JSON object per line (pino or older winston), or text lines where a
    multi-line JSON block is split across several log lines. The order of the lines does not matter; lines from other
    sources and other messages are ignored.
  - Result, per table; the record count and the last update time (empty when the table is empty). Grants by region and
    status, ActivityReports by region and submission status, and the totals per region.
  - Compares the result with the newest earlier report of the same environment in O(report_dir), listing every count
    that changed and flagging each decrease.
  - A table's count, or a region's total of Grants or of ActivityReports, that dropped by more than
    O(max_decrease_percent) percent fails the module (after the report is written) when O(fail_on_decrease) is true.
    Decreases of one status within a region only warn; records move between statuses without being lost.
  - Writes C(audit-counts-<environment>-<UTC timestamp>.json) and C(.md) (mode 0600) into O(report_dir), both or
    neither, and returns an C(audit_counts_completed) audit event with the task id and the JSON report's SHA-256.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the lines are read and compared, and no report is written.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  log:
    description:
      - The task's log lines, the RV(ttahub.ops.cf_task#module:log) of M(ttahub.ops.cf_task) (dicts with C(source) and
        C(message)), or plain message strings.
    type: list
    elements: raw
    required: true
  task:
    description: The task, the RV(ttahub.ops.cf_task#module:task) of M(ttahub.ops.cf_task); its C(id), C(guid), C(name)
      and C(state) go into the report and the audit log.
    type: dict
    default: {}
  app:
    description: The app the task ran on.
    type: str
    default: ""
  command:
    description: The command the task ran.
    type: str
    default: ""
  environment:
    description: The environment's name (C(ops_environment)); it names the report and picks the previous one.
    type: str
    required: true
  report_dir:
    description: Where to write the report and find the previous one (C(ops_reports_dir)); created with mode 0700.
    type: path
    required: true
  max_decrease_percent:
    description:
      - How far, in percent of the previous count, a table's count or a region's total of Grants or ActivityReports
        may drop before the run fails. V(0) fails on any drop.
      - The default, 0.5, lets through the few rows that editing removes between two runs (objectives, next steps and
        files deleted from a report) and catches the loss of a day or more of data.
    type: float
    default: 0.5
  fail_on_decrease:
    description: Fail, after writing the report, when a decrease goes beyond O(max_decrease_percent).
    type: bool
    default: true
seealso:
  - module: ttahub.ops.cf_task
"""

EXAMPLES = r"""
- name: Run the counts script as a task
  ttahub.ops.cf_task:
    app: tta-smarthub-prod
    command: yarn db:validation
    name: audit-counts-20261128T140000Z
    timeout: 600
  register: audit_counts_task

- name: Read the counts, compare them with the previous report, and write the report
  ttahub.ops.audit_counts_report:
    log: "{{ audit_counts_task.log }}"
    task: "{{ audit_counts_task.task }}"
    app: tta-smarthub-prod
    command: yarn db:validation
    environment: production
    report_dir: reports
  register: audit_counts_result
"""

RETURN = r"""
counts:
  description: What the script counted.
  returned: success and when a decrease fails the module
  type: dict
  contains:
    tables:
      description: Per table, C(count), C(last_updated) (ISO 8601 UTC, null when the table is empty) and
        C(last_updated_raw) (as logged).
      type: dict
    grants:
      description: Grants per region and status, each C(region), C(status), C(count).
      type: list
      elements: dict
    activity_reports:
      description: ActivityReports per region and submission status, each C(region), C(submission_status), C(count).
      type: list
      elements: dict
    regions:
      description: Per region (C(none) for rows without one), the C(grants) and C(activity_reports) totals.
      type: dict
  sample:
    tables: {"Grants": {"count": 150, "last_updated": "2026-09-14T02:11:09Z",
             "last_updated_raw": "Mon Sep 14 2026 02:11:09 GMT+0000 (Coordinated Universal Time)"}}
    grants: [{"region": 1, "status": "Active", "count": 10}]
    activity_reports: [{"region": 1, "submission_status": "approved", "count": 6}]
    regions: {"1": {"grants": 12, "activity_reports": 20}}
comparison:
  description: The differences with the previous report.
  returned: success and when a decrease fails the module
  type: dict
  contains:
    compared:
      description: Whether there was a previous report.
      type: bool
    differences:
      description: Every count that changed, each C(kind), C(what), C(previous), C(current), C(change), C(percent),
        C(decrease), C(exceeds).
      type: list
      elements: dict
    decreases:
      description: The differences that are decreases.
      type: list
      elements: dict
    exceeding:
      description: The decreases beyond the threshold.
      type: list
      elements: dict
    went_back:
      description: Tables whose last update time moved back.
      type: list
      elements: dict
changes:
  description: One line per difference, decreases beyond the threshold first.
  returned: success and when a decrease fails the module
  type: list
  elements: str
  sample: ["ActivityReports (table): 250 -> 200 (-50, -20 %)"]
previous:
  description: The report compared with (C(path), C(created), C(sha256)); empty on a first run.
  returned: success and when a decrease fails the module
  type: dict
report:
  description: The written report's paths (C(json), C(markdown)) and the JSON file's C(sha256); empty in check mode.
  returned: success and when a decrease fails the module
  type: dict
  sample: {"json": "reports/audit-counts-production-20261128T140000Z.json",
           "markdown": "reports/audit-counts-production-20261128T140000Z.md", "sha256": "9f2c..."}
audit_events:
  description: The C(audit_counts_completed) event for the audit log.
  returned: success and when a decrease fails the module
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._counts import (
    CountsError,
    compare,
    describe,
    find_previous,
    make_report,
    parse_audit_lines,
    read_report,
    report_basename,
    utc_stamp,
    write_report,
)
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def run(module: AnsibleModule) -> dict:
    p = module.params
    counts = parse_audit_lines(p["log"])
    for warning in counts["warnings"]:
        module.warn(warning)
    previous_path = find_previous(p["report_dir"], p["environment"])
    previous = read_report(previous_path) if previous_path else None
    comparison = compare(previous["counts"] if previous else None, counts,
                         max_decrease_percent=p["max_decrease_percent"])
    created, stamp = utc_stamp()
    report = make_report(counts, comparison, environment=p["environment"], created=created,
                         run_id=os.environ.get("TTAHUB_OPS_RUN_ID", ""), app=p["app"], command=p["command"],
                         task=p["task"], previous=previous, previous_path=previous_path)
    written: dict = {}
    if not module.check_mode:
        written = write_report(report, p["report_dir"], stamp)
    task = p["task"] or {}
    event = {
        "event": "audit_counts_completed",
        "app": p["app"],
        "task_id": task.get("id"),
        "task_guid": task.get("guid"),
        "task_name": task.get("name"),
        "tables": {name: info["count"] for name, info in counts["tables"].items()},
        "previous_report": os.path.basename(previous_path) if previous_path else "",
        "previous_report_sha256": previous["sha256"] if previous else "",
        "decreases": len(comparison["decreases"]),
        "exceeding": [describe(d) for d in comparison["exceeding"]],
        "report": written.get("json", ""),
        "report_sha256": written.get("sha256", ""),
    }
    ordered = comparison["exceeding"] + [d for d in comparison["differences"] if not d["exceeds"]]
    out = {
        "changed": bool(written) or module.check_mode,
        "counts": {k: counts[k] for k in ("tables", "grants", "activity_reports", "regions")},
        "log_shapes": counts["log_shapes"],
        "comparison": comparison,
        "changes": [describe(d) for d in ordered],
        "previous": {"path": previous_path, "created": previous.get("created"), "sha256": previous["sha256"]}
        if previous else {},
        "report": written,
        "audit_events": [event],
    }
    if module.check_mode:
        out["msg"] = f"{report_basename(p['environment'], stamp)}.json and .md would have been written if not in check mode"
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "log": {"type": "list", "elements": "raw", "required": True},
            "task": {"type": "dict", "default": {}},
            "app": {"type": "str", "default": ""},
            "command": {"type": "str", "default": ""},
            "environment": {"type": "str", "required": True},
            "report_dir": {"type": "path", "required": True},
            "max_decrease_percent": {"type": "float", "default": 0.5},
            "fail_on_decrease": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    partial: dict = {}

    def body() -> dict:
        result = run(module)
        exceeding = result["comparison"]["exceeding"]
        if module.params["fail_on_decrease"] and exceeding:
            partial.update((k, v) for k, v in result.items() if k != "msg")
            where = f"See {result['report']['markdown']}. " if result["report"] else ""
            raise CountsError(
                "pass the counts audit",
                f"{len(exceeding)} counts dropped by more than {module.params['max_decrease_percent']:g} % since "
                f"{os.path.basename(result['previous']['path'])}: {'; '.join(describe(d) for d in exceeding)}",
                f"{where}Records are rarely deleted: find out where they went before anything else changes, then run the "
                "audit again", kind="counts_decreased",
            )
        return result

    run_module(module, body, partial=partial)


if __name__ == "__main__":
    main()
