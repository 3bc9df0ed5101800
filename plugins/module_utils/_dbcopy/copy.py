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
"""

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

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _cf, _proc
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.keys import destroy_identity, key_store, new_identity
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.records import DEFAULT_KEEP_HOURS, RECORD_FORMAT, write_record
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.streams import CHUNK, Reader, pump
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.tools import find_tool, pg_env, pg_major, pipe, popen, run, tool_versions
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.tunnel import CONNECT_BLOCK_END, KEY_NAME, delete_service_key, tunnel_failure

__all__ = ["copy_database"]


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024.0
    return f"{n:.1f} TiB"


class _Steps:
    """The audit events of a copy, each with its time."""

    def __init__(self, base: t.Mapping[str, t.Any]) -> None:
        self.base = dict(base)
        self.events: list[dict[str, t.Any]] = []

    def add(self, event: str, **fields: t.Any) -> None:
        self.events.append({"event": event, **self.base, "at": _audit.utc_now(), **fields})


def copy_database(
    *,
    cf: _cf.CfClient,
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
    say = progress or (lambda _msg: None)
    if keep_hours <= 0 or keep_hours > 24 * 30:
        raise CopyError("plan the copy", f"keep_hours {keep_hours} is outside 0..720", "Keep a copy at most 30 days (default 24 hours)", kind="bad_input")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    copy_id = f"{re.sub(r'[^a-z0-9-]', '-', service.lower())}-{stamp}-{uuid.uuid4().hex[:6]}"
    steps = _Steps({"copy_id": copy_id, "service": service, "app": app})
    tools = {
        "pg_dump": find_tool("pg_dump", pg_bin_dir),
        "psql": find_tool("psql", pg_bin_dir),
        "age": find_tool("age", age_bin_dir),
        "age-keygen": find_tool("age-keygen", age_bin_dir),
    }
    versions = tool_versions({"pg_dump": tools["pg_dump"], "age": tools["age"]})
    store = key_store(key_base)
    lease = sw.read_lease(lease_path)
    if lease is None or lease.get("state") != "open" or not sw.is_live(lease):
        raise CopyError("start the copy", f"no open SSH window at {lease_path}",
                        "Open the window first (ttahub.ops.space_ssh_window, tasks_from open)", kind="no_window")
    folder = os.path.join(os.path.abspath(os.path.expanduser(dest_dir)), copy_id)
    final = os.path.join(folder, f"{copy_id}.pgdump.age")
    partial = final + ".partial"
    identity = os.path.join(store["dir"], f"{copy_id}.age-identity")
    created = time.time()
    record: dict[str, t.Any] = {
        "format": RECORD_FORMAT,
        "copy_id": copy_id,
        "state": "copying",
        "created_at": _audit.utc_now(),
        "created_epoch": created,
        "deadline_epoch": created + keep_hours * 3600,
        "deadline": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created + keep_hours * 3600)),
        "keep_hours": keep_hours,
        "run_id": run_id,
        "operator": operator,
        "source": {"org": org, "space": space, "app": app, "service": service},
        "window_id": lease.get("window_id"),
        "folder": folder,
        "ciphertext_path": final,
        "identity_path": identity,
        "identity_memory_backed": store["memory_backed"],
        "key_store_note": store["note"],
        "tools": versions,
    }
    attached: dict[str, str] = {}
    procs: dict[str, _proc.Popen[bytes]] = {}
    readers: dict[str, Reader] = {}
    creds: dict[str, t.Any] = {}
    alive = (lambda: sw.process_alive(controller["pid"], controller.get("start"))) if controller else (lambda: True)

    def attach(slot: str, kind: str, **info: t.Any) -> None:
        attached[slot] = sw.attach(state_dir, lease_path, kind, **info)["id"]

    def detach(slot: str) -> None:
        if slot in attached:
            with contextlib.suppress(OSError, ValueError):
                sw.detach(state_dir, lease_path, attached.pop(slot))

    def start(name: str, argv: list[str], **kwargs: t.Any) -> _proc.Popen[bytes]:
        proc = popen(argv, detach=True, **kwargs)
        procs[name] = proc
        attach(name, "process", pid=proc.pid, start=sw.process_start_time(proc.pid), name=name)
        return proc

    try:
        os.makedirs(folder, mode=0o700)
        os.chmod(folder, 0o700)
        write_record(state_dir, record)
        attach("identity", "path", path=identity)
        recipient = new_identity(tools["age-keygen"], identity)
        record["recipient"] = recipient
        steps.add("data_copy_key_created", memory_backed=store["memory_backed"], key_store=store["base"], swap_areas=store["swap_areas"])
        if not store["memory_backed"] or store["swap_areas"]:
            say("WARNING: " + store["note"])

        # cf connect-to-service -no-client APP SERVICE: the plugin deletes an old SERVICE_CONNECT key, makes a new one.
        attach("service_key", "service_key", service=service, key=KEY_NAME)
        tunnel = cf.spawn(["connect-to-service", "-no-client", app, service], action=f"open the tunnel to {service}")
        procs["tunnel"] = tunnel
        attach("tunnel", "process", pid=tunnel.pid, start=sw.process_start_time(tunnel.pid), name="tunnel")
        readers["tunnel_out"], readers["tunnel_err"] = Reader(pipe(tunnel.stdout)), Reader(pipe(tunnel.stderr))
        for reader in (readers["tunnel_out"], readers["tunnel_err"]):
            reader.start()
        t0 = time.monotonic()
        if not readers["tunnel_out"].wait_for(CONNECT_BLOCK_END, tunnel_timeout, lambda: tunnel.poll() is None and alive()):
            if not alive():
                raise CopyError("open the tunnel", "the run's controller ended", "The window's watchdog cleans up", kind="controller_died")
            if tunnel.poll() is None:
                raise CopyError(f"open the tunnel to {service}", f"no connection information within {tunnel_timeout:.0f} s",
                                "Check cloud.gov's status and the cf-service-connect plugin, then run again", kind="tunnel_timeout")
            readers["tunnel_err"].join(2)
            raise tunnel_failure(readers["tunnel_err"].text(), app, service)
        creds = _cf.parse_service_connect(readers["tunnel_out"].text())
        readers["tunnel_out"].wipe()
        steps.add("data_copy_tunnel_open", local_port=creds["port"], database=creds["name"], seconds=round(time.monotonic() - t0, 3))
        record["source"]["database"] = creds["name"]
        say(f"Tunnel open on {creds['host']}:{creds['port']} to database {creds['name']}")

        env = pg_env(creds["password"])
        conn = ["-h", creds["host"], "-p", str(creds["port"]), "-U", creds["username"]]
        server = run([tools["psql"], "-X", "-At", *conn, "-d", creds["name"], "-c", "SHOW server_version_num"],
                     action=f"ask the database {creds['name']} for its version", env=env, timeout=60)
        server_num = int(server.stdout.decode().strip().splitlines()[-1])
        server_major = server_num // 10000 if server_num >= 100000 else server_num // 100
        local_major = pg_major(versions["pg_dump"])
        record["tools"]["server_version_num"] = server_num
        if local_major < server_major:
            raise CopyError(f"dump the database {creds['name']}",
                            f"the local pg_dump is version {local_major} but the server is PostgreSQL {server_major}: "
                            "an older pg_dump cannot dump a newer server",
                            f"Install the PostgreSQL {server_major} client (Debian: apt-get install postgresql-client-{server_major}) "
                            "or set pg_bin_dir to its bin folder, then run again",
                            kind="pg_dump_too_old")
        steps.add("data_copy_versions_checked", pg_dump_major=local_major, server_version_num=server_num)

        # pg_dump | age -r RECIPIENT > partial file: the plaintext only crosses this process's memory.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        attach("partial", "path", path=partial)
        out = os.fdopen(fd, "wb")
        dump = start("pg_dump", [tools["pg_dump"], "-Fc", "--no-acl", "--no-owner", *conn, "-d", creds["name"]],
                     stdin=_proc.DEVNULL, stdout=_proc.PIPE, stderr=_proc.PIPE, env=env)
        enc = start("age", [tools["age"], "-r", recipient], stdin=_proc.PIPE, stdout=_proc.PIPE, stderr=_proc.PIPE,
                    env=pg_env())
        readers["dump_err"], readers["age_err"] = Reader(pipe(dump.stderr)), Reader(pipe(enc.stderr))
        readers["dump_err"].start()
        readers["age_err"].start()
        plain = [0]
        pump_errors: list[str] = []
        pumping = threading.Thread(target=pump, args=(pipe(dump.stdout), pipe(enc.stdin), plain, pump_errors), daemon=True)
        pumping.start()
        steps.add("data_copy_dump_started")
        digest = hashlib.sha256()
        cipher = 0
        started = last = time.monotonic()
        last_bytes = 0
        source = pipe(enc.stdout).fileno()
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
                if now - last >= progress_every:
                    rate = (plain[0] - last_bytes) / (now - last)
                    say(f"Dump in progress: {human(plain[0])} dumped, {human(rate)}/s, {human(cipher)} encrypted, {now - started:.0f} s")
                    last, last_bytes = now, plain[0]
                if not alive():
                    raise CopyError("dump the database", "the run's controller ended during the dump", "The window's watchdog cleans up",
                                    kind="controller_died")
                if now - started > dump_timeout:
                    raise CopyError("dump the database", f"the dump took longer than {dump_timeout:.0f} s",
                                    "Raise dump_timeout or copy when the database is quieter", kind="timeout")
        pumping.join(30)
        out.flush()
        os.fsync(out.fileno())
        out.close()
        dump_rc, age_rc = dump.wait(60), enc.wait(60)
        for name in ("dump_err", "age_err"):
            readers[name].join(5)
        seconds = time.monotonic() - started
        if dump_rc != 0 or pump_errors:
            raise CopyError(f"dump the database {creds['name']}",
                            f"pg_dump exited {dump_rc}: {' '.join(readers['dump_err'].text().split())[:500] or 'no message'}",
                            "Check the tunnel and the database; nothing was kept", kind="pg_dump_failed")
        if age_rc != 0:
            raise CopyError("encrypt the dump", f"age exited {age_rc}: {' '.join(readers['age_err'].text().split())[:300]}",
                            "Check the age installation", kind="age_failed")
        os.replace(partial, final)
        detach("partial")
        attach("ciphertext", "path", path=final)
        for name in ("pg_dump", "age"):
            detach(name)
        sha = digest.hexdigest()
        record.update(ciphertext_sha256=sha, ciphertext_bytes=cipher, plaintext_bytes=plain[0], dump_seconds=round(seconds, 3),
                      dump_rate_bytes_per_s=round(plain[0] / seconds if seconds else 0.0, 1))
        steps.add("data_copy_dump_finished", plaintext_bytes=plain[0], ciphertext_bytes=cipher, ciphertext_sha256=sha,
                  seconds=round(seconds, 3))
        say(f"Dump finished: {human(plain[0])} dumped in {seconds:.1f} s, {human(cipher)} encrypted, sha256 {sha}")

        # Stop the tunnel (Ctrl-C, as the SOP says), then delete its key (the plugin leaves it behind).
        _cf.stop_group(tunnel)
        detach("tunnel")
        steps.add("data_copy_tunnel_stopped")
        delete_service_key(cf, service)
        detach("service_key")
        steps.add("data_copy_service_key_deleted", key=KEY_NAME)
        detach("identity")
        detach("ciphertext")
        record["state"] = "encrypted"
        record["completed_at"] = _audit.utc_now()
        write_record(state_dir, record)
        steps.add("data_copy_stored", ciphertext_path=final, deadline=record["deadline"], identity_memory_backed=store["memory_backed"])
        return {"changed": True, "record": record, "audit_events": steps.events}
    except BaseException as err:
        cleanup = _undo(procs, cf, service, [partial, final], identity, folder, creds)
        for name in list(attached):
            detach(name)
        record.update(state="failed", failed_at=_audit.utc_now(), cleanup=cleanup)
        with contextlib.suppress(OSError, KeyError, CopyError):
            write_record(state_dir, record)
        steps.add("data_copy_failed", error=str(err)[:500] or type(err).__name__, cleanup=cleanup)
        if isinstance(err, CopyError):
            err.events = steps.events
            raise
        if isinstance(err, (_cf.CfError, sw.WindowError)):
            raise CopyError("copy the database", err.message, "Nothing was kept; see the audit log", kind=getattr(err, "kind", "cf_error"),
                            events=steps.events) from err
        if isinstance(err, Exception):
            raise CopyError("copy the database", f"{type(err).__name__}: {err}", "Nothing was kept; see the audit log", kind="unexpected",
                            events=steps.events) from err
        raise
    finally:
        for reader in readers.values():
            with contextlib.suppress(Exception):
                reader.wipe()
        creds.clear()


def _undo(procs: t.Mapping[str, _proc.Popen[bytes]], cf: _cf.CfClient, service: str, files: list[str], identity: str,
          folder: str, creds: dict[str, t.Any]) -> list[str]:
    """After a failure: stop every process, delete the key, destroy partial files and the identity."""
    done = []
    for name in ("pg_dump", "age", "tunnel"):
        proc = procs.get(name)
        if proc is not None and proc.poll() is None:
            _cf.stop_group(proc, (signal.SIGTERM, signal.SIGKILL), wait=2.0)
            done.append(f"{name} stopped")
    if "tunnel" in procs:
        try:
            delete_service_key(cf, service)
            done.append(f"{KEY_NAME} key deleted")
        except (_cf.CfError, CopyError) as err:
            done.append(f"{KEY_NAME} key: FAILED ({err})")
    for path in files:
        if os.path.lexists(path):
            with contextlib.suppress(OSError):
                os.unlink(path)
                done.append(f"{os.path.basename(path)} removed")
    with contextlib.suppress(OSError):
        if destroy_identity(identity):
            done.append("identity destroyed")
    with contextlib.suppress(OSError):
        os.rmdir(folder)
    return done
