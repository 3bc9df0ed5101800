# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rehearsal cloud's SSH proxy: a stand-in for cloud.gov's diego SSH proxy (``ssh.fr.cloud.gov:2222``).

An asyncssh server on loopback that behaves, towards OpenSSH and cf, like the real proxy (cf-cli.md §3.8, §6):

* user ``cf:<process guid>/<index>``, password a one-time code from ``cf ssh-code`` (single use, expiring: checked
  with ``rehearsal.world.consume_ssh_code``, so a code is spent even when the rest is refused);
* authorised as the Cloud Controller does: the process exists, its app is started, the instance exists and is
  running, SSH is allowed globally, in the space and for the app, and the code's user may update the process
  (Space Developer). Anything else is ``Permission denied``, as the real proxy answers: the app GUID as user (right
  only until the first deployment) is refused like any unknown process;
* each instance's file system is the folder ``$REHEARSAL_HOME/instances/<process guid>/<index>/`` (its ``/``; the home
  and working directory is ``/home/vcap``, seeded with a few files on first use), served for sftp, scp (both
  protocols) and exec;
* exec runs a small allow-list of commands implemented here in Python (``cat``, ``echo``, ``ls``, ``sha256sum``, ...),
  confined to the instance folder. No shell ever runs on the host: shell syntax (``;``, ``|``, ``$(``...) and
  ``sh``/``bash`` are answered with an error, unknown commands with bash's ``command not found`` (exit 127);
* ``-L`` tunnels (``cf ssh -N -L``, what cf-service-connect starts) reach only the service hosts the world names in
  ``world["network"]["hosts"]`` (``name -> address`` or ``address:port``);
* its host key (ed25519, ``ssh_proxy/host_key``) is kept across restarts; its SHA-256 fingerprint is published with
  ``rehearsal.world.set_ssh_proxy`` in the form cloud.gov's Cloud Controller uses (bare base64, 43 characters), so
  ``cf curl /`` shows it as ``links.app_ssh.meta.host_key_fingerprint``.

API: ``start(home, *, port=0, new_host_key=False) -> {host, port, fingerprint, pid}`` (idempotent; a detached
background process, pid file ``ssh_proxy/proxy.pid``), ``stop(home) -> bool``, ``status(home)``,
``instance_root(home, process_guid, index)``, ``events(home)`` (one record per authentication and session, never a
code). CLI: ``python -m rehearsal.ssh_proxy start|stop|status [--home DIR] [--port N] [--new-host-key]``.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import posixpath
import re
import shlex
import signal
import subprocess
import sys
import time
from typing import Any

from rehearsal import world as world_mod

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
HOME_DIR = "/home/vcap"
USER_RE = re.compile(r"^cf:(?P<guid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/(?P<index>\d{1,4})$")
ALLOWED_COMMANDS = ("cat", "echo", "env", "exit", "false", "hostname", "ls", "pwd", "sha256sum", "sleep", "true",
                    "wc", "whoami")
SHELLS = ("sh", "bash", "dash", "zsh", "ash", "ksh", "busybox")
MAX_SLEEP_S = 30.0


# --- where things live -------------------------------------------------------------------------------------------------

def _dir(home: str) -> str:
    return os.path.join(home, "ssh_proxy")


def _paths(home: str) -> dict[str, str]:
    d = _dir(home)
    return {"dir": d, "key": os.path.join(d, "host_key"), "pid": os.path.join(d, "proxy.pid"),
            "ready": os.path.join(d, "ready.json"), "log": os.path.join(d, "proxy.log"),
            "events": os.path.join(d, "events.jsonl")}


def instance_root(home: str | os.PathLike[str] | None, process_guid: str, index: int) -> str:
    """The folder that is instance INDEX's ``/`` (created and seeded on first use)."""
    h = world_mod.resolve_home(home)
    root = os.path.join(h, "instances", process_guid, str(int(index)))
    if not os.path.isdir(os.path.join(root, HOME_DIR.lstrip("/"))):
        _seed_instance(h, root, process_guid, int(index))
    return root


def _seed_instance(home: str, root: str, process_guid: str, index: int) -> None:
    """A few files an instance of the TTA Hub app has: the app's package.json, logs, a tmp folder."""
    world = world_mod.load(home)
    proc = world["processes"].get(process_guid, {})
    app = world["apps"].get(proc.get("app_guid", ""), {})
    ptype = proc.get("type", "web")
    app_dir = os.path.join(root, "home", "vcap", "app")
    for sub in ("home/vcap/app/logs", "home/vcap/app/reports", "home/vcap/tmp", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    files = {
        os.path.join(app_dir, "package.json"): json.dumps(
            {"name": "head-start-ttadp", "version": "1.0.0", "private": True,
             "scripts": {"start:be": "node ./build/server/src/index.js",
                         "start:worker": "node ./build/server/src/worker.js"}}, indent=2) + "\n",
        os.path.join(app_dir, "logs", f"{ptype}.log"): "".join(
            f"2026-11-27T12:{m:02d}:00.000Z info: {ptype} instance {index} of {app.get('name', '?')} "
            f"(process {process_guid}) heartbeat {m}\n" for m in range(20)),
        os.path.join(app_dir, "reports", "instance.txt"): f"{app.get('name', '?')} {ptype} instance {index}\n",
        os.path.join(app_dir, "reports", "summary.csv"): "region,reports\n" + "".join(
            f"{r},{(r * 37 + index) % 101}\n" for r in range(1, 13)),
    }
    for path, text in files.items():
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)


# --- the event log (tests read it; it never holds a code) --------------------------------------------------------------

def _log_event(home: str, **record: Any) -> None:
    path = _paths(home)["events"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    line = json.dumps({"time": time.time(), **record}, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def events(home: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every authentication (``auth``: user, ok, reason, cf_user) and session (``session``: kind, command)."""
    path = _paths(world_mod.resolve_home(home))["events"]
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --- authorisation, as the Cloud Controller's /internal/apps/<process>/ssh_access/<index> -----------------------------

def authorize(world: world_mod.World, user_guid: str, process_guid: str, index: int) -> tuple[bool, str]:
    """(allowed, reason). The reason is for the event log only: the client just gets ``Permission denied``."""
    from rehearsal import cc_api  # pylint: disable=import-outside-toplevel

    proc = world["processes"].get(process_guid)
    if proc is None:
        return False, f"no process {process_guid} (the app GUID is not the web process GUID after a deployment)"
    app = world["apps"][proc["app_guid"]]
    space = world["spaces"][app["space_guid"]]
    if not world_mod.can_develop_space(world, user_guid, space["guid"]):
        return False, "the user may not update the process (Space Developer needed)"
    enabled, reason = world_mod.ssh_enabled(world, app)
    if not enabled:
        return False, reason
    if app["state"] != "STARTED":
        return False, f"app {app['name']} is not started"
    stats = cc_api.process_stats(world, proc, world_mod.now(world))
    if index >= len(stats):
        return False, f"instance {index} of process {proc['type']} not found"
    if stats[index]["state"] != "RUNNING":
        return False, f"instance {index} of process {proc['type']} is {stats[index]['state']}"
    return True, ""


# --- path confinement --------------------------------------------------------------------------------------------------

class Confined:
    """Paths of one instance, inside its folder: ``..`` stops at ``/`` and no symlink leads out."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)

    def local(self, path: str, cwd: str = HOME_DIR) -> str:
        virtual = posixpath.normpath(posixpath.join("/", cwd, path))
        local = os.path.join(self.root, virtual.lstrip("/"))
        real = os.path.realpath(local)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise PermissionError(f"{path}: Permission denied")
        return local


# --- exec: the allow-listed commands -----------------------------------------------------------------------------------

class Outcome:
    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.status = 0

    def say(self, text: str | bytes) -> None:
        self.out.append(text.encode("utf-8") if isinstance(text, str) else text)

    def complain(self, text: str, status: int = 1) -> None:
        self.err.append(text.encode("utf-8"))
        self.status = status


def run_command(command: str, fs: Confined, env: dict[str, str]) -> Outcome:
    """One command line, the way the instance's bash would run the simple commands it knows. Never a shell."""
    result = Outcome()
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
    except ValueError as exc:
        result.complain(f"bash: -c: line 1: syntax error: {exc}\n", 2)
        return result
    specials = [w for w in words if w and set(w) <= set(";&|<>()")] + [w for w in words if "$(" in w or "`" in w]
    if specials:
        result.complain(
            f"rehearsal ssh proxy: shell syntax ({specials[0]!r}) is not emulated: only simple commands "
            f"({', '.join(ALLOWED_COMMANDS)}) run here\n", 2)
        return result
    if not words:
        return result
    name, args = words[0], words[1:]
    if name in SHELLS or posixpath.basename(name) in SHELLS:
        result.complain(f"rehearsal ssh proxy: {name} is not emulated: only simple commands "
                        f"({', '.join(ALLOWED_COMMANDS)}) run here\n", 126)
        return result
    handler = _COMMANDS.get(name)
    if handler is None:
        result.complain(f"bash: line 1: {name}: command not found\n", 127)
        return result
    try:
        handler(args, fs, env, result)
    except PermissionError as exc:
        result.complain(f"{name}: {exc}\n")
    return result


def _cmd_echo(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
    newline = True
    if args and args[0] == "-n":
        newline, args = False, args[1:]
    r.say(" ".join(args) + ("\n" if newline else ""))


def _cmd_cat(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
    for arg in args:
        path = fs.local(arg)
        if os.path.isdir(path):
            r.complain(f"cat: {arg}: Is a directory\n")
        elif not os.path.exists(path):
            r.complain(f"cat: {arg}: No such file or directory\n")
        else:
            with open(path, "rb") as fh:
                r.say(fh.read())


def _cmd_ls(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
    flags = "".join(a[1:] for a in args if a.startswith("-") and len(a) > 1)
    paths = [a for a in args if not (a.startswith("-") and len(a) > 1)] or ["."]
    for arg in paths:
        path = fs.local(arg)
        if not os.path.exists(path):
            r.complain(f"ls: cannot access '{arg}': No such file or directory\n", 2)
            continue
        names = sorted(os.listdir(path)) if os.path.isdir(path) else [arg]
        if "a" not in flags:
            names = [n for n in names if not n.startswith(".")]
        for name in names:
            full = os.path.join(path, name) if os.path.isdir(path) else path
            if "l" in flags:
                st = os.lstat(full)
                r.say(f"{_mode(st.st_mode)} 1 vcap vcap {st.st_size:>8} "
                      f"{time.strftime('%b %d %H:%M', time.gmtime(st.st_mtime))} {name}\n")
            else:
                r.say(name + "\n")


def _mode(mode: int) -> str:
    import stat  # pylint: disable=import-outside-toplevel

    return stat.filemode(mode)


def _cmd_sha256sum(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
    import hashlib  # pylint: disable=import-outside-toplevel

    for arg in args:
        path = fs.local(arg)
        if not os.path.isfile(path):
            r.complain(f"sha256sum: {arg}: No such file or directory\n")
            continue
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        r.say(f"{digest.hexdigest()}  {arg}\n")


def _cmd_wc(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
    files = [a for a in args if not a.startswith("-")]
    for arg in files:
        path = fs.local(arg)
        if not os.path.isfile(path):
            r.complain(f"wc: {arg}: No such file or directory\n")
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        lines = data.count(b"\n")
        if "-c" in args:
            r.say(f"{len(data)} {arg}\n")
        elif "-l" in args:
            r.say(f"{lines} {arg}\n")
        else:
            r.say(f" {lines} {len(data.split())} {len(data)} {arg}\n")


def _cmd_sleep(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
    try:
        seconds = float(args[0]) if args else 0.0
    except ValueError:
        r.complain(f"sleep: invalid time interval '{args[0]}'\n")
        return
    time.sleep(min(max(seconds, 0.0), MAX_SLEEP_S))


def _cmd_exit(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
    r.status = int(args[0]) & 0xFF if args and args[0].lstrip("-").isdigit() else 0


def _cmd_env(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
    r.say("".join(f"{k}={v}\n" for k, v in sorted(env.items())))


def _simple(text_key: str) -> Any:
    def handler(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
        r.say(env[text_key] + "\n")
    return handler


def _cmd_false(args: list[str], fs: Confined, env: dict[str, str], r: Outcome) -> None:
    r.status = 1


_COMMANDS = {
    "cat": _cmd_cat, "echo": _cmd_echo, "env": _cmd_env, "exit": _cmd_exit, "false": _cmd_false,
    "hostname": _simple("HOSTNAME"), "ls": _cmd_ls, "pwd": _simple("PWD"), "sha256sum": _cmd_sha256sum,
    "sleep": _cmd_sleep, "true": lambda args, fs, env, r: None, "wc": _cmd_wc, "whoami": _simple("USER"),
}


def instance_env(process_guid: str, index: int) -> dict[str, str]:
    return {"HOME": HOME_DIR, "PWD": HOME_DIR, "USER": "vcap", "HOSTNAME": f"{process_guid[:8]}-{index}",
            "CF_INSTANCE_INDEX": str(index), "CF_INSTANCE_GUID": process_guid, "LANG": "en_US.UTF-8"}


# --- the server ---------------------------------------------------------------------------------------------------------

def serve(home: str, host: str = "127.0.0.1", port: int = 0, new_host_key: bool = False) -> None:
    """Run the proxy in this process until SIGTERM/SIGINT (``start`` runs this in a detached process)."""
    import asyncio  # pylint: disable=import-outside-toplevel

    import asyncssh  # pylint: disable=import-outside-toplevel

    paths = _paths(home)
    os.makedirs(paths["dir"], mode=0o700, exist_ok=True)
    if new_host_key or not os.path.exists(paths["key"]):
        key = asyncssh.generate_private_key("ssh-ed25519")
        tmp = paths["key"] + ".tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.export_private_key())
        os.replace(tmp, paths["key"])
    host_key = asyncssh.read_private_key(paths["key"])
    fingerprint = host_key.get_fingerprint("sha256").split(":", 1)[1]

    class Connection(asyncssh.SSHServer):
        """One client connection: authentication and what it may reach."""

        def __init__(self) -> None:
            self.conn: Any = None
            self.username = ""
            self.target: dict[str, Any] | None = None

        def connection_made(self, conn: Any) -> None:
            self.conn = conn

        def begin_auth(self, username: str) -> bool:
            self.username = username
            return True

        def password_auth_supported(self) -> bool:
            return True

        def kbdint_auth_supported(self) -> bool:
            return False

        def validate_password(self, username: str, password: str) -> bool:
            match = USER_RE.match(username)
            who = world_mod.consume_ssh_code(home, password)  # spent even when the rest is refused
            if who is None:
                _log_event(home, event="auth", user=username, ok=False, reason="unknown, used or expired code")
                return False
            if match is None:
                _log_event(home, event="auth", user=username, ok=False, cf_user=who["username"],
                           reason="user is not cf:<process guid>/<index>")
                return False
            guid, index = match.group("guid"), int(match.group("index"))
            ok, reason = authorize(world_mod.load(home), who["user_guid"], guid, index)
            _log_event(home, event="auth", user=username, ok=ok, reason=reason, cf_user=who["username"])
            if ok:
                self.target = {"guid": guid, "index": index, "root": instance_root(home, guid, index)}
            return ok

        def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> Any:
            mapped = world_mod.load(home)["network"]["hosts"].get(dest_host)
            _log_event(home, event="session", kind="tunnel", user=self.username, dest=f"{dest_host}:{dest_port}",
                       ok=mapped is not None)
            if mapped is None or self.target is None:
                return False
            address, _, mapped_port = str(mapped).partition(":")
            return self.conn.forward_connection(address, int(mapped_port or dest_port))

    def owner_target(chan: Any) -> dict[str, Any]:
        owner = chan.get_connection().get_owner()
        if owner is None or owner.target is None:
            raise asyncssh.DisconnectError(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "not authorised")
        return owner.target

    class InstanceSFTP(asyncssh.SFTPServer):
        """The instance's files over sftp and scp: ``/`` is the instance folder, relative paths start at /home/vcap."""

        def __init__(self, chan: Any) -> None:
            target = owner_target(chan)
            super().__init__(chan, chroot=target["root"].encode())
            self._fs = Confined(target["root"])
            command = chan.get_command()
            _log_event(home, event="session", kind="scp" if command else "sftp", command=command,
                       user=chan.get_connection().get_extra_info("username"))

        def map_path(self, path: bytes) -> bytes:
            if not path.startswith(b"/"):
                path = HOME_DIR.encode() + b"/" + path
            local = super().map_path(path)
            real = os.path.realpath(local)
            root = self._fs.root.encode()
            if real != root and not real.startswith(root + b"/"):
                raise asyncssh.SFTPPermissionDenied("Permission denied")
            return local

        def exit(self) -> None:
            # The real proxy reports the sftp server's exit status 0; without it scp exits 1 although all went well.
            with contextlib.suppress(OSError, asyncssh.Error):
                self.channel.exit(0)

        def symlink(self, oldpath: bytes, newpath: bytes) -> None:
            raise asyncssh.SFTPPermissionDenied("links are not allowed on this instance")

        def link(self, oldpath: bytes, newpath: bytes) -> None:
            raise asyncssh.SFTPPermissionDenied("links are not allowed on this instance")

    async def process(proc: Any) -> None:
        target = owner_target(proc.channel)
        fs = Confined(target["root"])
        env = instance_env(target["guid"], target["index"])
        user = proc.get_extra_info("username")
        loop = asyncio.get_running_loop()
        if proc.command is None:
            _log_event(home, event="session", kind="shell", user=user)
            prompt = f"vcap@{env['HOSTNAME']}:~$ ".encode()
            status = 0
            while True:
                proc.stdout.write(prompt)
                try:
                    line = await proc.stdin.readline()
                except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                    continue
                if not line:
                    break
                text = line.decode("utf-8", "replace").strip()
                if text in ("exit", "logout"):
                    break
                outcome = await loop.run_in_executor(None, run_command, text, fs, env)
                proc.stdout.write(b"".join(outcome.out).replace(b"\n", b"\r\n"))
                proc.stderr.write(b"".join(outcome.err).replace(b"\n", b"\r\n"))
                status = outcome.status
            proc.exit(status)
            return
        _log_event(home, event="session", kind="exec", command=proc.command, user=user)
        outcome = await loop.run_in_executor(None, run_command, proc.command, fs, env)
        for chunk in outcome.out:
            proc.stdout.write(chunk)
        for chunk in outcome.err:
            proc.stderr.write(chunk)
        proc.exit(outcome.status)

    async def main() -> None:
        server = await asyncssh.create_server(
            Connection, host, port, server_host_keys=[host_key], process_factory=process, encoding=None,
            sftp_factory=InstanceSFTP, allow_scp=True, line_editor=False, keepalive_interval=30,
            server_version="diego-ssh-rehearsal")
        bound = server.sockets[0].getsockname()[1]
        world_mod.set_ssh_proxy(home, host=host, port=bound, host_key_fingerprint=fingerprint)
        world_mod.write_json_atomic(paths["ready"], {"host": host, "port": bound, "fingerprint": fingerprint,
                                                     "pid": os.getpid()})
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.close()
        await server.wait_closed()

    try:
        asyncio.run(main())
    finally:
        for name in ("ready",):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(paths[name])


# --- start / stop (a detached background process) -----------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"rehearsal.ssh_proxy" in fh.read()
    except OSError:
        return True


def _read_pid(home: str) -> int | None:
    try:
        with open(_paths(home)["pid"], encoding="utf-8") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def status(home: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The running proxy's {host, port, fingerprint, pid}, or None."""
    h = world_mod.resolve_home(home)
    pid = _read_pid(h)
    if pid is None or not _alive(pid):
        return None
    try:
        with open(_paths(h)["ready"], encoding="utf-8") as fh:
            ready = json.load(fh)
    except (OSError, ValueError):
        return None
    return ready if ready.get("pid") == pid else None


def start(home: str | os.PathLike[str] | None = None, *, port: int = 0, host: str = "127.0.0.1",
          new_host_key: bool = False, timeout: float = 15.0) -> dict[str, Any]:
    """Start the proxy in the background (idempotent) and return {host, port, fingerprint, pid}."""
    h = world_mod.resolve_home(home)
    running = status(h)
    if running is not None and not new_host_key and (port in (0, running["port"])):
        return running
    if running is not None:
        stop(h)
    paths = _paths(h)
    os.makedirs(paths["dir"], mode=0o700, exist_ok=True)
    world_mod.load(h)  # seeded on first use
    with contextlib.suppress(FileNotFoundError):
        os.unlink(paths["ready"])
    argv = [sys.executable, "-m", "rehearsal.ssh_proxy", "serve", "--home", h, "--host", host, "--port", str(port)]
    if new_host_key:
        argv.append("--new-host-key")
    env = dict(os.environ, PYTHONPATH=REPO + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH")
                                               else ""))
    with open(paths["log"], "ab") as log:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    with open(paths["pid"], "w", encoding="utf-8") as fh:
        fh.write(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        ready = status(h)
        if ready is not None:
            return ready
        time.sleep(0.05)
    if proc.poll() is None:
        proc.terminate()
        proc.wait(5)
    with open(paths["log"], encoding="utf-8", errors="replace") as fh:
        tail = fh.read()[-2000:]
    raise RuntimeError(f"the rehearsal SSH proxy did not start (exit {proc.returncode}):\n{tail}")


def stop(home: str | os.PathLike[str] | None = None, timeout: float = 5.0) -> bool:
    """Stop the proxy this home started (by its pid file). True when one was running."""
    h = world_mod.resolve_home(home)
    paths = _paths(h)
    pid = _read_pid(h)
    was = pid is not None and _alive(pid)
    if was:
        assert pid is not None
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.02)
            if not _alive(pid):
                break
    for name in ("pid", "ready"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(paths[name])
    return was


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal.ssh_proxy", description=__doc__.split("\n")[0])
    parser.add_argument("verb", choices=("start", "stop", "status", "serve"))
    parser.add_argument("--home", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--new-host-key", action="store_true")
    args = parser.parse_args(argv)
    home = world_mod.resolve_home(args.home)
    if args.verb == "serve":
        serve(home, args.host, args.port, args.new_host_key)
    elif args.verb == "start":
        print(json.dumps(start(home, port=args.port, host=args.host, new_host_key=args.new_host_key)))
    elif args.verb == "stop":
        print("stopped" if stop(home) else "not running")
    else:
        info = status(home)
        print(json.dumps(info) if info else "not running")
        return 0 if info else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
