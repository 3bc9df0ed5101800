#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_deployment
short_description: Cancel an app's active Cloud Foundry deployment
description:
  - Runs C(cf cancel-deployment APP) so that a failed rolling deployment stops and the previous version keeps
    serving (cf-cli.md §3.12).
  - An app without an active deployment (C(No active deployment found for app.)) is reported unchanged.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the app's active deployments (v3 API) and predicts the change without making it.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  app:
    description: The app.
    type: str
    required: true
  state:
    description: V(canceled) cancels the active deployment, if any.
    type: str
    choices: [canceled]
    default: canceled
seealso:
  - module: ttahub.ops.cf_push
"""

EXAMPLES = r"""
- name: Cancel the failed deployment so that the previous version keeps serving
  ttahub.ops.cf_deployment:
    cf_home: "{{ cf_session_info.cf_home }}"
    app: tta-smarthub-prod
    state: canceled
"""

RETURN = r"""
canceled:
  description: Whether an active deployment was cancelled (predicted in check mode).
  returned: success
  type: bool
  sample: true
audit_events:
  description: Evidence for the audit log; one event when a deployment was cancelled.
  returned: success
  type: list
  elements: dict
  sample: [{"event": "deployment_canceled", "app": "tta-smarthub-prod"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfNoDeploymentError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_guid
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, cf: CfClient) -> dict:
    app = module.params["app"]
    if module.check_mode:
        guid = parse_guid(cf.run(["app", app, "--guid"], action=f"find app {app}").stdout, f"find app {app}")
        active = cf.curl(f"/v3/deployments?app_guids={guid}&status_values=ACTIVE",
                         action=f"read the active deployments of app {app}")
        found = bool((active or {}).get("resources")) if isinstance(active, dict) else False
        return {"changed": found, "canceled": found}
    try:
        cf.run(["cancel-deployment", app], action=f"cancel the deployment of app {app}")
    except CfNoDeploymentError:
        return {"changed": False, "canceled": False, "msg": f"app {app} has no active deployment"}
    return {"changed": True, "canceled": True, "audit_events": [{"event": "deployment_canceled", "app": app}]}


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            app={"type": "str", "required": True},
            state={"type": "str", "choices": ["canceled"], "default": "canceled"},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
