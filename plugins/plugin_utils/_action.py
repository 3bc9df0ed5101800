# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin of a module that starts something a killed run must not leave behind (a session with a token,
SSH allowed in a space): it arms the run's supervisor on the controller, then runs the module.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import os
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.ttahub.ops.plugins.module_utils import _runtime
from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import DEFAULT_TIMEOUT
from ansible_collections.ttahub.ops.plugins.module_utils._cf.session import session_base_dir
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError
from ansible_collections.ttahub.ops.plugins.plugin_utils import _supervisor


class SupervisedModule(ActionBase):
    """Runs ``MODULE``; when :meth:`watch` says what the task starts, under the run's supervisor."""

    MODULE = ""
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def watch(self, args: dict[str, t.Any]) -> dict[str, str] | None:
        """``session_dir``/``state_dir`` the supervisor must watch for this task, or None when it starts nothing."""
        raise NotImplementedError

    def given(self, args: dict[str, t.Any], registry: dict[str, t.Any]) -> dict[str, t.Any]:
        """The module's arguments once the supervisor is armed."""
        return {**args, "controller_pid": registry["controller"]["pid"]}

    def _audit_log(self, task_vars: dict[str, t.Any]) -> str:
        configured = task_vars.get("ops_audit_log")
        if isinstance(configured, str) and "{" in configured:
            configured = self._templar.template(configured)
        return _runtime.audit_path(configured=configured if isinstance(configured, str) else None)

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        watched = self.watch(args)
        if watched is None:
            result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
            return result
        timeout = args.get("cf_timeout") or int(os.environ.get(_runtime.CF_TIMEOUT_ENV) or DEFAULT_TIMEOUT)
        try:
            with _supervisor.supervised(registry_dir=session_base_dir(), audit_log=self._audit_log(task_vars),
                                        run_id=os.environ.get(_runtime.RUN_ID_ENV, ""), cf_timeout=int(timeout),
                                        **watched) as registry:
                result.update(self._execute_module(module_name=self.MODULE, module_args=self.given(args, registry),
                                                   task_vars=task_vars))
        except OpsError as err:  # the supervisor could not be armed: nothing was started
            result.update(failed=True, msg=err.message, **err.details())
        return result
