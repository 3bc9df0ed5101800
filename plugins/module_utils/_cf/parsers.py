# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Over issue 12's 150 lines of code: a catalogue of small independent parsers, one per cf output shape (each under
# 35 lines), sharing _unexpected; split by command they would scatter what the cf v8 fixtures test together.

"""Parsers of cf v8 output: what each cf command prints, read into Python values.

PRIVATE to the collection. It can have breaking changes at any time.

One function per output shape, tested on the recorded cf v8 outputs (tests/unit/plugins/module_utils/test__cf.py on
tests/fixtures/cf_v8/*.yml). Output that is not the expected shape raises :class:`CfOutputError`; an error never
includes output that can hold a secret (``cf ssh-code``, ``cf connect-to-service``).
"""

from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfOutputError, raise_api_error

__all__ = [
    "parse_api_body",
    "parse_app_processes",
    "parse_app_ssh_toggle",
    "parse_guid",
    "parse_key_values",
    "parse_log_lines",
    "parse_run_task",
    "parse_service_connect",
    "parse_space_ssh_allowed",
    "parse_space_ssh_toggle",
    "parse_ssh_code",
    "parse_ssh_enabled",
    "parse_version",
]

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_VERSION = re.compile(r"^cf(?:\.exe)? version (\d+)\.(\d+)\.(\d+)")
_SPACE_SSH = re.compile(r"^ssh support is (enabled|disabled) in space '(.*)'\.$", re.M)
_APP_SSH = re.compile(r"^ssh support is (enabled|disabled) for app '(.*)'\.$", re.M)
_LOG_LINE = re.compile(r"^ {3}(\S+) \[([^\]]+)\] (OUT|ERR) ?(.*)$")


def _unexpected(action: str, what: str, stdout: str) -> CfOutputError:
    shown = stdout.strip().splitlines()[:3]
    return CfOutputError(
        action,
        f"cf printed something other than {what} ({' / '.join(shown) or 'nothing'})",
        "Check that cf is v8 and that no proxy rewrites the output; run the command by hand to compare",
        stdout=stdout,
    )


def parse_version(stdout: str) -> tuple[int, int, int]:
    """``cf version 8.7.10+5b7ce3c.2024-04-04`` -> (8, 7, 10)."""
    match = _VERSION.search(stdout.strip())
    if not match:
        raise _unexpected("read the cf CLI version", "`cf version X.Y.Z+...`", stdout)
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def parse_guid(stdout: str, action: str = "read a GUID") -> str:
    """``cf app NAME --guid`` and friends print the GUID alone."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if len(lines) != 1 or not _GUID.match(lines[0]):
        raise _unexpected(action, "a GUID", stdout)
    return lines[0]


def parse_ssh_code(stdout: str) -> str:
    """``cf ssh-code`` prints the one-time code alone. Never include the code in an error."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if len(lines) != 1 or not re.match(r"^[A-Za-z0-9_-]{4,128}$", lines[0]):
        raise CfOutputError(
            "get a one-time SSH code",
            "cf ssh-code printed no code",
            "Run `cf ssh-code` by hand; if it fails, log in again",
        )
    return lines[0]


def parse_space_ssh_allowed(stdout: str) -> bool:
    """``cf space-ssh-allowed SPACE`` -> True when SSH is allowed in the space."""
    match = _SPACE_SSH.search(stdout)
    if not match:
        raise _unexpected("read whether SSH is allowed in the space", "`ssh support is enabled|disabled in space`", stdout)
    return match.group(1) == "enabled"


def parse_space_ssh_toggle(stdout: str) -> bool:
    """``cf allow-space-ssh`` / ``disallow-space-ssh``: True when cf changed the space, False for the "already" form."""
    if not re.search(r"^OK$", stdout, re.M):
        raise _unexpected("change SSH for the space", "OK", stdout)
    return not re.search(r"^ssh support for space '.*' is already (enabled|disabled)\.$", stdout, re.M)


def parse_ssh_enabled(stdout: str) -> tuple[bool, str]:
    """``cf ssh-enabled APP`` -> (enabled, reason); the reason line follows the disabled form."""
    match = _APP_SSH.search(stdout)
    if not match:
        raise _unexpected("read whether SSH is enabled for the app", "`ssh support is enabled|disabled for app`", stdout)
    enabled = match.group(1) == "enabled"
    rest = [line.strip() for line in stdout[match.end():].splitlines() if line.strip()]
    return enabled, ("" if enabled else (rest[0] if rest else ""))


def parse_app_ssh_toggle(stdout: str) -> dict[str, t.Any]:
    """``cf enable-ssh`` / ``disable-ssh``: whether cf changed the app, and what its TIP says about a restart."""
    if not re.search(r"^OK$", stdout, re.M):
        raise _unexpected("change SSH for the app", "OK", stdout)
    already = bool(re.search(r"^ssh support for app '.*' is already (enabled|disabled)\.$", stdout, re.M))
    if "TIP: An app restart is required for the change to take effect." in stdout:
        restart = "required"
    elif "TIP: An app restart may be required for the change to take effect." in stdout:
        restart = "may_be_required"
    else:
        restart = "not_required"
    blocked = "TIP: Ensure ssh is also enabled on the space and global level." in stdout
    return {"changed": not already, "restart": restart, "blocked_elsewhere": blocked}


def parse_key_values(stdout: str) -> dict[str, str]:
    """Key/value tables (``cf target``, ``cf api``): ``key:   value`` lines, keys lower-cased."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        match = re.match(r"^([A-Za-z][A-Za-z ]*?):\s+(.*?)\s*$", line)
        if match:
            out[match.group(1).lower()] = match.group(2)
        else:
            match = re.match(r"^([A-Za-z][A-Za-z ]*?):$", line)
            if match:
                out[match.group(1).lower()] = ""
    return out


def parse_run_task(stdout: str) -> dict[str, t.Any]:
    """``cf run-task``: the ``task name:`` and ``task id:`` rows."""
    table = parse_key_values(stdout)
    if "task id" not in table or not table["task id"].isdigit():
        raise _unexpected("run the task", "`task id:`", stdout)
    return {"name": table.get("task name", ""), "id": int(table["task id"])}


def parse_app_processes(stdout: str) -> dict[str, dict[str, int]]:
    """The process blocks of a ``cf app`` summary (also printed at the end of ``cf push``): ``type:`` and
    ``instances: RUNNING/TOTAL`` -> {type: {"running": R, "instances": T}} (cf-cli.md §3.5, §3.12)."""
    out: dict[str, dict[str, int]] = {}
    current = None
    for line in stdout.splitlines():
        match = re.match(r"^type:\s+(\S+)\s*$", line)
        if match:
            current = match.group(1)
            continue
        match = re.match(r"^instances:\s+(\d+)/(\d+)\s*$", line)
        if match and current is not None:
            out[current] = {"running": int(match.group(1)), "instances": int(match.group(2))}
            current = None
    return out


def parse_log_lines(stdout: str, source_prefix: str | None = None) -> list[dict[str, str]]:
    """``cf logs APP --recent`` lines, optionally only those whose source starts with ``source_prefix``."""
    out = []
    for line in stdout.splitlines():
        match = _LOG_LINE.match(line)
        if not match:
            continue
        source = match.group(2)
        if source_prefix is not None and not (source == source_prefix or source.startswith(source_prefix + "/")):
            continue
        out.append({"time": match.group(1), "source": source, "stream": match.group(3), "message": match.group(4)})
    return out


_SERVICE_CONNECT_FIELDS = {"Host": "host", "Port": "port", "Username": "username", "Password": "password", "Name": "name"}


def parse_service_connect(stdout: str) -> dict[str, t.Any]:
    """``cf connect-to-service -no-client APP SI`` (cf-cli.md §3.14): the connection block after ``SSH tunnel
    created.`` -> ``{host, port (int), username, password, name}``. The block holds the database password: an error
    never includes the output."""
    lines = [line.rstrip("\r") for line in stdout.splitlines()]
    action = "read the tunnel's connection information"
    if "SSH tunnel created." not in lines or "Skipping call to client CLI. Connection information:" not in lines:
        raise CfOutputError(action, "cf connect-to-service printed no -no-client connection block",
                            "Check that the cf-service-connect plugin is installed (cf plugins) and that -no-client comes before APP and SERVICE")
    start = lines.index("Skipping call to client CLI. Connection information:")
    found: dict[str, t.Any] = {}
    for line in lines[start + 1:]:
        key, sep, value = line.partition(": ")
        if sep and key in _SERVICE_CONNECT_FIELDS and key.lower() not in found:
            found[_SERVICE_CONNECT_FIELDS[key]] = value
    missing = [key for key, name in _SERVICE_CONNECT_FIELDS.items() if name not in found]
    if missing or not str(found.get("port", "")).isdigit():
        raise CfOutputError(action, f"the connection block lacks {', '.join(missing) or 'a numeric Port'}",
                            "Check the cf-service-connect plugin's version (cf plugins); v1.1.4 prints Host, Port, Username, Password and Name")
    found["port"] = int(found["port"])
    return found


def parse_api_body(stdout: str, *, action: str, cmd: list[str] | None = None) -> t.Any:
    """Parse a ``cf curl`` body; raise on an empty or non-JSON body and on Cloud Controller error JSON."""
    text = stdout.strip()
    if not text:
        raise CfOutputError(
            action,
            "the API returned an empty body (cf curl swallows request errors)",
            "Check the network and cf_api, then run again",
            cmd=cmd,
            stdout=stdout,
        )
    try:
        data = json.loads(text)
    except ValueError:
        first = text.splitlines()[0][:120]
        raise CfOutputError(
            action,
            f"the API returned something that is not JSON ({first})",
            "A proxy or an outage may be in the way: check cloud.gov's status and the https_proxy variable",
            cmd=cmd,
            stdout=stdout[:2000],
        ) from None
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first_error = errors[0]
            title = str(first_error.get("title", ""))
            detail = str(first_error.get("detail", ""))
            return raise_api_error(action, title, detail, first_error.get("code"), cmd, stdout)
        if "error_code" in data and "code" in data:
            return raise_api_error(action, str(data.get("error_code")), str(data.get("description", "")), data.get("code"), cmd, stdout)
    return data
