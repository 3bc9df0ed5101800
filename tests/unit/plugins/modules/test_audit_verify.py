# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""audit_verify's real main() under patch_module_args."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from ansible_collections.ttahub.ops.plugins.modules import audit_verify
from tests.support.modules import run_main


@pytest.fixture
def log(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    for i in range(3):
        _audit.append_record(path, "step", "run-1", index=i)
    return path


def tamper(path, number):
    with open(path, "rb") as handle:
        items = handle.read().splitlines(keepends=True)
    record = json.loads(items[number - 1])
    record["index"] = 99
    items[number - 1] = _audit.canonical(record) + b"\n"
    with open(path, "wb") as handle:
        handle.writelines(items)


@pytest.mark.parametrize("check_mode", [False, True])
def test_intact_log(log, capsys, check_mode):
    result = run_main(audit_verify, {"path": log}, capsys, check_mode=check_mode)
    last = json.loads(open(log, encoding="ascii").read().splitlines()[-1])["hash"]
    assert result["_rc"] == 0 and not result.get("failed")
    assert {k: result[k] for k in ("changed", "ok", "records", "first_bad_line", "reason", "last_hash", "log_path")} == {
        "changed": False, "ok": True, "records": 3, "first_bad_line": None, "reason": None, "last_hash": last, "log_path": log,
    }


@pytest.mark.parametrize("check_mode", [False, True])
def test_tampered_log_fails_naming_the_record(log, capsys, check_mode):
    tamper(log, 2)
    result = run_main(audit_verify, {"path": log}, capsys, check_mode=check_mode)
    assert result["_rc"] == 1 and result["failed"] is True and result["changed"] is False
    assert (result["ok"], result["records"], result["first_bad_line"]) == (False, 1, 2)
    assert result["msg"].startswith(f"Failed to verify audit log {log}: record 2 hash mismatch")
    assert "keep it as evidence" in result["msg"]


def test_default_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = tmp_path / "ttahub-ops" / "audit.jsonl"
    _audit.append_record(str(path), "e", "r")
    result = run_main(audit_verify, {}, capsys)
    assert result["log_path"] == str(path) and result["records"] == 1 and result["ok"] is True


def test_missing_log(tmp_path, capsys):
    path = str(tmp_path / "nope.jsonl")
    result = run_main(audit_verify, {"path": path}, capsys)
    assert result["failed"] is True and result["first_bad_line"] is None
    assert result["msg"] == f"Failed to verify audit log {path}: the file does not exist. Check the path (option path or ops_audit_log)."


def test_path_is_expanded(tmp_path, monkeypatch, capsys, log):
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_main(audit_verify, {"path": "~/audit.jsonl"}, capsys)
    assert result["log_path"] == log and result["ok"] is True
