# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Over issue 12's 150 lines of code: most of it is data, _FAILURES (one entry per cf v8 message, with its cause and
# fix) and the error classes it names; the table is kept beside classify_failure, its only reader.

"""The errors of cf operations, and how a failed cf call is classified into them.

PRIVATE to the collection. It can have breaking changes at any time.

:class:`CfError` and its subclasses (one per failure kind a module reports). :func:`classify_failure` reads cf's
stderr, as cf v8 prints it, against a table of patterns, each with the cause and the fix to show;
:func:`raise_api_error` does the same for the Cloud Controller's error JSON that ``cf curl`` prints.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = [
    "CfApiError",
    "CfAuthError",
    "CfDeploymentError",
    "CfError",
    "CfMissingError",
    "CfNoApiError",
    "CfNoDeploymentError",
    "CfNoOrgError",
    "CfNoSpaceError",
    "CfNotAuthorizedError",
    "CfNotFoundError",
    "CfNotLoggedInError",
    "CfOutputError",
    "CfRequestError",
    "CfTimeoutError",
    "CfTokenExpiredError",
    "CfUsageError",
    "LOGIN_HINT",
    "classify_failure",
    "raise_api_error",
]

LOGIN_HINT = (
    "Log in with `cf login -a <cf_api> --sso` (operators) or export CF_USERNAME and CF_PASSWORD for a cloud.gov "
    "service account (CI), then run again"
)


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


# Cloud Controller error codes and titles (cf-cli.md §5) -> error class.
_CC_ERRORS: dict[str, type[CfError]] = {
    "CF-ResourceNotFound": CfNotFoundError,
    "CF-NotFound": CfNotFoundError,
    "CF-NotAuthorized": CfNotAuthorizedError,
    "CF-InvalidAuthToken": CfTokenExpiredError,
    "CF-NotAuthenticated": CfNotLoggedInError,
}


def raise_api_error(action: str, title: str, detail: str, code: t.Any, cmd: list[str] | None, stdout: str) -> t.NoReturn:
    """Raise the CfError of a Cloud Controller error answer (``CF-ResourceNotFound``...), with the fix to show."""
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
