# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File retrieval end to end: cf_instance_copy and playbooks/scp_retrieve.yml with real OpenSSH (sftp, ssh-keyscan,
ssh) through the rehearsal SSH proxy (asyncssh), the rehearsal cf emulator standing in for cloud.gov.

The helpers here (SshCloud, ProcScanner, codes_in) are also used by test_ssh_access*.py.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
import threading
import typing as t
import uuid

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _ssh
from ansible_collections.ttahub.ops.plugins.modules import cf_instance_copy
from rehearsal import DEPLOYER, ORG_NAME, cfconfig, seed, ssh_proxy
from rehearsal import world as world_mod
from tests.support.modules import run_main
from tests.support.playbooks import Rehearsal

REPO = pathlib.Path(__file__).resolve().parents[2]
CF = str(REPO / "rehearsal" / "bin" / "cf")
WINDOW = re.compile(r"(?=([A-Za-z0-9]{10}))")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("sftp") and shutil.which("ssh-keyscan")), reason="needs the OpenSSH client"),
]


# ---------------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------------


def codes_in(text: str, digests: set[str]) -> set[str]:
    """The one-time codes (10 letters and digits, known by their SHA-256 in the world) that appear in TEXT."""
    found = set()
    for match in WINDOW.finditer(text):
        if hashlib.sha256(match.group(1).encode()).hexdigest() in digests:
            found.add(match.group(1))
    return found


class ProcScanner(threading.Thread):
    """Samples every process's argv (and, as the positive control, the ssh askpass variable of its environment)."""

    def __init__(self, variables: tuple[str, ...] = (_ssh.ASKPASS_VARIABLE,)) -> None:
        super().__init__(daemon=True)
        self.prefixes = tuple(v.encode() + b"=" for v in variables)
        self.stop = threading.Event()
        self.argvs: set[str] = set()
        self.askpass_values: set[str] = set()
        self.rounds = 0

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as fh:
                        argv = fh.read()
                    with open(f"/proc/{pid}/environ", "rb") as fh:
                        environ = fh.read()
                except OSError:
                    continue
                self.argvs.add(argv.replace(b"\0", b" ").decode("utf-8", "replace"))
                for entry in environ.split(b"\0"):
                    if entry.startswith(self.prefixes):
                        self.askpass_values.add(entry.split(b"=", 1)[1].decode())
            self.rounds += 1

    def __enter__(self) -> ProcScanner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(10)


class SshCloud:
    """A freshly seeded world behind a running rehearsal SSH proxy, and a cf session in it."""

    def __init__(self, proxy: dict[str, t.Any], tmp: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.home = str(proxy["home"])
        self.proxy = proxy
        self.tmp = tmp
        seed.seed(self.home)
        world_mod.set_ssh_proxy(self.home, host=proxy["host"], port=proxy["port"], host_key_fingerprint=proxy["fingerprint"])
        self.events_before = len(ssh_proxy.events(self.home))
        monkeypatch.setenv("REHEARSAL_HOME", self.home)
        monkeypatch.setenv("REHEARSAL_PYTHON", sys.executable)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(self.private("runtime")))

    def private(self, name: str) -> pathlib.Path:
        path = self.tmp / name
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def session(self, space: str, user: str = DEPLOYER) -> str:
        cf_home = self.tmp / f"cf-{space}-{user.split('@')[0]}"
        cf_home.mkdir(exist_ok=True)
        cfconfig.issue_session(self.home, cf_home, user, org=ORG_NAME, space=space)
        return str(cf_home)

    def open_prod(self) -> None:
        """Production as it is inside an SSH window: space SSH allowed (the app's own SSH flag on)."""
        world_mod.set_space_ssh(self.home, "ttahub-prod", True)
        world_mod.set_app_ssh(self.home, "ttahub-prod", "tta-smarthub-prod", True)

    def app(self, space: str, app: str) -> dict[str, t.Any]:
        return world_mod.app_by_names(world_mod.load(self.home), space, app)

    def process_guid(self, space: str, app: str, ptype: str = "web") -> str:
        world = world_mod.load(self.home)
        found = world_mod.app_by_names(world, space, app)
        return next(p["guid"] for p in world_mod.processes_of(world, found["guid"]) if p["type"] == ptype)

    def instance(self, space: str, app: str, index: int, ptype: str = "web") -> pathlib.Path:
        return pathlib.Path(ssh_proxy.instance_root(self.home, self.process_guid(space, app, ptype), index))

    def code_digests(self) -> set[str]:
        return set(world_mod.load(self.home)["ssh_codes"])

    def calls(self) -> list[list[str]]:
        from rehearsal import calllog  # pylint: disable=import-outside-toplevel

        return [r["argv"] for r in calllog.read(self.home)]

    def events(self) -> list[dict[str, t.Any]]:
        return ssh_proxy.events(self.home)[self.events_before:]

    def copy(self, capsys: pytest.CaptureFixture[str], space: str, app: str, **params: t.Any) -> dict[str, t.Any]:
        args = {"cf_cli": CF, "cf_home": self.session(space), "app": app, **params}
        return run_main(cf_instance_copy, args, capsys)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    home = tmp_path_factory.mktemp("ssh-cloud")
    seed.seed(home)
    info = ssh_proxy.start(home)
    yield {"home": home, **info}
    ssh_proxy.stop(home)


@pytest.fixture
def cloud(proxy, tmp_path, monkeypatch):
    return SshCloud(proxy, tmp_path, monkeypatch)


# ---------------------------------------------------------------------------------------------------------------------
# The module against the proxy
# ---------------------------------------------------------------------------------------------------------------------


def test_a_file_and_a_folder_from_instances_0_and_1_through_the_web_process_guid(cloud, capsys, tmp_path):
    cloud.open_prod()
    app = cloud.app("ttahub-prod", "tta-smarthub-prod")
    web = cloud.process_guid("ttahub-prod", "tta-smarthub-prod")
    assert web != app["guid"], "the seeded app has been deployed: its web process has its own GUID"
    for index in (0, 1):
        dest = tmp_path / f"case-{index}" / "retrieved"
        got = cloud.copy(capsys, "ttahub-prod", "tta-smarthub-prod", instance=index,
                         remote_path="/home/vcap/app/reports/instance.txt", dest=str(dest))
        assert not got.get("failed"), got.get("msg")
        arrived = dest / "instance.txt"
        assert arrived.read_text() == f"tta-smarthub-prod web instance {index}\n"
        assert got["kind"] == "file" and got["size"] == arrived.stat().st_size
        assert got["sha256"] == hashlib.sha256(arrived.read_bytes()).hexdigest()
        assert got["process_guid"] == web and got["app_guid"] == app["guid"] and got["connections"] == 2
        assert stat.S_IMODE(dest.stat().st_mode) == 0o700 and stat.S_IMODE(dest.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(arrived.stat().st_mode) == 0o600
        folder = cloud.copy(capsys, "ttahub-prod", "tta-smarthub-prod", instance=index, remote_path="app/reports",
                            dest=str(dest))
        assert not folder.get("failed"), folder.get("msg")
        source = cloud.instance("ttahub-prod", "tta-smarthub-prod", index) / "home/vcap/app/reports"
        assert folder["kind"] == "directory" and {f["path"] for f in folder["files"]} == {"instance.txt", "summary.csv"}
        for entry in folder["files"]:
            assert (dest / "reports" / entry["path"]).read_bytes() == (source / entry["path"]).read_bytes()
        assert folder["size"] == sum((source / f).stat().st_size for f in ("instance.txt", "summary.csv"))
        manifest = "".join(f"{f['sha256']}  {f['path']}\n" for f in sorted(folder["files"], key=lambda f: f["path"]))
        assert folder["sha256"] == hashlib.sha256(manifest.encode()).hexdigest()
        assert not list(dest.glob(".ttahub-ops-partial-*")), "the staging folder is gone"
    users = {e["user"] for e in cloud.events() if e["event"] == "auth"}
    assert users == {f"cf:{web}/0", f"cf:{web}/1"}, "always the web process GUID, never the app GUID"
    event = got["audit_events"][0]
    assert event["event"] == "instance_file_copied" and event["sha256"] == got["sha256"] and event["instance"] == 1


def test_each_connection_gets_its_own_code_and_the_proxy_never_takes_one_twice(cloud, capsys, tmp_path):
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="app/package.json",
                     dest=str(tmp_path / "out"), production=False)
    assert not got.get("failed"), got.get("msg")
    assert cloud.calls().count(["ssh-code"]) == got["connections"] == 2
    codes = world_mod.load(cloud.home)["ssh_codes"]
    assert len(codes) == 2 and all(entry["used_at"] is not None for entry in codes.values())
    assert [e["ok"] for e in cloud.events() if e["event"] == "auth"] == [True, True]
    # OpenSSH itself, with one code twice: the proxy takes it once.
    cf_home = cloud.session("ttahub-staging")
    env = {**os.environ, "CF_HOME": cf_home}
    code = subprocess.run([CF, "ssh-code"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    keys = _ssh.parse_keyscan(subprocess.run(["ssh-keyscan", "-p", str(cloud.proxy["port"]), "127.0.0.1"],
                                             capture_output=True, text=True, check=False).stdout)
    keytype, key = _ssh.pin_host_key(keys, _ssh.parse_fingerprint(cloud.proxy["fingerprint"]), "proxy")
    user = _ssh.proxy_user(cloud.process_guid("ttahub-staging", "tta-smarthub-staging"), 0)
    with _ssh.SshWorkspace("127.0.0.1", cloud.proxy["port"], keytype, key, base_dir=str(tmp_path)) as ws:
        argv = ["ssh", *ws.options(user), "-o", "HostName=127.0.0.1", "-p", str(cloud.proxy["port"]), "cloud-gov-ssh-proxy",
                "cat app/reports/instance.txt"]
        first = subprocess.run(argv, env=ws.environment(code), capture_output=True, text=True, timeout=30,
                               start_new_session=True)
        again = subprocess.run(argv, env=ws.environment(code), capture_output=True, text=True, timeout=30,
                               start_new_session=True)
        world_mod.advance_clock(cloud.home, 0)
        fresh = subprocess.run([CF, "ssh-code"], env=env, capture_output=True, text=True, check=True).stdout.strip()
        world_mod.advance_clock(cloud.home, world_mod.SSH_CODE_TTL_S + 1)
        expired = subprocess.run(argv, env=ws.environment(fresh), capture_output=True, text=True, timeout=30,
                                 start_new_session=True)
    assert first.returncode == 0 and first.stdout == "tta-smarthub-staging web instance 0\n"
    assert again.returncode == 255 and "Permission denied" in again.stderr
    assert expired.returncode == 255 and "Permission denied" in expired.stderr
    refusals = [e["reason"] for e in cloud.events() if e["event"] == "auth" and not e["ok"]]
    assert refusals == ["unknown, used or expired code"] * 2


def test_a_changed_host_key_is_refused_before_any_code_is_spent(proxy, cloud, capsys, tmp_path):
    # The proxy's key changes (a new key, as an interceptor would have); the Cloud Controller still publishes the old.
    other = tmp_path / "other-proxy"
    seed.seed(other)
    rotated = ssh_proxy.start(other, new_host_key=True)
    try:
        assert rotated["fingerprint"] != proxy["fingerprint"]
        world_mod.set_ssh_proxy(cloud.home, port=rotated["port"])
        dest = tmp_path / "out"
        got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="app/package.json",
                         dest=str(dest), production=False)
    finally:
        ssh_proxy.stop(other)
        world_mod.set_ssh_proxy(cloud.home, port=proxy["port"])
    assert got["failed"] and got["error_kind"] == "host_key_mismatch"
    assert got["msg"].startswith(f"Failed to verify the SSH proxy's host key at 127.0.0.1:{rotated['port']}")
    assert f"SHA256:{rotated['fingerprint']}" in got["msg"] and f"publishes SHA256:{proxy['fingerprint']}" in got["msg"]
    assert "Do not connect" in got["msg"]
    assert ["ssh-code"] not in cloud.calls() and not dest.exists()
    # The same key published in cloud.gov's MD5 hex form is accepted.
    keys = _ssh.parse_keyscan(subprocess.run(["ssh-keyscan", "-p", str(proxy["port"]), "127.0.0.1"],
                                             capture_output=True, text=True, check=False).stdout)
    md5 = _ssh.key_fingerprints(keys[0][2])["md5"].display().removeprefix("MD5:")
    world_mod.set_ssh_proxy(cloud.home, host_key_fingerprint=md5)
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="app/package.json", dest=str(dest),
                     production=False)
    assert not got.get("failed"), got.get("msg")


def test_space_ssh_off_fails_clearly_naming_the_fix_or_the_procedure(cloud, capsys, tmp_path):
    world_mod.set_space_ssh(cloud.home, "ttahub-staging", False)
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="app/package.json",
                     dest=str(tmp_path / "out"), production=False)
    assert got["failed"] and "ssh is disabled for space 'ttahub-staging'" in got["msg"]
    assert "cf allow-space-ssh ttahub-staging" in got["msg"]
    got = cloud.copy(capsys, "ttahub-prod", "tta-smarthub-prod", remote_path="app/package.json", dest=str(tmp_path / "out"))
    assert got["failed"] and "ssh is disabled for space 'ttahub-prod'" in got["msg"]
    assert "playbooks/scp_retrieve.yml -i inventories/production" in got["msg"]
    assert ["ssh-code"] not in cloud.calls() and not (tmp_path / "out").exists()
    # The proxy refuses on its own too (the pre-check is a courtesy): Space SSH turned off between check and login.
    world_mod.set_space_ssh(cloud.home, "ttahub-staging", True)
    user = _ssh.proxy_user(cloud.process_guid("ttahub-staging", "tta-smarthub-staging"), 0)
    with world_mod.transaction(cloud.home) as world:
        code = world_mod.issue_ssh_code(world, world_mod.require_user(world, DEPLOYER)["guid"])
    world_mod.set_space_ssh(cloud.home, "ttahub-staging", False)
    keys = _ssh.parse_keyscan(subprocess.run(["ssh-keyscan", "-p", str(cloud.proxy["port"]), "127.0.0.1"],
                                             capture_output=True, text=True, check=False).stdout)
    with _ssh.SshWorkspace("127.0.0.1", cloud.proxy["port"], keys[0][0], keys[0][1], base_dir=str(tmp_path)) as ws:
        denied = subprocess.run(["ssh", *ws.options(user), "-o", "HostName=127.0.0.1", "-p", str(cloud.proxy["port"]),
                                 "cloud-gov-ssh-proxy", "true"], env=ws.environment(code), capture_output=True,
                                text=True, timeout=30, start_new_session=True)
    assert denied.returncode == 255 and "Permission denied" in denied.stderr
    assert cloud.events()[-1]["reason"] == "ssh is disabled for space 'ttahub-staging'"


def test_an_existing_destination_is_refused_unless_force(cloud, capsys, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "package.json").write_text("mine\n")
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="app/package.json", dest=str(dest),
                     production=False)
    assert got["failed"] and f"{dest}/package.json already exists" in got["msg"] and "force: true" in got["msg"]
    assert (dest / "package.json").read_text() == "mine\n" and cloud.calls() == []
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="app/package.json", dest=str(dest),
                     production=False, force=True)
    assert not got.get("failed"), got.get("msg")
    assert '"head-start-ttadp"' in (dest / "package.json").read_text()
    # A folder replaces a folder only with force, too.
    (dest / "reports").mkdir()
    (dest / "reports" / "old").write_text("old")
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="app/reports", dest=str(dest),
                     production=False)
    assert got["failed"] and (dest / "reports" / "old").exists()
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="app/reports", dest=str(dest),
                     production=False, force=True)
    assert not got.get("failed") and sorted(p.name for p in (dest / "reports").iterdir()) == ["instance.txt", "summary.csv"]


def test_the_code_is_never_on_any_argv_during_a_transfer(cloud, capsys, tmp_path):
    big = cloud.instance("ttahub-staging", "tta-smarthub-staging", 0) / "home/vcap/app/big.bin"
    with open(big, "wb") as fh:
        fh.write(os.urandom(1 << 20) * 48)
    with ProcScanner() as scanner:
        got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="app/big.bin",
                         dest=str(tmp_path / "out"), production=False)
    assert not got.get("failed"), got.get("msg")
    assert got["size"] == 48 << 20
    digests = cloud.code_digests()
    assert len(digests) == 2
    # The positive control: the scan did see the ssh process of the transfer, with the code in its environment.
    assert codes_in(" ".join(scanner.askpass_values), digests), f"the scan missed the transfer ({scanner.rounds} rounds)"
    leaked = {argv for argv in scanner.argvs if codes_in(argv, digests)}
    assert not leaked
    assert not codes_in(got["_raw"], digests)


def test_shell_syntax_in_a_remote_path_is_taken_literally_and_nothing_else_runs(cloud, capsys, tmp_path):
    canary = f"pwned-{uuid.uuid4().hex}"
    root = cloud.instance("ttahub-staging", "tta-smarthub-staging", 0)
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    odd = f"x'; rm -rf ~ #$(touch {canary}) \"*\" `touch {canary}`"
    folder = root / "home/vcap/app" / odd
    folder.mkdir()
    (folder / "inner; ls").write_text("inner\n")
    (root / "home/vcap/app" / "'; rm -rf ~ #").write_text("literal\n")
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path="/home/vcap/app/'; rm -rf ~ #",
                     dest=str(tmp_path / "out"), production=False)
    assert not got.get("failed"), got.get("msg")
    assert (tmp_path / "out" / "'; rm -rf ~ #").read_text() == "literal\n"
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", remote_path=f"app/{odd}",
                     dest=str(tmp_path / "out"), production=False)
    assert not got.get("failed"), got.get("msg")
    assert (tmp_path / "out" / odd / "inner; ls").read_text() == "inner\n"
    after = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    assert set(before) <= set(after)
    assert not [p for p in (*root.rglob(canary), *tmp_path.rglob(canary), pathlib.Path(canary)) if p.exists()]
    kinds = {e.get("kind") for e in cloud.events() if e["event"] == "session"}
    assert kinds == {"sftp"}, "only the SFTP subsystem ran: no command, no shell"


def test_upload_outside_production_and_its_refusals(cloud, capsys, tmp_path):
    src = tmp_path / "notes.txt"
    src.write_text("from the operator\n")
    params = {"direction": "upload", "src": str(src), "remote_path": "/home/vcap/tmp/notes.txt", "production": False}
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", **params)
    assert not got.get("failed"), got.get("msg")
    remote = cloud.instance("ttahub-staging", "tta-smarthub-staging", 0) / "home/vcap/tmp/notes.txt"
    assert remote.read_text() == "from the operator\n" and got["size"] == remote.stat().st_size
    src.write_text("second\n")
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", **params)
    assert got["failed"] and "already exists on the instance" in got["msg"]
    assert remote.read_text() == "from the operator\n"
    got = cloud.copy(capsys, "ttahub-staging", "tta-smarthub-staging", **params, force=True)
    assert not got.get("failed") and remote.read_text() == "second\n"
    assert not [p for p in remote.parent.iterdir() if "partial" in p.name]


# ---------------------------------------------------------------------------------------------------------------------
# The playbook
# ---------------------------------------------------------------------------------------------------------------------

NON_PRODUCTION = ("-e", "cf_space=ttahub-staging", "-e", "cf_app=tta-smarthub-staging", "-e", "ops_production=false")


@pytest.fixture
def rh(tmp_path):
    rehearsal = Rehearsal(tmp_path)
    ssh_proxy.start(rehearsal.home)
    yield rehearsal
    ssh_proxy.stop(rehearsal.home)


def test_playbook_outside_production_at_vvvv_leaves_no_code_anywhere(rh):
    rh.operator_login(space="ttahub-staging")
    dest = rh.tmp / "retrieved"
    run = rh.playbook("playbooks/scp_retrieve.yml", "-vvvv", *NON_PRODUCTION, "-e", "remote_path=/home/vcap/app/logs/web.log",
                      "-e", f"dest={dest}")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    arrived = dest / "web.log"
    digest = hashlib.sha256(arrived.read_bytes()).hexdigest()
    assert f"{arrived}: file, {arrived.stat().st_size} bytes in 1 file(s), SHA-256 {digest}" in run.stdout
    codes = set(world_mod.load(rh.home)["ssh_codes"])
    assert len(codes) == 2
    for text in (run.stdout, run.stderr, rh.everything_written()):
        assert not codes_in(text, codes)
    assert _audit.verify(str(rh.audit_log)).ok
    copied = [r for r in rh.audit_records() if r["event"] == "instance_file_copied"]
    assert len(copied) == 1 and copied[0]["sha256"] == digest and copied[0]["connections"] == 2
    assert not list((rh.tmp / "runtime").glob("ttahub-ops-*")), "no session or ssh workspace is left"


def personas(rh: Rehearsal) -> None:
    subprocess.run([sys.executable, "-m", "rehearsal.personas", "--home", str(rh.home)], cwd=REPO, env=rh.env,
                   check=True, capture_output=True)


def test_playbook_in_production_refuses_without_the_approvals_and_opens_nothing(rh):
    personas(rh)
    rh.operator_login(space="ttahub-prod")
    run = rh.playbook("playbooks/scp_retrieve.yml", "-e", "remote_path=/home/vcap/app/logs/web.log",
                      "-e", f"dest={rh.tmp / 'retrieved'}")
    assert run.returncode != 0
    assert "Failed to obtain approvals for scp_retrieve in rehearsal" in run.stdout
    argvs = [c["argv"] for c in rh.calls()]
    assert ["ssh-code"] not in argvs and not any(a[0] == "allow-space-ssh" for a in argvs)
    prod = next(s for s in world_mod.load(rh.home)["spaces"].values() if s["name"] == "ttahub-prod")
    assert prod["allow_ssh"] is False and not (rh.tmp / "retrieved").exists()
    failed = [r for r in rh.audit_records() if r["event"] == "approval_gate_failed"]
    assert failed and failed[0]["policy"] == "prod_ssh_access" and failed[0]["reason"] == "noninteractive"


def test_playbook_in_production_with_signed_approvals_copies_inside_a_window_that_closes(rh):
    """The production path: the prod_ssh_access approvals signed by the personas, the space SSH window, the copy."""
    personas(rh)
    # The rehearsal seeds production with the app's own SSH flag off; cloud.gov's production app has it on (the
    # SOP only allows space SSH), so turn it on as it is there.
    world_mod.set_app_ssh(rh.home, "ttahub-prod", "tta-smarthub-prod", True)
    rh.operator_login(space="ttahub-prod")
    approvals = rh.tmp / "approvals"
    request = ("-e", "remote_path=/home/vcap/app/reports", "-e", f"dest={rh.tmp / 'retrieved'}", "-e", "instance=2")
    state = ("-e", f"ops_state_dir={rh.tmp / 'state'}")
    run = rh.playbook("playbooks/approval_request.yml", "-e", "sop=scp_retrieve", "-e", f"approval_dir={approvals}",
                      *request, *state)
    assert run.returncode == 0, run.stdout[-3000:]
    subprocess.run([sys.executable, "-m", "rehearsal.personas", "--home", str(rh.home), "--sign", str(approvals),
                    "--persona", "paula", "--persona", "gideon", "--persona", "vera"], cwd=REPO, env=rh.env,
                   check=True, capture_output=True)
    run = rh.playbook("playbooks/scp_retrieve.yml", *request, *state, "-e", f"ops_approvals_dir={approvals}")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    copied = rh.tmp / "retrieved" / "reports" / "instance.txt"
    assert copied.read_text() == "tta-smarthub-prod web instance 2\n"
    events = [r["event"] for r in rh.audit_records()]
    assert events.index("approval_gate_passed") < events.index("instance_file_copied")
    argvs = [c["argv"] for c in rh.calls()]
    opened = argvs.index(["allow-space-ssh", "ttahub-prod"])
    closed = argvs.index(["disallow-space-ssh", "ttahub-prod"])
    codes = [i for i, a in enumerate(argvs) if a == ["ssh-code"]]
    assert opened < codes[0] and codes[-1] < closed, "the copy ran inside the window"
    prod = next(s for s in world_mod.load(rh.home)["spaces"].values() if s["name"] == "ttahub-prod")
    assert prod["allow_ssh"] is False
    assert _audit.verify(str(rh.audit_log)).ok
