# SPDX-License-Identifier: GPL-3.0-or-later
"""One state folder for every part of a run, whatever XDG_STATE_HOME holds."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ttahub.ops.plugins.action import approval_gate as gate_action
from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _runtime
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw


@pytest.mark.parametrize("xdg", ["", "relative/state", "/abs/state"])
def test_every_part_resolves_the_same_state_folder(xdg, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", xdg)
    expected = os.path.join(xdg if xdg.startswith("/") else str(tmp_path / ".local" / "state"), "ttahub-ops")
    assert _runtime.state_dir() == expected
    assert sw.default_state_dir() == expected  # leases
    assert gate_action.default_state_dir() == expected  # used approvals (it once accepted a relative one)
    assert _audit.default_path() == os.path.join(expected, "audit.jsonl")


def test_audit_path_order():
    assert _runtime.audit_path({"TTAHUB_OPS_AUDIT_LOG": "/e.jsonl"}, "/c.jsonl") == "/e.jsonl"
    assert _runtime.audit_path({"XDG_STATE_HOME": "/s"}, "/c.jsonl") == "/c.jsonl"
    assert _runtime.audit_path({"XDG_STATE_HOME": "/s"}) == "/s/ttahub-ops/audit.jsonl"


def test_run_id_operator_and_controller_pid():
    assert _runtime.run_id({"TTAHUB_OPS_RUN_ID": "r1"}) == "r1"
    assert _runtime.run_id({}) != _runtime.run_id({})
    assert _runtime.operator({"TTAHUB_OPS_OPERATOR": "paula"}) == "paula"
    assert _runtime.operator({"TTAHUB_OPS_OPERATOR": "paula"}, "gideon") == "gideon"
    assert _runtime.operator({}, default_to_user=False) == ""
    assert _runtime.operator({}) == _runtime.local_user()
    assert _runtime.controller_pid({"TTAHUB_OPS_CONTROLLER_PID": "1234"}) == 1234
    for bad in ("", "x", "-5", "1", "0"):
        assert _runtime.controller_pid({"TTAHUB_OPS_CONTROLLER_PID": bad}) is None
