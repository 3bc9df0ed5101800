# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared input checks the bad-input corpus relies on, one by one: the cf client's names check on cf's command
line, its one-line error texts, the gate's target and parameter checks, the emulator's respond fault."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _approval
from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfUsageError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.names import check_arguments
from ansible_collections.ttahub.ops.plugins.module_utils._errors import shown
from rehearsal import calllog, faults, seed
from tests.support.fake_cf import REPO

ACTION = "do something"


@pytest.mark.parametrize("args", [
    ["app", "tta-smarthub-prod", "--guid"],
    ["target", "-o", "hhs-acf-ohs-tta", "-s", "ttahub-prod"],
    ["delete-service-key", "-f", "ttahub-prod", "SERVICE_CONNECT"],
    ["connect-to-service", "-no-client", "tta-smarthub-prod", "ttahub-prod"],
    # free text stays free where cf reads free text: a command for cf ssh or a task, a JSON body for cf curl
    ["ssh", "tta-smarthub-staging", "-i", "0", "--process", "web", "-T", "-c", "ls -l $(pwd); echo `id` | tee x"],
    ["run-task", "tta-smarthub-prod", "--command", "yarn db:migrate:prod && echo done", "--name", "migrate; now"],
    ["curl", "/v3/spaces/4a7e/features/ssh", "-X", "PATCH", "-d", '{"enabled": false}'],
    ["curl", "/v3/organizations?names=hhs-acf-ohs-tta&per_page=5000"],
    ["api", "https://api.fr.cloud.gov"],
    ["version"],
])
def test_well_formed_command_lines_pass(args):
    check_arguments(args, ACTION)


@pytest.mark.parametrize(("args", "what"), [
    (["app", "--help", "--guid"], "app name '--help'"),
    (["app", "a;b", "--guid"], "app name 'a;b'"),
    (["space-ssh-allowed", "ttahub-prod/../x"], "space name"),
    (["target", "-o", "hhs-acf-ohs-tta", "-s", "-o=evil"], "space name '-o=evil'"),
    (["target", "-o", "tta\u202eorg", "-s", "ttahub-prod"], "org name 'tta\\u202eorg'"),
    (["delete-service-key", "-f", "ttahub-prod", "../../k"], "service key name"),
    (["connect-to-service", "-no-client", "tta-smarthub-prod", "$(id)"], "service instance name"),
    (["ssh", "tta-smarthub-prod", "--process", "web;id", "-c", "true"], "process type 'web;id'"),
    (["curl", "v3/apps"], "API path 'v3/apps'"),
    (["curl", "/v3/apps/../../v2/info"], "API path"),
    (["curl", "/v3/apps?names=a b"], "API path"),
])
def test_a_non_name_where_cf_reads_a_name_is_refused(args, what):
    with pytest.raises(CfUsageError) as err:
        check_arguments(args, ACTION)
    assert what in str(err.value)
    assert "\n" not in str(err.value)


def test_error_texts_are_one_line_and_cut():
    err = CfUsageError("find app " + "a" * 10000, "line\nbreak\x00nul\x1b[2K", "do\u202ethis")
    assert "\n" not in err.message and "\x00" not in err.message and "\x1b" not in err.message
    assert "\\n" in err.message and "\\x1b" in err.message and "\\u202e" in err.message
    assert "...(10009 characters)" not in err.message and "...(10000 characters)" in err.message
    assert len(err.message) < 400
    assert shown("tta-smarthub-pr\u043ed") == "'tta-smarthub-pr\\u043ed'"


def test_the_client_refuses_before_running_cf(tmp_path):
    client = CfClient(cf_cli=str(REPO / "rehearsal" / "bin" / "cf"), cf_home=str(tmp_path), environ={"PATH": "/usr/bin:/bin",
                                                                                                       "REHEARSAL_HOME": str(tmp_path / "r")})
    with pytest.raises(CfUsageError):
        client.run(["app", "x;touch y", "--guid"], action="find app")
    assert client.calls == 0 and not (tmp_path / "r" / "calls.jsonl").exists()


def test_the_gate_refuses_a_target_that_is_not_a_name():
    with pytest.raises(_approval.ApprovalError) as err:
        _approval.build_intent(sop="ssh_access", policy="ssh_access", environment="dev", org="hhs-acf-ohs-tta",
                               space="ttahub-dev", app="tta;id")
    assert err.value.reason == "invalid_target" and "target.app 'tta;id'" in err.value.message


@pytest.mark.parametrize("value", ["a\nb", "a\x00b", "\x1b[2Kx", "x\u202ey", "x\u200by", "a" * 4097])
def test_the_intent_refuses_unreadable_parameters(value):
    with pytest.raises(ValueError):
        _approval.build_intent(sop="scp_retrieve", policy="scp_retrieve", environment="dev", parameters={"remote_path": value})


def test_declared_checks_convert_whole_numbers_and_refuse_the_rest():
    intent = _approval.build_intent(sop="scp_retrieve", policy="scp_retrieve", environment="dev",
                                    parameters={"instance": "2", "process": "web"}, checks={"instance": "index", "process": "cf_name"})
    assert intent["parameters"] == {"instance": 2, "process": "web"}
    for parameters in ({"instance": "0;id"}, {"instance": "-1"}, {"instance": True}, {"instance": 10000}, {"process": "web;id"}):
        with pytest.raises(_approval.ApprovalError) as err:
            _approval.build_intent(sop="scp_retrieve", policy="scp_retrieve", environment="dev", parameters=parameters,
                                   checks={"instance": "index", "process": "cf_name"})
        assert err.value.reason == "invalid_parameters" and "is not" in err.value.message
    with pytest.raises(_approval.ApprovalError) as err:
        _approval.build_intent(sop="x", policy="x", environment="dev", parameters={"a": 1}, checks={"a": "integer"})
    assert err.value.reason == "invalid_declaration"


def test_the_respond_fault_prints_what_it_is_given(tmp_path):
    home = tmp_path / "r"
    seed.seed(home)
    faults.inject(home, match="space-ssh-allowed", action="respond", stdout="<html>502</html>\n", exit_code=0)
    proc = subprocess.run([str(REPO / "rehearsal" / "bin" / "cf"), "space-ssh-allowed", "ttahub-prod"], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "REHEARSAL_HOME": str(home), "CF_HOME": str(tmp_path)}, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "<html>502</html>\n", "")
    assert calllog.read(home)[-1]["fault"]["action"] == "respond"
