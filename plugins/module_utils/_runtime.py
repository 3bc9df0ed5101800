# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a run knows about itself, defined once: the environment variables the collection reads, the state folder,
the audit log's default path, the run id, the operator, the controller's pid.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import getpass
import os
import typing as t
import uuid

__all__ = [
    "AUDIT_LOG_ENV",
    "CF_TIMEOUT_ENV",
    "CONTROLLER_PID_ENV",
    "OPERATOR_ENV",
    "RUN_ID_ENV",
    "SSH_CODE_ENV",
    "audit_path",
    "controller_pid",
    "local_user",
    "operator",
    "run_id",
    "state_dir",
]

RUN_ID_ENV = "TTAHUB_OPS_RUN_ID"
CONTROLLER_PID_ENV = "TTAHUB_OPS_CONTROLLER_PID"
AUDIT_LOG_ENV = "TTAHUB_OPS_AUDIT_LOG"
OPERATOR_ENV = "TTAHUB_OPS_OPERATOR"
CF_TIMEOUT_ENV = "TTAHUB_OPS_CF_TIMEOUT"
SSH_CODE_ENV = "TTAHUB_OPS_SSH_CODE"

Environ = t.Mapping[str, str]


def _env(environ: Environ | None) -> Environ:
    return os.environ if environ is None else environ


def state_dir(environ: Environ | None = None) -> str:
    """``$XDG_STATE_HOME/ttahub-ops``, or ``~/.local/state/ttahub-ops`` without it: where ``ops_state_dir`` points by
    default (leases, used approvals, copy records) and where the audit log lives. As the XDG base directory
    specification says, a relative ``XDG_STATE_HOME`` is ignored: every part of a run resolves the same folder."""
    base = _env(environ).get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "ttahub-ops")


def audit_path(environ: Environ | None = None, configured: str | None = None) -> str:
    """The audit log: E(TTAHUB_OPS_AUDIT_LOG) (set by the callback for the run's modules), else ``configured``
    (``ops_audit_log``), else ``audit.jsonl`` in :func:`state_dir`."""
    return _env(environ).get(AUDIT_LOG_ENV) or configured or os.path.join(state_dir(environ), "audit.jsonl")


def run_id(environ: Environ | None = None) -> str:
    """The run's id (E(TTAHUB_OPS_RUN_ID), set by the callback), or a new one outside a recorded run."""
    return _env(environ).get(RUN_ID_ENV) or str(uuid.uuid4())


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):
        return str(os.getuid())


def operator(environ: Environ | None = None, given: str | None = None, *, default_to_user: bool = True) -> str:
    """Who runs the procedure: ``given`` (the module's option), else E(TTAHUB_OPS_OPERATOR), else the local user
    (or "" when ``default_to_user`` is false: the approval gate names nobody rather than a login)."""
    found = given or _env(environ).get(OPERATOR_ENV, "")
    if found or not default_to_user:
        return found
    return local_user()


def controller_pid(environ: Environ | None = None) -> int | None:
    """The pid the callback put in E(TTAHUB_OPS_CONTROLLER_PID), or None. Nothing that keeps production safe may rely
    on it: the supervisor finds the controller among its ancestors (``_proc.ancestors``) when it is missing."""
    value = _env(environ).get(CONTROLLER_PID_ENV, "")
    return int(value) if value.isdigit() and int(value) > 1 else None
