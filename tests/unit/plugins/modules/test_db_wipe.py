# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""db_wipe, db_copy_info and db_restore_local's refusals through each module's real main()."""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy import records
from ansible_collections.ttahub.ops.plugins.modules import db_copy_info, db_restore_local, db_wipe
from tests.support.modules import run_main
from tests.unit.plugins.module_utils.test__dbcopy import AGE_KEYGEN, make_copy

pytestmark = pytest.mark.skipif(AGE_KEYGEN is None, reason="needs age (apt-get install age)")


def test_wipe_one_copy_and_then_all(tmp_path, capsys):
    state, keys = tmp_path / "state", tmp_path / "keys"
    first = make_copy(state, keys, copy_id="ttahub-prod-1")
    second = make_copy(state, keys, copy_id="ttahub-prod-2")
    result = run_main(db_wipe, {"copy_id": "ttahub-prod-1", "state_dir": str(state)}, capsys)
    assert result["changed"] is True and [w["copy_id"] for w in result["wiped"]] == ["ttahub-prod-1"]
    assert result["audit_events"][0]["event"] == "data_copy_wiped" and not os.path.exists(first["identity_path"])
    assert os.path.exists(second["identity_path"])
    result = run_main(db_wipe, {"all": True, "state_dir": str(state)}, capsys)
    assert [w["copy_id"] for w in result["wiped"]] == ["ttahub-prod-2"] and not os.path.exists(second["ciphertext_path"])


def test_wipe_needs_one_of_copy_id_or_all(tmp_path, capsys):
    result = run_main(db_wipe, {"state_dir": str(tmp_path)}, capsys)
    assert result["failed"] is True and "pass either copy_id or all=true" in result["msg"]


def test_copy_info_reports_overdue_copies(tmp_path, capsys):
    state = tmp_path / "state"
    make_copy(state, tmp_path / "keys", copy_id="ttahub-prod-late", hours=1)
    record = records.read_record(str(state), "ttahub-prod-late")
    record["deadline_epoch"] = time.time() - 5
    records.write_record(str(state), record)
    make_copy(state, tmp_path / "keys", copy_id="ttahub-prod-fresh")
    result = run_main(db_copy_info, {"state_dir": str(state)}, capsys)
    assert result["changed"] is False and [c["copy_id"] for c in result["overdue"]] == ["ttahub-prod-late"]
    assert [e["event"] for e in result["audit_events"]] == ["data_copy_overdue"] and len(result["copies"]) == 2


def test_restore_without_any_copy_says_how_to_make_one(tmp_path, capsys):
    result = run_main(db_restore_local, {"state_dir": str(tmp_path)}, capsys)
    assert result["failed"] is True and result["error_kind"] == "not_found" and "prod_db_copy" in result["msg"]


def test_restore_refuses_a_strange_database_name(tmp_path, capsys):
    result = run_main(db_restore_local, {"state_dir": str(tmp_path), "database": "x; drop"}, capsys)
    assert result["failed"] is True and "letters, digits and underscores" in result["msg"]
