# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cf client's runner, API body handling and session directory, against a replaying fake cf."""

from __future__ import annotations

import json
import os
import time

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, query
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import (
    CfMissingError,
    CfNotAuthorizedError,
    CfNotFoundError,
    CfNotLoggedInError,
    CfOutputError,
    CfTimeoutError,
    CfUsageError,
)
from ansible_collections.ttahub.ops.plugins.module_utils._cf.session import (
    SESSION_MARKER,
    copy_operator_config,
    create_cf_home,
    remove_cf_home,
)
from tests.support.fake_cf import FakeCf, json_step, step


@pytest.fixture
def fake(tmp_path, monkeypatch):
    return FakeCf(tmp_path, monkeypatch)


def client(fake: FakeCf, tmp_path, **kw) -> CfClient:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return CfClient(cf_cli=str(fake.path), cf_home=str(home), **kw)


def test_run_forces_english_colourless_untraced_output_and_the_session_home(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("CF_TRACE", "true")
    monkeypatch.setenv("CF_COLOR", "true")
    monkeypatch.setenv("HOME", str(tmp_path / "operator"))
    monkeypatch.delenv("CF_HOME", raising=False)
    monkeypatch.delenv("CF_PLUGIN_HOME", raising=False)
    fake.plan([step(["apps"], stdout="No apps found\n")])
    result = client(fake, tmp_path).run(["apps"], action="list apps")
    assert result.rc == 0 and result.stdout == "No apps found\n"
    env = fake.calls[0]["env"]
    assert env["LANG"] == "en_US.UTF-8" and env["LC_ALL"] == "en_US.UTF-8"
    assert env["CF_COLOR"] == "false" and env["CF_TRACE"] == "false"
    assert env["CF_HOME"] == str(tmp_path / "home")
    # Plugins stay in the operator's home, not in the throwaway session.
    assert env["CF_PLUGIN_HOME"] == str(tmp_path / "operator")
    assert fake.calls[0]["stdin_tty"] is False


@pytest.mark.parametrize("bad", ["app\nname", "a\x00b", "x\ry"])
def test_arguments_with_line_breaks_or_nul_never_reach_cf(fake, tmp_path, bad):
    with pytest.raises(CfUsageError) as err:
        client(fake, tmp_path).run(["app", bad, "--guid"], action="find app")
    assert "NUL byte or a line break" in str(err.value)
    assert fake.calls == []


def test_a_hung_cf_is_killed_with_its_children_after_the_timeout(fake, tmp_path):
    fake.plan([{"argv": ["curl", "/"], "stdout": "", "stderr": "", "rc": 0, "sleep": 60}])
    begin = time.monotonic()
    with pytest.raises(CfTimeoutError) as err:
        client(fake, tmp_path, timeout=1).curl("/", action="read the API root")
    assert time.monotonic() - begin < 10
    assert str(err.value).startswith("Failed to read the API root: cf did not finish within 1 s and was stopped.")


def test_missing_cf_says_how_to_install_it(tmp_path):
    with pytest.raises(CfMissingError) as err:
        CfClient(cf_cli=str(tmp_path / "nope"))
    assert "Install the cf CLI v8" in str(err.value)
    with pytest.raises(CfMissingError) as err:
        CfClient(environ={"PATH": str(tmp_path)})
    assert "there is no `cf` on PATH" in str(err.value)


def test_curl_follows_pagination_to_the_last_page(fake, tmp_path):
    page1 = {
        "pagination": {
            "total_results": 3,
            "total_pages": 2,
            "next": {"href": "https://api.example.org/v3/apps?page=2&per_page=2"},
        },
        "resources": [{"guid": "a"}, {"guid": "b"}],
    }
    page2 = {"pagination": {"total_results": 3, "total_pages": 2, "next": None}, "resources": [{"guid": "c"}]}
    fake.plan(
        [json_step(["curl", "/v3/apps?per_page=2"], page1), json_step(["curl", "/v3/apps?page=2&per_page=2"], page2)]
    )
    assert [r["guid"] for r in client(fake, tmp_path).curl_all("/v3/apps?per_page=2", action="list apps")] == [
        "a",
        "b",
        "c",
    ]


def test_curl_sends_method_and_body_as_argv_items(fake, tmp_path):
    fake.plan(
        [
            json_step(
                ["curl", "/v3/spaces/S/features/ssh", "-X", "PATCH", "-d", '{"enabled":true}'],
                {"name": "ssh", "enabled": True},
            )
        ]
    )
    data = client(fake, tmp_path).curl(
        "/v3/spaces/S/features/ssh", action="allow SSH", method="PATCH", body={"enabled": True}
    )
    assert data["enabled"] is True


@pytest.mark.parametrize(
    ("body", "cls", "text"),
    [
        ("", CfOutputError, "empty body"),
        (
            "<html><body>502 Bad Gateway</body></html>",
            CfOutputError,
            "not JSON (<html><body>502 Bad Gateway</body></html>)",
        ),
        ('{"resources": [', CfOutputError, "not JSON"),
        (
            '{"errors":[{"code":10010,"title":"CF-ResourceNotFound","detail":"App not found"}]}',
            CfNotFoundError,
            "CF-ResourceNotFound (10010): App not found",
        ),
        (
            '{"errors":[{"code":10003,"title":"CF-NotAuthorized","detail":"You are not authorized to perform the requested action"}]}',
            CfNotAuthorizedError,
            "CF-NotAuthorized",
        ),
        (
            '{"description":"Unknown request","error_code":"CF-NotFound","code":10000}',
            CfNotFoundError,
            "CF-NotFound (10000): Unknown request",
        ),
        (
            '{"description":"Authentication error","error_code":"CF-NotAuthenticated","code":10002}',
            CfNotLoggedInError,
            "Authentication error",
        ),
    ],
)
def test_curl_bodies_that_are_errors_even_with_exit_0(fake, tmp_path, body, cls, text):
    fake.plan([step(["curl", "/v3/apps/x"], stdout=body + "\n", rc=0)])
    with pytest.raises(cls) as err:
        client(fake, tmp_path).curl("/v3/apps/x", action="read app x")
    assert text in str(err.value)
    assert str(err.value).startswith("Failed to read app x: ")


def test_jmespath_selects_the_web_process_like_the_seed_jq_step():
    processes = {"resources": [{"type": "worker", "guid": "w"}, {"type": "web", "guid": "web-guid"}]}
    assert query(processes, "resources[?type=='web'].guid | [0]") == "web-guid"
    assert query({"resources": []}, "resources[?type=='web'].guid | [0]") is None
    with pytest.raises(CfUsageError):
        query(processes, "resources[?type==")


def test_session_home_is_private_marked_and_only_ours_is_removed(tmp_path):
    path = create_cf_home(str(tmp_path), "run-1")
    assert os.stat(path).st_mode & 0o777 == 0o700
    assert json.load(open(os.path.join(path, SESSION_MARKER)))["run_id"] == "run-1"
    other = tmp_path / "not-ours"
    other.mkdir()
    with pytest.raises(CfUsageError):
        remove_cf_home(str(other))
    assert other.exists()
    assert remove_cf_home(path) is True
    assert not os.path.exists(path)
    assert remove_cf_home(path) is False


def test_copy_of_operator_login_is_private_and_leaves_the_original(tmp_path):
    operator = tmp_path / "operator" / ".cf"
    operator.mkdir(parents=True)
    (operator / "config.json").write_text('{"Target": "https://api.fr.cloud.gov"}')
    home = create_cf_home(str(tmp_path), "")
    copy_operator_config(home, {"HOME": str(tmp_path / "operator")})
    copied = os.path.join(home, ".cf", "config.json")
    assert os.stat(copied).st_mode & 0o777 == 0o600
    assert json.load(open(copied))["Target"] == "https://api.fr.cloud.gov"
    with pytest.raises(CfNotLoggedInError) as err:
        copy_operator_config(create_cf_home(str(tmp_path), ""), {"HOME": str(tmp_path / "nobody")})
    assert "cf login -a <cf_api> --sso" in str(err.value)
