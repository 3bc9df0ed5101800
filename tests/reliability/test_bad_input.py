# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input corpus (bad_input.yml): hostile names, paths and text in the inputs of the modules and playbooks,
malformed answers of cf, malformed roster and policy files.

Each case must end with exactly one clear error ("Failed to <verb> <object>: <cause>. <what to do>", one line, no
traceback), and the rehearsal's call log must prove that no cf call carried the injected value, that nothing changed
in the cloud, and that no cf session directory (it holds a token) was left behind. Module cases run the module's real
main() against the rehearsal cf; playbook cases run ansible-playbook against the rehearsal inventory. ``make test``
runs every module case and a sample of the playbook cases (each value and each input at least once); ``make
reliability`` runs all of them.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import typing as t

import pytest
import yaml

from rehearsal import cfconfig, faults, personas, seed
from tests.reliability import invariants as inv
from tests.reliability.sampling import full_matrix, record, spread
from tests.support.modules import run_main

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
CF = str(REPO / "rehearsal" / "bin" / "cf")
CORPUS = yaml.safe_load((pathlib.Path(__file__).with_name("bad_input.yml")).read_text(encoding="utf-8"))
ORG = "hhs-acf-ohs-tta"
OPERATOR = "operator@rehearsal.gov"
# Ansible refuses a NUL in a module argument before the module's own code runs, with its own wording: it cannot log
# the invocation to syslog. Playbooks never get there (the approval gate refuses the value first); calling a module
# directly with a NUL ends with this one error and nothing run.
ANSIBLE_NUL = "Failed to log to syslog (embedded null character)"
PLAYBOOK_SAMPLE = 2


def value_of(value_id: str) -> str:
    spec = CORPUS["values"][value_id]
    if isinstance(spec, dict):
        return str(spec["repeat"]) * int(spec["times"])
    return str(spec)


def substitute(args: t.Any, value: str, tmp: pathlib.Path) -> t.Any:
    if isinstance(args, dict):
        return {k: substitute(v, value, tmp) for k, v in args.items()}
    if args == "VALUE":
        return value
    if args == "TMP":
        return str(tmp)
    return args


def input_cases(config: pytest.Config) -> list[t.Any]:
    full = full_matrix(config)
    cases = []
    playbook_index = 0
    for target in CORPUS["targets"]:
        values = CORPUS["groups"][target["group"]]
        sampled = values
        if target["kind"] == "playbook":
            sampled = values if full else spread(values, playbook_index, PLAYBOOK_SAMPLE)
            playbook_index += 1
        cases += [pytest.param(target, value_id, id=f"{target['id']}={value_id}") for value_id in sampled]
    return cases


def output_cases() -> list[t.Any]:
    return [pytest.param(target, output_id, id=f"{target['id']}<{output_id}")
            for target in CORPUS["output_targets"] for output_id in CORPUS["outputs"]]


def inventory_cases(config: pytest.Config) -> list[t.Any]:
    ids = list(CORPUS["inventories"])
    return [pytest.param(case_id, id=case_id) for case_id in (ids if full_matrix(config) else spread(ids, 0, 4))]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.function.__name__ == "test_hostile_input_is_refused_before_cf":
        metafunc.parametrize(("target", "value_id"), input_cases(metafunc.config))
    elif metafunc.function.__name__ == "test_malformed_cf_output_stops_the_run":
        output = output_cases()
        if not full_matrix(metafunc.config):
            output = [c for c in output if c.values[0]["kind"] == "module" or c.values[1] in ("html-proxy-page", "empty")]
        metafunc.parametrize(("target", "output_id"), output)
    elif metafunc.function.__name__ == "test_malformed_roster_or_policy_is_refused_by_the_gate":
        metafunc.parametrize("case_id", inventory_cases(metafunc.config))


# --- the rehearsal ---------------------------------------------------------------------------------------------------------

class Cloud:
    """One seeded rehearsal cloud for the module's cases (nothing a case does may change it), an SSO operator login,
    the personas' keys (for the production policies' roster checks)."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.home = root / "rehearsal"
        seed.seed(self.home)
        personas.ensure(self.home)
        self.operator_home = root / "operator"
        cfconfig.issue_session(self.home, self.operator_home, OPERATOR, org=ORG, space="ttahub-prod")
        self.session = root / "session"
        cfconfig.issue_session(self.home, self.session, OPERATOR, org=ORG, space="ttahub-prod")
        self.runtime = root / "runtime"
        self.runtime.mkdir(mode=0o700)
        self.baseline = inv.world_state(self.home)

    def env(self, tmp: pathlib.Path) -> dict[str, str]:
        drop = ("CF_USERNAME", "CF_PASSWORD", "CI", "TTAHUB_OPS_RUN_ID", "TTAHUB_OPS_CONTROLLER_PID", "ANSIBLE_STDOUT_CALLBACK",
                "ANSIBLE_CALLBACK_PLUGINS", "TTAHUB_OPS_OPERATOR")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            REHEARSAL_HOME=str(self.home),
            REHEARSAL_PYTHON=sys.executable,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            TTAHUB_OPS_AUDIT_LOG=str(tmp / "audit.jsonl"),
            CF_HOME=str(self.operator_home),
            XDG_RUNTIME_DIR=str(self.runtime),
            ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
        )
        return env

    def playbook(self, name: str, tmp: pathlib.Path, *extra: str, inventory: pathlib.Path | None = None) -> subprocess.CompletedProcess[str]:
        argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory or REPO / "inventories" / "rehearsal"),
                f"playbooks/{name}.yml", "-e", f"ops_state_dir={tmp / 'state'}", "-e", f"ops_reports_dir={tmp / 'reports'}"]
        for item in extra:
            argv += ["-e", item.replace("TMP", str(tmp))]
        return subprocess.run(argv, cwd=REPO, env=self.env(tmp), text=True, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=180, check=False)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    return Cloud(tmp_path_factory.mktemp("bad-input"))


@pytest.fixture
def module_env(cloud, tmp_path, monkeypatch):
    for key, value in cloud.env(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in ("CF_USERNAME", "CF_PASSWORD", "TTAHUB_OPS_RUN_ID"):
        monkeypatch.delenv(key, raising=False)
    faults.clear(cloud.home)
    yield
    faults.clear(cloud.home)


def run_module(cloud: Cloud, target: dict[str, t.Any], args: dict[str, t.Any], capsys: t.Any) -> dict[str, t.Any]:
    module = importlib.import_module(f"ansible_collections.ttahub.ops.plugins.modules.{target['module']}")
    full = {"cf_cli": CF, **args}
    if target.get("session", True):
        full["cf_home"] = str(cloud.session)
    else:
        full["base_dir"] = str(cloud.runtime)
    return run_main(module, full, capsys)


def check_outcome(cloud: Cloud, messages: list[str], output: str, seq: int, value: str | None, *,
                  worded: bool = True) -> list[str]:
    problems = inv.one_clear_error(messages, output) if worded else [] if len(messages) == 1 else [f"errors: {messages}"]
    calls = inv.calls_since(cloud.home, seq)
    if value is not None:
        problems += [f"cf ran with the injected value: {argv}" for argv in inv.carrying(calls, value)]
    problems += inv.unchanged(cloud.baseline, inv.world_state(cloud.home))
    problems += [f"a cf session directory was left: {p}" for p in inv.leftover_sessions(cloud.runtime)]
    return problems


# --- hostile values in inputs --------------------------------------------------------------------------------------------

def test_hostile_input_is_refused_before_cf(cloud, target, value_id, tmp_path, request, capsys, module_env):
    record(request, "corpus", request.node.callspec.id)
    value = value_of(value_id)
    seq = inv.last_seq(cloud.home)
    if target["kind"] == "module":
        result = run_module(cloud, target, substitute(target["args"], value, tmp_path), capsys)
        assert result.get("failed"), f"accepted: {result}"
        messages = [str(result.get("msg", ""))]
        output = result["_raw"]
        # Ansible's own refusal of a NUL (see ANSIBLE_NUL): one error, in its own words, and nothing ran
        worded = not ("\0" in value and messages[0].startswith(ANSIBLE_NUL))
    else:
        worded = True
        proc = cloud.playbook(target["playbook"], tmp_path, *target.get("extra", []), json.dumps({target["var"]: value}))
        assert proc.returncode != 0, f"accepted:\n{proc.stdout[-3000:]}"
        messages = inv.playbook_errors(proc.stdout)
        output = proc.stdout + proc.stderr
        problems = inv.audit_chain(tmp_path / "audit.jsonl")
        ends = [r.get("outcome") for r in inv.audit_records(tmp_path / "audit.jsonl") if r.get("event") == "run_end"]
        if ends != ["failed"]:
            problems.append(f"the audit log records the outcomes {ends}, not one failed run")
        assert not problems, problems
    problems = check_outcome(cloud, messages, output, seq, value, worded=worded)
    if any("no terminal to ask the approvers on" in m or "stdin is not a terminal" in m for m in messages):
        problems.append("the value passed: the run went on to the approvals")
    if target.get("before_cf") or target["kind"] == "playbook":
        calls = inv.calls_since(cloud.home, seq)
        if calls:
            problems.append(f"cf ran before the refusal: {[c['argv'][:3] for c in calls]}")
    assert not problems, "\n".join(problems) + f"\nerror: {messages}"


# --- malformed cf output -------------------------------------------------------------------------------------------------

def test_malformed_cf_output_stops_the_run(cloud, target, output_id, tmp_path, request, capsys, module_env):
    record(request, "corpus", request.node.callspec.id)
    answer = CORPUS["outputs"][output_id]
    seq = inv.last_seq(cloud.home)
    faults.inject(cloud.home, match=target["match"], action="respond", stdout=answer.get("stdout", ""),
                  stderr=answer.get("stderr", ""), exit_code=answer.get("exit_code", 0))
    if target["kind"] == "module":
        result = run_module(cloud, target, dict(target["args"]), capsys)
        assert result.get("failed"), f"accepted a malformed answer: {result}"
        messages, output = [str(result.get("msg", ""))], result["_raw"]
    else:
        proc = cloud.playbook(target["playbook"], tmp_path, *target.get("extra", []))
        assert proc.returncode != 0, f"accepted a malformed answer:\n{proc.stdout[-3000:]}"
        messages, output = inv.playbook_errors(proc.stdout), proc.stdout + proc.stderr
    calls = inv.calls_since(cloud.home, seq)
    fired = [c for c in calls if c.get("fault")]
    problems = [] if len(fired) == 1 else [f"the malformed answer was given {len(fired)} times"]
    if fired:
        problems += [f"a change after the malformed answer: {argv}" for argv in inv.mutations_after(calls, fired[0]["seq"])]
    problems += check_outcome(cloud, messages, output, seq, None)
    if target["kind"] == "playbook":
        # the playbook put the space back as it found it (non-production: SSH stays allowed there)
        pass
    assert not problems, "\n".join(problems) + f"\nerror: {messages}"


# --- malformed roster and policy files --------------------------------------------------------------------------------------

def broken_inventory(tmp: pathlib.Path, case: dict[str, t.Any]) -> pathlib.Path:
    inventory = tmp / "inventory"
    shutil.copytree(REPO / "inventories" / "rehearsal", inventory, symlinks=False)
    text = case["text"]
    for placeholder, length in (case.get("long") or {}).items():
        text = text.replace(placeholder, "x" * int(length))
    target = inventory / "group_vars" / "all" / case["file"]
    target.unlink()
    target.write_text(text, encoding="utf-8")
    return inventory


def test_malformed_roster_or_policy_is_refused_by_the_gate(cloud, case_id, tmp_path, request, module_env):
    record(request, "corpus", f"inventory:{case_id}")
    inventory = broken_inventory(tmp_path, CORPUS["inventories"][case_id])
    seq = inv.last_seq(cloud.home)
    proc = cloud.playbook("prod_db_copy", tmp_path, "reason=INC-42", f"ops_cf_cli={CF}",
                          f"rehearsal_home={cloud.home}", inventory=inventory)
    assert proc.returncode != 0, proc.stdout[-3000:]
    messages = inv.playbook_errors(proc.stdout)
    worded = True
    if not messages and CORPUS["inventories"][case_id].get("ansible_refuses"):
        # a file that is not YAML: Ansible itself refuses the inventory before any task, with its own [ERROR] line
        messages = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("[ERROR]")]
        worded = False
    problems = check_outcome(cloud, messages, proc.stdout + proc.stderr, seq, None, worded=worded)
    if inv.calls_since(cloud.home, seq):
        problems.append("cf ran although the roster or the policies are malformed")
    assert not problems, "\n".join(problems) + f"\nerror: {messages}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
