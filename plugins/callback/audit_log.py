# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_log
type: notification
short_description: Write every run to the tamper-evident, hash-chained audit log
description:
  - Appends one JSON record per event of a run to the audit log, a JSON lines file where each record carries the
    SHA-256 hash of the record before it. M(ttahub.ops.audit_verify) checks the chain.
  - "Records, in order: C(run_start); C(play_start) for each play; one C(task_ok), C(task_changed), C(task_failed),
    C(task_skipped) or C(task_unreachable) per task result; right after it, one record per entry of the result's
    C(audit_events) list (the entry's C(event) is the record's event); and C(run_end) with the stats of each host."
  - Every record has C(time) (UTC), C(run_id), C(event), C(operator) (the local user), C(prev) and C(hash); once
    known, also C(environment) (the C(ops_environment) variable) and C(cf_user) (the user a M(ttahub.ops.cf_session)
    result names).
  - Records hold chosen fields only, never whole task results. Every value is masked first (keys such as C(password),
    C(token), C(secret), C(code), C(authorization), private key blocks, bearer tokens, URL passwords; on ansible-core
    2.22 and later also every registered secret). A task with C(no_log) is recorded without any of its output.
  - When E(TTAHUB_OPS_RUN_ID) is not set, sets it to a new UUID4 as the plugin loads, before any task runs, so that
    modules, roles and out-of-process writers of the run see the same run id.
  - Sets E(TTAHUB_OPS_CONTROLLER_PID) to the process id of C(ansible-playbook) itself, so that out-of-process
    guards (the space SSH window's watchdog) can tell when the run's controller is gone.
  - "Write failures fail loudly. If the log cannot be written before the first task runs (bad path, no permission,
    a broken last line), the run stops there with an error and exit code 1: no procedure runs without evidence. A
    failure later in the run shows an error for every record that cannot be written, keeps the records and retries
    them with the next write, and lets the run go on (cleanup steps such as closing an SSH window must still run);
    if records are still unwritten at the end, the run ends with an error and exit code 1."
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
requirements:
  - Enabled in C(callbacks_enabled) (the collection's C(ansible.cfg) enables it).
options:
  path:
    description:
      - The audit log file. Missing directories are created with mode 0700, the file with mode 0600.
      - When not set, the C(ops_audit_log) variable of the first play (from the inventory, the play or extra vars) is
        used, else C(~/.local/state/ttahub-ops/audit.jsonl) (C($XDG_STATE_HOME/ttahub-ops/audit.jsonl) when
        E(XDG_STATE_HOME) is set).
      - One run writes to one file; a later play with a different C(ops_audit_log) gets a warning.
    type: path
    env:
      - name: TTAHUB_OPS_AUDIT_LOG
    ini:
      - section: callback_audit_log
        key: path
notes:
  - The run ends with C(run_end) when the last playbook of the command line finishes. A run that is interrupted
    (Ctrl+C, an error that stops ansible-playbook) gets a C(run_end) with outcome C(aborted) (or C(failed) when a
    host had failed) as the process exits; one stopped by SIGTERM or SIGHUP (kill, a cancelled CI job, ansible-runner
    stopping it) gets outcome C(terminated) before it dies of the signal; one killed with SIGKILL gets none (the SSH
    window's watchdog records the windows it closes for it).
  - Out-of-process writers append to the same file with the collection's private C(_audit.append_record), which
    locks the file.
seealso:
  - module: ttahub.ops.audit_verify
"""

import atexit
import collections.abc as _c
import getpass
import os
import platform
import signal
import socket
import threading
import time
import typing as t
import uuid

from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ansible_version

from ansible_collections.ttahub.ops.plugins.module_utils import _audit

try:  # ansible-core >= 2.22
    from ansible.module_utils.secrets import mask_secrets as _mask_secrets
except ImportError:
    _mask_secrets = None

try:
    from ansible import context as _context
except ImportError:  # pragma: no cover - always present in ansible-core
    _context = None

RUN_ID_ENV = "TTAHUB_OPS_RUN_ID"
CONTROLLER_PID_ENV = "TTAHUB_OPS_CONTROLLER_PID"
AUDIT_LOG_ENV = "TTAHUB_OPS_AUDIT_LOG"
MSG_LIMIT = 300
NO_LOG_MSG = "output hidden by no_log"
CF_SESSION_ACTIONS = frozenset(("ttahub.ops.cf_session",))
TASK_EVENTS = {
    "ok": "task_ok",
    "changed": "task_changed",
    "failed": "task_failed",
    "skipped": "task_skipped",
    "unreachable": "task_unreachable",
}
# Events only this plugin writes: a module's audit_events may not use them.
OWN_EVENTS = frozenset(set(TASK_EVENTS.values()) | {"run_start", "playbook_start", "play_start", "run_end", "audit_event_invalid"})
# Fields the plugin sets on audit-event records; an entry's own field of that name is kept as field_<name>.
EVENT_CONTEXT_FIELDS = frozenset(set(_audit.REQUIRED_FIELDS) | {"operator", "environment", "cf_user", "host", "task", "action"})


# ---------------------------------------------------------------------------------------------------------------------
# Pure record building: plain values in, (event, fields) out. The tests call these with plain dicts.


def ensure_run_id(environ: t.MutableMapping[str, str]) -> str:
    """The run id from ``environ``; sets a new UUID4 there first when it is missing or empty."""
    if not environ.get(RUN_ID_ENV):
        environ[RUN_ID_ENV] = str(uuid.uuid4())
    return environ[RUN_ID_ENV]


def mask(value: t.Any) -> t.Any:
    """``value`` with every secret masked: :func:`_audit.redact`, then ansible-core's ``mask_secrets`` (2.22+)."""
    return _audit.redact(value, _mask_secrets)


def short_text(value: t.Any, limit: int = MSG_LIMIT) -> str:
    """A masked one-string summary of ``value``, at most ``limit`` characters."""
    masked = mask(value)
    text = masked if isinstance(masked, str) else _audit.canonical(masked).decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def playbook_name(argv_playbooks: t.Sequence[str], index: int, playbook_path: str) -> str:
    """How the operator named the ``index``-th playbook on the command line: ``prod_db_copy`` for
    ``playbooks/prod_db_copy.yml``, ``ttahub.ops.audit_verify`` as given for a collection playbook."""
    given = argv_playbooks[index] if 0 <= index < len(argv_playbooks) else playbook_path
    name = os.path.basename(str(given))
    for suffix in (".yml", ".yaml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def extra_var_names(extra_vars: t.Iterable[t.Any]) -> list[str]:
    """The names of the extra vars, sorted; never their values."""
    return sorted({str(name) for name in extra_vars})


def run_start_fields(
    *,
    playbook: str,
    name: str,
    inventory: t.Sequence[str],
    check_mode: bool,
    extra_vars: t.Sequence[str],
    limit: str | None,
    controller: str,
    ansible: str,
    python: str,
) -> dict[str, t.Any]:
    fields = {
        "playbook": playbook,
        "playbook_name": name,
        "inventory": list(inventory),
        "check_mode": bool(check_mode),
        "extra_vars": extra_var_names(extra_vars),
        "controller": controller,
        "ansible_version": ansible,
        "python_version": python,
    }
    if limit:
        fields["limit"] = limit
    return fields


def play_start_fields(play: str, hosts: t.Sequence[str]) -> dict[str, t.Any]:
    return {"play": play, "hosts": [str(host) for host in hosts]}


def is_hidden(result: t.Mapping[str, t.Any], task_no_log: t.Any = False) -> bool:
    """Whether the result's output must not be recorded (``no_log`` on the task or in the result)."""
    return task_no_log is True or "censored" in result or bool(result.get("_ansible_no_log"))


def result_message(result: t.Mapping[str, t.Any], status: str) -> str | None:
    """The short message of a result: its ``msg``, or why it was skipped; ``None`` when it has none."""
    if status == "skipped":
        value = result.get("skip_reason") or result.get("msg") or "skipped"
    else:
        value = result.get("msg")
    if value is None or value == "":
        return None
    return short_text(value)


def task_record(
    status: str,
    *,
    task: str,
    action: str,
    host: str,
    result: t.Mapping[str, t.Any],
    no_log: bool = False,
    ignore_errors: bool = False,
) -> tuple[str, dict[str, t.Any]]:
    """The record of one task result. ``status`` is ``ok``, ``failed``, ``skipped`` or ``unreachable``; an ok result
    that changed something becomes ``task_changed``."""
    changed = bool(result.get("changed", False))
    event = TASK_EVENTS["changed" if status == "ok" and changed else status]
    fields: dict[str, t.Any] = {"task": short_text(task), "action": str(action), "host": short_text(host), "changed": changed}
    if is_hidden(result, no_log):
        fields["no_log"] = True
        fields["msg"] = NO_LOG_MSG
        return event, fields
    message = result_message(result, status)
    if message is not None:
        fields["msg"] = message
    if status == "failed":
        if isinstance(result.get("rc"), int) and not isinstance(result.get("rc"), bool):
            fields["rc"] = result["rc"]
        if ignore_errors:
            fields["ignored"] = True
    return event, fields


def _entries(result: t.Mapping[str, t.Any]) -> list[t.Any]:
    """The ``audit_events`` of a result and of each of its loop items (except hidden ones), in order."""
    found: list[t.Any] = []
    sources = [result]
    items = result.get("results")
    if isinstance(items, list):
        sources.extend(item for item in items if isinstance(item, _c.Mapping))
    for source in sources:
        if is_hidden(source):
            continue
        events = source.get("audit_events")
        if events is None:
            continue
        found.extend(events if isinstance(events, list) else [events])
    return found


def audit_event_records(
    result: t.Mapping[str, t.Any], *, task: str, action: str, host: str, no_log: bool = False
) -> list[tuple[str, dict[str, t.Any]]]:
    """One record per entry of the result's ``audit_events``: the entry's ``event`` and its fields (masked), plus the
    task, action and host it came from. A malformed entry becomes an ``audit_event_invalid`` record."""
    if is_hidden(result, no_log):
        return []
    source = {"task": short_text(task), "action": str(action), "host": short_text(host)}
    records = []
    for entry in _entries(result):
        name = entry.get("event") if isinstance(entry, _c.Mapping) else None
        if not isinstance(name, str) or not name or name in OWN_EVENTS:
            if not isinstance(entry, _c.Mapping):
                reason = "an audit_events entry is not a mapping"
            elif name in OWN_EVENTS:
                reason = f"an audit_events entry uses the reserved event name {name}"
            else:
                reason = "an audit_events entry has no event name"
            records.append(("audit_event_invalid", dict(source, reason=reason)))
            continue
        fields = {}
        for key, value in mask({k: v for k, v in entry.items() if k != "event"}).items():
            fields[f"field_{key}" if key in EVENT_CONTEXT_FIELDS else key] = value
        fields.update(source)
        records.append((name, fields))
    return records


def cf_user_from_result(action: str, result: t.Mapping[str, t.Any]) -> str | None:
    """The cloud.gov user a ``ttahub.ops.cf_session`` result names, if any."""
    if action not in CF_SESSION_ACTIONS or is_hidden(result):
        return None
    user = result.get("user")
    return mask(user) if isinstance(user, str) and user else None


def outcome(summaries: t.Mapping[str, t.Mapping[str, int]]) -> str:
    """``failed`` when any host had a failure or was unreachable, else ``success``."""
    bad = any(summary.get("failures", 0) or summary.get("unreachable", 0) for summary in summaries.values())
    return "failed" if bad else "success"


def run_end_fields(summaries: t.Mapping[str, t.Mapping[str, int]], duration: float, result: str | None = None) -> dict[str, t.Any]:
    """The ``run_end`` record: the outcome (``success``, ``failed``, or ``result`` when given) and per-host stats."""
    stats = {str(host): {key: int(value) for key, value in summary.items()} for host, summary in summaries.items()}
    return {"outcome": result or outcome(summaries), "stats": stats, "duration_s": round(max(duration, 0.0), 3)}


def with_context(fields: t.Mapping[str, t.Any], *, operator: str, environment: str | None, cf_user: str | None) -> dict[str, t.Any]:
    """``fields`` plus who ran it and where: ``operator``, and ``environment`` and ``cf_user`` once known."""
    out = dict(fields)
    out["operator"] = operator
    if environment:
        out["environment"] = environment
    if cf_user:
        out["cf_user"] = cf_user
    return out


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):
        return str(os.getuid())


# ---------------------------------------------------------------------------------------------------------------------
# The callback: reads Ansible objects, calls the functions above, writes through _audit.append_record.


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "ttahub.ops.audit_log"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.run_id = ensure_run_id(os.environ)
        # Callbacks load in the ansible-playbook process itself: its pid is what the SSH window's watchdog watches.
        os.environ[CONTROLLER_PID_ENV] = str(os.getpid())
        self.operator = local_user()
        self.environment: str | None = None
        self.cf_user: str | None = None
        self.path: str | None = None
        self._option_path: str | None = None
        self._pending: list[tuple[str, dict[str, t.Any]]] = []
        self._playbooks = 0
        self._tasks_seen = False
        self._run_started = False
        self._run_ended = False
        self._aborted = False
        self._last_summaries: dict[str, dict[str, int]] = {}
        self._start = time.monotonic()
        self._pid = os.getpid()
        self._flushing = False
        self._previous_handlers: dict[int, t.Any] = {}
        atexit.register(self._at_exit)

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._option_path = self.get_option("path") or None

    # -- writing -------------------------------------------------------------------------------------------------------

    def _queue(self, event: str, fields: t.Mapping[str, t.Any]) -> None:
        self._pending.append(
            (event, with_context(fields, operator=self.operator, environment=self.environment, cf_user=self.cf_user))
        )

    def _flush(self) -> bool:
        """Write the queued records in order; on failure show an error and keep the rest for the next write."""
        if self.path is None:
            return True
        self._flushing = True
        try:
            return self._write_pending()
        finally:
            self._flushing = False

    def _write_pending(self) -> bool:
        while self._pending:
            event, fields = self._pending[0]
            try:
                _audit.append_record(self.path, event, self.run_id, **fields)
            except (_audit.AuditLogError, ValueError, TypeError) as err:
                self._display.error(
                    f"ttahub.ops.audit_log: {err} ({len(self._pending)} record(s) of run {self.run_id} are not written yet;"
                    " they are retried with the next record)"
                )
                return False
            self._pending.pop(0)
        return True

    def _flush_or_stop(self) -> None:
        """Before the first task runs, a log that cannot be written stops the run."""
        if self._flush() or self._tasks_seen:
            return
        self._aborted = True
        self._display.error(
            f"ttahub.ops.audit_log: stopping the run before its first task: the audit log {self.path} cannot be written"
            " (see the error above). Fix the log or point TTAHUB_OPS_AUDIT_LOG at a writable file; to inspect a broken"
            " log, run ttahub.ops.audit_verify with -e ops_audit_log=<broken log> and TTAHUB_OPS_AUDIT_LOG set to another file."
        )
        raise SystemExit(1)

    def _resolve_path(self, play_log: t.Any) -> None:
        if self.path is not None:
            if self._option_path is None and play_log and os.path.abspath(os.path.expanduser(str(play_log))) != self.path:
                self._display.warning(
                    f"ttahub.ops.audit_log: this play sets ops_audit_log to {play_log}, but the run already writes to"
                    f" {self.path}; one run writes to one log, so it keeps writing there."
                )
            return
        chosen = self._option_path or (str(play_log) if play_log else None) or _audit.default_path()
        self.path = os.path.abspath(os.path.expanduser(chosen))
        # Out-of-process writers (the SSH window's watchdog, a module that outlives a killed run) write to this log.
        os.environ[AUDIT_LOG_ENV] = self.path

    # -- reading Ansible objects (defensively: these are not all public APIs) ------------------------------------------

    def _play_variables(self, play) -> dict[str, t.Any]:
        """``ops_audit_log`` and ``ops_environment`` as the play's first host sees them, templated."""
        wanted = ("ops_audit_log", "ops_environment")
        try:
            from ansible.template import Templar

            manager = play.get_variable_manager()
            if manager is None:
                return {}
            inventory = getattr(manager, "_inventory", None)
            hosts = inventory.get_hosts(play.hosts) if inventory is not None else []
            variables = manager.get_vars(play=play, host=hosts[0] if hosts else None, include_hostvars=False)
            templar = Templar(loader=play.get_loader(), variables=variables)
            return {name: templar.template(variables[name]) for name in wanted if name in variables}
        except Exception as err:  # pylint: disable=broad-exception-caught
            self._display.warning(
                f"ttahub.ops.audit_log: could not read ops_audit_log and ops_environment from the play's variables ({err});"
                " the audit log uses TTAHUB_OPS_AUDIT_LOG or the default path and records no environment."
            )
            return {}

    @staticmethod
    def _cliargs() -> t.Mapping[str, t.Any]:
        try:
            return _context.CLIARGS if _context is not None else {}
        except Exception:  # pylint: disable=broad-exception-caught
            return {}

    @staticmethod
    def _task_info(result) -> tuple[t.Any, str, str, str, dict[str, t.Any]]:
        task = result.task
        try:
            action = task.resolved_action or task.action
        except Exception:  # pylint: disable=broad-exception-caught
            action = task.action
        return task, str(task.get_name()), str(action), str(result.host.get_name()), dict(result.result)

    # -- callback methods ----------------------------------------------------------------------------------------------

    def v2_playbook_on_start(self, playbook):
        cliargs = self._cliargs()
        argv_playbooks = list(cliargs.get("args") or ())
        index = self._playbooks
        self._playbooks += 1
        path = os.path.abspath(str(getattr(playbook, "_file_name", "") or ""))
        name = playbook_name(argv_playbooks, index, path)
        if self._run_started:
            self._queue("playbook_start", {"playbook": path, "playbook_name": name})
        else:
            self._run_started = True
            self._catch_termination()
            names: t.Iterable[t.Any] = ()
            try:
                from ansible.utils.vars import load_extra_vars

                names = load_extra_vars(playbook._loader).keys()
            except Exception:  # pylint: disable=broad-exception-caught
                names = ()
            fields = run_start_fields(
                playbook=path,
                name=name,
                inventory=[str(source) for source in cliargs.get("inventory") or ()],
                check_mode=bool(cliargs.get("check")),
                extra_vars=list(names),
                limit=cliargs.get("subset") or None,
                controller=socket.gethostname(),
                ansible=ansible_version,
                python=platform.python_version(),
            )
            self._queue("run_start", fields)
        if self._option_path is not None:
            self._resolve_path(None)
            self._flush_or_stop()

    def v2_playbook_on_play_start(self, play):
        values = self._play_variables(play)
        self._resolve_path(values.get("ops_audit_log"))
        if values.get("ops_environment"):
            self.environment = short_text(values["ops_environment"], 100)
        self._queue("play_start", play_start_fields(short_text(play.get_name()), list(play.hosts or ())))
        self._flush_or_stop()

    def _task_result(self, status: str, result, ignore_errors: bool = False) -> None:
        self._tasks_seen = True
        task, name, action, host, data = self._task_info(result)
        no_log = getattr(task, "no_log", False) is True
        user = None if no_log else cf_user_from_result(action, data)
        if user:
            self.cf_user = user
        if self.path is None:  # a result before any play start: cannot happen in ansible-playbook, be safe
            self._resolve_path(None)
        event, fields = task_record(status, task=name, action=action, host=host, result=data, no_log=no_log, ignore_errors=ignore_errors)
        self._queue(event, fields)
        for event, fields in audit_event_records(data, task=name, action=action, host=host, no_log=no_log):
            self._queue(event, fields)
        self._flush()

    def v2_runner_on_ok(self, result):
        self._task_result("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._task_result("failed", result, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._task_result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._task_result("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        try:
            self._last_summaries = {host: dict(stats.summarize(host)) for host in sorted(stats.processed)}
        except Exception:  # pylint: disable=broad-exception-caught
            self._last_summaries = {}
        expected = len(self._cliargs().get("args") or ())
        if expected and self._playbooks < expected:
            return  # more playbooks follow: run_end comes with the last one (or at exit if the run stops early)
        self._end_run(None)
        if self._pending:
            self._display.error(
                f"ttahub.ops.audit_log: {len(self._pending)} record(s) of run {self.run_id} could not be written to"
                f" {self.path}: the audit log of this run is incomplete, so the run fails."
            )
            self._pending.clear()
            raise SystemExit(1)

    def _end_run(self, result: str | None) -> None:
        if self._run_ended or not self._run_started:
            return
        self._run_ended = True
        if self.path is None:
            self._resolve_path(None)
        self._queue("run_end", run_end_fields(self._last_summaries, time.monotonic() - self._start, result))
        self._flush()

    def _catch_termination(self) -> None:
        """SIGTERM and SIGHUP (kill, a CI job cancelled, ansible-runner stopping its ansible-playbook) end the process
        without Python's exit handlers: record the run's end (outcome ``terminated``) first, then let the signal do
        what it did before (Ansible's own SIGTERM handler, which stops the workers, then the default action)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGHUP):
            previous = signal.getsignal(signum)
            if previous == signal.SIG_IGN or signum in self._previous_handlers:
                continue  # ignored on purpose (nohup), or already caught
            self._previous_handlers[signum] = previous
            signal.signal(signum, self._on_termination)

    def _on_termination(self, signum, frame) -> None:
        if os.getpid() == self._pid and not self._flushing:  # never from a forked worker, never inside an append
            try:
                self._end_run("terminated")  # first: Ansible's handler below may not return
            except Exception:  # pylint: disable=broad-exception-caught
                pass
        previous = self._previous_handlers.get(signum)
        signal.signal(signum, signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)  # Ansible's: passes the signal on to its workers
        os.kill(os.getpid(), signum)

    def _at_exit(self) -> None:
        """A run that stops early (Ctrl+C, an error, a failed playbook before the last) still gets its run_end."""
        if self._aborted or self._run_ended or not self._run_started:
            return
        try:
            self._end_run("failed" if self._last_summaries and outcome(self._last_summaries) == "failed" else "aborted")
            if self._pending:
                self._display.error(
                    f"ttahub.ops.audit_log: {len(self._pending)} record(s) of run {self.run_id} could not be written to {self.path}."
                )
        except Exception as err:  # pylint: disable=broad-exception-caught
            self._display.error(f"ttahub.ops.audit_log: could not end the run in the audit log: {err}")
