# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mechanisms the fault matrix needed for killed runs, one by one: the run's supervisor (removing a dead run's
session, again when a late cf call writes it back, and gone at once after a clean run), a terminated module's
clean-up, and the evidence of a module that outlived its ansible-playbook."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _module, _proc, _runtime
from ansible_collections.ttahub.ops.plugins.module_utils._cf.session import create_cf_home, remove_cf_home
from ansible_collections.ttahub.ops.plugins.plugin_utils import _supervisor
from tests.reliability.invariants import wait_for


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(proc.stdout)


def controller() -> subprocess.Popen[bytes]:
    """A stand-in for ansible-playbook that we can kill."""
    return subprocess.Popen(["sleep", "60"])  # pylint: disable=consider-using-with


def _identity(proc: subprocess.Popen[bytes]) -> dict:
    return {"pid": proc.pid, "start": _proc.start_time(proc.pid)}


@contextlib.contextmanager
def supervised(tmp_path, proc, **kw):
    with _supervisor.supervised(registry_dir=str(tmp_path / "runtime"), session_dir=str(tmp_path), audit_log=str(tmp_path / "audit.jsonl"),
                                run_id="r1", cf_timeout=kw.pop("cf_timeout", 4), controller=_identity(proc), **kw) as reg:
        yield reg


def test_the_supervisor_removes_a_dead_runs_session_and_again_when_a_late_cf_call_writes_it_back(tmp_path):
    proc = controller()
    with supervised(tmp_path, proc) as reg:
        session = create_cf_home(str(tmp_path), controller=proc.pid)
    supervisor = reg["supervisor"]
    other = create_cf_home(str(tmp_path), controller=os.getpid())  # another run's session: not ours to remove
    # A cf call of the run, still under way when the controller dies: it writes the session back when it ends.
    late = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2.5)"],  # pylint: disable=consider-using-with
                            env={**os.environ, "CF_HOME": session})
    time.sleep(1.2)
    assert os.path.isdir(session) and _proc.alive(supervisor["pid"], supervisor["start"]), "the controller still runs"
    proc.kill()
    proc.wait()
    assert wait_for(lambda: not os.path.exists(session), 5) is not None
    os.makedirs(os.path.join(session, ".cf"))  # what cf does when a call under way ends: config.json with the token
    with open(os.path.join(session, ".ttahub-ops-session"), "w", encoding="utf-8") as handle:
        handle.write("{}")
    assert wait_for(lambda: not os.path.exists(session), 3) is not None
    late.wait()
    assert wait_for(lambda: not _proc.alive(supervisor["pid"], supervisor["start"]), 8) is not None, "it ends once no cf call can"
    assert os.path.isdir(other)
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records] == ["run_supervisor_cleaned"] and records[0]["sessions_removed"] == 1


def test_after_a_clean_run_the_supervisor_is_gone_at_once(tmp_path):
    proc = controller()
    with supervised(tmp_path, proc) as reg:
        session = create_cf_home(str(tmp_path), controller=proc.pid)
    supervisor = reg["supervisor"]
    time.sleep(1.0)
    assert _proc.alive(supervisor["pid"], supervisor["start"]), "a session of the run is open"
    assert remove_cf_home(session) is True  # the session's normal end
    ended = time.monotonic()
    assert wait_for(lambda: not _proc.alive(supervisor["pid"], supervisor["start"]), 3) is not None
    print(f"supervisor gone {time.monotonic() - ended:.2f} s after the session ended")
    assert not os.path.exists(reg["path"]), "the registry goes with it"
    proc.kill()
    proc.wait()


def test_one_supervisor_per_run_and_none_without_a_controller(tmp_path):
    proc = controller()
    with supervised(tmp_path, proc) as first, supervised(tmp_path, proc) as second:
        assert first["supervisor"] == second["supervisor"] and first["path"] == second["path"]
    with pytest.raises(_supervisor.SupervisorError, match="Failed to find the run's controller"):
        _supervisor.identify(os.getpid())
    proc.kill()
    proc.wait()
    assert wait_for(lambda: not _proc.alive(first["supervisor"]["pid"], first["supervisor"]["start"]), 5) is not None


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
    env = {_runtime.CONTROLLER_PID_ENV: str(os.getpid()), "TTAHUB_OPS_AUDIT_LOG": str(log), "TTAHUB_OPS_RUN_ID": "r1"}
    assert _module.record_if_orphaned([event], env) is False and not log.exists(), "a live controller's callback writes it"
    env[_runtime.CONTROLLER_PID_ENV] = str(dead_pid())
    assert _module.record_if_orphaned([event], env) is True
    record = json.loads(log.read_text().splitlines()[0])
    assert record["event"] == "instance_file_copied" and record["controller_died"] is True and record["run_id"] == "r1"
    assert _audit.verify(str(log)).ok
