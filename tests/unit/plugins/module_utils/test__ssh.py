# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OpenSSH helpers: fingerprints (checked against real ssh-keygen), listings and failures on recorded output."""

from __future__ import annotations

import base64
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _ssh

REFERENCE = pathlib.Path(__file__).resolve().parents[4].parent / "shared" / "reference" / "cf-cli.md"

# A key and its fingerprints as `ssh-keygen -l -E sha256|md5` printed them (OpenSSH 9.2p1).
KEY_B64 = "AAAAC3NzaC1lZDI1NTE5AAAAIAKREiUrcFX/xMv/WoBfYF7KS0MI0NnoHgIIYK+Ai87Y"
KEY_SHA256 = "SHA256:8Bo8NWHgY9YGM4F0bADJnsG0bynwp5n3lVl8aqwSBr8"
KEY_MD5 = "48:75:db:56:0b:1f:65:be:ef:66:04:4b:7d:a9:c3:0d"

# `sftp -b` output of `ls -lan` against the rehearsal proxy (asyncssh), names with quotes, spaces, ';', '*', tab.
LISTING = """\
sftp> ls -lan "/home/vcap/app"
-rw-r--r--    ? 0        0               5 Nov 28 01:21 /home/vcap/app/$HOME
-rw-r--r--    ? 0        0              13 Nov 28 01:21 /home/vcap/app/'; rm -rf ~ #
drwxr-xr-x    ? 0        0            4096 Nov 28 01:21 /home/vcap/app/.
drwxr-xr-x    ? 0        0            4096 Nov 28 01:20 /home/vcap/app/..
-rw-r--r--    ? 0        0               6 Nov 28 01:20 /home/vcap/app/a b.txt
-rw-r--r--    ? 0        0               6 Nov 28 01:21 /home/vcap/app/q"uote
-rw-r--r--    ? 0        0               5 Nov 28 01:21 /home/vcap/app/st*ar
-rw-r--r--    ? 0        0               8 Nov  3  2025 /home/vcap/app/tab\tname
drwxr-xr-x    ? 0        0            4096 Nov 28 01:21 /home/vcap/app/logs
sftp> ls -lan "/home/vcap/app/q\\"uote dir"
lrwxrwxrwx    ? 0        0              11 Nov 28 01:21 /home/vcap/app/q"uote dir/link
"""

# OpenSSH 9.2p1 stderr (LogLevel=ERROR), recorded against the rehearsal proxy.
DENIED = "cf:8427978f-1981-44d1-b94c-1ed6133b9f0e/0@127.0.0.1: Permission denied (password).\r\nConnection closed\r\n"
REFUSED = "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\nConnection closed\r\n"
CHANGED = (
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
    "Host key for px has changed and you have requested strict checking.\nHost key verification failed.\nConnection closed\n"
)


@pytest.mark.parametrize("published", [
    KEY_SHA256,
    KEY_SHA256.removeprefix("SHA256:"),
    KEY_SHA256.removeprefix("SHA256:") + "=",
    KEY_MD5,
    "MD5:" + KEY_MD5,
    KEY_MD5.replace(":", "").upper(),
])
def test_the_published_fingerprint_pins_the_key_in_each_form(published):
    keys = _ssh.parse_keyscan(f"[127.0.0.1]:2222 ssh-ed25519 {KEY_B64}\n")
    assert _ssh.pin_host_key(keys, _ssh.parse_fingerprint(published), "127.0.0.1:2222") == ("ssh-ed25519", KEY_B64)


def test_sha1_hex_form():
    blob = base64.b64decode(KEY_B64)
    import hashlib  # pylint: disable=import-outside-toplevel

    sha1 = ":".join(f"{b:02x}" for b in hashlib.sha1(blob).digest())
    assert len(sha1) == 59
    assert _ssh.parse_fingerprint(sha1).algorithm == "sha1"
    assert _ssh.pin_host_key([("ssh-ed25519", KEY_B64, blob)], _ssh.parse_fingerprint(sha1), "h:1")[1] == KEY_B64


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs OpenSSH's ssh-keygen")
def test_fingerprints_agree_with_ssh_keygen(tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(key)], check=True)
    blob = base64.b64decode((tmp_path / "k.pub").read_text().split()[1])
    for algo in ("sha256", "md5"):
        line = subprocess.run(["ssh-keygen", "-l", "-E", algo, "-f", str(key) + ".pub"], check=True,
                              capture_output=True, text=True).stdout.split()[1]
        assert _ssh.key_fingerprints(blob)[algo].display() == line
        assert _ssh.parse_fingerprint(line).digest == _ssh.key_fingerprints(blob)[algo].digest


def test_another_key_is_refused_naming_both_fingerprints():
    other = _ssh.parse_fingerprint("kUWIDx6m5g6QaRe19ToAaQIz1svyq/RF08TlewTUfws")
    keys = _ssh.parse_keyscan(f"# 127.0.0.1:2222 SSH-2.0-x\n[127.0.0.1]:2222 ssh-ed25519 {KEY_B64}\n")
    with pytest.raises(_ssh.HostKeyMismatchError) as exc:
        _ssh.pin_host_key(keys, other, "ssh.fr.cloud.gov:2222")
    message = str(exc.value)
    assert message.startswith("Failed to verify the SSH proxy's host key at ssh.fr.cloud.gov:2222: the proxy presented")
    assert KEY_SHA256 in message and "SHA256:kUWIDx6m5g6QaRe19ToAaQIz1svyq/RF08TlewTUfws" in message
    assert "Do not connect" in message
    with pytest.raises(_ssh.SshError, match="offered no host key"):
        _ssh.pin_host_key([], other, "h:1")


@pytest.mark.parametrize("text", ["", "SHA256:short", "zz:zz", "MD5:" + "ab" * 20, "SHA256:" + KEY_MD5])
def test_unusable_fingerprints_are_refused(text):
    with pytest.raises(_ssh.SshError):
        _ssh.parse_fingerprint(text)


def test_endpoints_and_users():
    assert _ssh.parse_endpoint("ssh.fr.cloud.gov:2222") == ("ssh.fr.cloud.gov", 2222)
    assert _ssh.parse_endpoint("[::1]:2200") == ("::1", 2200)
    assert _ssh.parse_endpoint("ssh.example.org") == ("ssh.example.org", 22)
    for bad in ("", "host:99999", "a b:22", "host;rm:22"):
        with pytest.raises(_ssh.SshError):
            _ssh.parse_endpoint(bad)
    assert _ssh.proxy_user("6a901b7c-3f56-4c6f-8f2e-3c6c1d1e9a10", 1) == "cf:6a901b7c-3f56-4c6f-8f2e-3c6c1d1e9a10/1"
    with pytest.raises(_ssh.SshError):
        _ssh.proxy_user("tta-smarthub-prod", 0)


def test_sftp_quoting_is_literal_and_refuses_line_breaks():
    assert _ssh.sftp_quote("/a b/q\"u\\o'te; $(x) *") == '"/a b/q\\"u\\\\o\'te; $(x) *"'
    for bad in ("", "a\nb", "a\rb", "a\x00b"):
        with pytest.raises(_ssh.SshError):
            _ssh.sftp_quote(bad)


def test_listing_parser_on_recorded_output():
    listings = _ssh.parse_sftp_listing(LISTING)
    entries = {e.name: e for e in listings["/home/vcap/app"]}
    assert entries["'; rm -rf ~ #"] == _ssh.ListingEntry("-", 13, "/home/vcap/app/'; rm -rf ~ #")
    assert entries["a b.txt"].size == 6 and entries['q"uote'].size == 6 and entries["st*ar"].size == 5
    assert entries["tab\tname"].size == 8  # the year form of the date
    assert entries["logs"].kind == "d" and {".", ".."} <= set(entries)
    assert listings['/home/vcap/app/q"uote dir'] == [_ssh.ListingEntry("l", 11, '/home/vcap/app/q"uote dir/link')]


def test_ssh_failures_on_recorded_stderr():
    denied = _ssh.classify_ssh_failure("copy x", 255, DENIED, endpoint="h:1", refused_hint="Allow it")
    assert isinstance(denied, _ssh.SshPermissionDeniedError) and denied.message.endswith("(Permission denied). Allow it.")
    assert isinstance(_ssh.classify_ssh_failure("copy x", 255, CHANGED, endpoint="h:1", refused_hint=""),
                      _ssh.HostKeyMismatchError)
    refused = _ssh.classify_ssh_failure("copy x", 255, REFUSED, endpoint="h:1", refused_hint="")
    assert isinstance(refused, _ssh.SshConnectError) and "Connection refused" in refused.message
    other = _ssh.classify_ssh_failure("copy x", 1, 'Can\'t ls: "/nope" not found\n', endpoint="h:1", refused_hint="")
    assert other.kind == "ssh_remote_error" and '"/nope" not found' in other.message


# cf-cli.md §3.8: cf ssh's own failures (stderr, then FAILED on stdout, exit 1).
CF_SSH_ERRORS = {
    "Application 'tta-smarthub-dev' is not in the STARTED state": (_ssh.SshError, "is not started"),
    "Instance 3 of process web not found": (_ssh.SshError, "instance 3 of the web process does not exist"),
    "Instance 1 of process worker not running": (_ssh.SshError, "is not running"),
    "SSH endpoint not set": (_ssh.SshError, "publishes no SSH endpoint"),
    "Error opening SSH connection: You are not authorized to perform the requested action.":
        (_ssh.SshPermissionDeniedError, "HINT"),
    'Host key verification failed.\n\nThe fingerprint of the received key was "ab:cd".': (_ssh.HostKeyMismatchError, "Do not connect"),
    "Not logged in. Use 'cf login' or 'cf login --sso' to log in.": (_ssh.CfError, "not logged in"),
}


@pytest.mark.parametrize("stderr", sorted(CF_SSH_ERRORS))
def test_cf_ssh_failures_are_cf_errors(stderr):
    cls, text = CF_SSH_ERRORS[stderr]
    error = _ssh.classify_cf_ssh("run x", ["cf", "ssh"], 1, "FAILED\n", stderr + "\n", refused_hint="HINT")
    assert isinstance(error, cls) and text in error.message


def test_the_remote_exit_status_is_not_an_error():
    assert _ssh.classify_cf_ssh("run x", [], 127, "", "bash: line 1: asdf: command not found\n", refused_hint="") is None
    assert _ssh.classify_cf_ssh("run x", [], 1, "", "grep found nothing\n", refused_hint="") is None
    assert _ssh.classify_cf_ssh("run x", [], 1, "out\nFAILED\n", "something of its own\n", refused_hint="") is None


@pytest.mark.skipif(not REFERENCE.exists(), reason="the shared reference is not here")
def test_the_cf_ssh_texts_are_the_references():
    text = REFERENCE.read_text(encoding="utf-8")
    for fragment in ("is not in the STARTED state", "Instance N of process TYPE not found",
                     "Instance N of process TYPE not running", "SSH endpoint not set",
                     "Error opening SSH connection: You are not authorized to perform the requested action.",
                     "Host key verification failed.", "exit code = remote exit status"):
        assert fragment in text.replace("**", ""), fragment


def test_refusal_hints_name_the_fix_or_the_procedure():
    space = _ssh.ssh_refused_hint("ssh is disabled for space 'ttahub-dev'", "tta-smarthub-dev", False, "scp_retrieve")
    assert "cf allow-space-ssh ttahub-dev" in space and "playbooks/ssh_access.yml" in space
    app = _ssh.ssh_refused_hint("ssh is disabled for app", "tta-smarthub-dev", False, "scp_retrieve")
    assert "cf enable-ssh tta-smarthub-dev" in app and "restart" in app
    prod = _ssh.ssh_refused_hint("ssh is disabled for space 'ttahub-prod'", "tta-smarthub-prod", True, "scp_retrieve")
    assert "playbooks/scp_retrieve.yml -i inventories/production" in prod and "prod_ssh_access" in prod
    assert "allow-space-ssh" not in prod
    assert "Vendor Tech Lead" in _ssh.ssh_refused_hint("ssh is disabled for app", "tta-smarthub-prod", True, "ssh_access")
    assert "cloud.gov support" in _ssh.ssh_refused_hint("ssh is disabled globally", "a", False, "x")


def test_workspace_is_private_holds_no_code_and_goes_away(tmp_path):
    code = "Zq81bT3kLm"
    with _ssh.SshWorkspace("127.0.0.1", 2222, "ssh-ed25519", KEY_B64, base_dir=str(tmp_path)) as ws:
        assert stat.S_IMODE(os.stat(ws.path).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(ws.askpass).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(ws.known_hosts).st_mode) == 0o600
        assert pathlib.Path(ws.known_hosts).read_text() == f"cloud-gov-ssh-proxy ssh-ed25519 {KEY_B64}\n"
        env = ws.environment(code)
        assert env["SSH_ASKPASS"] == ws.askpass and env["SSH_ASKPASS_REQUIRE"] == "force"
        assert "SSH_AUTH_SOCK" not in env
        # The helper prints the code from its environment (the prompt is its argument) and holds none itself.
        printed = subprocess.run([ws.askpass, "cf:x/0@host's password: "], env=env, capture_output=True, text=True, check=True)
        assert printed.stdout == code + "\n"
        ws.batch(['get "a" "b"'])
        for path in pathlib.Path(ws.path).iterdir():
            assert code not in path.read_text()
        opts = ws.options("cf:x/0")
        assert ["-F", "/dev/null"] == opts[:2]
        joined = " ".join(opts)
        for wanted in ("StrictHostKeyChecking=yes", f"UserKnownHostsFile={ws.known_hosts}", "GlobalKnownHostsFile=/dev/null",
                       "BatchMode=no", "NumberOfPasswordPrompts=1", "PubkeyAuthentication=no", "ControlPath=none"):
            assert wanted in joined
        assert "StrictHostKeyChecking=no" not in joined and code not in joined
        path = ws.path
    assert not os.path.exists(path)


def test_the_helper_never_lands_on_a_noexec_mount(monkeypatch, tmp_path):
    shm, other = str(tmp_path / "shm"), str(tmp_path / "tmp")
    monkeypatch.setattr(_ssh, "session_base_dir", lambda: shm)
    monkeypatch.setattr(_ssh.tempfile, "gettempdir", lambda: other)
    real = os.statvfs

    class NoExec:
        f_flag = os.ST_NOEXEC

    monkeypatch.setattr(_ssh.os, "statvfs", lambda path: NoExec() if path == shm else real(tmp_path))
    assert _ssh.executable_base_dir() == other
    monkeypatch.setattr(_ssh.os, "statvfs", lambda path: real(tmp_path))
    assert _ssh.executable_base_dir() == shm
