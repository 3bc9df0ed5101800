# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The record of a data copy: ``<state_dir>/copies/<copy_id>.json`` (0600, in a 0700 folder) holds what is needed to
restore the copy and to prove its wipe: paths, byte counts, the ciphertext's SHA-256, the deadline (default 24 h).

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import glob
import json
import os
import re
import time
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError

__all__ = ["copies_dir", "list_records", "new_record", "overdue", "read_record", "record_path", "summary", "write_record"]

RECORD_FORMAT = "ttahub-ops-data-copy/1"
DEFAULT_KEEP_HOURS = 24
COPY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def copies_dir(state_dir: str) -> str:
    return os.path.join(os.path.abspath(os.path.expanduser(state_dir)), "copies")


def record_path(state_dir: str, copy_id: str) -> str:
    if not COPY_ID.match(copy_id or ""):
        raise CopyError("find the copy", f"{copy_id!r} is not a copy id", "Pass a copy_id as prod_db_copy printed it", kind="bad_input")
    return os.path.join(copies_dir(state_dir), f"{copy_id}.json")


def new_record(*, copy_id: str, keep_hours: float, run_id: str, operator: str, source: dict[str, t.Any], window_id: str | None,
               folder: str, ciphertext_path: str, identity_path: str, key_store: t.Mapping[str, t.Any],
               tools: dict[str, t.Any]) -> dict[str, t.Any]:
    """The record of a copy as it starts (state ``copying``): its deadline is ``keep_hours`` from now."""
    created = time.time()
    return {
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
        "source": source,
        "window_id": window_id,
        "folder": folder,
        "ciphertext_path": ciphertext_path,
        "identity_path": identity_path,
        "identity_memory_backed": key_store["memory_backed"],
        "key_store_note": key_store["note"],
        "tools": tools,
    }


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
