# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""A replaying stand-in for cf, for module unit tests: it checks each argv against a plan and replays recorded output.

The plan is a list of steps ``{"argv": [...], "stdout": "...", "stderr": "...", "rc": 0}``; each call takes the next
step, records its argv and the environment variables the client must set, and fails loudly (exit 99) on an argv the
plan does not expect. Outputs come from tests/fixtures/cf_v8 (the recorded strings of cf-cli.md).
"""

from __future__ import annotations

import json
import os
import pathlib
import stat
import sys
import typing as t

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "cf_v8"
RECORDED_ENV = ("CF_HOME", "LANG", "LC_ALL", "CF_COLOR", "CF_TRACE", "CF_PLUGIN_HOME")

SCRIPT = r"""#!{python}
import json, os, sys, time
plan_path, log_path = os.environ["FAKE_CF_PLAN"], os.environ["FAKE_CF_LOG"]
with open(plan_path) as f:
    plan = json.load(f)
calls = []
if os.path.exists(log_path):
    with open(log_path) as f:
        calls = [json.loads(line) for line in f if line.strip()]
argv = sys.argv[1:]
env = {{k: os.environ.get(k) for k in {recorded!r}}}
env["has_CF_PASSWORD"] = "CF_PASSWORD" in os.environ
with open(log_path, "a") as f:
    f.write(json.dumps({{"argv": argv, "env": env, "stdin_tty": os.isatty(0)}}) + "\n")
if len(calls) >= len(plan):
    sys.stderr.write("fake cf: unexpected call %r (plan has %d steps)\n" % (argv, len(plan)))
    sys.exit(99)
step = plan[len(calls)]
if step["argv"] != argv:
    sys.stderr.write("fake cf: expected %r, got %r\n" % (step["argv"], argv))
    sys.exit(99)
time.sleep(step.get("sleep", 0))
sys.stdout.write(step.get("stdout", ""))
sys.stderr.write(step.get("stderr", ""))
sys.exit(step.get("rc", 0))
"""


def fixture(name: str, **values: str) -> dict[str, t.Any]:
    """A recorded case from tests/fixtures/cf_v8: its argv and output with the {PLACEHOLDERS} filled.

    Placeholders take the reference's own example values unless the test gives others.
    """
    data = yaml.safe_load((FIXTURES / f"{name}.yml").read_text(encoding="utf-8"))
    fill = {**(data.get("placeholders") or {}), **values}

    def sub(text: str) -> str:
        for placeholder, value in fill.items():
            text = text.replace("{" + placeholder + "}", str(value))
        return text

    return {
        "argv": [sub(str(a)) for a in data.get("argv") or []],
        "stdout": sub(data.get("stdout") or ""),
        "stderr": sub(data.get("stderr") or ""),
        "rc": int(data.get("rc", 0)),
    }


def step(
    argv: list[str], name: str | None = None, *, stdout: str = "", stderr: str = "", rc: int = 0, **values: str
) -> dict[str, t.Any]:
    if name is not None:
        recorded = fixture(name, **values)
        recorded["argv"] = argv
        return recorded
    return {"argv": argv, "stdout": stdout, "stderr": stderr, "rc": rc}


def json_step(argv: list[str], body: t.Any) -> dict[str, t.Any]:
    return {"argv": argv, "stdout": json.dumps(body) + "\n", "stderr": "", "rc": 0}


class FakeCf:
    def __init__(self, tmp: pathlib.Path, monkeypatch: t.Any) -> None:
        self.path = tmp / "cf"
        self.plan_path = tmp / "plan.json"
        self.log_path = tmp / "calls.jsonl"
        self.path.write_text(SCRIPT.format(python=sys.executable, recorded=RECORDED_ENV), encoding="utf-8")
        self.path.chmod(self.path.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("FAKE_CF_PLAN", str(self.plan_path))
        monkeypatch.setenv("FAKE_CF_LOG", str(self.log_path))
        self.plan([])

    def plan(self, steps: list[dict[str, t.Any]]) -> None:
        self.plan_path.write_text(json.dumps(steps), encoding="utf-8")
        if self.log_path.exists():
            self.log_path.unlink()

    @property
    def calls(self) -> list[dict[str, t.Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text(encoding="utf-8").splitlines() if line.strip()]

    @property
    def argvs(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls]


def make_executable(path: pathlib.Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP)


__all__ = ["FakeCf", "fixture", "json_step", "step", "make_executable", "os"]
