# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ttahub.ops.db_copy (the module file only holds the documentation).

An action plugin, because the dump must show its progress while it runs, and only the controller can print while a
task runs. Everything it starts is local (cf, pg_dump, age) and attached to the SSH window's lease.
"""

from __future__ import annotations

import os
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ttahub.ops.plugins.module_utils import _runtime
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CF_COMMON_ARGS, CfClient
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.copy import copy_database
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.records import DEFAULT_KEEP_HOURS, copies_dir, record_path
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

display = Display()

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "app": {"type": "str", "required": True},
    "service": {"type": "str", "required": True},
    "org": {"type": "str", "default": ""},
    "space": {"type": "str", "default": ""},
    "lease_path": {"type": "path", "required": True},
    "state_dir": {"type": "path"},
    "dest_dir": {"type": "path"},
    "keep_hours": {"type": "float", "default": float(DEFAULT_KEEP_HOURS)},
    "key_dir": {"type": "path"},
    "pg_bin_dir": {"type": "path"},
    "age_bin_dir": {"type": "path"},
    "progress_every": {"type": "float", "default": 10.0},
    "tunnel_timeout": {"type": "int", "default": 90},
    "dump_timeout": {"type": "int", "default": 6 * 3600},
    "operator": {"type": "str"},
    "cf_cli": {"type": "path"},
    "cf_home": {"type": "path", "required": True},
    "cf_timeout": dict(CF_COMMON_ARGS["cf_timeout"]),  # TTAHUB_OPS_CF_TIMEOUT replaces the default
}


class ActionModule(ActionBase):
    """Tunnel, version check, pg_dump piped into age, tunnel stopped, SERVICE_CONNECT deleted; all or nothing."""

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars or {})
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        state_dir = args["state_dir"] or sw.default_state_dir()
        if self._task.check_mode:
            result.update(changed=True, msg=f"check mode: would copy {args['service']} through a tunnel on {args['app']}")
            return result
        if not 0.5 <= args["progress_every"] <= 10:
            raise AnsibleActionFail("Failed to plan the copy: progress_every must be between 0.5 and 10 seconds. Pass a value in that range.")
        try:
            cf = CfClient(cf_cli=args["cf_cli"], cf_home=args["cf_home"], timeout=args["cf_timeout"])
            controller = sw.controller_identity()
            done = copy_database(
                cf=cf,
                app=args["app"],
                service=args["service"],
                org=args["org"],
                space=args["space"],
                state_dir=state_dir,
                dest_dir=args["dest_dir"] or copies_dir(state_dir),
                lease_path=args["lease_path"],
                keep_hours=args["keep_hours"],
                key_base=args["key_dir"],
                pg_bin_dir=args["pg_bin_dir"],
                age_bin_dir=args["age_bin_dir"],
                progress=display.display,
                progress_every=args["progress_every"],
                tunnel_timeout=args["tunnel_timeout"],
                dump_timeout=args["dump_timeout"],
                controller=controller,
                run_id=os.environ.get(_runtime.RUN_ID_ENV, ""),
                operator=_runtime.operator(given=args["operator"], default_to_user=False),
            )
        except OpsError as err:  # the copy's, cf's and the window's errors alike: one failed task with what was done
            result.update(err.details(), audit_events=err.events)
            raise AnsibleActionFail(err.message, result=result) from None
        record = done["record"]
        result.update(
            changed=True,
            copy_id=record["copy_id"],
            ciphertext_path=record["ciphertext_path"],
            ciphertext_sha256=record["ciphertext_sha256"],
            ciphertext_bytes=record["ciphertext_bytes"],
            plaintext_bytes=record["plaintext_bytes"],
            dump_seconds=record["dump_seconds"],
            deadline=record["deadline"],
            identity_memory_backed=record["identity_memory_backed"],
            key_store_note=record["key_store_note"],
            record_path=record_path(state_dir, record["copy_id"]),
            audit_events=done["audit_events"],
        )
        if not record["identity_memory_backed"]:
            result["warnings"] = [record["key_store_note"]]
        return result
