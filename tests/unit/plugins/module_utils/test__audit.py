# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import stat
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit


@pytest.fixture
def log(tmp_path):
    return str(tmp_path / "state" / "ttahub-ops" / "audit.jsonl")


def write_chain(path, n=3):
    return [_audit.append_record(path, "step", "run-1", index=i, note=f"record {i}") for i in range(n)]


def lines(path):
    with open(path, "rb") as handle:
        return handle.read().splitlines(keepends=True)


def write_lines(path, items):
    with open(path, "wb") as handle:
        handle.writelines(items)


def rewrite(path, number, change, rehash=False):
    """Apply ``change`` to the record on 1-based line ``number``, keeping (or recomputing) its hash."""
    items = lines(path)
    record = json.loads(items[number - 1])
    change(record)
    if rehash:
        record["hash"] = _audit.record_hash(record)
    items[number - 1] = _audit.canonical(record) + b"\n"
    write_lines(path, items)


# -- the format ----------------------------------------------------------------------------------------------------------


def test_canonical_is_sorted_compact_ascii():
    assert _audit.canonical({"b": 1, "a": "é"}) == b'{"a":"\\u00e9","b":1}'


def test_canonical_matches_the_contract_spelling():
    record = {"z": [1, {"y": None}], "a": "x", "n": 1.5, "t": True}
    assert _audit.canonical(record) == json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def test_record_hash_ignores_hash_field():
    record = {"event": "e", "run_id": "r", "time": "t", "prev": _audit.GENESIS}
    expected = hashlib.sha256(_audit.canonical(record)).hexdigest()
    assert _audit.record_hash(record) == expected
    assert _audit.record_hash(dict(record, hash="f" * 64)) == expected


def test_utc_now_format():
    value = _audit.utc_now()
    assert len(value) == 27 and value.endswith("Z") and value[10] == "T" and value[19] == "."


@pytest.mark.parametrize(
    ("xdg", "expected"),
    [
        (None, os.path.join("HOME", ".local", "state", "ttahub-ops", "audit.jsonl")),
        ("/xdg/state", "/xdg/state/ttahub-ops/audit.jsonl"),
        ("relative/state", os.path.join("HOME", ".local", "state", "ttahub-ops", "audit.jsonl")),
    ],
)
def test_default_path(monkeypatch, tmp_path, xdg, expected):
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)
    assert _audit.default_path() == expected.replace("HOME", str(tmp_path))


# -- appending -----------------------------------------------------------------------------------------------------------


def test_chain_of_three(log):
    records = write_chain(log)
    assert records[0]["prev"] == _audit.GENESIS
    assert records[1]["prev"] == records[0]["hash"]
    assert records[2]["prev"] == records[1]["hash"]
    assert [json.loads(line) for line in lines(log)] == records
    for record in records:
        assert set(record) == {"time", "run_id", "event", "prev", "hash", "index", "note"}
        assert record["hash"] == _audit.record_hash(record)
    assert _audit.verify(log) == _audit.VerifyResult(True, 3, None, None, records[-1]["hash"])


def test_each_line_is_the_canonical_record(log):
    write_chain(log, 2)
    for line in lines(log):
        assert line == _audit.canonical(json.loads(line)) + b"\n"


def test_file_and_directory_modes(log, tmp_path):
    old = os.umask(0o022)
    try:
        _audit.append_record(log, "e", "r")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(log)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "state").st_mode) == 0o700


def test_existing_directory_mode_is_left_alone(tmp_path):
    os.chmod(tmp_path, 0o755)
    _audit.append_record(str(tmp_path / "audit.jsonl"), "e", "r")
    assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o755


def test_fields_are_redacted(log):
    record = _audit.append_record(log, "e", "r", password="hunter2", detail={"token": "abc"}, user="ops")
    assert record["password"] == _audit.MASK and record["detail"] == {"token": _audit.MASK}
    assert b"hunter2" not in b"".join(lines(log))


def test_field_may_be_named_path(log):
    # The point of this test: the positional-only parameter path does not swallow a field named path.
    record = _audit.append_record(log, "file_copied", "r", path="/tmp/x")  # pylint: disable=kwarg-superseded-by-positional-arg
    assert record["path"] == "/tmp/x"


@pytest.mark.parametrize("name", ["time", "prev", "hash"])
def test_reserved_fields_are_refused(log, name):
    with pytest.raises(ValueError, match=name):
        _audit.append_record(log, "e", "r", **{name: "x"})


@pytest.mark.parametrize(("event", "run_id"), [("", "r"), ("e", ""), (None, "r")])
def test_event_and_run_id_are_required(log, event, run_id):
    with pytest.raises(ValueError):
        _audit.append_record(log, event, run_id)


def test_non_ascii_is_escaped(log):
    record = _audit.append_record(log, "e", "r", name="Zoë")
    assert record["name"] == "Zoë"
    assert b"Zo\\u00eb" in lines(log)[0]
    assert _audit.verify(log).ok


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda items: items[:-1] + [items[-1][:40]], "bad JSON"),
        (lambda items: items[:-1] + [items[-1][:-1]], "no newline at the end"),
        (lambda items: items + [b"garbage\n"], "bad JSON"),
    ],
)
def test_append_refuses_after_a_broken_last_line(log, damage, reason):
    write_chain(log)
    write_lines(log, damage(lines(log)))
    before = lines(log)
    with pytest.raises(_audit.AuditLogError) as info:
        _audit.append_record(log, "e", "r")
    message = str(info.value)
    assert "Failed to append to the audit log" in message and reason in message and "mv " in message
    assert f"({len(before)})" in message  # names the line
    assert lines(log) == before


def test_append_checks_only_the_last_record(log):
    write_chain(log)
    rewrite(log, 1, lambda r: r.update(note="changed"))
    _audit.append_record(log, "e", "r")  # still appends; verify finds the break
    assert _audit.verify(log).first_bad_line == 1


def test_append_to_unwritable_directory_fails_with_advice(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/ttahub-ops/audit.jsonl"  # root may write anywhere else
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = str(locked / "sub" / "audit.jsonl")
    with pytest.raises(_audit.AuditLogError, match="TTAHUB_OPS_AUDIT_LOG"):
        _audit.append_record(target, "e", "r")


def test_long_last_line_is_read_across_blocks(log):
    _audit.append_record(log, "e", "r", blob="x" * 200_000)
    second = _audit.append_record(log, "e", "r", blob="y" * 70_000)
    assert _audit.verify(log).ok and second["prev"] == json.loads(lines(log)[0])["hash"]


def _append_many(path, worker, count):
    for i in range(count):
        _audit.append_record(path, "concurrent", f"run-{worker}", worker=worker, index=i)


def test_concurrent_appends_keep_the_chain(log):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(log, w, 50)) for w in range(4)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(60)
        assert proc.exitcode == 0
    result = _audit.verify(log)
    assert result.ok and result.count == 200
    seen = {(r["worker"], r["index"]) for r in map(json.loads, lines(log))}
    assert seen == {(w, i) for w in range(4) for i in range(50)}


# -- verifying -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["time", "run_id", "event", "index", "note"])
@pytest.mark.parametrize("number", [1, 2, 3])
def test_tampering_with_a_field_names_the_line(log, field, number):
    write_chain(log)
    rewrite(log, number, lambda r: r.update({field: "tampered"}))
    result = _audit.verify(log)
    assert (result.ok, result.first_bad_line, result.count) == (False, number, number - 1)
    assert result.reason.startswith("hash mismatch")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_tampering_with_hash_names_the_line(log, number):
    write_chain(log)
    rewrite(log, number, lambda r: r.update(hash="0" * 64))
    result = _audit.verify(log)
    assert (result.first_bad_line, result.reason.split(" (")[0]) == (number, "hash mismatch")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_tampering_with_prev_names_the_line(log, number):
    write_chain(log)
    rewrite(log, number, lambda r: r.update(prev="a" * 64))
    result = _audit.verify(log)
    assert (result.first_bad_line, result.reason.split(" (")[0]) == (number, "hash mismatch")


def test_rehashed_record_breaks_the_next_prev(log):
    write_chain(log)
    rewrite(log, 2, lambda r: r.update(note="forged"), rehash=True)
    result = _audit.verify(log)
    assert result.first_bad_line == 3 and result.reason.startswith("prev mismatch") and "record 2" in result.reason


def test_rehashed_last_record_is_undetectable_by_the_chain_but_changes_last_hash(log):
    records = write_chain(log)
    rewrite(log, 3, lambda r: r.update(note="forged"), rehash=True)
    result = _audit.verify(log)
    assert result.ok and result.last_hash != records[-1]["hash"]


@pytest.mark.parametrize(("deleted", "bad"), [(1, 1), (2, 2)])
def test_deleted_line(log, deleted, bad):
    write_chain(log)
    items = lines(log)
    del items[deleted - 1]
    write_lines(log, items)
    result = _audit.verify(log)
    assert result.first_bad_line == bad and result.reason.startswith("prev mismatch")


def test_reordered_lines(log):
    write_chain(log)
    items = lines(log)
    write_lines(log, [items[0], items[2], items[1]])
    result = _audit.verify(log)
    assert (result.first_bad_line, result.count) == (2, 1) and result.reason.startswith("prev mismatch")


def test_truncated_last_line(log):
    write_chain(log)
    items = lines(log)
    write_lines(log, items[:2] + [items[2][:50]])
    result = _audit.verify(log)
    assert (result.first_bad_line, result.count) == (3, 2) and result.reason.startswith("bad JSON")


def test_missing_final_newline(log):
    write_chain(log)
    items = lines(log)
    write_lines(log, items[:2] + [items[2].rstrip(b"\n")])
    result = _audit.verify(log)
    assert result.first_bad_line == 3 and result.reason.startswith("no newline at the end")


@pytest.mark.parametrize("field", ["time", "run_id", "event", "prev", "hash"])
def test_missing_field(log, field):
    write_chain(log)
    rewrite(log, 2, lambda r: r.pop(field), rehash=field != "hash")
    result = _audit.verify(log)
    assert result.first_bad_line == 2 and result.reason == f"missing field {field}"


def test_reformatted_line_is_not_canonical(log):
    write_chain(log)
    items = lines(log)
    items[1] = json.dumps(json.loads(items[1]), sort_keys=True).encode() + b"\n"
    write_lines(log, items)
    result = _audit.verify(log)
    assert result.first_bad_line == 2 and result.reason.startswith("not canonical JSON")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\n", "empty line"),
        (b"[1, 2]\n", "bad JSON"),
        (b"\xff\xfe\n", "bad JSON"),
        (b'{"a":1,"a":2}\n', "bad JSON"),
    ],
)
def test_foreign_lines(log, line, reason):
    write_chain(log, 1)
    write_lines(log, lines(log) + [line])
    result = _audit.verify(log)
    assert (result.first_bad_line, result.count) == (2, 1) and result.reason.startswith(reason)


def test_bad_prev_format(log):
    write_chain(log, 1)
    rewrite(log, 1, lambda r: r.update(prev="XYZ"), rehash=True)
    assert _audit.verify(log).reason.startswith("bad field prev")


def test_empty_log_verifies(log):
    os.makedirs(os.path.dirname(log))
    open(log, "wb").close()
    assert _audit.verify(log) == _audit.VerifyResult(True, 0, None, None, None)


def test_missing_log_does_not_verify(log):
    result = _audit.verify(log)
    assert (result.ok, result.first_bad_line, result.reason) == (False, None, "the file does not exist")


# -- redaction -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["password", "CF_PASSWORD", "passwd", "token", "GITHUB_TOKEN", "access-token", "client_secret", "code", "ssh_code",
     "Authorization", "private_key", "privateKey", "ssh private key", "api_key"],
)
def test_secret_keys(key):
    assert _audit.is_secret_key(key)


@pytest.mark.parametrize("key", ["user", "app", "rc", "status_code", "space", "changed", "event", "host", "hash"])
def test_plain_keys(key):
    assert not _audit.is_secret_key(key)


def test_redact_nested_secrets():
    value = {
        "user": "ops",
        "auth": {"password": "p1", "headers": {"Authorization": "Bearer abcdefgh"}, "password_set": True},
        "keys": [{"private_key": "-----BEGIN RSA PRIVATE KEY-----\nxx\n-----END RSA PRIVATE KEY-----"}],
        "codes": ({"code": 123456},),
        "none": {"token": None},
    }
    out = _audit.redact(value)
    assert out == {
        "user": "ops",
        "auth": {"password": _audit.MASK, "headers": {"Authorization": _audit.MASK}, "password_set": True},
        "keys": [{"private_key": _audit.MASK}],
        "codes": [{"code": _audit.MASK}],
        "none": {"token": None},
    }
    assert value["auth"]["password"] == "p1"  # the input is not changed


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("CF_PASSWORD=hunter22 cf auth", "hunter22"),
        ("--password=hunter22", "hunter22"),
        ('{"token": "tok-12345"}', "tok-12345"),
        ("Authorization: Bearer eyJabc.def-123", "eyJabc.def-123"),
        ("https://admin:s3cr3t@db.example/x", "s3cr3t"),
        ("key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3Nza\n-----END OPENSSH PRIVATE KEY-----", "AAAAB3Nza"),
        ("cut -----BEGIN PRIVATE KEY-----\nMIIEvQ", "MIIEvQ"),
        ("token ghp_" + "a" * 36, "ghp_" + "a" * 36),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature", "eyJzdWIiOiIxIn0"),
        ("ssh_code: 804213", "804213"),
    ],
)
def test_redact_text(text, secret):
    out = _audit.redact_text(text)
    assert secret not in out and _audit.MASK in out


def test_redact_text_keeps_ordinary_messages():
    message = "Invalid password given for user ops; 3 apps in space ttahub-prod"
    assert _audit.redact_text(message) == message


def test_redact_makes_plain_json():
    class Thing:
        def __str__(self):
            return "thing password=x"

    out = _audit.redact({"t": Thing(), "s": {3, 1}, "b": b"bytes", "f": float("nan"), 1: "int key"})
    assert out == {"t": "thing password=********", "s": [1, 3], "b": "bytes", "f": "nan", "1": "int key"}
    _audit.canonical(out)


def test_redact_applies_text_filter():
    assert _audit.redact({"a": ["x-secret-value"]}, lambda s: s.replace("secret-value", "$REDACTED$")) == {"a": ["x-$REDACTED$"]}


@pytest.mark.parametrize("text", ["x" * 1_000_000, "token-" * 200_000, "a=b " * 250_000, "https://" + "u" * 500_000])
def test_redact_text_is_linear_on_long_input(text):
    # Each of these took minutes with a backtracking key pattern; a log write must never stall a run.
    start = time.monotonic()
    _audit.redact_text(text)
    assert time.monotonic() - start < 2
