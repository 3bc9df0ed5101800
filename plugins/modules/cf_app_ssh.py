#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_app_ssh
short_description: Enable or disable SSH for a Cloud Foundry app
description:
  - Reads the app's own SSH flag through the v3 API (C(/v3/apps/GUID/features/ssh)) and runs C(cf enable-ssh) or
    C(cf disable-ssh) only when it differs.
  - Reports whether the app needs a restart for the change to take effect (an instance gets an SSH port only if the
    flag was on when it started) and whether SSH is still blocked by the space or the platform.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  name:
    description: The app name, in the session's targeted space.
    type: str
    required: true
  state:
    description: V(enabled) or V(disabled).
    type: str
    choices: [enabled, disabled]
    required: true
seealso:
  - module: ttahub.ops.cf_space_ssh
"""

EXAMPLES = r"""
- name: Enable SSH for the app
  ttahub.ops.cf_app_ssh:
    cf_home: "{{ cf_session.cf_home }}"
    name: tta-smarthub-dev-blue
    state: enabled
  register: app_ssh

- name: Say when the app must be restarted
  ansible.builtin.debug:
    msg: "Restart the app (cf restart --strategy rolling) before SSH works"
  when: app_ssh.restart_required
"""

RETURN = r"""
enabled:
  description: The app's own SSH flag after the task (predicted in check mode).
  returned: success
  type: bool
  sample: true
effective:
  description: Whether SSH to the app works now (app, space and platform all allow it), before any restart.
  returned: success
  type: bool
  sample: false
reason:
  description: Why SSH does not work, as the Cloud Controller words it (empty when it works).
  returned: success
  type: str
  sample: ssh is disabled for space 'ttahub-dev'
restart_required:
  description: True when the app was changed and must be restarted for the change to take effect.
  returned: success
  type: bool
  sample: true
guid:
  description: The app GUID.
  returned: success
  type: str
  sample: 1cb006ee-8e2d-4c29-a43a-5a9f4e1bfd2f
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_app_ssh_toggle, parse_guid
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, cf: CfClient) -> dict:
    name = module.params["name"]
    want = module.params["state"] == "enabled"
    guid = parse_guid(cf.run(["app", name, "--guid"], action=f"find app {name}").stdout, f"find app {name}")
    feature = cf.curl(f"/v3/apps/{guid}/features/ssh", action=f"read the SSH flag of app {name}")
    before = bool(feature.get("enabled")) if isinstance(feature, dict) else False
    result = {
        "changed": before != want,
        "enabled": want,
        "guid": guid,
        "restart_required": False,
        "diff": {"before": {"ssh_enabled": before}, "after": {"ssh_enabled": want}},
        "audit_events": [],
    }
    if before != want and not module.check_mode:
        verb = "enable" if want else "disable"
        toggle = parse_app_ssh_toggle(cf.run([f"{verb}-ssh", name], action=f"{verb} SSH for app {name}").stdout)
        result["changed"] = toggle["changed"]
        result["restart_required"] = toggle["changed"] and toggle["restart"] == "required"
        result["audit_events"].append({"event": f"app_ssh_{verb}d", "app": name})
    elif before != want:
        result["restart_required"] = want
    status = cf.curl(f"/v3/apps/{guid}/ssh_enabled", action=f"read whether SSH works for app {name}")
    result["effective"] = bool(status.get("enabled")) if isinstance(status, dict) else False
    result["reason"] = str(status.get("reason", "")) if isinstance(status, dict) else ""
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            name={"type": "str", "required": True},
            state={"type": "str", "choices": ["enabled", "disabled"], "required": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
