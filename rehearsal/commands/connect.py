# SPDX-License-Identifier: GPL-3.0-or-later
"""``cf connect-to-service [-no-client] APP SI``: the cloud-gov/cf-service-connect plugin (cf-cli.md §3.14).

The plugin's steps, in its order: find the service instance (``Finding the service instance details...``), delete an
old ``SERVICE_CONNECT`` key, create a new one, read its credentials through the CC v2 key lookup, then
``Setting up SSH tunnel...``: ``cf ssh -N -L <freeport>:<host>:<port> APP``. Here that ``cf ssh`` is emulated in
process: it is refused unless SSH is allowed globally, in the space and for the app, the app is started and the user
may write to the space (the proxy's rule, cf-cli.md §3.8), with ``cf ssh``'s own
``Error opening SSH connection: You are not authorized to perform the requested action.``; otherwise a real TCP
forward listens on a free loopback port and relays each connection to where ``world["network"]["hosts"]`` says the
service host is (``address`` or ``address:port``; the credentials' port otherwise).

After the plugin's delay (6 s in the real plugin; ``world["service_connect"]["tunnel_delay_s"]``, see
:func:`set_tunnel_delay`) it prints ``SSH tunnel created.`` and, with ``-no-client``, the connection block, then blocks.
As the real plugin installs no signal handler and deletes its key only in a deferred call, SIGINT and SIGTERM end it
*without* deleting ``SERVICE_CONNECT`` (and so does SIGKILL); only a normal end of the tunnel (its SSH session
closing: :func:`end_tunnels` here) runs the deferred delete. Errors use Go's ``log.Fatalln`` format
(``YYYY/MM/DD HH:MM:SS message``, exit 1) and, like the real plugin, leave the new key behind.

Which texts are recorded and which are not: the stdout block, ``Wrong number of arguments`` and the order of steps are
cf-cli.md §3.14; ``cf ssh``'s refusal is §3.8. The log line after a failed ``cf ssh`` (``exit status 1``, Go's
``exec.ExitError`` text) and the not-found texts are the emulator's best reading, not recorded output.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from typing import Any

from rehearsal import world as world_mod
from rehearsal.commands.base import NOT_AUTHORIZED, Args, Context, Flag, command

KEY_NAME = "SERVICE_CONNECT"
DEFAULT_DELAY_S = 6.0
SSH_REFUSED = f"Error opening SSH connection: {NOT_AUTHORIZED}."
STOP_FILE = "service-connect.stop"


class _Fatal(Exception):
    """log.Fatalln: the message with Go's log prefix on stderr, exit 1, deferred calls skipped."""


def set_tunnel_delay(home: str | os.PathLike[str] | None, seconds: float) -> None:
    """How long the emulated plugin waits before ``SSH tunnel created.`` (the real plugin: 6 s)."""
    with world_mod.transaction(home) as world:
        world.setdefault("service_connect", {})["tunnel_delay_s"] = float(seconds)


def end_tunnels(home: str | os.PathLike[str] | None) -> None:
    """End every running tunnel as if its SSH session closed: the plugin returns normally and deletes its key."""
    path = os.path.join(world_mod.resolve_home(home), STOP_FILE)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(str(time.time()))


def _log_line(message: str) -> str:
    return f"{time.strftime('%Y/%m/%d %H:%M:%S')} {message}"


def _first(creds: dict[str, Any], *names: str) -> str:
    for name in names:
        if creds.get(name) not in (None, ""):
            return str(creds[name])
    return ""


def _credentials(creds: dict[str, Any]) -> dict[str, str]:
    """The plugin's key fallbacks (models/*): Name, host, Username, Password, port."""
    return {
        "name": _first(creds, "name", "dbname", "db_name"),
        "host": _first(creds, "host", "host_name", "hostname"),
        "username": _first(creds, "username", "user_name", "user"),
        "password": _first(creds, "pass", "password"),
        "port": _first(creds, "port"),
    }


def _upstream(world: dict[str, Any], host: str, port: str) -> tuple[str, int]:
    mapped = str(world.get("network", {}).get("hosts", {}).get(host, "") or "")
    if not mapped:
        return "", 0
    if ":" in mapped:
        address, _, mapped_port = mapped.rpartition(":")
        return address, int(mapped_port)
    return mapped, int(port or 0)


class _Forward:
    """A loopback listener relaying each connection to (host, port), until stopped."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        self.conns += [client, upstream]
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(262144)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
                try:
                    sock.shutdown(how)
                except OSError:
                    pass

    def stop(self) -> None:
        self.stopped.set()
        for sock in [self.sock, *self.conns]:
            try:
                sock.close()
            except OSError:
                pass


class _Signalled(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signal(signum: int, _frame: Any) -> None:
    raise _Signalled(signum)


@command("connect-to-service", description="Open a connection to a service instance (cf-service-connect plugin)",
         usage="CF_NAME connect-to-service [-no-client] APP_NAME SERVICE_INSTANCE",
         args=("ARG1?", "ARG2?", "ARG3?", "ARG4?"),
         # Go's flag package: `-no-client` and `--no-client`. go-flags reads `-no-client` as `-n` with the value
         # `o-client`, so a value flag `n` stands for it (any other value of -n is not the plugin's flag).
         flags=(Flag("no-client", help="Skip launching the client and print the connection information instead"),
                Flag(short="n", value=True, help="")))
def connect_to_service(ctx: Context, a: Args) -> int:
    no_client = bool(a["no_client"]) or a["n"] == "o-client"
    positional = [a[k] for k in ("ARG1", "ARG2", "ARG3", "ARG4") if a[k] is not None]
    if (a["n"] is not None and a["n"] != "o-client") or len(positional) != 2:
        ctx.out.warning(_log_line("Wrong number of arguments"))
        return 1
    app_name, si_name = positional
    ctx.check_target(True, True)
    key_guid = None
    forward = None
    try:
        ctx.out.text("Finding the service instance details...")
        with ctx.world() as world:
            session, space = ctx.targeted_space(world)
            si = world_mod.find_service_instance(world, space["guid"], si_name)
            if si is None or not world_mod.can_see_space(world, session.user["guid"], si["space_guid"]):
                raise _Fatal(f"Service instance '{si_name}' not found")
            if not world_mod.can_develop_space(world, session.user["guid"], si["space_guid"]):
                raise _Fatal(NOT_AUTHORIZED)
            for key in list(world_mod.keys_of(world, si["guid"])):
                if key["name"] == KEY_NAME:
                    del world["service_keys"][key["guid"]]
            current = world_mod.now(world)
            key = {"guid": world_mod.new_guid(), "name": KEY_NAME, "service_instance_guid": si["guid"],
                   "credentials": dict(si["credentials"]), "parameters": {}, "created_at": current,
                   "updated_at": current}
            world["service_keys"][key["guid"]] = key
            key_guid = key["guid"]
            creds = _credentials(key["credentials"])
            delay = float(world.get("service_connect", {}).get("tunnel_delay_s", DEFAULT_DELAY_S))
        ctx.out.text("Setting up SSH tunnel...")
        with ctx.world() as world:
            session = ctx.session(world)
            refusal = None
            app = world_mod.find_app(world, space["guid"], app_name)
            if app is None or not world_mod.can_see_space(world, session.user["guid"], app["space_guid"]):
                refusal = f"App '{app_name}' not found."
            elif app["state"] != "STARTED":
                refusal = f"Application '{app_name}' is not in the STARTED state"
            elif not (world_mod.ssh_enabled(world, app)[0]
                      and world_mod.can_develop_space(world, session.user["guid"], app["space_guid"])):
                refusal = SSH_REFUSED
            target = _upstream(world, creds["host"], creds["port"])
        if refusal is not None:
            # cf ssh exits at once; the plugin notices after its sleep.
            ctx.out.warning(refusal)
            time.sleep(delay)
            raise _Fatal("exit status 1")
        forward = _Forward(*target) if target[0] else _Forward("127.0.0.1", 9)
        stop_file = os.path.join(ctx.home, STOP_FILE)
        started = time.time()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _raise_signal)
        time.sleep(delay)
        ctx.out.text("SSH tunnel created.")
        if not no_client:
            ctx.out.text("Connecting client...")
            env = dict(os.environ, PGPASSWORD=creds["password"])
            subprocess.call(["psql", "-h", "localhost", "-p", str(forward.port), creds["name"], creds["username"]],
                            env=env)
        else:
            ctx.out.text("Skipping call to client CLI. Connection information:")
            ctx.out.newline()
            ctx.out.text("Host: localhost")
            ctx.out.text(f"Port: {forward.port}")
            ctx.out.text(f"Username: {creds['username']}")
            ctx.out.text(f"Password: {creds['password']}")
            ctx.out.text(f"Name: {creds['name']}")
            ctx.out.newline()
            ctx.out.text("Leave this terminal open while you want to use the SSH tunnel. Press Control-C to stop.")
            while True:
                try:
                    if os.path.getmtime(stop_file) >= started:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
        # The tunnel ended by itself: main returns and the deferred key deletion runs.
        forward.stop()
        with ctx.world() as world:
            world["service_keys"].pop(key_guid, None)
        return 0
    except _Fatal as err:
        ctx.out.warning(_log_line(str(err)))
        return 1
    except _Signalled as sig:
        # Go's default signal handling: the process ends at once, the deferred key deletion never runs.
        return 128 + sig.signum
    finally:
        if forward is not None:
            forward.stop()
