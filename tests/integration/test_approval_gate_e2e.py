# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The approval gate end to end, against the rehearsal inventory and its personas:

* typed approvals through a real pty, driven with pexpect as a person types (and Ctrl-C);
* signed approvals: approval_request.yml writes the intent, the personas sign it with their own keys
  (``python -m rehearsal.personas --sign``), the run verifies it under real ansible-runner, once;
* no terminal and no proofs: ansible-playbook with stdin not a terminal, and ansible-runner (a pty whose input
  never comes), both end failed within seconds with the message that says what to do;
* the production inventory refuses until its roster is complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
RUNNER_VARS = ("CI", "AWX_ISOLATED_DATA_DIR", "RUNNER_OMIT_EVENTS", "RUNNER_ONLY_FAILED_EVENTS", "ANSIBLE_STDOUT_CALLBACK",
               "ANSIBLE_CALLBACK_PLUGINS", "TTAHUB_OPS_OPERATOR", "TTAHUB_OPS_RUN_ID", "ANSIBLE_CONFIG")

PLAY = """\
- name: Rehearse a gated procedure
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Obtain the approvals
      ansible.builtin.include_role:
        name: ttahub.ops.approvals
      vars:
        approvals_sop: "{{ sop }}"
    - name: Do the procedure's first step
      ansible.builtin.copy:
        dest: "{{ marker }}"
        content: "{{ approvals_gate.approvers | map(attribute='id') | join(',') }}\\n"
        mode: "0644"
"""

pytestmark = [
    pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen (OpenSSH)"),
    # pexpect and ansible-runner fork a pty from a process that pytest-xdist made multi-threaded; the child execs at once.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of forkpty:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def rehearsal_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("rehearsal-home")
    subprocess.run([sys.executable, "-m", "rehearsal.personas", "--home", str(home)], cwd=REPO, check=True,
                   capture_output=True)
    return home


@pytest.fixture
def world(rehearsal_home, tmp_path):
    """Paths and environment of one run: its own state dir, audit log, marker file and playbook."""
    env = {k: v for k, v in os.environ.items() if k not in RUNNER_VARS}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        REHEARSAL_HOME=str(rehearsal_home),
        TTAHUB_OPS_AUDIT_LOG=str(tmp_path / "audit.jsonl"),
        ANSIBLE_NOCOLOR="1",
    )
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    yield {"env": env, "play": play, "marker": tmp_path / "marker", "state": tmp_path / "state", "tmp": tmp_path,
           "audit": tmp_path / "audit.jsonl", "home": rehearsal_home}
    _stop_leftovers(tmp_path)


def _stop_leftovers(tmp_path):
    """A failed test can leave its ansible-playbook waiting on a prompt (it ignores SIGHUP): stop the processes this
    test started, recognised by its own tmp path on their command line."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if str(tmp_path) in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGTERM)
            except OSError:
                pass


def extra(world, sop, *more):
    args = ["-e", f"sop={sop}", "-e", f"marker={world['marker']}", "-e", f"ops_state_dir={world['state']}"]
    for item in more:
        args += ["-e", item]
    return args


def audit(world):
    if not world["audit"].exists():
        return []
    return [json.loads(line) for line in world["audit"].read_text().splitlines() if line.strip()]


def playbook(world, *args, inventory="inventories/rehearsal", timeout=60):
    return subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", inventory, *args], cwd=REPO, env=world["env"], text=True,
        stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
    )


# ---------------------------------------------------------------------------------------------
# Typed, through a real terminal


class Person:
    """Types at the pty the way a person does: waits for the prompt (the terminal switched to raw mode), then
    types the answer and Enter."""

    def __init__(self, world, sop):
        import pexpect

        self.child = pexpect.spawn(
            str(VENV_BIN / "ansible-playbook"),
            ["-i", "inventories/rehearsal", str(world["play"]), *extra(world, sop)],
            cwd=str(REPO), env=world["env"], encoding="utf-8", timeout=30, dimensions=(50, 200),
        )
        self.code = ""

    def expect(self, pattern):
        self.child.expect(pattern)
        return self.child.match

    def type(self, text):
        deadline = time.monotonic() + 10
        while termios.tcgetattr(self.child.child_fd)[3] & termios.ICANON:
            assert time.monotonic() < deadline, "the prompt never took the terminal"
            time.sleep(0.01)
        time.sleep(0.05)  # the prompt flushes pending input right after it takes the terminal
        self.child.send(text + "\r")

    def answer(self, prompt, text):
        self.expect(prompt)
        self.type(text)

    def finish(self):
        import pexpect

        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus


def test_typed_release_at_a_terminal(world):
    person = Person(world, "release_deploy")
    person.code = person.expect(r"intent code  (\w{3}-\w{3})").group(1)
    person.answer(r"\[1/2\] Product Owner: type your roster id", "mallory")
    person.expect(r"refused: 'mallory' is not a roster id")
    person.type("paula")
    person.answer(r"Paula Oduya: type the intent code shown above to approve", "ZZZ-ZZZ")
    person.expect(r"refused: 'ZZZ-ZZZ' is not the intent code of this run")
    person.type(person.code.lower())
    person.answer(r"\[2/2\] Government Technical Monitor: type your roster id", "paula")
    person.expect(r"refused: Paula Oduya \(paula\) already approved as the Product Owner")
    person.type("vera")
    person.expect(r"refused: Vera Lindqvist \(vera\), Vendor Technical Lead, may stand in for the Government Technical "
                  r"Monitor only while no one holds that role")
    person.type("gideon")
    person.answer(r"Gideon Tamm: type the intent code", person.code)
    assert person.finish() == 0
    assert world["marker"].read_text() == "paula,gideon\n"
    records = audit(world)
    granted = [(r["approver"], r["role"], r["method"]) for r in records if r["event"] == "approval_granted"]
    assert granted == [("paula", "product_owner", "typed"), ("gideon", "government_technical_monitor", "typed")]
    assert [r["reason"] for r in records if r["event"] == "approval_refused"] == [
        "unknown_approver", "wrong_code", "already_counted", "substitution_not_allowed"]


def test_ctrl_c_at_the_prompt_aborts_with_nothing_done(world):
    person = Person(world, "prod_db_copy")
    person.expect(r"\[1/3\] Product Owner: type your roster id")
    person.type("\x03")
    person.expect(r"interrupted \(Ctrl-C\) at the approval prompt\. Nothing was done")
    assert person.finish() != 0
    assert not world["marker"].exists()
    assert [r["reason"] for r in audit(world) if r["event"] == "approval_gate_failed"] == ["interrupted"]


# ---------------------------------------------------------------------------------------------
# Signed, non-interactive, under ansible-runner


def request_and_sign(world, sop, signers, *more):
    folder = world["tmp"] / "approvals"
    proc = playbook(world, "playbooks/approval_request.yml", "-e", f"sop={sop}", "-e", f"approval_dir={folder}",
                    *[a for m in more for a in ("-e", m)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"mv {folder}/intent.json.sig {folder}/gideon.sig" in proc.stdout
    signed = subprocess.run(
        [sys.executable, "-m", "rehearsal.personas", "--home", str(world["home"]), "--sign", str(folder),
         *[a for s in signers for a in ("--persona", s)]],
        cwd=REPO, env=world["env"], capture_output=True, text=True, check=True,
    )
    assert signed.stdout.count("signed ") == len(signers)
    return folder


def runner(world, sop, extravars):
    import ansible_runner

    private = world["tmp"] / "runner"
    private.mkdir(exist_ok=True)
    start = time.monotonic()
    result = ansible_runner.run(
        private_data_dir=str(private), project_dir=str(REPO), playbook=str(world["play"]),
        inventory=str(REPO / "inventories/rehearsal"),
        extravars={"sop": sop, "marker": str(world["marker"]), "ops_state_dir": str(world["state"]), **extravars},
        envvars={k: world["env"][k] for k in ("ANSIBLE_CONFIG", "REHEARSAL_HOME", "TTAHUB_OPS_AUDIT_LOG", "PATH")},
        quiet=True, timeout=60,
    )
    elapsed = time.monotonic() - start
    stdout = result.stdout.read()
    return result, stdout, elapsed


def test_signed_scp_retrieve_under_ansible_runner_works_once(world):
    params = ["remote_path=/home/vcap/app/logs/app.log", "dest=/tmp/app.log", "instance=1"]
    folder = request_and_sign(world, "scp_retrieve", ["paula", "gideon", "vera"], *params)
    intent = json.loads((folder / "intent.json").read_text())
    assert intent["policy"] == "prod_ssh_access" and intent["parameters"]["instance"] == 1

    extravars = {"ops_approvals_dir": str(folder), "remote_path": "/home/vcap/app/logs/app.log", "dest": "/tmp/app.log",
                 "instance": "1"}
    result, stdout, _ = runner(world, "scp_retrieve", extravars)
    assert result.status == "successful", stdout
    assert world["marker"].read_text() == "paula,gideon,vera\n"
    granted = [r for r in audit(world) if r["event"] == "approval_granted"]
    assert [(r["approver"], r["method"]) for r in granted] == [("paula", "signed"), ("gideon", "signed"), ("vera", "signed")]
    assert all(r["key_fingerprint"].startswith("SHA256:") and r["nonce"] == intent["nonce"] for r in granted)

    world["marker"].unlink()
    again, stdout, _ = runner(world, "scp_retrieve", extravars)
    assert again.status == "failed"
    assert "signed approvals are single use" in stdout
    assert not world["marker"].exists()

    other, stdout, _ = runner(world, "scp_retrieve", {**extravars, "remote_path": "/home/vcap/app/.env"})
    assert other.status == "failed"
    assert 'parameters.remote_path is "/home/vcap/app/logs/app.log" in the signed intent, this run has "/home/vcap/app/.env"' in stdout


def test_no_proofs_under_ansible_runner_fails_within_seconds(world):
    result, stdout, elapsed = runner(world, "prod_db_copy", {})
    assert result.status == "failed"
    assert elapsed < 5, f"the run took {elapsed:.1f} s"
    assert "no terminal to ask the approvers on (ansible-runner detected" in stdout
    assert "-e approval_dir=DIR" in stdout and "-e ops_approvals_dir=DIR" in stdout
    failed = [e for e in result.events if e["event"] == "runner_on_failed"]
    assert len(failed) == 1 and failed[0]["event_data"]["res"]["reason"] == "noninteractive"
    assert failed[0]["event_data"]["duration"] < 2
    assert not world["marker"].exists()


def test_no_terminal_and_no_proofs_fails_closed(world):
    start = time.monotonic()
    proc = playbook(world, str(world["play"]), *extra(world, "prod_db_copy"))
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert elapsed < 5, f"the run took {elapsed:.1f} s"
    assert "stdin is not a terminal and no signed approvals were given" in proc.stdout
    assert not world["marker"].exists()


def test_the_production_roster_is_refused_until_complete(world):
    proc = playbook(world, str(world["play"]), *extra(world, "release_deploy"), inventory="inventories/production")
    assert proc.returncode != 0
    assert "roster incomplete: Patrice Pascual has no github; fill inventories/production/group_vars/all/roster.yml" in proc.stdout
    assert not world["marker"].exists()
