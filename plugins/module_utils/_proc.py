# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The only process layer of the collection: finding a tool, running one with a timeout, starting one that keeps
running, stopping a process group, and reading /proc (liveness with pid reuse, parents, command lines).

Why not ``AnsibleModule.run_command``: it has no timeout, it cannot stop a process group (cf starts plugins and ssh;
a hung one must go with its children), and this layer also serves action plugins and the supervisor, which have no
AnsibleModule. Argv lists only, never a shell; secrets only in the environment or on stdin. Errors are the caller's
to word: :class:`TimedOut` and ``OSError`` carry what happened, the caller raises its own ``OpsError``.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import typing as t

__all__ = [
    "Completed",
    "TimedOut",
    "alive",
    "ancestors",
    "cmdline",
    "find_tool",
    "kill_pid_group",
    "nearest",
    "outermost",
    "read_line",
    "uses_env",
    "parent",
    "reap",
    "run",
    "spawn",
    "start_time",
    "state",
    "stop_group",
]

DEVNULL = subprocess.DEVNULL
PIPE = subprocess.PIPE
Popen = subprocess.Popen


class TimedOut(Exception):
    """The tool did not finish within ``timeout`` seconds; it was stopped with its process group."""

    def __init__(self, cmd: list[str], timeout: float) -> None:
        super().__init__(f"{cmd[0]} did not finish within {timeout:g} s")
        self.cmd, self.timeout = cmd, timeout


class Completed(t.NamedTuple):
    cmd: list[str]
    rc: int
    stdout: bytes
    stderr: bytes

    def text(self, stream: str = "stdout") -> str:
        return getattr(self, stream).decode("utf-8", "replace")


def find_tool(name: str, override: str | None = None, *, path: str | None = None) -> str | None:
    """``override`` when it is an executable file, else ``name`` on ``path`` (default: PATH); None when neither. The
    caller words the error (which package to install differs per tool)."""
    if override:
        candidate = os.path.expanduser(override)
        return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None
    return shutil.which(name) if path is None else shutil.which(name, path=path)


def _check_argv(argv: t.Sequence[str]) -> list[str]:
    if isinstance(argv, (str, bytes)) or not argv or not all(isinstance(arg, str) for arg in argv):
        raise TypeError("a command is a non-empty list of strings")
    return list(argv)


def spawn(
    argv: t.Sequence[str],
    *,
    env: t.Mapping[str, str] | None = None,
    stdin: t.Any = DEVNULL,
    stdout: t.Any = PIPE,
    stderr: t.Any = PIPE,
    cwd: str | None = "/",
    detach: bool = True,
    **kwargs: t.Any,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` and return at once. ``detach`` puts it in its own session and process group, so that
    :func:`stop_group` stops it with everything it starts, and a terminal's Ctrl-C does not reach it directly."""
    return subprocess.Popen(  # pylint: disable=ansible-bad-function,consider-using-with
        _check_argv(argv),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=detach,
        **kwargs,
    )


def run(
    argv: t.Sequence[str],
    *,
    timeout: float,
    env: t.Mapping[str, str] | None = None,
    input: bytes | None = None,  # pylint: disable=redefined-builtin
    cwd: str | None = "/",
    detach: bool = True,
) -> Completed:
    """Run ``argv`` to its end, by default in its own process group. On timeout it is stopped (its group: SIGTERM,
    then SIGKILL) and :class:`TimedOut` is raised; ``OSError`` when it cannot start."""
    proc = spawn(argv, env=env, stdin=PIPE if input is not None else DEVNULL, cwd=cwd, detach=detach)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        if detach:
            stop_group(proc, (signal.SIGTERM, signal.SIGKILL))
        else:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
            proc.communicate(timeout=1)
        raise TimedOut(list(argv), timeout) from None
    return Completed(list(argv), proc.returncode, out or b"", err or b"")


def stop_group(
    proc: subprocess.Popen[bytes],
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL),
    wait: float = 3.0,
) -> int | None:
    """End a process started by :func:`spawn` and everything it started: each signal in turn to its process group
    (SIGINT first, as Ctrl-C would), waiting ``wait`` seconds for it to exit; then SIGKILL to whatever the group left
    behind (ssh, a cf plugin). Returns its exit status."""
    for sig in signals:
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.poll()


def kill_pid_group(pid: int, start: str | None, *, grace: float = 3.0) -> str:
    """Stop a process that is not our child (a tunnel or pg_dump a dead module left): SIGTERM to its process group
    when it leads one (else to it), SIGKILL after ``grace`` seconds. ``start`` guards against a reused pid."""
    if not alive(pid, start):
        return "already gone"
    try:
        pgid = os.getpgid(pid)
    except OSError:
        pgid = None

    def send(sig: int) -> None:
        with contextlib.suppress(OSError):
            if pgid is not None and pgid == pid and pgid != os.getpgid(0):
                os.killpg(pgid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        reap(pid)
        if not alive(pid, start):
            return "stopped"
        time.sleep(0.05)
    send(signal.SIGKILL)
    for _attempt in range(40):
        reap(pid)
        if not alive(pid, start):
            return "killed"
        time.sleep(0.05)
    return "could not be killed"


def reap(pid: int) -> None:
    """Collect ``pid`` if it is our own exited child (so that it does not stay a zombie)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


# ---------------------------------------------------------------------------------------------------------------------
# /proc


def _stat(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` after the command name (which may hold spaces and parentheses): field 3 onwards."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", "replace")
    except (OSError, ValueError):
        return None
    return raw[raw.rfind(")") + 2:].split()


def state(pid: int) -> str | None:
    """The process state letter (R, S, Z...), or None when there is no such process."""
    fields = _stat(pid)
    return fields[0] if fields else None


def parent(pid: int) -> int | None:
    fields = _stat(pid)
    try:
        return int(fields[1]) if fields else None
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (field 22): with the pid, it names one process."""
    fields = _stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except (OSError, ValueError):
        return []


def alive(pid: t.Any, start: t.Any = None) -> bool:
    """Whether ``pid`` runs and, when ``start`` is given and /proc is there, is the same process (not a reused pid).
    A zombie (killed, not yet reaped by its parent) counts as dead."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if os.path.isdir("/proc/self"):
        if state(pid) in (None, "Z", "X"):
            return False
        if start not in (None, "") and start_time(pid) != str(start):
            return False
    return True


def ancestors(pid: int) -> t.Iterator[int]:
    """``pid``, its parent, and so on up to (not including) init."""
    seen: set[int] = set()
    current: int | None = pid
    while current is not None and current > 1 and current not in seen:
        seen.add(current)
        yield current
        current = parent(current)


def _runs(pid: int, programs: tuple[str, ...]) -> bool:
    return any(os.path.basename(arg) in programs for arg in cmdline(pid)[:2])


def outermost(pid: int, programs: tuple[str, ...] = ("ansible-playbook", "ansible")) -> int | None:
    """The run's controller among ``pid``'s ancestors: the outermost of the first chain of processes running one of
    ``programs``. Ansible's workers are forks of ansible-playbook with the same command line, so the nearest one is
    the worker of this task (gone when the task ends); the main process is the last of the chain."""
    found = None
    for candidate in ancestors(pid):
        if _runs(candidate, programs):
            found = candidate
        elif found is not None:
            break
    return found


def uses_env(name: str, values: t.Collection[str]) -> list[int]:
    """The processes (of this user) whose environment sets ``name`` to one of ``values``: e.g. the cf calls still
    running with a session's CF_HOME."""
    wanted = {f"{name}={value}".encode() for value in values}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if wanted & set(handle.read().split(b"\0")):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def read_line(fd: int, timeout: float) -> str:
    """One line from ``fd`` (a child's stdout), or what came before ``timeout`` seconds passed or the pipe closed."""
    import selectors  # pylint: disable=import-outside-toplevel

    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data.decode("utf-8", "replace")


def nearest(pid: int, program: str) -> int | None:
    """The nearest of ``pid``'s ancestors (itself included) whose program (argv[0], or argv[1] for an interpreter
    running a script) is named ``program``, e.g. ``ansible-playbook`` or ``ansible-runner``."""
    for candidate in ancestors(pid):
        if any(os.path.basename(arg) == program for arg in cmdline(candidate)[:2]):
            return candidate
    return None
