# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run's supervisor: one detached process per run that owns what must not outlive a killed controller.

PRIVATE to the collection. It can have breaking changes at any time.

The action plugins that start something dangerous (``cf_session``: a cloud.gov token on disk; ``space_ssh_window``:
SSH allowed in a space) call :func:`ensure` on the controller before their module runs. It finds the run's controller
itself (the outermost ``ansible-playbook`` among its ancestors, and the ``ansible-runner`` above it, if any; no
callback needed), and starts the supervisor if the run has none: ``python -m`` this file from the installed
collection, in its own session, which says ``armed`` before the task goes on.

The run is described by a *registry* (``<runtime dir>/ttahub-ops-run-<pid>-<start>.json``, 0600, under a lock): the
controller, the runner, where the run's sessions and leases live, the audit log, the cf timeout, and how many tasks
are still starting something (``pending``). The supervisor reads the sessions (their marker names the controller)
and the SSH window leases (they name it too) from those folders, every :data:`POLL_S` seconds:

- while the controller runs: it closes a window whose deadline passed; when the runner died (a killed ansible-runner
  cannot stop its child), it closes the run's windows and stops the orphaned ansible-playbook with SIGTERM, as the
  runner would have; when nothing of the run is left (no session, no open window, no task starting one), it exits:
  a clean run leaves no process behind.
- when the controller died: it closes the run's open windows (``controller_died``), which stops their tunnels and
  deletes their service keys; then removes the run's sessions, and removes them again while a cf call that was under
  way (a process with that CF_HOME) can still write its token back; records what it did in the audit log; exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import sys
import time
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _proc
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = ["Supervisor", "SupervisorError", "identify", "sessions_of", "supervised", "windows_of"]

POLL_S = 0.5
RETRY_S = 5.0
ARM_TIMEOUT_S = 15.0
REGISTRY_PREFIX = "ttahub-ops-run-"
SESSION_PREFIX = "ttahub-ops-cf-"
SESSION_MARKER = ".ttahub-ops-session"
MODULE = "ansible_collections.ttahub.ops.plugins.plugin_utils._supervisor"


class SupervisorError(OpsError):
    kind = "supervisor_failed"


# ---------------------------------------------------------------------------------------------------------------------
# The controller side: find the run, start its supervisor once, register what the task is about to start


def identify(pid: int | None = None) -> dict[str, t.Any]:
    """The run this process belongs to: its controller and, when ansible-runner runs it, the runner."""
    controller = _proc.outermost(os.getpid() if pid is None else pid)
    if controller is None:
        raise SupervisorError(
            "find the run's controller", "no ansible-playbook (or ansible) process runs this task",
            "Run the procedure with ansible-playbook or ansible-runner", kind="no_controller")
    runner = _proc.nearest(controller, "ansible-runner")
    return {"pid": controller, "start": _proc.start_time(controller),
            "runner_pid": runner, "runner_start": _proc.start_time(runner) if runner else None}


def registry_path(registry_dir: str, controller: t.Mapping[str, t.Any]) -> str:
    return os.path.join(registry_dir, f"{REGISTRY_PREFIX}{controller['pid']}-{controller['start']}.json")


@contextlib.contextmanager
def _locked(path: str) -> t.Iterator[dict[str, t.Any]]:
    """The registry at ``path`` under the lock of its folder; what the block leaves in the dict is written back (an
    empty dict removes the file). The lock file stays: a lock file removed while another process waits on it would
    let the next one lock a new file, and two processes would then change the registry at once."""
    fd = os.open(os.path.join(os.path.dirname(path), ".ttahub-ops-runs.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = _read(path)
        yield data
        if data:
            _write(path, data)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    finally:
        os.close(fd)


@contextlib.contextmanager
def supervised(
    *,
    registry_dir: str,
    session_dir: str | None = None,
    state_dir: str | None = None,
    audit_log: str,
    run_id: str,
    cf_timeout: int,
    controller: t.Mapping[str, t.Any] | None = None,
) -> t.Iterator[dict[str, t.Any]]:
    """While the block runs (a task starting a session or opening a window), the run has a live supervisor that
    watches ``session_dir`` and ``state_dir`` and does not take the run for finished. Yields the registry (with
    ``path``). Raises SupervisorError when it cannot be armed: the task must then not start anything."""
    controller = dict(controller or identify())
    os.makedirs(registry_dir, mode=0o700, exist_ok=True)
    path = registry_path(registry_dir, controller)
    with _locked(path) as reg:
        if not reg:
            reg.update(controller=controller, session_dirs=[], state_dirs=[], pending=0, supervisor={})
        for key, value in (("session_dirs", session_dir), ("state_dirs", state_dir)):
            if value and os.path.abspath(value) not in reg[key]:
                reg[key].append(os.path.abspath(value))
        reg.update(audit_log=audit_log, run_id=run_id, cf_timeout=max(int(cf_timeout), int(reg.get("cf_timeout") or 0)))
        reg["pending"] = int(reg.get("pending") or 0) + 1
        sup = reg.get("supervisor") or {}
        if not _proc.alive(sup.get("pid"), sup.get("start")):
            reg["supervisor"] = _spawn(path, reg)
        found = {**reg, "path": path}
    try:
        yield found
    finally:
        with _locked(path) as data:
            if data:
                data["pending"] = max(0, int(data.get("pending") or 0) - 1)


def _write(path: str, data: t.Mapping[str, t.Any]) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def _read(path: str) -> dict[str, t.Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _spawn(path: str, reg: dict[str, t.Any]) -> dict[str, t.Any]:
    """Start the supervisor of the registry at ``path`` (the caller holds its lock) and wait until it is armed."""
    _write(path, reg)  # it reads the registry (without the lock) before it says it is armed
    root = os.path.abspath(__file__)
    for _level in range(5):  # .../<root>/ansible_collections/ttahub/ops/plugins/plugin_utils/_supervisor.py
        root = os.path.dirname(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PYTHONPATH"] = os.path.dirname(root)
    proc = _proc.spawn([sys.executable, "-m", MODULE, "supervise", path], stderr=_proc.DEVNULL, env=env)
    try:
        line = _proc.read_line(proc.stdout.fileno(), ARM_TIMEOUT_S) if proc.stdout else ""
    finally:
        if proc.stdout:
            proc.stdout.close()
    if not line.startswith("armed "):
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()
        raise SupervisorError("arm the run's supervisor",
                              f"it did not start ({line.strip() or f'no answer within {ARM_TIMEOUT_S:g} s'})",
                              "Nothing was started; check that the controller's Python can run in the background",
                              kind="watchdog_failed")
    return {"pid": proc.pid, "start": _proc.start_time(proc.pid)}


# ---------------------------------------------------------------------------------------------------------------------
# What the run has: sessions and windows


def _same(record: t.Mapping[str, t.Any], controller: t.Mapping[str, t.Any], pid_key: str, start_key: str) -> bool:
    return str(record.get(pid_key)) == str(controller["pid"]) and str(record.get(start_key) or "") == str(controller.get("start") or "")


def sessions_of(session_dirs: t.Iterable[str], controller: t.Mapping[str, t.Any]) -> list[str]:
    """The per-run CF_HOMEs (``_cf.session.create_cf_home``) whose marker names this controller."""
    found = []
    for folder in session_dirs:
        with contextlib.suppress(OSError):
            for name in os.listdir(folder):
                if not name.startswith(SESSION_PREFIX):
                    continue
                try:
                    with open(os.path.join(folder, name, SESSION_MARKER), encoding="utf-8") as handle:
                        marker = json.load(handle)
                except (OSError, ValueError):
                    continue
                if isinstance(marker, dict) and _same(marker, controller, "controller_pid", "controller_start"):
                    found.append(os.path.join(folder, name))
    return sorted(found)


def windows_of(state_dirs: t.Iterable[str], controller: t.Mapping[str, t.Any]) -> list[tuple[str, str, dict[str, t.Any]]]:
    """(state_dir, lease path, lease) of the run's windows that are opening or open."""
    found = []
    for state_dir in state_dirs:
        with contextlib.suppress(OSError):
            for path, lease in sw.leases(state_dir):
                if lease.get("state") in ("opening", "open") and _same(lease, controller, "controller_pid", "controller_start"):
                    found.append((state_dir, path, lease))
    return found


def _remove_session(path: str) -> bool:
    if os.path.isfile(os.path.join(path, SESSION_MARKER)):
        shutil.rmtree(path, ignore_errors=True)
    return not os.path.exists(path)


# ---------------------------------------------------------------------------------------------------------------------
# The supervisor


class Supervisor:
    """One run's supervisor (see the module's docstring). ``step`` is one look at the run; ``run`` loops."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.failures: dict[str, int] = {}
        self.next_try: dict[str, float] = {}
        self.removed: list[str] = []
        self.closed: list[str] = []

    def registry(self) -> dict[str, t.Any]:
        with _locked(self.path) as reg:
            return dict(reg)

    def close(self, state_dir: str, path: str, lease: dict[str, t.Any], reason: str) -> bool:
        """Close one window (the one way: ``_ssh_window.close_window``); a failure is recorded once and retried."""
        if time.monotonic() < self.next_try.get(path, 0):
            return False
        try:
            done = sw.close_window(state_dir, path, reason=reason, by="watchdog", write_audit=True,
                                   remove_session=reason == "controller_died")
        except OpsError as err:
            count = self.failures[path] = self.failures.get(path, 0) + 1
            self.next_try[path] = time.monotonic() + RETRY_S
            if count == 1 or count % 120 == 0:
                for event in err.events or [{"event": "ssh_window_close_failed", "space": lease.get("space"), "error": err.message}]:
                    sw.append_event(lease, dict(event, closed_by="watchdog", attempt=count,
                                                escalation="SSH may still be allowed: " + err.message))
            return False
        if done.get("changed"):
            self.closed.append(str(lease.get("window_id")))
        return True

    def step(self, now: float | None = None) -> bool:
        """One look at the run. Returns False when the supervisor's work is done."""
        reg = self.registry()
        if not reg:
            return False
        controller = reg["controller"]
        alive = _proc.alive(controller["pid"], controller.get("start"))
        runner_dead = bool(controller.get("runner_pid")) and not _proc.alive(controller["runner_pid"], controller.get("runner_start"))
        windows = windows_of(reg["state_dirs"], controller)
        now = time.time() if now is None else now
        for state_dir, path, lease in windows:
            if not alive:
                self.close(state_dir, path, lease, "controller_died")
            elif runner_dead:
                self.close(state_dir, path, lease, "supervisor_died")
            elif now >= float(lease.get("deadline_epoch") or 0):
                self.close(state_dir, path, lease, "deadline_passed")
        if alive and runner_dead:
            # A killed ansible-runner cannot stop its child; stop the orphan as the runner would have (SIGTERM).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(controller["pid"]), signal.SIGTERM)
        sessions = sessions_of(reg["session_dirs"], controller)
        if alive:
            return bool(sessions or windows or int(reg.get("pending") or 0))
        return self.end_dead_run(reg, controller)

    def end_dead_run(self, reg: dict[str, t.Any], controller: t.Mapping[str, t.Any]) -> bool:
        """The controller died: once its windows are closed (they need the session's token), remove its sessions."""
        if windows_of(reg["state_dirs"], controller):
            return True
        for session in sessions_of(reg["session_dirs"], controller):
            if _remove_session(session) and session not in self.removed:
                self.removed.append(session)
        return False

    def linger(self, timeout: float) -> None:
        """A cf call that was under way when the controller died ends within its timeout and writes the session's
        config (its token) back: remove it again while any process still runs with that CF_HOME."""
        deadline = time.monotonic() + timeout
        while self.removed and time.monotonic() < deadline:
            users = _proc.uses_env("CF_HOME", self.removed)
            for session in self.removed:
                if os.path.exists(session):
                    _remove_session(session)
            if not users:
                break
            time.sleep(POLL_S)

    def run(self, poll: float = POLL_S) -> int:
        reg = self.registry()
        errors = 0
        while True:
            try:
                if not self.step() and self.finish():
                    return 0
            except Exception as err:  # pylint: disable=broad-exception-caught  # it must keep watching whatever happens
                errors += 1
                if errors == 1:
                    self.record("run_supervisor_error", reg, error=f"{type(err).__name__}: {err}")
            time.sleep(poll)

    def finish(self) -> bool:
        """The run is over (clean) or cleaned up (dead): remove the registry unless a task registered meanwhile."""
        reg = self.registry()
        if not reg:
            return True
        controller = reg["controller"]
        if not _proc.alive(controller["pid"], controller.get("start")):
            self.linger(int(reg.get("cf_timeout") or 60) + 5)
            if self.removed:  # the windows it closed have their own records (ssh_window_closed)
                self.record("run_supervisor_cleaned", reg, reason="controller_died", controller_died=True,
                            sessions_removed=len(self.removed), windows_closed=self.closed)
            with _locked(self.path) as data:
                data.clear()
            return True
        with _locked(self.path) as data:
            # Under the lock: a task that registers after this sees no registry and arms a new supervisor.
            if int(data.get("pending") or 0) or sessions_of(data.get("session_dirs", []), controller) or \
                    windows_of(data.get("state_dirs", []), controller):
                return False
            data.clear()
        return True

    def record(self, event: str, reg: t.Mapping[str, t.Any], **fields: t.Any) -> None:
        if not reg.get("audit_log"):
            return
        with contextlib.suppress(OpsError, ValueError, TypeError, OSError):
            _audit.append_record(reg["audit_log"], event, reg.get("run_id") or "unknown",
                                 controller_pid=reg["controller"]["pid"], **fields)


def main(argv: t.Sequence[str]) -> int:
    """``supervise REGISTRY``: say ``armed PID``, leave the terminal and the pipes, and supervise."""
    if len(argv) != 2 or argv[0] != "supervise":
        sys.stderr.write("usage: python -m " + MODULE + " supervise REGISTRY\n")
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    supervisor = Supervisor(argv[1])
    if not _read(argv[1]):  # not registry(): the process that starts us holds the lock until we are armed
        sys.stdout.write("no registry\n")
        return 2
    sys.stdout.write(f"armed {os.getpid()}\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.dup2(devnull, fd)
    os.close(devnull)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
