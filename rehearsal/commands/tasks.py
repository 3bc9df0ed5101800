# SPDX-License-Identifier: GPL-3.0-or-later
"""run-task, tasks, terminate-task, logs (cf-cli.md §3.11)."""
from __future__ import annotations

import signal
import time
from types import FrameType

from rehearsal import tasks as tasks_mod
from rehearsal import world as world_mod
from rehearsal.commands.base import Args, Context, Flag, command
from rehearsal.ui import CfError, FlagError, UsageCfError, table

RUN_TASK_USAGE = (
    "CF_NAME run-task APP_NAME [--command COMMAND] [-k DISK] [-m MEMORY] [-l LOG_RATE_LIMIT] [--name TASK_NAME] "
    "[--process PROCESS_TYPE]\n\nTIP:\n   Use 'cf logs' to display the logs of the app and all its tasks. If your task "
    "name is unique, grep this command's output for the task name to view task-specific logs.\n\nEXAMPLES:\n"
    "   CF_NAME run-task my-app --command \"bundle exec rake db:migrate\" --name migrate\n\n"
    "   CF_NAME run-task my-app --process batch_job\n\n   CF_NAME run-task my-app")


def _megabytes(flag: str, value: str | None) -> int | None:
    import re  # pylint: disable=import-outside-toplevel

    if value is None:
        return None
    match = re.fullmatch(r"(\d+)\s*([MG])B?", value.strip().upper())
    if not match:
        raise FlagError(f"invalid argument for flag `-{flag}' (expected flag.Megabytes)")
    return int(match.group(1)) * (1024 if match.group(2) == "G" else 1)


def _bytes(value: str | None) -> int | None:
    import re  # pylint: disable=import-outside-toplevel

    if value is None:
        return None
    if value.strip() == "-1":
        return -1
    match = re.fullmatch(r"(\d+)\s*([BKMG])B?", value.strip().upper())
    if not match:
        raise FlagError("invalid argument for flag `-l' (expected flag.BytesWithUnlimited)")
    return int(match.group(1)) * {"B": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[match.group(2)]


@command("run-task", description="Run a one-off task on an app", usage=RUN_TASK_USAGE, alias="rt",
         args=("APP_NAME",),
         flags=(Flag("command", "c", value=True, help="The command to execute"),
                Flag(short="k", value=True, help="Disk limit (e.g. 256M, 1024M, 1G)"),
                Flag(short="l", value=True, help="Log rate limit per second, in bytes (e.g. 128B, 4K, 1M). "
                                                 "-l=-1 represents unlimited"),
                Flag(short="m", value=True, help="Memory limit (e.g. 256M, 1024M, 1G)"),
                Flag("name", value=True, help="Name to give the task (generated if omitted)"),
                Flag("process", value=True, help="Process type to use as a template for command, memory, and disk "
                                                 "for the created task."),
                Flag("wait", "w", help="Wait for the task to complete before exiting")),
         related="logs, tasks, terminate-task")
def run_task(ctx: Context, a: Args) -> int:
    from rehearsal import cc_api  # pylint: disable=import-outside-toplevel

    disk, memory, log_rate = _megabytes("k", a["k"]), _megabytes("m", a["m"]), _bytes(a["l"])
    ctx.check_target(True, True)
    name = a["APP_NAME"]
    with ctx.world() as world:
        session, app = ctx.find_app(world, name)
        ctx.out.text(f"Creating task for app {name} in org {ctx.org_name} / space {ctx.space_name} "
                     f"as {ctx.user_name()}...")
        body: dict[str, object] = {"command": a["command"], "name": a["name"], "memory_in_mb": memory,
                                   "disk_in_mb": disk, "log_rate_limit_in_bytes_per_second": log_rate}
        process_type = a["process"] or (None if a["command"] else "task")
        if process_type:
            proc = next((p for p in world_mod.processes_of(world, app["guid"]) if p["type"] == process_type), None)
            if proc is None:
                raise CfError(f"Process {process_type} not found")
            body["template"] = {"process": {"guid": proc["guid"]}}
        if not app.get("droplet_guid"):
            raise CfError("Error running task: App is not staged.")
        try:
            task = cc_api.create_task(world, session.user, app, body)
        except cc_api.ApiError as err:
            raise CfError(err.detail) from err
        task_guid, task_name, sequence = task["guid"], task["name"], task["sequence_id"]
        poll = float(world["cli"].get("poll_interval_s", 0.2))
    ctx.out.text("Task has been submitted successfully for execution.")
    ctx.out.ok()
    ctx.out.write(table([["task name:", task_name], ["task id:", str(sequence)]]))
    if a["wait"]:
        ctx.out.newline()
        ctx.out.text("Waiting for task to complete execution...")
        while True:
            with ctx.world() as world:
                ctx.session(world)
                state, _ = tasks_mod.state(world, world["tasks"][task_guid], world_mod.now(world))
            if state == "SUCCEEDED":
                break
            if state == "FAILED":
                raise CfError("Task failed to complete successfully")
            time.sleep(poll)
        ctx.out.newline()
        ctx.out.text("Task has completed successfully.")
    ctx.out.ok()
    return 0


@command("tasks", description="List tasks of an app", usage="CF_NAME tasks APP_NAME", args=("APP_NAME",),
         related="apps, logs, run-task, terminate-task")
def tasks_command(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    name = a["APP_NAME"]
    with ctx.world() as world:
        session, app = ctx.find_app(world, name)
        ctx.out.text(f"Getting tasks for app {name} in org {ctx.org_name} / space {ctx.space_name} "
                     f"as {ctx.user_name()}...")
        ctx.out.newline()
        now = world_mod.now(world)
        found = sorted((t for t in world["tasks"].values() if t["app_guid"] == app["guid"]),
                       key=lambda t: t["sequence_id"], reverse=True)
        if not found:
            ctx.out.text("No tasks found for application.")
            return 0
        show = world_mod.can_see_secrets(world, session.user["guid"], app["space_guid"])
        rows = [["id", "name", "state", "start time", "command"]]
        for task in found:
            state, _ = tasks_mod.state(world, task, now)
            rows.append([str(task["sequence_id"]), task["name"], state,
                         time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(task["created_at"])),
                         (task["command"] if show else "") or "[hidden]"])
    ctx.out.write(table(rows))
    return 0


@command("terminate-task", description="Terminate a running task of an app",
         usage="CF_NAME terminate-task APP_NAME TASK_ID\n\nEXAMPLES:\n   CF_NAME terminate-task my-app 3",
         args=("APP_NAME", "TASK_ID"), related="tasks, task")
def terminate_task(ctx: Context, a: Args) -> int:
    from rehearsal import cc_api  # pylint: disable=import-outside-toplevel

    try:
        sequence = int(a["TASK_ID"])
    except ValueError as exc:
        raise UsageCfError("Incorrect usage: Value for TASK_ID must be integer") from exc
    ctx.check_target(True, True)
    name = a["APP_NAME"]
    with ctx.world() as world:
        session, app = ctx.find_app(world, name)
        task = next((t for t in world["tasks"].values()
                     if t["app_guid"] == app["guid"] and t["sequence_id"] == sequence), None)
        if task is None:
            raise CfError(f"Task sequence ID {sequence} not found.")
        ctx.out.text(f"Terminating task {a['TASK_ID']} of app {name} in org {ctx.org_name} / space {ctx.space_name} "
                     f"as {ctx.user_name()}...")
        try:
            cc_api.cancel_task(world, session.user, task)
        except cc_api.ApiError as err:
            raise CfError(err.detail) from err
    ctx.out.ok()
    return 0


class _Interrupted(Exception):
    pass


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted()


@command("logs", description="Tail or show recent logs for an app", usage="CF_NAME logs APP_NAME",
         args=("APP_NAME",), flags=(Flag("recent", help="Dump recent logs instead of tailing"),),
         related="app, apps, ssh")
def logs_command(ctx: Context, a: Args) -> int:
    from rehearsal import logs  # pylint: disable=import-outside-toplevel

    started = time.time()
    ctx.check_target(True, True)
    name = a["APP_NAME"]
    ctx.out.text(f"Retrieving logs for app {name} in org {ctx.org_name} / space {ctx.space_name} "
                 f"as {ctx.user_name()}...")
    ctx.out.newline()
    with ctx.world() as world:
        _, app = ctx.find_app(world, name)
        now = world_mod.now(world)
        if a["recent"]:
            ctx.out.write("".join(logs.format_entry(e) for e in logs.entries(world, app, now)))
            return 0
        poll = float(world["cli"].get("poll_interval_s", 0.2))
        since = started + float(world.get("clock_offset_s", 0.0))  # lines from when the command started
    # Stream until SIGINT (exit 0), as cf does.
    previous = signal.signal(signal.SIGINT, _interrupt)
    try:
        while True:
            time.sleep(poll)
            with ctx.world() as world:
                ctx.session(world)
                app = world["apps"].get(app["guid"], app)
                now = world_mod.now(world)
                fresh = logs.entries(world, app, now, since=since)
            if fresh:
                ctx.out.write("".join(logs.format_entry(e) for e in fresh))
                since = max(e["ts"] for e in fresh)
    except _Interrupted:
        return 0
    finally:
        signal.signal(signal.SIGINT, previous)
