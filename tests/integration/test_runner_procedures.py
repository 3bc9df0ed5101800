# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every procedure runs non-interactively under ansible-runner on the rehearsal, as CI runs it (docs/ansible-runner.md).

Each playbook in playbooks/ has a case in CASES: it prepares what the procedure needs (signed approvals when its policy
asks for them, through ``request_and_sign``), runs it with ``run_procedure`` and checks what it did. A playbook
without a case fails ``test_every_procedure_has_a_runner_case``.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from tests.support.playbooks import REPO, Rehearsal
from tests.support.runner import RunnerRun, request_and_sign, run_procedure

pytestmark = [
    pytest.mark.slow,
    # ansible-runner forks a pty from a process that pytest-xdist made multi-threaded; the child execs at once.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of forkpty:DeprecationWarning"),
]


def case_approval_request(rh: Rehearsal) -> RunnerRun:
    folder, run = request_and_sign(rh, "prod_db_copy", ["paula", "gideon", "vera"], reason="INC-7")
    intent = json.loads((folder / "intent.json").read_text(encoding="utf-8"))
    assert intent["sop"] == "prod_db_copy" and intent["parameters"]["reason"] == "INC-7"
    assert sorted(p.name for p in folder.glob("*.sig")) == ["gideon.sig", "paula.sig", "vera.sig"]
    assert f"mv {folder}/intent.json.sig {folder}/gideon.sig" in run.stdout
    return run


def case_audit_verify(rh: Rehearsal) -> RunnerRun:
    # The callback writes the log TTAHUB_OPS_AUDIT_LOG names; verify that one.
    log = {"ops_audit_log": str(rh.audit_log)}
    first = run_procedure(rh, "playbooks/audit_verify.yml", ident="verify-1", extravars=log)
    assert first.status == "successful", first.stdout[-3000:]
    assert "hash chain intact" in first.stdout
    # Change one record of the log: the next verification names it and fails.
    lines = rh.audit_log.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[1])
    record["event"] = "tampered"
    lines[1] = _audit.canonical(record).decode("ascii") + "\n"
    rh.audit_log.write_text("".join(lines), encoding="utf-8")
    second = run_procedure(rh, "playbooks/audit_verify.yml", ident="verify-2", extravars=log)
    assert second.status == "failed" and second.rc != 0
    (failed,) = second.failed_tasks()
    assert failed["res"]["first_bad_line"] == 2 and failed["res"]["reason"].startswith("hash mismatch")
    return first


def case_access_review(rh: Rehearsal) -> RunnerRun:
    run = run_procedure(rh, "playbooks/access_review.yml", login="ci")
    assert run.status == "successful", run.stdout[-3000:]
    result = next(e["event_data"]["res"] for e in run.events
                  if e.get("event") == "runner_on_ok" and e["event_data"].get("task", "").startswith("Compare the role holders"))
    assert result["summary"]["unexpected_holders"] == 1 and result["summary"]["missing"] == 0
    assert [u["username"] for u in result["unexpected"]] == ["departed.engineer@rehearsal.gov"] * 2
    reports = sorted((rh.home / "ops" / "reports").glob("access-review-rehearsal-*"))
    assert [p.suffix for p in reports] == [".json", ".md"]
    return run


CASES: dict[str, t.Callable[[Rehearsal], RunnerRun]] = {
    "approval_request": case_approval_request,
    "audit_verify": case_audit_verify,
    "access_review": case_access_review,
}

# Procedures whose runner case comes with issue 9's second part, once their playbooks are finished.
PENDING = {
    "app_deploy": "issue 6",
    "release_request": "issue 6",
    "release_deploy": "issue 6",
    "release_retract": "issue 6",
    "scp_retrieve": "issue 4",
    "ssh_access": "issue 4",
    "prod_db_copy": "issue 5",
    "data_restore_local": "issue 5",
    "data_wipe": "issue 5",
    "ssh_guard": "issue 5",
    "audit_counts": "issue 7",
}


def test_every_procedure_has_a_runner_case():
    playbooks = sorted(p.stem for p in (REPO / "playbooks").glob("*.yml"))
    missing = [name for name in playbooks if name not in CASES and name not in PENDING]
    assert not missing, (
        f"playbooks without an ansible-runner test: {', '.join(missing)}. Add a case to CASES in "
        "tests/integration/test_runner_procedures.py (run_procedure, and request_and_sign when the policy needs approvals)"
    )
    assert all(name in playbooks for name in CASES), "a case names a playbook that does not exist"
    assert not set(CASES) & set(PENDING), "a procedure with a runner case is still listed as pending"


def test_runner_writes_its_environment_to_the_command_artifact(tmp_path):
    """Why CI logs in before runner starts (docs/ansible-runner.md): with CF_PASSWORD in runner's environment,
    ansible-runner 2.4 writes it in clear text into artifacts/<ident>/command."""
    rh = Rehearsal(tmp_path)
    run = run_procedure(rh, "playbooks/audit_verify.yml", login="ci-env", extravars={"ops_audit_log": str(rh.audit_log)})
    password = rh.credentials["CF_PASSWORD"]
    command = json.loads((run.artifacts / "command").read_text(encoding="utf-8"))
    assert command["env"]["CF_PASSWORD"] == password
    run.scrub()
    assert password not in run.everything()


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_procedure_runs_non_interactively_under_ansible_runner(name, tmp_path, capsys):
    rh = Rehearsal(tmp_path)
    run = CASES[name](rh)
    assert run.status == "successful" and run.rc == 0
    # Under runner, stdout is awx_display's and the audit log still records the run, with its outcome.
    records = rh.audit_records()
    assert records and records[-1]["event"] == "run_end"
    assert _audit.verify(str(rh.audit_log)).ok or name == "audit_verify"
    password = rh.credentials["CF_PASSWORD"]
    assert password not in run.everything() and password not in rh.audit_log.read_text(encoding="utf-8")
    # The credentials never reach the private data directory's files.
    assert "CF_PASSWORD" not in (run.private_data_dir / "env" / "envvars").read_text(encoding="utf-8")
    with capsys.disabled():
        print(f"\n[figures] {name} under ansible-runner: {run.elapsed:.1f} s, {len(run.events)} job events")
