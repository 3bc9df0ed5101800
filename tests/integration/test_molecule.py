# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every role's molecule scenario (extensions/molecule/<role>/), run with `molecule test` against a private rehearsal.

The scenarios share their base (extensions/molecule/config.yml) and run test roles laid out as ansible-test
integration targets (tests/integration/targets/<role>/), so a new role adds a short molecule.yml and its target; the
first test below fails until it does.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.playbooks import REPO, VENV_BIN, Rehearsal

MOLECULE = REPO / "extensions" / "molecule"
SCENARIOS = sorted(p.parent.name for p in MOLECULE.glob("*/molecule.yml"))
# Roles whose scenario is still to come, with the issue that brings the role (none).
PENDING: dict[str, str] = {}
# Scenarios that run with the SSO operator's login (a Space Manager): CI's service account may not allow space SSH.
OPERATOR = {"space_ssh_window"}
pytestmark = pytest.mark.slow


def test_every_role_has_a_scenario_and_a_shared_test_role():
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
    missing = [r for r in roles if r not in SCENARIOS and r not in PENDING]
    assert missing == [], f"roles without a molecule scenario: {missing}; add extensions/molecule/<role>/molecule.yml"
    assert not set(PENDING) & set(SCENARIOS), "a role with a scenario is still listed as pending"
    for scenario in SCENARIOS:
        target = REPO / "tests" / "integration" / "targets" / scenario
        assert (target / "tasks" / "main.yml").exists(), f"scenario {scenario} has no shared test role {target}"
        assert (target / "aliases").exists(), f"{target} needs an aliases file (ansible-test)"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_scenario_passes(scenario, tmp_path, capsys):
    rh = Rehearsal(tmp_path)
    subprocess.run([sys.executable, "-m", "rehearsal.personas", "--home", str(rh.home)], cwd=REPO, env=rh.env,
                   capture_output=True, check=True)
    # CI's service account: cf_session logs in with it, or copies the operator's SSO login when the scenario needs a
    # Space Manager. The approvals role needs no cf at all.
    if scenario in OPERATOR:
        rh.operator_login()
        login = {}
    else:
        login = rh.credentials
    env = {**rh.env, **login, "MOLECULE_NO_LOG": "false", "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1"}
    proc = subprocess.run([str(VENV_BIN / "molecule"), "test", "-s", scenario], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "converge" in output and "verify" in output
    # The converge ran the shared test role, under the audit log like a real run.
    records = rh.audit_records()
    assert any(r["event"] == "run_start" for r in records) and records[-1]["event"] == "run_end"
    assert rh.credentials["CF_PASSWORD"] not in output and rh.credentials["CF_PASSWORD"] not in rh.audit_log.read_text()
    with capsys.disabled():
        failed = [r for r in records if r["event"] == "task_failed"]
        print(f"\n[figures] molecule {scenario}: {len(records)} audit records, {len(failed)} expected task failures")
