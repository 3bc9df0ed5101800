# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``cf ssh APP [-i N] [--process TYPE] [-c CMD]... [-T|-t|--force-pseudo-tty] [-N] [-L SPEC]... [-k]`` (§3.8).

The flow of cf's ssh command: the endpoint and host key fingerprint from the Cloud Controller root, a one-time code
for the session's user, the app (started), its process and instance (present, running), then a connection to the
rehearsal SSH proxy (``rehearsal.ssh_proxy``) as ``cf:<PROCESS_GUID>/<index>``. The connection is OpenSSH's ``ssh``
(the emulator stays standard-library only): the proxy's key is pinned from the published fingerprint (cf's
``Host key verification failed.`` otherwise), the code goes to ssh through ``SSH_ASKPASS`` from the environment,
never on an argv or in a file, and the private folder holding the helper is removed when ssh ends. The exit code is
the remote exit status; cf's own failures are cf's texts (stderr, ``FAILED``, exit 1).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from rehearsal import world as world_mod
from rehearsal.commands.base import Args, Context, Flag, command
from rehearsal.ui import CfError, FlagError

HOST_ALIAS = "cloud-gov-ssh-proxy"
NOT_AUTHORIZED = "Error opening SSH connection: You are not authorized to perform the requested action."
TTY_FLAGS = "--disable-pseudo-tty, -T, --force-pseudo-tty, --request-pseudo-tty, -t"
ASKPASS = '#!/bin/sh\nprintf \'%s\\n\' "${REHEARSAL_SSH_CODE}"\n'


def _fingerprint_matches(expected: str, blob: bytes) -> tuple[bool, str]:
    """cf's clissh: the expected form is chosen by length (SHA-256 base64 43, SHA-1 hex 59, MD5 hex 47)."""
    value = expected.strip()
    if len(value) == 59:
        got = ":".join(f"{b:02x}" for b in hashlib.sha1(blob).digest())
    elif len(value) == 47:
        got = ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())
    else:
        got = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
        value = value.removeprefix("SHA256:").rstrip("=")
    return got.lower() == value.lower(), got


def _scan(host: str, port: int) -> list[tuple[str, str, bytes]]:
    keyscan = shutil.which("ssh-keyscan")
    if keyscan is None:
        raise CfError("Error opening SSH connection: the rehearsal needs OpenSSH's ssh-keyscan on PATH")
    try:
        out = subprocess.run([keyscan, "-T", "5", "-t", "ed25519,ecdsa,rsa", "-p", str(port), host], check=False,
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=30).stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        out = ""
    keys = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            try:
                keys.append((parts[1], parts[2], base64.b64decode(parts[2], validate=True)))
            except (binascii.Error, ValueError):
                continue
    return keys


def _private_dir() -> str:
    for base in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm", None):
        if base is None or (os.path.isdir(base) and os.access(base, os.W_OK)
                            and not os.statvfs(base).f_flag & getattr(os, "ST_NOEXEC", 0)):
            path = tempfile.mkdtemp(prefix="rehearsal-cf-ssh-", dir=base)
            os.chmod(path, 0o700)
            return path
    raise CfError("Error opening SSH connection: no private temporary folder")


def _write(path: str, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


@command("ssh", description="SSH to an application container instance",
         usage="CF_NAME ssh APP_NAME [--process PROCESS] [-i INDEX] [-c COMMAND]...\n"
               "   [-L [BIND_ADDRESS:]LOCAL_PORT:REMOTE_HOST:REMOTE_PORT]... [--skip-remote-execution]\n"
               "   [--disable-pseudo-tty | --force-pseudo-tty | --request-pseudo-tty] [--skip-host-validation]",
         args=("APP_NAME",),
         flags=(Flag("app-instance-index", "i", value=True, help="App process instance index (Default: 0)"),
                Flag("command", "c", value=True, repeat=True, help="Command to run"),
                Flag("disable-pseudo-tty", "T", help="Disable pseudo-tty allocation"),
                Flag("force-pseudo-tty", help="Force pseudo-tty allocation"),
                Flag(None, "L", value=True, repeat=True,
                     help="Local port forward specification"),
                Flag("process", value=True, help="App process name (Default: web)"),
                Flag("request-pseudo-tty", "t", help="Request pseudo-tty allocation"),
                Flag("skip-host-validation", "k", help="Skip host key validation. Not recommended!"),
                Flag("skip-remote-execution", "N", help="Do not execute a remote command")),
         related="allow-space-ssh, enable-ssh, space-ssh-allowed, ssh-code, ssh-enabled")
def ssh(ctx: Context, a: Args) -> int:
    if sum(bool(a[f]) for f in ("disable_pseudo_tty", "force_pseudo_tty", "request_pseudo_tty")) > 1:
        raise FlagError(f"The following arguments cannot be used together: {TTY_FLAGS}")
    try:
        index = int(a["app_instance_index"] or 0)
    except ValueError:
        raise FlagError("invalid argument for flag `-i' (expected int)") from None
    ptype = a["process"] or "web"
    ctx.check_target(True, True)
    name = a["APP_NAME"]
    with ctx.world() as world:
        proxy = dict(world["ssh_proxy"])
        session, app = ctx.find_app(world, name)
        if app["state"] != "STARTED":
            raise CfError(f"Application '{name}' is not in the STARTED state")
        proc = next((p for p in world_mod.processes_of(world, app["guid"]) if p["type"] == ptype), None)
        if proc is None:
            raise CfError(f"Process {ptype} not found")
        from rehearsal import cc_api  # pylint: disable=import-outside-toplevel

        stats = cc_api.process_stats(world, proc, world_mod.now(world))
        if index < 0 or index >= len(stats):
            raise CfError(f"Instance {index} of process {ptype} not found")
        if stats[index]["state"] != "RUNNING":
            raise CfError(f"Instance {index} of process {ptype} not running")
        code = world_mod.issue_ssh_code(world, session.user["guid"])
    host, port = str(proxy.get("host") or ""), int(proxy.get("port") or 0)
    if not host or not port:
        raise CfError("SSH endpoint not set")
    keys = _scan(host, port)
    if not keys:
        raise CfError(f"Error opening SSH connection: dial tcp {host}:{port}: connect: connection refused")
    chosen = keys[0]
    if not a["skip_host_validation"]:
        expected = str(proxy.get("host_key_fingerprint") or "")
        matches = [(k, _fingerprint_matches(expected, k[2])) for k in keys]
        good = [k for k, (ok, _) in matches if ok]
        if not good:
            raise CfError(f'Host key verification failed.\n\nThe fingerprint of the received key was "{matches[0][1][1]}".')
        chosen = good[0]
    return _connect(ctx, a, host, port, f"cf:{proc['guid']}/{index}", chosen, code)


def _connect(ctx: Context, a: Args, host: str, port: int, user: str, key: tuple[str, str, bytes], code: str) -> int:
    workdir = _private_dir()
    proc: subprocess.Popen[bytes] | None = None
    previous: dict[int, object] = {}
    try:
        askpass, known_hosts, log = (os.path.join(workdir, n) for n in ("askpass", "known_hosts", "ssh.log"))
        _write(askpass, ASKPASS, 0o700)
        _write(known_hosts, f"{HOST_ALIAS} {key[0]} {key[1]}\n", 0o600)
        argv = ["ssh", "-F", "/dev/null", "-p", str(port), "-E", log]
        for option in (f"User={user}", f"HostName={host}", f"HostKeyAlias={HOST_ALIAS}",
                       f"UserKnownHostsFile={known_hosts}", "GlobalKnownHostsFile=/dev/null",
                       "StrictHostKeyChecking=yes", "CheckHostIP=no", "UpdateHostKeys=no", "BatchMode=no",
                       "PreferredAuthentications=password", "PubkeyAuthentication=no", "IdentitiesOnly=yes",
                       "IdentityAgent=none", "NumberOfPasswordPrompts=1", "ControlMaster=no", "ControlPath=none",
                       "LogLevel=ERROR", "ExitOnForwardFailure=yes", "ServerAliveInterval=15"):
            argv += ["-o", option]
        commands = a["command"] or []
        if a["force_pseudo_tty"]:
            argv.append("-tt")
        elif a["request_pseudo_tty"]:
            argv.append("-t")
        elif a["disable_pseudo_tty"] or commands or a["skip_remote_execution"] or not sys.stdin.isatty():
            argv.append("-T")
        if a["skip_remote_execution"]:
            argv.append("-N")
        for spec in a["L"] or []:
            argv += ["-L", spec]
        argv.append(HOST_ALIAS)
        if commands:
            argv += ["--", " ".join(commands)]
        env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "DISPLAY")}
        env.update(SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", REHEARSAL_SSH_CODE=code)
        ctx.out.out.flush()
        ctx.out.err.flush()
        try:
            proc = subprocess.Popen(argv, env=env)  # stdin, stdout, stderr: cf's own, as cf ssh passes them through
        except OSError as exc:
            raise CfError(f"Error opening SSH connection: cannot run ssh ({exc.strerror})") from None
        del env, code

        def forward(signum: int, _frame: object) -> None:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signum)

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            previous[sig] = signal.signal(sig, forward)
        rc = proc.wait()
        with open(log, encoding="utf-8", errors="replace") as fh:
            ssh_errors = fh.read()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        shutil.rmtree(workdir, ignore_errors=True)
    if rc == 255 and ssh_errors.strip():
        if "Permission denied" in ssh_errors:
            raise CfError(NOT_AUTHORIZED)
        if "Host key verification failed" in ssh_errors:
            raise CfError("Host key verification failed.")
        if "Connection refused" in ssh_errors:
            raise CfError(f"Error opening SSH connection: dial tcp {host}:{port}: connect: connection refused")
        raise CfError(f"Error opening SSH connection: {ssh_errors.strip().splitlines()[-1]}")
    return 128 - rc if rc < 0 else rc  # ssh stopped by a signal cf passed on (-N tunnels end so)
