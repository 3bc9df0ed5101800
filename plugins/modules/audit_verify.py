#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_verify
short_description: Verify the hash chain of the ttahub.ops audit log
description:
  - Reads the audit log that the C(ttahub.ops.audit_log) callback writes and checks every record. Each must be one
    line of canonical JSON with C(time), C(run_id), C(event), C(prev) and C(hash), its C(hash) must be the SHA-256 of
    the record without C(hash), and its C(prev) the C(hash) of the record before it (64 zeros for the first).
  - Fails naming the first broken record (its line number) and why, for example a changed record (hash mismatch) or a
    removed, inserted or reordered one (prev mismatch).
  - Reads only; changes nothing. The log is on the controller, so run it in a play on C(localhost) with the local connection.
  - A hash chain cannot show that records were cut from the end of the log. Keep the returned RV(last_hash) somewhere
    else (a CI artifact, a ticket) and compare it later to detect that.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode runs it unchanged.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  path:
    description:
      - The audit log file.
      - When not set, C(~/.local/state/ttahub-ops/audit.jsonl), or C($XDG_STATE_HOME/ttahub-ops/audit.jsonl) when
        E(XDG_STATE_HOME) is set (the callback's default).
    type: path
notes:
  - The playbook C(ttahub.ops.audit_verify) (C(playbooks/audit_verify.yml)) runs this module on the log named by
    C(ops_audit_log).
seealso:
  - plugin: ttahub.ops.audit_log
    plugin_type: callback
"""

EXAMPLES = r"""
- name: Verify the audit log's hash chain
  ttahub.ops.audit_verify:
  register: audit

- name: Verify the rehearsal's audit log
  ttahub.ops.audit_verify:
    path: "{{ ops_audit_log }}"
  register: audit

- name: Show how many records the log holds
  ansible.builtin.debug:
    msg: "{{ audit.records }} records, last hash {{ audit.last_hash }}"
"""

RETURN = r"""
log_path:
  description: The audit log that was verified.
  returned: always
  type: str
  sample: /home/operator/.local/state/ttahub-ops/audit.jsonl
ok:
  description: Whether every record and the chain between them verified.
  returned: always
  type: bool
  sample: true
records:
  description: How many records verified (on failure, the records before the first broken one).
  returned: always
  type: int
  sample: 412
first_bad_line:
  description: The line number (1-based; one record per line) of the first broken record, or V(null).
  returned: always
  type: int
  sample: 17
reason:
  description:
    - Why the first broken record is broken, or V(null). It starts with V(bad JSON), V(missing field), V(bad field),
      V(hash mismatch), V(prev mismatch), V(not canonical JSON), V(no newline at the end) or V(empty line).
  returned: always
  type: str
  sample: hash mismatch (the record was changed after it was written)
last_hash:
  description: The C(hash) of the last record that verified, or V(null) for an empty log.
  returned: always
  type: str
  sample: 5f0c6d1b8f3a0e4c9d2b7a6e1f8c3d4b5a6978e0f1d2c3b4a5968778695a4b3c
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._audit import default_path, verify
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

WHAT_TO_DO = (
    "Do not edit or delete the file: keep it as evidence, compare it with a copy kept elsewhere (a CI artifact, a"
    " backup) to see what changed, and report it to the system owner. To start a new log, move this one aside"
    " (for example `mv {path} {path}.broken`)."
)


def verify_log(path: str) -> tuple[dict, str | None]:
    """The module result for the log at ``path`` and, when it does not verify, the failure message."""
    result = verify(path)
    data = {
        "changed": False,
        "log_path": path,
        "ok": result.ok,
        "records": result.count,
        "first_bad_line": result.first_bad_line,
        "reason": result.reason,
        "last_hash": result.last_hash,
    }
    if result.ok:
        return data, None
    if result.first_bad_line is None:
        return data, f"Failed to verify audit log {path}: {result.reason}. Check the path (option path or ops_audit_log)."
    message = f"Failed to verify audit log {path}: record {result.first_bad_line} {result.reason}. " + WHAT_TO_DO.format(path=path)
    return data, message


def main() -> None:
    module = AnsibleModule(argument_spec={"path": {"type": "path"}}, supports_check_mode=True)
    path = os.path.abspath(module.params["path"] or default_path())
    partial: dict = {}

    def body() -> dict:
        data, message = verify_log(path)
        if message:
            partial.update(data)
            raise OpsError("", message, kind="audit_log_broken")  # verify_log words it (which record, what to do)
        return data

    run_module(module, body, partial=partial, os_error=(f"read the audit log {path}", "Check the path and its permissions"))


if __name__ == "__main__":
    main()
