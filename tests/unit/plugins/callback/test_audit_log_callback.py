# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit_log callback: its record-building functions with plain dicts, then the plugin with stand-in objects
(never a TaskResult)."""

from __future__ import annotations

import json
import os
import types

import pytest

from ansible_collections.ttahub.ops.plugins.callback import audit_log as cb
from ansible_collections.ttahub.ops.plugins.module_utils import _audit

MASK = _audit.MASK


# -- run id and names ----------------------------------------------------------------------------------------------------


def test_ensure_run_id_sets_a_uuid4_when_missing():
    environ = {}
    run_id = cb.ensure_run_id(environ)
    assert environ[cb.RUN_ID_ENV] == run_id and len(run_id) == 36 and run_id[14] == "4"


@pytest.mark.parametrize(("environ", "kept"), [({"TTAHUB_OPS_RUN_ID": "given"}, True), ({"TTAHUB_OPS_RUN_ID": ""}, False)])
def test_ensure_run_id_keeps_a_given_id(environ, kept):
    run_id = cb.ensure_run_id(environ)
    assert (run_id == "given") is kept and environ["TTAHUB_OPS_RUN_ID"] == run_id


@pytest.mark.parametrize(
    ("argv", "index", "expected"),
    [
        (["playbooks/prod_db_copy.yml"], 0, "prod_db_copy"),
        (["ttahub.ops.audit_verify"], 0, "ttahub.ops.audit_verify"),
        (["a.yaml", "/abs/b.yml"], 1, "b"),
        ([], 0, "fallback"),
    ],
)
def test_playbook_name(argv, index, expected):
    assert cb.playbook_name(argv, index, "/x/fallback.yml") == expected


def test_run_start_fields_record_extra_var_names_only():
    fields = cb.run_start_fields(
        playbook="/repo/playbooks/scp_retrieve.yml",
        name="scp_retrieve",
        inventory=["/repo/inventories/production"],
        check_mode=True,
        extra_vars={"remote_path": "/tmp/x", "app": "tta-smarthub-prod"}.keys(),
        limit=None,
        controller="laptop",
        ansible="2.21.5",
        python="3.13.0",
    )
    assert fields == {
        "playbook": "/repo/playbooks/scp_retrieve.yml",
        "playbook_name": "scp_retrieve",
        "inventory": ["/repo/inventories/production"],
        "check_mode": True,
        "extra_vars": ["app", "remote_path"],
        "controller": "laptop",
        "ansible_version": "2.21.5",
        "python_version": "3.13.0",
    }


def test_run_start_fields_limit():
    fields = cb.run_start_fields(
        playbook="p", name="p", inventory=[], check_mode=False, extra_vars=[], limit="localhost", controller="c",
        ansible="a", python="p",
    )
    assert fields["limit"] == "localhost" and fields["check_mode"] is False


def test_play_start_fields():
    assert cb.play_start_fields("Copy the data", ["localhost"]) == {"play": "Copy the data", "hosts": ["localhost"]}


# -- task records --------------------------------------------------------------------------------------------------------

TASK = {"task": "Open SSH for the space", "action": "ttahub.ops.cf_space_ssh", "host": "localhost"}


@pytest.mark.parametrize(
    ("status", "result", "event", "extra"),
    [
        ("ok", {"changed": False, "msg": "nothing to do"}, "task_ok", {"msg": "nothing to do"}),
        ("ok", {"changed": True}, "task_changed", {}),
        ("failed", {"changed": False, "msg": "cf failed", "rc": 1}, "task_failed", {"msg": "cf failed", "rc": 1}),
        ("skipped", {"skipped": True, "skip_reason": "Conditional result was False"}, "task_skipped",
         {"msg": "Conditional result was False"}),
        ("unreachable", {"unreachable": True, "msg": "no route"}, "task_unreachable", {"msg": "no route"}),
    ],
)
def test_task_record_events(status, result, event, extra):
    got_event, fields = cb.task_record(status, result=result, **TASK)
    assert got_event == event
    assert fields == dict(TASK, changed=bool(result.get("changed")), **extra)


def test_task_record_ignored_failure():
    fields = cb.task_record("failed", result={"msg": "x", "rc": 2}, ignore_errors=True, **TASK)[1]
    assert fields["ignored"] is True and fields["rc"] == 2


def test_task_record_keeps_only_curated_fields():
    result = {
        "changed": True,
        "msg": "done",
        "stdout": "lots of output",
        "invocation": {"module_args": {"password": "hunter2"}},
        "cmd": ["cf", "auth"],
        "audit_events": [{"event": "x"}],
    }
    fields = cb.task_record("ok", result=result, **TASK)[1]
    assert set(fields) == {"task", "action", "host", "changed", "msg"}


@pytest.mark.parametrize(
    ("no_log", "result"),
    [
        (True, {"changed": True, "msg": "secret-value", "audit_events": [{"event": "x"}]}),
        (False, {"changed": True, "censored": "the output has been hidden due to the fact that 'no_log: true' was specified"}),
        (False, {"changed": True, "msg": "secret-value", "_ansible_no_log": True}),
    ],
)
def test_no_log_records_only_that_output_was_hidden(no_log, result):
    fields = cb.task_record("ok", result=result, no_log=no_log, **TASK)[1]
    assert fields == dict(TASK, changed=True, no_log=True, msg=cb.NO_LOG_MSG)
    assert cb.audit_event_records(result, no_log=no_log, **TASK) == []


def test_task_record_masks_msg_task_and_host():
    fields = cb.task_record(
        "failed",
        result={"msg": "cf auth failed: CF_PASSWORD=hunter2 rejected"},
        task="Log in with token=abc123",
        action="ttahub.ops.cf_session",
        host="localhost",
    )[1]
    assert fields["msg"] == f"cf auth failed: CF_PASSWORD={MASK} rejected"
    assert fields["task"] == f"Log in with token={MASK}"


def test_task_record_non_string_msg_is_compact_json_and_masked():
    fields = cb.task_record("ok", result={"msg": {"user": "ops", "password": "hunter2"}}, **TASK)[1]
    assert fields["msg"] == '{"password":"%s","user":"ops"}' % MASK


def test_task_record_msg_is_short():
    fields = cb.task_record("failed", result={"msg": "x" * 5000}, **TASK)[1]
    assert len(fields["msg"]) == cb.MSG_LIMIT and fields["msg"].endswith("...")


def test_mask_uses_ansible_mask_secrets_when_available(monkeypatch):
    monkeypatch.setattr(cb, "_mask_secrets", lambda text: text.replace("registered-value", "$REDACTED$"))
    fields = cb.task_record("ok", result={"msg": "got registered-value"}, **TASK)[1]
    assert fields["msg"] == "got $REDACTED$"
    events = cb.audit_event_records({"audit_events": [{"event": "e", "note": "registered-value"}]}, **TASK)
    assert events[0][1]["note"] == "$REDACTED$"


# -- audit events --------------------------------------------------------------------------------------------------------


def test_audit_event_records_one_per_entry_in_order():
    result = {
        "changed": True,
        "audit_events": [
            {"event": "ssh_window_opened", "space": "ttahub-prod", "until": "2026-11-28T10:00:00Z"},
            {"event": "ssh_code_issued", "code": "804213", "app": "tta-smarthub-prod"},
        ],
    }
    assert cb.audit_event_records(result, **TASK) == [
        ("ssh_window_opened", dict(TASK, space="ttahub-prod", until="2026-11-28T10:00:00Z")),
        ("ssh_code_issued", dict(TASK, code=MASK, app="tta-smarthub-prod")),
    ]


def test_audit_event_nested_secrets_are_masked():
    result = {"audit_events": [{"event": "e", "detail": {"auth": {"token": "t0k3n"}, "list": [{"password": "p"}]}}]}
    fields = cb.audit_event_records(result, **TASK)[0][1]
    assert fields["detail"] == {"auth": {"token": MASK}, "list": [{"password": MASK}]}


def test_audit_event_fields_cannot_override_context():
    result = {"audit_events": [{"event": "e", "host": "ssh.fr.cloud.gov", "operator": "mallory", "prev": "x", "time": "t"}]}
    fields = cb.audit_event_records(result, **TASK)[0][1]
    assert fields["host"] == "localhost"
    assert fields["field_host"] == "ssh.fr.cloud.gov" and fields["field_operator"] == "mallory"
    assert fields["field_prev"] == "x" and fields["field_time"] == "t"
    assert "operator" not in fields and "prev" not in fields


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("not a dict", "not a mapping"),
        ({"space": "x"}, "no event name"),
        ({"event": ""}, "no event name"),
        ({"event": 3}, "no event name"),
        ({"event": "run_end"}, "reserved event name run_end"),
        ({"event": "task_ok"}, "reserved event name task_ok"),
    ],
)
def test_malformed_audit_events_are_recorded_as_invalid(entry, reason):
    [(event, fields)] = cb.audit_event_records({"audit_events": [entry]}, **TASK)
    assert event == "audit_event_invalid" and reason in fields["reason"] and fields["task"] == TASK["task"]


def test_audit_events_of_loop_items_except_hidden_ones():
    result = {
        "results": [
            {"item": 1, "audit_events": [{"event": "a", "n": 1}]},
            {"item": 2, "censored": "hidden", "audit_events": [{"event": "b"}]},
            {"item": 3, "audit_events": [{"event": "c", "n": 3}]},
        ]
    }
    assert [record[0] for record in cb.audit_event_records(result, **TASK)] == ["a", "c"]


def test_no_audit_events():
    assert cb.audit_event_records({"changed": True}, **TASK) == []


# -- operator, cf user, run end ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "result", "user"),
    [
        ("ttahub.ops.cf_session", {"user": "operator@example.gov", "cf_home": "/dev/shm/x"}, "operator@example.gov"),
        ("ttahub.ops.cf_session", {"changed": True}, None),
        ("ttahub.ops.cf_session", {"censored": "hidden", "user": "x"}, None),
        ("ttahub.ops.cf_curl", {"user": "someone"}, None),
    ],
)
def test_cf_user_from_result(action, result, user):
    assert cb.cf_user_from_result(action, result) == user


def test_with_context():
    assert cb.with_context({"a": 1}, operator="ops", environment=None, cf_user=None) == {"a": 1, "operator": "ops"}
    assert cb.with_context({"a": 1}, operator="ops", environment="production", cf_user="u@x") == {
        "a": 1, "operator": "ops", "environment": "production", "cf_user": "u@x",
    }


STATS_OK = {"localhost": {"ok": 5, "failures": 0, "unreachable": 0, "changed": 2, "skipped": 1, "rescued": 0, "ignored": 1}}


@pytest.mark.parametrize(
    ("summaries", "expected"),
    [
        (STATS_OK, "success"),
        ({"localhost": dict(STATS_OK["localhost"], failures=1)}, "failed"),
        ({"a": STATS_OK["localhost"], "b": dict(STATS_OK["localhost"], unreachable=1)}, "failed"),
        ({}, "success"),
    ],
)
def test_outcome(summaries, expected):
    assert cb.outcome(summaries) == expected
    assert cb.run_end_fields(summaries, 1.23456)["outcome"] == expected


def test_run_end_fields():
    assert cb.run_end_fields(STATS_OK, 12.34567) == {"outcome": "success", "stats": STATS_OK, "duration_s": 12.346}
    assert cb.run_end_fields(STATS_OK, 1.0, "aborted")["outcome"] == "aborted"


# -- the plugin with stand-in objects ------------------------------------------------------------------------------------


class FakeDisplay:
    verbosity = 0

    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, msg, *args, **kwargs):
        self.errors.append(msg)

    def warning(self, msg, *args, **kwargs):
        self.warnings.append(msg)


class FakeTask:
    def __init__(self, name, action, no_log=False):
        self._name, self.resolved_action, self.action, self.no_log = name, action, action, no_log

    def get_name(self):
        return self._name


def fake_result(name, action, data, no_log=False):
    host = types.SimpleNamespace(get_name=lambda: "localhost")
    return types.SimpleNamespace(task=FakeTask(name, action, no_log), host=host, result=data)


def fake_play(name="Do the thing"):
    return types.SimpleNamespace(get_name=lambda: name, hosts=["localhost"])


class FakeStats:
    processed = {"localhost": 1}

    @staticmethod
    def summarize(host):
        return STATS_OK[host]


@pytest.fixture
def plugin(monkeypatch):
    monkeypatch.setenv(cb.RUN_ID_ENV, "run-under-test")
    monkeypatch.setattr(cb.atexit, "register", lambda func: None)
    monkeypatch.setattr(cb.CallbackModule, "_cliargs", staticmethod(lambda: {"args": ["playbooks/x.yml"], "check": False}))
    display = FakeDisplay()
    module = cb.CallbackModule(display=display)
    module.play_vars = {}
    monkeypatch.setattr(module, "_play_variables", lambda play: dict(module.play_vars))
    return module


def read(path):
    with open(path, encoding="ascii") as handle:
        return [json.loads(line) for line in handle]


def run_playbook(plugin, tmp_path, results=()):
    plugin.v2_playbook_on_start(types.SimpleNamespace(_file_name=str(tmp_path / "x.yml"), _loader=None))
    plugin.v2_playbook_on_play_start(fake_play())
    for status, result in results:
        getattr(plugin, f"v2_runner_on_{status}")(result)
    plugin.v2_playbook_on_stats(FakeStats())


def test_run_is_recorded_with_one_run_id(plugin, tmp_path):
    log = str(tmp_path / "audit.jsonl")
    plugin.play_vars = {"ops_audit_log": log, "ops_environment": "staging"}
    session = fake_result("Start the cf session", "ttahub.ops.cf_session", {"changed": False, "user": "ops@example.gov"})
    ssh = fake_result("Open SSH", "ttahub.ops.cf_space_ssh", {"changed": True, "audit_events": [{"event": "ssh_window_opened", "space": "s"}]})
    run_playbook(plugin, tmp_path, [("ok", session), ("ok", ssh)])
    records = read(log)
    assert [r["event"] for r in records] == ["run_start", "play_start", "task_ok", "task_changed", "ssh_window_opened", "run_end"]
    assert {r["run_id"] for r in records} == {"run-under-test"}
    assert all(r["operator"] == plugin.operator for r in records)
    assert "environment" not in records[0] and all(r["environment"] == "staging" for r in records[1:])
    assert "cf_user" not in records[1] and all(r["cf_user"] == "ops@example.gov" for r in records[2:])
    assert records[-1]["outcome"] == "success" and records[-1]["stats"] == STATS_OK
    assert _audit.verify(log).ok
    assert plugin._display.errors == []


def test_option_path_wins_over_play_variable(plugin, tmp_path):
    plugin._option_path = str(tmp_path / "option.jsonl")
    plugin.play_vars = {"ops_audit_log": str(tmp_path / "play.jsonl")}
    run_playbook(plugin, tmp_path)
    assert [r["event"] for r in read(plugin._option_path)] == ["run_start", "play_start", "run_end"]
    assert not os.path.exists(tmp_path / "play.jsonl")


def test_default_path_without_option_or_variable(plugin, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    run_playbook(plugin, tmp_path)
    assert len(read(tmp_path / "xdg" / "ttahub-ops" / "audit.jsonl")) == 3


def test_a_later_play_cannot_move_the_log(plugin, tmp_path):
    plugin.play_vars = {"ops_audit_log": str(tmp_path / "first.jsonl")}
    plugin.v2_playbook_on_start(types.SimpleNamespace(_file_name="x.yml", _loader=None))
    plugin.v2_playbook_on_play_start(fake_play())
    plugin.play_vars = {"ops_audit_log": str(tmp_path / "second.jsonl")}
    plugin.v2_playbook_on_play_start(fake_play("Second"))
    assert len(read(tmp_path / "first.jsonl")) == 3 and "one log" in plugin._display.warnings[0]


def test_unwritable_log_stops_the_run_before_any_task(plugin, tmp_path):
    log = tmp_path / "audit.jsonl"
    log.write_text("not a record\n")
    plugin.play_vars = {"ops_audit_log": str(log)}
    plugin.v2_playbook_on_start(types.SimpleNamespace(_file_name="x.yml", _loader=None))
    with pytest.raises(SystemExit) as info:
        plugin.v2_playbook_on_play_start(fake_play())
    assert info.value.code == 1
    assert "Failed to append to the audit log" in plugin._display.errors[0] and "stopping the run" in plugin._display.errors[1]
    assert log.read_text() == "not a record\n"
    plugin._at_exit()  # writes nothing more after stopping
    assert log.read_text() == "not a record\n"


def test_write_failure_mid_run_is_loud_retried_and_fails_the_run(plugin, tmp_path, monkeypatch):
    log = str(tmp_path / "audit.jsonl")
    plugin.play_vars = {"ops_audit_log": log}
    plugin.v2_playbook_on_start(types.SimpleNamespace(_file_name="x.yml", _loader=None))
    plugin.v2_playbook_on_play_start(fake_play())
    real = _audit.append_record

    def broken(*args, **kwargs):
        raise _audit.AuditLogError("write the audit log", "No space left on device", "Free some space")

    monkeypatch.setattr(_audit, "append_record", broken)
    plugin.v2_runner_on_ok(fake_result("One", "ansible.builtin.debug", {"changed": False}))
    plugin.v2_runner_on_ok(fake_result("Two", "ansible.builtin.debug", {"changed": False}))
    assert len(plugin._display.errors) == 2 and "No space left" in plugin._display.errors[1]
    monkeypatch.setattr(_audit, "append_record", real)
    plugin.v2_runner_on_ok(fake_result("Three", "ansible.builtin.debug", {"changed": False}))
    assert [r.get("task") for r in read(log)][2:] == ["One", "Two", "Three"]  # kept and written in order
    assert _audit.verify(log).ok

    monkeypatch.setattr(_audit, "append_record", broken)
    with pytest.raises(SystemExit):
        plugin.v2_playbook_on_stats(FakeStats())
    assert "incomplete" in plugin._display.errors[-1]


def test_interrupted_run_gets_an_aborted_run_end(plugin, tmp_path):
    log = str(tmp_path / "audit.jsonl")
    plugin.play_vars = {"ops_audit_log": log}
    plugin.v2_playbook_on_start(types.SimpleNamespace(_file_name="x.yml", _loader=None))
    plugin.v2_playbook_on_play_start(fake_play())
    plugin._at_exit()
    plugin._at_exit()
    records = read(log)
    assert [r["event"] for r in records] == ["run_start", "play_start", "run_end"]
    assert records[-1]["outcome"] == "aborted"


def test_run_end_waits_for_the_last_playbook(plugin, tmp_path, monkeypatch):
    monkeypatch.setattr(cb.CallbackModule, "_cliargs", staticmethod(lambda: {"args": ["a.yml", "b.yml"]}))
    log = str(tmp_path / "audit.jsonl")
    plugin.play_vars = {"ops_audit_log": log}
    run_playbook(plugin, tmp_path)
    run_playbook(plugin, tmp_path)
    assert [r["event"] for r in read(log)] == ["run_start", "play_start", "playbook_start", "play_start", "run_end"]


def test_no_log_task_through_the_plugin(plugin, tmp_path):
    log = str(tmp_path / "audit.jsonl")
    plugin.play_vars = {"ops_audit_log": log}
    data = {"changed": True, "censored": "hidden", "user": "leak@example.gov"}
    run_playbook(plugin, tmp_path, [("ok", fake_result("Use the secret", "ttahub.ops.cf_session", data, no_log=True))])
    task = read(log)[2]
    assert task["no_log"] is True and task["msg"] == cb.NO_LOG_MSG and "cf_user" not in task
    assert "leak" not in open(log, encoding="ascii").read()
