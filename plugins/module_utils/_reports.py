# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reports that procedures leave in ``ops_reports_dir``: a JSON file and a Markdown file, both or neither.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import typing as t
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = ["ReportWriteError", "safe_name", "write_pair"]


class ReportWriteError(OpsError):
    """The report could not be written; the caller names which report (``action``)."""

    kind = "report_write_failed"

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__("write the report", cause, fix)


def safe_name(text: str) -> str:
    """An environment name fit for a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "unknown"


def _write_new(path: str, data: bytes) -> None:
    """Write ``path`` whole (fsynced, mode 0600) or not at all, never over an existing file."""
    fd, tmp = tempfile.mkstemp(prefix=".report-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.link(tmp, path)  # fails with FileExistsError rather than replacing a report
    finally:
        os.unlink(tmp)


def write_pair(directory: str, base: str, report: t.Mapping[str, t.Any], markdown: str) -> dict[str, str]:
    """Write ``<base>.json`` and ``<base>.md`` (``<base>-N`` when taken) into DIRECTORY (0700), both or neither.

    Returns their paths and the JSON file's SHA-256, which the audit log records.
    """
    fix = "Set ops_reports_dir to a folder you can write"
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ReportWriteError(f"cannot create {directory} ({exc.strerror})", fix) from None
    body = (json.dumps(report, indent=2, sort_keys=True) + "\n").encode("utf-8")
    text = markdown.encode("utf-8")
    for attempt in range(100):
        name = base if attempt == 0 else f"{base}-{attempt}"
        json_path, md_path = os.path.join(directory, name + ".json"), os.path.join(directory, name + ".md")
        if os.path.exists(json_path) or os.path.exists(md_path):
            continue
        try:
            _write_new(json_path, body)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ReportWriteError(f"cannot write {json_path} ({exc.strerror})", fix) from None
        try:
            _write_new(md_path, text)
        except OSError as exc:
            os.unlink(json_path)
            raise ReportWriteError(f"cannot write {md_path} ({exc.strerror})", fix) from None
        return {"json": json_path, "markdown": md_path, "sha256": hashlib.sha256(body).hexdigest()}
    raise ReportWriteError(f"{base}.json and 99 others exist in {directory}", "Move old reports away")
