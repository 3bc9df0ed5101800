# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""app_deploy as CI runs it: real ansible-runner 2.4.3, a private data dir whose env/envvars carries the credentials
(CF_USERNAME/CF_PASSWORD, GITHUB_TOKEN, NEW_RELIC_LICENSE_KEY) and the BUILD_* variables, against the rehearsal cloud
(cf) and the rehearsal GitHub: a deploy of an approved release; a crash during the rolling deploy, cancelled; a commit
that is not an approved release, refused before any cf push."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils._github import GitHubClient
from tests.support.rehearsal_github import CI, GIDEON, PAULA, github_api, github_fixture

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SECRET = "nr-" + "5eCr3t" * 6

pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of forkpty:DeprecationWarning")

github_server = pytest.fixture(scope="module")(github_fixture)


@pytest.fixture
def world(github_server):
    from rehearsal import seed  # pylint: disable=import-outside-toplevel

    github_server.reset()
    seed.seed(github_server.home)
    return github_server


def approved_release(gh) -> str:
    """A release pull request opened by the PO, approved by the GTM, merged by the PO: its merge commit."""
    number = github_api.open_pull(gh.home, PAULA)
    github_api.add_review(gh.home, number, GIDEON)
    client = GitHubClient(api_url=gh.url, repo=github_api.REPO, token=gh.token(PAULA))
    answer, _ = client.request("PUT", client.repo_path(f"/pulls/{number}/merge"), action="merge",
                               body={"sha": gh.head("main"), "merge_method": "merge"})
    return answer["sha"]


def deploy(gh, tmp_path, commit):
    import ansible_runner  # pylint: disable=import-outside-toplevel

    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True, exist_ok=True)
    creds = dict(line.split("=", 1) for line in (gh.home / "credentials.env").read_text().splitlines() if "=" in line)
    envvars = {
        **creds, "GITHUB_TOKEN": gh.token(CI), "NEW_RELIC_LICENSE_KEY": SECRET,
        "BUILD_BRANCH": "production", "BUILD_COMMIT": commit, "BUILD_NUMBER": "4242", "BUILD_TIMESTAMP": "2026-11-28T12:00:00Z",
        "REHEARSAL_HOME": str(gh.home), "TTAHUB_OPS_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "XDG_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path),
    }
    (private / "env" / "envvars").write_text(json.dumps(envvars))
    os.chmod(private / "env" / "envvars", 0o600)
    start = time.monotonic()
    result = ansible_runner.run(private_data_dir=str(private), project_dir=str(REPO), playbook="playbooks/app_deploy.yml",
                                inventory=str(REPO / "inventories/rehearsal"),
                                extravars={"app_dir": str(REPO / "rehearsal" / "app"), "app_deploy_poll_interval": 0.3},
                                quiet=True, timeout=120)
    print(f"app_deploy under ansible-runner: {result.status} in {time.monotonic() - start:.1f} s")
    return result, result.stdout.read()


def cf_calls(gh):
    from rehearsal import calllog  # pylint: disable=import-outside-toplevel

    return [c["argv"][0] for c in calllog.read(gh.home)]


def app(gh):
    from rehearsal import world as world_mod  # pylint: disable=import-outside-toplevel

    state = world_mod.load(gh.home)
    found = next(a for a in state["apps"].values() if a["name"] == "tta-smarthub-prod")
    web = next(p for p in state["processes"].values() if p["app_guid"] == found["guid"] and p["type"] == "web")
    deployments = sorted((d for d in state["deployments"].values() if d["app_guid"] == found["guid"]),
                         key=lambda d: d["created_at"])
    return found, web, deployments


def written(tmp_path, gh) -> str:
    """Every file the run left, except ansible-runner's private data dir: runner 2.4.3 itself writes the whole
    environment (secrets included) to artifacts/<ident>/command, mode 0600; docs/ci.md says to keep that dir private
    and delete it after the job."""
    commands = list((tmp_path / "runner" / "artifacts").glob("*/command"))
    assert commands and all(oct(c.stat().st_mode & 0o777) == "0o600" for c in commands)
    parts = []
    for root in (tmp_path, gh.home):
        for path in Path(root).rglob("*"):
            if path.is_file() and "runner" not in path.relative_to(root).parts[:1] and path.stat().st_size < 5_000_000:
                parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_an_approved_release_deploys(world, tmp_path):
    merge = approved_release(world)
    _app, web_before, _ = app(world)
    result, stdout = deploy(world, tmp_path, merge)
    assert result.status == "successful", stdout
    calls = cf_calls(world)
    assert calls.index("push") < calls.index("run-task") and "cancel-deployment" not in calls
    found, web_after, deployments = app(world)
    assert web_after["guid"] != web_before["guid"] and web_after["instances"] == 3  # a rolling deployment's new web process
    assert deployments[-1]["status"] == {"value": "FINALIZED", "reason": "DEPLOYED"}
    assert found["environment_sha256"]["NEW_RELIC_LICENSE_KEY"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert found["environment_sha256"]["BUILD_COMMIT"] == hashlib.sha256(merge.encode()).hexdigest()
    assert f"tta-smarthub-prod runs {merge[:7]}: 3/3 web instances running, migrations done." in stdout
    assert SECRET not in written(tmp_path, world)
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [e["event"] for e in audit if e["event"] in ("release_gate_passed", "app_pushed", "cf_task_ended")] == [
        "release_gate_passed", "app_pushed", "cf_task_ended"]


def test_a_crash_during_the_rolling_deploy_is_cancelled_and_fails_clearly(world, tmp_path):
    from rehearsal.commands import push  # pylint: disable=import-outside-toplevel

    merge = approved_release(world)
    push.set_deploy_fault(world.home, "tta-smarthub-prod")
    _app, web_before, _ = app(world)
    result, stdout = deploy(world, tmp_path, merge)
    assert result.status == "failed"
    calls = cf_calls(world)
    assert calls.index("push") < calls.index("cancel-deployment") and "run-task" not in calls
    found, web_after, deployments = app(world)
    assert deployments[-1]["status"] == {"value": "FINALIZED", "reason": "CANCELED"}
    assert web_after["guid"] == web_before["guid"] and found["droplet_guid"] == deployments[-1]["previous_droplet_guid"]
    assert (f"Failed to deploy tta-smarthub-prod at {merge[:7]}: Failed to push app tta-smarthub-prod: the new instances "
            "crashed while starting (Start unsuccessful).") in stdout
    assert "The deployment was cancelled (cf cancel-deployment); the previous version keeps serving. Migrations did not run." in stdout
    assert SECRET not in written(tmp_path, world)


def test_an_unapproved_production_commit_is_refused_before_any_push(world, tmp_path):
    number = github_api.open_pull(world.home, PAULA)  # opened, not reviewed, not merged
    head = world.head("main")
    result, stdout = deploy(world, tmp_path, head)
    assert result.status == "failed"
    assert f"Failed to prove that {head[:7]} is an approved release: it is not the merge commit of any pull request into production" in stdout
    assert "push" not in cf_calls(world) and cf_calls(world) == []
    # Merged without the second approval (an admin merge on GitHub): the merge commit is refused too.
    client = GitHubClient(api_url=world.url, repo=github_api.REPO, token=world.token(PAULA))
    merged, _ = client.request("PUT", client.repo_path(f"/pulls/{number}/merge"), action="merge", body={"sha": head})
    result, stdout = deploy(world, tmp_path, merged["sha"])
    assert result.status == "failed" and "no approval of head" in stdout and "by the Government Technical Monitor" in stdout
    assert cf_calls(world) == []
