#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_ssh_code
short_description: Get a one-time SSH code from cloud.gov
description:
  - Runs C(cf ssh-code) and returns the one-time password for the cloud.gov SSH proxy (user C(cf:<process GUID>/<index>)).
  - The code is a secret. The module refuses to run unless the task sets C(no_log=true), so the code never shows in
    the output, at any verbosity, or in the audit log.
  - Each code is good for one connection; get a new one for every connection.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Getting a code changes nothing, so the module runs in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: ttahub.ops.cf_app_info
"""

EXAMPLES = r"""
- name: Get a one-time code to use as the password
  ttahub.ops.cf_ssh_code:
    cf_home: "{{ cf_session.cf_home }}"
  register: ssh_code
  no_log: true
"""

RETURN = r"""
code:
  description: The one-time code. Only ever register it in a task with C(no_log=true).
  returned: success
  type: str
  sample: E1x89n
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfUsageError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_ssh_code
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, cf: CfClient) -> dict:
    if not module.no_log:
        raise CfUsageError(
            "get a one-time SSH code",
            "the task does not set no_log: true, so the code could be displayed or logged",
            "Add no_log: true to the task",
        )
    code = parse_ssh_code(cf.run(["ssh-code"], action="get a one-time SSH code", secret_output=True).stdout)
    return {"changed": False, "code": code}


def main() -> None:
    module = AnsibleModule(argument_spec=cf_argument_spec(), supports_check_mode=True)
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
