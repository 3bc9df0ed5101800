# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The access review: who holds which cloud.gov role, compared with the roster and the allowed list.

PRIVATE to the collection. It can have breaking changes at any time.

Pure functions, standard library only (plus the roster validation of ``_approval``), no I/O except
:func:`write_report`:

* :func:`load_allowed` validates ``ops_access_allowed`` (unknown keys, unknown roles and entries without a reason are
  refused) into :class:`Allowance` entries.
* :func:`review` takes the role assignments that ``ttahub.ops.cf_roles_info`` read from the Cloud Controller
  (``/v3/roles``), the roster and the allowances, and returns the report: every assignment is *expected* (some
  allowance covers it) or *unexpected*; every assignment a ``required`` allowance names and nobody holds is *missing*.
* :func:`render_markdown` and :func:`write_report` turn the report into the two files an access review leaves.

People on the roster are matched by their roster ``email``: a person's cloud.gov username is the email address they
log in with. A roster member without an email cannot be matched; the report lists them.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t
from collections.abc import Mapping

from ansible_collections.ttahub.ops.plugins.module_utils._approval import ROLE_TITLES, ROLES, Roster
from ansible_collections.ttahub.ops.plugins.module_utils._reports import ReportWriteError, safe_name, write_pair
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = [
    "ALLOWED_KEYS",
    "ORG_ROLE_TYPES",
    "REPORT_FORMAT",
    "ROLE_NAMES",
    "SPACE_ROLE_TYPES",
    "AccessError",
    "Allowance",
    "load_allowed",
    "make_report",
    "render_markdown",
    "report_basename",
    "review",
    "utc_stamp",
    "write_report",
]

REPORT_FORMAT = "ttahub-ops-access-review/1"

ORG_ROLE_TYPES = ("organization_user", "organization_manager", "organization_auditor", "organization_billing_manager")
SPACE_ROLE_TYPES = ("space_manager", "space_developer", "space_auditor", "space_supporter")
ROLE_TYPES = ORG_ROLE_TYPES + SPACE_ROLE_TYPES

ROLE_NAMES = {
    # The names `cf set-org-role` / `cf set-space-role` take; an org user has no such name (cf org-users: USERS).
    "organization_user": "OrgUser",
    "organization_manager": "OrgManager",
    "organization_auditor": "OrgAuditor",
    "organization_billing_manager": "BillingManager",
    "space_manager": "SpaceManager",
    "space_developer": "SpaceDeveloper",
    "space_auditor": "SpaceAuditor",
    "space_supporter": "SpaceSupporter",
}

ALLOWED_KEYS = ("username", "roster_role", "roles", "spaces", "required", "reason")
WHERE = "inventories/<env>/group_vars/all/access.yml"


class AccessError(OpsError):
    """The review cannot be made. Worded "Failed to <action>: <cause>. <what to do>"."""

    kind = "access_review_failed"


def _allowed_fail(cause: str) -> AccessError:
    return AccessError(
        "read the allowed list", cause, f"Correct ops_access_allowed in {WHERE} (see docs/sops/access_review.md)"
    )


@dataclasses.dataclass(frozen=True)
class Allowance:
    """One entry of ``ops_access_allowed``: who (a cloud.gov username, or everyone holding a roster role) may hold
    which role types, optionally only in some spaces; ``required`` ones are also expected to be held."""

    index: int
    roles: tuple[str, ...]
    username: str = ""
    roster_role: str = ""
    spaces: tuple[str, ...] = ()
    required: bool = False
    reason: str = ""

    @property
    def label(self) -> str:
        who = f"roster role {self.roster_role}" if self.roster_role else self.username
        return f"ops_access_allowed[{self.index}] ({who})"

    def covers(self, role_type: str, space: str | None) -> bool:
        if role_type not in self.roles:
            return False
        return space is None or not self.spaces or space in self.spaces


def _str_list(value: t.Any, where: str, *, choices: tuple[str, ...] | None = None, required: bool) -> tuple[str, ...]:
    if value is None:
        value = []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _allowed_fail(f"{where} must be a list")
    if required and not value:
        raise _allowed_fail(f"{where} is empty")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _allowed_fail(f"{where} must hold non-empty strings, got {item!r}")
        if choices is not None and item not in choices:
            raise _allowed_fail(f"{where} has unknown role type {item!r}; role types are {', '.join(choices)}")
        out.append(item.strip())
    if len(set(out)) != len(out):
        raise _allowed_fail(f"{where} lists an item twice")
    return tuple(out)


def load_allowed(data: t.Any) -> tuple[Allowance, ...]:
    """Validate ``ops_access_allowed``; raise AccessError on the first problem."""
    if data is None:
        return ()
    if isinstance(data, str) or not isinstance(data, (list, tuple)):
        raise _allowed_fail(f"ops_access_allowed must be a list, got {type(data).__name__}")
    out = []
    for index, entry in enumerate(data):
        where = f"ops_access_allowed[{index}]"
        if not isinstance(entry, Mapping):
            raise _allowed_fail(f"{where} must be a mapping with keys {', '.join(ALLOWED_KEYS)}")
        unknown = sorted(str(k) for k in entry if k not in ALLOWED_KEYS)
        if unknown:
            raise _allowed_fail(
                f"{where} has unknown key {', '.join(repr(k) for k in unknown)}; allowed keys are {', '.join(ALLOWED_KEYS)}"
            )
        username = entry.get("username") or ""
        roster_role = entry.get("roster_role") or ""
        if not isinstance(username, str) or not isinstance(roster_role, str):
            raise _allowed_fail(f"{where} username and roster_role must be strings")
        username, roster_role = username.strip(), roster_role.strip()
        if bool(username) == bool(roster_role):
            raise _allowed_fail(f"{where} must name exactly one of username (a cloud.gov account) or roster_role")
        if roster_role and roster_role not in ROLES:
            raise _allowed_fail(f"{where} has unknown roster_role {roster_role!r}; roster roles are {', '.join(ROLES)}")
        roles = _str_list(entry.get("roles"), f"{where} roles", choices=ROLE_TYPES, required=True)
        spaces = _str_list(entry.get("spaces"), f"{where} spaces", required=False)
        required = entry.get("required", False)
        if not isinstance(required, bool):
            raise _allowed_fail(f"{where} required must be true or false, got {required!r}")
        reason = entry.get("reason") or ""
        if not isinstance(reason, str):
            raise _allowed_fail(f"{where} reason must be a string")
        reason = " ".join(reason.split())
        if username and not reason:
            raise _allowed_fail(f"{where} ({username}) has no reason: say why this account holds roles beyond the roster")
        out.append(Allowance(index, roles, username, roster_role, spaces, required, reason))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------------------
# The review


def _scope(assignment: Mapping[str, t.Any]) -> str:
    return f"space {assignment['space']}" if assignment.get("space") else f"org {assignment.get('org', '')}"


def _holder_name(assignment: Mapping[str, t.Any]) -> str:
    return str(assignment.get("username") or assignment.get("user_guid") or "?")


def review(
    assignments: t.Sequence[Mapping[str, t.Any]],
    roster: Roster,
    allowed: t.Sequence[Allowance],
    *,
    org: str,
    spaces: t.Sequence[str],
) -> dict[str, t.Any]:
    """Compare role assignments ({guid, type, username, user_guid, origin, org, space}) with roster and allowances.

    An assignment is expected when an allowance covers its role type (and space) for its holder: a username entry
    for that username, or a roster_role entry for a roster member with that role whose email is the username. An
    org user (``organization_user``, which cloud.gov gives everyone with a role in the org) is expected for anyone
    some allowance names. Everything else is unexpected. Every role a ``required`` allowance names, in every reviewed
    space it applies to, that its holder does not hold is missing.
    """
    grants: dict[str, list[Allowance]] = {}
    unmatched = []
    for allowance in allowed:
        if allowance.username:
            grants.setdefault(allowance.username.lower(), []).append(allowance)
            continue
        for member in roster.holders(allowance.roster_role):
            if member.email:
                grants.setdefault(member.email.lower(), []).append(allowance)
    for member in roster.members:
        if not member.email:
            unmatched.append({"id": member.id, "name": member.name, "roles": list(member.roles)})

    rows = []
    for item in sorted(assignments, key=lambda a: (_holder_name(a).lower(), a.get("space") or "", a.get("type", ""))):
        name = _holder_name(item)
        role_type = str(item.get("type", ""))
        space = item.get("space") or None
        options = grants.get(str(item.get("username") or "").lower(), []) if item.get("username") else []
        if role_type == "organization_user":
            via = [options[0].label] if options else []
        else:
            via = sorted({a.label for a in options if a.covers(role_type, space)})
        if via:
            status, why = "expected", "allowed by " + ", ".join(via)
        elif not item.get("username"):
            status, why = "unexpected", "cloud.gov returned no username for this user; look the user up by GUID"
        elif not options:
            status, why = "unexpected", "neither on the roster (by email) nor in the allowed list"
        else:
            kind = SPACE_ROLE_TYPES if space else ORG_ROLE_TYPES
            here = sorted({ROLE_NAMES[r] for a in options for r in a.roles if r in kind and a.covers(r, space)})
            where = _scope({"org": item.get("org", org), "space": space})
            status = "unexpected"
            why = (f"the allowed list gives {name} only {', '.join(here)} in {where}" if here
                   else f"the allowed list gives {name} no role in {where}")
        rows.append(
            {
                "username": name,
                "user_guid": item.get("user_guid", ""),
                "origin": item.get("origin", ""),
                "role": role_type,
                "role_name": ROLE_NAMES.get(role_type, role_type),
                "org": item.get("org", org),
                "space": space,
                "scope": _scope({"org": item.get("org", org), "space": space}),
                "role_guid": item.get("guid", ""),
                "status": status,
                "why": why,
            }
        )

    held = {(r["username"].lower(), r["role"], r["space"]) for r in rows}
    missing = []
    for allowance in allowed:
        if not allowance.required:
            continue
        if allowance.username:
            who = [(allowance.username, allowance.username)]
        else:
            who = []
            for member in roster.holders(allowance.roster_role):
                if member.email:
                    who.append((member.email, f"{member.name} ({member.id}, {ROLE_TITLES[allowance.roster_role]})"))
                else:
                    missing.append(
                        {
                            "username": "",
                            "who": f"{member.name} ({member.id}, {ROLE_TITLES[allowance.roster_role]})",
                            "role": ",".join(allowance.roles),
                            "role_name": ", ".join(ROLE_NAMES[r] for r in allowance.roles),
                            "scope": "",
                            "why": f"{allowance.label} requires these roles, but the roster gives no email, so "
                            "the person's cloud.gov username is unknown",
                        }
                    )
        for username, label in who:
            for role_type in allowance.roles:
                scopes: list[str | None]
                if role_type in ORG_ROLE_TYPES:
                    scopes = [None]
                else:
                    scopes = [s for s in spaces if not allowance.spaces or s in allowance.spaces]
                for space in scopes:
                    if (username.lower(), role_type, space) in held:
                        continue
                    missing.append(
                        {
                            "username": username,
                            "who": label,
                            "role": role_type,
                            "role_name": ROLE_NAMES[role_type],
                            "scope": _scope({"org": org, "space": space}),
                            "why": f"required by {allowance.label}",
                        }
                    )

    unexpected = [r for r in rows if r["status"] == "unexpected"]
    holders: dict[str, dict[str, t.Any]] = {}
    for row in rows:
        entry = holders.setdefault(row["username"].lower(), {"username": row["username"], "origin": row["origin"], "roles": []})
        entry["roles"].append({k: row[k] for k in ("role", "role_name", "scope", "status", "why", "role_guid")})
    return {
        "org": org,
        "spaces": list(spaces),
        "summary": {
            "holders": len(holders),
            "assignments": len(rows),
            "expected": len(rows) - len(unexpected),
            "unexpected": len(unexpected),
            "unexpected_holders": len({r["username"].lower() for r in unexpected}),
            "missing": len(missing),
            "roster_unmatched": len(unmatched),
        },
        "unexpected": unexpected,
        "missing": missing,
        "holders": sorted(holders.values(), key=lambda h: h["username"].lower()),
        "roster_unmatched": unmatched,
    }


# ---------------------------------------------------------------------------------------------------------------------
# The report


def make_report(result: Mapping[str, t.Any], *, environment: str, created: str, run_id: str = "") -> dict[str, t.Any]:
    """The review result with its envelope: format, environment, creation time (UTC) and run id."""
    return {"format": REPORT_FORMAT, "environment": environment, "created": created, "run_id": run_id, **result}


def utc_stamp(now: datetime.datetime | None = None) -> tuple[str, str]:
    """(ISO 8601 UTC time, file-name timestamp) of ``now``."""
    now = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc).replace(microsecond=0)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y%m%dT%H%M%SZ")


def report_basename(environment: str, stamp: str) -> str:
    """``access-review-<environment>-<UTC timestamp>`` (the files add ``.json`` and ``.md``)."""
    return f"access-review-{safe_name(environment)}-{stamp}"


def _cell(value: t.Any) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def _fix(row: Mapping[str, t.Any], org: str) -> str:
    if not row.get("username"):
        return "find the user by GUID with `cf curl /v3/users/<guid>`"
    if row["role"] == "organization_user":
        return f"remove the user's other roles, then `cf curl -X DELETE /v3/roles/{row.get('role_guid', '<role guid>')}`"
    if row.get("space"):
        return f"`cf unset-space-role {row['username']} {org} {row['space']} {row['role_name']}`"
    return f"`cf unset-org-role {row['username']} {org} {row['role_name']}`"


def render_markdown(report: Mapping[str, t.Any]) -> str:
    """The report for people: what was found, then every holder."""
    summary = report["summary"]
    lines = [
        f"# Access review: {report['environment']}",
        "",
        f"- Org `{report['org']}`, spaces {', '.join(f'`{s}`' for s in report['spaces']) or '(none)'}",
        f"- Made {report['created']} by run `{report.get('run_id') or '-'}`",
        f"- {summary['holders']} people and accounts hold {summary['assignments']} roles: {summary['expected']} expected, "
        f"{summary['unexpected']} unexpected (held by {summary['unexpected_holders']}), {summary['missing']} missing",
        "",
        "## Unexpected role holders",
        "",
    ]
    if report["unexpected"]:
        lines += ["| username | role | where | why | to remove it |", "| --- | --- | --- | --- | --- |"]
        for row in report["unexpected"]:
            lines.append(
                f"| {_cell(row['username'])} | {row['role_name']} | {_cell(row['scope'])} | {_cell(row['why'])} | "
                f"{_cell(_fix(row, report['org']))} |"
            )
        lines += [
            "",
            "Remove each role that should not be held (an Org Manager or Space Manager can), or, when the person or"
            " account should hold it, add them to the roster or to `ops_access_allowed` with a reason.",
        ]
    else:
        lines.append("None.")
    lines += ["", "## Missing role holders", ""]
    if report["missing"]:
        lines += ["| who | username | role | where | why |", "| --- | --- | --- | --- | --- |"]
        for row in report["missing"]:
            lines.append(
                f"| {_cell(row['who'])} | {_cell(row['username'])} | {_cell(row['role_name'])} | {_cell(row['scope'])} | "
                f"{_cell(row['why'])} |"
            )
    else:
        lines.append("None.")
    if report["roster_unmatched"]:
        lines += ["", "## Roster members who cannot be matched", ""]
        for member in report["roster_unmatched"]:
            roles = ", ".join(ROLE_TITLES.get(r, r) for r in member["roles"])
            lines.append(f"- {member['name']} ({member['id']}, {roles}): no email in the roster")
    lines += ["", "## Every role holder", "", "| username | origin | role | where | status |", "| --- | --- | --- | --- | --- |"]
    for holder in report["holders"]:
        for role in holder["roles"]:
            lines.append(
                f"| {_cell(holder['username'])} | {_cell(holder['origin'])} | {role['role_name']} | {_cell(role['scope'])} | "
                f"{role['status']} |"
            )
    return "\n".join(lines) + "\n"


def write_report(report: Mapping[str, t.Any], directory: str, stamp: str) -> dict[str, str]:
    """Write ``<basename>.json`` and ``.md`` (mode 0600) into ``directory``; both or neither. Returns their paths
    and the JSON file's SHA-256."""
    try:
        return write_pair(directory, report_basename(str(report["environment"]), stamp), report, render_markdown(report))
    except ReportWriteError as exc:
        raise AccessError("write the access review report", exc.cause, exc.fix) from None
