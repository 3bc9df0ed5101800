# SPDX-License-Identifier: GPL-3.0-or-later
"""The one process layer: the only file in plugins/ that starts processes, with a timeout that stops a whole group."""

from __future__ import annotations

import ast
import os
import pathlib
import signal
import sys
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _proc

PLUGINS = pathlib.Path(__file__).resolve().parents[4] / "plugins"


def _imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_process_layer_imports_subprocess():
    files = sorted(PLUGINS.rglob("*.py"))
    assert len(files) > 40
    offenders = [str(p.relative_to(PLUGINS)) for p in files if "subprocess" in _imports(p) and p.name != "_proc.py"]
    assert offenders == []
    assert "subprocess" in _imports(PLUGINS / "module_utils" / "_proc.py")


def test_run_returns_output_and_status():
    done = _proc.run([sys.executable, "-c", "import sys; sys.stdout.write('out'); sys.stderr.write('err'); sys.exit(3)"],
                     timeout=30)
    assert (done.rc, done.text("stdout"), done.text("stderr")) == (3, "out", "err")


def test_run_feeds_stdin_and_never_a_shell():
    done = _proc.run(["cat"], input=b"$(echo no) ; x", timeout=30)
    assert done.stdout == b"$(echo no) ; x"
    with pytest.raises(TypeError):
        _proc.run("echo hi", timeout=5)  # type: ignore[arg-type]


def test_timeout_stops_the_whole_group(tmp_path):
    marker = tmp_path / "child.pid"
    script = (f"import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              f"open({str(marker)!r}, 'w').write(str(c.pid)); time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(_proc.TimedOut):
        _proc.run([sys.executable, "-c", script], timeout=1.5)
    assert time.monotonic() - started < 15
    child = int(marker.read_text())
    for _attempt in range(50):
        if not _proc.alive(child):
            break
        time.sleep(0.1)
    assert not _proc.alive(child)


def test_missing_tool_is_none_and_oserror_on_run(tmp_path):
    assert _proc.find_tool("no-such-tool-ttahub") is None
    assert _proc.find_tool("x", str(tmp_path)) is None  # a folder is not an executable file
    assert _proc.find_tool("sh") == _proc.find_tool("sh", _proc.find_tool("sh"))
    with pytest.raises(OSError):
        _proc.run([str(tmp_path / "missing")], timeout=5)


def test_alive_tells_a_reused_pid_and_a_zombie():
    proc = _proc.spawn([sys.executable, "-c", "import time; time.sleep(30)"])
    start = _proc.start_time(proc.pid)
    assert start and _proc.alive(proc.pid, start)
    assert not _proc.alive(proc.pid, str(int(start) + 1))
    os.kill(proc.pid, signal.SIGKILL)
    for _attempt in range(50):
        if _proc.state(proc.pid) == "Z":
            break
        time.sleep(0.05)
    assert not _proc.alive(proc.pid, start)  # a zombie, not yet reaped
    proc.wait()
    assert not _proc.alive(proc.pid)
    assert not _proc.alive("x") and not _proc.alive(0)


def test_stop_group_and_kill_pid_group():
    proc = _proc.spawn([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(30)"])
    time.sleep(0.3)
    assert _proc.stop_group(proc, wait=0.5) is not None
    other = _proc.spawn([sys.executable, "-c", "import time; time.sleep(30)"])
    assert _proc.kill_pid_group(other.pid, _proc.start_time(other.pid), grace=2) in ("stopped", "killed")
    assert _proc.kill_pid_group(other.pid, "1") == "already gone"


def test_ancestors_and_nearest():
    chain = list(_proc.ancestors(os.getpid()))
    assert chain[0] == os.getpid() and chain[1] == os.getppid()
    assert _proc.parent(os.getpid()) == os.getppid()
    assert _proc.nearest(os.getpid(), os.path.basename(_proc.cmdline(os.getpid())[0])) == os.getpid()
    assert _proc.nearest(os.getpid(), "no-such-program") is None
