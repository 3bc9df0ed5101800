# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module unit tests as data: a module's cases in ``test_<module>.yaml``, run against the fake cf.

The shape follows community.general's UTHelper (input, the commands expected with their output, the expected result),
narrowed to what our modules do: they run cf through CfClient, so the "commands" are cf argv lists, and the output of
each comes from a recorded cf v8 case in tests/fixtures/cf_v8 (the single source of cf's strings), named with the
values of its placeholders. A test module binds its YAML file with one line::

    test_recorded = uthelper.cases(cf_space_ssh, __file__)

The YAML file::

    values: {SPACE: ttahub-prod}       # placeholder values for every fixture of the file (optional)
    cases:
      - id: allows_when_disallowed     # the pytest id
        input: {space: ttahub-prod, state: allowed}   # module options; cf_cli and cf_home are added
        flags: {check: true, no_log: true}            # optional: check mode, a no_log task
        env: {NAME: value}             # optional: environment of the module
        files: [manifest.yml]          # optional: empty files created in the module's working folder
        values: {...}                  # optional: placeholder values for this case
        calls:                         # every cf call, in order; one missing or extra fails the case
          - argv: [space-ssh-allowed, ttahub-prod]
            fixture: space_ssh_allowed_disabled   # its stdout, stderr and rc are replayed
            values: {...}              # optional: placeholder values for this call
            other_argv: true           # optional: the fixture was recorded for another argv and its output stands
                                       # for this call's (cf's target checks and an expired token, which do not
                                       # depend on the command); without it, argv must be the fixture's own
          - argv: [curl, /v3/apps/G]
            json: {...}                # or inline: a cf curl body (exit 0) that no fixture records
          - argv: [...]
            stdout: ...                # or inline text (stderr, rc), only where no fixture records the output
        output:                        # the result's values, each compared with ==
          changed: true
        absent: [stdout]               # optional: keys the result must not have

A case that expects ``failed: true`` must give the exact ``msg``; a case that does not is checked not to have failed.
Unknown keys, an argv that is not the fixture's, a values key the fixture does not have, and inline text or a body that
a fixture records are refused when the file is loaded, so that a typo cannot turn a case into one that cannot fail and
cf's strings are not pasted a second time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import pathlib
import re
import types
import typing as t

import pytest
import yaml

from tests.support.fake_cf import FIXTURES, FakeCf, fixture
from tests.support.modules import run_main

FILE_KEYS = {"values", "anchors", "cases"}
CASE_KEYS = {"id", "input", "flags", "env", "files", "values", "calls", "output", "absent"}
CALL_KEYS = {"argv", "fixture", "values", "other_argv", "json", "stdout", "stderr", "rc"}
FLAGS = {"check", "no_log"}
PLACEHOLDER = re.compile(r"\{[A-Z_]+\}")


class CaseError(ValueError):
    """A test case that is not well formed (raised when its file is loaded)."""


@dataclasses.dataclass
class Case:
    id: str
    input: dict[str, t.Any]
    calls: list[dict[str, t.Any]]
    output: dict[str, t.Any]
    absent: list[str] = dataclasses.field(default_factory=list)
    check: bool = False
    no_log: bool = False
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    files: list[str] = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        return self.id


def load(path: pathlib.Path) -> list[Case]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = path.name
    if not isinstance(spec, dict) or not isinstance(spec.get("cases"), list) or not spec["cases"]:
        raise CaseError(f"{where}: expected a mapping with a non-empty list of cases")
    _known(spec, FILE_KEYS, where)
    cases = [make_case(raw, spec.get("values") or {}, where) for raw in spec["cases"]]
    ids = [case.id for case in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CaseError(f"{where}: duplicate case ids {duplicates}")
    return cases


def make_case(raw: t.Any, file_values: dict[str, t.Any], where: str = "case") -> Case:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise CaseError(f"{where}: every case needs an id")
    where = f"{where}: {raw['id']}"
    _known(raw, CASE_KEYS, where)
    flags = raw.get("flags") or {}
    _known(flags, FLAGS, f"{where}: flags")
    output = raw.get("output")
    if not isinstance(output, dict) or not output:
        raise CaseError(f"{where}: output must list the expected result")
    if output.get("failed") is True:
        if not isinstance(output.get("msg"), str):
            raise CaseError(f"{where}: a failure case must give the exact msg")
    elif "changed" not in output:
        raise CaseError(f"{where}: a success case must say whether it changed something")
    if not isinstance(raw.get("calls"), list):
        raise CaseError(f"{where}: calls must list every cf call, [] for none")
    values = {**file_values, **(raw.get("values") or {})}
    return Case(
        id=raw["id"],
        input=dict(raw.get("input") or {}),
        calls=[make_call(call, values, f"{where}: call {n}") for n, call in enumerate(raw["calls"], 1)],
        output=output,
        absent=list(raw.get("absent") or []),
        check=bool(flags.get("check", False)),
        no_log=bool(flags.get("no_log", False)),
        env={str(k): str(v) for k, v in (raw.get("env") or {}).items()},
        files=list(raw.get("files") or []),
    )


def make_call(raw: t.Any, values: dict[str, t.Any], where: str) -> dict[str, t.Any]:
    """One step of the fake cf's plan: the argv it must receive and the output it replays."""
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: expected a mapping")
    _known(raw, CALL_KEYS, where)
    argv = raw.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise CaseError(f"{where}: argv must be a non-empty list of strings")
    inline = sorted(k for k in ("json", "stdout", "stderr", "rc") if k in raw)
    if "fixture" in raw:
        if inline:
            raise CaseError(f"{where}: give the output by fixture or inline ({', '.join(inline)}), not both")
        return _from_fixture(raw, argv, values, where)
    if "values" in raw or "other_argv" in raw:
        raise CaseError(f"{where}: values and other_argv apply to a fixture")
    if "json" in raw:
        if len(inline) > 1:
            raise CaseError(f"{where}: json is the whole output of a cf curl call")
        recorded = recorded_body(raw["json"])
        if recorded:
            raise CaseError(f"{where}: this body is recorded in fixture {recorded}; name the fixture instead")
        return {"argv": argv, "stdout": json.dumps(raw["json"]) + "\n", "stderr": "", "rc": 0}
    if not inline:
        raise CaseError(f"{where}: give the output, by fixture (preferred), json or stdout/stderr/rc")
    step = {"argv": argv, "stdout": str(raw.get("stdout", "")), "stderr": str(raw.get("stderr", "")), "rc": int(raw.get("rc", 0))}
    recorded = recorded_line(step["stdout"] + step["stderr"])
    if recorded:
        raise CaseError(f"{where}: {recorded[1]!r} is recorded in fixture {recorded[0]}; name the fixture instead")
    return step


def _from_fixture(raw: dict[str, t.Any], argv: list[str], values: dict[str, t.Any], where: str) -> dict[str, t.Any]:
    name = raw["fixture"]
    path = FIXTURES / f"{name}.yml"
    if not path.is_file():
        raise CaseError(f"{where}: no fixture {name} in {FIXTURES}")
    placeholders = set((yaml.safe_load(path.read_text(encoding="utf-8")).get("placeholders") or {}))
    own = raw.get("values") or {}
    unknown = sorted(set(own) - placeholders)
    if unknown:
        raise CaseError(f"{where}: fixture {name} has no placeholders {unknown} (it has {sorted(placeholders)})")
    filled = {k: str(v) for k, v in {**values, **own}.items() if k in placeholders}
    step = fixture(name, **filled)
    if not raw.get("other_argv") and step["argv"] != argv:
        raise CaseError(
            f"{where}: fixture {name} records the output of cf {step['argv']}, not of cf {argv}; fix the values, "
            "or say other_argv: true if its output stands for this call's"
        )
    step["argv"] = argv
    return step


def _known(mapping: t.Any, allowed: set[str], where: str) -> None:
    if not isinstance(mapping, dict):
        raise CaseError(f"{where}: expected a mapping")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise CaseError(f"{where}: unknown keys {unknown} (allowed: {sorted(allowed)})")


@functools.lru_cache(maxsize=1)
def _recorded() -> tuple[tuple[tuple[str, re.Pattern[str]], ...], tuple[tuple[str, t.Any], ...]]:
    """What the fixtures record: every distinctive line (placeholders as wildcards), and every JSON body."""
    lines, bodies = [], []
    for path in sorted(FIXTURES.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        with contextlib.suppress(ValueError):
            bodies.append((path.stem, json.loads(data.get("stdout") or "")))
        for text in (data.get("stdout") or "", data.get("stderr") or ""):
            for line in text.splitlines():
                literal = PLACEHOLDER.sub("", line).strip()
                if len(literal) >= 12:  # OK, FAILED, a bare {GUID}: too common to be a fixture's own
                    parts = [re.escape(part) for part in PLACEHOLDER.split(line.strip())]
                    lines.append((path.stem, re.compile(".+?".join(parts))))
    return tuple(lines), tuple(bodies)


def recorded_line(text: str) -> tuple[str, str] | None:
    """(fixture, line) when inline text repeats a line a fixture records."""
    for line in text.splitlines():
        for name, pattern in _recorded()[0]:
            if pattern.search(line.strip()):
                return name, line.strip()
    return None


def recorded_body(body: t.Any) -> str | None:
    """The fixture whose cf curl body (a CC error, for instance) an inline body repeats."""
    return next((name for name, recorded in _recorded()[1] if recorded == body), None)


def run_case(module: types.ModuleType, case: Case, tmp_path: pathlib.Path, monkeypatch: t.Any, capsys: t.Any) -> dict[str, t.Any]:
    """Run the module's main() on the case with the fake cf and assert what the case expects."""
    fake = FakeCf(tmp_path, monkeypatch)
    home = tmp_path / "session"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    for name in case.files:
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
    monkeypatch.chdir(work)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    fake.plan(case.calls)
    args = {"cf_cli": str(fake.path), "cf_home": str(home), **case.input}
    result = run_main(module, args, capsys, check_mode=case.check, no_log=case.no_log)
    check(case, result, fake.calls, str(home))
    return result


def check(case: Case, result: dict[str, t.Any], calls: list[dict[str, t.Any]], cf_home: str) -> None:
    received = [call["argv"] for call in calls]
    expected = [call["argv"] for call in case.calls]
    assert received == expected, f"cf calls differ from the case's:\n  expected {expected}\n  received {received}"
    homes = {call["env"]["CF_HOME"] for call in calls}
    assert homes <= {cf_home}, f"cf ran with CF_HOME {homes}, not the session's {cf_home}"
    if case.output.get("failed") is True:
        assert result.get("failed") is True, f"the module did not fail: {result}"
    else:
        assert result.get("failed") is not True, f"the module failed: {result.get('msg')}"
    for key, want in case.output.items():
        assert key in result, f"the result has no {key!r}: {sorted(result)}"
        assert result[key] == want, f"{key!r}:\n  expected {want!r}\n  received {result[key]!r}"
    for key in case.absent:
        assert key not in result, f"the result has {key!r}: {result[key]!r}"


def cases(module: types.ModuleType, test_file: str) -> t.Callable[..., None]:
    """A pytest test function over the cases of the YAML file beside ``test_file`` (test_x.py -> test_x.yaml)."""
    path = pathlib.Path(test_file).with_suffix(".yaml")
    loaded = load(path)

    @pytest.mark.parametrize("case", loaded, ids=[case.id for case in loaded])
    def test_recorded(case: Case, tmp_path: pathlib.Path, monkeypatch: t.Any, capsys: t.Any) -> None:
        run_case(module, case, tmp_path, monkeypatch, capsys)

    test_recorded.__doc__ = f"{module.__name__.rsplit('.', 1)[-1]}: the cases of {path.name}"
    return test_recorded
