# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The counts audit's parser (both log shapes of ttadp.md §9), its comparison and its report files."""
from __future__ import annotations

import json
import os
import pathlib
import random

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _counts
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_log_lines
from ansible_collections.ttahub.ops.plugins.module_utils._counts import CountsError

JS = "GMT+0000 (Coordinated Universal Time)"
TABLE_MESSAGES = [
    f"ActivityReports has 250 records, last updated at: Thu Jun 11 2026 02:55:04 {JS}",
    "Files has 0 records, last updated at: ",
    f"Goals has 300 records, last updated at: Mon Jun 15 2026 13:25:00 {JS}",
    f"Grants has 5 records, last updated at: Tue Jul 14 2026 13:43:20 {JS}",
    f"Users has 40 records, last updated at: Tue Jun 30 2026 00:13:55 {JS}",
]
GRANTS = [{"regionId": 1, "status": "Active", "count": "2"}, {"regionId": 1, "status": "Inactive", "count": "1"},
          {"regionId": 12, "status": "Active", "count": "2"}]
REPORTS = [{"regionId": 1, "submissionStatus": "approved", "count": "120"},
           {"regionId": 2, "submissionStatus": "draft", "count": "100"},
           {"regionId": 2, "submissionStatus": "submitted", "count": "30"}]
MESSAGES = TABLE_MESSAGES + ["Grants data counts: " + json.dumps(GRANTS, indent=2),
                             "ActivityReports data counts: " + json.dumps(REPORTS, indent=2)]

# Recorded from `cf logs APP --recent` (rehearsal emulator, cf v8 line format): the pino JSON shape ...
RECORDED_JSON = (pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "counts" / "recorded_json.log").read_text(
    encoding="utf-8"
)
# ... and the text shape, where the log system split the multi-line message into log lines.
RECORDED_TEXT = """\
   2026-11-28T01:36:31.65+0000 [APP/TASK/ac2/0] OUT Creating container
   2026-11-28T01:36:31.75+0000 [APP/TASK/ac2/0] OUT info: Grants data counts: [
   2026-11-28T01:36:31.75+0000 [APP/TASK/ac2/0] OUT   {
   2026-11-28T01:36:31.75+0000 [APP/TASK/ac2/0] OUT     "regionId": 1,
   2026-11-28T01:36:31.75+0000 [APP/TASK/ac2/0] OUT     "status": "Active",
   2026-11-28T01:36:31.75+0000 [APP/TASK/ac2/0] OUT     "count": "12"
   2026-11-28T01:36:31.75+0000 [APP/TASK/ac2/0] OUT   }
   2026-11-28T01:36:31.75+0000 [APP/TASK/ac2/0] OUT ]
   2026-11-28T01:36:31.80+0000 [APP/TASK/ac2/0] OUT info: Files has 120 records, last updated at: Fri May 15 2026 02:51:45 GMT+0000 (Coordinated Universal Time)
   2026-11-28T01:36:31.85+0000 [APP/TASK/ac2/0] OUT info: Goals has 300 records, last updated at: Mon Jun 15 2026 13:25:00 GMT+0000 (Coordinated Universal Time)
   2026-11-28T01:36:31.90+0000 [APP/TASK/ac2/0] OUT info: ActivityReports data counts: [
   2026-11-28T01:36:31.90+0000 [APP/TASK/ac2/0] OUT   {
   2026-11-28T01:36:31.90+0000 [APP/TASK/ac2/0] OUT     "regionId": 3,
   2026-11-28T01:36:31.90+0000 [APP/TASK/ac2/0] OUT     "submissionStatus": "draft",
   2026-11-28T01:36:31.90+0000 [APP/TASK/ac2/0] OUT     "count": "11"
   2026-11-28T01:36:31.90+0000 [APP/TASK/ac2/0] OUT   }
   2026-11-28T01:36:31.90+0000 [APP/TASK/ac2/0] OUT ]
   2026-11-28T01:36:32.55+0000 [APP/TASK/ac2/0] OUT Exit status 0
"""


def json_lines(messages, *, winston=False):
    out = []
    for message in messages:
        if winston:
            record = {"label": "AUDIT", "level": "info", "message": message, "timestamp": "2026-11-02T14:03:11.123Z"}
        else:
            record = {"level": "info", "time": "2026-11-02T14:03:11.123Z", "label": "AUDIT", "message": message}
        out.append({"source": "APP/TASK/audit-counts-1/0", "stream": "OUT",
                    "message": json.dumps(record, separators=(",", ":"))})
    return out


def text_lines(messages):
    """The text shape: one log line per line of each message, each repeating the source."""
    return [{"source": "APP/TASK/audit-counts-1/0", "stream": "OUT", "message": line}
            for message in messages for line in f"info: {message}".split("\n")]


def expected_counts():
    return {
        "tables": {
            "ActivityReports": {"count": 250, "last_updated": "2026-06-11T02:55:04Z",
                                "last_updated_raw": f"Thu Jun 11 2026 02:55:04 {JS}"},
            "Files": {"count": 0, "last_updated": None, "last_updated_raw": ""},
            "Goals": {"count": 300, "last_updated": "2026-06-15T13:25:00Z",
                      "last_updated_raw": f"Mon Jun 15 2026 13:25:00 {JS}"},
            "Grants": {"count": 5, "last_updated": "2026-07-14T13:43:20Z",
                       "last_updated_raw": f"Tue Jul 14 2026 13:43:20 {JS}"},
            "Users": {"count": 40, "last_updated": "2026-06-30T00:13:55Z",
                      "last_updated_raw": f"Tue Jun 30 2026 00:13:55 {JS}"},
        },
        "grants": [{"region": 1, "status": "Active", "count": 2}, {"region": 1, "status": "Inactive", "count": 1},
                   {"region": 12, "status": "Active", "count": 2}],
        "activity_reports": [{"region": 1, "submission_status": "approved", "count": 120},
                             {"region": 2, "submission_status": "draft", "count": 100},
                             {"region": 2, "submission_status": "submitted", "count": 30}],
        "regions": {"1": {"grants": 3, "activity_reports": 120}, "2": {"grants": 0, "activity_reports": 130},
                    "12": {"grants": 2, "activity_reports": 0}},
    }


def core(result):
    return {k: result[k] for k in ("tables", "grants", "activity_reports", "regions")}


@pytest.mark.parametrize("shape", ["pino", "winston", "text"])
def test_both_shapes_give_the_same_counts_in_any_order(shape):
    rng = random.Random(7)
    for _round in range(5):
        messages = list(MESSAGES)
        rng.shuffle(messages)
        entries = text_lines(messages) if shape == "text" else json_lines(messages, winston=shape == "winston")
        result = _counts.parse_audit_lines(entries)
        assert core(result) == expected_counts()
        assert result["log_shapes"] == ["text" if shape == "text" else "json"]
        assert list(result["regions"]) == ["1", "2", "12"]


def test_recorded_cf_logs_in_both_shapes():
    from_json = _counts.parse_audit_lines(parse_log_lines(RECORDED_JSON))
    from_text = _counts.parse_audit_lines(parse_log_lines(RECORDED_TEXT))
    assert core(from_json) == core(from_text)
    # the web process's line (another source) and the router's line are ignored
    assert from_json["tables"]["Files"]["count"] == 120
    assert from_json["grants"] == [{"region": 1, "status": "Active", "count": 12}]
    assert from_json["activity_reports"] == [{"region": 3, "submission_status": "draft", "count": 11}]
    assert from_json["regions"] == {"1": {"grants": 12, "activity_reports": 0}, "3": {"grants": 0, "activity_reports": 11}}


def test_a_split_json_block_with_other_sources_and_messages_interleaved():
    entries = text_lines(MESSAGES)
    noisy = []
    for i, entry in enumerate(entries):
        noisy.append(entry)
        noisy.append({"source": "APP/PROC/WEB/0", "stream": "OUT", "message": f"GET /api/health {i} ["})
        noisy.append({"source": "RTR/1", "stream": "OUT", "message": '  "count": "999"'})
        if entry["message"].strip() == "{":
            # the script's own unrelated output between two lines of the block
            noisy.append({"source": "APP/TASK/audit-counts-1/0", "stream": "OUT",
                          "message": "info: Users has 40 records, last updated at: "
                                     f"Tue Jun 30 2026 00:13:55 {JS}"})
    assert core(_counts.parse_audit_lines(noisy)) == expected_counts()


def test_plain_strings_and_colours_are_accepted():
    coloured = [line for m in MESSAGES for line in f"\x1b[32minfo\x1b[39m: {m}".split("\n")]
    assert core(_counts.parse_audit_lines(coloured)) == expected_counts()
    plain_json = [entry["message"] for entry in json_lines(MESSAGES)]
    assert core(_counts.parse_audit_lines(plain_json)) == expected_counts()


def test_an_empty_table_and_an_empty_breakdown():
    messages = ["Files has 0 records, last updated at: ", "Grants data counts: []", "ActivityReports data counts: []"]
    for entries in (json_lines(messages), text_lines(messages)):
        result = _counts.parse_audit_lines(entries)
        assert result["tables"] == {"Files": {"count": 0, "last_updated": None, "last_updated_raw": ""}}
        assert (result["grants"], result["activity_reports"], result["regions"]) == ([], [], {})


def test_rows_without_a_region_or_status_and_numbers_as_numbers():
    rows = [{"regionId": None, "status": None, "count": 3}, {"regionId": "4", "status": "Active", "count": "2"}]
    messages = ["Users has 1 records, last updated at: ", "Grants data counts: " + json.dumps(rows),
                "ActivityReports data counts: []"]
    result = _counts.parse_audit_lines(json_lines(messages))
    assert result["grants"] == [{"region": 4, "status": "Active", "count": 2},
                                {"region": None, "status": None, "count": 3}]
    assert result["regions"] == {"4": {"grants": 2, "activity_reports": 0}, "none": {"grants": 3, "activity_reports": 0}}


def test_missing_records_fail_naming_what_is_missing_with_the_last_lines():
    entries = json_lines(TABLE_MESSAGES[:2])
    with pytest.raises(CountsError) as err:
        _counts.parse_audit_lines(entries)
    assert err.value.message == (
        "Failed to read the counts: the task's log has no 'Grants data counts' and no 'ActivityReports data counts'. "
        "Check that the command is the counts script (yarn db:validation) and that its AUDIT logger writes to the "
        "task's output.")
    assert len(err.value.details()["last_lines"]) == 2
    with pytest.raises(CountsError, match="no per-table counts"):
        _counts.parse_audit_lines(json_lines(MESSAGES[-2:]))


def test_a_json_block_cut_short_fails():
    entries = text_lines(MESSAGES)[:-2]
    with pytest.raises(CountsError, match="'ActivityReports data counts' JSON block ends before its closing bracket"):
        _counts.parse_audit_lines(entries)
    with pytest.raises(CountsError, match="does not hold valid JSON"):
        _counts.parse_audit_lines(json_lines(["Grants data counts: [{", *MESSAGES]))


def test_an_error_record_fails_with_its_message():
    entries = json_lines(MESSAGES)
    entries.append({"source": "APP/TASK/x/0", "message": json.dumps(
        {"level": "error", "label": "AUDIT", "message": "SequelizeConnectionError: connect ECONNREFUSED"})})
    with pytest.raises(CountsError, match="logged an error: SequelizeConnectionError: connect ECONNREFUSED"):
        _counts.parse_audit_lines(entries)
    with pytest.raises(CountsError, match="logged an error: error: boom"):
        _counts.parse_audit_lines(text_lines(MESSAGES) + [{"source": "APP/TASK/x/0", "message": "error: boom"}])
    pino = json_lines(MESSAGES) + [{"source": "APP/TASK/x/0", "message": '{"level":50,"message":"fatal thing"}'}]
    with pytest.raises(CountsError, match="fatal thing"):
        _counts.parse_audit_lines(pino)


def test_other_loggers_and_conflicting_duplicates():
    other = {"source": "APP/TASK/x/0", "message": json.dumps({"label": "WEB", "level": "error", "message": "x has 1 records"})}
    assert core(_counts.parse_audit_lines(json_lines(MESSAGES) + [other])) == expected_counts()
    assert core(_counts.parse_audit_lines(json_lines(MESSAGES) + json_lines(MESSAGES))) == expected_counts()
    with pytest.raises(CountsError, match="two different counts for Users"):
        _counts.parse_audit_lines(json_lines(MESSAGES + ["Users has 41 records, last updated at: "]))


def test_normalize_time():
    assert _counts.normalize_time(f"Sun Nov 01 2026 23:41:07 {JS}") == "2026-11-01T23:41:07Z"
    assert _counts.normalize_time("Mon Nov 02 2026 00:41:07 GMT+0100 (Central European Standard Time)") == \
        "2026-11-01T23:41:07Z"
    assert _counts.normalize_time("Sun Nov 01 2026 18:41:07 GMT-0500 (Eastern Standard Time)") == "2026-11-01T23:41:07Z"
    assert _counts.normalize_time("2026-11-01T23:41:07.123Z") == "2026-11-01T23:41:07Z"
    assert _counts.normalize_time("") is None
    with pytest.raises(ValueError):
        _counts.normalize_time("yesterday")
    result = _counts.parse_audit_lines(json_lines(MESSAGES[1:] + ["ActivityReports has 1 records, last updated at: soon"]))
    assert result["tables"]["ActivityReports"]["last_updated"] is None
    assert result["warnings"] == ["ActivityReports: cannot read the last update time 'soon'"]


# --- comparison ----------------------------------------------------------------------------------------------------

def counts(**changes):
    base = _counts.parse_audit_lines(json_lines(MESSAGES))
    for key, value in changes.items():
        base[key] = value
    return base


def test_first_run_and_unchanged_runs_have_no_differences():
    assert _counts.compare(None, counts())["compared"] is False
    same = _counts.compare(counts(), counts())
    assert same["compared"] is True and same["differences"] == [] and same["exceeding"] == []


def test_decreases_are_flagged_and_only_table_and_region_totals_beyond_the_threshold_fail():
    previous = counts()
    later = json_lines(
        [f"ActivityReports has 249 records, last updated at: Thu Jun 11 2026 02:55:04 {JS}", *TABLE_MESSAGES[1:3],
         f"Grants has 5 records, last updated at: Tue Jul 14 2026 13:43:20 {JS}",
         f"Users has 30 records, last updated at: Tue Jun 30 2026 00:13:55 {JS}",
         # a grant moved from Active to Inactive: a per-status decrease, no loss
         "Grants data counts: " + json.dumps([{"regionId": 1, "status": "Active", "count": "1"},
                                              {"regionId": 1, "status": "Inactive", "count": "2"},
                                              {"regionId": 12, "status": "Active", "count": "2"}]),
         "ActivityReports data counts: " + json.dumps([{"regionId": 1, "submissionStatus": "approved", "count": "119"},
                                                       {"regionId": 2, "submissionStatus": "draft", "count": "100"},
                                                       {"regionId": 2, "submissionStatus": "submitted", "count": "30"}])])
    result = _counts.compare(previous, _counts.parse_audit_lines(later), max_decrease_percent=0.5)
    described = {_counts.describe(d): d["exceeds"] for d in result["differences"]}
    assert described == {
        "ActivityReports (table): 250 -> 249 (-1, -0.4 %)": False,   # under 0.5 %
        "Users (table): 40 -> 30 (-10, -25 %)": True,
        "Grants region 1 / Active: 2 -> 1 (-1, -50 %)": False,        # moved between statuses
        "Grants region 1 / Inactive: 1 -> 2 (+1, +100 %)": False,
        "ActivityReports region 1 / approved: 120 -> 119 (-1, -0.83 %)": False,
        "ActivityReports in region 1: 120 -> 119 (-1, -0.83 %)": True,
    }
    assert [d["what"] for d in result["decreases"]] == ["ActivityReports", "Users", "region 1 / Active",
                                                        "region 1 / approved", "region 1"]
    strict = _counts.compare(previous, _counts.parse_audit_lines(later), max_decrease_percent=0)
    assert {d["what"] for d in strict["exceeding"]} == {"ActivityReports", "Users", "region 1"}
    loose = _counts.compare(previous, _counts.parse_audit_lines(later), max_decrease_percent=30)
    assert loose["exceeding"] == [] and len(loose["decreases"]) == 5


def test_a_vanished_table_or_region_is_a_drop_to_zero_and_times_going_back_are_flagged():
    previous = counts()
    tables = {k: v for k, v in previous["tables"].items() if k != "Goals"}
    tables["Users"] = dict(tables["Users"], last_updated="2026-06-29T00:00:00Z")
    current = counts(tables=tables, regions={k: v for k, v in previous["regions"].items() if k != "12"})
    result = _counts.compare(previous, current)
    exceeding = {(d["kind"], d["what"]): (d["previous"], d["current"]) for d in result["exceeding"]}
    assert exceeding == {("table", "Goals"): (300, None), ("region_grants", "region 12"): (2, None)}
    assert result["went_back"] == [{"table": "Users", "previous": "2026-06-30T00:13:55Z",
                                    "current": "2026-06-29T00:00:00Z"}]
    with pytest.raises(CountsError, match="max_decrease_percent is -1"):
        _counts.compare(previous, current, max_decrease_percent=-1)


# --- report files --------------------------------------------------------------------------------------------------

def test_reports_are_written_found_and_read_back(tmp_path):
    directory = str(tmp_path / "reports")
    assert _counts.find_previous(directory, "production") is None
    first = _counts.make_report(counts(), _counts.compare(None, counts()), environment="production",
                                created="2026-11-28T14:00:00Z", app="tta-smarthub-prod", command="yarn db:validation",
                                task={"id": 3, "guid": "g", "name": "audit-counts-x", "state": "SUCCEEDED"})
    written = _counts.write_report(first, directory, "20261128T140000Z")
    assert os.path.basename(written["json"]) == "audit-counts-production-20261128T140000Z.json"
    assert oct(os.stat(written["json"]).st_mode & 0o777) == "0o600" and os.path.exists(written["markdown"])
    again = _counts.write_report(first, directory, "20261128T140000Z")
    assert again["json"].endswith("-20261128T140000Z-1.json")
    _counts.write_report(dict(first, environment="staging"), directory, "20261129T000000Z")
    assert _counts.find_previous(directory, "production") == again["json"]
    back = _counts.read_report(written["json"])
    assert back["sha256"] == written["sha256"] and back["counts"] == core(counts())
    markdown = open(written["markdown"], encoding="utf-8").read()
    assert "| Files | 0 | (empty) |  |" in markdown
    assert "| region | Active | Inactive | total | change |" in markdown
    assert "First report for this environment" in markdown


def test_a_broken_previous_report_stops_the_comparison(tmp_path):
    bad = tmp_path / "audit-counts-production-20261128T140000Z.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CountsError, match="Failed to read the previous counts report: .* is unreadable"):
        _counts.read_report(str(bad))
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(CountsError, match="is not an audit counts report"):
        _counts.read_report(str(bad))


def test_markdown_shows_the_decreases_beyond_the_threshold_first():
    previous = counts()
    current = counts(tables=dict(previous["tables"], Users={"count": 1, "last_updated": None, "last_updated_raw": ""}))
    comparison = _counts.compare(previous, current)
    report = _counts.make_report(current, comparison, environment="rehearsal", created="t",
                                 previous=dict(previous, created="p", sha256="abc"), previous_path="/r/old.json")
    text = _counts.render_markdown(report)
    assert text.index("## Decreases beyond the threshold") < text.index("## Tables")
    assert "- Users (table): 40 -> 1 (-39, -97.5 %)" in text
    assert "| Users | 1 | (empty) | -39 **(decrease beyond the threshold)** |" in text
    assert "Compared with `old.json` (made p, SHA-256 `abc`)" in text
