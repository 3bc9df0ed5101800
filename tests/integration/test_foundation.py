# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The foundation end to end on the rehearsal cloud: sessions, modules, secrets, the audit log."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from rehearsal import world as world_mod
from tests.support.playbooks import Rehearsal

FOUNDATION = "rehearsal/playbooks/foundation.yml"


@pytest.fixture
def rh(tmp_path):
    return Rehearsal(tmp_path)


def no_session_left(rh: Rehearsal) -> bool:
    return not list((rh.tmp / "runtime").glob("ttahub-ops-cf-*"))


def test_operator_session_toggles_space_ssh_and_never_moves_the_operators_target(rh, capsys):
    rh.operator_login(space="ttahub-dev")
    before = rh.operator_config()
    run = rh.playbook(FOUNDATION)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    # The operator's own cf target is untouched: the run worked in a copy.
    after = rh.operator_config()
    assert after["SpaceFields"]["Name"] == "ttahub-dev" == before["SpaceFields"]["Name"]
    assert no_session_left(rh)
    assert world_mod.load(rh.home)["spaces"] and not _space_ssh(rh, "ttahub-prod")
    verified = _audit.verify(str(rh.audit_log))
    assert verified.ok, verified.reason
    records = rh.audit_records()
    events = [r["event"] for r in records]
    assert events[0] == "run_start" and events[-1] == "run_end"
    assert events.index("space_ssh_allowed") < events.index("space_ssh_disallowed")
    assert {r["run_id"] for r in records} == {records[0]["run_id"]}
    assert records[-1]["cf_user"] == "operator@rehearsal.gov"
    # Figures for the note: cf invocations of one cf_app_info and one space SSH toggle.
    argvs = [c["argv"] for c in rh.calls()]
    info = [a for a in argvs if a[0] == "app" or (a[0] == "curl")]
    # The toggle task: one read, then the change (the check-mode task before it only read).
    allow = argvs.index(["allow-space-ssh", "ttahub-prod"])
    toggle = argvs[allow - 1 : allow + 1]
    assert toggle[0] == ["space-ssh-allowed", "ttahub-prod"]
    assert argvs[allow - 2] == ["space-ssh-allowed", "ttahub-prod"]
    with capsys.disabled():
        print(
            f"\n[figures] cf calls: cf_app_info={len(info)}, cf_space_ssh toggle={len(toggle)}, whole run={len(argvs)}"
        )
    assert len(info) == 6 and len(toggle) == 2


def _space_ssh(rh: Rehearsal, space: str) -> bool:
    world = world_mod.load(rh.home)
    for s in world["spaces"].values() if isinstance(world["spaces"], dict) else world["spaces"]:
        if s.get("name") == space:
            return bool(s.get("allow_ssh"))
    raise AssertionError(f"no space {space}")


def test_service_account_at_vvvv_is_refused_space_ssh_and_its_password_appears_nowhere(rh):
    creds = rh.credentials
    run = rh.playbook(FOUNDATION, "-vvvv", env=creds)
    assert run.returncode != 0
    assert "Failed to allow SSH in space ttahub-prod: cloud.gov says you are not authorized" in run.stdout
    assert "Space Manager" in run.stdout
    assert no_session_left(rh), "the session must be removed by the always section"
    password = creds["CF_PASSWORD"]
    for text in (run.stdout, run.stderr, rh.audit_log.read_text(), (rh.home / "calls.jsonl").read_text()):
        assert password not in text
    records = rh.audit_records()
    failed = [r for r in records if r["event"] == "task_failed"]
    assert failed and failed[0]["task"] == "Allow space SSH"
    assert records[-1]["event"] == "run_end" and records[-1]["outcome"] == "failed"
    assert records[-1]["cf_user"] == "ttahub-rehearsal-deployer"


def test_the_one_time_code_never_shows_at_vvvv(rh):
    rh.operator_login()
    code_file = rh.tmp / "code"
    run = rh.playbook("tests/integration/playbooks/ssh_code.yml", "-vvvv", "-e", f"code_file={code_file}")
    assert run.returncode == 0, run.stdout[-3000:]
    code = code_file.read_text()
    assert len(code) >= 6
    for text in (run.stdout, run.stderr, rh.audit_log.read_text(), (rh.home / "calls.jsonl").read_text()):
        assert code not in text
    assert "output hidden by no_log" in rh.audit_log.read_text()
    # It was a real code: the proxy would accept it once.
    assert world_mod.consume_ssh_code(rh.home, code) is not None
    assert world_mod.consume_ssh_code(rh.home, code) is None


@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        ({"seconds": 0.5, "log": ["migrated 3 tables"]}, "SUCCEEDED"),
        (
            {
                "seconds": 0.5,
                "result": "FAILED",
                "failure_reason": "Exited with status 1",
                "log": ["ERROR: relation missing"],
            },
            "FAILED",
        ),
        ({"seconds": None}, "timeout"),
    ],
)
def test_cf_task_waits_collects_its_lines_and_is_terminated_at_the_timeout(rh, behaviour, outcome):
    rh.operator_login()
    world_mod.set_task_behaviour(rh.home, "yarn db:migrate:prod", **behaviour)
    result_file = rh.tmp / "task.json"
    run = rh.playbook(
        "tests/integration/playbooks/cf_task.yml",
        "-e",
        "task_command='yarn db:migrate:prod'",
        "-e",
        "task_name=migrate",
        "-e",
        f"result_file={result_file}",
        "-e",
        "task_timeout=3",
    )
    if outcome == "SUCCEEDED":
        assert run.returncode == 0, run.stdout[-3000:]
        result = json.loads(result_file.read_text())
        assert result["task"]["state"] == "SUCCEEDED"
        assert "migrated 3 tables" in result["log_lines"]
    elif outcome == "FAILED":
        assert run.returncode != 0
        assert (
            "Failed to run task migrate on app tta-smarthub-prod: the task ended FAILED (Exited with status 1)."
            in run.stdout
        )
        assert "ERROR: relation missing" in run.stdout
    else:
        assert run.returncode != 0
        assert "was terminated" in run.stdout
        argvs = [c["argv"] for c in rh.calls()]
        assert any(a[0] == "terminate-task" for a in argvs)
    assert no_session_left(rh)


def test_audit_verify_playbook_passes_on_a_real_log_and_names_a_tampered_record(rh):
    rh.operator_login()
    assert rh.playbook(FOUNDATION).returncode == 0
    ok = rh.playbook(
        "playbooks/audit_verify.yml",
        "-e",
        f"ops_audit_log={rh.audit_log}",
        env={"TTAHUB_OPS_AUDIT_LOG": str(rh.tmp / "second.jsonl")},
    )
    assert ok.returncode == 0, ok.stdout[-2000:]
    lines = rh.audit_log.read_text().splitlines()
    record = json.loads(lines[5])
    record["task"] = "something else"
    lines[5] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    rh.audit_log.write_text("\n".join(lines) + "\n")
    bad = rh.playbook(
        "playbooks/audit_verify.yml",
        "-e",
        f"ops_audit_log={rh.audit_log}",
        env={"TTAHUB_OPS_AUDIT_LOG": str(rh.tmp / "third.jsonl")},
    )
    assert bad.returncode != 0
    assert "record 6" in bad.stdout
