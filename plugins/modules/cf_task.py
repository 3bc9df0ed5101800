#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_task
short_description: Run a one-off task on a Cloud Foundry app and wait for it
description:
  - Runs C(cf run-task APP --command COMMAND --name NAME), then polls the v3 task until it is C(SUCCEEDED) or
    C(FAILED), for at most O(timeout) seconds.
  - A task still running at the timeout is terminated (C(cf terminate-task)) and the module fails.
  - Collects the task's own log lines from C(cf logs APP --recent), those whose source is C(APP/TASK/<name>).
  - A C(FAILED) task fails the module with the task's last log lines.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the task is not started; the module reports it would run.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  app:
    description: The app whose droplet runs the task.
    type: str
    required: true
  command:
    description: The command to run, for example C(yarn db:migrate:prod).
    type: str
    required: true
  name:
    description: The task name; its log lines carry the source C(APP/TASK/<name>). Defaults to C(ttahub-ops-<UTC time>).
    type: str
  memory:
    description: Memory limit (C(-m)), for example C(2G).
    type: str
  disk:
    description: Disk limit (C(-k)), for example C(2G).
    type: str
  timeout:
    description: Seconds to wait for the task to finish before terminating it.
    type: int
    default: 900
  poll_interval:
    description: Seconds between two reads of the task's state (cf itself polls every 3 s).
    type: float
    default: 3
  logs:
    description: Collect the task's log lines after it ends.
    type: bool
    default: true
seealso:
  - module: ttahub.ops.cf_app_info
"""

EXAMPLES = r"""
- name: Run the database migrations
  ttahub.ops.cf_task:
    cf_home: "{{ cf_session.cf_home }}"
    app: tta-smarthub-staging
    command: yarn db:migrate:prod
    name: migrate
    timeout: 1800
"""

RETURN = r"""
task:
  description: The task as the v3 API last described it.
  returned: success or failure after the task was started
  type: dict
  contains:
    guid:
      description: The task GUID.
      type: str
    id:
      description: The task's sequence id in the app (what C(cf tasks) shows).
      type: int
    name:
      description: The task name.
      type: str
    state:
      description: C(SUCCEEDED), C(FAILED), or the state it had when it was terminated.
      type: str
    failure_reason:
      description: Why the task failed, as the Cloud Controller says.
      type: str
  sample: {"guid": "d5cc22ec-99a3-4e6a-af91-a44b4ab7b6fa", "id": 3, "name": "migrate", "state": "SUCCEEDED",
           "failure_reason": null}
log_lines:
  description: The messages of the task's log lines, in order.
  returned: success or failure after the task was started, when O(logs=true)
  type: list
  elements: str
  sample: ["Migrations complete"]
log:
  description: The task's log lines with their time, source and stream.
  returned: success or failure after the task was started, when O(logs=true)
  type: list
  elements: dict
  sample: [{"time": "2024-05-01T12:00:42.10-0400", "source": "APP/TASK/migrate/0", "stream": "OUT", "message": "done"}]
waited:
  description: Seconds spent waiting for the task.
  returned: success
  type: float
  sample: 12.4
"""

import time
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfError, CfOutputError, CfTimeoutError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_guid, parse_log_lines, parse_run_task
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module

DONE = ("SUCCEEDED", "FAILED")


def body(module: AnsibleModule, cf: CfClient) -> dict:
    p = module.params
    app = p["app"]
    name = p["name"] or "ttahub-ops-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if module.check_mode:
        return {"changed": True, "skipped": True, "msg": f"task {name} would have run on {app} if not in check mode"}
    guid = parse_guid(cf.run(["app", app, "--guid"], action=f"find app {app}").stdout, f"find app {app}")
    args = ["run-task", app, "--command", p["command"], "--name", name]
    if p["memory"]:
        args += ["-m", p["memory"]]
    if p["disk"]:
        args += ["-k", p["disk"]]
    started = parse_run_task(cf.run(args, action=f"run task {name} on app {app}").stdout)
    action = f"run task {name} on app {app}"
    begin = time.monotonic()
    task = _read_task(cf, guid, started["id"], action)
    while task.get("state") not in DONE:
        if time.monotonic() - begin >= p["timeout"]:
            state = task.get("state")
            cf.run(["terminate-task", app, str(started["id"])], action=f"terminate task {started['id']} of app {app}", check=False)
            logs = _logs(cf, app, name) if p["logs"] else []
            raise CfTimeoutError(
                action,
                f"the task was still {state} after {p['timeout']} s and was terminated",
                "Raise timeout if the task needs longer; read its logs with `cf logs " + app + " --recent`",
                stdout="\n".join(line["message"] for line in logs[-20:]),
            )
        time.sleep(max(0.05, p["poll_interval"]))
        task = _read_task(cf, guid, started["id"], action)
    waited = round(time.monotonic() - begin, 2)
    summary = {
        "guid": task.get("guid"),
        "id": started["id"],
        "name": task.get("name", name),
        "state": task.get("state"),
        "failure_reason": (task.get("result") or {}).get("failure_reason"),
    }
    logs = _logs(cf, app, name) if p["logs"] else []
    result = {
        "changed": True,
        "task": summary,
        "log": logs,
        "log_lines": [line["message"] for line in logs],
        "waited": waited,
        "audit_events": [{"event": "cf_task_ended", "app": app, "task_id": started["id"], "task_name": name, "state": summary["state"]}],
    }
    if summary["state"] == "FAILED":
        last = " | ".join(result["log_lines"][-5:]) or "no log lines"
        raise CfError(f"run task {name} on app {app}",
                      f"the task ended FAILED ({summary['failure_reason'] or 'no reason given'}). Last lines: {last}",
                      f"Read the full log with `cf logs {app} --recent`", kind="task_failed",
                      events=result.pop("audit_events"), **result)
    return result


def _read_task(cf: CfClient, app_guid: str, sequence_id: int, action: str) -> dict:
    data = cf.curl(f"/v3/apps/{app_guid}/tasks?sequence_ids={sequence_id}", action=action)
    resources = data.get("resources") if isinstance(data, dict) else None
    if not resources or not isinstance(resources[0], dict):
        raise CfOutputError(action, f"the API does not list task {sequence_id}", "Check the task with `cf tasks <app>`")
    return resources[0]


def _logs(cf: CfClient, app: str, name: str) -> list[dict]:
    try:
        out = cf.run(["logs", app, "--recent"], action=f"read the logs of app {app}")
    except CfError:
        return []
    return parse_log_lines(out.stdout, f"APP/TASK/{name}")


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            app={"type": "str", "required": True},
            command={"type": "str", "required": True},
            name={"type": "str"},
            memory={"type": "str"},
            disk={"type": "str"},
            timeout={"type": "int", "default": 900},
            poll_interval={"type": "float", "default": 3},
            logs={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
