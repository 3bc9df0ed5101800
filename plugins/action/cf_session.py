# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ttahub.ops.cf_session: arms the run's supervisor before the session (a cloud.gov token on disk)
exists, so that a killed run cannot leave it behind (``plugins/plugin_utils/_supervisor.py``)."""

from __future__ import annotations

import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils._cf.session import session_base_dir
from ansible_collections.ttahub.ops.plugins.plugin_utils._action import SupervisedModule


class ActionModule(SupervisedModule):
    MODULE = "ttahub.ops.cf_session"

    def watch(self, args: dict[str, t.Any]) -> dict[str, str] | None:
        if args.get("state", "present") != "present":
            return None
        args["base_dir"] = args.get("base_dir") or session_base_dir()
        return {"session_dir": args["base_dir"]}
