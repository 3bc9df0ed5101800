# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The production data copy itself: :func:`copy_database`, run inside an open space SSH window (``_ssh_window``).

PRIVATE to the collection. It can have breaking changes at any time.

``cf connect-to-service -no-client APP SERVICE`` runs in the background (:mod:`.tunnel`), its connection block read
from the pipe (the password stays in this process's memory and reaches ``psql``/``pg_dump`` only as ``PGPASSWORD``),
a version check, then ``pg_dump -Fc --no-acl --no-owner`` whose stdout is pumped straight into ``age -r <recipient>``
(:mod:`.streams`): the plaintext never touches a disk. Every process, the ``SERVICE_CONNECT`` key, the partial file and
the identity are attached to the window's lease first, so the window's watchdog cleans them up if the run is killed.

:class:`DatabaseCopy` holds the state the steps share and runs them in order: key, tunnel, versions, dump, teardown,
store; on any failure, :meth:`DatabaseCopy.fail` undoes what was done and records it.
"""

# More than 150 lines of code: the steps of one copy and the clean-up of each of their failures are read together,
# in the order they run; spread over files, what a failure must undo would no longer sit beside what made it.

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import selectors
import signal
import threading
import time
import typing as t
import uuid

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _proc
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, stop_group
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_service_connect
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.keys import destroy_identity, key_store, new_identity
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.records import DEFAULT_KEEP_HOURS, new_record, write_record
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.streams import CHUNK, Reader, pump
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.tools import find_tool, pg_env, pg_major, pipe, popen, run, tool_versions
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.tunnel import CONNECT_BLOCK_END, KEY_NAME, delete_service_key, tunnel_failure

__all__ = ["DatabaseCopy", "copy_database"]


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024.0
    return f"{n:.1f} TiB"


class _Events:
    """The audit events of a copy, each with its time."""

    def __init__(self, base: t.Mapping[str, t.Any]) -> None:
        self.base = dict(base)
        self.events: list[dict[str, t.Any]] = []

    def add(self, event: str, **fields: t.Any) -> None:
        self.events.append({"event": event, **self.base, "at": _audit.utc_now(), **fields})


class DatabaseCopy:
    """One copy of ``service``'s database: the state its steps share and one method per step, called by :meth:`run`.

    Building it plans the copy (tools, versions, key store, the open window, paths, record): a failure there has made
    nothing, so it raises with nothing to undo. From :meth:`run` on, every failure goes through :meth:`fail`.
    """

    def __init__(self, cf: CfClient, *, app: str, service: str, org: str, space: str, state_dir: str, dest_dir: str,
                 lease_path: str, keep_hours: float, key_base: str | None, pg_bin_dir: str | None, age_bin_dir: str | None,
                 say: t.Callable[[str], None], progress_every: float, tunnel_timeout: float, dump_timeout: float,
                 controller: t.Mapping[str, t.Any] | None, run_id: str, operator: str) -> None:
        if keep_hours <= 0 or keep_hours > 24 * 30:
            raise CopyError("plan the copy", f"keep_hours {keep_hours} is outside 0..720", "Keep a copy at most 30 days (default 24 hours)", kind="bad_input")
        self.cf, self.app, self.service, self.state_dir, self.lease_path = cf, app, service, state_dir, lease_path
        self.say, self.progress_every, self.tunnel_timeout, self.dump_timeout = say, progress_every, tunnel_timeout, dump_timeout
        self.controller = controller
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.copy_id = copy_id = f"{re.sub(r'[^a-z0-9-]', '-', service.lower())}-{stamp}-{uuid.uuid4().hex[:6]}"
        self.events = _Events({"copy_id": copy_id, "service": service, "app": app})
        self.tools = {
            "pg_dump": find_tool("pg_dump", pg_bin_dir),
            "psql": find_tool("psql", pg_bin_dir),
            "age": find_tool("age", age_bin_dir),
            "age-keygen": find_tool("age-keygen", age_bin_dir),
        }
        self.versions = tool_versions({"pg_dump": self.tools["pg_dump"], "age": self.tools["age"]})
        self.key_store = key_store(key_base)
        lease = sw.read_lease(lease_path)
        if lease is None or lease.get("state") != "open" or not sw.is_live(lease):
            raise CopyError("start the copy", f"no open SSH window at {lease_path}",
                            "Open the window first (ttahub.ops.space_ssh_window, tasks_from open)", kind="no_window")
        self.folder = os.path.join(os.path.abspath(os.path.expanduser(dest_dir)), copy_id)
        self.final = os.path.join(self.folder, f"{copy_id}.pgdump.age")
        self.partial = self.final + ".partial"
        self.identity = os.path.join(self.key_store["dir"], f"{copy_id}.age-identity")
        self.record = new_record(copy_id=copy_id, keep_hours=keep_hours, run_id=run_id, operator=operator,
                                 source={"org": org, "space": space, "app": app, "service": service}, window_id=lease.get("window_id"),
                                 folder=self.folder, ciphertext_path=self.final, identity_path=self.identity, key_store=self.key_store,
                                 tools=self.versions)
        # What the steps fill in: lease entries by slot, processes and pipe readers by name, the tunnel's connection
        # (credentials, psql/pg_dump arguments, environment with the password), the plaintext pump's count and errors.
        self.attached: dict[str, str] = {}
        self.procs: dict[str, _proc.Popen[bytes]] = {}
        self.readers: dict[str, Reader] = {}
        self.creds: dict[str, t.Any] = {}
        self.conn: list[str] = []
        self.env: dict[str, str] = {}
        self.plain = [0]
        self.pump_errors: list[str] = []

    # -- what every step uses ------------------------------------------------------------------------------------------

    def alive(self) -> bool:
        """Whether the run's controller still runs (always true when there is none to watch)."""
        return sw.process_alive(self.controller["pid"], self.controller.get("start")) if self.controller else True

    def attach(self, slot: str, kind: str, **info: t.Any) -> None:
        self.attached[slot] = sw.attach(self.state_dir, self.lease_path, kind, **info)["id"]

    def detach(self, slot: str) -> None:
        if slot in self.attached:
            with contextlib.suppress(OSError, ValueError):
                sw.detach(self.state_dir, self.lease_path, self.attached.pop(slot))

    def start(self, name: str, argv: list[str], **kwargs: t.Any) -> _proc.Popen[bytes]:
        proc = popen(argv, detach=True, **kwargs)
        self.procs[name] = proc
        self.attach(name, "process", pid=proc.pid, start=sw.process_start_time(proc.pid), name=name)
        return proc

    # -- the steps, in order -------------------------------------------------------------------------------------------

    def run(self) -> dict[str, t.Any]:
        """Returns the record and ``audit_events``; raises CopyError (with the events so far) after cleaning up on any
        failure."""
        try:
            self.create_key()
            self.open_tunnel()
            self.check_versions()
            self.dump()
            self.teardown()
            return self.store()
        except BaseException as err:
            failure = self.fail(err)
            if failure is None:
                raise
            raise failure from err
        finally:
            self.forget()

    def create_key(self) -> None:
        """The copy's folder, its first record, and its age identity (attached to the lease before it exists)."""
        os.makedirs(self.folder, mode=0o700)
        os.chmod(self.folder, 0o700)
        write_record(self.state_dir, self.record)
        self.attach("identity", "path", path=self.identity)
        self.record["recipient"] = new_identity(self.tools["age-keygen"], self.identity)
        store = self.key_store
        self.events.add("data_copy_key_created", memory_backed=store["memory_backed"], key_store=store["base"], swap_areas=store["swap_areas"])
        if not store["memory_backed"] or store["swap_areas"]:
            self.say("WARNING: " + store["note"])

    def open_tunnel(self) -> None:
        """``cf connect-to-service -no-client APP SERVICE``: the plugin deletes an old SERVICE_CONNECT key, makes a new one
        and prints the connection block, read here and then wiped from the reader."""
        app, service, readers = self.app, self.service, self.readers
        self.attach("service_key", "service_key", service=service, key=KEY_NAME)
        tunnel = self.cf.spawn(["connect-to-service", "-no-client", app, service], action=f"open the tunnel to {service}")
        self.procs["tunnel"] = tunnel
        self.attach("tunnel", "process", pid=tunnel.pid, start=sw.process_start_time(tunnel.pid), name="tunnel")
        readers["tunnel_out"], readers["tunnel_err"] = Reader(pipe(tunnel.stdout)), Reader(pipe(tunnel.stderr))
        for reader in (readers["tunnel_out"], readers["tunnel_err"]):
            reader.start()
        t0 = time.monotonic()
        if not readers["tunnel_out"].wait_for(CONNECT_BLOCK_END, self.tunnel_timeout, lambda: tunnel.poll() is None and self.alive()):
            if not self.alive():
                raise CopyError("open the tunnel", "the run's controller ended", "The window's watchdog cleans up", kind="controller_died")
            if tunnel.poll() is None:
                raise CopyError(f"open the tunnel to {service}", f"no connection information within {self.tunnel_timeout:.0f} s",
                                "Check cloud.gov's status and the cf-service-connect plugin, then run again", kind="tunnel_timeout")
            readers["tunnel_err"].join(2)
            raise tunnel_failure(readers["tunnel_err"].text(), app, service)
        creds = self.creds = parse_service_connect(readers["tunnel_out"].text())
        readers["tunnel_out"].wipe()
        self.events.add("data_copy_tunnel_open", local_port=creds["port"], database=creds["name"], seconds=round(time.monotonic() - t0, 3))
        self.record["source"]["database"] = creds["name"]
        self.say(f"Tunnel open on {creds['host']}:{creds['port']} to database {creds['name']}")

    def check_versions(self) -> None:
        """The server's version against the local pg_dump's: an older pg_dump cannot dump a newer server."""
        creds = self.creds
        self.env = pg_env(creds["password"])
        self.conn = ["-h", creds["host"], "-p", str(creds["port"]), "-U", creds["username"]]
        server = run([self.tools["psql"], "-X", "-At", *self.conn, "-d", creds["name"], "-c", "SHOW server_version_num"],
                     action=f"ask the database {creds['name']} for its version", env=self.env, timeout=60)
        server_num = int(server.stdout.decode().strip().splitlines()[-1])
        server_major = server_num // 10000 if server_num >= 100000 else server_num // 100
        local_major = pg_major(self.versions["pg_dump"])
        self.record["tools"]["server_version_num"] = server_num
        if local_major < server_major:
            raise CopyError(f"dump the database {creds['name']}",
                            f"the local pg_dump is version {local_major} but the server is PostgreSQL {server_major}: "
                            "an older pg_dump cannot dump a newer server",
                            f"Install the PostgreSQL {server_major} client (Debian: apt-get install postgresql-client-{server_major}) "
                            "or set pg_bin_dir to its bin folder, then run again",
                            kind="pg_dump_too_old")
        self.events.add("data_copy_versions_checked", pg_dump_major=local_major, server_version_num=server_num)

    def dump(self) -> None:
        """``pg_dump | age -r RECIPIENT`` into the partial file: the plaintext only crosses this process's memory."""
        out, pumping = self._start_dump()
        sha, cipher, started = self._encrypt_into(out)
        self._finish_dump(out, pumping, sha, cipher, started)

    def _start_dump(self) -> tuple[t.IO[bytes], threading.Thread]:
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.attach("partial", "path", path=self.partial)
        out = os.fdopen(fd, "wb")
        dump = self.start("pg_dump", [self.tools["pg_dump"], "-Fc", "--no-acl", "--no-owner", *self.conn, "-d", self.creds["name"]],
                          stdin=_proc.DEVNULL, stdout=_proc.PIPE, stderr=_proc.PIPE, env=self.env)
        enc = self.start("age", [self.tools["age"], "-r", self.record["recipient"]], stdin=_proc.PIPE, stdout=_proc.PIPE, stderr=_proc.PIPE,
                         env=pg_env())
        self.readers["dump_err"], self.readers["age_err"] = Reader(pipe(dump.stderr)), Reader(pipe(enc.stderr))
        self.readers["dump_err"].start()
        self.readers["age_err"].start()
        pumping = threading.Thread(target=pump, args=(pipe(dump.stdout), pipe(enc.stdin), self.plain, self.pump_errors), daemon=True)
        pumping.start()
        self.events.add("data_copy_dump_started")
        return out, pumping

    def _encrypt_into(self, out: t.IO[bytes]) -> tuple[str, int, float]:
        """Copy age's output into ``out`` and its digest, saying the progress; stops when the controller ends or the dump
        takes too long. Returns the ciphertext's SHA-256, its size and when the dump started."""
        digest = hashlib.sha256()
        cipher = 0
        started = last = time.monotonic()
        last_bytes = 0
        source = pipe(self.procs["age"].stdout).fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(source, selectors.EVENT_READ)
            while True:
                if sel.select(0.5):
                    chunk = os.read(source, CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    cipher += len(chunk)
                now = time.monotonic()
                if now - last >= self.progress_every:
                    rate = (self.plain[0] - last_bytes) / (now - last)
                    self.say(f"Dump in progress: {human(self.plain[0])} dumped, {human(rate)}/s, {human(cipher)} encrypted, {now - started:.0f} s")
                    last, last_bytes = now, self.plain[0]
                if not self.alive():
                    raise CopyError("dump the database", "the run's controller ended during the dump", "The window's watchdog cleans up",
                                    kind="controller_died")
                if now - started > self.dump_timeout:
                    raise CopyError("dump the database", f"the dump took longer than {self.dump_timeout:.0f} s",
                                    "Raise dump_timeout or copy when the database is quieter", kind="timeout")
        return digest.hexdigest(), cipher, started

    def _finish_dump(self, out: t.IO[bytes], pumping: threading.Thread, sha: str, cipher: int, started: float) -> None:
        """Both processes' ends checked, the partial file made the ciphertext, its digest in the record."""
        pumping.join(30)
        out.flush()
        os.fsync(out.fileno())
        out.close()
        dump_rc, age_rc = self.procs["pg_dump"].wait(60), self.procs["age"].wait(60)
        for name in ("dump_err", "age_err"):
            self.readers[name].join(5)
        seconds = time.monotonic() - started
        if dump_rc != 0 or self.pump_errors:
            raise CopyError(f"dump the database {self.creds['name']}",
                            f"pg_dump exited {dump_rc}: {' '.join(self.readers['dump_err'].text().split())[:500] or 'no message'}",
                            "Check the tunnel and the database; nothing was kept", kind="pg_dump_failed")
        if age_rc != 0:
            raise CopyError("encrypt the dump", f"age exited {age_rc}: {' '.join(self.readers['age_err'].text().split())[:300]}",
                            "Check the age installation", kind="age_failed")
        os.replace(self.partial, self.final)
        self.detach("partial")
        self.attach("ciphertext", "path", path=self.final)
        for name in ("pg_dump", "age"):
            self.detach(name)
        plain = self.plain[0]
        self.record.update(ciphertext_sha256=sha, ciphertext_bytes=cipher, plaintext_bytes=plain, dump_seconds=round(seconds, 3),
                           dump_rate_bytes_per_s=round(plain / seconds if seconds else 0.0, 1))
        self.events.add("data_copy_dump_finished", plaintext_bytes=plain, ciphertext_bytes=cipher, ciphertext_sha256=sha,
                        seconds=round(seconds, 3))
        self.say(f"Dump finished: {human(plain)} dumped in {seconds:.1f} s, {human(cipher)} encrypted, sha256 {sha}")

    def teardown(self) -> None:
        """Stop the tunnel (Ctrl-C, as the SOP says), then delete its key (the plugin leaves it behind)."""
        stop_group(self.procs["tunnel"])
        self.detach("tunnel")
        self.events.add("data_copy_tunnel_stopped")
        delete_service_key(self.cf, self.service)
        self.detach("service_key")
        self.events.add("data_copy_service_key_deleted", key=KEY_NAME)

    def store(self) -> dict[str, t.Any]:
        """The copy is complete: the identity and the ciphertext leave the window's lease, the record says so."""
        self.detach("identity")
        self.detach("ciphertext")
        self.record["state"] = "encrypted"
        self.record["completed_at"] = _audit.utc_now()
        write_record(self.state_dir, self.record)
        self.events.add("data_copy_stored", ciphertext_path=self.final, deadline=self.record["deadline"],
                        identity_memory_backed=self.key_store["memory_backed"])
        return {"changed": True, "record": self.record, "audit_events": self.events.events}

    # -- after a failure, and always -----------------------------------------------------------------------------------

    def fail(self, err: BaseException) -> CopyError | None:
        """Undo, record the failure, add ``data_copy_failed``. Returns the CopyError to raise from ``err``, or None when
        ``err`` itself is raised again (a CopyError, or what is not an Exception: an exit, an interrupt)."""
        cleanup = self.undo()
        for name in list(self.attached):
            self.detach(name)
        self.record.update(state="failed", failed_at=_audit.utc_now(), cleanup=cleanup)
        with contextlib.suppress(OSError, KeyError, CopyError):
            write_record(self.state_dir, self.record)
        self.events.add("data_copy_failed", error=str(err)[:500] or type(err).__name__, cleanup=cleanup)
        if isinstance(err, CopyError):
            err.events = self.events.events
            return None
        if isinstance(err, (CfError, sw.WindowError)):
            return CopyError("copy the database", err.message, "Nothing was kept; see the audit log", kind=getattr(err, "kind", "cf_error"),
                             events=self.events.events)
        if isinstance(err, Exception):
            return CopyError("copy the database", f"{type(err).__name__}: {err}", "Nothing was kept; see the audit log", kind="unexpected",
                             events=self.events.events)
        return None

    def undo(self) -> list[str]:
        """Stop every process, delete the key, destroy partial files and the identity. Returns what was done."""
        done = []
        for name in ("pg_dump", "age", "tunnel"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                stop_group(proc, (signal.SIGTERM, signal.SIGKILL), wait=2.0)
                done.append(f"{name} stopped")
        if "tunnel" in self.procs:
            try:
                delete_service_key(self.cf, self.service)
                done.append(f"{KEY_NAME} key deleted")
            except (CfError, CopyError) as err:
                done.append(f"{KEY_NAME} key: FAILED ({err})")
        for path in (self.partial, self.final):
            if os.path.lexists(path):
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    done.append(f"{os.path.basename(path)} removed")
        with contextlib.suppress(OSError):
            if destroy_identity(self.identity):
                done.append("identity destroyed")
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)
        return done

    def forget(self) -> None:
        """What the pipes' readers hold, the tunnel's credentials and the environment made of them (the database password)
        are wiped."""
        for reader in self.readers.values():
            with contextlib.suppress(Exception):
                reader.wipe()
        self.creds.clear()
        self.env.clear()


def copy_database(
    *,
    cf: CfClient,
    app: str,
    service: str,
    org: str,
    space: str,
    state_dir: str,
    dest_dir: str,
    lease_path: str,
    keep_hours: float = DEFAULT_KEEP_HOURS,
    key_base: str | None = None,
    pg_bin_dir: str | None = None,
    age_bin_dir: str | None = None,
    progress: t.Callable[[str], None] | None = None,
    progress_every: float = 10.0,
    tunnel_timeout: float = 90.0,
    dump_timeout: float = 6 * 3600.0,
    controller: t.Mapping[str, t.Any] | None = None,
    run_id: str = "",
    operator: str = "",
) -> dict[str, t.Any]:
    """Copy the database of ``service`` through a tunnel on ``app`` into an age-encrypted file. Returns the record
    and ``audit_events``; raises CopyError (with the events so far) after cleaning up on any failure."""
    copy = DatabaseCopy(cf, app=app, service=service, org=org, space=space, state_dir=state_dir, dest_dir=dest_dir,
                        lease_path=lease_path, keep_hours=keep_hours, key_base=key_base, pg_bin_dir=pg_bin_dir,
                        age_bin_dir=age_bin_dir, say=progress or (lambda _msg: None), progress_every=progress_every,
                        tunnel_timeout=tunnel_timeout, dump_timeout=dump_timeout, controller=controller, run_id=run_id,
                        operator=operator)
    return copy.run()
