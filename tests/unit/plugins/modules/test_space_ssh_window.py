# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The space SSH window module with a replaying cf: the suspicious case, open and close, a shared window, a failed
allow, the escalation, and the real detached watchdog closing the window when the controller dies or the deadline
passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from ansible_collections.ttahub.ops.plugins.modules import space_ssh_window
from ansible_collections.ttahub.ops.plugins.plugin_utils import _supervisor
from tests.support.fake_cf import step
from tests.support.modules import run_main

SPACE = "ttahub-prod"
READ = ["space-ssh-allowed", SPACE]
ROSTER = [
    {"id": "paula", "name": "Paula Oduya", "roles": ["product_owner"], "email": "paula@example.invalid"},
    {"id": "gideon", "name": "Gideon Tamm", "roles": ["government_technical_monitor"], "email": "gideon@example.invalid"},
    {"id": "vera", "name": "Vera Lindqvist", "roles": ["vendor_tech_lead"], "email": ""},
]


@pytest.fixture
def controller():
    """A stand-in for ansible-playbook: the watchdog watches it."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # pylint: disable=consider-using-with
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.fixture
def window(fake, cf_args, tmp_path, monkeypatch, controller):
    audit = tmp_path / "audit.jsonl"
    monkeypatch.setenv("TTAHUB_OPS_AUDIT_LOG", str(audit))
    monkeypatch.setenv("TTAHUB_OPS_RUN_ID", "run-1")
    state = tmp_path / "state"
    args = {**cf_args, "space": SPACE, "state_dir": str(state), "roster": ROSTER, "controller_pid": controller.pid}
    registry = tmp_path / "runtime"
    return {"args": args, "state": state, "audit": audit, "fake": fake, "controller": controller, "registry": registry}


def run_open(window, args, capsys, **kw):
    """Open as the action plugin does: with the run's supervisor armed for the (stand-in) controller."""
    controller = {"pid": window["controller"].pid, "start": sw.process_start_time(window["controller"].pid)}
    with _supervisor.supervised(registry_dir=str(window["registry"]), state_dir=str(window["state"]),
                                audit_log=str(window["audit"]), run_id="run-1", cf_timeout=30, controller=controller) as reg:
        return run_main(space_ssh_window, {**window["args"], **args, "supervisor": reg["supervisor"]}, capsys, **kw)


def opened(fake):
    return [step(READ, "space_ssh_allowed_disabled", SPACE=SPACE), step(["allow-space-ssh", SPACE], "allow_space_ssh", SPACE=SPACE)]


def closed(fake):
    return [step(["disallow-space-ssh", SPACE], "disallow_space_ssh", SPACE=SPACE), step(READ, "space_ssh_allowed_disabled", SPACE=SPACE)]


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def audit_events(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_already_allowed_without_a_window_is_suspicious_and_left_alone(window, capsys):
    window["fake"].plan([step(READ, "space_ssh_allowed_enabled", SPACE=SPACE)])
    result = run_open(window, {"state": "open"}, capsys)
    assert result["failed"] is True and result["error_kind"] == "suspicious"
    assert "no live window of ttahub.ops covers it" in result["msg"] and "Nothing was changed" in result["msg"]
    assert "Paula Oduya, paula@example.invalid" in result["msg"] and "Gideon Tamm, gideon@example.invalid" in result["msg"]
    assert window["fake"].argvs == [READ]  # never allow-space-ssh, never disallow
    assert [e["event"] for e in result["audit_events"]] == ["ssh_window_suspicious"]
    assert sw.leases(str(window["state"])) == []


def test_open_writes_a_lease_arms_the_watchdog_and_close_checks(window, capsys):
    fake = window["fake"]
    fake.plan(opened(fake))
    result = run_open(window, {"state": "open", "minutes": 20, "purpose": "prod_db_copy"}, capsys)
    assert result["changed"] is True and result["joined"] is False, result
    assert fake.argvs == [READ, ["allow-space-ssh", SPACE]]
    lease = sw.read_lease(result["lease_path"])
    assert lease["state"] == "open" and lease["run_id"] == "run-1" and lease["purpose"] == "prod_db_copy"
    assert lease["deadline_epoch"] - lease["requested_epoch"] == 20 * 60
    assert os.stat(result["lease_path"]).st_mode & 0o777 == 0o600
    assert sw.process_alive(result["watchdog_pid"]), "the watchdog runs"
    assert os.getpgid(result["watchdog_pid"]) == result["watchdog_pid"], "in its own session"
    event = result["audit_events"][0]
    assert event["event"] == "ssh_window_opened" and event["opened_at"] <= event["allowed_at"]

    fake.plan(closed(fake) + [step(READ, "space_ssh_allowed_disabled", SPACE=SPACE)])
    done = run_main(space_ssh_window, {**window["args"], "state": "closed"}, capsys)
    assert done["changed"] is True and done["ssh_allowed"] is False
    assert fake.argvs == [["disallow-space-ssh", SPACE], READ, READ]
    record = done["closed"][0]
    assert record["opened_at"] == event["opened_at"] and record["closed_at"] >= record["opened_at"]
    assert record["ssh_allowed_after"] is False and record["reason"] == "closed_by_run"
    assert sw.leases(str(window["state"])) == []
    assert wait_for(lambda: not sw.process_alive(result["watchdog_pid"])), "the watchdog ends with the window"

    fake.plan([step(READ, "space_ssh_allowed_disabled", SPACE=SPACE)])
    again = run_main(space_ssh_window, {**window["args"], "state": "closed"}, capsys)
    assert again["changed"] is False and again["closed"] == [] and fake.argvs == [READ]


def test_watchdog_closes_the_window_when_the_controller_dies(window, capsys):
    fake = window["fake"]
    fake.plan(opened(fake) + closed(fake))
    result = run_open(window, {"state": "open"}, capsys)
    killed = time.monotonic()
    window["controller"].kill()
    window["controller"].wait()
    assert wait_for(lambda: not sw.process_alive(result["watchdog_pid"]), timeout=10)
    print(f"watchdog closed the window {time.monotonic() - killed:.2f} s after the controller died")
    assert fake.argvs[2:] == [["disallow-space-ssh", SPACE], READ]
    records = audit_events(window["audit"])
    assert [r["event"] for r in records] == ["ssh_window_closed"]
    assert records[0]["reason"] == "controller_died" and records[0]["closed_by"] == "watchdog"
    assert records[0]["run_id"] == "run-1" and records[0]["ssh_allowed_after"] is False
    assert _audit.verify(str(window["audit"])).ok


def test_watchdog_closes_the_window_at_its_deadline(window, capsys):
    fake = window["fake"]
    fake.plan(opened(fake) + closed(fake))
    result = run_open(window, {"state": "open"}, capsys)
    with sw.leases_lock(str(window["state"])):
        lease = sw.read_lease(result["lease_path"])
        lease["deadline_epoch"] = time.time() + 0.3
        sw.write_lease(result["lease_path"], lease)
    assert wait_for(lambda: not sw.process_alive(result["watchdog_pid"]), timeout=10)
    assert window["controller"].poll() is None, "the controller still runs"
    records = audit_events(window["audit"])
    assert [(r["event"], r["reason"]) for r in records] == [("ssh_window_closed", "deadline_passed")]


def test_a_second_window_joins_and_the_last_one_disallows(window, capsys):
    fake = window["fake"]
    fake.plan(opened(fake))
    first = run_open(window, {"state": "open"}, capsys)
    os.environ["TTAHUB_OPS_RUN_ID"] = "run-2"
    fake.plan([step(READ, "space_ssh_allowed_enabled", SPACE=SPACE)])
    second = run_open(window, {"state": "open"}, capsys)
    assert second["joined"] is True and fake.argvs == [READ]
    assert second["audit_events"][0]["event"] == "ssh_window_joined"
    assert second["audit_events"][0]["shared_with"] == [first["window_id"]]

    os.environ["TTAHUB_OPS_RUN_ID"] = "run-1"
    fake.plan([step(READ, "space_ssh_allowed_enabled", SPACE=SPACE)])
    done = run_main(space_ssh_window, {**window["args"], "state": "closed"}, capsys)
    assert done["closed"][0]["disallowed"] is False and done["closed"][0]["left_open_for"] == [second["window_id"]]
    assert fake.argvs == [READ], "SSH stays allowed for the other live window"

    os.environ["TTAHUB_OPS_RUN_ID"] = "run-2"
    fake.plan(closed(fake) + [step(READ, "space_ssh_allowed_disabled", SPACE=SPACE)])
    done = run_main(space_ssh_window, {**window["args"], "state": "closed"}, capsys)
    assert done["closed"][0]["disallowed"] is True and done["ssh_allowed"] is False


def test_a_failed_allow_is_closed_the_one_way(window, capsys):
    fake = window["fake"]
    fake.plan([
        step(READ, "space_ssh_allowed_disabled", SPACE=SPACE),
        step(["allow-space-ssh", SPACE], "allow_space_ssh_not_authorized", SPACE=SPACE),
        step(["disallow-space-ssh", SPACE], "allow_space_ssh_not_authorized", SPACE=SPACE),
        step(READ, "space_ssh_allowed_disabled", SPACE=SPACE),
    ])
    result = run_open(window, {"state": "open"}, capsys)
    assert result["failed"] is True and result["error_kind"] == "not_authorized"
    assert result["msg"].startswith(f"Failed to allow SSH in space {SPACE}: ")
    closed_event = result["audit_events"][0]
    assert closed_event["event"] == "ssh_window_closed" and closed_event["reason"] == "allow_failed"
    assert closed_event["ssh_allowed_after"] is False and "disallow_error" in closed_event
    assert sw.leases(str(window["state"])) == []


def test_escalate_closes_then_fails_with_the_contacts(window, capsys):
    fake = window["fake"]
    fake.plan(opened(fake))
    run_open(window, {"state": "open"}, capsys)
    fake.plan(closed(fake) + [step(READ, "space_ssh_allowed_disabled", SPACE=SPACE)])
    result = run_main(space_ssh_window, {**window["args"], "state": "closed", "escalate": "The dump failed."}, capsys)
    assert result["failed"] is True and result["error_kind"] == "escalated"
    assert result["msg"].startswith("The dump failed. The SSH window of space ttahub-prod is closed; SSH is disallowed there.")
    assert "Product Owner (Paula Oduya, paula@example.invalid)" in result["msg"]
    assert "Vendor Technical Lead (Vera Lindqvist, no email in the roster)" in result["msg"]
    assert result["closed"][0]["ssh_allowed_after"] is False


def test_a_window_longer_than_the_policy_is_refused_before_any_call(window, capsys):
    result = run_open(window, {"state": "open", "minutes": 90, "max_minutes": 60}, capsys)
    assert result["failed"] is True and result["error_kind"] == "bad_input"
    assert "outside the policy (1 to 60 minutes)" in result["msg"]
    assert window["fake"].argvs == []


def test_check_mode_writes_no_lease(window, capsys):
    window["fake"].plan([step(READ, "space_ssh_allowed_disabled", SPACE=SPACE)])
    result = run_open(window, {"state": "open"}, capsys, check_mode=True)
    assert result["changed"] is True and result["state"] == "planned" and result["lease_path"] is None
    assert window["fake"].argvs == [READ] and sw.leases(str(window["state"])) == []
