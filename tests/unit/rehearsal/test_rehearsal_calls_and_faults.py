# SPDX-License-Identifier: GPL-3.0-or-later
"""The call log, fault injection, concurrency, and the commands whose output comes from cf's source."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import CF, REPO, Rehearsal

from rehearsal import DEPLOYER, ORG_NAME, calllog, faults
from rehearsal import world as world_mod
from rehearsal.commands import resolve
from rehearsal.commands.base import parse
from rehearsal.ui import CfError, FlagError, bytefmt, table


def test_the_call_log_records_each_call_without_secrets(ttahub: Rehearsal) -> None:
    password = ttahub.credentials()["CF_PASSWORD"]
    code = world_mod.issue_passcode(ttahub.home)
    ttahub.cf("auth", DEPLOYER, password)
    ttahub.cf("login", "-a", "api.rehearsal.cloud.gov.invalid", f"--sso-passcode={code}", "-o", ORG_NAME)
    ttahub.cf("auth", env={"CF_USERNAME": DEPLOYER, "CF_PASSWORD": password})
    ssh_code = ttahub.cf("ssh-code").stdout.strip()
    ttahub.cf("curl", "-H", "Authorization: bearer abc.def", "/")
    records = calllog.read(ttahub.home)
    assert [r["argv"][0] for r in records] == ["auth", "login", "auth", "ssh-code", "curl"]
    assert records[0]["argv"] == ["auth", DEPLOYER, "[REDACTED]"]
    assert records[1]["argv"][3] == "--sso-passcode=[REDACTED]"
    assert records[4]["argv"][2] == "Authorization: [REDACTED]"
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    for record in records:
        assert set(record) == {"seq", "time", "argv", "exit_code", "duration_s", "cf_home", "pid", "fault"}
        assert record["cf_home"] == str(ttahub.cf_home) and 0 <= record["duration_s"] < 10
    assert [r["exit_code"] for r in records] == [0, 0, 0, 0, 0]
    log = (ttahub.home / "calls.jsonl").read_text(encoding="utf-8")
    for secret in (password, code, ssh_code, "abc.def", ttahub.config()["AccessToken"].split()[1]):
        assert secret not in log
    shown = subprocess.run([sys.executable, "-m", "rehearsal", "calls", "--home", str(ttahub.home)], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout
    assert shown.count("\n") == 5 and "cf auth ttahub-rehearsal-deployer '[REDACTED]'" in shown


@pytest.mark.parametrize("argv, expected", [
    (["auth", "u", "p"], ["auth", "u", "[REDACTED]"]),
    (["auth", "--origin", "uaa", "u", "p"], ["auth", "--origin", "uaa", "u", "[REDACTED]"]),
    (["-v", "login", "-u", "u", "-p", "p", "-a", "x"], ["-v", "login", "-u", "u", "-p", "[REDACTED]", "-a", "x"]),
    (["login", "-pSECRET"], ["login", "-p[REDACTED]"]),
    (["login", "--sso-passcode", "c"], ["login", "--sso-passcode", "[REDACTED]"]),
    (["apps"], ["apps"]),
    (["not-a-command", "-p", "x"], ["not-a-command", "-p", "[REDACTED]"]),
])
def test_redact_argv(argv: list[str], expected: list[str]) -> None:
    assert calllog.redact_argv(argv) == expected


def test_a_fail_fault_hits_the_next_matching_call_once(ttahub: Rehearsal) -> None:
    faults.inject(ttahub.home, match="allow-space-ssh", action="fail")
    assert ttahub.cf("apps").returncode == 0, "another command is not affected"
    failed = ttahub.cf("allow-space-ssh", "ttahub-dev")
    assert failed.returncode == 1 and failed.stdout == "FAILED\n"
    assert failed.stderr.startswith("Unexpected Response\nResponse Code: 500\nRequest ID:    ")
    assert ttahub.cf("allow-space-ssh", "ttahub-dev").returncode == 0, "times=1"
    records = calllog.read(ttahub.home)
    assert [r["fault"]["action"] if r["fault"] else None for r in records] == [None, "fail", None]


def test_a_fault_on_the_nth_call_with_custom_text(ttahub: Rehearsal) -> None:
    faults.inject(ttahub.home, nth=3, times=2, stderr="Request error: boom", exit_code=1)
    results = [ttahub.cf("app", "tta-smarthub-prod", "--guid") for _attempt in range(5)]
    assert [r.returncode for r in results] == [0, 0, 1, 1, 0]
    assert results[2].stderr == "Request error: boom\n"
    assert faults.load(ttahub.home)["rules"][0]["fired_seqs"] == [3, 4]


def test_a_hang_fault_is_logged_and_sleeps_until_killed(ttahub: Rehearsal) -> None:
    faults.inject(ttahub.home, match="apps", action="hang")
    with pytest.raises(subprocess.TimeoutExpired):
        ttahub.cf("apps", timeout=1.0)
    record = calllog.read(ttahub.home)[-1]
    assert (record["argv"], record["exit_code"], record["fault"]["action"]) == (["apps"], None, "hang")


def test_garbage_faults(ttahub: Rehearsal) -> None:
    faults.inject(ttahub.home, match="curl", action="garbage")
    raw = subprocess.run([str(CF), "curl", "/v3/apps"], env=ttahub.env, capture_output=True, check=False)
    assert raw.returncode == 0
    with pytest.raises((UnicodeDecodeError, json.JSONDecodeError)):
        json.loads(raw.stdout.decode("utf-8"))
    faults.inject(ttahub.home, match="allow-space-ssh", action="garbage", apply=True)
    world_mod.set_space_ssh(ttahub.home, "ttahub-dev", False)
    ttahub.login("operator@rehearsal.gov", org=ORG_NAME)
    raw = subprocess.run([str(CF), "allow-space-ssh", "ttahub-dev"], env=ttahub.env, capture_output=True, check=False)
    assert raw.returncode == 0 and b"\xff\xfe" in raw.stdout and raw.stdout.startswith(b"Enabling ssh")
    assert world_mod.load(ttahub.home)["spaces"], "apply=True: the command itself ran"
    assert ttahub.cf("space-ssh-allowed", "ttahub-dev").stdout == "ssh support is enabled in space 'ttahub-dev'.\n"


def test_latency(ttahub: Rehearsal) -> None:
    faults.set_latency(ttahub.home, 300)
    started = time.monotonic()
    assert ttahub.cf("apps").returncode == 0
    assert time.monotonic() - started >= 0.3
    assert calllog.read(ttahub.home)[-1]["duration_s"] >= 0.3
    faults.clear(ttahub.home)
    assert faults.load(ttahub.home) == {"latency_ms": 0, "rules": []}
    with pytest.raises(ValueError):
        faults.inject(ttahub.home, action="explode")


def test_concurrent_cf_processes_do_not_lose_writes(ttahub: Rehearsal) -> None:
    world_mod.set_task_behaviour(ttahub.home, "echo *", seconds=None)

    def run(i: int) -> subprocess.CompletedProcess[str]:
        return ttahub.cf("run-task", "tta-smarthub-prod", "--command", f"echo {i}", "--name", f"t{i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(8)))
    assert all(r.returncode == 0 for r in results), results
    ids = sorted(int(r.stdout.split("task id:")[1].split()[0]) for r in results)
    assert ids == list(range(1, 9))
    assert len(world_mod.load(ttahub.home)["tasks"]) == 8
    assert sorted(r["seq"] for r in calllog.read(ttahub.home)) == list(range(1, 9))


def test_db_validation_task_logs_the_counts_audit_records(ttahub: Rehearsal) -> None:
    world_mod.set_task_behaviour(ttahub.home, "yarn db:validation", seconds=0.2, runner="db_validation")
    result = ttahub.cf("run-task", "tta-smarthub-prod", "--command", "yarn db:validation", "--name", "counts", "--wait")
    assert result.returncode == 0, result
    lines = [line for line in ttahub.cf("logs", "tta-smarthub-prod", "--recent").stdout.splitlines()
             if "[APP/TASK/counts/0] OUT {" in line]
    records = [json.loads(line.split(" OUT ", 1)[1]) for line in lines]
    assert {r["label"] for r in records} == {"AUDIT"} and len(records) == 10
    messages = [r["message"] for r in records]
    dataset = world_mod.load(ttahub.home)["datasets"]["ttahub-prod"]
    assert any(m.startswith(f"Users has {dataset['tables']['Users']['count']} records, last updated at: ") for m in messages)
    grants = json.loads(next(m for m in messages if m.startswith("Grants data counts: ")).split(": ", 1)[1])
    assert grants[0] == {"regionId": 1, "status": "Active", "count": dataset["grants_counts"][0]["count"]}
    assert list(grants[0]) == ["regionId", "status", "count"]


def test_logs_stream_until_interrupted(ttahub: Rehearsal) -> None:
    proc = subprocess.Popen([str(CF), "logs", "tta-smarthub-prod"], env=ttahub.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        world_mod.add_log_line(ttahub.home, "ttahub-prod", "tta-smarthub-prod", "hello from web")
        shown = [proc.stdout.readline(), proc.stdout.readline()]
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert header == (f"Retrieving logs for app tta-smarthub-prod in org hhs-acf-ohs-tta / space ttahub-prod "
                      f"as {DEPLOYER}...\n")
    assert shown[0] == "\n" and shown[1].endswith(" [APP/PROC/WEB/0] OUT hello from web\n"), shown
    assert "Listening on port 8080" not in shown[1], "streaming shows only new lines"


def test_service_keys_and_delete_service_key(ttahub: Rehearsal) -> None:
    empty = ttahub.cf("service-keys", "ttahub-prod")
    assert empty.stdout == (f"Getting keys for service instance ttahub-prod as {DEPLOYER}...\n\n"
                            "No service keys for service instance ttahub-prod\n")
    ttahub.cf("create-service-key", "ttahub-prod", "SERVICE_CONNECT")
    listed = ttahub.cf("service-keys", "ttahub-prod").stdout.splitlines()
    assert listed[2:] == ["name              last operation     message", "SERVICE_CONNECT   create succeeded   "]
    cancelled = ttahub.cf("delete-service-key", "ttahub-prod", "SERVICE_CONNECT", stdin="n\n")
    assert cancelled.stdout.endswith("Delete cancelled\n")
    deleted = ttahub.cf("delete-service-key", "ttahub-prod", "SERVICE_CONNECT", "-f")
    assert deleted.stdout == (f"Deleting key SERVICE_CONNECT for service instance ttahub-prod as {DEPLOYER}...\n"
                              "OK\n\n")
    again = ttahub.cf("delete-service-key", "ttahub-prod", "SERVICE_CONNECT", "-f")
    assert again.returncode == 0 and again.stdout.endswith(
        "\nService key SERVICE_CONNECT does not exist for service instance ttahub-prod.\nOK\n\n")


def test_help_unknown_and_unemulated_commands(rehearsal: Rehearsal) -> None:
    rehearsal.seed()
    assert rehearsal.cf("app", "-h").stdout.startswith("NAME:\n   app - Display health and status for an app\n")
    assert rehearsal.cf("help", "rt").stdout.startswith("NAME:\n   run-task - Run a one-off task on an app\n")
    typo = rehearsal.cf("logn")
    assert (typo.returncode, typo.stdout) == (1, "")
    assert typo.stderr == ("'logn' is not a registered command. See 'cf help -a'\n\nDid you mean?\n"
                           "    login\n    logs\n")
    scale = rehearsal.cf("scale", "my-app", "-i", "2")
    assert (scale.returncode, scale.stdout, scale.stderr) == (1, "FAILED\n",
                                                              "The rehearsal cloud does not emulate 'cf scale'.\n")


def test_the_wrapper_runs_under_the_default_python3(rehearsal: Rehearsal) -> None:
    """bin/cf with the machine's python3 (3.11 here): the emulator must not need a newer Python."""
    rehearsal.seed()
    env = {k: v for k, v in rehearsal.env.items() if k != "REHEARSAL_PYTHON"}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    result = subprocess.run([str(CF), "version"], env=env, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (0, "cf version 8.7.10+5b7ce3c.2024-04-04\n"), result


@pytest.mark.parametrize("size, text", [(0, "0"), (1023, "1023B"), (1024, "1K"), (16384, "16K"),
                                        (102865715, "98.1M"), (512 * 2 ** 20, "512M"), (2 ** 30, "1G")])
def test_bytefmt(size: int, text: str) -> None:
    assert bytefmt(size) == text


def test_table_pads_all_but_the_last_column_and_drops_empty_rows() -> None:
    assert table([["name:", "x"], [], ["buildpacks:", ""]]) == "name:         x\nbuildpacks:   \n"
    assert table([["a", "bb"], ["ccc", ""]], prefix="\t") == "\ta     bb\n\tccc   \n"


@pytest.mark.parametrize("argv, error", [
    (["apps", "--labels"], FlagError("expected argument for flag `--labels'")),
    (["create-service-key", "si"], FlagError("the required argument `SERVICE_KEY` was not provided")),
    (["terminate-task"], FlagError("the required arguments `APP_NAME` and `TASK_ID` were not provided")),
    (["app", "a", "b"], CfError('Incorrect Usage: unexpected argument "b"')),
])
def test_parse_errors(argv: list[str], error: Exception) -> None:
    cmd = resolve(argv[0])
    with pytest.raises(type(error)) as raised:
        parse(cmd, argv[1:])
    assert raised.value.message == error.message  # type: ignore[attr-defined]


def test_parse_go_flags_forms() -> None:
    args = parse(resolve("run-task"), ["my-app", "-cecho hi", "--name=n", "-w", "-m", "1G"])
    assert (args["APP_NAME"], args["command"], args["name"], args["wait"], args["m"]) == (
        "my-app", "echo hi", "n", True, "1G")
    assert parse(resolve("curl"), ["/v3", "-H", "A: 1", "-H", "B: 2"])["H"] == ["A: 1", "B: 2"]
