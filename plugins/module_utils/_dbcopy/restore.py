# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The local restore of a data copy: the ciphertext checked against its record, decrypted as a stream into
``pg_restore --single-transaction`` on a throwaway PostgreSQL cluster in tmpfs (Unix socket only, in a 0700 folder),
then every table counted and checksummed. A disk-backed target is refused unless allowed explicitly.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _proc
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.checksums import table_checksums
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.cluster import (
    cluster_paths, cluster_running, free_port, psql_local, server_user, start_cluster, stop_cluster)
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.keys import memory_backed
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.records import read_record, write_record
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.streams import CHUNK
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.tools import find_tool, pg_env, pipe, popen

__all__ = ["restore_copy"]


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
    base = base_dir or "/dev/shm"
    in_memory, warnings = _target(record, copy_id, base, allow_disk)
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
    events = [_verified(record, copy_id)]
    return _restore(state_dir, record, tools, paths, port=port or free_port(), database=database, in_memory=in_memory,
                    checksum=checksum, events=events, warnings=warnings)


def _target(record: t.Mapping[str, t.Any], copy_id: str, base: str, allow_disk: bool) -> tuple[bool, list[str]]:
    """Whether ``base`` is memory-backed, and the warnings of a restore there; refuses an incomplete copy and, unless
    ``allow_disk``, a disk-backed target."""
    warnings: list[str] = []
    if record.get("state") not in ("encrypted", "restored"):
        raise CopyError(f"restore the copy {copy_id}", f"the copy is {record.get('state')}",
                        "Only a complete copy can be restored; make a new one with prod_db_copy", kind="not_restorable")
    in_memory = memory_backed(base) if os.path.isdir(base) else False
    if not in_memory and not allow_disk:
        raise CopyError(f"restore the copy {copy_id}", f"{base} is not memory-backed (tmpfs): the restored production data would be written to a disk",
                        "Use a tmpfs folder (base_dir, default /dev/shm), or accept a disk-backed restore explicitly with allow_disk "
                        "(-e restore_allow_disk=true)", kind="disk_refused")
    if not in_memory:
        warnings.append(f"The restored production data are written to {base}, which is NOT memory-backed: deleting them later cannot be "
                        "proven on an SSD. Wipe the copy as soon as the investigation is done.")
    return in_memory, warnings


def _verified(record: t.Mapping[str, t.Any], copy_id: str) -> dict[str, t.Any]:
    """The audit event of a ciphertext that is still the one copied, with its identity still there."""
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
    return {"event": "data_restore_verified", "copy_id": copy_id, "ciphertext_sha256": digest.hexdigest()}


def _restore(state_dir: str, record: dict[str, t.Any], tools: t.Mapping[str, str], paths: t.Mapping[str, str], *, port: int,
             database: str, in_memory: bool, checksum: bool, events: list[dict[str, t.Any]], warnings: list[str]) -> dict[str, t.Any]:
    """Start the cluster, restore into it, checksum it; on any failure stop and remove the cluster."""
    copy_id = record["copy_id"]
    user = server_user()
    os.makedirs(paths["root"], mode=0o700)
    try:
        start_cluster(tools, paths, port, user)
        events.append({"event": "data_restore_cluster_started", "copy_id": copy_id, "data_dir": paths["data"], "memory_backed": in_memory, "port": port})
        psql_local(tools, paths, port, "postgres", f'CREATE DATABASE "{database}"')
        started = time.monotonic()
        _decrypt_into(tools, paths, port, database, record)
        seconds = time.monotonic() - started
        sums = table_checksums(lambda sql: psql_local(tools, paths, port, database, sql)) if checksum else None
        restore_info = {
            "data_dir": paths["data"], "socket_dir": paths["socket"], "port": port, "database": database, "memory_backed": in_memory,
            "restored_at": _audit.utc_now(), "seconds": round(seconds, 3),
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


def _decrypt_into(tools: t.Mapping[str, str], paths: t.Mapping[str, str], port: int, database: str, record: t.Mapping[str, t.Any]) -> None:
    """``age -d -i IDENTITY CIPHERTEXT | pg_restore --single-transaction``: the plaintext only crosses a pipe."""
    copy_id, identity, ciphertext = record["copy_id"], record["identity_path"], record["ciphertext_path"]
    dec = popen([tools["age"], "-d", "-i", identity, ciphertext], stdin=_proc.DEVNULL, stdout=_proc.PIPE,
                stderr=_proc.PIPE, env=pg_env())
    restore = popen([tools["pg_restore"], "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
                     "-h", paths["socket"], "-p", str(port), "-U", "postgres", "-d", database],
                    stdin=dec.stdout, stdout=_proc.PIPE, stderr=_proc.PIPE, env=pg_env())
    pipe(dec.stdout).close()
    r_out, r_err = restore.communicate()
    d_err = dec.stderr.read() if dec.stderr else b""
    dec_rc = dec.wait()
    if dec_rc != 0 or restore.returncode != 0:
        # a late age error (a cut or altered file) is fatal: --single-transaction left nothing half-restored
        raise CopyError(f"restore the copy {copy_id}",
                        f"age exited {dec_rc} ({d_err.decode('utf-8', 'replace').strip()[:200]}), pg_restore exited {restore.returncode} "
                        f"({(r_err or r_out).decode('utf-8', 'replace').strip()[:300]})",
                        "Nothing was kept in the database; run data_wipe to remove the cluster", kind="restore_failed")
