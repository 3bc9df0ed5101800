# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_push and cf_deployment: the argv cf gets, secrets only in a 0600 vars file that is gone when cf returns, cf v8's
deployment failures (cf-cli.md §3.12, recorded below) classified, and the summary's process counts parsed."""

from __future__ import annotations

import json
import os
import pathlib
import sys

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import classify_failure
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_app_processes
from ansible_collections.ttahub.ops.plugins.modules import cf_deployment, cf_push
from tests.support import uthelper
from tests.support.fake_cf import fixture, json_step, step
from tests.support.modules import run_main

REFERENCE = pathlib.Path(__file__).resolve().parents[5] / "shared" / "reference" / "cf-cli.md"
SECRET = "nr-license-0123456789abcdef"

# cf-cli.md §3.12, verbatim (APP is the placeholder).
RECORDED = {
    "crash": "Start unsuccessful\n\nTIP: use 'cf logs APP --recent' for more information",
    "timeout": ("Start app timeout\n\nTIP: Application must be listening on the right port. Instead of hard coding the "
                "port, use the $PORT environment variable.\n\nUse 'cf logs APP --recent' for more information"),
    "canceled": "Deployment has been canceled",
    "superseded": "Deployment has been superseded",
    "cancel_ok": "Canceling deployment for app APP in org ORG / space SPACE as USER...\nOK\n\nTIP: Run 'cf app APP' to view app status.\n",
    "no_active": "No active deployment found for app.",
}

# A cf that records its argv and every --vars-file (content and mode) while it runs, then answers from a plan.
PUSH_CF = r'''#!{python}
import json, os, stat, sys
argv = sys.argv[1:]
files = {{}}
for i, a in enumerate(argv):
    if a == "--vars-file":
        p = argv[i + 1]
        files[p] = {{"mode": oct(stat.S_IMODE(os.stat(p).st_mode)), "dir_mode": oct(stat.S_IMODE(os.stat(os.path.dirname(p)).st_mode)),
                    "content": open(p).read()}}
with open(os.environ["PUSH_CF_LOG"], "a") as f:
    f.write(json.dumps({{"argv": argv, "files": files, "env_has_secret": "{secret}" in "".join(os.environ.values())}}) + "\n")
answer = json.load(open(os.environ["PUSH_CF_ANSWER"]))
sys.stdout.write(answer["stdout"]); sys.stderr.write(answer["stderr"]); sys.exit(answer["rc"])
'''


@pytest.fixture
def app_dir(tmp_path):
    folder = tmp_path / "app"
    (folder / "deployment_config").mkdir(parents=True)
    (folder / "manifest.yml").write_text("applications: []\n")
    (folder / "deployment_config" / "prod_vars.yml").write_text("env: prod\n")
    return folder


@pytest.fixture
def push_cf(tmp_path, monkeypatch):
    path = tmp_path / "cf-push"
    path.write_text(PUSH_CF.format(python=sys.executable, secret=SECRET))
    path.chmod(0o755)
    log, answer = tmp_path / "push-calls.jsonl", tmp_path / "answer.json"
    monkeypatch.setenv("PUSH_CF_LOG", str(log))
    monkeypatch.setenv("PUSH_CF_ANSWER", str(answer))
    home = tmp_path / "session"
    home.mkdir(mode=0o700)

    def answer_with(stdout="", stderr="", rc=0):
        answer.write_text(json.dumps({"stdout": stdout, "stderr": stderr, "rc": rc}))

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    answer_with(stdout=fixture("app")["stdout"])
    return {"args": {"cf_cli": str(path), "cf_home": str(home)}, "answer": answer_with, "calls": calls, "home": home}


def push_args(push_cf, app_dir, **more):
    return {**push_cf["args"], "app": "tta-smarthub-prod", "manifest": str(app_dir / "manifest.yml"),
            "vars_files": [str(app_dir / "deployment_config" / "prod_vars.yml")],
            "vars": {"BUILD_COMMIT": "5d1e0a7c9b3f2e8d6a4c1b0f9e8d7c6b5a4f3e2d", "BUILD_BRANCH": "production"},
            "secret_env_vars": ["NEW_RELIC_LICENSE_KEY"], "path": str(app_dir), **more}


def test_push_puts_secrets_only_in_a_private_vars_file_that_is_removed(push_cf, app_dir, capsys, monkeypatch):
    monkeypatch.setenv("NEW_RELIC_LICENSE_KEY", SECRET)
    result = run_main(cf_push, push_args(push_cf, app_dir), capsys)
    assert result["_rc"] == 0 and result["changed"] is True
    (call,) = push_cf["calls"]()
    argv = call["argv"]
    assert argv[:6] == ["push", "tta-smarthub-prod", "-f", str(app_dir / "manifest.yml"), "--vars-file",
                        str(app_dir / "deployment_config" / "prod_vars.yml")]
    secret_file = argv[7]
    assert argv[6] == "--vars-file" and secret_file.startswith(str(push_cf["home"]))
    assert argv[8:] == ["--var", "BUILD_COMMIT=5d1e0a7c9b3f2e8d6a4c1b0f9e8d7c6b5a4f3e2d", "--var", "BUILD_BRANCH=production",
                        "-p", str(app_dir), "--strategy", "rolling"]
    assert not any(SECRET in a for a in argv)
    assert call["files"][secret_file] == {"mode": "0o600", "dir_mode": "0o700", "content": f'NEW_RELIC_LICENSE_KEY: "{SECRET}"\n'}
    assert not os.path.exists(secret_file) and not os.path.exists(os.path.dirname(secret_file))
    assert result["processes"] == {"web": {"running": 2, "instances": 2}}
    assert result["audit_events"][0]["secret_vars"] == ["NEW_RELIC_LICENSE_KEY"] and SECRET not in result["_raw"]


def test_a_secret_echoed_by_cf_is_masked_and_the_file_is_removed_on_failure(push_cf, app_dir, capsys, monkeypatch):
    monkeypatch.setenv("NEW_RELIC_LICENSE_KEY", SECRET)
    push_cf["answer"](stdout=f"Updating with these attributes...\n  NEW_RELIC_LICENSE_KEY: {SECRET}\nFAILED\n",
                      stderr=RECORDED["crash"].replace("APP", "tta-smarthub-prod") + "\n", rc=1)
    result = run_main(cf_push, push_args(push_cf, app_dir), capsys)
    assert result["failed"] and result["error_kind"] == "deployment_failed"
    assert result["msg"].startswith("Failed to push app tta-smarthub-prod: the new instances crashed while starting "
                                    "(Start unsuccessful).")
    assert SECRET not in result["_raw"] and "********" in result["stdout"]
    (call,) = push_cf["calls"]()
    assert not os.path.exists(call["argv"][7])


def test_bad_input_fails_before_cf_runs(push_cf, app_dir, capsys, monkeypatch):
    monkeypatch.delenv("NEW_RELIC_LICENSE_KEY", raising=False)
    result = run_main(cf_push, push_args(push_cf, app_dir), capsys)
    assert result["failed"] and "the environment variable NEW_RELIC_LICENSE_KEY is not set" in result["msg"]
    result = run_main(cf_push, push_args(push_cf, app_dir, manifest=str(app_dir / "nope.yml"), secret_env_vars=[]), capsys)
    assert result["failed"] and f"the manifest {app_dir / 'nope.yml'} does not exist" in result["msg"]
    result = run_main(cf_push, push_args(push_cf, app_dir, vars={"BAD NAME": "x"}, secret_env_vars=[]), capsys)
    assert result["failed"] and "'BAD NAME' is not a manifest variable name" in result["msg"]
    monkeypatch.setenv("NEW_RELIC_LICENSE_KEY", SECRET)
    result = run_main(cf_push, push_args(push_cf, app_dir, vars={"NEW_RELIC_LICENSE_KEY": "x"}), capsys)
    assert result["failed"] and "given both as a variable and as a secret" in result["msg"]
    assert push_cf["calls"]() == []


def test_check_mode_runs_nothing(push_cf, app_dir, capsys, monkeypatch):
    monkeypatch.setenv("NEW_RELIC_LICENSE_KEY", SECRET)
    result = run_main(cf_push, push_args(push_cf, app_dir), capsys, check_mode=True)
    assert result["changed"] and result["skipped"] and push_cf["calls"]() == []
    assert not list(push_cf["home"].iterdir())


@pytest.mark.parametrize("name, kind, cause", [
    ("crash", "deployment_failed", "the new instances crashed while starting (Start unsuccessful)"),
    ("timeout", "deployment_failed", "the new instances did not become healthy in time (Start app timeout)"),
    ("canceled", "deployment_failed", "the deployment was canceled while cf waited for it"),
    ("superseded", "deployment_failed", "the deployment was superseded while cf waited for it"),
    ("no_active", "no_active_deployment", "the app has no active deployment"),
])
def test_recorded_deployment_failures_are_classified(name, kind, cause):
    error = classify_failure("deploy", ["cf"], 1, "FAILED\n", RECORDED[name].replace("APP", "my-app") + "\n")
    assert error.kind == kind and error.cause == cause


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference/cf-cli.md is not present")
def test_the_recorded_strings_are_cf_clis():
    reference = REFERENCE.read_text(encoding="utf-8")
    for text in RECORDED.values():
        for line in text.replace("APP", "{X}").replace("ORG", "{X}").replace("SPACE", "{X}").replace("USER", "{X}").split("\n"):
            if line.strip():
                parts = [p for p in line.split("{X}") if p]
                assert all(p in reference for p in parts), line


def test_parse_app_processes_reads_the_summary():
    assert parse_app_processes(fixture("app")["stdout"]) == {"web": {"running": 2, "instances": 2}}
    summary = "type:            web\nsidecars:        \ninstances:       1/3\nmemory usage:    4096M\n\ntype:   worker\ninstances:   2/2\n"
    assert parse_app_processes(summary) == {"web": {"running": 1, "instances": 3}, "worker": {"running": 2, "instances": 2}}
    assert parse_app_processes("nothing") == {}


def test_cancel_deployment_and_none_to_cancel(fake, cf_args, capsys):
    ok = RECORDED["cancel_ok"].replace("APP", "my-app").replace("ORG", "my-org").replace("SPACE", "dev").replace("USER", "u@x.gov")
    fake.plan([step(["cancel-deployment", "my-app"], stdout=ok)])
    result = run_main(cf_deployment, {**cf_args, "app": "my-app"}, capsys)
    assert result["changed"] and result["canceled"] and result["audit_events"] == [{"event": "deployment_canceled", "app": "my-app"}]
    fake.plan([step(["cancel-deployment", "my-app"], stdout="Canceling deployment for app my-app...\nFAILED\n",
                    stderr=RECORDED["no_active"] + "\n", rc=1)])
    result = run_main(cf_deployment, {**cf_args, "app": "my-app"}, capsys)
    assert result["_rc"] == 0 and result["changed"] is False and result["canceled"] is False


def test_cancel_deployment_check_mode_reads_the_active_deployments(fake, cf_args, capsys):
    guid = "1cb006ee-0000-4000-8000-000000000001"
    fake.plan([step(["app", "my-app", "--guid"], stdout=guid + "\n"),
               json_step(["curl", f"/v3/deployments?app_guids={guid}&status_values=ACTIVE"],
                         {"pagination": {"total_results": 1}, "resources": [{"guid": "d", "status": {"value": "ACTIVE"}}]})])
    result = run_main(cf_deployment, {**cf_args, "app": "my-app"}, capsys, check_mode=True)
    assert result["changed"] and result["canceled"]
    assert [a[0] for a in fake.argvs] == ["app", "curl"]


def test_the_secret_file_is_0600_even_under_a_permissive_umask(push_cf, app_dir, capsys, monkeypatch):
    monkeypatch.setenv("NEW_RELIC_LICENSE_KEY", SECRET)
    old = os.umask(0)
    try:
        result = run_main(cf_push, push_args(push_cf, app_dir), capsys)
    finally:
        os.umask(old)
    assert result["_rc"] == 0
    (call,) = push_cf["calls"]()
    assert call["files"][call["argv"][7]]["mode"] == "0o600" and call["files"][call["argv"][7]]["dir_mode"] == "0o700"


test_recorded = uthelper.cases(cf_push, __file__)
