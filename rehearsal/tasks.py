# SPDX-License-Identifier: GPL-3.0-or-later
"""Tasks without a daemon: a task's state is computed from its creation time and the behaviour frozen into it.

A behaviour (``world["task_behaviours"][command]``, exact command or glob, else ``DEFAULT_BEHAVIOUR``)::

    {"seconds": 1, "result": "SUCCEEDED" | "FAILED", "failure_reason": "...", "exit_status": 1,
     "log": ["line", {"stream": "ERR", "message": "line"}], "runner": "db_validation"}

``seconds: null`` never finishes. A ``runner`` (``rehearsal.task_runners``) computes the result and the log lines
once, when the task ends; they are then stored in the task (``outcome``).
"""
from __future__ import annotations

from typing import Any

from rehearsal.world import World, new_guid, token_hex

DEFAULT_BEHAVIOUR: dict[str, Any] = {"seconds": 1.0, "result": "SUCCEEDED"}
CANCEL_SECONDS = 0.5
CANCELLED_REASON = "task was cancelled"


def behaviour_for(world: World, command: str) -> dict[str, Any]:
    behaviours = world.get("task_behaviours", {})
    if command in behaviours:
        return dict(behaviours[command])
    import fnmatch  # pylint: disable=import-outside-toplevel

    for pattern, behaviour in behaviours.items():
        if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(command, pattern):
            return dict(behaviour)
    return dict(DEFAULT_BEHAVIOUR)


def create(world: World, app: dict[str, Any], *, command: str, user_guid: str, name: str | None = None,
           memory_in_mb: int | None = None, disk_in_mb: int | None = None, log_rate_limit: int | None = None,
           created_at: float) -> dict[str, Any]:
    app["task_seq"] = int(app.get("task_seq", 0)) + 1
    task = {
        "guid": new_guid(), "sequence_id": app["task_seq"], "name": name or token_hex(4),
        "command": command, "app_guid": app["guid"], "user_guid": user_guid,
        "memory_in_mb": memory_in_mb or 1024, "disk_in_mb": disk_in_mb or 1024,
        "log_rate_limit_in_bytes_per_second": log_rate_limit if log_rate_limit is not None else -1,
        "droplet_guid": app.get("droplet_guid"), "created_at": created_at, "updated_at": created_at,
        "behaviour": behaviour_for(world, command), "canceled_at": None, "outcome": None,
    }
    world["tasks"][task["guid"]] = task
    return task


def end_time(task: dict[str, Any]) -> float | None:
    seconds = task["behaviour"].get("seconds")
    return None if seconds is None else task["created_at"] + float(seconds)


def _outcome(world: World, task: dict[str, Any], now: float) -> dict[str, Any]:
    """The finished task's result and program output, computed once (a runner may look at the world)."""
    if task.get("outcome") is None:
        behaviour = task["behaviour"]
        runner_name = behaviour.get("runner")
        if runner_name:
            from rehearsal import task_runners  # pylint: disable=import-outside-toplevel

            outcome = task_runners.run(runner_name, world, task, now)
        else:
            result = behaviour.get("result", "SUCCEEDED")
            exit_status = int(behaviour.get("exit_status", 0 if result == "SUCCEEDED" else 1))
            outcome = {"result": result, "exit_status": exit_status,
                       "failure_reason": behaviour.get("failure_reason") or (
                           None if result == "SUCCEEDED" else f"Exited with status {exit_status}"),
                       "lines": [_line(item) for item in behaviour.get("log", [])]}
        task["outcome"] = outcome
        task["updated_at"] = end_time(task)
    return task["outcome"]


def _line(item: Any) -> dict[str, str]:
    if isinstance(item, dict):
        return {"stream": item.get("stream", "OUT"), "message": str(item.get("message", ""))}
    return {"stream": "OUT", "message": str(item)}


def state(world: World, task: dict[str, Any], now: float) -> tuple[str, str | None]:
    """(state, failure_reason) at NOW: RUNNING, CANCELING, SUCCEEDED or FAILED."""
    canceled = task.get("canceled_at")
    if canceled is not None:
        if now < canceled + CANCEL_SECONDS:
            return "CANCELING", None
        return "FAILED", CANCELLED_REASON
    end = end_time(task)
    if end is None or now < end:
        return "RUNNING", None
    outcome = _outcome(world, task, now)
    return outcome["result"], outcome["failure_reason"]


def updated_at(world: World, task: dict[str, Any], now: float) -> float:
    current, _ = state(world, task, now)
    if current == "CANCELING":
        return task["canceled_at"]
    if current == "FAILED" and task.get("canceled_at") is not None:
        return task["canceled_at"] + CANCEL_SECONDS
    if current in ("SUCCEEDED", "FAILED"):
        return end_time(task) or task["created_at"]
    return task["created_at"]


def cancel(world: World, task: dict[str, Any], now: float) -> str | None:
    """Cancel a running task; returns CC's 422 text when it cannot be canceled."""
    current, _ = state(world, task, now)
    if current in ("SUCCEEDED", "FAILED"):
        return f"Task state is {current} and therefore cannot be canceled"
    if task.get("canceled_at") is None:
        task["canceled_at"] = now
    return None


def log_lines(world: World, task: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The task's log lines up to NOW (source ``APP/TASK/<name>/0``)."""
    source = f"APP/TASK/{task['name']}/0"
    t0 = task["created_at"]
    end = end_time(task)
    canceled = task.get("canceled_at")
    lines: list[tuple[float, str, str]] = [(t0, "OUT", "Creating container"),
                                           (t0 + 0.05, "OUT", "Successfully created container")]
    current, _ = state(world, task, now)
    if canceled is not None:
        lines += [(canceled, "OUT", "Destroying container"),
                  (canceled + CANCEL_SECONDS, "OUT", "Successfully destroyed container")]
    elif end is None:
        lines += [(t0 + 0.1 + 0.1 * i, item["stream"], item["message"])
                  for i, item in enumerate(_line(x) for x in task["behaviour"].get("log", []))]
    elif current in ("SUCCEEDED", "FAILED"):
        outcome = _outcome(world, task, now)
        program = outcome["lines"]
        span = max(end - t0 - 0.15, 0.0)
        for i, item in enumerate(program):
            lines.append((t0 + 0.1 + span * i / max(len(program), 1), item["stream"], item["message"]))
        lines += [(end - 0.03 if end - t0 > 0.1 else end, "OUT", f"Exit status {outcome['exit_status']}"),
                  (end - 0.02 if end - t0 > 0.1 else end, "OUT", "Destroying container"),
                  (end - 0.01 if end - t0 > 0.1 else end, "OUT", "Successfully destroyed container")]
    return [{"ts": ts, "source": source, "stream": stream, "message": message}
            for ts, stream, message in lines if ts <= now]
