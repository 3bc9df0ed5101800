# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The SSH guard with a replaying cf: uncovered production SSH is disallowed and escalated, a live window covers it,
outside production it only reports, and a stale lease is closed the one way."""

from __future__ import annotations

import socket
import time

from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from ansible_collections.ttahub.ops.plugins.modules import space_ssh_guard
from tests.support.fake_cf import step
from tests.support.modules import run_main

SPACE = "ttahub-prod"
READ = ["space-ssh-allowed", SPACE]
ROSTER = [{"id": "paula", "name": "Paula Oduya", "roles": ["product_owner"], "email": "paula@example.invalid"}]


def lease(state, *, live: bool, window_id: str = "w1") -> str:
    now = time.time()
    directory = sw.leases_dir(str(state))
    sw._private_dir(directory)  # pylint: disable=protected-access
    path = f"{directory}/{SPACE}--{window_id}.json"
    sw.write_lease(path, {
        "format": sw.LEASE_FORMAT, "window_id": window_id, "space": SPACE, "run_id": "old-run", "state": "open",
        "host": socket.gethostname(), "requested_epoch": now - 60, "opened_at": "2026-11-28T14:00:00Z", "opened_epoch": now - 60,
        "deadline_epoch": now + 600 if live else now - 1, "controller_pid": 1 if live else 999999999, "controller_start": None,
        "watchdog_pid": None, "attachments": [], "audit_log": str(state / "audit.jsonl"), "operator": "op"})
    return path


def args(cf_args, state, production=True):
    return {**cf_args, "space": SPACE, "production": production, "state_dir": str(state), "roster": ROSTER}


def test_uncovered_production_ssh_is_disallowed_and_escalated(fake, cf_args, tmp_path, capsys):
    fake.plan([step(READ, "space_ssh_allowed_enabled", SPACE=SPACE), step(["disallow-space-ssh", SPACE], "disallow_space_ssh", SPACE=SPACE),
               step(READ, "space_ssh_allowed_disabled", SPACE=SPACE)])
    result = run_main(space_ssh_guard, args(cf_args, tmp_path / "state"), capsys)
    assert result["uncovered"] is True and result["disallowed"] is True and result["ssh_allowed"] is False and result["changed"] is True
    assert "the guard disallowed it at" in result["escalation"] and "Product Owner (Paula Oduya, paula@example.invalid)" in result["escalation"]
    assert [e["event"] for e in result["audit_events"]] == ["ssh_guard_checked", "ssh_guard_disallowed"]


def test_a_live_window_covers_it(fake, cf_args, tmp_path, capsys):
    lease(tmp_path / "state", live=True)
    fake.plan([step(READ, "space_ssh_allowed_enabled", SPACE=SPACE)])
    result = run_main(space_ssh_guard, args(cf_args, tmp_path / "state"), capsys)
    assert result["uncovered"] is False and result["changed"] is False and [c["window_id"] for c in result["covered_by"]] == ["w1"]
    assert fake.argvs == [READ]


def test_outside_production_it_only_reports(fake, cf_args, tmp_path, capsys):
    fake.plan([step(READ, "space_ssh_allowed_enabled", SPACE=SPACE)])
    result = run_main(space_ssh_guard, args(cf_args, tmp_path / "state", production=False), capsys)
    assert result["uncovered"] is True and result["disallowed"] is False and result["escalation"] == ""
    assert fake.argvs == [READ]


def test_a_stale_lease_is_closed_with_the_guards_session(fake, cf_args, tmp_path, capsys):
    lease(tmp_path / "state", live=False, window_id="stale")
    fake.plan([step(["disallow-space-ssh", SPACE], "disallow_space_ssh", SPACE=SPACE), step(READ, "space_ssh_allowed_disabled", SPACE=SPACE),
               step(READ, "space_ssh_allowed_disabled", SPACE=SPACE)])
    result = run_main(space_ssh_guard, args(cf_args, tmp_path / "state"), capsys)
    assert [s["window_id"] for s in result["stale_closed"]] == ["stale"] and result["changed"] is True
    closed = [e for e in result["audit_events"] if e["event"] == "ssh_window_closed"][0]
    assert closed["reason"] == "stale_lease" and closed["closed_by"] == "guard" and closed["ssh_allowed_after"] is False
    assert sw.leases(str(tmp_path / "state")) == []


def test_check_mode_closes_nothing(fake, cf_args, tmp_path, capsys):
    lease(tmp_path / "state", live=False, window_id="stale")
    fake.plan([step(READ, "space_ssh_allowed_enabled", SPACE=SPACE)])
    result = run_main(space_ssh_guard, args(cf_args, tmp_path / "state"), capsys, check_mode=True)
    assert result["uncovered"] is True and result["disallowed"] is False and "check mode" in result["escalation"]
    assert fake.argvs == [READ] and len(sw.leases(str(tmp_path / "state"))) == 1
