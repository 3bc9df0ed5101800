#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: db_copy_info
short_description: List the local production data copies and those kept past their deadline
description:
  - Reads the copy records in C(<state_dir>/copies/) written by M(ttahub.ops.db_copy) and reports each copy's state
    (C(copying), C(encrypted), C(restored), C(failed), C(wiped)), its deadline and whether it is overdue (not wiped
    after its deadline).
  - Records one C(data_copy_overdue) audit event per overdue copy.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state_dir:
    description: The ttahub.ops state directory (C(ops_state_dir)).
    type: path
seealso:
  - module: ttahub.ops.db_wipe
"""

EXAMPLES = r"""
- name: List the local copies
  ttahub.ops.db_copy_info:
    state_dir: "{{ ops_state_dir }}"
  register: copies
"""

RETURN = r"""
copies:
  description: Every copy's summary (id, state, created, deadline, source, ciphertext SHA-256, overdue).
  returned: always
  type: list
  elements: dict
  sample: [{"copy_id": "ttahub-prod-20261128T140311Z-a1b2c3", "state": "encrypted", "overdue": false}]
overdue:
  description: The copies that still hold data after their deadline.
  returned: always
  type: list
  elements: dict
  sample: []
audit_events:
  description: One C(data_copy_overdue) per overdue copy.
  returned: always
  type: list
  elements: dict
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.records import list_records, summary
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def main() -> None:
    module = AnsibleModule(argument_spec={"state_dir": {"type": "path"}}, supports_check_mode=True)
    state_dir = module.params["state_dir"] or _ssh_window.default_state_dir()

    def body() -> dict:
        copies = [summary(record) for record in list_records(state_dir)]
        late = [c for c in copies if c["overdue"]]
        events = [{"event": "data_copy_overdue", "copy_id": c["copy_id"], "state": c["state"], "deadline": c["deadline"],
                   "ciphertext_sha256": c["ciphertext_sha256"]} for c in late]
        return {"changed": False, "copies": copies, "overdue": late, "audit_events": events}

    run_module(module, body, os_error=(f"read the copy records in {state_dir}", "Check ops_state_dir and its permissions"))


if __name__ == "__main__":
    main()
