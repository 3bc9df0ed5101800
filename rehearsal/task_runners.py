# SPDX-License-Identifier: GPL-3.0-or-later
"""Task runners: Python functions that produce a task's outcome when it ends (``"runner": NAME`` in a behaviour).

A runner gets a ``TaskContext`` and returns an ``Outcome``. It runs inside the world transaction of the cf call that
first sees the task finished, so it must be quick.

``yarn db:validation`` (ttadp.md §5, §9) is the ``db_validation`` runner. Its numbers come from a *counts source*
named by the behaviour's ``"source"`` (default ``"canned"``: ``world["datasets"][<database service>]``). To make it
query PostgreSQL, register another source with ``@counts_source("postgres")`` returning the same ``Counts`` shape
and set ``"source": "postgres"`` in the behaviour; nothing else changes.
"""
from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable
from typing import Any

from rehearsal.world import World


@dataclasses.dataclass
class TaskContext:
    world: World
    task: dict[str, Any]
    app: dict[str, Any]
    behaviour: dict[str, Any]
    now: float

    @property
    def end(self) -> float:
        seconds = self.behaviour.get("seconds") or 0
        return float(self.task["created_at"]) + float(seconds)

    def database(self) -> dict[str, Any] | None:
        """The aws-rds service instance bound to the task's app."""
        for instance in self.world["service_instances"].values():
            if instance["offering"] == "aws-rds" and self.app["guid"] in instance.get("bound_app_guids", []):
                return instance
        return None


@dataclasses.dataclass
class Outcome:
    result: str = "SUCCEEDED"
    exit_status: int = 0
    failure_reason: str | None = None
    lines: list[dict[str, str]] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


Runner = Callable[[TaskContext], Outcome]
RUNNERS: dict[str, Runner] = {}

# {"tables": {Table: {"count": int, "updated_at": str}}, "grants_counts": [...], "activity_reports_counts": [...]}
Counts = dict[str, Any]
CountsSource = Callable[[TaskContext, dict[str, Any]], Counts]
COUNT_SOURCES: dict[str, CountsSource] = {}


def runner(name: str) -> Callable[[Runner], Runner]:
    def register(fn: Runner) -> Runner:
        RUNNERS[name] = fn
        return fn
    return register


def counts_source(name: str) -> Callable[[CountsSource], CountsSource]:
    def register(fn: CountsSource) -> CountsSource:
        COUNT_SOURCES[name] = fn
        return fn
    return register


def run(name: str, world: World, task: dict[str, Any], now: float) -> dict[str, Any]:
    app = world["apps"][task["app_guid"]]
    ctx = TaskContext(world, task, app, task["behaviour"], now)
    fn = RUNNERS.get(name)
    if fn is None:
        outcome = Outcome("FAILED", 1, "Exited with status 1",
                          [{"stream": "ERR", "message": f"rehearsal: no task runner named {name!r}"}])
    else:
        try:
            outcome = fn(ctx)
        except Exception as exc:  # pylint: disable=broad-except
            outcome = Outcome("FAILED", 1, "Exited with status 1",
                              [{"stream": "ERR", "message": f"rehearsal: task runner {name!r} failed: {exc}"}])
    return outcome.as_dict()


@counts_source("canned")
def canned_counts(ctx: TaskContext, database: dict[str, Any]) -> Counts:
    dataset = ctx.world.get("datasets", {}).get(database["name"])
    if dataset is None:
        raise LookupError(f"no canned dataset for {database['name']}")
    return dataset


@counts_source("postgres")
def postgres_counts(ctx: TaskContext, database: dict[str, Any]) -> Counts:
    """The counts from the rehearsal PostgreSQL (``rehearsal.postgres``), reached as the app would: through the
    service's credentials, the host resolved by ``world["network"]["hosts"]``; psql via argv, PGPASSWORD in env."""
    from rehearsal import postgres  # pylint: disable=import-outside-toplevel

    creds = database["credentials"]
    conn = {"host": ctx.world["network"]["hosts"].get(creds["host"], creds["host"]), "port": int(creds["port"]),
            "dbname": creds["db_name"], "user": creds["username"], "password": creds["password"]}
    return postgres.counts(conn)


def configure_db_validation(home: Any = None, *, source: str | None = None, log_format: str | None = None,
                            command: str = "yarn db:validation") -> dict[str, Any]:
    """Set where ``yarn db:validation`` tasks get their numbers (``canned``/``postgres``) and how they log (``json``,
    the default, or ``text``: ``info: <message>`` with multi-line messages split into log lines). Returns the
    behaviour. ``rehearsal.postgres.start`` sets ``source: postgres``."""
    from rehearsal import world as world_mod  # pylint: disable=import-outside-toplevel

    if source is not None and source not in COUNT_SOURCES:
        raise ValueError(f"no counts source {source!r} (known: {', '.join(sorted(COUNT_SOURCES))})")
    if log_format not in (None, "json", "text"):
        raise ValueError("log_format must be json or text")
    with world_mod.transaction(home) as world:
        behaviour = world["task_behaviours"].setdefault(command, {"seconds": 1, "result": "SUCCEEDED"})
        behaviour["runner"] = "db_validation"
        if source is not None:
            behaviour["source"] = source
        if log_format is not None:
            behaviour["log_format"] = log_format
        return dict(behaviour)


def _iso_ms(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def _js_date(iso_text: str) -> str:
    """How a JS Date in a template literal prints (``Sun Nov 01 2026 23:41:07 GMT+0000 (Coordinated Universal Time)``)."""
    if not iso_text:
        return ""
    parsed = time.strptime(iso_text.split(".")[0], "%Y-%m-%dT%H:%M:%S")
    return time.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", parsed)


@runner("db_validation")
def db_validation(ctx: TaskContext) -> Outcome:
    """``yarn db:validation``: the counts audit script's AUDIT records (ttadp.md §9), in no fixed order."""
    database = ctx.database()
    if database is None:
        return Outcome("FAILED", 1, "Exited with status 1",
                       [{"stream": "ERR", "message": "SequelizeConnectionError: no database bound to the app"}])
    counts = COUNT_SOURCES[ctx.behaviour.get("source", "canned")](ctx, database)
    messages = [f"{table} has {info['count']} records, last updated at: {_js_date(info.get('updated_at', ''))}"
                for table, info in counts["tables"].items()]
    # the column order of the SELECTs (the world's JSON may have sorted the keys)
    grants = [{"regionId": r["regionId"], "status": r["status"], "count": r["count"]} for r in counts["grants_counts"]]
    reports = [{"regionId": r["regionId"], "submissionStatus": r["submissionStatus"], "count": r["count"]}
               for r in counts["activity_reports_counts"]]
    messages.append("Grants data counts: " + json.dumps(grants, indent=2))
    messages.append("ActivityReports data counts: " + json.dumps(reports, indent=2))
    random.shuffle(messages)  # the table checks run concurrently: no fixed order
    stamp = _iso_ms(ctx.end)
    if ctx.behaviour.get("log_format", "json") == "text":
        lines = [{"stream": "OUT", "message": f"info: {m}"} for m in messages]
    else:
        lines = [{"stream": "OUT", "message": json.dumps({"level": "info", "time": stamp, "label": "AUDIT",
                                                          "message": m}, separators=(",", ":"))}
                 for m in messages]
    return Outcome("SUCCEEDED", 0, None, lines)
