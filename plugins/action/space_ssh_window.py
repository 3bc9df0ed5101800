# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ttahub.ops.space_ssh_window: arms the run's supervisor (the window's watchdog) before SSH may be
allowed, and hands it to the module (``plugins/plugin_utils/_supervisor.py``)."""

from __future__ import annotations

import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _runtime
from ansible_collections.ttahub.ops.plugins.plugin_utils._action import SupervisedModule


class ActionModule(SupervisedModule):
    MODULE = "ttahub.ops.space_ssh_window"

    def watch(self, args: dict[str, t.Any]) -> dict[str, str] | None:
        if args.get("state") != "open" or self._task.check_mode:
            return None
        args["state_dir"] = args.get("state_dir") or _runtime.state_dir()
        return {"state_dir": args["state_dir"]}

    def given(self, args: dict[str, t.Any], registry: dict[str, t.Any]) -> dict[str, t.Any]:
        # The lease names the controller the supervisor watches, whatever the task says.
        return {**super().given(args, registry), "supervisor": registry["supervisor"]}
