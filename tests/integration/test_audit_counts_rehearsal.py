# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""audit_counts.yml end to end on the rehearsal: the emulator's `yarn db:validation` counts in the rehearsal
PostgreSQL, the report's numbers equal SQL counts, both log shapes agree, and deleted records fail the next run."""

from __future__ import annotations

import hashlib
import json
import re
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from rehearsal import postgres, task_runners
from rehearsal import world as world_mod
from tests.support.playbooks import Rehearsal

PLAYBOOK = "playbooks/audit_counts.yml"
FAST = ("-e", "audit_counts_poll_interval=0.2")
pytestmark = pytest.mark.slow


@pytest.fixture
def rh(tmp_path):
    rehearsal = Rehearsal(tmp_path)
    rehearsal.operator_login()
    return rehearsal


def reports(rh: Rehearsal) -> list:
    return sorted((rh.home / "ops" / "reports").glob("audit-counts-rehearsal-*.json"))


def sql_counts(conn: dict) -> dict:
    """What the report must say, straight from SQL (not through the emulator or rehearsal.postgres.counts)."""
    tables = {}
    for table in postgres.TABLES:
        (line,) = postgres.query(conn, f'SELECT count(*), COALESCE(to_char(max("updatedAt") AT TIME ZONE \'UTC\', '
                                       f'\'YYYY-MM-DD"T"HH24:MI:SS"Z"\'), \'\') FROM "{table}"')
        count, updated = line.split("|")
        tables[table] = {"count": int(count), "last_updated": updated or None}
    grants = [dict(zip(("region", "status", "count"), line.split("|")))
              for line in postgres.query(conn, 'SELECT "regionId", status, count(*) FROM "Grants" GROUP BY 1, 2')]
    reports_ = [dict(zip(("region", "submission_status", "count"), line.split("|"))) for line in postgres.query(
        conn, 'SELECT "regionId", "submissionStatus", count(*) FROM "ActivityReports" GROUP BY 1, 2')]
    regions: dict = {}
    for row in grants:
        regions.setdefault(row["region"], {"grants": 0, "activity_reports": 0})["grants"] += int(row["count"])
    for row in reports_:
        regions.setdefault(row["region"], {"grants": 0, "activity_reports": 0})["activity_reports"] += int(row["count"])
    return {
        "tables": tables,
        "grants": sorted((int(r["region"]), r["status"], int(r["count"])) for r in grants),
        "activity_reports": sorted((int(r["region"]), r["submission_status"], int(r["count"])) for r in reports_),
        "regions": regions,
    }


def report_counts(report: dict) -> dict:
    counts = report["counts"]
    return {
        "tables": {t: {"count": i["count"], "last_updated": i["last_updated"]} for t, i in counts["tables"].items()},
        "grants": sorted((r["region"], r["status"], r["count"]) for r in counts["grants"]),
        "activity_reports": sorted((r["region"], r["submission_status"], r["count"]) for r in counts["activity_reports"]),
        "regions": counts["regions"],
    }


def test_counts_equal_sql_in_both_log_shapes_and_deleted_records_fail_the_next_run(rh, capsys):
    try:
        postgres.seed(rh.home, services=["ttahub-prod"])
        conn = postgres.connection(rh.home)

        started = time.monotonic()
        first = rh.playbook(PLAYBOOK, *FAST)
        first_s = time.monotonic() - started
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
        (path1,) = reports(rh)
        report1 = json.loads(path1.read_text(encoding="utf-8"))
        assert report1["log_shapes"] == ["json"] and report1["previous"] is None
        assert report_counts(report1) == sql_counts(conn)
        assert re.fullmatch(r"audit-counts-\d{8}T\d{6}Z", report1["task"]["name"])
        assert "First report for this environment" in path1.with_suffix(".md").read_text(encoding="utf-8")

        task_runners.configure_db_validation(rh.home, log_format="text")
        second = rh.playbook(PLAYBOOK, *FAST)
        assert second.returncode == 0, second.stdout[-3000:]
        path2 = reports(rh)[-1]
        report2 = json.loads(path2.read_text(encoding="utf-8"))
        assert report2["log_shapes"] == ["text"]
        assert report_counts(report2) == report_counts(report1)
        assert report2["comparison"]["compared"] is True and report2["comparison"]["differences"] == []
        assert report2["previous"]["sha256"] == hashlib.sha256(path1.read_bytes()).hexdigest()

        # Records lost between two runs: every report of region 5 (and their next steps).
        postgres.query(conn, 'DELETE FROM "NextSteps" WHERE "activityReportId" IN '
                             '(SELECT id FROM "ActivityReports" WHERE "regionId" = 5); '
                             'DELETE FROM "ActivityReports" WHERE "regionId" = 5')
        third = rh.playbook(PLAYBOOK, *FAST)
        assert third.returncode != 0
        assert "Failed to pass the counts audit: " in third.stdout
        assert "ActivityReports in region 5: " in third.stdout and "-> 0 (" in third.stdout
        path3 = reports(rh)[-1]
        report3 = json.loads(path3.read_text(encoding="utf-8"))
        assert report_counts(report3) == sql_counts(conn)
        exceeding = {(d["kind"], d["what"]) for d in report3["comparison"]["exceeding"]}
        assert {("table", "ActivityReports"), ("region_activity_reports", "region 5")} <= exceeding
        assert "## Decreases beyond the threshold" in path3.with_suffix(".md").read_text(encoding="utf-8")

        # Evidence: one audit_counts_completed per run, with the task id and the report's SHA-256; the chain verifies.
        assert _audit.verify(str(rh.audit_log)).ok
        events = [r for r in rh.audit_records() if r["event"] == "audit_counts_completed"]
        assert [e["report_sha256"] for e in events] == [hashlib.sha256(p.read_bytes()).hexdigest()
                                                        for p in (path1, path2, path3)]
        assert [e["task_id"] for e in events] == [1, 2, 3] and events[-1]["cf_user"] == "operator@rehearsal.gov"
        assert events[-1]["exceeding"] and events[0]["exceeding"] == []
        with capsys.disabled():
            print(f"\n[figures] audit_counts: first run {first_s:.1f} s, "
                  f"{sum(i['count'] for i in report1['counts']['tables'].values())} records in "
                  f"{len(report1['counts']['tables'])} tables, {len(report3['comparison']['differences'])} "
                  "counts changed after the deletion")
    finally:
        postgres.destroy(rh.home)


def test_a_failed_task_and_a_task_that_never_finishes(rh):
    world_mod.set_task_behaviour(rh.home, "yarn db:validation:broken", seconds=0.5, result="FAILED",
                                 log=["Connecting to the database", {"stream": "ERR", "message": "SequelizeConnectionError: "
                                                                     "connect ECONNREFUSED 10.0.0.1:5432"}])
    failed = rh.playbook(PLAYBOOK, *FAST, "-e", "audit_counts_command='yarn db:validation:broken'")
    assert failed.returncode != 0
    assert re.search(r"Failed to run task audit-counts-\d{8}T\d{6}Z on app tta-smarthub-prod: the task ended FAILED "
                     r"\(Exited with status 1\)\. Last lines: .*SequelizeConnectionError: connect ECONNREFUSED",
                     failed.stdout), failed.stdout[-3000:]
    assert reports(rh) == []

    world_mod.set_task_behaviour(rh.home, "yarn db:validation:hang", seconds=None)
    started = time.monotonic()
    hung = rh.playbook(PLAYBOOK, *FAST, "-e", "audit_counts_command='yarn db:validation:hang'",
                       "-e", "audit_counts_timeout=2")
    assert time.monotonic() - started < 60
    assert hung.returncode != 0
    assert "the task was still RUNNING after 2 s and was terminated" in hung.stdout, hung.stdout[-3000:]
    (task,) = [t for t in world_mod.load(rh.home)["tasks"].values() if t["command"] == "yarn db:validation:hang"]
    assert task["canceled_at"] is not None
    assert reports(rh) == []
    assert not list((rh.tmp / "runtime").glob("ttahub-ops-cf-*")), "the cf session must be removed"
