# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end: ansible-playbook with the audit_log callback writes a verifiable, secret-free log, and
playbooks/audit_verify.yml fails on a tampered copy naming the broken record."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit

pytestmark = pytest.mark.slow

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = VENV_BIN / "python" if (VENV_BIN / "python").exists() else pathlib.Path(sys.executable)
SECRET = "S3cr3t-" + "do-not-log-4f1c"
# Registered into ansible-core's masker on 2.22+; on every version the log must not hold it.

PROBE_MODULE = '''#!/usr/bin/python
from __future__ import annotations
import os
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"note": {"type": "str"}, "password": {"type": "str", "no_log": True}})
    module.exit_json(
        changed=True,
        run_id=os.environ.get("TTAHUB_OPS_RUN_ID"),
        audit_events=[
            {"event": "probe_done", "note": module.params["note"], "run_id_seen": os.environ.get("TTAHUB_OPS_RUN_ID"),
             "password": module.params["password"], "detail": {"token": module.params["password"]}},
        ],
    )


main()
'''

PLAYBOOK = """
- name: Exercise the audit log
  hosts: localhost
  gather_facts: false
  vars:
    ops_environment: integration
  tasks:
    - name: Say something ordinary
      ansible.builtin.debug:
        msg: hello from the audit test

    - name: Use the secret without logging it
      ansible.builtin.command:
        argv: [echo, "{{ secret_value }}"]
      no_log: true
      changed_when: false

    - name: Probe the run id and audit events
      audit_probe:
        note: probing
        password: "{{ secret_value }}"
      register: probe

    - name: Fail on purpose, ignored
      ansible.builtin.command:
        argv: [/bin/false]
      ignore_errors: true
      changed_when: false

    - name: Skip this step
      ansible.builtin.debug:
        msg: never
      when: false
"""


def run(args, env, cwd=REPO):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def world(tmp_path):
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={PYTHON}\n")
    play_dir = tmp_path / "play"
    (play_dir / "library").mkdir(parents=True)
    (play_dir / "library" / "audit_probe.py").write_text(PROBE_MODULE)
    (play_dir / "play.yml").write_text(PLAYBOOK)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "TTAHUB_OPS_"))}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_NOCOLOR="1",
        TTAHUB_OPS_AUDIT_LOG=str(tmp_path / "logs" / "audit.jsonl"),
    )
    return {"tmp": tmp_path, "inventory": inventory, "playbook": play_dir / "play.yml", "env": env,
            "log": tmp_path / "logs" / "audit.jsonl"}


def read_records(path):
    with open(path, encoding="ascii") as handle:
        return [json.loads(line) for line in handle]


def test_playbook_run_is_logged_verifiably_without_secrets(world):
    proc = run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(world["inventory"]), str(world["playbook"]), "-vvvv",
         "-e", f"secret_value={SECRET}"],
        world["env"],
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    log = world["log"]
    assert _audit.verify(str(log)).ok
    records = read_records(log)
    events = [r["event"] for r in records]
    assert events == [
        "run_start", "play_start", "task_ok", "task_ok", "task_changed", "probe_done", "task_failed", "task_skipped", "run_end",
    ]
    run_ids = {r["run_id"] for r in records}
    assert len(run_ids) == 1
    run_id = run_ids.pop()

    start, play, hello, hidden, probe, probe_event, failed, skipped, end = records
    assert start["extra_vars"] == ["secret_value"] and start["playbook_name"] == "play"
    assert start["inventory"] == [str(world["inventory"])] and start["check_mode"] is False
    assert play["environment"] == "integration" and play["play"] == "Exercise the audit log"
    assert hello["msg"] == "hello from the audit test" and hello["action"] == "ansible.builtin.debug"
    assert hidden["no_log"] is True and set(hidden) == set(hello) - {"msg"} | {"no_log", "msg"}
    assert probe["action"] == "audit_probe" and probe["changed"] is True
    # The module saw the callback's run id in its environment.
    assert probe_event["run_id_seen"] == run_id and probe_event["note"] == "probing"
    assert probe_event["password"] == _audit.MASK and probe_event["detail"] == {"token": _audit.MASK}
    assert failed["ignored"] is True and failed["rc"] == 1
    assert skipped["msg"] == "Conditional result was False"
    assert end["outcome"] == "success" and end["stats"]["localhost"]["ignored"] == 1
    assert all(r["operator"] and r.get("environment", "integration") == "integration" for r in records)

    text = log.read_text(encoding="ascii")
    assert SECRET not in text
    assert os.stat(log).st_mode & 0o777 == 0o600


def test_audit_verify_playbook_names_the_tampered_record(world):
    log = world["log"]
    for i in range(4):
        _audit.append_record(str(log), "step", "run-x", index=i)
    tampered = world["tmp"] / "tampered.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[2])
    record["index"] = 42
    lines[2] = _audit.canonical(record) + b"\n"
    tampered.write_bytes(b"".join(lines))

    verify = [str(VENV_BIN / "ansible-playbook"), "-i", str(world["inventory"]), "playbooks/audit_verify.yml"]
    good = run(verify + ["-e", f"ops_audit_log={log}"], world["env"])
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
    # 4 records, then this run's own run_start and play_start, written before the verify task runs.
    assert f"{log}: 6 records, hash chain intact" in good.stdout

    bad = run(verify + ["-e", f"ops_audit_log={tampered}"], world["env"])
    assert bad.returncode == 2, bad.stdout[-3000:] + bad.stderr[-3000:]
    assert f"Failed to verify audit log {tampered}: record 3 hash mismatch" in bad.stdout
    # The verifying run itself was logged (to TTAHUB_OPS_AUDIT_LOG) and that log still verifies.
    assert _audit.verify(str(log)).ok
    assert [r["event"] for r in read_records(log)][-1] == "run_end"
    assert read_records(log)[-1]["outcome"] == "failed"


def test_broken_log_stops_the_run_before_any_task(world):
    log = world["log"]
    log.parent.mkdir(parents=True)
    log.write_text('{"event": "truncat')
    proc = run([str(VENV_BIN / "ansible-playbook"), "-i", str(world["inventory"]), str(world["playbook"]),
                "-e", f"secret_value={SECRET}"], world["env"])
    assert proc.returncode == 1
    assert "Failed to append to the audit log" in proc.stderr and "stopping the run before its first task" in proc.stderr
    assert "TASK [" not in proc.stdout
    assert log.read_text() == '{"event": "truncat'
