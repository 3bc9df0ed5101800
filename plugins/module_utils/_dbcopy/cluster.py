# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The throwaway local PostgreSQL cluster a copy is restored into: its folders (in tmpfs, 0700), its start (Unix
socket only, no durability: it is thrown away), queries through its socket, its status and its stop. As root, the
server runs as ``postgres`` (PostgreSQL refuses to run as root).

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import os
import socket
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.tools import pg_env, run, run_quietly

__all__ = ["cluster_paths", "cluster_running", "free_port", "psql_local", "server_user", "start_cluster", "stop_cluster"]

SERVER_USER = "postgres"


def server_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run the server as ``postgres``."""
    return SERVER_USER if os.geteuid() == 0 else None


def chown_to_server(path: str) -> None:
    if os.geteuid() == 0:
        import pwd  # pylint: disable=import-outside-toplevel

        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cluster_paths(base: str, copy_id: str) -> dict[str, str]:
    root = os.path.join(base, f"ttahub-ops-pg-{copy_id}")
    return {"root": root, "data": os.path.join(root, "data"), "socket": os.path.join(root, "socket"), "log": os.path.join(root, "server.log")}


def start_cluster(tools: t.Mapping[str, str], paths: t.Mapping[str, str], port: int, user: str | None) -> None:
    """``initdb`` and ``pg_ctl start`` in ``paths["root"]`` (made by the caller, who removes it on failure)."""
    chown_to_server(paths["root"])
    os.chmod(paths["root"], 0o700)
    for sub in ("data", "socket"):
        os.makedirs(paths[sub], mode=0o700)
        chown_to_server(paths[sub])
    run([tools["initdb"], "-D", paths["data"], "-U", "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C", "--no-instructions"],
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
        chown_to_server(os.path.join(paths["data"], name))
    log_fd = os.open(paths["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(log_fd)
    chown_to_server(paths["log"])
    run([tools["pg_ctl"], "-D", paths["data"], "-l", paths["log"], "-w", "-t", "60", "start"],
        action="start the local PostgreSQL cluster", user=user, timeout=90)


def psql_local(tools: t.Mapping[str, str], paths: t.Mapping[str, str], port: int, database: str, sql: str) -> list[str]:
    proc = run([tools["psql"], "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", paths["socket"], "-p", str(port), "-U", "postgres",
                "-d", database, "-c", sql], action=f"query the local copy {database}", env=pg_env(), timeout=3600)
    return [line for line in proc.stdout.decode("utf-8", "replace").splitlines() if line]


def cluster_running(paths: t.Mapping[str, str], pg_ctl: str) -> bool:
    if not os.path.exists(os.path.join(paths["data"], "PG_VERSION")):
        return False
    argv = [pg_ctl, "-D", paths["data"], "status"]
    if server_user():
        argv = ["runuser", "-u", SERVER_USER, "--", *argv]
    return run_quietly(argv) == 0


def stop_cluster(paths: t.Mapping[str, str], pg_ctl: str) -> bool:
    if not cluster_running(paths, pg_ctl):
        return False
    argv = [pg_ctl, "-D", paths["data"], "-m", "immediate", "-w", "-t", "30", "stop"]
    if server_user():
        argv = ["runuser", "-u", SERVER_USER, "--", *argv]
    run_quietly(argv, timeout=60)
    return True
