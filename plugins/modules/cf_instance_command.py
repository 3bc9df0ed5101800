#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_instance_command
short_description: Run a command on a Cloud Foundry app instance with cf ssh
description:
  - Runs C(cf ssh APP -i INDEX --process TYPE -T -c COMMAND) and returns the command's stdout, stderr and exit status.
  - cf gets the one-time code and checks the SSH proxy's host key itself; nothing secret is on any argv.
  - The command runs in the instance's shell, as the operator typed it. It is recorded in the audit log.
  - A non-zero exit status of the command fails the task, as M(ansible.builtin.command) does; the output is returned
    either way. cf's own failures (SSH refused, instance not running, host key mismatch) fail with what to do.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: partial
    details: In check mode nothing runs; the task reports that the command would run.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  app:
    description: The app name, in the session's targeted space.
    type: str
    required: true
  command:
    description: The command line to run on the instance.
    type: str
    required: true
  process:
    description: The process type whose instance runs the command.
    type: str
    default: web
  instance:
    description: The instance index.
    type: int
    default: 0
  production:
    description:
      - Whether the space is production (set it from C(ops_production)). When SSH is refused, the error then names
        the approved production procedure rather than the commands that turn SSH on.
    type: bool
    default: true
notes:
  - O(cf_timeout) bounds the whole command; a command still running then is stopped with cf and the task fails.
seealso:
  - module: ttahub.ops.cf_instance_copy
  - module: ttahub.ops.cf_app_ssh
"""

EXAMPLES = r"""
- name: List the app's reports folder on instance 0
  ttahub.ops.cf_instance_command:
    app: tta-smarthub-dev-blue
    command: ls -l /home/vcap/app/reports
    production: false
  register: listing
"""

RETURN = r"""
stdout:
  description: The command's standard output.
  returned: always
  type: str
  sample: "instance.txt\nsummary.csv\n"
stderr:
  description: The command's standard error.
  returned: always
  type: str
  sample: ""
rc:
  description: The command's exit status on the instance.
  returned: when the command ran
  type: int
  sample: 0
cmd:
  description: The cf command line that ran.
  returned: when the command ran
  type: list
  elements: str
  sample: [cf, ssh, tta-smarthub-dev-blue, -i, "0", --process, web, -T, -c, ls]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfError, CfUsageError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_guid
from ansible_collections.ttahub.ops.plugins.module_utils._ssh import (
    SshPermissionDeniedError,
    classify_cf_ssh,
    ssh_enabled,
    ssh_refused_hint,
)
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, cf: CfClient) -> dict:
    params = module.params
    app, command, index = params["app"], params["command"], params["instance"]
    action = f"run a command on instance {index} of the {params['process']} process of app {app}"
    if not command.strip() or "\x00" in command:
        raise CfUsageError(action, "the command is empty or contains a NUL byte", "Pass the command line to run")
    if index < 0:
        raise CfUsageError(action, "instance is negative", "Instances are numbered from 0")
    args = ["ssh", app, "-i", str(index), "--process", params["process"], "-T", "-c", command]
    if module.check_mode:
        return {"changed": True, "stdout": "", "stderr": "", "msg": "the command would run (check mode)"}
    result = cf.run(args, action=action, check=False)
    error = classify_cf_ssh(action, result.cmd, result.rc, result.stdout, result.stderr,
                            refused_hint=ssh_refused_hint("", app, params["production"], "ssh_access"))
    if isinstance(error, SshPermissionDeniedError):
        # cf only says "not authorized"; the Cloud Controller says why, and the why names the fix.
        guid = parse_guid(cf.run(["app", app, "--guid"], action=f"find app {app}").stdout, f"find app {app}")
        _enabled, reason = ssh_enabled(cf, guid, action=f"read whether SSH works for app {app}")
        if reason:
            error = SshPermissionDeniedError(action, f"the SSH proxy refused the connection: {reason}",
                                             ssh_refused_hint(reason, app, params["production"], "ssh_access"),
                                             cmd=result.cmd, rc=result.rc, stdout=result.stdout, stderr=result.stderr)
    if error is not None:
        raise error
    out = {
        "changed": True, "stdout": result.stdout, "stderr": result.stderr, "rc": result.rc, "cmd": result.cmd,
        "audit_events": [{"event": "instance_command_run", "app": app, "process": params["process"], "instance": index,
                          "command": command, "rc": result.rc}],
    }
    if result.rc != 0:
        raise CfError(action, f"the command exited {result.rc}", "See its stdout and stderr", kind="command_failed",
                      events=out.pop("audit_events"), **out)
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            app={"type": "str", "required": True},
            command={"type": "str", "required": True},
            process={"type": "str", "default": "web"},
            instance={"type": "int", "default": 0},
            production={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
