# SPDX-License-Identifier: GPL-3.0-or-later
"""`python -m rehearsal.summary`: the cf calls, the audit log's verdict (from the public module
ttahub.ops.audit_verify, run ad hoc) and its evidence, production space SSH at the end."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Rehearsal

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from rehearsal import summary
from rehearsal import world as world_mod


@pytest.fixture
def home(rehearsal: Rehearsal) -> Path:
    """A seeded rehearsal with two cf calls and an audit log of one clean run that disallowed space SSH."""
    rehearsal.seed()
    calls = [{"argv": ["target"], "exit_code": 0}, {"argv": ["allow-space-ssh", "ttahub-prod"], "exit_code": 1}]
    (rehearsal.home / "calls.jsonl").write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    log = str(rehearsal.home / "ops" / "audit.jsonl")
    _audit.append_record(log, "run_start", "a" * 32, playbook_name="ssh_guard.yml")
    _audit.append_record(log, "ssh_guard_disallowed", "a" * 32)
    _audit.append_record(log, "run_end", "a" * 32, outcome="ok")
    return rehearsal.home


def test_the_summary_reports_a_verified_chain_and_adds_nothing_to_the_log(home: Path, capsys) -> None:
    log = home / "ops" / "audit.jsonl"
    before = log.read_bytes()
    assert summary.main(["--home", str(home)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["cf calls: 2 (1 non-zero)", "     1  cf target", "     1  cf allow-space-ssh"]
    assert out[3] == f"audit log: {log}: 3 records, chain verified"
    assert out[4:] == ["  run aaaaaaaa  ok        ssh_guard.yml", "     1  ssh_guard_disallowed",
                       "production space SSH at the end: disallowed"]
    assert log.read_bytes() == before, "verifying the log must not record a run in it"


def test_a_changed_record_breaks_the_chain_and_fails_the_summary(home: Path, capsys) -> None:
    log = home / "ops" / "audit.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace("ssh_guard_disallowed", "ssh_window_closed")
    log.write_text("".join(lines), encoding="utf-8")
    assert summary.main(["--home", str(home)]) == 1
    out = capsys.readouterr().out
    assert f"audit log: {log}: 1 records, chain BROKEN: hash mismatch" in out


def test_open_production_ssh_or_a_missing_log_fails_the_summary(home: Path, capsys) -> None:
    world_mod.set_space_ssh(home, "ttahub-prod", True)
    assert summary.main(["--home", str(home)]) == 1
    assert "production space SSH at the end: ALLOWED in ttahub-prod" in capsys.readouterr().out
    assert summary.main(["--home", str(home), "--audit-log", str(home / "nowhere.jsonl")]) == 1
    assert f"audit log: {home / 'nowhere.jsonl'} missing" in capsys.readouterr().out
