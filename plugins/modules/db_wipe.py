#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: db_wipe
short_description: Destroy a local database copy by cryptographic erase and prove nothing remains
description:
  - For a copy made by M(ttahub.ops.db_copy), stops and removes its local PostgreSQL cluster (from
    M(ttahub.ops.db_restore_local)), destroys its age identity (overwritten, then removed; without it the ciphertext
    can never be decrypted again, a cryptographic erase in the sense of NIST SP 800-88), removes the ciphertext and the
    copy's folder, then checks that none of them remains.
  - The copy's record stays, marked C(wiped), and the audit event C(data_copy_wiped) carries the ciphertext's SHA-256.
  - Safe to run again; a copy already wiped is reported unchanged.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what is still there and would be destroyed.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  copy_id:
    description: The copy to wipe. Required unless O(all=true).
    type: str
  all:
    description: Wipe every copy in O(state_dir) that is not wiped yet.
    type: bool
    default: false
  state_dir:
    description: The ttahub.ops state directory (C(ops_state_dir)).
    type: path
  pg_bin_dir:
    description: The folder of C(pg_ctl); the newest C(/usr/lib/postgresql/*/bin) by default.
    type: path
seealso:
  - module: ttahub.ops.db_copy
  - module: ttahub.ops.db_restore_local
"""

EXAMPLES = r"""
- name: Immediately wipe the production data from local storage
  ttahub.ops.db_wipe:
    copy_id: ttahub-prod-20261128T140311Z-a1b2c3
    state_dir: "{{ ops_state_dir }}"
"""

RETURN = r"""
wiped:
  description: One entry per copy, with what was removed and the ciphertext's SHA-256.
  returned: success
  type: list
  elements: dict
  sample: [{"copy_id": "ttahub-prod-20261128T140311Z-a1b2c3", "removed": ["age identity destroyed (cryptographic erase)"], "ciphertext_sha256": "9f86d0..."}]
audit_events:
  description: C(data_copy_wiped) per copy (or C(data_copy_wipe_incomplete)).
  returned: always
  type: list
  elements: dict
  sample: [{"event": "data_copy_wiped", "key_destroyed": true}]
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.records import list_records
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.wipe import wipe_copy
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "copy_id": {"type": "str"},
            "all": {"type": "bool", "default": False},
            "state_dir": {"type": "path"},
            "pg_bin_dir": {"type": "path"},
        },
        supports_check_mode=True,
    )
    p = module.params
    state_dir = p["state_dir"] or _ssh_window.default_state_dir()
    # What was wiped before a failure is returned with it (partial): the record of each cryptographic erase.
    partial: dict = {"wiped": [], "audit_events": []}

    def body() -> dict:
        if bool(p["copy_id"]) == p["all"]:
            raise CopyError("choose what to wipe", "pass either copy_id or all=true (not both, not neither)",
                            "The ssh_guard playbook lists the copies", kind="bad_input")
        if p["all"]:
            ids = [r["copy_id"] for r in list_records(state_dir) if r.get("state") != "wiped"]
        else:
            ids = [p["copy_id"]]
        changed = False
        for copy_id in ids:
            done = wipe_copy(state_dir=state_dir, copy_id=copy_id, pg_bin_dir=p["pg_bin_dir"], check_mode=module.check_mode)
            changed = changed or done["changed"]
            partial["audit_events"].extend(done["audit_events"])
            partial["wiped"].append({"copy_id": copy_id, "changed": done["changed"], "removed": done.get("removed", []),
                                     "present_before": done.get("present"), "ciphertext_sha256": done["record"].get("ciphertext_sha256"),
                                     "state": done["record"].get("state")})
        return {"changed": changed, **partial}

    run_module(module, body, partial=partial, os_error=("wipe the copy", "Remove what remains by hand and run again"))


if __name__ == "__main__":
    main()
