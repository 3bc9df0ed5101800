# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The per-run cf session: a private CF_HOME made for one run and removed at its end.

PRIVATE to the collection. It can have breaking changes at any time.

:func:`create_cf_home` makes the directory (0700, marked as ours so that only ours is ever removed),
:func:`copy_operator_config` puts the operator's own ``cf login`` in it, :func:`remove_cf_home` removes it. The holds
(:func:`hold_session`) keep the session's normal end from removing it while an open space SSH window still needs it
(its close failed); a dead run's sessions are removed by the run's supervisor
(``plugins/plugin_utils/_supervisor.py``), which finds them by their marker.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _proc, _runtime
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import LOGIN_HINT, CfNotLoggedInError, CfUsageError

__all__ = [
    "SESSION_MARKER",
    "copy_operator_config",
    "create_cf_home",
    "hold_session",
    "new_run_id",
    "operator_config_path",
    "release_session",
    "remove_cf_home",
    "session_base_dir",
    "session_holds",
]

SESSION_MARKER = ".ttahub-ops-session"


def session_base_dir() -> str:
    """Memory-backed where the OS has it: the session holds a cloud.gov token."""
    for candidate in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            return candidate
    return tempfile.gettempdir()


def create_cf_home(base_dir: str | None = None, run_id: str | None = None, controller: int | None = None) -> str:
    """A private CF_HOME (0700) marked as ours, so that only ours is ever removed. The marker names the run's
    controller (``controller``, else the outermost ansible-playbook above this process): the run's supervisor removes
    the sessions of a controller that died."""
    base = base_dir or session_base_dir()
    path = tempfile.mkdtemp(prefix="ttahub-ops-cf-", dir=base)
    os.chmod(path, 0o700)
    os.makedirs(os.path.join(path, ".cf"), mode=0o700)
    pid = controller or _proc.outermost(os.getppid())
    with open(os.path.join(path, SESSION_MARKER), "w", encoding="utf-8") as handle:
        json.dump({"run_id": run_id or "", "pid": os.getppid(), "created": time.time(), "controller_pid": pid,
                   "controller_start": _proc.start_time(pid) if pid else None}, handle)
    return path


# A hold on a session: an open space SSH window that still needs the session to close it (hold_session).
SESSION_HOLD_PREFIX = ".ttahub-ops-held-"


def hold_session(cf_home: str, name: str) -> None:
    """Keep the session reaper from removing ``cf_home`` while ``name`` (a window) may still need it."""
    with open(os.path.join(cf_home, SESSION_HOLD_PREFIX + name), "w", encoding="utf-8"):
        pass


def release_session(cf_home: str, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(cf_home, SESSION_HOLD_PREFIX + name))


def operator_config_path(environ: t.Mapping[str, str]) -> str:
    """Where the operator's own ``cf login --sso`` wrote its config (cf-cli.md §2)."""
    home = environ.get("CF_HOME") or environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".cf", "config.json")


def copy_operator_config(cf_home: str, environ: t.Mapping[str, str]) -> str:
    source = operator_config_path(environ)
    if not os.path.isfile(source):
        raise CfNotLoggedInError(
            "start the cf session",
            f"no CF_USERNAME/CF_PASSWORD in the environment and no cf login found at {source}",
            LOGIN_HINT,
        )
    target = os.path.join(cf_home, ".cf", "config.json")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return source


def session_holds(path: str) -> list[str]:
    """The open SSH windows that still need the session ``path`` (see hold_session)."""
    try:
        return sorted(n[len(SESSION_HOLD_PREFIX):] for n in os.listdir(path) if n.startswith(SESSION_HOLD_PREFIX))
    except OSError:
        return []


def remove_cf_home(path: str) -> bool:
    """Remove a CF_HOME made by create_cf_home; refuse anything else. A session that an open SSH window still holds
    (its close failed) is left to that window's watchdog, which closes the window with it and then removes it."""
    if not path or not os.path.isdir(path):
        return False
    if not os.path.isfile(os.path.join(path, SESSION_MARKER)):
        raise CfUsageError(
            "remove the cf session",
            f"{path} is not a ttahub.ops session directory",
            "Pass the cf_home returned by ttahub.ops.cf_session",
        )
    if session_holds(path):
        return False
    shutil.rmtree(path)
    return True


def new_run_id() -> str:
    return _runtime.run_id()
