# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's real main() with arguments, the way Ansible would, and return its JSON result."""

from __future__ import annotations

import json
import types
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args


def run_main(
    module: types.ModuleType, args: dict[str, t.Any], capsys: t.Any, *, check_mode: bool = False, no_log: bool = False
) -> dict[str, t.Any]:
    full = dict(args)
    full["_ansible_check_mode"] = check_mode
    full["_ansible_no_log"] = no_log
    with patch_module_args(full):
        with pytest.raises(SystemExit) as exc:
            module.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["_rc"] = exc.value.code
    result["_raw"] = out
    return result
