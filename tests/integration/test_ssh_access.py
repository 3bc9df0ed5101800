# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SSH access end to end: playbooks/ssh_access.yml and cf_instance_command through the emulated `cf ssh` and the
rehearsal SSH proxy (real OpenSSH underneath)."""

from __future__ import annotations

import shutil

import pytest
from test_scp_retrieve import CF, NON_PRODUCTION, ProcScanner, SshCloud, codes_in

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from ansible_collections.ttahub.ops.plugins.modules import cf_instance_command
from rehearsal import seed, ssh_proxy
from rehearsal import world as world_mod
from tests.support.modules import run_main
from tests.support.playbooks import Rehearsal

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("ssh") and shutil.which("ssh-keyscan")), reason="needs the OpenSSH client"),
]


@pytest.fixture
def rh(tmp_path):
    rehearsal = Rehearsal(tmp_path)
    ssh_proxy.start(rehearsal.home)
    yield rehearsal
    ssh_proxy.stop(rehearsal.home)


def space(rh: Rehearsal, name: str) -> dict:
    return next(s for s in world_mod.load(rh.home)["spaces"].values() if s["name"] == name)


def test_outside_production_it_turns_ssh_on_then_runs_the_command(rh):
    world_mod.set_space_ssh(rh.home, "ttahub-staging", False)
    world_mod.set_app_ssh(rh.home, "ttahub-staging", "tta-smarthub-staging", False)
    rh.operator_login(space="ttahub-staging")
    run = rh.playbook("playbooks/ssh_access.yml", *NON_PRODUCTION, "-e", "command='cat app/reports/instance.txt'")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert '"stdout": "tta-smarthub-staging web instance 0\\n"' in run.stdout and '"rc": 0' in run.stdout
    assert "restart the app (cf restart tta-smarthub-staging --strategy rolling)" in run.stdout.lower()
    assert space(rh, "ttahub-staging")["allow_ssh"] is True
    events = [r["event"] for r in rh.audit_records()]
    assert events.index("space_ssh_allowed") < events.index("app_ssh_enabled") < events.index("instance_command_run")
    ran = next(r for r in rh.audit_records() if r["event"] == "instance_command_run")
    assert ran["command"] == "cat app/reports/instance.txt" and ran["rc"] == 0
    assert ["ssh", "tta-smarthub-staging", "-i", "0", "--process", "web", "-T", "-c", "cat app/reports/instance.txt"] in [
        c["argv"] for c in rh.calls()]
    codes = set(world_mod.load(rh.home)["ssh_codes"])
    assert codes and not codes_in(run.stdout + run.stderr + rh.everything_written(), codes)
    assert _audit.verify(str(rh.audit_log)).ok


def test_a_failing_command_fails_the_run_with_its_output_and_status(rh):
    rh.operator_login(space="ttahub-staging")
    run = rh.playbook("playbooks/ssh_access.yml", *NON_PRODUCTION, "-e", "command='ls /home/vcap/nope'")
    assert run.returncode != 0
    assert "the command exited 2" in run.stdout
    assert "ls: cannot access '/home/vcap/nope': No such file or directory" in run.stdout
    ran = next(r for r in rh.audit_records() if r["event"] == "instance_command_run")
    assert ran["rc"] == 2


def test_without_a_command_it_prints_the_interactive_command(rh):
    rh.operator_login(space="ttahub-staging")
    run = rh.playbook("playbooks/ssh_access.yml", *NON_PRODUCTION)
    assert run.returncode == 0, run.stdout[-3000:]
    assert '"msg": "cf target -o hhs-acf-ohs-tta -s ttahub-staging && cf ssh tta-smarthub-staging"' in run.stdout
    assert not [c for c in rh.calls() if c["argv"][0] in ("ssh", "ssh-code")]


def test_in_production_it_refuses_without_the_approvals(rh):
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    subprocess.run([sys.executable, "-m", "rehearsal.personas", "--home", str(rh.home)], env=rh.env, check=True,
                   capture_output=True)
    rh.operator_login(space="ttahub-prod")
    run = rh.playbook("playbooks/ssh_access.yml", "-e", "command=true")
    assert run.returncode != 0 and "Failed to obtain approvals for ssh_access in rehearsal" in run.stdout
    assert not [c for c in rh.calls() if c["argv"][0] in ("ssh", "ssh-code", "allow-space-ssh", "enable-ssh")]
    assert space(rh, "ttahub-prod")["allow_ssh"] is False


# --- the module, in process ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    home = tmp_path_factory.mktemp("ssh-access-cloud")
    seed.seed(home)
    info = ssh_proxy.start(home)
    yield {"home": home, **info}
    ssh_proxy.stop(home)


def test_cf_ssh_keeps_the_code_off_every_argv(proxy, tmp_path, monkeypatch, capsys):
    cloud = SshCloud(proxy, tmp_path, monkeypatch)
    args = {"cf_cli": CF, "cf_home": cloud.session("ttahub-staging"), "app": "tta-smarthub-staging", "production": False}
    with ProcScanner(variables=("REHEARSAL_SSH_CODE",)) as scanner:
        got = run_main(cf_instance_command, {**args, "command": "sleep 0.5"}, capsys)
    assert not got.get("failed"), got.get("msg")
    digests = cloud.code_digests()
    assert len(digests) == 1
    assert codes_in(" ".join(scanner.askpass_values), digests), "the scan missed the ssh process"
    assert not {argv for argv in scanner.argvs if codes_in(argv, digests)}


def test_cf_ssh_errors_name_the_fix(proxy, tmp_path, monkeypatch, capsys):
    cloud = SshCloud(proxy, tmp_path, monkeypatch)
    args = {"cf_cli": CF, "cf_home": cloud.session("ttahub-staging"), "app": "tta-smarthub-staging", "production": False}
    world_mod.set_space_ssh(cloud.home, "ttahub-staging", False)
    got = run_main(cf_instance_command, {**args, "command": "true"}, capsys)
    assert got["failed"] and "refused the connection: ssh is disabled for space 'ttahub-staging'" in got["msg"]
    assert "cf allow-space-ssh ttahub-staging" in got["msg"]
    world_mod.set_space_ssh(cloud.home, "ttahub-staging", True)
    got = run_main(cf_instance_command, {**args, "command": "true", "instance": 4}, capsys)
    assert got["failed"] and "instance 4 of the web process does not exist" in got["msg"]
    world_mod.set_ssh_proxy(cloud.home, host_key_fingerprint="a6:d1:08:0b:b0:cb:9b:5f:c4:ba:44:2a:97:26:19:8a")
    got = run_main(cf_instance_command, {**args, "command": "true"}, capsys)
    assert got["failed"] and got["error_kind"] == "host_key_mismatch"
    assert not [e for e in cloud.events() if e["event"] == "session"], "nothing ran on the instance"


def test_in_production_with_signed_approvals_the_command_runs_inside_a_window_that_closes(rh):
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    subprocess.run([sys.executable, "-m", "rehearsal.personas", "--home", str(rh.home)], env=rh.env, check=True,
                   capture_output=True)
    world_mod.set_app_ssh(rh.home, "ttahub-prod", "tta-smarthub-prod", True)  # on, as on cloud.gov (see scp tests)
    rh.operator_login(space="ttahub-prod")
    approvals = rh.tmp / "approvals"
    command = ("-e", "command='cat app/reports/instance.txt'")
    state = ("-e", f"ops_state_dir={rh.tmp / 'state'}")
    run = rh.playbook("playbooks/approval_request.yml", "-e", "sop=ssh_access", "-e", f"approval_dir={approvals}",
                      *command, *state)
    assert run.returncode == 0, run.stdout[-3000:]
    subprocess.run([sys.executable, "-m", "rehearsal.personas", "--home", str(rh.home), "--sign", str(approvals),
                    "--persona", "paula", "--persona", "gideon", "--persona", "vera"], env=rh.env, check=True,
                   capture_output=True)
    run = rh.playbook("playbooks/ssh_access.yml", *command, *state, "-e", f"ops_approvals_dir={approvals}")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert '"stdout": "tta-smarthub-prod web instance 0\\n"' in run.stdout
    argvs = [c["argv"] for c in rh.calls()]
    opened = argvs.index(["allow-space-ssh", "ttahub-prod"])
    ran = next(i for i, a in enumerate(argvs) if a[0] == "ssh")
    closed = argvs.index(["disallow-space-ssh", "ttahub-prod"])
    assert opened < ran < closed and ["enable-ssh", "tta-smarthub-prod"] not in argvs
    assert space(rh, "ttahub-prod")["allow_ssh"] is False
    assert _audit.verify(str(rh.audit_log)).ok
