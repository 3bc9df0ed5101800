# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rehearsal's PostgreSQL: a real PostgreSQL 15 server on 127.0.0.1 standing in for cloud.gov's aws-rds databases.

Python API (``home`` is the REHEARSAL_HOME, default ``$REHEARSAL_HOME``)::

    start(home)  -> {"host", "port", "dbname", "user", "password"}   # ttahub-prod's database; idempotent
    connection(home, service="ttahub-staging") -> the same for another service instance
    seed(home, *, scale=1, marker=None, services=None) -> {"marker", "markers", "counts": {service: {table: rows}}}
    status(home) -> {"running", "pid", "port", "data_dir", "log", "databases"}
    stop(home)                                                        # idempotent; the data stay
    destroy(home)                                                     # stop and remove the cluster
    query(conn, sql) -> list[str]        # one psql -At line per row (PGPASSWORD in the environment, never argv)
    query_json(conn, sql) -> Any         # SQL that returns one json value

``python -m rehearsal postgres start|stop|seed|status`` does the same from a shell.

How it is laid out (toolchain.md §5):

- The cluster: ``data/`` (made by ``initdb`` with ``--no-sync``; ``fsync=off``) and ``server.log``, in
  ``HOME/postgres/``. Binaries from ``/usr/lib/postgresql/15/bin`` (``REHEARSAL_PG_BIN`` overrides). As root (CI),
  PostgreSQL refuses to run as root, so the binaries run through ``runuser -u postgres --`` and the cluster lives in
  ``/tmp/ttahub-rehearsal-postgres/<sha256(HOME)[:16]>/`` (owned by ``postgres``, mode 0700; the root folder is
  root's, 0711; ``REHEARSAL_PG_CLUSTERS`` overrides) with ``HOME/postgres`` a symlink to it: the server user then
  never has to pass through HOME's parents, which are often root-only (pytest's tmp dirs are 0700, and pytest resets
  ``/tmp/pytest-of-root`` to 0700 whenever a session starts). Each ``start`` as root stops and removes clusters
  there whose HOME has gone (its ``postgres`` link no longer points at them) and that are older than two minutes.
  Status and stop read ``postmaster.pid`` and signal the postmaster (SIGINT: fast shutdown) rather than run pg_ctl.
- ``HOME/postgres.json`` (mode 0600): port, binary folder, the superuser's password, which role owns which database.
- The server listens on 127.0.0.1 only, on a free port, with no Unix socket; every login is by password
  (``scram-sha-256``), like cloud.gov's RDS. The superuser ``postgres`` has a random password kept in
  ``postgres.json``.
- One database per ``aws-rds`` service instance of the world (``ttahub-prod`` -> ``ttahub_prod``, ...), owned by a
  login role whose name and password are the instance's credentials (``world["service_instances"][...]["credentials"]``,
  made at world seed time), so ``pg_dump`` with the service's credentials works as it does on cloud.gov. ``start``
  keeps the world in step: each instance's credentials (and the service keys made from them) get the real ``port``
  and ``uri``; ``world["network"]["hosts"][<credentials host>]`` is ``127.0.0.1``; ``yarn db:validation`` tasks
  count in this server (their behaviour's counts ``source`` becomes ``postgres``, see ``rehearsal.task_runners``). The credentials' ``host`` stays
  the cloud name (``ttahub-prod.db.rehearsal.cloud.gov.invalid``): the rehearsal's SSH proxy resolves it through
  ``network.hosts``. ``start`` returns ``host: 127.0.0.1`` for direct connections.

``seed`` (re)creates TTA Hub's tables in every database ("Users", "Recipients", "Grants", "ActivityReports", "Goals",
"Objectives", "NextSteps", "Files", with ``"regionId"``, ``"status"`` (Grants), ``"submissionStatus"``
(ActivityReports) and ``"updatedAt"``) and fills them with deterministic pseudo-random rows: the same scale gives the
same rows. ``scale`` multiplies the row counts (``ROWS``: about 1,750 rows in all at scale 1, ~0.3 MB). The marker
(``REHEARSAL-PROD-MARKER-<random>`` by default) is stored in ttahub-prod's ``"ActivityReports"."additionalNotes"``
(row 1) and ``"Users"."name"`` (row 1), so a test can grep a disk for plaintext production data; the other databases
get ``REHEARSAL-<ENV>-MARKER-<random>``.
"""
from __future__ import annotations

import base64
import contextlib
import glob
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import stat
import subprocess
from typing import Any

from rehearsal import world as world_mod

HOST = "127.0.0.1"
SUPERUSER = "postgres"
SERVER_USER = "postgres"
STATE_FILE = "postgres.json"
CLUSTERS_ROOT = "/tmp/ttahub-rehearsal-postgres"  # as root (REHEARSAL_PG_CLUSTERS overrides)
ORPHAN_AGE_S = 120
DEFAULT_SERVICE = "ttahub-prod"
START_TIMEOUT_S = 60
SCRAM_ITERATIONS = 4096

# Rows per table at scale 1 (multiplied by ``scale``).
ROWS: dict[str, int] = {"Users": 40, "Recipients": 60, "Grants": 150, "ActivityReports": 250, "Goals": 300,
                        "Objectives": 450, "NextSteps": 380, "Files": 120}
TABLES = tuple(ROWS)
GRANT_STATUSES = ("Active", "Inactive")
SUBMISSION_STATUSES = ("draft", "submitted", "needs_action", "approved")
REGIONS = 12

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "password_encryption": "'scram-sha-256'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "40",
    "shared_buffers": "32MB",
    "min_wal_size": "4MB",
    "max_wal_size": "64MB",
    "log_timezone": "'UTC'",
    "timezone": "'UTC'",
}
HBA = ("# rehearsal: password logins over loopback TCP only\n"
       "host all all 127.0.0.1/32 scram-sha-256\n")


class PostgresError(Exception):
    """The rehearsal PostgreSQL could not do what was asked (the message says why and what to do)."""


# --- where things are ---------------------------------------------------------------------------------------------------

def _home(home: str | os.PathLike[str] | None) -> str:
    return os.path.abspath(world_mod.resolve_home(home))


def _pg_dir(home: str) -> str:
    """The cluster's folder. As root it lives under CLUSTERS_ROOT (``HOME/postgres`` is a symlink to it), so the server
    user never has to pass through HOME's parents, which may be root-only (pytest's tmp dirs are 0700)."""
    if _is_root():
        digest = hashlib.sha256(os.path.realpath(home).encode("utf-8")).hexdigest()[:16]
        return os.path.join(_clusters_root(), digest)
    return os.path.join(home, "postgres")


def _clusters_root() -> str:
    return os.environ.get("REHEARSAL_PG_CLUSTERS") or CLUSTERS_ROOT


def _data_dir(home: str) -> str:
    return os.path.join(_pg_dir(home), "data")


def _log_path(home: str) -> str:
    return os.path.join(_pg_dir(home), "server.log")


def _state_path(home: str) -> str:
    return os.path.join(home, STATE_FILE)


def bin_dir() -> str:
    """PostgreSQL's binaries: $REHEARSAL_PG_BIN, else /usr/lib/postgresql/15/bin, else the newest installed."""
    override = os.environ.get("REHEARSAL_PG_BIN")
    if override:
        return override
    preferred = "/usr/lib/postgresql/15/bin"
    if os.path.exists(os.path.join(preferred, "postgres")):
        return preferred
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    if not found:
        raise PostgresError("Failed to find PostgreSQL: no /usr/lib/postgresql/*/bin/postgres. "
                            "Install the postgresql package (apt-get install postgresql) or set REHEARSAL_PG_BIN.")
    return os.path.dirname(found[-1])


def _is_root() -> bool:
    return os.geteuid() == 0


def _server_argv(argv: list[str]) -> list[str]:
    """Run a server-side binary as the postgres user when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", SERVER_USER, "--", *argv] if _is_root() else argv


def _server_ids() -> tuple[int, int, list[int]]:
    import grp  # pylint: disable=import-outside-toplevel
    import pwd  # pylint: disable=import-outside-toplevel

    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise PostgresError(f"Failed to start the rehearsal PostgreSQL: no {SERVER_USER!r} user. "
                            "Install the postgresql package, which creates it.") from exc
    groups = [g.gr_gid for g in grp.getgrall() if SERVER_USER in g.gr_mem] + [entry.pw_gid]
    return entry.pw_uid, entry.pw_gid, groups


def _run(argv: list[str], *, what: str, env: dict[str, str] | None = None, stdin: str | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
                              env=env, cwd="/")
    except subprocess.TimeoutExpired as exc:
        raise PostgresError(f"Failed to {what}: {os.path.basename(argv[0])} did not finish in {timeout:.0f} s. "
                            "Look at the server log and retry.") from exc
    if proc.returncode != 0:
        detail = " ".join(line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip())
        raise PostgresError(f"Failed to {what}: {detail.rstrip('.') or f'exit {proc.returncode}'}. "
                            "Look at the server log (python -m rehearsal postgres status) and retry.")
    return proc


# --- state ----------------------------------------------------------------------------------------------------------

def _load_state(home: str) -> dict[str, Any] | None:
    try:
        with open(_state_path(home), encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None


def _save_state(home: str, state: dict[str, Any]) -> None:
    world_mod.write_json_atomic(_state_path(home), state, mode=0o600)


# --- password hashing (the server never sees a plaintext password) ---------------------------------------------------

def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5803), as ``ALTER ROLE ... PASSWORD`` accepts it."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return (f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
            f"${b64(stored_key).decode()}:{b64(server_key).decode()}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- running SQL ------------------------------------------------------------------------------------------------------

def _psql_env(password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "rehearsal",
                "PGSSLMODE": "disable", "PGTZ": "UTC"})
    return env


def query(conn: dict[str, Any], sql: str, *, timeout: float = 120) -> list[str]:
    """Run SQL with psql as CONN's user (``-At``: one line per row, ``|`` between columns); the password goes in
    PGPASSWORD, the SQL on stdin."""
    argv = [os.path.join(bin_dir(), "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
            "-h", str(conn["host"]), "-p", str(conn["port"]), "-U", conn["user"], "-d", conn["dbname"], "-f", "-"]
    proc = _run(argv, what=f"query the rehearsal database {conn['dbname']}", env=_psql_env(conn["password"]),
                stdin=sql, timeout=timeout)
    return [line for line in proc.stdout.splitlines() if line]


def query_json(conn: dict[str, Any], sql: str, *, timeout: float = 120) -> Any:
    """Run SQL that selects one json value and return it decoded."""
    lines = query(conn, sql, timeout=timeout)
    return json.loads("\n".join(lines)) if lines else None


def _superuser(home: str, state: dict[str, Any], dbname: str = "postgres") -> dict[str, Any]:
    return {"host": HOST, "port": state["port"], "dbname": dbname, "user": SUPERUSER,
            "password": state["superuser_password"]}


# --- the server -------------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _prepare_root() -> str:
    """CLUSTERS_ROOT: root-owned, mode 0711 (others may enter a known name, not list). Refuses one that anybody else
    could have planted (it is in /tmp)."""
    root = _clusters_root()
    with contextlib.suppress(FileExistsError):
        os.mkdir(root, 0o711)
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        raise PostgresError(f"Failed to prepare the rehearsal PostgreSQL: {root} is not a directory owned by root and "
                            "writable by root only. Remove it, or set REHEARSAL_PG_CLUSTERS to another path.")
    os.chmod(root, 0o711)
    return root


def _postmaster_in(pg_dir: str) -> int | None:
    """The PID of a live postmaster working in PG_DIR/data (postmaster.pid, checked against /proc), else None."""
    data = os.path.join(pg_dir, "data")
    try:
        with open(os.path.join(data, "postmaster.pid"), encoding="utf-8") as fh:
            pid = int(fh.readline().strip())
        with open(f"/proc/{pid}/stat", "rb") as fh:
            proc_state = fh.read().rsplit(b")", 1)[1].split()[0]
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except (OSError, ValueError, IndexError):
        return None
    if proc_state in (b"Z", b"X") or cwd != os.path.realpath(data):
        return None
    return pid


def _shutdown(pid: int, pg_dir: str, timeout: float = 30) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT); raises if the postmaster outlives both."""
    import signal  # pylint: disable=import-outside-toplevel
    import time  # pylint: disable=import-outside-toplevel

    for sig, wait_s in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while _postmaster_in(pg_dir) == pid and time.monotonic() < deadline:
            time.sleep(0.05)
        if _postmaster_in(pg_dir) != pid:
            return
    raise PostgresError(f"Failed to stop the rehearsal PostgreSQL: process {pid} outlived SIGINT and SIGQUIT. "
                        f"Kill it (kill -KILL {pid}) and look at {os.path.join(pg_dir, 'server.log')}.")


def _collect_orphans(keep: str) -> list[str]:
    """As root: remove clusters under CLUSTERS_ROOT whose REHEARSAL_HOME is gone (its ``postgres`` link no longer
    points at them), stopping their server first. Clusters younger than ORPHAN_AGE_S are left alone (being made)."""
    import time  # pylint: disable=import-outside-toplevel

    root = _clusters_root()
    removed = []
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if path == keep or name.endswith(".home") or not os.path.isdir(path):
            continue
        try:
            if os.stat(path).st_mtime > time.time() - ORPHAN_AGE_S:
                continue
            with open(path + ".home", encoding="utf-8") as fh:
                owner_home = fh.read().strip()
        except OSError:
            owner_home = ""
        if owner_home and os.path.realpath(os.path.join(owner_home, "postgres")) == path:
            continue
        pid = _postmaster_in(path)
        if pid is not None:
            _shutdown(pid, path)
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + ".home")
        removed.append(path)
    return removed


def _remove(path: str) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _init_cluster(home: str, state: dict[str, Any]) -> None:
    pg_dir, data = _pg_dir(home), _data_dir(home)
    if _is_root():
        _prepare_root()
        with open(pg_dir + ".home", "w", encoding="utf-8") as fh:
            fh.write(os.path.realpath(home) + "\n")
        link = os.path.join(home, "postgres")
        if os.path.islink(link) or os.path.exists(link):
            _remove(link)
        os.symlink(pg_dir, link)
    os.makedirs(pg_dir, mode=0o700, exist_ok=True)
    if _is_root():
        os.chown(pg_dir, *_server_ids()[:2])
    os.chmod(pg_dir, 0o700)
    pwfile = os.path.join(pg_dir, f".pw.{secrets.token_hex(4)}")
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(state["superuser_password"] + "\n")
        if _is_root():
            os.chown(pwfile, *_server_ids()[:2])
        argv = _server_argv([os.path.join(state["bin"], "initdb"), "-D", data, "-U", SUPERUSER,
                             "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-sync", "--encoding=UTF8",
                             "--locale=C", "--no-instructions", "--wal-segsize=1"])
        _run(argv, what="create the rehearsal PostgreSQL cluster (initdb)", timeout=120)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pwfile)
    settings = "".join(f"{k} = {v}\n" for k, v in SERVER_SETTINGS.items())
    _write_as_server(os.path.join(data, "postgresql.conf"), "\n# rehearsal\n" + settings, append=True)
    _write_as_server(os.path.join(data, "pg_hba.conf"), HBA, append=False)


def _write_as_server(path: str, text: str, *, append: bool) -> None:
    with open(path, "a" if append else "w", encoding="utf-8") as fh:
        fh.write(text)
    if _is_root():
        os.chown(path, *_server_ids()[:2])


def _running_pid(home: str) -> int | None:
    return _postmaster_in(_pg_dir(home))


def _log_tail(home: str, lines: int = 5) -> str:
    try:
        with open(_log_path(home), encoding="utf-8", errors="replace") as fh:
            return " | ".join(line.strip() for line in fh.readlines()[-lines:])
    except OSError:
        return "(no server log)"


def _start_server(home: str, state: dict[str, Any]) -> None:
    log = _log_path(home)
    if not os.path.exists(log):
        _write_as_server(log, "", append=True)
    for attempt in range(6):
        port = state["port"] if attempt == 0 and state.get("port") else _free_port()
        argv = _server_argv([os.path.join(state["bin"], "pg_ctl"), "-D", _data_dir(home), "-l", log,
                             "-o", f"-p {port}", "-w", "-t", str(START_TIMEOUT_S), "start"])
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=START_TIMEOUT_S + 15, check=False,
                                  cwd="/")
        except subprocess.TimeoutExpired as exc:
            raise PostgresError(f"Failed to start the rehearsal PostgreSQL: pg_ctl did not return in "
                                f"{START_TIMEOUT_S + 15} s. Read {log}, fix the cause, and run start again.") from exc
        if proc.returncode == 0:
            state["port"] = port
            return
        tail = " | ".join(x for x in (proc.stderr.strip(), _log_tail(home)) if x)
        retry = ("could not bind", "Address already in use", "could not create any TCP/IP")
        if not any(m in tail for m in retry):
            raise PostgresError(f"Failed to start the rehearsal PostgreSQL: {tail}. "
                                f"Read {log}, fix the cause, and run start again.")
    raise PostgresError("Failed to start the rehearsal PostgreSQL: no free port on 127.0.0.1 after 6 tries. "
                        f"Free some ports, read {log}, and run start again.")


def _services(world: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted((si for si in world["service_instances"].values()
                   if si.get("offering") == "aws-rds" and si.get("credentials", {}).get("username")),
                  key=lambda si: si["name"])


def _sync(home: str, state: dict[str, Any]) -> None:
    """Make one role and database per aws-rds service instance, as its credentials say; point the world at us."""
    admin = _superuser(home, state)
    roles = set(query(admin, "SELECT rolname FROM pg_roles"))
    databases = set(query(admin, "SELECT datname FROM pg_database"))
    owners: dict[str, str] = state.setdefault("databases", {})
    with world_mod.transaction(home) as world:
        services = _services(world)
        statements = []
        for si in services:
            creds = si["credentials"]
            role, dbname = creds["username"], creds["db_name"]
            previous = owners.get(dbname)
            if role not in roles and previous and previous != role and previous in roles:
                # the world was seeded again: same database, new credentials
                statements.append(f"ALTER ROLE {_ident(previous)} RENAME TO {_ident(role)};")
                roles.discard(previous)
            elif role not in roles:
                statements.append(f"CREATE ROLE {_ident(role)} LOGIN;")
            roles.add(role)
            statements.append(f"ALTER ROLE {_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                              f"PASSWORD {_literal(scram_verifier(creds['password']))};")
        if statements:
            query(admin, "\n".join(statements))
        for si in services:
            creds = si["credentials"]
            role, dbname = creds["username"], creds["db_name"]
            if dbname not in databases:
                query(admin, f"CREATE DATABASE {_ident(dbname)} OWNER {_ident(role)};")
                query(admin, f"REVOKE ALL ON DATABASE {_ident(dbname)} FROM PUBLIC;")
                databases.add(dbname)
            elif owners.get(dbname) not in (None, role):
                query(admin, f"ALTER DATABASE {_ident(dbname)} OWNER TO {_ident(role)};")
            owners[dbname] = role
            _point_at(world, si, state["port"])
        counts_task = world["task_behaviours"].get("yarn db:validation")
        if counts_task is not None and counts_task.get("runner") == "db_validation":
            counts_task["source"] = "postgres"  # the counts script now queries this server
    _save_state(home, state)


def _point_at(world: dict[str, Any], si: dict[str, Any], port: int) -> None:
    creds = si["credentials"]
    creds["port"] = str(port)
    creds["uri"] = f"postgres://{creds['username']}:{creds['password']}@{creds['host']}:{port}/{creds['db_name']}"
    world["network"].setdefault("hosts", {})[creds["host"]] = HOST
    for key in world.get("service_keys", {}).values():
        if key.get("service_instance_guid") == si["guid"] and key.get("credentials", {}).get("host") == creds["host"]:
            key["credentials"].update({"port": creds["port"], "uri": creds["uri"]})


def start(home: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Start the server (creating the cluster on first use) and return ttahub-prod's connection. Idempotent."""
    path_home = _home(home)
    with world_mod.locked(path_home, "postgres.lock"):
        state = _load_state(path_home)
        if _is_root():
            _prepare_root()
            _collect_orphans(keep=_pg_dir(path_home))
        if state is None or not os.path.exists(os.path.join(_data_dir(path_home), "PG_VERSION")):
            # a half-made cluster from an interrupted start, or one left by a REHEARSAL_HOME since deleted
            stale = _running_pid(path_home)
            if stale is not None:
                _shutdown(stale, _pg_dir(path_home))
            if os.path.exists(_pg_dir(path_home)):
                shutil.rmtree(_pg_dir(path_home))
            state = {"bin": bin_dir(), "superuser_password": secrets.token_urlsafe(24), "port": None,
                     "databases": {}}
            _save_state(path_home, state)
            _init_cluster(path_home, state)
            _save_state(path_home, state)
        if _running_pid(path_home) is None:
            _start_server(path_home, state)
            _save_state(path_home, state)
        _sync(path_home, state)
    return connection(path_home)


def connection(home: str | os.PathLike[str] | None = None, service: str = DEFAULT_SERVICE) -> dict[str, Any]:
    """How to reach SERVICE's database directly: ``{host, port, dbname, user, password}``."""
    path_home = _home(home)
    state = _load_state(path_home)
    if state is None or not state.get("port"):
        raise PostgresError("Failed to connect to the rehearsal PostgreSQL: it was never started in "
                            f"{path_home}. Run python -m rehearsal postgres start.")
    world = world_mod.load(path_home)
    for si in _services(world):
        if si["name"] == service:
            creds = si["credentials"]
            return {"host": HOST, "port": int(state["port"]), "dbname": creds["db_name"],
                    "user": creds["username"], "password": creds["password"]}
    raise PostgresError(f"Failed to connect to the rehearsal database {service}: the world has no aws-rds "
                        "service instance of that name. Use one of "
                        f"{', '.join(si['name'] for si in _services(world))}.")


def status(home: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``{running, pid, port, data_dir, log, databases}`` (no secrets)."""
    path_home = _home(home)
    state = _load_state(path_home)
    pid = _running_pid(path_home)
    return {"running": pid is not None, "pid": pid, "host": HOST,
            "port": state.get("port") if state else None, "data_dir": _data_dir(path_home),
            "log": _log_path(path_home), "databases": sorted((state or {}).get("databases", {}))}


def stop(home: str | os.PathLike[str] | None = None, *, timeout: float = 30) -> bool:
    """Stop the server (fast shutdown: SIGINT to the postmaster; immediate shutdown, SIGQUIT, after TIMEOUT seconds).
    Returns whether it was running. The data stay for the next start."""
    path_home = _home(home)
    with world_mod.locked(path_home, "postgres.lock"):
        pid = _running_pid(path_home)
        if pid is None:
            return False
        _shutdown(pid, _pg_dir(path_home), timeout)
        return True


def destroy(home: str | os.PathLike[str] | None = None) -> bool:
    """Stop the server and remove its cluster (and, as root, the ``HOME/postgres`` link and the cluster's record under
    CLUSTERS_ROOT) and ``postgres.json``. For tests and ``make clean``: a cluster is ~60 MB. Returns whether a cluster
    was there."""
    path_home = _home(home)
    stop(path_home)
    with world_mod.locked(path_home, "postgres.lock"):
        pg_dir = _pg_dir(path_home)
        existed = os.path.exists(pg_dir)
        for path in (pg_dir, pg_dir + ".home" if _is_root() else "", os.path.join(path_home, "postgres"),
                     _state_path(path_home)):
            if path and (os.path.islink(path) or os.path.exists(path)):
                _remove(path)
        return existed


# --- the TTA Hub-shaped data ------------------------------------------------------------------------------------------

SCHEMA_SQL = """
DROP TABLE IF EXISTS "Files", "NextSteps", "Objectives", "Goals", "ActivityReports", "Grants", "Recipients", "Users"
  CASCADE;
CREATE TABLE "Users" (
  id integer PRIMARY KEY, "hsesUserId" text, "hsesUsername" text, name text, email text,
  "homeRegionId" integer, "phoneNumber" text, "lastLogin" timestamptz,
  "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL);
CREATE TABLE "Recipients" (
  id integer PRIMARY KEY, name text NOT NULL, uei text, "recipientType" text,
  "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL);
CREATE TABLE "Grants" (
  id integer PRIMARY KEY, number text NOT NULL UNIQUE, "recipientId" integer REFERENCES "Recipients"(id),
  "regionId" integer, status text, "startDate" date, "endDate" date, "programSpecialistName" text,
  "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL);
CREATE TABLE "ActivityReports" (
  id integer PRIMARY KEY, "legacyId" text, "userId" integer REFERENCES "Users"(id), "regionId" integer,
  "submissionStatus" text, "calculatedStatus" text, "startDate" date, "endDate" date, duration numeric(4,1),
  "numberOfParticipants" integer, context text, "additionalNotes" text,
  "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL);
CREATE TABLE "Goals" (
  id integer PRIMARY KEY, name text, status text, "grantId" integer REFERENCES "Grants"(id),
  "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL);
CREATE TABLE "Objectives" (
  id integer PRIMARY KEY, "goalId" integer REFERENCES "Goals"(id), title text, status text,
  "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL);
CREATE TABLE "NextSteps" (
  id integer PRIMARY KEY, "activityReportId" integer REFERENCES "ActivityReports"(id), note text,
  "noteType" text, "completeDate" date, "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL);
CREATE TABLE "Files" (
  id integer PRIMARY KEY, "originalFileName" text, key text, status text, "fileSize" integer,
  "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL);
"""

# pg_temp.rnd(i, salt, m): a deterministic pseudo-random integer in [0, m) (md5 of salt:i).
# pg_temp.ts(i, salt): a deterministic time between 2025-01-01 and 2026-05-16 (updates add at most 120 days).
FUNCTIONS_SQL = """
CREATE FUNCTION pg_temp.rnd(i integer, salt text, m integer) RETURNS integer LANGUAGE sql IMMUTABLE AS
  $$ SELECT (('x' || substr(md5(salt || ':' || i), 1, 7))::bit(28)::integer % m) $$;
CREATE FUNCTION pg_temp.ts(i integer, salt text) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS
  $$ SELECT timestamptz '2025-01-01 00:00:00+00' + pg_temp.rnd(i, salt, 500 * 86400) * interval '1 second'
            + pg_temp.rnd(i, salt || 'ms', 1000) * interval '1 millisecond' $$;
"""

FIRST = ("Ana", "Ben", "Carla", "Dev", "Elena", "Femi", "Grace", "Hao", "Imani", "Jorge", "Kai", "Lena")
LAST = ("Alvarez", "Brooks", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones", "Khan", "Lopez")


def _data_sql(scale: int, salt: str, marker: str) -> str:
    n = {table: rows * scale for table, rows in ROWS.items()}
    first = "ARRAY[" + ",".join(_literal(x) for x in FIRST) + "]"
    last = "ARRAY[" + ",".join(_literal(x) for x in LAST) + "]"
    grant_statuses = "ARRAY[" + ",".join(_literal(x) for x in GRANT_STATUSES) + "]"
    submission = "ARRAY[" + ",".join(_literal(x) for x in SUBMISSION_STATUSES) + "]"
    s = _literal(salt)
    return f"""
INSERT INTO "Users" SELECT i, 'hses-' || (10000 + i), 'user' || i,
  ({first})[1 + pg_temp.rnd(i, {s} || 'uf', 12)] || ' ' || ({last})[1 + pg_temp.rnd(i, {s} || 'ul', 12)],
  'user' || i || '@acf.hhs.gov.invalid', 1 + pg_temp.rnd(i, {s} || 'ur', {REGIONS}),
  '555-01' || lpad((i % 100)::text, 2, '0'), pg_temp.ts(i, {s} || 'ull'),
  pg_temp.ts(i, {s} || 'uc'), pg_temp.ts(i, {s} || 'uc') + pg_temp.rnd(i, {s} || 'uu', 90) * interval '1 day'
  FROM generate_series(1, {n['Users']}) AS i;
INSERT INTO "Recipients" SELECT i, 'Head Start Program ' || i || ' ' || ({last})[1 + pg_temp.rnd(i, {s} || 'rl', 12)],
  upper(substr(md5({s} || 'uei' || i), 1, 12)), 'Community Action Agency (CAA)',
  pg_temp.ts(i, {s} || 'rc'), pg_temp.ts(i, {s} || 'rc') + pg_temp.rnd(i, {s} || 'ru', 120) * interval '1 day'
  FROM generate_series(1, {n['Recipients']}) AS i;
INSERT INTO "Grants" SELECT i, lpad((1 + pg_temp.rnd(i, {s} || 'gr', {REGIONS}))::text, 2, '0') || 'CH' || lpad(i::text, 6, '0'),
  1 + pg_temp.rnd(i, {s} || 'gp', {n['Recipients']}), 1 + pg_temp.rnd(i, {s} || 'gr', {REGIONS}),
  CASE WHEN pg_temp.rnd(i, {s} || 'gs', 5) = 0 THEN ({grant_statuses})[2] ELSE ({grant_statuses})[1] END,
  date '2020-07-01' + pg_temp.rnd(i, {s} || 'gd', 1500), date '2025-06-30' + pg_temp.rnd(i, {s} || 'ge', 1500),
  ({first})[1 + pg_temp.rnd(i, {s} || 'gf', 12)] || ' ' || ({last})[1 + pg_temp.rnd(i, {s} || 'gl', 12)],
  pg_temp.ts(i, {s} || 'gc'), pg_temp.ts(i, {s} || 'gc') + pg_temp.rnd(i, {s} || 'gu', 120) * interval '1 day'
  FROM generate_series(1, {n['Grants']}) AS i;
INSERT INTO "ActivityReports" SELECT i, CASE WHEN i % 10 = 0 THEN 'R01-AR-' || i END,
  1 + pg_temp.rnd(i, {s} || 'au', {n['Users']}), 1 + pg_temp.rnd(i, {s} || 'ar', {REGIONS}),
  ({submission})[1 + pg_temp.rnd(i, {s} || 'as', {len(SUBMISSION_STATUSES)})], NULL,
  date '2025-01-01' + pg_temp.rnd(i, {s} || 'ad', 600), date '2025-01-01' + pg_temp.rnd(i, {s} || 'ad', 600) + 1,
  (1 + pg_temp.rnd(i, {s} || 'dur', 16)) / 2.0, 1 + pg_temp.rnd(i, {s} || 'ap', 40),
  'Training and technical assistance on ' || (ARRAY['coaching','school readiness','health','fiscal management',
  'family engagement'])[1 + pg_temp.rnd(i, {s} || 'ac', 5)] || ' for program staff.',
  CASE WHEN i = 1 THEN {_literal(marker)} ELSE 'Follow up in ' || (1 + pg_temp.rnd(i, {s} || 'an', 8)) || ' weeks.' END,
  pg_temp.ts(i, {s} || 'acr'), pg_temp.ts(i, {s} || 'acr') + pg_temp.rnd(i, {s} || 'aup', 60) * interval '1 day'
  FROM generate_series(1, {n['ActivityReports']}) AS i;
UPDATE "ActivityReports" SET "calculatedStatus" = "submissionStatus";
UPDATE "Users" SET name = {_literal(marker)} WHERE id = 1;
INSERT INTO "Goals" SELECT i, 'Goal ' || i || ': improve ' || (ARRAY['child outcomes','staff retention',
  'enrollment','safety practices'])[1 + pg_temp.rnd(i, {s} || 'gn', 4)],
  (ARRAY['Not Started','In Progress','Suspended','Closed'])[1 + pg_temp.rnd(i, {s} || 'gst', 4)],
  1 + pg_temp.rnd(i, {s} || 'gg', {n['Grants']}),
  pg_temp.ts(i, {s} || 'goc'), pg_temp.ts(i, {s} || 'goc') + pg_temp.rnd(i, {s} || 'gou', 45) * interval '1 day'
  FROM generate_series(1, {n['Goals']}) AS i;
INSERT INTO "Objectives" SELECT i, 1 + pg_temp.rnd(i, {s} || 'og', {n['Goals']}), 'Objective ' || i,
  (ARRAY['Not Started','In Progress','Complete'])[1 + pg_temp.rnd(i, {s} || 'os', 3)],
  pg_temp.ts(i, {s} || 'oc'), pg_temp.ts(i, {s} || 'oc') + pg_temp.rnd(i, {s} || 'ou', 45) * interval '1 day'
  FROM generate_series(1, {n['Objectives']}) AS i;
INSERT INTO "NextSteps" SELECT i, 1 + pg_temp.rnd(i, {s} || 'na', {n['ActivityReports']}),
  'Send resources on topic ' || (1 + pg_temp.rnd(i, {s} || 'nn', 30)),
  (ARRAY['SPECIALIST','RECIPIENT'])[1 + pg_temp.rnd(i, {s} || 'nt', 2)],
  date '2025-02-01' + pg_temp.rnd(i, {s} || 'nd', 600),
  pg_temp.ts(i, {s} || 'nc'), pg_temp.ts(i, {s} || 'nc') + pg_temp.rnd(i, {s} || 'nu', 30) * interval '1 day'
  FROM generate_series(1, {n['NextSteps']}) AS i;
INSERT INTO "Files" SELECT i, 'attachment-' || i || '.pdf', md5({s} || 'fk' || i) || '.pdf',
  (ARRAY['UPLOADED','APPROVED','QUEUED'])[1 + pg_temp.rnd(i, {s} || 'fs', 3)],
  1000 + pg_temp.rnd(i, {s} || 'fz', 5000000),
  pg_temp.ts(i, {s} || 'fc'), pg_temp.ts(i, {s} || 'fc') + pg_temp.rnd(i, {s} || 'fu', 10) * interval '1 day'
  FROM generate_series(1, {n['Files']}) AS i;
"""


def _env_of(service: str) -> str:
    return service.rsplit("-", 1)[-1].upper()


def seed(home: str | os.PathLike[str] | None = None, *, scale: int = 1, marker: str | None = None,
         services: list[str] | None = None) -> dict[str, Any]:
    """(Re)create TTA Hub's tables with deterministic rows in every rehearsal database (or in SERVICES' only).
    Starts the server if needed. The databases are filled in parallel.

    Returns ``{"marker": <ttahub-prod's marker>, "markers": {service: marker}, "counts": {service: {table: rows}}}``.
    """
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise PostgresError(f"Failed to seed the rehearsal databases: scale must be a whole number >= 1, not {scale!r}. "
                            "Pass --scale 1 or more.")
    from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel

    path_home = _home(home)
    start(path_home)
    known = [si["name"] for si in _services(world_mod.load(path_home))]
    chosen = known if services is None else list(services)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise PostgresError(f"Failed to seed the rehearsal databases: no aws-rds service instance {', '.join(unknown)}. "
                            f"Use one of {', '.join(known)}.")
    markers: dict[str, str] = {}
    for service in chosen:
        if service == DEFAULT_SERVICE and marker is not None:
            markers[service] = marker
        else:
            markers[service] = f"REHEARSAL-{_env_of(service)}-MARKER-{secrets.token_hex(8)}"

    def fill(service: str) -> None:
        sql = FUNCTIONS_SQL + SCHEMA_SQL + _data_sql(scale, service, markers[service])
        analyze = "ANALYZE " + ", ".join(_ident(t) for t in TABLES) + ";\n"
        query(connection(path_home, service), "BEGIN;\n" + sql + "COMMIT;\n" + analyze, timeout=600)

    with ThreadPoolExecutor(max_workers=max(1, min(4, len(chosen)))) as pool:
        for future in [pool.submit(fill, service) for service in chosen]:
            future.result()
    counts_by_service = {service: {table: rows * scale for table, rows in ROWS.items()} for service in chosen}
    return {"marker": markers.get(DEFAULT_SERVICE), "markers": markers, "counts": counts_by_service}


# --- what yarn db:validation reads (ttadp.md §5) ----------------------------------------------------------------------

COUNTS_SQL = """
SELECT json_build_object(
  'tables', json_build_object({tables}),
  'grants_counts', COALESCE((SELECT json_agg(row_to_json(g)) FROM (
     SELECT "regionId", "status", count(*)::text AS count FROM "Grants" GROUP BY 1, 2 ORDER BY 1, 2) g), '[]'::json),
  'activity_reports_counts', COALESCE((SELECT json_agg(row_to_json(a)) FROM (
     SELECT "regionId", "submissionStatus", count(*)::text AS count FROM "ActivityReports" GROUP BY 1, 2
     ORDER BY 1, 2) a), '[]'::json));
"""


def counts(conn: dict[str, Any]) -> dict[str, Any]:
    """The counts script's numbers, from SQL: ``{"tables": {T: {"count", "updated_at"}}, "grants_counts": [...],
    "activity_reports_counts": [...]}`` (the ``rehearsal.task_runners`` Counts shape; counts are strings as Sequelize
    returns bigints; ``updated_at`` is ISO 8601 with milliseconds, ``""`` for an empty table)."""
    parts = []
    for table in TABLES:
        parts.append(
            f"{_literal(table)}, (SELECT json_build_object('count', count(*), 'updated_at', COALESCE(to_char("
            f"max(\"updatedAt\") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '')) FROM {_ident(table)})")
    return query_json(conn, COUNTS_SQL.format(tables=", ".join(parts)))

