# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every procedure runs non-interactively under ansible-runner on the rehearsal, as CI runs it (docs/ansible-runner.md).

Each playbook in playbooks/ has a case in CASES: it prepares what the procedure needs (signed approvals when its policy
asks for them, through ``request_and_sign``; the rehearsal's services through ``start_*``), runs it with
``run_procedure`` and checks what it did. One happy path per procedure: the procedure's own tests cover the rest.
Procedures that follow one another in the SOP share a case, in the SOP's order: the release (request, review,
retraction, new review, deploy, CI's deploy step) and the production data (copy, restore, wipe, guard). A case
returns the run of each procedure it covers. A playbook without a case fails ``test_every_procedure_has_a_runner_case``.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import typing as t

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from tests.support.playbooks import REPO, Rehearsal
from rehearsal import github_api
from rehearsal import world as world_mod
from tests.support.prod_db_copy import assert_closed_and_clean
from tests.support.rehearsal_github import CI, GIDEON, PAULA
from tests.support.runner import (
    RunnerRun,
    request_and_sign,
    run_procedure,
    start_database,
    start_github,
    start_ssh_proxy,
)

pytestmark = [
    pytest.mark.slow,
    # ansible-runner forks a pty from a process that pytest-xdist made multi-threaded; the child execs at once.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of forkpty:DeprecationWarning"),
]


Runs = dict[str, RunnerRun]
PERSONAS = ["paula", "gideon", "vera"]  # the Product Owner, the GTM and the Vendor Tech Lead


def ok(run: RunnerRun) -> RunnerRun:
    assert run.status == "successful", run.stdout[-3000:]
    return run


def result_of(run: RunnerRun, task_prefix: str) -> dict[str, t.Any]:
    """The result of the (last) task whose name starts with ``task_prefix``."""
    found = [e["event_data"]["res"] for e in run.events
             if e.get("event") == "runner_on_ok" and e["event_data"].get("task", "").startswith(task_prefix)]
    assert found, f"no task {task_prefix!r} ran"
    return found[-1]


def cf_argvs(rh: Rehearsal) -> list[list[str]]:
    return [c["argv"] for c in rh.calls()]


def prod_ssh_allowed(rh: Rehearsal) -> bool:
    return next(s["allow_ssh"] for s in world_mod.load(rh.home)["spaces"].values() if s["name"] == "ttahub-prod")


def case_approval_request(rh: Rehearsal, stack: contextlib.ExitStack) -> Runs:
    folder, run = request_and_sign(rh, "prod_db_copy", PERSONAS, reason="INC-7")
    intent = json.loads((folder / "intent.json").read_text(encoding="utf-8"))
    assert intent["sop"] == "prod_db_copy" and intent["parameters"]["reason"] == "INC-7"
    assert sorted(p.name for p in folder.glob("*.sig")) == ["gideon.sig", "paula.sig", "vera.sig"]
    assert f"mv {folder}/intent.json.sig {folder}/gideon.sig" in run.stdout
    return {"approval_request": run}


def case_audit_verify(rh: Rehearsal, stack: contextlib.ExitStack) -> Runs:
    # The callback writes the log TTAHUB_OPS_AUDIT_LOG names; verify that one.
    log = {"ops_audit_log": str(rh.audit_log)}
    first = ok(run_procedure(rh, "playbooks/audit_verify.yml", ident="verify-1", extravars=log))
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
    return {"audit_verify": first}


def case_access_review(rh: Rehearsal, stack: contextlib.ExitStack) -> Runs:
    run = ok(run_procedure(rh, "playbooks/access_review.yml", login="ci"))
    result = result_of(run, "Compare the role holders")
    assert result["summary"]["unexpected_holders"] == 1 and result["summary"]["missing"] == 0
    assert [u["username"] for u in result["unexpected"]] == ["departed.engineer@rehearsal.gov"] * 2
    reports = sorted((rh.home / "ops" / "reports").glob("access-review-rehearsal-*"))
    assert [p.suffix for p in reports] == [".json", ".md"]
    return {"access_review": run}


def case_audit_counts(rh: Rehearsal, stack: contextlib.ExitStack) -> Runs:
    from rehearsal import postgres  # pylint: disable=import-outside-toplevel

    stack.callback(postgres.destroy, rh.home)
    postgres.seed(rh.home, services=["ttahub-prod"])
    rh.operator_login()
    run = ok(run_procedure(rh, "playbooks/audit_counts.yml", extravars={"audit_counts_poll_interval": 0.2}))
    (report,) = sorted((rh.home / "ops" / "reports").glob("audit-counts-rehearsal-*.json"))
    counts = json.loads(report.read_text(encoding="utf-8"))["counts"]
    assert counts["tables"]["ActivityReports"]["count"] > 0 and counts["grants"]
    assert ["run-task", "tta-smarthub-prod", "--command", "yarn db:validation"] == cf_argvs(rh)[
        [a[0] for a in cf_argvs(rh)].index("run-task")][:4]
    return {"audit_counts": run}


def case_release(rh: Rehearsal, stack: contextlib.ExitStack) -> Runs:
    """The SOP's release, each person with their own GitHub token in the job's environment: the PO opens the pull
    request (first approval), the GTM approves it, retracts the approval as premature and approves again, the PO
    merges it (release_deploy), and CI's deploy step deploys the merge commit with the service account."""
    gh = start_github(rh, stack)
    token = {login: {"GITHUB_TOKEN": gh.token(login)} for login in (PAULA, GIDEON, CI)}
    requested = ok(run_procedure(rh, "playbooks/release_request.yml", ident="release-request", env=token[PAULA]))
    (number,) = [int(n) for n in gh.repo()["pulls"]]
    assert gh.pull(number)["requested_reviewers"] == [GIDEON] and f"Review requested from @{GIDEON}" in requested.stdout

    github_api.add_review(gh.home, number, GIDEON, body="Approved for release")
    retracted = ok(run_procedure(rh, "playbooks/release_retract.yml", ident="release-retract", env=token[GIDEON],
                                 extravars={"reason": "The migration is not ready"}))
    review = gh.pull(number)["reviews"][-1]
    assert (review["user"], review["state"]) == (GIDEON, "CHANGES_REQUESTED")

    github_api.add_review(gh.home, number, GIDEON, body="Approved again: the migration is ready")
    approved = gh.head("main")
    deployed = ok(run_procedure(rh, "playbooks/release_deploy.yml", ident="release-deploy", env=token[PAULA]))
    merged = gh.pull(number)
    assert merged["merged_at"] and merged["head_sha"] == approved and merged["merged_by"] == PAULA
    merge_commit = gh.head("production")

    build = {"BUILD_BRANCH": "production", "BUILD_COMMIT": merge_commit, "BUILD_NUMBER": "4242",
             "BUILD_TIMESTAMP": "2026-11-28T12:00:00Z", "NEW_RELIC_LICENSE_KEY": "rehearsal-license-key"}
    app = ok(run_procedure(rh, "playbooks/app_deploy.yml", ident="app-deploy", login="ci", env={**token[CI], **build},
                           extravars={"app_dir": str(REPO / "rehearsal" / "app"), "app_deploy_poll_interval": 0.3}))
    assert f"tta-smarthub-prod runs {merge_commit[:7]}: 3/3 web instances running, migrations done." in app.stdout
    pushes = [a for a in cf_argvs(rh) if a[0] == "push"]
    assert len(pushes) == 1
    # The gate passed twice, before the merge and in CI's deploy step (mode merged), which then pushed.
    events = [r["event"] for r in rh.audit_records()
              if r["event"] in ("release_gate_passed", "release_merged", "app_pushed", "cf_task_ended")]
    assert events == ["release_gate_passed", "release_merged", "release_gate_passed", "app_pushed", "cf_task_ended"]
    return {"release_request": requested, "release_retract": retracted, "release_deploy": deployed, "app_deploy": app}


def case_scp_retrieve(rh: Rehearsal, stack: contextlib.ExitStack) -> Runs:
    start_ssh_proxy(rh, stack)
    world_mod.set_app_ssh(rh.home, "ttahub-prod", "tta-smarthub-prod", True)  # as on cloud.gov; the space keeps SSH off
    rh.operator_login()
    request = {"remote_path": "/home/vcap/app/reports", "dest": str(rh.tmp / "retrieved"), "instance": 1,
               "ops_state_dir": str(rh.tmp / "state")}
    folder, _ = request_and_sign(rh, "scp_retrieve", PERSONAS, **request)
    run = ok(run_procedure(rh, "playbooks/scp_retrieve.yml", extravars={"ops_approvals_dir": str(folder), **request}))
    assert (rh.tmp / "retrieved" / "reports" / "instance.txt").read_text() == "tta-smarthub-prod web instance 1\n"
    argvs = cf_argvs(rh)
    codes = [i for i, a in enumerate(argvs) if a == ["ssh-code"]]
    assert argvs.index(["allow-space-ssh", "ttahub-prod"]) < codes[0] < codes[-1] < argvs.index(
        ["disallow-space-ssh", "ttahub-prod"])
    assert not prod_ssh_allowed(rh)
    return {"scp_retrieve": run}


def case_ssh_access(rh: Rehearsal, stack: contextlib.ExitStack) -> Runs:
    start_ssh_proxy(rh, stack)
    world_mod.set_app_ssh(rh.home, "ttahub-prod", "tta-smarthub-prod", True)
    rh.operator_login()
    request = {"command": "cat app/reports/instance.txt", "ops_state_dir": str(rh.tmp / "state")}
    folder, _ = request_and_sign(rh, "ssh_access", PERSONAS, **request)
    run = ok(run_procedure(rh, "playbooks/ssh_access.yml", extravars={"ops_approvals_dir": str(folder), **request}))
    ran = result_of(run, "Run the command on the instance")
    assert ran["rc"] == 0 and ran["stdout"] == "tta-smarthub-prod web instance 0\n"
    argvs = cf_argvs(rh)
    command = argvs.index(["ssh", "tta-smarthub-prod", "-i", "0", "--process", "web", "-T", "-c",
                           "cat app/reports/instance.txt"])
    assert argvs.index(["allow-space-ssh", "ttahub-prod"]) < command < argvs.index(["disallow-space-ssh", "ttahub-prod"])
    assert not prod_ssh_allowed(rh)
    return {"ssh_access": run}


def case_production_data(rh: Rehearsal, stack: contextlib.ExitStack) -> Runs:
    """Production data access as the SOP orders it: the copy on the call (signed by the PO, the GTM and the VTL),
    the investigation (restore), the wipe, and the guard that finds SSH closed and no copy kept."""
    database = start_database(rh, stack)
    start_ssh_proxy(rh, stack)
    rh.operator_login()
    state = {"ops_state_dir": str(rh.tmp / "state")}
    folder, _ = request_and_sign(rh, "prod_db_copy", PERSONAS, reason="INC-42")
    copied = ok(run_procedure(rh, "playbooks/prod_db_copy.yml", ident="copy",
                              extravars={"reason": "INC-42", "ops_approvals_dir": str(folder), **state}))
    copy = result_of(copied, "Follow cloud.gov db backup steps")
    assert pathlib.Path(copy["ciphertext_path"]).read_bytes().startswith(b"age-encryption.org/v1\n")
    assert not prod_ssh_allowed(rh)

    restored = ok(run_procedure(rh, "playbooks/data_restore_local.yml", ident="restore",
                                extravars={"copy_id": copy["copy_id"], **state}))
    source = database.source_checksums()
    done = next(r for r in rh.audit_records() if r["event"] == "data_restored")
    assert done["checksum"] == source["checksum"] and done["rows"] == source["rows"]

    wiped = ok(run_procedure(rh, "playbooks/data_wipe.yml", ident="wipe", extravars={"copy_id": copy["copy_id"], **state}))
    assert [w["copy_id"] for w in result_of(wiped, "Immediately wipe")["wiped"]] == [copy["copy_id"]]
    guarded = ok(run_procedure(rh, "playbooks/ssh_guard.yml", ident="guard", extravars=state))
    assert "space ttahub-prod: SSH disallowed" in guarded.stdout and "1 local copies, none overdue" in guarded.stdout
    assert_closed_and_clean(database, rh.tmp)
    return {"prod_db_copy": copied, "data_restore_local": restored, "data_wipe": wiped, "ssh_guard": guarded}


Case = t.Callable[[Rehearsal, contextlib.ExitStack], Runs]
CASES: dict[str, Case] = {
    "approval_request": case_approval_request,
    "audit_verify": case_audit_verify,
    "access_review": case_access_review,
    "audit_counts": case_audit_counts,
    "release_request": case_release,
    "release_retract": case_release,
    "release_deploy": case_release,
    "app_deploy": case_release,
    "scp_retrieve": case_scp_retrieve,
    "ssh_access": case_ssh_access,
    "prod_db_copy": case_production_data,
    "data_restore_local": case_production_data,
    "data_wipe": case_production_data,
    "ssh_guard": case_production_data,
}
# Procedures whose runner case is still to come (none: every procedure has one).
PENDING: dict[str, str] = {}


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


@pytest.mark.parametrize("case", sorted(set(CASES.values()), key=lambda c: c.__name__),
                         ids=lambda c: c.__name__.removeprefix("case_"))
def test_the_procedure_runs_non_interactively_under_ansible_runner(case, tmp_path, capsys):
    rh = Rehearsal(tmp_path)
    with contextlib.ExitStack() as stack:
        runs = case(rh, stack)
    assert sorted(runs) == sorted(name for name, c in CASES.items() if c is case), "the case ran each of its procedures"
    # Under runner, stdout is awx_display's and the audit log still records each run, with its outcome.
    records = rh.audit_records()
    assert records and records[-1]["event"] == "run_end"
    assert _audit.verify(str(rh.audit_log)).ok or case is case_audit_verify
    password = rh.credentials["CF_PASSWORD"]
    assert password not in rh.audit_log.read_text(encoding="utf-8")
    for name, run in sorted(runs.items()):
        assert run.status == "successful" and run.rc == 0, name
        assert password not in run.everything(), name
        # The credentials never reach the private data directory's files.
        assert "CF_PASSWORD" not in (run.private_data_dir / "env" / "envvars").read_text(encoding="utf-8")
        with capsys.disabled():
            print(f"\n[figures] {name} under ansible-runner: {run.elapsed:.1f} s, {len(run.events)} job events")
