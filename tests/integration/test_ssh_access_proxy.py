# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rehearsal SSH proxy with real OpenSSH clients: who gets in, what runs, what it serves, tunnels, start/stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import socketserver
import subprocess
import threading
import time

import pytest
from test_scp_retrieve import CF, SshCloud

from ansible_collections.ttahub.ops.plugins.module_utils import _ssh
from rehearsal import DEPLOYER, seed, ssh_proxy
from rehearsal import world as world_mod

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("ssh") and shutil.which("scp")), reason="needs the OpenSSH client"),
]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    home = tmp_path_factory.mktemp("proxy-cloud")
    seed.seed(home)
    info = ssh_proxy.start(home)
    yield {"home": home, **info}
    ssh_proxy.stop(home)


@pytest.fixture
def cloud(proxy, tmp_path, monkeypatch):
    return SshCloud(proxy, tmp_path, monkeypatch)


def code_for(cloud: SshCloud, username: str = DEPLOYER) -> str:
    with world_mod.transaction(cloud.home) as world:
        return world_mod.issue_ssh_code(world, world_mod.require_user(world, username)["guid"])


def openssh(cloud: SshCloud, tool: str, user: str, *args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    port = cloud.proxy["port"]
    keys = _ssh.parse_keyscan(subprocess.run(["ssh-keyscan", "-p", str(port), "127.0.0.1"], capture_output=True,
                                             text=True, check=False).stdout)
    keytype, key = _ssh.pin_host_key(keys, _ssh.parse_fingerprint(cloud.proxy["fingerprint"]), "proxy")
    with _ssh.SshWorkspace("127.0.0.1", port, keytype, key, base_dir=str(cloud.private("ws"))) as ws:
        port_flag = "-p" if tool == "ssh" else "-P"
        argv = [tool, *ws.options(user), "-o", "HostName=127.0.0.1", port_flag, str(port), *args]
        return subprocess.run(argv, env=ws.environment(code or code_for(cloud)), capture_output=True, text=True,
                              timeout=30, start_new_session=True, stdin=subprocess.DEVNULL)


def staging_user(cloud: SshCloud, index: int = 0) -> str:
    return _ssh.proxy_user(cloud.process_guid("ttahub-staging", "tta-smarthub-staging"), index)


def run(cloud: SshCloud, command: str) -> subprocess.CompletedProcess[str]:
    return openssh(cloud, "ssh", staging_user(cloud), "cloud-gov-ssh-proxy", command)


def test_exec_runs_only_the_allow_listed_commands_inside_the_instance(cloud):
    ok = run(cloud, "cat app/reports/instance.txt")
    assert (ok.returncode, ok.stdout) == (0, "tta-smarthub-staging web instance 0\n")
    assert run(cloud, "echo 'a  b' c").stdout == "a  b c\n"
    assert run(cloud, "pwd").stdout == "/home/vcap\n" and run(cloud, "whoami").stdout == "vcap\n"
    missing = run(cloud, "asdf --x")
    assert missing.returncode == 127 and missing.stderr == "bash: line 1: asdf: command not found\n"
    root = cloud.instance("ttahub-staging", "tta-smarthub-staging", 0)
    for command in ("echo a; touch hacked", "echo a && touch hacked", "echo $(touch hacked)", "echo `touch hacked`",
                    "echo a | tee hacked", "echo a > hacked"):
        refused = run(cloud, command)
        assert refused.returncode == 2 and "shell syntax" in refused.stderr, command
    for shell in ("sh -c 'touch hacked'", "/bin/bash -c 'touch hacked'"):
        assert run(cloud, shell).returncode == 126
    assert not list(root.rglob("hacked"))
    assert run(cloud, "exit 7").returncode == 7 and run(cloud, "false").returncode == 1


def test_paths_never_leave_the_instance_folder(cloud, tmp_path):
    secret = tmp_path / "outside.txt"
    secret.write_text("host file\n")
    root = cloud.instance("ttahub-staging", "tta-smarthub-staging", 0)
    os.symlink(secret, root / "home/vcap/app/escape")
    assert run(cloud, f"cat {secret}").returncode == 1
    assert "No such file" in run(cloud, "cat ../../../../../../etc/hostname").stderr
    assert "Permission denied" in run(cloud, "cat app/escape").stderr
    out = tmp_path / "got"
    for remote in ("/../../../../etc/hostname", "app/escape", str(secret)):
        got = openssh(cloud, "scp", staging_user(cloud), f"cloud-gov-ssh-proxy:{remote}", str(out))
        assert got.returncode != 0 and not out.exists(), remote
    listed = openssh(cloud, "sftp", staging_user(cloud), "-b", "-", "cloud-gov-ssh-proxy")
    assert listed.returncode == 0  # an empty batch: the session opens and closes cleanly


def test_scp_in_both_protocols_and_the_exit_status(cloud, tmp_path):
    for flag, name in (("-O", "legacy"), ("-s", "sftp")):
        out = tmp_path / name
        got = openssh(cloud, "scp", staging_user(cloud), flag, "-r", "cloud-gov-ssh-proxy:app/reports", str(out))
        assert got.returncode == 0, got.stderr
        assert (out / "instance.txt").read_text() == "tta-smarthub-staging web instance 0\n"
    kinds = [e["kind"] for e in cloud.events() if e["event"] == "session"]
    assert kinds == ["scp", "sftp"]


def test_who_gets_in_is_what_the_cloud_controller_allows(cloud):
    app = cloud.app("ttahub-staging", "tta-smarthub-staging")
    web = cloud.process_guid("ttahub-staging", "tta-smarthub-staging")
    cases = []
    cases.append((f"cf:{app['guid']}/0", "no process"))  # the app GUID: right only before the first deployment
    cases.append((f"cf:{web}/1", "instance 1 of process web not found"))
    cases.append(("vcap", "user is not cf:<process guid>/<index>"))
    for user, reason in cases:
        got = openssh(cloud, "ssh", user, "cloud-gov-ssh-proxy", "true")
        assert got.returncode == 255 and "Permission denied" in got.stderr, user
        assert reason in cloud.events()[-1]["reason"], user
    world_mod.set_instance_state(cloud.home, "ttahub-staging", "tta-smarthub-staging", "web", 0, "CRASHED")
    assert run(cloud, "true").returncode == 255 and "is CRASHED" in cloud.events()[-1]["reason"]
    world_mod.set_instance_state(cloud.home, "ttahub-staging", "tta-smarthub-staging", "web", 0, "RUNNING")
    world_mod.set_app_ssh(cloud.home, "ttahub-staging", "tta-smarthub-staging", False)
    assert run(cloud, "true").returncode == 255 and cloud.events()[-1]["reason"] == "ssh is disabled for app"
    world_mod.set_app_ssh(cloud.home, "ttahub-staging", "tta-smarthub-staging", True)
    world_mod.revoke_role(cloud.home, DEPLOYER, "space_developer", space="ttahub-staging")
    assert run(cloud, "true").returncode == 255 and "Space Developer" in cloud.events()[-1]["reason"]
    world_mod.grant_role(cloud.home, DEPLOYER, "space_developer", space="ttahub-staging")
    assert run(cloud, "true").returncode == 0


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            data = self.request.recv(100)
            self.request.sendall(b"db says " + data)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cf_ssh_tunnels_reach_only_the_service_hosts_of_the_world(cloud):
    server = _Server(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = "ttahub-staging.db.rehearsal.cloud.gov.invalid"
    with world_mod.transaction(cloud.home) as world:
        world["network"]["hosts"][host] = f"127.0.0.1:{server.server_address[1]}"
    local = _free_port()
    env = {**os.environ, "CF_HOME": cloud.session("ttahub-staging")}
    tunnel = subprocess.Popen([CF, "ssh", "-N", "-L", f"{local}:{host}:5432", "tta-smarthub-staging"], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        reply = b""
        while time.monotonic() < deadline and not reply:
            try:
                with socket.create_connection(("127.0.0.1", local), timeout=2) as sock:
                    sock.sendall(b"hello")
                    reply = sock.recv(100)
            except OSError:
                time.sleep(0.1)
    finally:
        tunnel.send_signal(signal.SIGTERM)
        out, err = tunnel.communicate(timeout=20)
        server.shutdown()
        server.server_close()
    assert reply == b"db says hello", err
    assert tunnel.returncode in (0, 143, 255), (tunnel.returncode, out, err)
    tunnels = [e for e in cloud.events() if e.get("kind") == "tunnel"]
    assert tunnels and all(e["ok"] and e["dest"] == f"{host}:5432" for e in tunnels)
    # A host the world does not name stays unreachable.
    got = openssh(cloud, "ssh", staging_user(cloud), "-N", "-o", "ExitOnForwardFailure=yes", "-W", "example.com:80",
                  "cloud-gov-ssh-proxy")
    assert got.returncode != 0 and cloud.events()[-1]["ok"] is False


def test_start_stop_and_the_host_key_across_restarts(tmp_path):
    home = tmp_path / "home"
    seed.seed(home)
    first = ssh_proxy.start(home)
    try:
        assert ssh_proxy.start(home) == first, "start is idempotent"
        assert ssh_proxy.status(home) == first
        published = world_mod.load(home)["ssh_proxy"]
        assert published == {"host": "127.0.0.1", "port": first["port"], "host_key_fingerprint": first["fingerprint"]}
        assert len(first["fingerprint"]) == 43, "cloud.gov's form: SHA-256 base64 without padding"
        key = home / "ssh_proxy" / "host_key"
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        assert ssh_proxy.stop(home) is True and ssh_proxy.status(home) is None
        assert not (home / "ssh_proxy" / "proxy.pid").exists()
        again = ssh_proxy.start(home)
        assert again["fingerprint"] == first["fingerprint"] and again["pid"] != first["pid"]
        rotated = ssh_proxy.start(home, new_host_key=True)
        assert rotated["fingerprint"] != first["fingerprint"]
        assert world_mod.load(home)["ssh_proxy"]["host_key_fingerprint"] == rotated["fingerprint"]
    finally:
        ssh_proxy.stop(home)
    assert ssh_proxy.stop(home) is False
