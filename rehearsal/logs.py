# SPDX-License-Identifier: GPL-3.0-or-later
"""Recent logs of an app (process lines stored in the world, task lines computed) in cf's line format (§3.11)."""
from __future__ import annotations

from typing import Any

from rehearsal import tasks
from rehearsal.world import World

RECENT_LIMIT = 1000


def timestamp(ts: float) -> str:
    """``2006-01-02T15:04:05.00-0700`` in the local time zone; fractions truncated as Go's ``.00`` does."""
    import datetime  # pylint: disable=import-outside-toplevel

    local = datetime.datetime.fromtimestamp(ts).astimezone()
    centis = local.microsecond // 10000
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{centis:02d}" + local.strftime("%z")


def format_entry(entry: dict[str, Any]) -> str:
    """One envelope; a multi-line message repeats the header on each line."""
    head = f"   {timestamp(entry['ts'])} [{entry['source']}] {entry['stream']} "
    return "".join(head + line + "\n" for line in str(entry["message"]).split("\n"))


def entries(world: World, app: dict[str, Any], now: float, since: float | None = None) -> list[dict[str, Any]]:
    """All lines of APP up to NOW (after SINCE if given), oldest first, at most RECENT_LIMIT."""
    found = [e for e in world["logs"].get(app["guid"], []) if e["ts"] <= now]
    for task in world["tasks"].values():
        if task["app_guid"] == app["guid"]:
            found.extend(tasks.log_lines(world, task, now))
    if since is not None:
        found = [e for e in found if e["ts"] > since]
    found.sort(key=lambda e: e["ts"])
    return found[-RECENT_LIMIT:]
