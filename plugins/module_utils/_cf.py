# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one cf CLI client of ttahub.ops.

PRIVATE to the collection. It can have breaking changes at any time.

Every call to ``cf`` in the collection goes through :class:`CfClient`: argv lists only, a forced English, colourless,
untraced output, a timeout on every call, secrets only in the environment. Failures are classified from cf's stderr
(as cf v8 prints them) into :class:`CfError` subclasses whose message says what to do. Modules turn them into
``fail_json`` in one place (:func:`run_module`); controller-side code into ``AnsibleActionFail``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
import typing as t
from urllib.parse import urlsplit

from ansible_collections.ttahub.ops.plugins.module_utils import _proc, _runtime
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError, shown

try:
    from ansible.module_utils.basic import env_fallback
except ImportError:  # pragma: no cover - the SSH watchdog runs this file without Ansible's argument specs
    env_fallback = None

try:
    import jmespath
    from jmespath.exceptions import JMESPathError

    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by ansible-test's import sanity test
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = exc

    class JMESPathError(Exception):  # type: ignore[no-redef]
        pass


__all__ = [
    "CF_COMMON_ARGS",
    "CfClient",
    "CfError",
    "CfResult",
    "arm_session_reaper",
    "cf_argument_spec",
    "hold_session",
    "release_session",
    "session_holds",
    "supervisor_of",
    "check_api_path",
    "check_arguments",
    "check_name",
    "classify_failure",
    "is_cf_name",
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
    "stop_group",
]

DEFAULT_TIMEOUT = 120
# Overrides the default of cf_timeout for every cf call of a run (a slow network, or a rehearsal of hung calls).
TIMEOUT_ENV = "TTAHUB_OPS_CF_TIMEOUT"
INSTALL_HINT = (
    "Install the cf CLI v8 (https://docs.cloudfoundry.org/cf-cli/install-go-cli.html, Debian/Ubuntu package cf8-cli) "
    "or set ops_cf_cli (module option cf_cli) to its path"
)
LOGIN_HINT = (
    "Log in with `cf login -a <cf_api> --sso` (operators) or export CF_USERNAME and CF_PASSWORD for a cloud.gov "
    "service account (CI), then run again"
)

CF_COMMON_ARGS: dict[str, dict[str, t.Any]] = {
    "cf_cli": {"type": "path"},
    "cf_home": {"type": "path", "required": True},
    "cf_timeout": {"type": "int", "default": DEFAULT_TIMEOUT, "fallback": (env_fallback, [TIMEOUT_ENV])},
}


def cf_argument_spec(**options: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """The module's own options plus the common cf options (doc fragment ttahub.ops._cf)."""
    spec = {name: dict(value) for name, value in CF_COMMON_ARGS.items()}
    spec.update(options)
    return spec


# ---------------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------------


class CfError(OpsError):
    """A failed cf operation. ``str()`` gives "Failed to <action>: <cause>. <fix>"."""

    kind = "cf_error"

    def __init__(
        self,
        action: str,
        cause: str,
        fix: str = "",
        *,
        cmd: list[str] | None = None,
        rc: int | None = None,
        stdout: str | None = None,
        stderr: str | None = None,
        **extra: t.Any,
    ) -> None:
        # The output is already free of secrets (see CfClient.run).
        super().__init__(action, cause, fix, cmd=cmd, rc=rc, stdout=stdout, stderr=stderr, **extra)
        self.cmd, self.rc, self.stdout, self.stderr = cmd, rc, stdout, stderr


class CfMissingError(CfError):
    kind = "cf_missing"


class CfNoApiError(CfError):
    kind = "no_api"


class CfNotLoggedInError(CfError):
    kind = "not_logged_in"


class CfNoOrgError(CfError):
    kind = "no_org_targeted"


class CfNoSpaceError(CfError):
    kind = "no_space_targeted"


class CfTokenExpiredError(CfError):
    kind = "token_expired"


class CfAuthError(CfError):
    kind = "credentials_rejected"


class CfNotFoundError(CfError):
    kind = "not_found"


class CfNotAuthorizedError(CfError):
    kind = "not_authorized"


class CfRequestError(CfError):
    kind = "request_error"


class CfUsageError(CfError):
    kind = "usage_error"


class CfTimeoutError(CfError):
    kind = "timeout"


class CfOutputError(CfError):
    kind = "unexpected_output"


class CfApiError(CfError):
    kind = "api_error"


class CfDeploymentError(CfError):
    kind = "deployment_failed"


class CfNoDeploymentError(CfError):
    kind = "no_active_deployment"


# (pattern on cf's stderr, error class, cause template, hint template). Order follows cf's own target checks
# (cf-cli.md §1): API, login, org, space, then the token, then the command-specific texts.
_FAILURES: list[tuple[re.Pattern[str], type[CfError], str, str]] = [
    (
        re.compile(r"^No API endpoint set\."),
        CfNoApiError,
        "no API endpoint is set",
        "Set cf_api in the inventory (the cf session runs `cf api` for you) or run `cf api https://api.fr.cloud.gov`",
    ),
    (re.compile(r"^Not logged in\."), CfNotLoggedInError, "not logged in to cloud.gov", LOGIN_HINT),
    (
        re.compile(r"^No org targeted"),
        CfNoOrgError,
        "no org is targeted",
        "Set cf_org in the inventory; the cf session targets it with `cf target -o`",
    ),
    (
        re.compile(r"^No space targeted"),
        CfNoSpaceError,
        "no space is targeted",
        "Set cf_space in the inventory; the cf session targets it with `cf target -s`",
    ),
    (
        re.compile(r"^The token expired, was revoked, or the token ID is incorrect\."),
        CfTokenExpiredError,
        "the cloud.gov token expired or was revoked",
        LOGIN_HINT,
    ),
    (
        re.compile(r"^Credentials were rejected"),
        CfAuthError,
        "cloud.gov rejected the credentials in CF_USERNAME/CF_PASSWORD",
        "Check the service account's username and password (cf service-key <account> <key>), then run again",
    ),
    (
        re.compile(r"^(Username and password|Username|Password) not provided\."),
        CfAuthError,
        "{0} not provided",
        "Export CF_USERNAME and CF_PASSWORD, or unset both and log in with `cf login --sso`",
    ),
    (
        re.compile(r"^App '(?P<name>.*)' not found\."),
        CfNotFoundError,
        "app '{name}' not found in the targeted space",
        "Check the app name (cf_app) and the space (cf_space) in the inventory; `cf apps` lists the space's apps",
    ),
    (
        re.compile(r"^Space '(?P<name>.*)' not found\."),
        CfNotFoundError,
        "space '{name}' not found in the targeted org",
        "Check cf_space and cf_org in the inventory; `cf spaces` lists the org's spaces",
    ),
    (
        re.compile(r"^Organization '(?P<name>.*)' not found\."),
        CfNotFoundError,
        "org '{name}' not found",
        "Check cf_org in the inventory; `cf orgs` lists the orgs you can see",
    ),
    (
        re.compile(r"^Service instance '?(?P<name>[^']*?)'? not found"),
        CfNotFoundError,
        "service instance '{name}' not found in the targeted space",
        "Check cf_db_service in the inventory; `cf services` lists the space's services",
    ),
    (
        re.compile(r"^No service key (?P<key>\S+) found for service instance (?P<name>.+)$"),
        CfNotFoundError,
        "no service key {key} for service instance {name}",
        "List the keys with `cf service-keys {name}`",
    ),
    (
        re.compile(r"^Task sequence ID (?P<id>\d+) not found\."),
        CfNotFoundError,
        "task {id} not found",
        "List the app's tasks with `cf tasks <app>`",
    ),
    (
        re.compile(r"^Process (?P<name>\S+) not found"),
        CfNotFoundError,
        "process type {name} not found",
        "Check the process type; `cf app <app>` lists the app's processes",
    ),
    (
        re.compile(r"^Start unsuccessful"),
        CfDeploymentError,
        "the new instances crashed while starting (Start unsuccessful)",
        "Read the app's recent logs (cf logs <app> --recent); a rolling deployment left active must be cancelled "
        "(cf cancel-deployment <app>) so that the previous version keeps serving",
    ),
    (
        re.compile(r"^Start app timeout"),
        CfDeploymentError,
        "the new instances did not become healthy in time (Start app timeout)",
        "The app must listen on $PORT; read its recent logs (cf logs <app> --recent)",
    ),
    (
        re.compile(r"^Deployment has been (?P<how>canceled|superseded)"),
        CfDeploymentError,
        "the deployment was {how} while cf waited for it",
        "Check who changed the app (cf app <app>, cf events <app>) before deploying again",
    ),
    (
        re.compile(r"^No active deployment found for app\."),
        CfNoDeploymentError,
        "the app has no active deployment",
        "Nothing to cancel; cf app <app> shows the app's state",
    ),
    (
        re.compile(r"^You are not authorized to perform the requested action"),
        CfNotAuthorizedError,
        "cloud.gov says you are not authorized to perform the requested action",
        "Ask an Org Manager to grant the needed role (Space Developer for apps and tasks, Space Manager for space SSH)",
    ),
    (
        re.compile(r"^Request error: (?P<err>.*)$"),
        CfRequestError,
        "could not reach the cloud.gov API ({err})",
        "Check the network connection, cf_api, and the https_proxy environment variable",
    ),
    (
        re.compile(r"^(Incorrect Usage|Incorrect usage)"),
        CfUsageError,
        "cf rejected the command line ({line})",
        "This collection needs cf CLI v8; check `cf version`",
    ),
    (
        re.compile(r"^'(?P<name>[^']+)' is not a registered command"),
        CfUsageError,
        "cf does not know the command '{name}'",
        "This collection needs cf CLI v8 (and the cf-service-connect plugin for connect-to-service); check `cf version` and `cf plugins`",
    ),
]


def classify_failure(
    action: str,
    cmd: list[str],
    rc: int,
    stdout: str | None,
    stderr: str,
) -> CfError:
    """Turn a failed cf call into the matching CfError, from the first recognised line of stderr."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        for pattern, cls, cause, hint in _FAILURES:
            match = pattern.search(line)
            if match:
                fields = {k: v for k, v in match.groupdict().items() if v is not None}
                fields["line"] = line
                cause_text = cause.format(*match.groups(), **fields)
                hint_text = hint.format(**fields)
                return cls(action, cause_text, hint_text, cmd=cmd, rc=rc, stdout=stdout, stderr=stderr)
    text = " ".join(lines) or " ".join(
        line.strip() for line in (stdout or "").splitlines() if line.strip() and line.strip() != "FAILED"
    )
    return CfError(
        action,
        f"cf exited {rc}: {text or 'no message'}",
        "Run the same cf command by hand to see more (CF_TRACE=true adds the API requests)",
        cmd=cmd,
        rc=rc,
        stdout=stdout,
        stderr=stderr,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Parsers of cf v8 output (tests: tests/unit/plugins/module_utils/test__cf.py on tests/fixtures/cf_v8/*.yml)
# ---------------------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------------------
# Names on cf's command line
# ---------------------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------------------------------------


class CfResult(t.NamedTuple):
    cmd: list[str]
    rc: int
    stdout: str
    stderr: str


# Cloud Controller error codes and titles (cf-cli.md §5) -> error class.
_CC_ERRORS: dict[str, type[CfError]] = {
    "CF-ResourceNotFound": CfNotFoundError,
    "CF-NotFound": CfNotFoundError,
    "CF-NotAuthorized": CfNotAuthorizedError,
    "CF-InvalidAuthToken": CfTokenExpiredError,
    "CF-NotAuthenticated": CfNotLoggedInError,
}


class CfClient:
    """Runs cf with an isolated CF_HOME, a timeout, and errors that say what to do."""

    def __init__(
        self,
        *,
        cf_cli: str | None = None,
        cf_home: str | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        environ: t.Mapping[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.cf_home = cf_home
        self._environ = dict(os.environ if environ is None else environ)
        self.binary = self._find_cf(cf_cli)
        self.calls = 0

    def _find_cf(self, cf_cli: str | None) -> str:
        if cf_cli:
            path = os.path.expanduser(cf_cli)
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise CfMissingError("find the cf CLI", f"{cf_cli} is not an executable file", INSTALL_HINT)
            return path
        found = _proc.find_tool("cf", path=self._environ.get("PATH"))
        if not found:
            raise CfMissingError("find the cf CLI", "there is no `cf` on PATH", INSTALL_HINT)
        return found

    def environment(self, extra: t.Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(self._environ)
        # Parsers read English, colourless, untraced output (cf-cli.md §1, §2).
        env.update({"LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8", "CF_COLOR": "false", "CF_TRACE": "false"})
        env.pop("FORCE_TTY", None)
        if self.cf_home:
            # Plugins (cf-service-connect) stay where the operator or CI installed them, outside the per-run CF_HOME.
            env.setdefault("CF_PLUGIN_HOME", self._environ.get("CF_HOME") or self._environ.get("HOME") or os.path.expanduser("~"))
            env["CF_HOME"] = self.cf_home
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        args: list[str],
        *,
        action: str,
        check: bool = True,
        timeout: int | None = None,
        env: t.Mapping[str, str] | None = None,
        secret_output: bool = False,
    ) -> CfResult:
        """Run ``cf <args>``. ``secret_output`` keeps stdout out of any error (ssh-code, connect-to-service)."""
        if not all(isinstance(a, str) for a in args):
            raise TypeError("cf arguments must be strings")
        check_arguments(args, action)
        cmd = [self.binary, *args]
        limit = self.timeout if timeout is None else timeout
        self.calls += 1
        try:
            # A hung cf (or the ssh a plugin started) is stopped with its whole process group (_proc.run).
            proc = _proc.run(cmd, timeout=limit, env=self.environment(env), cwd=None)
        except OSError as exc:
            raise CfMissingError(action, f"cannot run {self.binary} ({exc.strerror})", INSTALL_HINT, cmd=cmd) from exc
        except _proc.TimedOut:
            raise CfTimeoutError(
                action,
                f"cf did not finish within {limit} s and was stopped",
                "Check the network and cloud.gov's status (https://cloudgov.statuspage.io), or raise cf_timeout",
                cmd=cmd,
            ) from None
        stdout, stderr = proc.text("stdout"), proc.text("stderr")
        if proc.rc != 0 and check:
            raise classify_failure(action, cmd, proc.rc, None if secret_output else stdout, stderr)
        return CfResult(cmd, proc.rc, stdout, stderr)

    def spawn(self, args: list[str], *, action: str, env: t.Mapping[str, str] | None = None) -> _proc.Popen[bytes]:
        """Start ``cf <args>`` that keeps running (``connect-to-service``) in its own process group, stdout and stderr
        piped; the caller reads them and ends it with :func:`stop_group`."""
        if not all(isinstance(a, str) and "\x00" not in a and "\n" not in a for a in args):
            raise CfUsageError(action, "an argument is not a one-line string", "Check the names given to the playbook")
        check_arguments(args, action)
        cmd = [self.binary, *args]
        self.calls += 1
        try:
            return _proc.spawn(cmd, env=self.environment(env), cwd=None)
        except OSError as exc:
            raise CfMissingError(action, f"cannot run {self.binary} ({exc.strerror})", INSTALL_HINT, cmd=cmd) from exc

    # -- Cloud Controller API through `cf curl` ----------------------------------------------------------------------

    def curl(
        self,
        path: str,
        *,
        action: str,
        method: str = "GET",
        body: t.Any = None,
        timeout: int | None = None,
    ) -> t.Any:
        """``cf curl`` returns 0 on HTTP errors: parse the body and raise on CC error JSON or an invalid body."""
        if not path.startswith("/"):
            raise CfUsageError(action, f"API path {path!r} does not start with /", "Pass a path such as /v3/apps")
        args = ["curl", path]
        if method != "GET":
            args += ["-X", method]
        if body is not None:
            args += ["-d", json.dumps(body, separators=(",", ":"))]
        result = self.run(args, action=action, timeout=timeout)
        return parse_api_body(result.stdout, action=action, cmd=result.cmd)

    def curl_all(self, path: str, *, action: str, limit_pages: int = 200) -> list[t.Any]:
        """All resources of a paginated v3 list, following ``pagination.next.href``."""
        resources: list[t.Any] = []
        next_path: str | None = path
        for _page in range(limit_pages):
            if next_path is None:
                return resources
            data = self.curl(next_path, action=action)
            if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
                raise CfOutputError(action, "the API answer has no resources list", "Check the API path", stdout=json.dumps(data)[:500])
            resources.extend(data["resources"])
            nxt = (data.get("pagination") or {}).get("next")
            next_path = _href_to_path(nxt["href"]) if isinstance(nxt, dict) and nxt.get("href") else None
        raise CfOutputError(action, f"more than {limit_pages} pages", "Narrow the query")

    def curl_all_included(
        self, path: str, *, action: str, limit_pages: int = 200
    ) -> tuple[list[t.Any], dict[str, list[t.Any]]]:
        """Like curl_all, plus the ``included`` resources of an ``include=`` query (``/v3/roles?include=user``),
        merged across pages by kind and GUID."""
        resources: list[t.Any] = []
        included: dict[str, dict[str, t.Any]] = {}
        next_path: str | None = path
        for _page in range(limit_pages):
            if next_path is None:
                return resources, {kind: list(items.values()) for kind, items in included.items()}
            data = self.curl(next_path, action=action)
            if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
                raise CfOutputError(action, "the API answer has no resources list", "Check the API path", stdout=json.dumps(data)[:500])
            resources.extend(data["resources"])
            extra = data.get("included") or {}
            if not isinstance(extra, dict):
                raise CfOutputError(action, "the API answer's included is not an object", "Check the API path", stdout=json.dumps(data)[:500])
            for kind, items in extra.items():
                bucket = included.setdefault(kind, {})
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, dict) and isinstance(item.get("guid"), str):
                        bucket.setdefault(item["guid"], item)
            nxt = (data.get("pagination") or {}).get("next")
            next_path = _href_to_path(nxt["href"]) if isinstance(nxt, dict) and nxt.get("href") else None
        raise CfOutputError(action, f"more than {limit_pages} pages", "Narrow the query")


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
            return _raise_cc_error(action, title, detail, first_error.get("code"), cmd, stdout)
        if "error_code" in data and "code" in data:
            return _raise_cc_error(action, str(data.get("error_code")), str(data.get("description", "")), data.get("code"), cmd, stdout)
    return data


def _raise_cc_error(action: str, title: str, detail: str, code: t.Any, cmd: list[str] | None, stdout: str) -> t.NoReturn:
    cls = _CC_ERRORS.get(title, CfApiError)
    hints = {
        CfNotFoundError: "Check the names in the inventory; the object may have been deleted or renamed",
        CfNotAuthorizedError: "Ask an Org Manager to grant the needed role",
        CfTokenExpiredError: LOGIN_HINT,
        CfNotLoggedInError: LOGIN_HINT,
    }
    raise cls(
        action,
        f"the Cloud Controller answered {title} ({code}): {detail}",
        hints.get(cls, "See the Cloud Controller error above"),
        cmd=cmd,
        stdout=stdout[:2000],
    )


def _href_to_path(href: str) -> str:
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


stop_group = _proc.stop_group


def query(data: t.Any, expression: str, *, action: str = "select from the API answer") -> t.Any:
    """JMESPath over API JSON, e.g. ``resources[?type=='web'].guid | [0]`` (the seed's jq step)."""
    if not HAS_JMESPATH:
        raise CfError(action, "the jmespath Python library is not installed", "pip install jmespath (make setup installs it)")
    try:
        return jmespath.search(expression, data)
    except JMESPathError as exc:
        raise CfUsageError(action, f"invalid JMESPath query {expression!r} ({exc})", "Fix the query") from None


# ---------------------------------------------------------------------------------------------------------------------
# Per-run CF_HOME
# ---------------------------------------------------------------------------------------------------------------------

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


CONTROLLER_PID_ENV = _runtime.CONTROLLER_PID_ENV
# A hold on a session: a space SSH window whose watchdog still needs the session to close it (hold_session).
SESSION_HOLD_PREFIX = ".ttahub-ops-held-"
# Waits for the controller to die, then for every hold to be released (the watchdog closes the window with this
# session, and removes it itself), then removes the session it left (only a directory create_cf_home marked).
# Under ansible-runner ($3), a runner that dies (SIGKILL: it cannot stop its child) leaves ansible-playbook orphaned on a
# closed terminal: it is stopped with SIGTERM, as the runner itself would have done.
# A cf call still under way when the controller died ends within its timeout ($4 s) and writes its config.json (the
# token) back into the session, even after the watchdog or the reaper removed it: the reaper removes the directory
# again while such a call can still end. ($2 is the random directory create_cf_home made for this run, nothing else.)
_REAPER = (
    'while kill -0 "$1" 2>/dev/null; do '
    'if [ -n "$3" ] && ! kill -0 "$3" 2>/dev/null; then kill -TERM "$1" 2>/dev/null; fi; sleep 1; done; '
    'while :; do held=; for f in "$2"/%s*; do [ -e "$f" ] && held=1; done; [ -z "$held" ] && break; sleep 1; done; '
    'rm -rf -- "$2"; i=0; while [ "$i" -lt "$4" ]; do sleep 1; i=$((i + 1)); [ -e "$2" ] && rm -rf -- "$2"; done'
) % (SESSION_HOLD_PREFIX,)


def hold_session(cf_home: str, name: str) -> None:
    """Keep the session reaper from removing ``cf_home`` while ``name`` (a window) may still need it."""
    with open(os.path.join(cf_home, SESSION_HOLD_PREFIX + name), "w", encoding="utf-8"):
        pass


def release_session(cf_home: str, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(cf_home, SESSION_HOLD_PREFIX + name))


def supervisor_of(pid: int) -> int | None:
    """The ``ansible-runner`` that runs ``pid`` (its nearest ancestor of that name), or None."""
    return _proc.nearest(pid, "ansible-runner")


def arm_session_reaper(cf_home: str, environ: t.Mapping[str, str], linger: int = DEFAULT_TIMEOUT + 5) -> int | None:
    """Remove the per-run CF_HOME (it holds a token) when the run's controller dies without ending the session
    (SIGKILL, SIGTERM, a failure inside the always section): a detached shell waits for ansible-playbook's pid
    (E(TTAHUB_OPS_CONTROLLER_PID), set by the audit callback), then for the holds of open SSH windows (their watchdog
    closes them with this session), and removes the directory. Under ansible-runner it also stops an ansible-playbook
    that its dead runner left orphaned. For ``linger`` seconds (a cf call's timeout) it removes the directory again if
    a cf call that was under way writes it back. The session's normal end removes it first. Returns the shell's pid,
    or None outside a run (no controller pid)."""
    if not os.path.isfile(os.path.join(cf_home, SESSION_MARKER)):
        raise CfUsageError("watch the cf session", f"{cf_home} is not a ttahub.ops session directory",
                           "Pass the cf_home that create_cf_home made")
    value = environ.get(CONTROLLER_PID_ENV, "")
    if not value.isdigit():
        return None
    supervisor = supervisor_of(int(value))
    proc = _proc.spawn(
        ["/bin/sh", "-c", _REAPER, "ttahub-ops-session-reaper", value, cf_home, str(supervisor or ""), str(int(linger))],
        stdout=_proc.DEVNULL, stderr=_proc.DEVNULL,
    )
    return proc.pid


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


# ---------------------------------------------------------------------------------------------------------------------
# The client a module's options describe (the module edge is _module.run_module)
# ---------------------------------------------------------------------------------------------------------------------


def client_from_module(module: t.Any) -> CfClient:
    params = module.params
    return CfClient(cf_cli=params.get("cf_cli"), cf_home=params.get("cf_home"), timeout=params.get("cf_timeout") or DEFAULT_TIMEOUT)
