# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The production data copy: tunnel, encrypted dump, local restore, cryptographic wipe.

PRIVATE to the collection. It can have breaking changes at any time.

* The copy (:func:`copy_database`) runs inside an open space SSH window (``_ssh_window``): ``cf connect-to-service
  -no-client APP SERVICE`` in the background (cf-cli.md §3.14), its connection block read from the pipe (the password
  stays in this process's memory and reaches ``psql``/``pg_dump`` only as ``PGPASSWORD``), a version check, then
  ``pg_dump -Fc --no-acl --no-owner`` whose stdout is pumped straight into ``age -r <recipient>``: the plaintext never
  touches a disk. Every process, the ``SERVICE_CONNECT`` key, the partial file and the identity are attached to the
  window's lease first, so the window's watchdog cleans them up if the run is killed.
* The age identity of a copy is made by ``age-keygen`` into memory-backed storage (``/dev/shm``, tmpfs) where the OS
  has it (:func:`key_store`); elsewhere the run says what the residual risk is.
* A record per copy (``<state_dir>/copies/<copy_id>.json``, 0600) holds what is needed to restore and to prove the
  wipe: paths, byte counts, the ciphertext's SHA-256, the deadline (default 24 h).
* The restore (:func:`restore_copy`) decrypts as a stream into ``pg_restore --single-transaction`` on a throwaway
  PostgreSQL cluster in tmpfs (Unix socket only, in a 0700 folder), then counts and checksums every table.
* The wipe (:func:`wipe_copy`) destroys the identity (cryptographic erase, NIST SP 800-88 "Purge"), removes the
  ciphertext, stops and removes the cluster, and checks that nothing remains.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import selectors
import shutil
import signal
import socket
import threading
import time
import typing as t
import uuid

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _cf, _proc
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = [
    "CopyError",
    "copy_database",
    "key_store",
    "list_records",
    "overdue",
    "read_record",
    "restore_copy",
    "table_checksums",
    "wipe_copy",
]

RECORD_FORMAT = "ttahub-ops-data-copy/1"
KEY_NAME = "SERVICE_CONNECT"
DEFAULT_KEEP_HOURS = 24
CHUNK = 1 << 20
CONNECT_BLOCK_END = "Leave this terminal open while you want to use the SSH tunnel. Press Control-C to stop."
GO_LOG_PREFIX = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} ")
PG_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")
COPY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class CopyError(OpsError):
    """A step of the copy, restore or wipe that failed. ``str()``: "Failed to <verb> <object>: <cause>. <what to do>".

    ``events`` are the audit events of what was done before it failed (a window that closed, a copy that was wiped).
    """

    kind = "copy_error"


def _now() -> str:
    return _audit.utc_now()


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024.0
    return f"{n:.1f} TiB"


# ---------------------------------------------------------------------------------------------------------------------
# Tools


def find_tool(name: str, bin_dir: str | None = None) -> str:
    """``bin_dir/name`` when given; for PostgreSQL's tools the newest ``/usr/lib/postgresql/*/bin`` (Debian keeps one
    folder per major version, and the newest client dumps every older server); else ``name`` on PATH."""
    if bin_dir:
        path = os.path.join(os.path.expanduser(bin_dir), name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise CopyError(f"find {name}", f"{path} is not an executable file", "Check pg_bin_dir (or age_bin_dir)", kind="tool_missing")
    if name.startswith("pg_") or name in ("psql", "initdb", "postgres"):
        folders = glob.glob("/usr/lib/postgresql/*/bin")
        folders.sort(key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0, reverse=True)
        for folder in folders:
            path = os.path.join(folder, name)
            if os.access(path, os.X_OK):
                return path
    found = _proc.find_tool(name)
    if not found:
        if name.startswith("age"):
            hint = "Install age (Debian: apt-get install age; https://age-encryption.org)"
        else:
            hint = "Install PostgreSQL's client and server tools (Debian: apt-get install postgresql)"
        raise CopyError(f"find {name}", f"there is no {name} on PATH", hint, kind="tool_missing")
    return found


# This file serves an action plugin (db_copy, on the controller) as well as modules, so there is no AnsibleModule and
# no run_command here; and the copy needs what run_command cannot do: processes joined by pipes (pg_dump | age,
# age -d | pg_restore), kept in their own sessions so the window's watchdog can stop them. Argv lists only, never a
# shell; secrets only in the environment.
def _popen(argv: list[str], *, detach: bool = False, **kwargs: t.Any) -> _proc.Popen[bytes]:
    return _proc.spawn(argv, detach=detach, **kwargs)


def _run(argv: list[str], *, action: str, env: t.Mapping[str, str] | None = None, timeout: float = 120,
         stdin: bytes | None = None, secret_output: bool = False, user: str | None = None) -> _proc.Completed:
    """Run a local tool (argv list, never a shell). ``secret_output`` keeps stdout out of errors."""
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    try:
        proc = _proc.run(argv, input=stdin, timeout=timeout, env=env, detach=False)
    except _proc.TimedOut:
        raise CopyError(action, f"{os.path.basename(argv[0])} did not finish within {timeout:.0f} s", "Check the system and run again",
                        kind="timeout") from None
    except OSError as err:
        raise CopyError(action, f"cannot run {argv[0]} ({err.strerror})", "Check that the tool is installed", kind="tool_missing") from None
    if proc.rc != 0:
        text = proc.text("stderr") + ("" if secret_output else proc.text("stdout"))
        detail = " ".join(line.strip() for line in text.splitlines() if line.strip())[:600]
        name = os.path.basename(argv[4] if user else argv[0])
        raise CopyError(action, f"{name} exited {proc.rc}: {detail or 'no message'}", "See the message above", kind="tool_failed")
    return proc


def _run_quietly(argv: list[str], timeout: float = 60) -> int:
    """A status check (``pg_ctl status``, ``pg_ctl stop``): only the exit code matters."""
    try:
        return _proc.run(argv, timeout=timeout, detach=False).rc
    except (OSError, _proc.TimedOut):
        return -1


def _pipe(stream: t.IO[bytes] | None) -> t.IO[bytes]:
    """A pipe of a process started with PIPE (typed; never None)."""
    if stream is None:
        raise CopyError("connect the copy's processes", "a pipe is missing", "Report this bug", kind="bug")
    return stream


def pg_major(text: str) -> int:
    match = PG_VERSION.search(text)
    if not match:
        raise CopyError("read the PostgreSQL tool's version", f"unexpected version text {text.strip()[:80]!r}",
                        "Check the PostgreSQL installation", kind="tool_failed")
    return int(match.group(1))


def tool_versions(tools: t.Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, path in tools.items():
        flag = "--version"
        proc = _run([path, flag], action=f"read the version of {name}", timeout=30)
        out[name] = (proc.stdout or proc.stderr).decode("utf-8", "replace").strip().splitlines()[0]
    return out


def pg_env(password: str | None = None) -> dict[str, str]:
    """The environment for PostgreSQL's tools: no inherited PG* settings; the password only in PGPASSWORD."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGCONNECT_TIMEOUT="15", PGAPPNAME="ttahub-ops", LC_ALL="C.UTF-8", LANG="C.UTF-8")
    if password is not None:
        env["PGPASSWORD"] = password
    return env


# ---------------------------------------------------------------------------------------------------------------------
# Memory-backed key store


def _mount_of(path: str) -> tuple[str, str]:
    """(mount point, filesystem type) of ``path`` from /proc/self/mounts; ('', '') when unknown."""
    best = ("", "")
    real = os.path.realpath(path)
    try:
        with open("/proc/self/mounts", encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mount = parts[1].replace("\\040", " ")
                if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best[0]):
                    best = (mount, parts[2])
    except OSError:
        pass
    return best


def _active_swap() -> int:
    try:
        with open("/proc/swaps", encoding="utf-8") as handle:
            return max(0, len([line for line in handle if line.strip()]) - 1)
    except OSError:
        return 0


def memory_backed(path: str) -> bool:
    return _mount_of(path)[1] in ("tmpfs", "ramfs")


def key_store(base: str | None = None, fallback: str | None = None) -> dict[str, t.Any]:
    """Where the copy's age identity lives: ``base`` when given, else ``/dev/shm`` or ``$XDG_RUNTIME_DIR`` when they are
    memory-backed (tmpfs), else ``fallback`` on disk. ``note`` says plainly what the residual risk is."""
    candidates = [base] if base else ["/dev/shm", os.environ.get("XDG_RUNTIME_DIR") or ""]
    chosen = None
    for candidate in candidates:
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            if base or memory_backed(candidate):
                chosen = candidate
                break
    if chosen is None:
        chosen = fallback or os.path.join(os.path.expanduser("~"), ".local", "state", "ttahub-ops", "keys")
    folder = os.path.join(chosen, f"ttahub-ops-keys-{os.getuid()}")
    in_memory = memory_backed(chosen)
    swaps = _active_swap()
    if in_memory and swaps == 0:
        note = (f"The age identity is in memory-backed storage ({_mount_of(chosen)[1]} at {chosen}) and no swap is active: "
                "it never reaches a disk; deleting it is a cryptographic erase.")
    elif in_memory:
        note = (f"The age identity is in memory-backed storage ({chosen}), but {swaps} swap area(s) are active: under "
                "memory pressure its page could be written to swap. Residual risk: unless swap is encrypted, the key "
                "may survive on the swap device after the wipe.")
    else:
        note = (f"This system has no memory-backed storage for the age identity: it is written to {folder} on a disk. "
                "Residual risk: deleting a file on an SSD cannot be proven (anchors.md §3.4); the ciphertext's key may "
                "survive there after the wipe. Prefer a Linux controller with /dev/shm, or use full-disk encryption.")
    return {"dir": folder, "base": chosen, "memory_backed": in_memory, "swap_areas": swaps, "note": note}


def new_identity(age_keygen: str, path: str) -> str:
    """Make an X25519 age identity at ``path`` (0600, created exclusively) and return its recipient (public key)."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    os.chmod(os.path.dirname(path), 0o700)
    proc = _run([age_keygen], action="make the copy's age identity", secret_output=True, timeout=30)
    text = proc.stdout.decode("ascii", "replace")
    match = re.search(r"^# public key: (age1[0-9a-z]+)$", text, re.M)
    if not match or "AGE-SECRET-KEY-" not in text:
        raise CopyError("make the copy's age identity", "age-keygen printed no key", "Check the age installation", kind="tool_failed")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    return match.group(1)


def destroy_identity(path: str) -> bool:
    """Overwrite the identity file with random bytes, then remove it. Returns whether it existed."""
    if not os.path.lexists(path):
        return False
    with contextlib.suppress(OSError):
        size = os.path.getsize(path)
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, os.urandom(max(size, 128)))
            os.fsync(fd)
        finally:
            os.close(fd)
    os.unlink(path)
    return True


# ---------------------------------------------------------------------------------------------------------------------
# Records


def copies_dir(state_dir: str) -> str:
    return os.path.join(os.path.abspath(os.path.expanduser(state_dir)), "copies")


def record_path(state_dir: str, copy_id: str) -> str:
    if not COPY_ID.match(copy_id or ""):
        raise CopyError("find the copy", f"{copy_id!r} is not a copy id", "Pass a copy_id as prod_db_copy printed it", kind="bad_input")
    return os.path.join(copies_dir(state_dir), f"{copy_id}.json")


def read_record(state_dir: str, copy_id: str) -> dict[str, t.Any]:
    path = record_path(state_dir, copy_id)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise CopyError("find the copy", f"there is no copy {copy_id} in {copies_dir(state_dir)}",
                        "List the copies with the ssh_guard playbook or pass another copy_id", kind="not_found") from None
    except (OSError, ValueError) as err:
        raise CopyError("read the copy's record", f"{path}: {err}", "Keep the file for the investigation", kind="bad_record") from None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise CopyError("read the copy's record", f"{path} is not a ttahub.ops copy record", "Keep the file for the investigation", kind="bad_record")
    return data


def write_record(state_dir: str, record: dict[str, t.Any]) -> str:
    folder = copies_dir(state_dir)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    path = record_path(state_dir, record["copy_id"])
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def list_records(state_dir: str) -> list[dict[str, t.Any]]:
    folder = copies_dir(state_dir)
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("format") == RECORD_FORMAT:
            out.append(data)
    out.sort(key=lambda r: str(r.get("created_at")))
    return out


def overdue(record: t.Mapping[str, t.Any], now: float | None = None) -> bool:
    """A copy that still holds data (not wiped) after its deadline."""
    return record.get("state") != "wiped" and float(record.get("deadline_epoch") or 0) < (time.time() if now is None else now)


def summary(record: t.Mapping[str, t.Any], now: float | None = None) -> dict[str, t.Any]:
    """What a copy's record shows outside (no paths of the identity beyond its folder, no secrets: there are none)."""
    keys = ("copy_id", "state", "created_at", "deadline", "run_id", "operator", "source", "ciphertext_sha256",
            "ciphertext_bytes", "plaintext_bytes", "ciphertext_path", "identity_memory_backed", "restore", "wiped_at")
    out = {key: record.get(key) for key in keys}
    out["overdue"] = overdue(record, now)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Background processes: read their pipes without blocking the run


class _Reader(threading.Thread):
    """Reads a pipe to the end into memory (bounded), line by line for the tunnel's stdout."""

    def __init__(self, stream: t.IO[bytes], limit: int = 1 << 16) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.data = bytearray()
        self.changed = threading.Condition()
        self.done = False

    def run(self) -> None:
        try:
            for line in iter(self.stream.readline, b""):
                with self.changed:
                    if len(self.data) < self.limit:
                        self.data.extend(line[: self.limit - len(self.data)])
                    self.changed.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self.changed:
                self.done = True
                self.changed.notify_all()

    def text(self) -> str:
        with self.changed:
            return bytes(self.data).decode("utf-8", "replace")

    def wait_for(self, marker: str, timeout: float, alive: t.Callable[[], bool]) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while marker not in bytes(self.data).decode("utf-8", "replace"):
                if self.done or time.monotonic() >= deadline or not alive():
                    return False
                self.changed.wait(0.2)
        return True

    def wipe(self) -> None:
        """Forget what was read (the tunnel's output holds the database password)."""
        with self.changed:
            for i in range(len(self.data)):
                self.data[i] = 0
            self.data.clear()


def _cf_stderr(text: str) -> str:
    return " ".join(GO_LOG_PREFIX.sub("", line).strip() for line in text.splitlines() if line.strip())


def _tunnel_failure(stderr: str, app: str, service: str) -> CopyError:
    text = _cf_stderr(stderr)
    action = f"open the tunnel to {service} (cf connect-to-service -no-client {app} {service})"
    if "Error opening SSH connection" in text or "not authorized" in text:
        return CopyError(action, f"cf ssh was refused ({text})",
                         f"SSH must be allowed in the space (the window), enabled for the app ({app}: cf ssh-enabled {app}) and "
                         "you must be a Space Developer", kind="ssh_refused")
    if "is not a registered command" in text:
        return CopyError(action, "the cf-service-connect plugin is not installed",
                         "Install it: cf install-plugin https://github.com/cloud-gov/cf-service-connect/releases (see cloud.gov's database docs)",
                         kind="plugin_missing")
    if "Wrong number of arguments" in text:
        return CopyError(action, "the plugin rejected the arguments", "This collection needs cf-service-connect v1.1.x", kind="usage_error")
    return CopyError(action, text or "cf connect-to-service ended without its connection block",
                     "Check the app and the service names (cf_app, cf_db_service) and the plugin", kind="tunnel_failed")


# ---------------------------------------------------------------------------------------------------------------------
# The copy


class _Steps:
    """The audit events of a copy, each with its time."""

    def __init__(self, base: t.Mapping[str, t.Any]) -> None:
        self.base = dict(base)
        self.events: list[dict[str, t.Any]] = []

    def add(self, event: str, **fields: t.Any) -> None:
        self.events.append({"event": event, **self.base, "at": _now(), **fields})


def _pump(src: t.IO[bytes], dst: t.IO[bytes], counter: list[int], errors: list[str]) -> None:
    """Plaintext from pg_dump to age, in memory only."""
    try:
        while True:
            chunk = src.read1(CHUNK) if hasattr(src, "read1") else src.read(CHUNK)  # type: ignore[attr-defined]
            if not chunk:
                break
            dst.write(chunk)
            counter[0] += len(chunk)
    except (OSError, ValueError) as err:
        errors.append(str(err))
    finally:
        with contextlib.suppress(OSError, ValueError):
            dst.close()


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
        "created_at": _now(),
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
    readers: dict[str, _Reader] = {}
    creds: dict[str, t.Any] = {}
    alive = (lambda: sw.process_alive(controller["pid"], controller.get("start"))) if controller else (lambda: True)

    def attach(slot: str, kind: str, **info: t.Any) -> None:
        attached[slot] = sw.attach(state_dir, lease_path, kind, **info)["id"]

    def detach(slot: str) -> None:
        if slot in attached:
            with contextlib.suppress(OSError, ValueError):
                sw.detach(state_dir, lease_path, attached.pop(slot))

    def start(name: str, argv: list[str], **kwargs: t.Any) -> _proc.Popen[bytes]:
        proc = _popen(argv, detach=True, **kwargs)
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
        readers["tunnel_out"], readers["tunnel_err"] = _Reader(_pipe(tunnel.stdout)), _Reader(_pipe(tunnel.stderr))
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
            raise _tunnel_failure(readers["tunnel_err"].text(), app, service)
        creds = _cf.parse_service_connect(readers["tunnel_out"].text())
        readers["tunnel_out"].wipe()
        steps.add("data_copy_tunnel_open", local_port=creds["port"], database=creds["name"], seconds=round(time.monotonic() - t0, 3))
        record["source"]["database"] = creds["name"]
        say(f"Tunnel open on {creds['host']}:{creds['port']} to database {creds['name']}")

        env = pg_env(creds["password"])
        conn = ["-h", creds["host"], "-p", str(creds["port"]), "-U", creds["username"]]
        server = _run([tools["psql"], "-X", "-At", *conn, "-d", creds["name"], "-c", "SHOW server_version_num"],
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
        readers["dump_err"], readers["age_err"] = _Reader(_pipe(dump.stderr)), _Reader(_pipe(enc.stderr))
        readers["dump_err"].start()
        readers["age_err"].start()
        plain = [0]
        pump_errors: list[str] = []
        pump = threading.Thread(target=_pump, args=(_pipe(dump.stdout), _pipe(enc.stdin), plain, pump_errors), daemon=True)
        pump.start()
        steps.add("data_copy_dump_started")
        digest = hashlib.sha256()
        cipher = 0
        started = last = time.monotonic()
        last_bytes = 0
        source = _pipe(enc.stdout).fileno()
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
        pump.join(30)
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
        record["completed_at"] = _now()
        write_record(state_dir, record)
        steps.add("data_copy_stored", ciphertext_path=final, deadline=record["deadline"], identity_memory_backed=store["memory_backed"])
        return {"changed": True, "record": record, "audit_events": steps.events}
    except BaseException as err:
        cleanup = _undo(procs, cf, service, [partial, final], identity, folder, creds)
        for name in list(attached):
            detach(name)
        record.update(state="failed", failed_at=_now(), cleanup=cleanup)
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


def delete_service_key(cf: _cf.CfClient, service: str) -> None:
    """``cf delete-service-key -f SERVICE SERVICE_CONNECT`` (cloud.gov's explicit step, cf-cli.md §6), then check it is
    gone: ``cf service-key SERVICE SERVICE_CONNECT --guid`` must answer that there is no such key."""
    cf.run(["delete-service-key", "-f", service, KEY_NAME], action=f"delete the {KEY_NAME} key of {service}")
    try:
        cf.run(["service-key", service, KEY_NAME, "--guid"], action=f"check that the {KEY_NAME} key of {service} is gone")
    except _cf.CfNotFoundError:
        return
    raise CopyError(f"delete the {KEY_NAME} key of {service}", "the key still exists after cf delete-service-key",
                    f"Delete it by hand: cf delete-service-key -f {service} {KEY_NAME}", kind="key_left")


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


# ---------------------------------------------------------------------------------------------------------------------
# Checksums: the same SQL on the source and on the restored copy


TABLES_SQL = (
    "SELECT CASE WHEN schemaname = 'public' THEN tablename ELSE schemaname || '.' || tablename END, "
    "quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
)


def checksum_sql(table: str) -> str:
    """Rows and an order-independent digest of every row's text form."""
    return (f"SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), md5('')) "
            f"FROM (SELECT md5(t::text) AS h FROM {table} t) s")


def table_checksums(run_sql: t.Callable[[str], list[str]]) -> dict[str, t.Any]:
    """``{tables: {name: {rows, md5}}, rows, checksum}`` where ``run_sql`` returns psql ``-At`` lines."""
    tables = {}
    for line in run_sql(TABLES_SQL):
        name, quoted = line.split("|", 1)
        line = run_sql(checksum_sql(quoted))[0]
        rows, digest = line.split("|", 1)
        tables[name] = {"rows": int(rows), "md5": digest}
    overall = hashlib.sha256("".join(f"{n}:{v['rows']}:{v['md5']}\n" for n, v in sorted(tables.items())).encode()).hexdigest()
    return {"tables": tables, "rows": sum(v["rows"] for v in tables.values()), "checksum": overall}


# ---------------------------------------------------------------------------------------------------------------------
# The throwaway local PostgreSQL


SERVER_USER = "postgres"


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run the server as ``postgres``."""
    return SERVER_USER if os.geteuid() == 0 else None


def _chown_to_server(path: str) -> None:
    if os.geteuid() == 0:
        import pwd  # pylint: disable=import-outside-toplevel

        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cluster_paths(base: str, copy_id: str) -> dict[str, str]:
    root = os.path.join(base, f"ttahub-ops-pg-{copy_id}")
    return {"root": root, "data": os.path.join(root, "data"), "socket": os.path.join(root, "socket"), "log": os.path.join(root, "server.log")}


def _psql_local(tools: t.Mapping[str, str], paths: t.Mapping[str, str], port: int, database: str, sql: str) -> list[str]:
    proc = _run([tools["psql"], "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", paths["socket"], "-p", str(port), "-U", "postgres",
                 "-d", database, "-c", sql], action=f"query the local copy {database}", env=pg_env(), timeout=3600)
    return [line for line in proc.stdout.decode("utf-8", "replace").splitlines() if line]


def cluster_running(paths: t.Mapping[str, str], pg_ctl: str) -> bool:
    if not os.path.exists(os.path.join(paths["data"], "PG_VERSION")):
        return False
    argv = [pg_ctl, "-D", paths["data"], "status"]
    if _server_user():
        argv = ["runuser", "-u", SERVER_USER, "--", *argv]
    return _run_quietly(argv) == 0


def restore_copy(
    *,
    state_dir: str,
    copy_id: str,
    base_dir: str | None = None,
    allow_disk: bool = False,
    port: int | None = None,
    database: str = "ttahub_copy",
    pg_bin_dir: str | None = None,
    age_bin_dir: str | None = None,
    checksum: bool = True,
    check_mode: bool = False,
) -> dict[str, t.Any]:
    """Decrypt the copy as a stream into a new local cluster; see the module ``db_restore_local``."""
    record = read_record(state_dir, copy_id)
    events: list[dict[str, t.Any]] = []
    warnings: list[str] = []
    if record.get("state") not in ("encrypted", "restored"):
        raise CopyError(f"restore the copy {copy_id}", f"the copy is {record.get('state')}",
                        "Only a complete copy can be restored; make a new one with prod_db_copy", kind="not_restorable")
    base = base_dir or "/dev/shm"
    in_memory = memory_backed(base) if os.path.isdir(base) else False
    if not in_memory and not allow_disk:
        raise CopyError(f"restore the copy {copy_id}", f"{base} is not memory-backed (tmpfs): the restored production data would be written to a disk",
                        "Use a tmpfs folder (base_dir, default /dev/shm), or accept a disk-backed restore explicitly with allow_disk "
                        "(-e restore_allow_disk=true)", kind="disk_refused")
    if not in_memory:
        warnings.append(f"The restored production data are written to {base}, which is NOT memory-backed: deleting them later cannot be "
                        "proven on an SSD. Wipe the copy as soon as the investigation is done.")
    tools = {name: find_tool(name, pg_bin_dir) for name in ("initdb", "pg_ctl", "pg_restore", "psql")}
    tools["age"] = find_tool("age", age_bin_dir)
    paths = cluster_paths(base, copy_id)
    if record.get("state") == "restored" and cluster_running(paths, tools["pg_ctl"]):
        restore = record["restore"]
        return {"changed": False, "record": record, "restore": restore, "audit_events": [], "warnings": warnings}
    if os.path.exists(paths["root"]):
        raise CopyError(f"restore the copy {copy_id}", f"{paths['root']} already exists and no server runs there",
                        f"Run the data_wipe playbook for {copy_id} (it removes the old cluster), or remove the folder, then restore again",
                        kind="cluster_exists")
    if check_mode:
        return {"changed": True, "record": record, "restore": {"data_dir": paths["data"], "memory_backed": in_memory}, "audit_events": [], "warnings": warnings}
    ciphertext, identity = record["ciphertext_path"], record["identity_path"]
    if not os.path.isfile(identity):
        raise CopyError(f"restore the copy {copy_id}", f"its age identity {identity} is gone (wiped, or lost at a reboot: /dev/shm does not survive one)",
                        "The copy cannot be decrypted any more; run data_wipe to remove the rest and make a new copy", kind="key_gone")
    digest = hashlib.sha256()
    with open(ciphertext, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    if digest.hexdigest() != record.get("ciphertext_sha256"):
        raise CopyError(f"restore the copy {copy_id}", f"the ciphertext's SHA-256 is {digest.hexdigest()}, the record says {record.get('ciphertext_sha256')}",
                        "The file changed since the copy: keep it for the investigation, tell the Product Owner and the GTM, make a new copy", kind="tampered")
    events.append({"event": "data_restore_verified", "copy_id": copy_id, "ciphertext_sha256": digest.hexdigest()})
    port = port or _free_port()
    user = _server_user()
    os.makedirs(paths["root"], mode=0o700)
    try:
        _chown_to_server(paths["root"])
        os.chmod(paths["root"], 0o700)
        for sub in ("data", "socket"):
            os.makedirs(paths[sub], mode=0o700)
            _chown_to_server(paths[sub])
        _run([tools["initdb"], "-D", paths["data"], "-U", "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C", "--no-instructions"],
             action="create the local PostgreSQL cluster (initdb)", user=user, timeout=300)
        settings = {
            "listen_addresses": "''", "unix_socket_directories": f"'{paths['socket']}'", "unix_socket_permissions": "0700",
            "port": str(port), "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_wal_size": "1GB",
        }
        conf = os.path.join(paths["data"], "postgresql.conf")
        with open(conf, "a", encoding="utf-8") as handle:
            handle.write("\n# ttahub.ops: a throwaway copy, Unix socket only\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        with open(os.path.join(paths["data"], "pg_hba.conf"), "w", encoding="utf-8") as handle:
            handle.write("# ttahub.ops: only the local socket (in a 0700 folder)\nlocal all all trust\n")
        for name in ("postgresql.conf", "pg_hba.conf"):
            _chown_to_server(os.path.join(paths["data"], name))
        log_fd = os.open(paths["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(log_fd)
        _chown_to_server(paths["log"])
        _run([tools["pg_ctl"], "-D", paths["data"], "-l", paths["log"], "-w", "-t", "60", "start"],
             action="start the local PostgreSQL cluster", user=user, timeout=90)
        events.append({"event": "data_restore_cluster_started", "copy_id": copy_id, "data_dir": paths["data"], "memory_backed": in_memory, "port": port})
        _psql_local(tools, paths, port, "postgres", f'CREATE DATABASE "{database}"')
        started = time.monotonic()
        dec = _popen([tools["age"], "-d", "-i", identity, ciphertext], stdin=_proc.DEVNULL, stdout=_proc.PIPE,
                     stderr=_proc.PIPE, env=pg_env())
        restore = _popen([tools["pg_restore"], "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
                          "-h", paths["socket"], "-p", str(port), "-U", "postgres", "-d", database],
                         stdin=dec.stdout, stdout=_proc.PIPE, stderr=_proc.PIPE, env=pg_env())
        _pipe(dec.stdout).close()
        r_out, r_err = restore.communicate()
        d_err = dec.stderr.read() if dec.stderr else b""
        dec_rc = dec.wait()
        if dec_rc != 0 or restore.returncode != 0:
            # a late age error (a cut or altered file) is fatal: --single-transaction left nothing half-restored
            raise CopyError(f"restore the copy {copy_id}",
                            f"age exited {dec_rc} ({d_err.decode('utf-8', 'replace').strip()[:200]}), pg_restore exited {restore.returncode} "
                            f"({(r_err or r_out).decode('utf-8', 'replace').strip()[:300]})",
                            "Nothing was kept in the database; run data_wipe to remove the cluster", kind="restore_failed")
        seconds = time.monotonic() - started
        sums = table_checksums(lambda sql: _psql_local(tools, paths, port, database, sql)) if checksum else None
        restore_info = {
            "data_dir": paths["data"], "socket_dir": paths["socket"], "port": port, "database": database, "memory_backed": in_memory,
            "restored_at": _now(), "seconds": round(seconds, 3),
            "connect": f"psql -h {paths['socket']} -p {port} -U postgres -d {database}",
        }
        if sums is not None:
            restore_info.update(rows=sums["rows"], checksum=sums["checksum"], tables={k: v["rows"] for k, v in sums["tables"].items()})
        record.update(state="restored", restore=restore_info)
        write_record(state_dir, record)
        events.append({"event": "data_restored", "copy_id": copy_id, "database": database, "memory_backed": in_memory, "seconds": round(seconds, 3),
                       "rows": restore_info.get("rows"), "checksum": restore_info.get("checksum"), "tables": restore_info.get("tables")})
        return {"changed": True, "record": record, "restore": restore_info, "audit_events": events, "warnings": warnings,
                "table_checksums": sums["tables"] if sums else None}
    except BaseException as err:
        stop_cluster(paths, tools["pg_ctl"])
        shutil.rmtree(paths["root"], ignore_errors=True)
        if isinstance(err, CopyError):
            err.events = events + [{"event": "data_restore_failed", "copy_id": copy_id, "error": err.message[:500]}]
        raise


def stop_cluster(paths: t.Mapping[str, str], pg_ctl: str) -> bool:
    if not cluster_running(paths, pg_ctl):
        return False
    argv = [pg_ctl, "-D", paths["data"], "-m", "immediate", "-w", "-t", "30", "stop"]
    if _server_user():
        argv = ["runuser", "-u", SERVER_USER, "--", *argv]
    _run_quietly(argv, timeout=60)
    return True


# ---------------------------------------------------------------------------------------------------------------------
# The wipe


def wipe_copy(*, state_dir: str, copy_id: str, base_dir: str | None = None, pg_bin_dir: str | None = None, check_mode: bool = False) -> dict[str, t.Any]:
    """Stop and remove the local cluster, destroy the identity (cryptographic erase), remove the ciphertext and the
    copy's folder, then check that none of it remains. The record stays, marked ``wiped``, as evidence."""
    record = read_record(state_dir, copy_id)
    restore = record.get("restore") or {}
    root = os.path.dirname(restore["data_dir"]) if restore.get("data_dir") else cluster_paths(base_dir or "/dev/shm", copy_id)["root"]
    paths = {"root": root, "data": os.path.join(root, "data"), "socket": os.path.join(root, "socket")}
    identity, ciphertext, folder = record.get("identity_path", ""), record.get("ciphertext_path", ""), record.get("folder", "")
    present = {
        "identity": bool(identity) and os.path.lexists(identity),
        "ciphertext": bool(ciphertext) and (os.path.lexists(ciphertext) or os.path.lexists(ciphertext + ".partial")),
        "cluster": os.path.lexists(root),
        "folder": bool(folder) and os.path.lexists(folder),
    }
    if record.get("state") == "wiped" and not any(present.values()):
        return {"changed": False, "record": record, "audit_events": [], "present": present}
    if check_mode:
        return {"changed": True, "record": record, "audit_events": [], "present": present}
    done = []
    try:
        pg_ctl = find_tool("pg_ctl", pg_bin_dir)
    except CopyError:
        pg_ctl = ""
    if pg_ctl and stop_cluster(paths, pg_ctl):
        done.append("local cluster stopped")
    if present["cluster"]:
        shutil.rmtree(root, ignore_errors=True)
        done.append(f"cluster {root} removed")
    key_destroyed = False
    if identity and destroy_identity(identity):
        key_destroyed = True
        done.append("age identity destroyed (cryptographic erase)")
    for path in (ciphertext, ciphertext + ".partial"):
        if path and os.path.lexists(path):
            os.unlink(path)
            done.append(f"{os.path.basename(path)} removed")
    if folder and os.path.isdir(folder):
        shutil.rmtree(folder, ignore_errors=True)
        done.append(f"folder {folder} removed")
    remaining = [p for p in (identity, ciphertext, ciphertext + ".partial", root, folder) if p and os.path.lexists(p)]
    if pg_ctl and cluster_running(paths, pg_ctl):
        remaining.append("a PostgreSQL server still runs on the copy's data directory")
    event = {"event": "data_copy_wiped" if not remaining else "data_copy_wipe_incomplete", "copy_id": copy_id,
             "ciphertext_sha256": record.get("ciphertext_sha256"), "key_destroyed": key_destroyed or not present["identity"],
             "identity_memory_backed": record.get("identity_memory_backed"), "removed": done, "remaining": remaining,
             "overdue": overdue(record)}
    if remaining:
        raise CopyError(f"wipe the copy {copy_id}", f"these remain: {', '.join(remaining)}", "Remove them by hand and run data_wipe again",
                        kind="wipe_incomplete", events=[event])
    record.update(state="wiped", wiped_at=_now(), wipe=done)
    write_record(state_dir, record)
    return {"changed": True, "record": record, "audit_events": [event], "removed": done, "present": present}
