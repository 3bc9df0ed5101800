# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The wipe of a data copy: the local cluster stopped and removed, the age identity destroyed (cryptographic erase,
NIST SP 800-88 "Purge"), the ciphertext and the copy's folder removed, then a check that none of it remains. The
record stays, marked ``wiped``, as evidence.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import os
import shutil
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.cluster import cluster_paths, cluster_running, stop_cluster
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.keys import destroy_identity
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.records import overdue, read_record, write_record
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.tools import find_tool

__all__ = ["wipe_copy"]


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
    record.update(state="wiped", wiped_at=_audit.utc_now(), wipe=done)
    write_record(state_dir, record)
    return {"changed": True, "record": record, "audit_events": [event], "removed": done, "present": present}
