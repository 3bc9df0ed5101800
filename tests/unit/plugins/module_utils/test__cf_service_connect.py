# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The cf client's connect-to-service parser on the recorded block (cf-cli.md §3.14), and its background process."""

from __future__ import annotations

import pathlib
import signal
import sys
import time

import pytest
import yaml

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, stop_group
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfOutputError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_service_connect

REPO = pathlib.Path(__file__).resolve().parents[4]
CASE = yaml.safe_load((REPO / "tests" / "fixtures" / "cf_service_connect" / "no_client.yml").read_text())
REFERENCE = REPO.parent / "shared" / "reference" / "cf-cli.md"


def test_parses_the_recorded_block():
    assert parse_service_connect(CASE["stdout"]) == {
        "host": "localhost", "port": 54321, "username": "u_abc123", "password": "p_secret", "name": "db_name"}


@pytest.mark.parametrize("cut", ["Name: db_name\n", "Port: 54321\n", "SSH tunnel created.\n"])
def test_an_incomplete_block_is_refused_without_showing_the_output(cut):
    with pytest.raises(CfOutputError) as err:
        parse_service_connect(CASE["stdout"].replace(cut, ""))
    assert "p_secret" not in str(err.value) and err.value.stdout is None
    assert str(err.value).startswith("Failed to read the tunnel's connection information: ")


def test_a_non_numeric_port_is_refused():
    with pytest.raises(CfOutputError, match="numeric Port"):
        parse_service_connect(CASE["stdout"].replace("Port: 54321", "Port: http"))


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference/cf-cli.md is not present")
def test_the_recorded_block_is_the_reference():
    reference = REFERENCE.read_text(encoding="utf-8")
    assert CASE["stdout"] in reference.replace("```\n", "")
    assert "`YYYY/MM/DD HH:MM:SS Wrong number of arguments`" in reference


def test_spawn_runs_in_its_own_group_and_stop_group_ends_it(tmp_path):
    script = tmp_path / "cf"
    script.write_text(f"#!{sys.executable}\nimport signal, sys, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                      "print('SSH tunnel created.', flush=True)\ntime.sleep(60)\n")
    script.chmod(0o755)
    client = CfClient(cf_cli=str(script), cf_home=str(tmp_path))
    proc = client.spawn(["connect-to-service", "-no-client", "app", "db"], action="open the tunnel")
    assert proc.stdout.readline() == b"SSH tunnel created.\n"
    import os  # pylint: disable=import-outside-toplevel

    assert os.getpgid(proc.pid) == proc.pid
    started = time.monotonic()
    status = stop_group(proc, wait=0.5)
    assert status == -signal.SIGTERM, "SIGINT is ignored, SIGTERM ends it"
    assert time.monotonic() - started < 3
