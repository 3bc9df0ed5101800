#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_space_ssh
short_description: Allow or disallow SSH for a Cloud Foundry space
description:
  - Reads C(cf space-ssh-allowed) first and runs C(cf allow-space-ssh) or C(cf disallow-space-ssh) only when the space
    is not already in the wanted state.
  - Space SSH applies to new SSH connections at once (the SSH proxy checks it on every connection).
  - In production, do not call this module directly; the C(space_ssh_window) role opens a window with a lease, a
    watchdog and audit records, and always closes it.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the space and predicts the change without making it.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  space:
    description: The space name, in the session's targeted org.
    type: str
    required: true
  state:
    description: V(allowed) to allow SSH in the space, V(disallowed) to disallow it.
    type: str
    choices: [allowed, disallowed]
    required: true
seealso:
  - module: ttahub.ops.cf_app_ssh
  - module: ttahub.ops.cf_session
"""

EXAMPLES = r"""
- name: Disable space ssh access
  ttahub.ops.cf_space_ssh:
    cf_home: "{{ cf_session.cf_home }}"
    space: ttahub-prod
    state: disallowed
"""

RETURN = r"""
allowed:
  description: Whether SSH is allowed in the space after the task (predicted in check mode).
  returned: success
  type: bool
  sample: false
before:
  description: Whether SSH was allowed in the space before the task.
  returned: success
  type: bool
  sample: true
space:
  description: The space.
  returned: success
  type: str
  sample: ttahub-prod
audit_events:
  description: Evidence for the audit log; one event when the space was changed.
  returned: success
  type: list
  elements: dict
  sample: [{"event": "space_ssh_disallowed", "space": "ttahub-prod"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import (
    parse_space_ssh_allowed,
    parse_space_ssh_toggle,
)
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, cf: CfClient) -> dict:
    space = module.params["space"]
    want = module.params["state"] == "allowed"
    before = parse_space_ssh_allowed(
        cf.run(["space-ssh-allowed", space], action=f"read whether SSH is allowed in space {space}").stdout
    )
    result = {"changed": before != want, "before": before, "allowed": want, "space": space, "audit_events": []}
    result["diff"] = {"before": {"ssh_allowed": before}, "after": {"ssh_allowed": want}}
    if before == want or module.check_mode:
        return result
    verb = "allow" if want else "disallow"
    out = cf.run([f"{verb}-space-ssh", space], action=f"{verb} SSH in space {space}")
    result["changed"] = parse_space_ssh_toggle(out.stdout)
    result["audit_events"].append({"event": f"space_ssh_{verb}ed", "space": space})
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            space={"type": "str", "required": True},
            state={"type": "str", "choices": ["allowed", "disallowed"], "required": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
