# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The names and paths this collection lets reach cf's command line.

PRIVATE to the collection. It can have breaking changes at any time.

A Cloud Foundry name (:data:`CF_NAME`, :func:`is_cf_name`, :func:`check_name`), an API path for ``cf curl``
(:func:`check_api_path`), and :func:`check_arguments`, which :class:`CfClient` runs on every command line before cf
runs: an injected option, path or shell text never reaches cf.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfUsageError
from ansible_collections.ttahub.ops.plugins.module_utils._errors import shown

__all__ = ["CF_NAME", "NAME_HINT", "check_api_path", "check_arguments", "check_name", "is_cf_name"]

# A Cloud Foundry name as this collection accepts it, the shape of every TTA Hub org, space, app, service instance,
# service key and process type (hhs-acf-ohs-tta, ttahub-prod, tta-smarthub-prod, SERVICE_CONNECT, web): ASCII only, so
# that a look-alike letter or an invisible character cannot name another object; never a leading '-' or '.', so that a
# name is never read as a cf option or a path; no shell metacharacter, space or line break.
CF_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
NAME_HINT = (
    "Use ASCII letters, digits, '-', '_' and '.', starting with a letter or a digit, at most 255 characters; "
    "check the names given with -e and in the inventory"
)
# The cf commands whose arguments hold names: (flags that may come before the names, labels of the leading positional
# names, flags after them: None takes no value, "value" any one-line value, any other string labels a name).
_V = "value"
_NAME_ARGS: dict[str, tuple[frozenset[str], tuple[str, ...], dict[str, str | None]]] = {
    "app": (frozenset(), ("app name",), {"--guid": None}),
    "ssh-enabled": (frozenset(), ("app name",), {}),
    "enable-ssh": (frozenset(), ("app name",), {}),
    "disable-ssh": (frozenset(), ("app name",), {}),
    "restart": (frozenset(), ("app name",), {"--strategy": _V}),
    "cancel-deployment": (frozenset(), ("app name",), {}),
    "push": (frozenset(), ("app name",), {"-f": _V, "--vars-file": _V, "--var": _V, "-p": _V, "--strategy": _V}),
    "logs": (frozenset(), ("app name",), {"--recent": None}),
    "tasks": (frozenset(), ("app name",), {}),
    "terminate-task": (frozenset(), ("app name",), {}),
    "run-task": (frozenset(), ("app name",), {"--command": _V, "-c": _V, "--name": _V, "-m": _V, "-k": _V,
                                              "--process": "process type", "--wait": None}),
    "ssh": (frozenset(), ("app name",), {"-i": _V, "--process": "process type", "-c": _V, "--command": _V, "-T": None,
                                         "-t": None, "-N": None, "-L": _V}),
    "space-ssh-allowed": (frozenset(), ("space name",), {}),
    "allow-space-ssh": (frozenset(), ("space name",), {}),
    "disallow-space-ssh": (frozenset(), ("space name",), {}),
    "target": (frozenset(), (), {"-o": "org name", "-s": "space name"}),
    "service": (frozenset(), ("service instance name",), {"--guid": None}),
    "service-keys": (frozenset(), ("service instance name",), {}),
    "service-key": (frozenset(), ("service instance name", "service key name"), {"--guid": None, "--json": None}),
    "create-service-key": (frozenset(), ("service instance name", "service key name"), {"-c": _V}),
    "delete-service-key": (frozenset({"-f"}), ("service instance name", "service key name"), {"-f": None}),
    "connect-to-service": (frozenset({"-no-client"}), ("app name", "service instance name"), {}),
}


def is_cf_name(value: t.Any) -> bool:
    """Whether ``value`` is a Cloud Foundry name as this collection accepts it (CF_NAME, and no ``..``)."""
    return isinstance(value, str) and bool(CF_NAME.match(value)) and ".." not in value


def check_name(value: t.Any, what: str, action: str) -> str:
    """``value`` if it is a Cloud Foundry name (see CF_NAME); raise CfUsageError naming it otherwise."""
    if not is_cf_name(value):
        raise CfUsageError(action, f"the {what} {shown(value)} is not a Cloud Foundry name", NAME_HINT)
    return value


def check_api_path(value: t.Any, action: str) -> str:
    """An API path for ``cf curl``: absolute, printable, without spaces or a ``..`` segment."""
    if (not isinstance(value, str) or not value.startswith("/") or not value.isprintable() or len(value) > 2048
            or any(ch.isspace() for ch in value) or ".." in value.split("?", 1)[0].split("/")):
        raise CfUsageError(action, f"the API path {shown(value)} is not an absolute API path",
                           "Pass a path such as /v3/apps/GUID/processes (printable characters, no spaces, no '..')")
    return value


def check_arguments(args: list[str], action: str) -> None:
    """Refuse, before cf runs, a command line that would carry anything but one-line values, or a name that is not a
    Cloud Foundry name where cf reads a name (``_NAME_ARGS``): an injected option, path or shell text never reaches cf."""
    for arg in args:
        if "\x00" in arg or "\n" in arg or "\r" in arg:
            raise CfUsageError(action, "an argument contains a NUL byte or a line break", "Check the names and paths given to the playbook")
    if not args:
        return
    if args[0] == "curl" and len(args) > 1:
        check_api_path(args[1], action)
        return
    grammar = _NAME_ARGS.get(args[0])
    if grammar is None:
        return
    lead, labels, flags = grammar
    index = 1
    while index < len(args) and args[index] in lead:
        index += 1
    for label in labels:
        if index < len(args):
            check_name(args[index], label, action)
        index += 1
    while index < len(args):
        kind = flags.get(args[index])
        if kind is not None and index + 1 < len(args):
            if kind != _V:
                check_name(args[index + 1], kind, action)
            index += 1
        index += 1
