#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_app_info
short_description: Read a Cloud Foundry app through the v3 API
description:
  - Returns the app's GUID and state, its processes by type with their own GUIDs, desired and running instances, and
    whether SSH to the app works.
  - The web process GUID is read from C(/v3/apps/GUID/processes); it differs from the app GUID after the first rolling
    deployment, so never use the app GUID for the SSH proxy user C(cf:<process GUID>/<index>).
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
    support: N/A
  platform:
    platforms: posix
options:
  name:
    description: The app name, in the session's targeted space.
    type: str
    required: true
  stats:
    description: Also read each process's instance states (one more API call per process type).
    type: bool
    default: true
seealso:
  - module: ttahub.ops.cf_curl
"""

EXAMPLES = r"""
- name: Get the app's GUID and its web process GUID
  ttahub.ops.cf_app_info:
    cf_home: "{{ cf_session.cf_home }}"
    name: tta-smarthub-prod
  register: app

- name: Show the SSH proxy user of instance 0
  ansible.builtin.debug:
    msg: "cf:{{ app.processes.web.guid }}/0"
"""

RETURN = r"""
guid:
  description: The app GUID.
  returned: success
  type: str
  sample: 1cb006ee-8e2d-4c29-a43a-5a9f4e1bfd2f
name:
  description: The app name.
  returned: success
  type: str
  sample: tta-smarthub-prod
state:
  description: The app's requested state.
  returned: success
  type: str
  sample: STARTED
processes:
  description: The app's processes by type.
  returned: success
  type: dict
  sample:
    web: {"guid": "6a901b7c-3f56-4c6f-8f2e-3c6c1d1e9a10", "instances": 3, "running": 3,
          "instance_states": [{"index": 0, "state": "RUNNING"}]}
    worker: {"guid": "0c1ad7f3-4e0b-4f5a-9a55-5d3b7c2e8b11", "instances": 2, "running": 2, "instance_states": []}
web_process_guid:
  description: The web process GUID (empty when the app has no web process).
  returned: success
  type: str
  sample: 6a901b7c-3f56-4c6f-8f2e-3c6c1d1e9a10
ssh_enabled:
  description: Whether SSH to the app works now (app, space and platform all allow it).
  returned: success
  type: bool
  sample: false
ssh_reason:
  description: Why SSH does not work, as the Cloud Controller words it.
  returned: success
  type: str
  sample: ssh is disabled for space 'ttahub-prod'
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec, query
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfOutputError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_guid
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, cf: CfClient) -> dict:
    name = module.params["name"]
    action = f"read app {name}"
    guid = parse_guid(cf.run(["app", name, "--guid"], action=f"find app {name}").stdout, f"find app {name}")
    app = cf.curl(f"/v3/apps/{guid}", action=action)
    processes = cf.curl_all(f"/v3/apps/{guid}/processes", action=f"read the processes of app {name}")
    by_type: dict[str, dict] = {}
    for proc in processes:
        if not isinstance(proc, dict) or "type" not in proc or "guid" not in proc:
            raise CfOutputError(action, "a process without type or guid", "Check the API answer with cf curl")
        entry = {"guid": proc["guid"], "instances": int(proc.get("instances") or 0)}
        if module.params["stats"]:
            stats = cf.curl_all(f"/v3/processes/{proc['guid']}/stats", action=f"read the {proc['type']} instances of app {name}")
            states = [{"index": s.get("index"), "state": s.get("state")} for s in stats if isinstance(s, dict)]
            entry["instance_states"] = states
            entry["running"] = sum(1 for s in states if s["state"] == "RUNNING")
        by_type[proc["type"]] = entry
    ssh = cf.curl(f"/v3/apps/{guid}/ssh_enabled", action=f"read whether SSH works for app {name}")
    return {
        "changed": False,
        "guid": guid,
        "name": app.get("name", name) if isinstance(app, dict) else name,
        "state": app.get("state", "") if isinstance(app, dict) else "",
        "processes": by_type,
        "web_process_guid": query({"p": processes}, "p[?type=='web'].guid | [0]") or "",
        "ssh_enabled": bool(ssh.get("enabled")) if isinstance(ssh, dict) else False,
        "ssh_reason": str(ssh.get("reason", "")) if isinstance(ssh, dict) else "",
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            name={"type": "str", "required": True},
            stats={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
