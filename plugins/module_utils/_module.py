# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one edge between a module's body and Ansible: every module of the collection ends through :func:`run_module`.

It makes the client the module asked for, turns SIGTERM/SIGHUP into an error (so that the body's ``finally`` clauses
clean up), turns any ``OpsError`` or ``OSError`` into one ``fail_json`` worded "Failed to ...: ... . ...", and writes
the result's audit events itself when the run's ansible-playbook died while the module ran (no callback is left to
write them).

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _proc, _runtime
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = ["Stopped", "record_if_orphaned", "run_module"]


class Stopped(OpsError):
    kind = "stopped"


def _stopped(signum: int, frame: t.Any) -> t.NoReturn:
    raise Stopped("finish the task", f"it was stopped by {signal.Signals(signum).name}",
                  "What it had started was cleaned up; run the procedure again")


@contextlib.contextmanager
def _signals_raise() -> t.Iterator[None]:
    """SIGTERM and SIGHUP (Ansible passes SIGTERM on to the modules it runs when it is terminated) raise
    :class:`Stopped` while the body runs, instead of killing it before its ``finally`` clauses ran."""
    previous: dict[int, t.Any] = {}
    try:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            previous[signum] = signal.signal(signum, _stopped)
    except ValueError:  # not the main thread: keep the default actions
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _client(module: t.Any, client: str | None) -> t.Any:
    # Imported here so that a module that needs no client does not load either.
    if client == "cf":
        from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import client_from_module  # pylint: disable=import-outside-toplevel

        return client_from_module(module)
    if client == "github":
        from ansible_collections.ttahub.ops.plugins.module_utils import _github  # pylint: disable=import-outside-toplevel

        return _github.client_from_module(module)
    if client is not None:
        raise ValueError(f"unknown client {client!r}")
    return None


def run_module(
    module: t.Any,
    body: t.Callable[..., dict[str, t.Any]],
    client: str | None = None,
    *,
    partial: dict[str, t.Any] | None = None,
    os_error: tuple[str, str] = ("finish the task", "Check the paths given to the module and free space"),
) -> t.NoReturn:
    """Run ``body(client)`` (``body()`` when ``client`` is None) and end the module with its result.

    ``partial`` is what the body has done so far (``audit_events``, files it wiped...): a failure returns it beside
    the error, and its ``audit_events`` come before the error's own. ``os_error`` words an ``OSError`` the body did not
    expect: (action, what to do)."""
    partial = {} if partial is None else partial
    try:
        with _signals_raise():
            made = _client(module, client)
            result = body(made) if client is not None else body()
    except OpsError as err:
        failed = {**_without_msg(partial), **err.details()}
        events = list(partial.get("audit_events") or []) + err.events
        if events or "audit_events" in partial:
            failed["audit_events"] = events
        record_if_orphaned(events)
        module.fail_json(msg=err.message, **failed)
    except OSError as err:
        action, fix = os_error
        failed = {**_without_msg(partial), "error_kind": "os_error"}
        record_if_orphaned(partial.get("audit_events"))
        module.fail_json(msg=OpsError(action, str(err.strerror or err), fix).message, **failed)
    record_if_orphaned(result.get("audit_events"))
    module.exit_json(**result)


def _without_msg(partial: dict[str, t.Any]) -> dict[str, t.Any]:
    return {key: value for key, value in partial.items() if key != "msg"}  # the error's message is the msg


def record_if_orphaned(events: t.Any, environ: t.Mapping[str, str] | None = None) -> bool:
    """A module that outlived its ansible-playbook (killed while the module ran) writes its own audit events, which no
    callback will write: a copy that landed, a window that closed. Returns whether it wrote them."""
    environ = os.environ if environ is None else environ
    pid = _runtime.controller_pid(environ)
    if not events or pid is None or _proc.alive(pid):
        return False
    path = _runtime.audit_path(environ)
    for event in events:
        if isinstance(event, dict) and event.get("event"):
            fields = {k: v for k, v in event.items() if k not in ("event",) + tuple(_audit.REQUIRED_FIELDS)}
            with contextlib.suppress(_audit.AuditLogError, ValueError, TypeError, OSError):
                _audit.append_record(path, str(event["event"]), environ.get(_runtime.RUN_ID_ENV) or "unknown",
                                     **fields, controller_died=True)
    return True
