# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_ssh_code
from tests.support.fake_cf import step
from tests.support.modules import run_main


def test_refuses_without_no_log_and_never_asks_cf(fake, cf_args, capsys):
    fake.plan([step(["ssh-code"], "ssh_code")])
    result = run_main(cf_ssh_code, cf_args, capsys)
    assert result["failed"] is True
    assert result["msg"] == (
        "Failed to get a one-time SSH code: the task does not set no_log: true, so the code could be displayed or logged. "
        "Add no_log: true to the task."
    )
    assert fake.argvs == []


def test_returns_the_code_under_no_log(fake, cf_args, capsys):
    fake.plan([step(["ssh-code"], "ssh_code", CODE="Zq81bT")])
    result = run_main(cf_ssh_code, cf_args, capsys, no_log=True)
    assert result["code"] == "Zq81bT" and result["changed"] is False


def test_a_failed_code_request_keeps_the_output_out_of_the_error(fake, cf_args, capsys):
    fake.plan(
        [
            step(
                ["ssh-code"],
                stdout="\nFAILED\n",
                stderr="The token expired, was revoked, or the token ID is incorrect. Please log back in to re-authenticate.\n",
                rc=1,
            )
        ]
    )
    result = run_main(cf_ssh_code, cf_args, capsys, no_log=True)
    assert result["failed"] is True and result["error_kind"] == "token_expired"
    assert "stdout" not in result
