# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The production data copy end to end on the rehearsal: signed approvals, the window, the tunnel through the emulated
cf-service-connect to a real PostgreSQL, the encrypted dump, the local restore in tmpfs with row counts and a checksum
equal to the source's, the wipe, nothing left, and an audit chain that verifies and holds the window's times."""

from __future__ import annotations

import json
import os
import pathlib
import stat

import pytest

from tests.support.prod_db_copy import (
    CopyRehearsal,
    assert_closed_and_clean,
    audit,
    copy_files,
    events,
    plaintext_on_disk,
    wipe_copies,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    r = CopyRehearsal(tmp_path_factory.mktemp("db-copy-e2e"))
    yield r
    r.close()


@pytest.fixture
def r(rehearsal, tmp_path):
    rehearsal.reset()
    yield rehearsal
    wipe_copies(tmp_path)


def test_copy_restore_wipe_end_to_end(r, tmp_path):
    source = r.source_checksums()

    copied = r.copy(tmp_path)
    assert copied.returncode == 0, copied.stdout[-3000:] + copied.stderr[-2000:]
    assert "Dump finished:" in copied.stdout and "Tunnel open on localhost:" in copied.stdout
    record_path = next((tmp_path / "state" / "copies").glob("*.json"))
    record = json.loads(record_path.read_text())
    assert record["state"] == "encrypted" and record["identity_memory_backed"] is True
    ciphertext = pathlib.Path(record["ciphertext_path"])
    assert stat.S_IMODE(ciphertext.stat().st_mode) == 0o600 and stat.S_IMODE(ciphertext.parent.stat().st_mode) == 0o700
    assert ciphertext.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert record["identity_path"].startswith("/dev/shm/")
    assert "Password" not in copied.stdout and r.source["password"] not in copied.stdout + copied.stderr
    # the window: open and close times, closed right after the copy, before the run ended
    opened = events(tmp_path, "ssh_window_opened")
    closed = events(tmp_path, "ssh_window_closed")
    assert len(opened) == 1 and len(closed) == 1
    assert opened[0]["opened_at"] == closed[0]["opened_at"] < closed[0]["closed_at"]
    assert closed[0]["ssh_allowed_after"] is False and closed[0]["closed_by"] == "run"
    names = [e["event"] for e in audit(tmp_path)]
    steps = ["approval_gate_passed", "ssh_window_opened", "data_copy_key_created", "data_copy_tunnel_open",
             "data_copy_versions_checked", "data_copy_dump_started", "data_copy_dump_finished", "data_copy_tunnel_stopped",
             "data_copy_service_key_deleted", "data_copy_stored", "ssh_window_closed"]
    assert [n for n in names if n in steps] == steps
    finished = events(tmp_path, "data_copy_dump_finished")[0]
    assert finished["ciphertext_sha256"] == record["ciphertext_sha256"] and finished["ciphertext_bytes"] == ciphertext.stat().st_size
    assert assert_closed_and_clean(r, tmp_path)

    restored = r.run("data_restore_local", tmp_path, "-e", f"copy_id={record['copy_id']}")
    assert restored.returncode == 0, restored.stdout[-3000:]
    done = events(tmp_path, "data_restored")[0]
    assert done["memory_backed"] is True
    assert done["tables"] == {name: v["rows"] for name, v in source["tables"].items()}
    assert done["checksum"] == source["checksum"], "the restored data equal the source, row for row"
    assert done["rows"] == source["rows"] == 1750
    assert "psql -h /dev/shm/ttahub-ops-pg-" in restored.stdout
    cluster = pathlib.Path(json.loads(record_path.read_text())["restore"]["data_dir"]).parent
    assert plaintext_on_disk(r.marker, [cluster]), "the restored cluster holds the data (in tmpfs)"
    again = r.run("data_restore_local", tmp_path, "-e", f"copy_id={record['copy_id']}")
    assert again.returncode == 0 and "changed=0" in again.stdout

    wiped = r.run("data_wipe", tmp_path, "-e", f"copy_id={record['copy_id']}")
    assert wiped.returncode == 0, wiped.stdout[-3000:]
    event = events(tmp_path, "data_copy_wiped")[0]
    assert event["ciphertext_sha256"] == record["ciphertext_sha256"] and event["key_destroyed"] is True
    assert event["remaining"] == []
    assert not cluster.exists() and copy_files(tmp_path) == [] and not os.path.exists(record["folder"])
    assert json.loads(record_path.read_text())["state"] == "wiped"
    assert_closed_and_clean(r, tmp_path)

    guard = r.run("ssh_guard", tmp_path)
    assert guard.returncode == 0, guard.stdout[-3000:]
    assert [e["allowed"] for e in events(tmp_path, "ssh_guard_checked")] == [False]
    ends = [e["outcome"] for e in events(tmp_path, "run_end")]
    assert ends == ["success", "success", "success", "success", "success"]
