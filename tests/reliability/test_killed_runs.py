# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mechanisms the fault matrix needed for killed runs, one by one: the session reaper (with the holds of open SSH
windows and the re-removal of a session a late cf call writes back), a terminated module's clean-up, and the evidence
of a module that outlived its ansible-playbook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _cf, _module
from tests.reliability.invariants import wait_for


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(proc.stdout)


def controller() -> subprocess.Popen[bytes]:
    """A stand-in for ansible-playbook that we can kill."""
    return subprocess.Popen(["sleep", "60"])  # pylint: disable=consider-using-with


def test_the_reaper_removes_a_dead_runs_session_and_again_when_a_late_cf_call_writes_it_back(tmp_path):
    session = _cf.create_cf_home(str(tmp_path))
    proc = controller()
    reaper = _cf.arm_session_reaper(session, {_cf.CONTROLLER_PID_ENV: str(proc.pid)}, linger=4)
    assert reaper and os.path.isdir(session)
    time.sleep(1.5)
    assert os.path.isdir(session), "the controller still runs"
    proc.kill()
    proc.wait()
    assert wait_for(lambda: not os.path.exists(session), 5) is not None
    os.makedirs(os.path.join(session, ".cf"))  # what cf does when a call under way ends: config.json with the token
    assert wait_for(lambda: not os.path.exists(session), 3) is not None


def test_an_open_window_holds_the_session_for_its_watchdog(tmp_path):
    session = _cf.create_cf_home(str(tmp_path))
    _cf.hold_session(session, "w1")
    assert _cf.remove_cf_home(session) is False and os.path.isdir(session), "the session's end leaves it to the watchdog"
    proc = controller()
    _cf.arm_session_reaper(session, {_cf.CONTROLLER_PID_ENV: str(proc.pid)}, linger=2)
    proc.kill()
    proc.wait()
    time.sleep(2.5)
    assert os.path.isdir(session), "held while the window is open"
    _cf.release_session(session, "w1")
    assert wait_for(lambda: not os.path.exists(session), 4) is not None


def test_no_reaper_outside_a_run_and_only_for_a_session_directory(tmp_path):
    session = _cf.create_cf_home(str(tmp_path))
    assert _cf.arm_session_reaper(session, {}) is None
    with pytest.raises(_cf.CfUsageError):
        _cf.arm_session_reaper(str(tmp_path), {_cf.CONTROLLER_PID_ENV: "1"})


class FakeModule:
    def __init__(self):
        self.params = {"cf_cli": None, "cf_home": None, "cf_timeout": 5}
        self.failed = None
        self.exited = None

    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise SystemExit(1)

    def exit_json(self, **kwargs):
        self.exited = kwargs
        raise SystemExit(0)


def test_a_terminated_module_runs_its_clean_up_and_fails_with_one_error(tmp_path):
    partial = tmp_path / "partial"
    module = FakeModule()

    def body():
        partial.write_text("half a file")
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            partial.unlink()
        return {"changed": True}

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit):
        _module.run_module(module, body)
    assert not partial.exists()
    assert module.failed["error_kind"] == "stopped" and "stopped by SIGTERM" in module.failed["msg"]
    assert signal.getsignal(signal.SIGTERM) == before, "the handler is only there while the body runs"


def test_a_module_that_outlived_its_controller_records_its_own_events(tmp_path):
    log = tmp_path / "audit.jsonl"
    event = {"event": "instance_file_copied", "dest_path": "/tmp/x", "sha256": "0" * 64}
    env = {_cf.CONTROLLER_PID_ENV: str(os.getpid()), "TTAHUB_OPS_AUDIT_LOG": str(log), "TTAHUB_OPS_RUN_ID": "r1"}
    assert _module.record_if_orphaned([event], env) is False and not log.exists(), "a live controller's callback writes it"
    env[_cf.CONTROLLER_PID_ENV] = str(dead_pid())
    assert _module.record_if_orphaned([event], env) is True
    record = json.loads(log.read_text().splitlines()[0])
    assert record["event"] == "instance_file_copied" and record["controller_died"] is True and record["run_id"] == "r1"
    assert _audit.verify(str(log)).ok
