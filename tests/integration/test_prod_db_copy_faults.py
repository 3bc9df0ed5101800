# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The production data copy when things go wrong: a failure of each cf call, the tunnel dying, pg_dump failing or too
old, the approval denied, and ansible-playbook interrupted (SIGINT), terminated (SIGTERM) or killed (SIGKILL) during
the dump. In every case space SSH ends disallowed (after a kill, by the watchdog within 10 s), no SERVICE_CONNECT key
is left, no plaintext of the data is on disk, and the outcome is in a verified audit log."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from rehearsal import calllog, faults
from tests.support.prod_db_copy import (
    REPO,
    CopyRehearsal,
    assert_closed_and_clean,
    audit,
    copy_files,
    events,
    wait_for,
    wipe_copies,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of forkpty:DeprecationWarning"),
]
ESCALATION = "Contact the Product Owner (Paula Oduya, paula.oduya@rehearsal.invalid) and the Government Technical Monitor (Gideon Tamm"
REAL_PG = pathlib.Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    r = CopyRehearsal(tmp_path_factory.mktemp("db-copy-faults"))
    yield r
    r.close()


@pytest.fixture
def r(rehearsal, tmp_path):
    rehearsal.reset()
    yield rehearsal
    wipe_copies(tmp_path)


def pg_bin(tmp: pathlib.Path, pg_dump: str) -> pathlib.Path:
    """A pg_bin_dir whose pg_dump is the given shell script (REAL is the real pg_dump) and whose psql is the real one."""
    folder = tmp / "pgbin"
    folder.mkdir()
    real = shutil.which("pg_dump", path=str(REAL_PG)) or shutil.which("pg_dump")
    (folder / "pg_dump").write_text(f"#!/bin/sh\nREAL={real}\n{pg_dump}\n")
    (folder / "pg_dump").chmod(0o755)
    (folder / "psql").symlink_to(shutil.which("psql", path=str(REAL_PG)) or shutil.which("psql"))
    return folder


def with_pg_bin(folder: pathlib.Path) -> list[str]:
    # the playbook passes db_copy's options through; pg_bin_dir is set with module_defaults-free -e on the task
    return ["-e", json.dumps({"db_copy_pg_bin_dir": str(folder)})]


def failed_run(r, tmp, proc, *, escalated=True):
    assert proc.returncode != 0, proc.stdout[-3000:]
    if escalated:
        assert ESCALATION in proc.stdout, proc.stdout[-3000:]
    assert_closed_and_clean(r, tmp)
    assert copy_files(tmp) == [], "a failed copy keeps nothing"
    assert [e["outcome"] for e in events(tmp, "run_end")] == ["failed"]


# --- a failure of each cf call -------------------------------------------------------------------------------------------

CF_FAULTS = [
    pytest.param("target", None, False, id="cf-target"),
    pytest.param("app", None, True, id="cf-app"),
    pytest.param("space-ssh-allowed", 1, True, id="cf-space-ssh-allowed"),
    pytest.param("allow-space-ssh", None, True, id="cf-allow-space-ssh"),
    pytest.param("connect-to-service", None, True, id="cf-connect-to-service"),
    pytest.param("delete-service-key", None, True, id="cf-delete-service-key"),
    pytest.param("service-key", None, True, id="cf-service-key"),
]


@pytest.mark.parametrize(("command", "nth", "escalated"), CF_FAULTS)
def test_a_failing_cf_call_closes_everything(r, tmp_path, command, nth, escalated):
    before = len(calllog.read(r.home))
    faults.inject(r.home, match=command, action="fail", nth=nth, times=1)
    proc = r.copy(tmp_path)
    failed_run(r, tmp_path, proc, escalated=escalated)
    fired = [c for c in calllog.read(r.home)[before:] if c.get("fault")]
    assert len(fired) == 1, "the fault fired once"
    if command not in ("target", "app", "space-ssh-allowed"):
        assert events(tmp_path, "ssh_window_closed"), "the window was opened, so it was closed"
    if command in ("connect-to-service", "delete-service-key", "service-key"):
        assert events(tmp_path, "data_copy_failed")


def test_disallow_failing_once_is_retried_by_the_rescue(r, tmp_path):
    faults.inject(r.home, match="disallow-space-ssh", action="fail", times=1)
    proc = r.copy(tmp_path)
    assert proc.returncode != 0 and ESCALATION in proc.stdout
    assert_closed_and_clean(r, tmp_path)
    assert events(tmp_path, "ssh_window_close_failed")
    # the copy itself was complete and encrypted: it is kept (with its deadline) and the guard reports it
    assert json.loads(next((tmp_path / "state" / "copies").glob("*.json")).read_text())["state"] == "encrypted"


def test_disallow_failing_until_the_api_is_back_is_closed_by_the_watchdog(r, tmp_path):
    faults.inject(r.home, match="disallow-space-ssh", action="fail", times=None)
    proc = r.copy(tmp_path)
    assert proc.returncode != 0 and "cf space-ssh-allowed still says SSH is enabled" in proc.stdout
    assert r.space_ssh_allowed(), "cloud.gov refuses to disallow"
    faults.clear(r.home)
    seconds = wait_for(lambda: not r.space_ssh_allowed(), timeout=15)
    assert seconds is not None, "the watchdog kept trying and closed it"
    assert_closed_and_clean(r, tmp_path)
    closers = [e["closed_by"] for e in events(tmp_path, "ssh_window_closed")]
    assert closers == ["watchdog"]


# --- the tunnel and pg_dump ------------------------------------------------------------------------------------------------

def attachment(tmp: pathlib.Path, name: str, timeout: float = 30) -> dict | None:
    found: list[dict] = []

    def look() -> bool:
        for _, lease in sw.leases(str(tmp / "state")):
            found[:] = [a for a in lease.get("attachments") or [] if a.get("name") == name or a.get("kind") == name]
            if found:
                return True
        return False

    return found[0] if wait_for(look, timeout=timeout, step=0.05) is not None else None


def start_copy(r, tmp, *extra):
    approvals = r.sign(tmp)
    argv = r.playbook_argv("prod_db_copy", tmp, "-e", "reason=INC-42", "-e", f"ops_approvals_dir={approvals}",
                           "-e", "db_copy_progress_every=1", *extra)
    return subprocess.Popen(argv, cwd=REPO, env=r.run_env(tmp), text=True, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def test_the_tunnel_dying_during_the_dump(r, tmp_path):
    folder = pg_bin(tmp_path, 'case "$1" in --version) exec "$REAL" "$@";; esac\nsleep 3\nexec "$REAL" "$@"')
    proc = start_copy(r, tmp_path, *with_pg_bin(folder))
    tunnel = attachment(tmp_path, "tunnel")
    assert tunnel is not None and attachment(tmp_path, "pg_dump") is not None
    os.kill(tunnel["pid"], signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    failed_run(r, tmp_path, subprocess.CompletedProcess(proc.args, proc.returncode, out, ""))
    failure = events(tmp_path, "data_copy_failed")[0]
    assert "pg_dump exited" in failure["error"]


def test_pg_dump_failing(r, tmp_path):
    folder = pg_bin(tmp_path, 'case "$1" in --version) exec "$REAL" "$@";; esac\n'
                              'echo "pg_dump: error: query failed: ERROR:  permission denied for table Grants" >&2\nexit 1')
    proc = r.copy(tmp_path, *with_pg_bin(folder))
    failed_run(r, tmp_path, proc)
    assert "permission denied for table Grants" in events(tmp_path, "data_copy_failed")[0]["error"]


def test_an_older_pg_dump_is_refused_with_what_to_install(r, tmp_path):
    folder = pg_bin(tmp_path, 'case "$1" in --version) echo "pg_dump (PostgreSQL) 9.6.24"; exit 0;; esac\nexit 3')
    proc = r.copy(tmp_path, *with_pg_bin(folder))
    failed_run(r, tmp_path, proc)
    assert "the local pg_dump is version 9 but the server is PostgreSQL 15" in proc.stdout
    assert "apt-get install postgresql-client-15" in proc.stdout


# --- the approval denied -----------------------------------------------------------------------------------------------

def test_a_denied_approval_opens_nothing(r, tmp_path):
    import pexpect  # pylint: disable=import-outside-toplevel

    argv = r.playbook_argv("prod_db_copy", tmp_path, "-e", "reason=INC-42")
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(REPO), env=r.run_env(tmp_path), encoding="utf-8", timeout=60,
                          dimensions=(50, 200))
    child.expect(r"\[1/3\] Product Owner: type your roster id")
    time.sleep(0.3)
    child.sendline("deny not during this incident")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus != 0
    assert [e["reason"] for e in events(tmp_path, "approval_denied")] == ["not during this incident"]
    assert not events(tmp_path, "ssh_window_opened")
    assert_closed_and_clean(r, tmp_path)
    assert [e["outcome"] for e in events(tmp_path, "run_end")] == ["failed"]


# --- ansible-playbook interrupted, terminated or killed during the dump ----------------------------------------------------

SLOW_DUMP = ('case "$1" in --version) exec "$REAL" "$@";; esac\n'
             '"$REAL" "$@" | python3 -c "import sys, time\n'
             'while True:\n'
             '    b = sys.stdin.buffer.read(1024)\n'
             '    if not b: break\n'
             '    sys.stdout.buffer.write(b); sys.stdout.buffer.flush(); time.sleep(0.2)"')


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_ansible_playbook_stopped_during_the_dump(r, tmp_path, signum):
    folder = pg_bin(tmp_path, SLOW_DUMP)
    proc = start_copy(r, tmp_path, *with_pg_bin(folder))
    assert attachment(tmp_path, "pg_dump") is not None, "the dump started"
    time.sleep(1.5)
    assert r.space_ssh_allowed() and r.service_keys() == ["SERVICE_CONNECT"], "the window and the tunnel are open"
    lease = next(lease for _, lease in sw.leases(str(tmp_path / "state")))
    partial = next(a["path"] for a in lease["attachments"] if a["kind"] == "path" and a["path"].endswith(".partial"))
    assert os.path.exists(partial)
    stopped = time.monotonic()
    os.kill(proc.pid, signum)
    proc.communicate(timeout=60)
    result = assert_closed_and_clean(r, tmp_path, within=10)
    seconds = time.monotonic() - stopped
    print(f"{signal.Signals(signum).name}: SSH disallowed, key deleted, files removed {seconds:.2f} s after the signal")
    assert seconds < 12 and result["seconds_to_clean"] is not None
    assert not os.path.exists(partial) and copy_files(tmp_path) == []
    closed = events(tmp_path, "ssh_window_closed")
    assert len(closed) == 1 and closed[0]["closed_by"] == "watchdog" and closed[0]["reason"] == "controller_died"
    assert closed[0]["ssh_allowed_after"] is False and closed[0]["opened_at"] < closed[0]["closed_at"]
    assert any("SERVICE_CONNECT of ttahub-prod: deleted" in line for line in closed[0]["cleanup"]), closed[0]["cleanup"]
    assert closed[0].get("session_removed") is True, "the dead run's cf session (a token) is removed"
    outcome = [e["outcome"] for e in events(tmp_path, "run_end")]
    expected = {signal.SIGINT: ["aborted"], signal.SIGTERM: ["terminated"], signal.SIGKILL: []}[signum]
    assert outcome == expected, "the callback records SIGINT and SIGTERM; SIGKILL leaves no run_end"
    assert audit(tmp_path)[-1]["event"] in ("ssh_window_closed", "run_end")
