# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/support/uthelper.py can fail: deliberately wrong cases (a wrong, missing or extra cf call, a wrong result)
fail, malformed ones are refused when loaded, and every test_*.yaml here is run by its test_*.py."""

from __future__ import annotations

import copy
import pathlib

import pytest

from ansible_collections.ttahub.ops.plugins.modules import cf_space_ssh
from tests.support import uthelper

HERE = pathlib.Path(__file__).resolve().parent
READ = {"argv": ["space-ssh-allowed", "ttahub-prod"], "fixture": "space_ssh_allowed_disabled"}
ALLOW = {"argv": ["allow-space-ssh", "ttahub-prod"], "fixture": "allow_space_ssh"}
GOOD = {
    "id": "allows",
    "input": {"space": "ttahub-prod", "state": "allowed"},
    "values": {"SPACE": "ttahub-prod"},
    "calls": [READ, ALLOW],
    "output": {"changed": True, "allowed": True, "before": False},
}
NOT_AUTHORIZED_MSG = (
    "Failed to allow SSH in space ttahub-prod: cloud.gov says you are not authorized to perform the requested action. "
    "Ask an Org Manager to grant the needed role (Space Developer for apps and tasks, Space Manager for space SSH)."
)


def variant(**changes):
    spec = copy.deepcopy(GOOD)
    spec.update(copy.deepcopy(changes))
    return spec


def run(spec, tmp_path, monkeypatch, capsys):
    return uthelper.run_case(cf_space_ssh, uthelper.make_case(spec, {}), tmp_path, monkeypatch, capsys)


def test_the_good_case_passes(tmp_path, monkeypatch, capsys):
    result = run(GOOD, tmp_path, monkeypatch, capsys)
    assert result["changed"] is True


WRONG = {
    "wrong_argv": (
        variant(calls=[READ, {"argv": ["disallow-space-ssh", "ttahub-prod"], "fixture": "disallow_space_ssh"}]),
        "cf calls differ",
    ),
    "wrong_argument": (
        variant(calls=[READ, {"argv": ["allow-space-ssh", "ttahub-dev"], "fixture": "allow_space_ssh",
                              "values": {"SPACE": "ttahub-dev"}}]),
        "cf calls differ",
    ),
    "missing_call": (variant(calls=[READ]), "cf calls differ"),
    "extra_call": (
        variant(calls=[READ | {"fixture": "space_ssh_allowed_enabled"}, ALLOW], output={"changed": False}),
        "cf calls differ",
    ),
    "calls_in_check_mode": (variant(flags={"check": True}), "cf calls differ"),
    "wrong_changed": (variant(output={"changed": False}), "'changed'"),
    "wrong_value": (variant(output={"changed": True, "before": True}), "'before'"),
    "no_such_value": (variant(output={"changed": True, "allowd": True}), "has no 'allowd'"),
    "value_that_must_be_absent": (variant(absent=["audit_events"]), "the result has 'audit_events'"),
    "success_expected_but_failed": (
        variant(calls=[READ, ALLOW | {"fixture": "allow_space_ssh_not_authorized"}]),
        "the module failed",
    ),
    "failure_expected_but_succeeded": (variant(output={"failed": True, "msg": NOT_AUTHORIZED_MSG}), "did not fail"),
    "wrong_msg": (
        variant(calls=[READ, ALLOW | {"fixture": "allow_space_ssh_not_authorized"}],
                output={"failed": True, "msg": NOT_AUTHORIZED_MSG.replace("Space Manager", "Space Developer")}),
        "'msg'",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_case_fails(name, tmp_path, monkeypatch, capsys):
    spec, message = WRONG[name]
    with pytest.raises(AssertionError, match=message):
        run(spec, tmp_path, monkeypatch, capsys)


def test_the_right_failure_case_passes(tmp_path, monkeypatch, capsys):
    spec = variant(calls=[READ, ALLOW | {"fixture": "allow_space_ssh_not_authorized"}],
                   output={"failed": True, "msg": NOT_AUTHORIZED_MSG, "error_kind": "not_authorized"})
    assert run(spec, tmp_path, monkeypatch, capsys)["failed"] is True


MALFORMED = {
    "unknown_case_key": (variant(ouput={"changed": True}), "unknown keys \\['ouput'\\]"),
    "unknown_call_key": (variant(calls=[READ, ALLOW | {"stdot": "x"}]), "unknown keys \\['stdot'\\]"),
    "unknown_flag": (variant(flags={"chek": True}), "unknown keys \\['chek'\\]"),
    "output_of_another_call": (
        variant(calls=[READ, ALLOW | {"fixture": "disallow_space_ssh"}]),
        "records the output of cf \\['disallow-space-ssh'",
    ),
    "fixture_values_of_another_space": (
        variant(calls=[READ, ALLOW | {"values": {"SPACE": "ttahub-dev"}}]),
        "records the output of cf \\['allow-space-ssh', 'ttahub-dev'\\]",
    ),
    "no_such_placeholder": (variant(calls=[READ, ALLOW | {"values": {"APP": "x"}}]), "has no placeholders \\['APP'\\]"),
    "no_such_fixture": (variant(calls=[READ, ALLOW | {"fixture": "allow_space_sh"}]), "no fixture allow_space_sh"),
    "fixture_and_inline": (variant(calls=[READ, ALLOW | {"rc": 1}]), "not both"),
    "no_output_at_all": (variant(calls=[READ, {"argv": ["allow-space-ssh", "ttahub-prod"]}]), "give the output"),
    "pasted_cf_output": (
        variant(calls=[{"argv": ["space-ssh-allowed", "ttahub-prod"],
                        "stdout": "ssh support is disabled in space 'ttahub-prod'.\n"}, ALLOW]),
        "recorded in fixture space_ssh_allowed_disabled",
    ),
    "pasted_cf_error": (
        variant(calls=[READ, {"argv": ["allow-space-ssh", "ttahub-prod"], "rc": 1,
                              "stderr": "You are not authorized to perform the requested action\n"}]),
        "recorded in fixture allow_space_ssh_not_authorized",
    ),
    "pasted_cc_body": (
        variant(calls=[READ, {"argv": ["curl", "/v3/apps"],
                              "json": {"description": "Authentication error", "error_code": "CF-NotAuthenticated",
                                       "code": 10002}}]),
        "recorded in fixture curl_not_authenticated",
    ),
    "failure_without_msg": (variant(output={"failed": True}), "exact msg"),
    "success_without_changed": (variant(output={"allowed": True}), "whether it changed"),
    "calls_not_listed": (variant(calls=None), "calls must list every cf call"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_case_is_refused(name):
    spec, message = MALFORMED[name]
    with pytest.raises(uthelper.CaseError, match=message):
        uthelper.make_case(spec, {})


def test_a_file_with_duplicate_ids_is_refused(tmp_path):
    path = tmp_path / "test_x.yaml"
    path.write_text("cases:\n  - {id: a, input: {}, calls: [], output: {changed: false}}\n"
                    "  - {id: a, input: {}, calls: [], output: {changed: false}}\n", encoding="utf-8")
    with pytest.raises(uthelper.CaseError, match="duplicate case ids \\['a'\\]"):
        uthelper.load(path)


@pytest.mark.parametrize("path", sorted(HERE.glob("test_*.yaml")), ids=lambda p: p.name)
def test_every_yaml_file_is_run_by_its_test_module(path):
    binding = path.with_suffix(".py")
    assert binding.is_file(), f"{path.name} has no {binding.name} to run it"
    module = path.stem.removeprefix("test_")
    assert f"uthelper.cases({module}, __file__)" in binding.read_text(encoding="utf-8")
    assert uthelper.load(path)
