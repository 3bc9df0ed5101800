# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The data copy's local parts with real tools: the key store and what it says about residual risk, the age identity
and its destruction, records and deadlines, the restore's refusals, and the wipe proving nothing remains."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy import checksums, keys, records, restore, tools, wipe
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError

AGE_KEYGEN = shutil.which("age-keygen")
pytestmark = pytest.mark.skipif(AGE_KEYGEN is None, reason="needs age (apt-get install age)")


def make_copy(state: pathlib.Path, key_dir: pathlib.Path, *, copy_id: str = "ttahub-prod-20261128T140311Z-abc123",
              hours: float = 24, state_name: str = "encrypted") -> dict:
    """A complete copy as db_copy leaves it: an identity, a ciphertext of a real archive-like payload, a record."""
    folder = state / "copies" / copy_id
    folder.mkdir(parents=True)
    identity = key_dir / f"{copy_id}.age-identity"
    recipient = keys.new_identity(AGE_KEYGEN, str(identity))
    ciphertext = folder / f"{copy_id}.pgdump.age"
    subprocess.run([shutil.which("age"), "-r", recipient, "-o", str(ciphertext)], input=b"PGDMP not really a dump\n", check=True)
    now = time.time()
    record = {"format": records.RECORD_FORMAT, "copy_id": copy_id, "state": state_name, "created_at": "2026-11-28T14:03:11Z",
              "created_epoch": now, "deadline_epoch": now + hours * 3600, "deadline": "later", "folder": str(folder),
              "ciphertext_path": str(ciphertext), "identity_path": str(identity), "identity_memory_backed": True,
              "ciphertext_sha256": hashlib.sha256(ciphertext.read_bytes()).hexdigest()}
    records.write_record(str(state), record)
    return record


def test_key_store_prefers_memory_and_says_the_residual_risk_elsewhere(tmp_path):
    store = keys.key_store()
    assert store["memory_backed"] is True and store["dir"].startswith("/dev/shm/ttahub-ops-keys-")
    assert "memory-backed storage" in store["note"]
    disk = keys.key_store(str(tmp_path)) if not keys.memory_backed(str(tmp_path)) else None
    if disk is not None:
        assert disk["memory_backed"] is False
        assert "Residual risk" in disk["note"] and "cannot be proven" in disk["note"]


def test_identity_is_private_and_destroyed(tmp_path):
    identity = tmp_path / "keys" / "copy.age-identity"
    recipient = keys.new_identity(AGE_KEYGEN, str(identity))
    assert recipient.startswith("age1")
    assert identity.stat().st_mode & 0o777 == 0o600 and identity.parent.stat().st_mode & 0o777 == 0o700
    assert "AGE-SECRET-KEY-1" in identity.read_text()
    with pytest.raises(FileExistsError):
        keys.new_identity(AGE_KEYGEN, str(identity))
    assert keys.destroy_identity(str(identity)) is True and not identity.exists()
    assert keys.destroy_identity(str(identity)) is False


def test_records_and_deadlines(tmp_path):
    record = make_copy(tmp_path / "state", tmp_path / "keys", hours=1)
    assert (tmp_path / "state" / "copies" / f"{record['copy_id']}.json").stat().st_mode & 0o777 == 0o600
    assert records.read_record(str(tmp_path / "state"), record["copy_id"])["state"] == "encrypted"
    assert records.overdue(record) is False and records.overdue(record, now=time.time() + 7200) is True
    assert records.overdue(dict(record, state="wiped"), now=time.time() + 7200) is False
    with pytest.raises(CopyError, match="is not a copy id"):
        records.read_record(str(tmp_path / "state"), "../../etc/passwd")
    with pytest.raises(CopyError, match="there is no copy nope"):
        records.read_record(str(tmp_path / "state"), "nope")


def test_restore_refuses_a_disk_backed_target_unless_allowed(tmp_path):
    if keys.memory_backed(str(tmp_path)):
        pytest.skip("tmp_path is on tmpfs here")
    record = make_copy(tmp_path / "state", tmp_path / "keys")
    with pytest.raises(CopyError) as err:
        restore.restore_copy(state_dir=str(tmp_path / "state"), copy_id=record["copy_id"], base_dir=str(tmp_path))
    assert err.value.kind == "disk_refused" and "allow_disk" in err.value.message
    planned = restore.restore_copy(state_dir=str(tmp_path / "state"), copy_id=record["copy_id"], base_dir=str(tmp_path),
                                   allow_disk=True, check_mode=True)
    assert planned["changed"] is True and "NOT memory-backed" in planned["warnings"][0]


def test_restore_refuses_a_changed_ciphertext_and_a_lost_key(tmp_path):
    record = make_copy(tmp_path / "state", tmp_path / "keys")
    with open(record["ciphertext_path"], "ab") as handle:
        handle.write(b"x")
    with pytest.raises(CopyError) as err:
        restore.restore_copy(state_dir=str(tmp_path / "state"), copy_id=record["copy_id"])
    assert err.value.kind == "tampered" and "Product Owner" in err.value.message
    os.unlink(record["identity_path"])
    with pytest.raises(CopyError) as err:
        restore.restore_copy(state_dir=str(tmp_path / "state"), copy_id=record["copy_id"])
    assert err.value.kind == "key_gone" and "cannot be decrypted any more" in err.value.message


def test_restore_refuses_an_incomplete_copy(tmp_path):
    record = make_copy(tmp_path / "state", tmp_path / "keys", state_name="failed")
    with pytest.raises(CopyError, match="the copy is failed"):
        restore.restore_copy(state_dir=str(tmp_path / "state"), copy_id=record["copy_id"])


def test_wipe_destroys_the_key_removes_everything_and_keeps_the_record(tmp_path):
    record = make_copy(tmp_path / "state", tmp_path / "keys")
    planned = wipe.wipe_copy(state_dir=str(tmp_path / "state"), copy_id=record["copy_id"], check_mode=True)
    assert planned["changed"] is True and planned["present"] == {"identity": True, "ciphertext": True, "cluster": False, "folder": True}
    assert os.path.exists(record["identity_path"])
    done = wipe.wipe_copy(state_dir=str(tmp_path / "state"), copy_id=record["copy_id"])
    event = done["audit_events"][0]
    assert event["event"] == "data_copy_wiped" and event["key_destroyed"] is True and event["remaining"] == []
    assert event["ciphertext_sha256"] == record["ciphertext_sha256"]
    for path in (record["identity_path"], record["ciphertext_path"], record["folder"]):
        assert not os.path.lexists(path)
    kept = json.loads((tmp_path / "state" / "copies" / f"{record['copy_id']}.json").read_text())
    assert kept["state"] == "wiped" and kept["wiped_at"]
    again = wipe.wipe_copy(state_dir=str(tmp_path / "state"), copy_id=record["copy_id"])
    assert again["changed"] is False and again["audit_events"] == []


def test_checksums_are_order_independent():
    rows = {"t1": ["3|aa"], "t2": ["0|d41d8cd98f00b204e9800998ecf8427e"]}

    def fake_sql(order):
        def run(sql):
            if sql == checksums.TABLES_SQL:
                return [f"{n}|public.{n}" for n in order]
            return rows[sql.rsplit("public.", 1)[1].split(" ")[0]]
        return run

    first = checksums.table_checksums(fake_sql(["t1", "t2"]))
    second = checksums.table_checksums(fake_sql(["t2", "t1"]))
    assert first == second and first["rows"] == 3 and first["tables"]["t1"] == {"rows": 3, "md5": "aa"}


@pytest.mark.parametrize(("text", "major"), [("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", 15),
                                             ("pg_dump (PostgreSQL) 9.6.24", 9), ("pg_dump (PostgreSQL) 17beta1", 17)])
def test_pg_major(text, major):
    assert tools.pg_major(text) == major
