# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection for the cf emulator: ``REHEARSAL_HOME/faults.json``.

Format::

    {"latency_ms": 0,                      # added to every cf call
     "rules": [{"id": "f1",
                "match": "allow-space-ssh",  # command name (aliases resolved); null: any call
                "argv_contains": null,       # optional substring of the space-joined argv
                "nth": null,                 # fire on the Nth matching call counted from injection; null: the next
                "times": 1,                  # how many calls it fires on (null: every matching call from then on)
                "action": "fail",            # fail | hang | garbage | latency | respond
                "stderr": null, "exit_code": null,   # fail: defaults below
                "stdout": null,              # respond: printed as is
                "latency_ms": null,          # latency: sleep before the call runs normally
                "apply": false,              # garbage: run the command for real, then print truncated output
                "seen": 0, "fired": 0, "fired_seqs": []}]}

- ``fail``: the command does not run; its stderr text (default: an unmapped CC 500, cf-cli.md §1), ``FAILED``, exit 1.
- ``hang``: the call is logged (``exit_code`` null) and then sleeps until killed.
- ``garbage``: non-JSON, invalid-UTF-8 bytes that look like a truncated response, exit 0.
- ``latency``: the call sleeps ``latency_ms`` and then runs normally (any rule's ``latency_ms`` delays its action).
- ``respond``: the command does not run; it prints ``stdout`` and ``stderr`` as given and exits ``exit_code`` (default
  0): a proxy's HTML page, a body cut short, an empty answer, a Cloud Controller error body with exit 0.

Every call takes a sequence number (``calls.seq``) under ``calls.lock``; the call log records it and the fault.
"""
from __future__ import annotations

import json
import os
from typing import Any

from rehearsal.world import locked, new_guid, resolve_home, token_hex, write_json_atomic

ACTIONS = ("fail", "hang", "garbage", "latency", "respond")
LOCK = "calls.lock"


def default_stderr() -> str:
    """cf's text for an unmapped Cloud Controller error (cf-cli.md §1)."""
    return (f"Unexpected Response\nResponse Code: 500\nRequest ID:    {new_guid()}::{new_guid()}\n"
            "Code: 0, Title: , Detail: rehearsal cloud: injected fault")


def _path(home: str | os.PathLike[str] | None) -> str:
    return os.path.join(resolve_home(home), "faults.json")


def load(home: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    try:
        with open(_path(resolve_home(home)), encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        data = {}
    data.setdefault("latency_ms", 0)
    data.setdefault("rules", [])
    return data


def _save(home: str, data: dict[str, Any]) -> None:
    write_json_atomic(_path(home), data)


def inject(home: str | os.PathLike[str] | None = None, *, match: str | None = None, action: str = "fail",
           nth: int | None = None, times: int | None = 1, stderr: str | None = None, exit_code: int | None = None,
           latency_ms: int | None = None, argv_contains: str | None = None, apply: bool = False,
           stdout: str | None = None) -> str:
    """Add a fault rule; returns its id. See the module docstring for the meaning of each field."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    if nth is not None and nth < 1:
        raise ValueError("nth counts from 1")
    path_home = resolve_home(home)
    with locked(path_home, LOCK):
        data = load(path_home)
        rule_id = f"f{len(data['rules']) + 1}-{token_hex(3)}"
        data["rules"].append({"id": rule_id, "match": match, "argv_contains": argv_contains, "nth": nth,
                              "times": times, "action": action, "stderr": stderr, "exit_code": exit_code,
                              "latency_ms": latency_ms, "apply": apply, "stdout": stdout, "seen": 0, "fired": 0,
                              "fired_seqs": []})
        _save(path_home, data)
    return rule_id


def set_latency(home: str | os.PathLike[str] | None = None, ms: int = 0) -> None:
    """Delay every cf call by MS milliseconds (0 turns it off)."""
    path_home = resolve_home(home)
    with locked(path_home, LOCK):
        data = load(path_home)
        data["latency_ms"] = int(ms)
        _save(path_home, data)


def clear(home: str | os.PathLike[str] | None = None) -> None:
    """Remove all rules and the latency."""
    path_home = resolve_home(home)
    with locked(path_home, LOCK):
        if os.path.exists(_path(path_home)):
            os.unlink(_path(path_home))


def _matches(rule: dict[str, Any], command: str, argv: list[str]) -> bool:
    if rule.get("match") and rule["match"] != command:
        return False
    return not rule.get("argv_contains") or rule["argv_contains"] in " ".join(argv)


def claim(home: str | os.PathLike[str] | None, argv: list[str], command: str) -> tuple[int, dict[str, Any] | None, int]:
    """Called once per cf call: (sequence number, the fault rule that fires or None, latency in ms)."""
    path_home = resolve_home(home)
    with locked(path_home, LOCK):
        seq_path = os.path.join(path_home, "calls.seq")
        try:
            with open(seq_path, encoding="utf-8") as fh:
                seq = int(fh.read().strip() or 0) + 1
        except FileNotFoundError:
            seq = 1
        with open(seq_path, "w", encoding="utf-8") as fh:
            fh.write(f"{seq}\n")
        if not os.path.exists(_path(path_home)):
            return seq, None, 0
        data = load(path_home)
        latency = int(data.get("latency_ms") or 0)
        fired = None
        for rule in data["rules"]:
            exhausted = rule.get("times") is not None and rule["fired"] >= rule["times"]
            if exhausted or not _matches(rule, command, argv):
                continue
            rule["seen"] += 1
            if fired is None and (rule.get("nth") is None or rule["seen"] >= rule["nth"]):
                rule["fired"] += 1
                rule["fired_seqs"].append(seq)
                fired = dict(rule)
        if fired is not None:
            latency += int(fired.get("latency_ms") or 0)
        _save(path_home, data)
        return seq, fired, latency
