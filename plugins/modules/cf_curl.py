#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_curl
short_description: Call the Cloud Controller API through cf curl and select from the answer with JMESPath
description:
  - Runs C(cf curl PATH) (C(-X METHOD), C(-d BODY)) and parses the JSON body.
  - C(cf curl) exits 0 on HTTP errors, so the body is checked instead; Cloud Controller error JSON (C(errors[]) and the
    legacy C(error_code) shape), an empty body and a non-JSON body (for example a proxy's HTML page) fail the task.
  - With O(all_pages=true), follows v3 pagination and returns all resources.
  - O(query) is a JMESPath expression applied to the answer, for example the seed's C(jq) step
    C(resources[?type=='web'].guid | [0]).
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: partial
    details: C(GET) requests run in check mode; other methods are skipped and reported as changed.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  path:
    description: The API path, starting with C(/), for example C(/v3/apps/GUID/processes).
    type: str
    required: true
  method:
    description: The HTTP method.
    type: str
    choices: [GET, POST, PUT, PATCH, DELETE]
    default: GET
  body:
    description: The request body, sent as JSON.
    type: raw
  query:
    description: A JMESPath expression applied to the answer; its result is returned as RV(result).
    type: str
  all_pages:
    description: Follow C(pagination.next) and return every resource of a v3 list in RV(json).
    type: bool
    default: false
requirements:
  - jmespath (Python library) when O(query) is used
seealso:
  - module: ttahub.ops.cf_app_info
"""

EXAMPLES = r"""
- name: Get the web process GUID of the app (the seed's cf curl | jq step)
  ttahub.ops.cf_curl:
    cf_home: "{{ cf_session.cf_home }}"
    path: "/v3/apps/{{ app.guid }}/processes"
    query: "resources[?type=='web'].guid | [0]"
  register: web

- name: Read the SSH endpoint and host key fingerprint
  ttahub.ops.cf_curl:
    cf_home: "{{ cf_session.cf_home }}"
    path: /
    query: links.app_ssh
"""

RETURN = r"""
json:
  description: The parsed answer (with O(all_pages=true), C({"resources":[...]}) with every page's resources).
  returned: success and not skipped in check mode
  type: raw
result:
  description: The O(query) applied to RV(json); C(null) when nothing matched.
  returned: success and O(query) is given
  type: raw
  sample: 6a901b7c-3f56-4c6f-8f2e-3c6c1d1e9a10
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec, query
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, cf: CfClient) -> dict:
    params = module.params
    path, method = params["path"], params["method"]
    action = f"call {method} {path}"
    if method != "GET" and module.check_mode:
        return {"changed": True, "skipped": True, "msg": f"{method} {path} would have been sent if not in check mode"}
    if params["all_pages"]:
        data = {"resources": cf.curl_all(path, action=action)}
    else:
        data = cf.curl(path, action=action, method=method, body=params["body"])
    result = {"changed": method != "GET", "json": data}
    if params["query"]:
        result["result"] = query(data, params["query"], action=f"select {params['query']!r} from {path}")
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            path={"type": "str", "required": True},
            method={"type": "str", "choices": ["GET", "POST", "PUT", "PATCH", "DELETE"], "default": "GET"},
            body={"type": "raw"},
            query={"type": "str"},
            all_pages={"type": "bool", "default": False},
        ),
        mutually_exclusive=[("all_pages", "body")],
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
