# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The TTA Hub counts audit (``yarn db:validation``): parse its AUDIT records, compare two runs, write the report.

PRIVATE to the collection. It can have breaking changes at any time.

Pure functions apart from the report files. The script (ttadp.md §5, §9) logs, through its ``AUDIT`` logger and in no
fixed order:

- ``<Table> has <count> records, last updated at: <newest updatedAt>`` once per table (the time is a JavaScript
  ``Date`` as a template literal prints it, ``Sun Nov 01 2026 23:41:07 GMT+0000 (Coordinated Universal Time)``, or
  empty when the table is empty);
- ``Grants data counts: <JSON>`` and ``ActivityReports data counts: <JSON>``: ``JSON.stringify(rows, null, 2)`` of
  ``[{"regionId": 1, "status": "Active", "count": "12"}, ...]`` (``submissionStatus`` for ActivityReports).

Two log shapes reach ``cf logs``: one JSON object per record (pino ``{"level","time","label","message"}`` or older
winston ``{"label","level","message","timestamp"}``; the message's newlines stay escaped), or text lines
(``info: <message>``) where the log system splits a multi-line message into one log line per line, so the JSON block
has to be put back together. :func:`parse_audit_lines` accepts both, mixed, in any order; it ignores lines from
other sources (anything whose source is not a task's) and any other message.
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import json
import os
import re
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils._reports import ReportWriteError, safe_name, write_pair
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = [
    "CountsError",
    "DEFAULT_MAX_DECREASE_PERCENT",
    "REPORT_KIND",
    "compare",
    "find_previous",
    "make_report",
    "normalize_time",
    "parse_audit_lines",
    "read_report",
    "render_markdown",
    "report_basename",
    "utc_stamp",
    "write_report",
]

REPORT_KIND = "ttahub-audit-counts"
REPORT_SCHEMA = 1
DEFAULT_MAX_DECREASE_PERCENT = 0.5
BREAKDOWNS = {"Grants": ("grants", "status"), "ActivityReports": ("activity_reports", "submissionStatus")}

_TABLE_RE = re.compile(r"\b(?P<table>[A-Z][A-Za-z0-9_]*) has (?P<count>\d+) records, last updated at:[ ]?(?P<updated>.*)$")
_BREAKDOWN_RE = re.compile(r"\b(?P<model>Grants|ActivityReports) data counts:[ ]?(?P<rest>.*)$")
# a line of JSON.stringify(rows, null, 2): a bracket or brace (with a comma), or a "key": value member
_CONTINUATION_RE = re.compile(r'^\s*(?:[\[\]{}],?|\{\}|\[\],?|"(?:[^"\\]|\\.)*"\s*:\s*.*)\s*$')
_ERROR_TEXT_RE = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?:error|fatal)\b\s*:", re.IGNORECASE)
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_JS_DATE_RE = re.compile(
    r"^(?:[A-Z][a-z]{2} )?(?P<mon>[A-Z][a-z]{2}) (?P<day>\d{1,2}) (?P<year>\d{4}) "
    r"(?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2}) GMT(?P<sign>[+-])(?P<oh>\d{2})(?P<om>\d{2})"
)
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_PINO_ERROR_LEVEL = 50


class CountsError(OpsError):
    """A counts audit that cannot go on: ``Failed to <action>: <cause>. <fix>.``"""

    kind = "counts_error"


def normalize_time(text: str) -> str | None:
    """The script's ``last updated at`` value as ISO 8601 UTC to the second (``2026-11-01T23:41:07Z``); None when
    empty; raises ValueError when it is neither a JavaScript ``Date`` string nor ISO 8601."""
    text = (text or "").strip()
    if not text:
        return None
    match = _JS_DATE_RE.match(text)
    if match:
        month = _MONTHS.get(match.group("mon"))
        if month is None:
            raise ValueError(f"unknown month in {text!r}")
        offset = datetime.timedelta(hours=int(match.group("oh")), minutes=int(match.group("om")))
        local = datetime.datetime(int(match.group("year")), month, int(match.group("day")), int(match.group("h")),
                                  int(match.group("m")), int(match.group("s")))
        utc = local - offset if match.group("sign") == "+" else local + offset
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    iso = text[:-1] + "+00:00" if text.endswith("Z") else text
    parsed = datetime.datetime.fromisoformat(iso)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry_text(entry: t.Any, source_prefix: str | None) -> str | None:
    """The message of one log entry (a ``cf logs`` line dict or a plain string), or None to skip it."""
    if isinstance(entry, t.Mapping):
        source = str(entry.get("source") or "")
        if source_prefix and source and not source.startswith(source_prefix):
            return None
        message = entry.get("message")
        return None if message is None else str(message)
    if isinstance(entry, str):
        return entry
    return None


def _record(text: str) -> tuple[str, str] | None:
    """(level, message) when TEXT is one structured JSON log record, else None."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        obj = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    message = obj.get("message", obj.get("msg"))
    if not isinstance(message, str):
        return None
    label = obj.get("label")
    if label is not None and str(label).upper() != "AUDIT":
        return ("other", message)
    level = obj.get("level", "info")
    if isinstance(level, (int, float)):
        level = "error" if level >= _PINO_ERROR_LEVEL else "info"
    return (str(level).lower(), message)


class _Collector:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, t.Any]] = {}
        self.breakdowns: dict[str, list[t.Any]] = {}
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.shapes: set[str] = set()

    def table(self, match: re.Match[str]) -> None:
        name, count, raw = match.group("table"), int(match.group("count")), match.group("updated").strip()
        try:
            updated = normalize_time(raw)
        except ValueError:
            updated = None
            self.warnings.append(f"{name}: cannot read the last update time {raw!r}")
        entry = {"count": count, "last_updated": updated, "last_updated_raw": raw}
        previous = self.tables.get(name)
        if previous is not None and previous["count"] != count:
            raise CountsError("read the counts", f"the log has two different counts for {name} ({previous['count']} "
                              f"and {count})", "Run the audit again; make sure the task name is unique")
        self.tables[name] = entry

    def breakdown(self, model: str, rows: t.Any) -> None:
        if model in self.breakdowns and self.breakdowns[model] != rows:
            raise CountsError("read the counts", f"the log has two different '{model} data counts' blocks",
                              "Run the audit again; make sure the task name is unique")
        self.breakdowns[model] = rows


def parse_audit_lines(entries: t.Iterable[t.Any], *, source_prefix: str | None = "APP/TASK/") -> dict[str, t.Any]:
    """The counts in a task's log. ENTRIES are ``cf logs`` line dicts (``source``, ``message``; those whose source
    does not start with SOURCE_PREFIX are ignored) or plain message strings.

    Returns ``{"tables": {T: {count, last_updated, last_updated_raw}}, "grants": [{region, status, count}],
    "activity_reports": [{region, submission_status, count}], "regions": {R: {grants, activity_reports}},
    "log_shapes": [...], "warnings": [...]}``; raises CountsError when a record is missing or malformed.
    """
    found = _Collector()
    pending: dict[str, t.Any] | None = None  # a text-shape JSON block being put back together
    seen: list[str] = []
    for entry in entries:
        text = _entry_text(entry, source_prefix)
        if text is None:
            continue
        text = _ANSI_RE.sub("", text)
        seen.append(text)
        if pending is not None and _CONTINUATION_RE.match(text):
            pending["parts"].append(text)
            rows = _try_json("\n".join(pending["parts"]))
            if rows is not _INCOMPLETE:
                found.breakdown(pending["model"], rows)
                pending = None
            continue
        record = _record(text)
        if record is not None:
            level, message = record
            if level == "other":
                continue
            found.shapes.add("json")
            if level in ("error", "fatal"):
                found.errors.append(message)
                continue
            _message(found, message, complete=True)
            continue
        if _ERROR_TEXT_RE.match(text):
            found.errors.append(text.strip())
            continue
        started = _message(found, text, complete=False)
        if started is not None:
            if pending is not None:
                raise CountsError("read the counts", f"the '{pending['model']} data counts' JSON block ends before "
                                  "its closing bracket", "Read the task's log with `cf logs APP --recent`",
                                  last_lines=seen[-10:])
            pending = started
    if pending is not None:
        raise CountsError("read the counts", f"the '{pending['model']} data counts' JSON block ends before its closing "
                          "bracket", "Read the task's log with `cf logs APP --recent`", last_lines=seen[-10:])
    if found.errors:
        raise CountsError("read the counts", f"the counts script logged an error: {found.errors[0]}",
                          "Read the task's log with `cf logs APP --recent` and fix the cause", last_lines=seen[-10:])
    missing = []
    if not found.tables:
        missing.append("per-table counts ('<Table> has <n> records')")
    missing += [f"'{model} data counts'" for model in BREAKDOWNS if model not in found.breakdowns]
    if missing:
        raise CountsError("read the counts", f"the task's log has no {' and no '.join(missing)}",
                          "Check that the command is the counts script (yarn db:validation) and that its AUDIT logger "
                          "writes to the task's output", last_lines=seen[-10:])
    grants = _rows(found.breakdowns["Grants"], "Grants", "status")
    reports = _rows(found.breakdowns["ActivityReports"], "ActivityReports", "submissionStatus")
    return {
        "tables": dict(sorted(found.tables.items())),
        "grants": [{"region": r, "status": s, "count": c} for r, s, c in grants],
        "activity_reports": [{"region": r, "submission_status": s, "count": c} for r, s, c in reports],
        "regions": _region_totals(grants, reports),
        "log_shapes": sorted(found.shapes),
        "warnings": found.warnings,
    }


_INCOMPLETE = object()


def _try_json(text: str) -> t.Any:
    try:
        return json.loads(text)
    except ValueError:
        return _INCOMPLETE


def _message(found: _Collector, message: str, *, complete: bool) -> dict[str, t.Any] | None:
    """Take one message. Returns a pending block when a text-shape JSON block starts here."""
    head = message.split("\n", 1)[0]
    match = _TABLE_RE.search(head)
    if match:
        found.table(match)
        if not complete:
            found.shapes.add("text")
        return None
    match = _BREAKDOWN_RE.search(head)
    if not match:
        return None
    model = match.group("model")
    rest = message[match.start("rest"):]
    rows = _try_json(rest)
    if rows is not _INCOMPLETE:
        found.breakdown(model, rows)
        if not complete:
            found.shapes.add("text")
        return None
    if complete:
        raise CountsError("read the counts", f"the '{model} data counts' record does not hold valid JSON",
                          "Read the task's log with `cf logs APP --recent`")
    found.shapes.add("text")
    return {"model": model, "parts": [rest]}


def _rows(rows: t.Any, model: str, status_key: str) -> list[tuple[int | None, str | None, int]]:
    if not isinstance(rows, list):
        raise CountsError("read the counts", f"'{model} data counts' is not a JSON list", "Read the task's log")
    out: dict[tuple[int | None, str | None], int] = {}
    for row in rows:
        if not isinstance(row, dict) or "count" not in row:
            raise CountsError("read the counts", f"'{model} data counts' has a row without a count: {row!r}",
                              "Read the task's log")
        region = row.get("regionId")
        status = row.get(status_key)
        try:
            count = int(row["count"])
            region = None if region is None else int(region)
        except (TypeError, ValueError):
            raise CountsError("read the counts", f"'{model} data counts' has a row that is not a number: {row!r}",
                              "Read the task's log") from None
        key = (region, None if status is None else str(status))
        out[key] = out.get(key, 0) + count
    return sorted(((r, s, c) for (r, s), c in out.items()), key=lambda x: (_region_sort(x[0]), x[1] or ""))


def _region_sort(region: t.Any) -> tuple[int, int]:
    return (1, 0) if region is None else (0, int(region))


def _region_key(region: int | None) -> str:
    return "none" if region is None else str(region)


def _region_totals(grants: list[tuple[t.Any, t.Any, int]], reports: list[tuple[t.Any, t.Any, int]]) -> dict[str, t.Any]:
    totals: dict[t.Any, dict[str, int]] = {}
    for region, _status, count in grants:
        totals.setdefault(region, {"grants": 0, "activity_reports": 0})["grants"] += count
    for region, _status, count in reports:
        totals.setdefault(region, {"grants": 0, "activity_reports": 0})["activity_reports"] += count
    return {_region_key(r): totals[r] for r in sorted(totals, key=_region_sort)}


# --- comparing two runs -------------------------------------------------------------------------------------------

def _keyed(counts: t.Mapping[str, t.Any]) -> dict[tuple[str, str], int]:
    """Every count of a result, keyed by (kind, what)."""
    out: dict[tuple[str, str], int] = {}
    for table, info in counts.get("tables", {}).items():
        out[("table", table)] = int(info["count"])
    for row in counts.get("grants", []):
        out[("grants", f"region {_region_key(row['region'])} / {row['status']}")] = int(row["count"])
    for row in counts.get("activity_reports", []):
        out[("activity_reports", f"region {_region_key(row['region'])} / {row['submission_status']}")] = int(row["count"])
    for region, info in counts.get("regions", {}).items():
        out[("region_grants", f"region {region}")] = int(info["grants"])
        out[("region_activity_reports", f"region {region}")] = int(info["activity_reports"])
    return out


# Kinds whose decrease beyond the threshold fails the run. Per-status rows only warn: records move between statuses
# (a grant becomes Inactive, a draft report is submitted) without any being lost; the region totals catch a loss.
GATED_KINDS = ("table", "region_grants", "region_activity_reports")
KIND_LABELS = {"table": "table", "grants": "Grants", "activity_reports": "ActivityReports",
               "region_grants": "Grants in", "region_activity_reports": "ActivityReports in"}


def compare(previous: t.Mapping[str, t.Any] | None, current: t.Mapping[str, t.Any], *,
            max_decrease_percent: float = DEFAULT_MAX_DECREASE_PERCENT) -> dict[str, t.Any]:
    """The differences between two runs' counts (``parse_audit_lines`` results).

    Every count that changed is listed with ``previous``, ``current``, ``change`` and ``percent``. A decrease is
    flagged (``decrease: true``); it ``exceeds`` the threshold when it is a table's count or a region's total of
    Grants or ActivityReports and it dropped by more than MAX_DECREASE_PERCENT percent of the previous count (0: any
    drop). A table, status or region that disappeared counts as a drop to 0. A table's last update time that moved
    back is flagged too (``went_back``), without failing: deleting the newest row does that.
    """
    if max_decrease_percent < 0:
        raise CountsError("compare the counts", f"max_decrease_percent is {max_decrease_percent}", "Use 0 or more")
    if previous is None:
        return {"compared": False, "max_decrease_percent": max_decrease_percent, "differences": [],
                "decreases": [], "exceeding": [], "went_back": []}
    before, after = _keyed(previous), _keyed(current)
    differences = []
    for key in sorted(set(before) | set(after), key=lambda k: (list(KIND_LABELS).index(k[0]), _natural(k[1]))):
        kind, what = key
        old, new = before.get(key), after.get(key, 0)
        if old == new:
            continue
        old_n = old or 0
        change = new - old_n
        percent = round(100.0 * change / old_n, 2) if old_n else None
        decrease = change < 0
        exceeds = bool(decrease and kind in GATED_KINDS and -change > max_decrease_percent / 100.0 * old_n)
        differences.append({"kind": kind, "what": what, "previous": old, "current": after.get(key),
                            "change": change, "percent": percent, "decrease": decrease, "exceeds": exceeds})
    went_back = []
    for table, info in current.get("tables", {}).items():
        old_info = previous.get("tables", {}).get(table)
        if old_info and old_info.get("last_updated") and info.get("last_updated") and \
                info["last_updated"] < old_info["last_updated"]:
            went_back.append({"table": table, "previous": old_info["last_updated"], "current": info["last_updated"]})
    return {
        "compared": True,
        "max_decrease_percent": max_decrease_percent,
        "differences": differences,
        "decreases": [d for d in differences if d["decrease"]],
        "exceeding": [d for d in differences if d["exceeds"]],
        "went_back": went_back,
    }


def _natural(text: str) -> list[t.Any]:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


def describe(diff: t.Mapping[str, t.Any]) -> str:
    """One line for a difference: ``ActivityReports (table): 250 -> 200 (-50, -20.0 %)``."""
    label = {"table": f"{diff['what']} (table)", "grants": f"Grants {diff['what']}",
             "activity_reports": f"ActivityReports {diff['what']}",
             "region_grants": f"Grants in {diff['what']}",
             "region_activity_reports": f"ActivityReports in {diff['what']}"}[diff["kind"]]
    current = "gone" if diff["current"] is None else diff["current"]
    previous = "none" if diff["previous"] is None else diff["previous"]
    pct = "" if diff["percent"] is None else f", {diff['percent']:+g} %"
    return f"{label}: {previous} -> {current} ({diff['change']:+d}{pct})"


# --- the report ---------------------------------------------------------------------------------------------------

def utc_stamp(now: datetime.datetime | None = None) -> tuple[str, str]:
    """(ISO 8601 UTC time, file-name timestamp) of NOW."""
    now = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc).replace(microsecond=0)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y%m%dT%H%M%SZ")


def report_basename(environment: str, stamp: str) -> str:
    """``audit-counts-<environment>-<UTC timestamp>`` (the files add ``.json`` and ``.md``)."""
    return f"audit-counts-{safe_name(environment)}-{stamp}"


def find_previous(directory: str, environment: str) -> str | None:
    """The newest ``audit-counts-<environment>-<stamp>[-n].json`` in DIRECTORY, or None."""
    if not directory or not os.path.isdir(directory):
        return None
    pattern = re.compile(r"^audit-counts-" + re.escape(safe_name(environment)) + r"-(\d{8}T\d{6}Z)(?:-(\d+))?\.json$")
    found = []
    for name in os.listdir(directory):
        match = pattern.match(name)
        if match:
            found.append((match.group(1), int(match.group(2) or 0), name))
    return os.path.join(directory, max(found)[2]) if found else None


def read_report(path: str) -> dict[str, t.Any]:
    """A report written by :func:`write_report`, with its SHA-256 (``sha256``); CountsError when it is not one."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        report = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise CountsError("read the previous counts report", f"{path} is unreadable ({exc})",
                          "Move the broken report out of ops_reports_dir, then run the audit again") from None
    if not isinstance(report, dict) or report.get("kind") != REPORT_KIND or not isinstance(report.get("counts"), dict):
        raise CountsError("read the previous counts report", f"{path} is not an audit counts report",
                          "Move it out of ops_reports_dir, then run the audit again")
    report["sha256"] = hashlib.sha256(raw).hexdigest()
    return report


def make_report(counts: t.Mapping[str, t.Any], comparison: t.Mapping[str, t.Any], *, environment: str, created: str,
                run_id: str = "", app: str = "", command: str = "", task: t.Mapping[str, t.Any] | None = None,
                previous: t.Mapping[str, t.Any] | None = None, previous_path: str | None = None) -> dict[str, t.Any]:
    return {
        "kind": REPORT_KIND,
        "schema": REPORT_SCHEMA,
        "environment": environment,
        "created": created,
        "run_id": run_id,
        "app": app,
        "command": command,
        "task": {k: (task or {}).get(k) for k in ("guid", "id", "name", "state")},
        "counts": {k: counts[k] for k in ("tables", "grants", "activity_reports", "regions")},
        "log_shapes": list(counts.get("log_shapes", [])),
        "warnings": list(counts.get("warnings", [])),
        "previous": None if previous is None else {
            "report": os.path.basename(previous_path or ""), "created": previous.get("created"),
            "run_id": previous.get("run_id"), "sha256": previous.get("sha256")},
        "comparison": dict(comparison),
    }


def _cell(value: t.Any) -> str:
    return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")


def _change(diffs: dict[tuple[str, str], t.Mapping[str, t.Any]], kind: str, what: str) -> str:
    diff = diffs.get((kind, what))
    if diff is None:
        return ""
    flag = " **(decrease beyond the threshold)**" if diff["exceeds"] else (" (decrease)" if diff["decrease"] else "")
    return f"{diff['change']:+d}{flag}"


def _pivot(rows: list[t.Mapping[str, t.Any]], status_key: str, kind: str, diffs: dict[tuple[str, str], t.Any],
           region_kind: str) -> list[str]:
    statuses = sorted({str(r[status_key]) for r in rows})
    regions = sorted({r["region"] for r in rows}, key=_region_sort)
    table = {(r["region"], str(r[status_key])): r["count"] for r in rows}
    lines = ["| region | " + " | ".join(_cell(s) for s in statuses) + " | total | change |",
             "|---|" + "---:|" * (len(statuses) + 1) + "---|"]
    for region in regions:
        cells = [str(table.get((region, s), 0)) for s in statuses]
        total = sum(table.get((region, s), 0) for s in statuses)
        key = _region_key(region)
        changes = [_change(diffs, region_kind, f"region {key}")]
        changes += [f"{_cell(s)} {_change(diffs, kind, f'region {key} / {s}')}" for s in statuses
                    if (kind, f"region {key} / {s}") in diffs]
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {total} | " + "; ".join(c for c in changes if c) + " |")
    return lines


def render_markdown(report: t.Mapping[str, t.Any]) -> str:
    """The report for reviewers: the verdict, then the tables."""
    counts, comparison = report["counts"], report["comparison"]
    diffs = {(d["kind"], d["what"]): d for d in comparison.get("differences", [])}
    task = report.get("task") or {}
    lines = [f"# Audit counts: {report['environment']}", "",
             f"- App `{report.get('app') or '-'}`, task `{task.get('name') or '-'}` (id {task.get('id') or '-'}, "
             f"{task.get('state') or '-'}), command `{report.get('command') or '-'}`",
             f"- Made {report['created']} by run `{report.get('run_id') or '-'}`"]
    previous = report.get("previous")
    if previous:
        lines.append(f"- Compared with `{previous['report']}` (made {previous.get('created')}, SHA-256 "
                     f"`{previous.get('sha256')}`): {len(comparison['differences'])} counts changed, "
                     f"{len(comparison['decreases'])} decreased, {len(comparison['exceeding'])} beyond the threshold "
                     f"(a table or a region's total down by more than {comparison['max_decrease_percent']:g} %)")
    else:
        lines.append("- First report for this environment: nothing to compare with")
    if comparison.get("exceeding"):
        lines += ["", "## Decreases beyond the threshold", "",
                  "Records are rarely deleted in TTA Hub: a drop like these usually means data loss. Find out why "
                  "before anything else changes.", ""]
        lines += [f"- {describe(d)}" for d in comparison["exceeding"]]
    lines += ["", "## Tables", "", "| table | records | last updated (UTC) | change |", "|---|---:|---|---|"]
    for table, info in counts["tables"].items():
        lines.append(f"| {_cell(table)} | {info['count']} | {_cell(info.get('last_updated') or '(empty)')} | "
                     f"{_change(diffs, 'table', table)} |")
    lines += ["", "## Grants by region and status", ""]
    lines += _pivot(counts["grants"], "status", "grants", diffs, "region_grants")
    lines += ["", "## ActivityReports by region and submission status", ""]
    lines += _pivot(counts["activity_reports"], "submission_status", "activity_reports", diffs,
                    "region_activity_reports")
    lines += ["", "## Totals per region", "", "| region | Grants | ActivityReports |", "|---|---:|---:|"]
    for region, info in counts["regions"].items():
        lines.append(f"| {region} | {info['grants']} | {info['activity_reports']} |")
    if comparison.get("differences"):
        lines += ["", "## Every change since the previous report", ""]
        lines += [f"- {describe(d)}{' **beyond the threshold**' if d['exceeds'] else ''}"
                  for d in comparison["differences"]]
    if comparison.get("went_back"):
        lines += ["", "## Last update times that moved back", ""]
        lines += [f"- {w['table']}: {w['previous']} -> {w['current']}" for w in comparison["went_back"]]
    if report.get("warnings"):
        lines += ["", "## Warnings", ""] + [f"- {_cell(w)}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def write_report(report: t.Mapping[str, t.Any], directory: str, stamp: str) -> dict[str, str]:
    """Write ``<basename>.json`` and ``.md`` (mode 0600) into DIRECTORY, both or neither. Returns their paths and the
    JSON file's SHA-256."""
    try:
        return write_pair(directory, report_basename(str(report["environment"]), stamp), report, render_markdown(report))
    except ReportWriteError as exc:
        raise CountsError("write the audit counts report", exc.cause, exc.fix) from None
