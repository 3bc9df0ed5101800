# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""audit_counts_report's real main(): the report files, the comparison with the previous run, the audit event."""
from __future__ import annotations

import hashlib
import json
import os

from ansible_collections.ttahub.ops.plugins.modules import audit_counts_report
from tests.support.modules import run_main

TASK = {"guid": "9a1b", "id": 4, "name": "audit-counts-20261128T140000Z", "state": "SUCCEEDED", "failure_reason": None}


def log(users=40, reports_region_2=130):
    messages = [
        "Users has %d records, last updated at: Tue Jun 30 2026 00:13:55 GMT+0000 (Coordinated Universal Time)" % users,
        "Files has 0 records, last updated at: ",
        "Grants data counts: " + json.dumps([{"regionId": 1, "status": "Active", "count": "2"}], indent=2),
        "ActivityReports data counts: " + json.dumps(
            [{"regionId": 2, "submissionStatus": "draft", "count": str(reports_region_2)}], indent=2),
    ]
    return [{"time": "t", "source": "APP/TASK/%s/0" % TASK["name"], "stream": "OUT",
             "message": json.dumps({"level": "info", "label": "AUDIT", "message": m})} for m in messages]


def args(tmp_path, **extra):
    return {"log": log(), "task": TASK, "app": "tta-smarthub-prod", "command": "yarn db:validation",
            "environment": "production", "report_dir": str(tmp_path / "reports"), **extra}


def test_first_run_writes_the_report_and_an_audit_event(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TTAHUB_OPS_RUN_ID", "run-1")
    result = run_main(audit_counts_report, args(tmp_path), capsys)
    assert result["_rc"] == 0 and result["changed"] is True
    assert result["counts"]["tables"]["Users"]["count"] == 40
    assert result["counts"]["regions"] == {"1": {"grants": 2, "activity_reports": 0},
                                           "2": {"grants": 0, "activity_reports": 130}}
    assert result["comparison"]["compared"] is False and result["previous"] == {}
    body = open(result["report"]["json"], "rb").read()
    assert result["report"]["sha256"] == hashlib.sha256(body).hexdigest()
    report = json.loads(body)
    assert (report["run_id"], report["task"]["id"], report["environment"]) == ("run-1", 4, "production")
    (event,) = result["audit_events"]
    assert event["event"] == "audit_counts_completed"
    assert (event["task_id"], event["task_guid"], event["report_sha256"]) == (4, "9a1b", result["report"]["sha256"])
    assert event["tables"] == {"Files": 0, "Users": 40} and event["exceeding"] == []


def test_an_unchanged_second_run_compares_with_the_first(tmp_path, capsys):
    first = run_main(audit_counts_report, args(tmp_path), capsys)
    os.utime(first["report"]["json"], None)
    second = run_main(audit_counts_report, args(tmp_path), capsys)
    assert second["_rc"] == 0 and second["comparison"]["compared"] is True
    assert second["changes"] == [] and second["previous"]["sha256"] == first["report"]["sha256"]
    assert second["report"]["json"] != first["report"]["json"]
    assert second["audit_events"][0]["previous_report_sha256"] == first["report"]["sha256"]


def test_a_decrease_beyond_the_threshold_fails_after_writing_the_report(tmp_path, capsys):
    run_main(audit_counts_report, args(tmp_path), capsys)
    result = run_main(audit_counts_report, args(tmp_path, log=log(users=39, reports_region_2=100)), capsys)
    assert result["_rc"] == 1 and result["failed"] is True
    assert result["msg"].startswith("Failed to pass the counts audit: 2 counts dropped by more than 0.5 % since "
                                    "audit-counts-production-")
    assert os.path.exists(result["report"]["markdown"])
    assert result["changes"] == [
        "Users (table): 40 -> 39 (-1, -2.5 %)",
        "ActivityReports in region 2: 130 -> 100 (-30, -23.08 %)",
        "ActivityReports region 2 / draft: 130 -> 100 (-30, -23.08 %)",
    ]
    assert "; ".join(result["changes"][:2]) in result["msg"]
    assert result["audit_events"][0]["exceeding"] == result["changes"][:2]


def test_a_decrease_within_the_threshold_or_not_failing_passes(tmp_path, capsys):
    run_main(audit_counts_report, args(tmp_path), capsys)
    result = run_main(audit_counts_report, args(tmp_path, log=log(users=39), max_decrease_percent=5), capsys)
    assert result["_rc"] == 0 and result["changes"] == ["Users (table): 40 -> 39 (-1, -2.5 %)"]
    assert result["comparison"]["decreases"] and not result["comparison"]["exceeding"]
    result = run_main(audit_counts_report, args(tmp_path, log=log(users=1), fail_on_decrease=False), capsys)
    assert result["_rc"] == 0 and len(result["comparison"]["exceeding"]) == 1


def test_check_mode_writes_nothing(tmp_path, capsys):
    result = run_main(audit_counts_report, args(tmp_path), capsys, check_mode=True)
    assert result["_rc"] == 0 and result["report"] == {} and result["changed"] is True
    assert "would have been written" in result["msg"]
    assert not (tmp_path / "reports").exists()


def test_a_log_without_the_counts_fails_with_the_last_lines(tmp_path, capsys):
    lines = [{"source": "APP/TASK/x/0", "message": "Creating container"},
             {"source": "APP/TASK/x/0", "message": "Exit status 0"}]
    result = run_main(audit_counts_report, args(tmp_path, log=lines), capsys)
    assert result["_rc"] == 1
    assert result["msg"].startswith("Failed to read the counts: the task's log has no per-table counts")
    assert result["last_lines"] == ["Creating container", "Exit status 0"]
    assert not (tmp_path / "reports").exists()
