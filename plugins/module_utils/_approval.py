# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""Roster, approval policies and intents: the pure part of the approval gate.

PRIVATE to the collection. It can have breaking changes at any time.

Everything here is stdlib only and free of I/O, so that every decision of the gate can be tested
in milliseconds and that later proof sources (GitHub pull request reviews) feed the same
evaluation as typed and signed approvals:

* ``load_roster`` / ``load_policies`` validate the inventory data (``ops_roster``,
  ``ops_roster_vacant_roles``, ``ops_approval_policies``) and refuse unknown keys, duplicates and
  unknown roles; ``check_policy`` refuses a policy the roster cannot satisfy or whose approvers
  are not fully identified.
* ``build_intent`` is the one representation of "what this run will do": the approval request
  writes it, approvers sign it, the SOP run rebuilds it and compares.
* ``admit`` and ``evaluate`` decide whether proofs (typed, signed, GitHub review) satisfy a policy.

Errors: ``Refused`` is one refused proof or step (it carries a reason code for the audit log);
``ApprovalError`` stops the gate. Both carry messages that say what is wrong and what to do.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import itertools
import json
import re
import secrets
import typing as t
from collections.abc import Mapping

from ansible_collections.ttahub.ops.plugins.module_utils._cf.names import NAME_HINT, is_cf_name
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError, shown

__all__ = [
    "ApprovalError",
    "Approval",
    "Decision",
    "Member",
    "Policy",
    "Proof",
    "Refused",
    "Roster",
    "admit",
    "build_intent",
    "check_policy",
    "check_validity",
    "compare_intents",
    "evaluate",
    "intent_code",
    "intent_digest",
    "load_policies",
    "load_roster",
    "noninteractive_reason",
    "parse_intent",
    "proof_from_github_pr",
    "proof_from_github_review",
    "render_intent",
]

NAMESPACE = "ttahub-ops"
"""The ``ssh-keygen -Y sign/verify -n`` namespace of approval signatures."""

INTENT_FORMAT = "ttahub-ops-intent/1"

ROLE_TITLES = {
    "product_owner": "Product Owner",
    "government_technical_monitor": "Government Technical Monitor",
    "vendor_tech_lead": "Vendor Technical Lead",
    "vendor_product_manager": "Vendor Product Manager",
}
ROLES = tuple(ROLE_TITLES)

METHODS = ("typed", "signed", "github_pr", "github_review")
"""How an approver can prove an approval: typed at the terminal, an SSH signature over intent.json,
opening the release pull request (its author, the SOP's first approval), or an approving pull request
review (the second), both mapped to the roster by GitHub login."""

ROSTER_KEYS = ("id", "name", "roles", "github", "email", "ssh_public_key")
IDENTITY_FIELDS = ("github", "email", "ssh_public_key")
"""Every person who can approve under a policy must have all of these: an approval is only as
attributable as the roster entry behind it."""

POLICY_KEYS = (
    "description",
    "required_roles",
    "min_people",
    "operator_may_approve",
    "substitutions",
    "max_age",
    "attestations",
    "methods",
)

INTENT_KEYS = (
    "format",
    "sop",
    "policy",
    "environment",
    "target",
    "parameters",
    "attestations",
    "created",
    "not_after",
    "nonce",
)
SUBJECT_KEYS = INTENT_KEYS[:7]
"""The part of an intent that must equal what the run will do; the rest is the envelope."""
TARGET_KEYS = ("org", "space", "app", "service")

CLOCK_SKEW = 300
"""Seconds an intent's ``created`` may lie in the future (clocks of requester and operator differ)."""

_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
_GITHUB_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_KEY_TYPES = (
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa",
)
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


class ApprovalError(OpsError):
    """The gate cannot go on. Worded "Failed to <action>: <cause>. <what to do>"; ``reason`` is its stable code."""

    kind = "invalid_configuration"

    def __init__(self, action: str, cause: str, fix: str = "", *, reason: str = "invalid_configuration") -> None:
        super().__init__(action, cause, fix, kind=reason)

    @property
    def reason(self) -> str:
        return self.kind


class Refused(OpsError):
    """One proof or one typed step is refused. ``reason`` is a stable code for the audit log; the message is the
    refusal as it is shown (not "Failed to ...": the gate goes on to the next proof)."""

    kind = "approval_refused"

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        approver: str = "",
        role: str = "",
        method: str = "",
        key_fingerprint: str = "",
        fix: str = "",
    ) -> None:
        self.text = message
        self.approver = approver
        self.role = role
        self.method = method
        self.key_fingerprint = key_fingerprint
        super().__init__("", message, fix, kind=reason)

    @property
    def message(self) -> str:
        return self.text

    @property
    def reason(self) -> str:
        return self.kind

    def event(self, **context: t.Any) -> dict[str, t.Any]:
        """The audit event of this refusal (``approval_expired`` etc. for the named decisions)."""
        name = {
            "expired": "approval_expired",
            "replayed": "approval_replayed",
            "wrong_intent": "approval_wrong_intent",
        }.get(self.reason, "approval_refused")
        return audit_event(
            name,
            reason=self.reason,
            detail=self.message,
            approver=self.approver,
            role=self.role,
            method=self.method,
            key_fingerprint=self.key_fingerprint,
            **context,
        )


# ---------------------------------------------------------------------------------------------
# Roster


@dataclasses.dataclass(frozen=True)
class Member:
    id: str
    name: str
    roles: tuple[str, ...]
    github: str = ""
    email: str = ""
    ssh_public_key: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})"

    @property
    def key_fingerprint(self) -> str:
        return public_key_fingerprint(self.ssh_public_key) if self.ssh_public_key else ""


@dataclasses.dataclass(frozen=True)
class Roster:
    members: tuple[Member, ...]
    vacant_roles: frozenset[str] = frozenset()

    def get(self, member_id: str) -> Member | None:
        for member in self.members:
            if member.id == member_id:
                return member
        return None

    def holders(self, role: str) -> tuple[Member, ...]:
        return tuple(m for m in self.members if role in m.roles)

    def by_github(self, login: str) -> Member | None:
        for member in self.members:
            if member.github and member.github.lower() == login.lower():
                return member
        return None

    def by_fingerprint(self, fingerprint: str) -> Member | None:
        for member in self.members:
            if member.ssh_public_key and member.key_fingerprint == fingerprint:
                return member
        return None

    def allowed_signers(self) -> str:
        """The ``ssh-keygen -Y verify -f`` allowed-signers text: one line per member with a key."""
        lines = [
            f'{m.id} namespaces="{NAMESPACE}" {" ".join(m.ssh_public_key.split()[:2])}'
            for m in self.members
            if m.ssh_public_key
        ]
        return "\n".join(lines) + ("\n" if lines else "")


def _roster_fail(cause: str, todo: str = "Correct ops_roster in the inventory (see docs/approvals.md)") -> ApprovalError:
    return ApprovalError("load the approval roster", cause, todo, reason="invalid_roster")


def _plain_str(value: t.Any, where: str, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _roster_fail(f"{where} must be a string, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise _roster_fail(f"{where} is empty")
    return value


def public_key_fingerprint(key: str) -> str:
    """``SHA256:<base64>`` as ``ssh-keygen -l`` prints it; raises ValueError on a malformed key."""
    parts = key.split()
    if len(parts) < 2 or parts[0] not in _KEY_TYPES:
        raise ValueError(f"not an OpenSSH public key line (expected one of {', '.join(_KEY_TYPES)})")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the key's base64 part does not decode") from exc
    if len(blob) < 4:
        raise ValueError("the key blob is truncated")
    size = int.from_bytes(blob[:4], "big")
    if blob[4:4 + size].decode("ascii", "replace") != parts[0]:
        raise ValueError(f"the key blob is not a {parts[0]} key")
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"


def _ssh_string(blob: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(blob):
        raise ValueError("truncated")
    size = int.from_bytes(blob[offset:offset + 4], "big")
    end = offset + 4 + size
    if end > len(blob):
        raise ValueError("truncated")
    return blob[offset + 4:end], end


def parse_sshsig(armored: bytes) -> tuple[str, str, str]:
    """(signer's public key line, namespace, hash algorithm) of an ``ssh-keygen -Y sign`` signature file.

    Reading the signer's key from the signature lets the gate say *whose* key made a signature that does
    not verify (another roster member's, or a key not in the roster); the cryptographic check itself is
    ``ssh-keygen -Y verify``. Raises ValueError when the data is not an SSH signature.
    """
    text = armored.decode("ascii", "replace").strip().splitlines()
    if len(text) < 3 or text[0].strip() != "-----BEGIN SSH SIGNATURE-----" or text[-1].strip() != "-----END SSH SIGNATURE-----":
        raise ValueError("not an armored SSH signature (-----BEGIN SSH SIGNATURE-----)")
    try:
        blob = base64.b64decode("".join(line.strip() for line in text[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the signature's base64 does not decode") from None
    if blob[:6] != b"SSHSIG" or len(blob) < 10:
        raise ValueError("no SSHSIG magic")
    offset = 10  # magic + uint32 version
    key_blob, offset = _ssh_string(blob, offset)
    namespace, offset = _ssh_string(blob, offset)
    offset = _ssh_string(blob, offset)[1]  # reserved
    hash_alg, offset = _ssh_string(blob, offset)
    key_type = _ssh_string(key_blob, 0)[0]
    key_line = f"{key_type.decode('ascii', 'replace')} {base64.b64encode(key_blob).decode('ascii')}"
    return key_line, namespace.decode("utf-8", "replace"), hash_alg.decode("ascii", "replace")


def load_roster(data: t.Any, vacant_roles: t.Any = (), *, source: str = "ops_roster") -> Roster:
    """Validate ``ops_roster`` (and ``ops_roster_vacant_roles``); raise ApprovalError on the first problem."""
    if data is None:
        data = []
    if not isinstance(data, (list, tuple)):
        raise _roster_fail(f"{source} must be a list of people, got {type(data).__name__}")
    members: list[Member] = []
    seen: dict[str, int] = {}
    github_seen: dict[str, str] = {}
    fingerprints: dict[str, str] = {}
    for index, entry in enumerate(data):
        where = f"{source}[{index}]"
        if not isinstance(entry, Mapping):
            raise _roster_fail(f"{where} must be a mapping with keys {', '.join(ROSTER_KEYS)}")
        label = entry.get("id") if isinstance(entry.get("id"), str) else "?"
        where = f"{source}[{index}] ({label})"
        unknown = sorted(str(k) for k in entry if k not in ROSTER_KEYS)
        if unknown:
            raise _roster_fail(
                f"{where} has unknown key {', '.join(repr(k) for k in unknown)}; allowed keys are {', '.join(ROSTER_KEYS)}"
            )
        for key in ("id", "name", "roles"):
            if key not in entry:
                raise _roster_fail(f"{where} has no {key}")
        member_id = _plain_str(entry["id"], f"{where} id", required=True)
        if not _ID_RE.match(member_id):
            raise _roster_fail(
                f"{where} id {member_id!r} is not a valid roster id (lowercase letter first, then a-z, 0-9, '-', '_'; "
                "it names the approver's <id>.sig file)"
            )
        if member_id in seen:
            raise _roster_fail(f"duplicate roster id {member_id!r} ({source}[{seen[member_id]}] and {source}[{index}])")
        seen[member_id] = index
        name = _plain_str(entry["name"], f"{where} name", required=True)
        roles = entry["roles"]
        if isinstance(roles, str) or not isinstance(roles, (list, tuple)) or not roles:
            raise _roster_fail(f"{where} roles must be a non-empty list of roles ({', '.join(ROLES)})")
        for role in roles:
            if role not in ROLES:
                raise _roster_fail(f"{where} has unknown role {role!r}; roles are {', '.join(ROLES)}")
        if len(set(roles)) != len(roles):
            raise _roster_fail(f"{where} lists a role twice")
        github = _plain_str(entry.get("github"), f"{where} github", required=False).removeprefix("@")
        if github:
            if not _GITHUB_RE.match(github):
                raise _roster_fail(f"{where} github {github!r} is not a GitHub login")
            if github.lower() in github_seen:
                raise _roster_fail(f"{where} github {github!r} is also the login of {github_seen[github.lower()]}")
            github_seen[github.lower()] = member_id
        email = _plain_str(entry.get("email"), f"{where} email", required=False)
        if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            raise _roster_fail(f"{where} email {email!r} is not an email address")
        key = " ".join(_plain_str(entry.get("ssh_public_key"), f"{where} ssh_public_key", required=False).split())
        if key:
            try:
                fingerprint = public_key_fingerprint(key)
            except ValueError as exc:
                raise _roster_fail(f"{where} ssh_public_key is invalid: {exc}") from None
            if fingerprint in fingerprints:
                raise _roster_fail(
                    f"{where} ssh_public_key {fingerprint} is also the key of {fingerprints[fingerprint]}; "
                    "one key must identify one person"
                )
            fingerprints[fingerprint] = member_id
        members.append(Member(member_id, name, tuple(roles), github, email, key))

    if vacant_roles is None:
        vacant_roles = ()
    if isinstance(vacant_roles, str) or not isinstance(vacant_roles, (list, tuple, set, frozenset)):
        raise _roster_fail("ops_roster_vacant_roles must be a list of roles")
    roster = Roster(tuple(members))
    for role in vacant_roles:
        if role not in ROLES:
            raise _roster_fail(f"ops_roster_vacant_roles has unknown role {role!r}; roles are {', '.join(ROLES)}")
        holders = roster.holders(role)
        if holders:
            raise _roster_fail(
                f"ops_roster_vacant_roles declares {role} vacant but {', '.join(m.label for m in holders)} holds it",
                "Remove the role from ops_roster_vacant_roles, or from the person",
            )
    return dataclasses.replace(roster, vacant_roles=frozenset(vacant_roles))


# ---------------------------------------------------------------------------------------------
# Policies


@dataclasses.dataclass(frozen=True)
class Policy:
    name: str
    description: str = ""
    required_roles: tuple[str, ...] = ()
    min_people: int = 0
    operator_may_approve: bool = False
    substitutions: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    max_age: int = 86400
    attestations: tuple[str, ...] = ()
    methods: tuple[str, ...] = ("typed", "signed")

    @property
    def needs_approval(self) -> bool:
        return bool(self.required_roles)

    def summary(self) -> str:
        if not self.required_roles:
            return "no approval"
        roles = ", ".join(role_title(r) for r in self.required_roles)
        subs = "".join(
            f"; {' or '.join(role_title(s) for s in subs)} may stand in for the {role_title(role)} while that role is vacant"
            for role, subs in self.substitutions.items()
        )
        return f"{roles} ({self.min_people} distinct people){subs}"


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role)


def parse_duration(value: t.Any) -> int:
    """Seconds from an int or a string like ``90s``, ``30m``, ``24h``, ``7d``, ``1h30m``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 30m, 24h, 7d")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    elif isinstance(value, str) and (match := _DURATION_RE.match(value.strip())) and any(match.groups()):
        d, h, m, s = (int(g or 0) for g in match.groups())
        seconds = ((d * 24 + h) * 60 + m) * 60 + s
    else:
        raise ValueError(f"{value!r} is not a duration (a number of seconds or a string like 30m, 24h, 7d)")
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return seconds


def format_duration(seconds: int) -> str:
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _policy_fail(cause: str) -> ApprovalError:
    return ApprovalError(
        "load the approval policies", cause, "Correct ops_approval_policies in the inventory (see docs/approvals.md)",
        reason="invalid_policy",
    )


def _role_list(value: t.Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _policy_fail(f"{where} must be a list of roles")
    for role in value:
        if role not in ROLES:
            raise _policy_fail(f"{where} has unknown role {role!r}; roles are {', '.join(ROLES)}")
    if len(set(value)) != len(value):
        raise _policy_fail(f"{where} lists a role twice")
    return tuple(value)


def load_policy(name: str, data: t.Any) -> Policy:
    where = f"ops_approval_policies.{name}"
    if not isinstance(data, Mapping):
        raise _policy_fail(f"{where} must be a mapping with keys {', '.join(POLICY_KEYS)}")
    unknown = sorted(str(k) for k in data if k not in POLICY_KEYS)
    if unknown:
        raise _policy_fail(
            f"{where} has unknown key {', '.join(repr(k) for k in unknown)}; allowed keys are {', '.join(POLICY_KEYS)}"
        )
    if "required_roles" not in data:
        raise _policy_fail(f"{where} has no required_roles (use [] for a procedure that needs no approval)")
    required = _role_list(data["required_roles"], f"{where}.required_roles")
    min_people = data.get("min_people", len(required))
    if isinstance(min_people, bool) or not isinstance(min_people, int):
        raise _policy_fail(f"{where}.min_people must be an integer")
    if required and not 1 <= min_people <= len(required):
        raise _policy_fail(
            f"{where}.min_people is {min_people} but must be between 1 and the {len(required)} required roles"
        )
    if not required and min_people:
        raise _policy_fail(f"{where}.min_people is {min_people} but the policy requires no role")
    operator_may_approve = data.get("operator_may_approve", False)
    if not isinstance(operator_may_approve, bool):
        raise _policy_fail(f"{where}.operator_may_approve must be true or false")
    subs_data = data.get("substitutions") or {}
    if not isinstance(subs_data, Mapping):
        raise _policy_fail(f"{where}.substitutions must map a role to the roles that may stand in for it")
    substitutions: dict[str, tuple[str, ...]] = {}
    for role, subs in subs_data.items():
        if role not in ROLES:
            raise _policy_fail(f"{where}.substitutions has unknown role {role!r}; roles are {', '.join(ROLES)}")
        if role not in required:
            raise _policy_fail(f"{where}.substitutions names {role}, which the policy does not require")
        subs = _role_list(subs, f"{where}.substitutions.{role}")
        if role in subs:
            raise _policy_fail(f"{where}.substitutions lets {role} stand in for itself")
        substitutions[role] = subs
    try:
        max_age = parse_duration(data.get("max_age", 86400))
    except ValueError as exc:
        raise _policy_fail(f"{where}.max_age: {exc}") from None
    attestations = data.get("attestations") or []
    if isinstance(attestations, str) or not isinstance(attestations, (list, tuple)) or not all(
        isinstance(a, str) and a.strip() for a in attestations
    ):
        raise _policy_fail(f"{where}.attestations must be a list of statements (strings)")
    methods = data.get("methods", ["typed", "signed"])
    if isinstance(methods, str) or not isinstance(methods, (list, tuple)) or (required and not methods):
        raise _policy_fail(f"{where}.methods must be a non-empty list of {', '.join(METHODS)}")
    for method in methods:
        if method not in METHODS:
            raise _policy_fail(f"{where}.methods has unknown method {method!r}; methods are {', '.join(METHODS)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _policy_fail(f"{where}.description must be a string")
    return Policy(
        name=name,
        description=description,
        required_roles=required,
        min_people=min_people,
        operator_may_approve=operator_may_approve,
        substitutions=substitutions,
        max_age=max_age,
        attestations=tuple(a.strip() for a in attestations),
        methods=tuple(methods),
    )


def load_policies(data: t.Any) -> dict[str, Policy]:
    """Validate all of ``ops_approval_policies`` (structure only; see ``check_policy``)."""
    if not isinstance(data, Mapping) or not data:
        raise _policy_fail("ops_approval_policies must be a mapping of policy name to policy, and not empty")
    policies = {}
    for name, body in data.items():
        if not isinstance(name, str) or not _ID_RE.match(name):
            raise _policy_fail(f"policy name {name!r} is not a valid name (lowercase letters, digits, '_', '-')")
        policies[name] = load_policy(name, body)
    return policies


def get_policy(policies: Mapping[str, Policy], name: str) -> Policy:
    try:
        return policies[name]
    except KeyError:
        raise ApprovalError(
            f"find the approval policy {name!r}",
            f"ops_approval_policies has no such policy (it has {', '.join(sorted(policies))})",
            "Add the policy to group_vars/all/policies.yml of the inventory",
            reason="unknown_policy",
        ) from None


# ---------------------------------------------------------------------------------------------
# Who may approve what


def eligible_via(policy: Policy, roster: Roster, member: Member, role: str) -> str:
    """Return "" when ``member`` holds ``role``, the substituted role when standing in; raise Refused otherwise."""
    if role in member.roles:
        return ""
    subs = [s for s in policy.substitutions.get(role, ()) if s in member.roles]
    if not subs:
        held = " and ".join(role_title(r) for r in member.roles)
        raise Refused(
            "wrong_role",
            f"{member.label} is not the {role_title(role)}: the roster has them as {held}",
            approver=member.id,
            role=role,
        )
    holders = roster.holders(role)
    if holders:
        raise Refused(
            "substitution_not_allowed",
            f"{member.label}, {role_title(subs[0])}, may stand in for the {role_title(role)} only while no one holds "
            f"that role, and {', '.join(h.label for h in holders)} holds it",
            approver=member.id,
            role=role,
        )
    if role not in roster.vacant_roles:
        raise Refused(
            "role_not_vacant",
            f"{member.label}, {role_title(subs[0])}, may stand in for the {role_title(role)} only when the roster declares "
            f"that role vacant (ops_roster_vacant_roles), and it does not",
            approver=member.id,
            role=role,
        )
    return role


def admit(
    policy: Policy,
    roster: Roster,
    role: str,
    approver_id: str,
    *,
    method: str,
    counted: Mapping[str, str] | None = None,
    operator: str = "",
) -> tuple[Member, str]:
    """Check that ``approver_id`` may approve ``role`` now; return (member, substituted role or "").

    ``counted`` maps the roles already approved to their approver ids. Raises Refused: unknown approver,
    method not accepted, already counted, operator forbidden, wrong role, substitution not allowed.
    """
    counted = dict(counted or {})
    member = roster.get(approver_id)
    if member is None:
        raise Refused(
            "unknown_approver",
            f"{approver_id!r} is not a roster id (the roster has {', '.join(m.id for m in roster.members) or 'no one'})",
            approver=approver_id,
            role=role,
            method=method,
        )
    if method not in policy.methods:
        raise Refused(
            "method_not_allowed",
            f"policy {policy.name} does not accept {method} approvals (it accepts {', '.join(policy.methods)})",
            approver=member.id,
            role=role,
            method=method,
        )
    if member.id in counted.values():
        other = next(r for r, i in counted.items() if i == member.id)
        distinct_after = len(set(counted.values())) + (len(policy.required_roles) - len(counted) - 1)
        if distinct_after < policy.min_people:
            raise Refused(
                "already_counted",
                f"{member.label} already approved as the {role_title(other)}; policy {policy.name} needs "
                f"{policy.min_people} distinct people, so one person cannot approve for two roles",
                approver=member.id,
                role=role,
                method=method,
            )
    if operator and member.id == operator and not policy.operator_may_approve:
        raise Refused(
            "operator_forbidden",
            f"{member.label} is the operator of this run, and policy {policy.name} does not let the operator approve",
            approver=member.id,
            role=role,
            method=method,
        )
    try:
        via = eligible_via(policy, roster, member, role)
    except Refused as exc:
        exc.method = method
        raise
    return member, via


@dataclasses.dataclass(frozen=True)
class Proof:
    """A claim that a roster member approves the intent. ``role`` is set for typed approvals
    (the approver answered a role's prompt); signed and GitHub-review proofs let the evaluation
    assign the roles."""

    approver: str
    method: str
    time: str
    role: str = ""
    key_fingerprint: str = ""
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Approval:
    id: str
    name: str
    role: str
    method: str
    time: str
    key_fingerprint: str = ""
    substitute_for: str = ""

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Decision:
    policy: Policy
    approvals: list[Approval]
    refusals: list[Refused]
    missing: list[str]
    unused: list[Proof]

    @property
    def granted(self) -> bool:
        return not self.missing and not self.refusals

    def reason(self) -> str:
        """Why the decision is not granted, in one sentence per problem."""
        parts = [r.message for r in self.refusals]
        if self.missing:
            parts.append("no approval for " + ", ".join(role_title(r) for r in self.missing))
        return "; ".join(parts)


def _best_assignment(
    policy: Policy, roster: Roster, candidates: list[tuple[Proof, Member]]
) -> tuple[dict[str, tuple[Proof, Member, str]], list[str]]:
    """Assign role-less proofs to the required roles: most roles covered, then fewest substitutions."""
    options: list[list[tuple[Proof, Member, str] | None]] = []
    for role in policy.required_roles:
        role_options: list[tuple[Proof, Member, str] | None] = [None]
        for proof, member in candidates:
            try:
                via = eligible_via(policy, roster, member, role)
            except Refused:
                continue
            role_options.append((proof, member, via))
        options.append(role_options)
    best: tuple[tuple[int, int, int], dict[str, tuple[Proof, Member, str]]] | None = None
    for combo in itertools.product(*options):
        chosen = {role: pick for role, pick in zip(policy.required_roles, combo) if pick is not None}
        people = [pick[1].id for pick in chosen.values()]
        # One person covers more than one role only while the roles left could still bring min_people.
        if len(set(people)) + (len(policy.required_roles) - len(people)) < policy.min_people:
            continue
        score = (len(chosen), len(set(people)), -sum(1 for pick in chosen.values() if pick[2]))
        if best is None or score > best[0]:
            best = (score, chosen)
    chosen = best[1] if best else {}
    missing = [r for r in policy.required_roles if r not in chosen]
    return chosen, missing


def evaluate(policy: Policy, roster: Roster, proofs: t.Iterable[Proof], *, operator: str = "") -> Decision:
    """Decide whether ``proofs`` satisfy ``policy``. Pure: the same for typed, signed and GitHub-review proofs.

    Role-bound proofs (typed) are checked for their role; role-less proofs (signed, github_review) are
    assigned to roles. Every proof that cannot count is refused with its reason, except valid proofs of
    people the policy does not need, which are returned as ``unused``.
    """
    refusals: list[Refused] = []
    approvals: list[Approval] = []
    counted: dict[str, str] = {}
    free: list[tuple[Proof, Member]] = []
    seen_people: set[str] = set()
    for proof in proofs:
        if proof.role:
            if proof.role not in policy.required_roles:
                refusals.append(Refused(
                    "role_not_required",
                    f"policy {policy.name} does not ask for a {role_title(proof.role)} approval",
                    approver=proof.approver, role=proof.role, method=proof.method,
                ))
                continue
            if proof.role in counted:
                refusals.append(Refused(
                    "role_already_approved",
                    f"the {role_title(proof.role)} approval was already given by {counted[proof.role]}",
                    approver=proof.approver, role=proof.role, method=proof.method,
                ))
                continue
            try:
                member, via = admit(
                    policy, roster, proof.role, proof.approver, method=proof.method, counted=counted, operator=operator
                )
            except Refused as exc:
                exc.key_fingerprint = proof.key_fingerprint
                refusals.append(exc)
                continue
            counted[proof.role] = member.id
            seen_people.add(member.id)
            approvals.append(Approval(member.id, member.name, proof.role, proof.method, proof.time, proof.key_fingerprint, via))
            continue
        member = roster.get(proof.approver)
        if member is None:
            refusals.append(Refused(
                "unknown_approver",
                f"{proof.approver!r} is not a roster id",
                approver=proof.approver, method=proof.method, key_fingerprint=proof.key_fingerprint,
            ))
            continue
        if member.id in seen_people or any(p.approver == member.id for p, _member in free):
            refusals.append(Refused(
                "duplicate_proof",
                f"{member.label} approved more than once ({proof.method}); one person counts once",
                approver=member.id, method=proof.method, key_fingerprint=proof.key_fingerprint,
            ))
            continue
        if proof.method not in policy.methods:
            refusals.append(Refused(
                "method_not_allowed",
                f"policy {policy.name} does not accept {proof.method} approvals (it accepts {', '.join(policy.methods)})",
                approver=member.id, method=proof.method, key_fingerprint=proof.key_fingerprint,
            ))
            continue
        if operator and member.id == operator and not policy.operator_may_approve:
            refusals.append(Refused(
                "operator_forbidden",
                f"{member.label} is the operator of this run, and policy {policy.name} does not let the operator approve",
                approver=member.id, method=proof.method, key_fingerprint=proof.key_fingerprint,
            ))
            continue
        free.append((proof, member))

    left = tuple(r for r in policy.required_roles if r not in counted)
    remaining = dataclasses.replace(
        policy, required_roles=left, min_people=max(0, min(policy.min_people - len(set(counted.values())), len(left)))
    )
    chosen, missing = _best_assignment(remaining, roster, [(p, m) for p, m in free if m.id not in counted.values()])
    used = set()
    for role in policy.required_roles:
        if role in chosen:
            proof, member, via = chosen[role]
            used.add(id(proof))
            approvals.append(Approval(member.id, member.name, role, proof.method, proof.time, proof.key_fingerprint, via))
    # Explain why free proofs of people who could have counted did not.
    unused = [p for p, _member in free if id(p) not in used]
    for role in missing:
        for proof, member in free:
            if id(proof) in used:
                continue
            try:
                eligible_via(policy, roster, member, role)
            except Refused as exc:
                if exc.reason in ("substitution_not_allowed", "role_not_vacant"):
                    exc.method, exc.key_fingerprint = proof.method, proof.key_fingerprint
                    refusals.append(exc)
                    if proof in unused:
                        unused.remove(proof)
    order = {r: i for i, r in enumerate(policy.required_roles)}
    approvals.sort(key=lambda a: order.get(a.role, 99))
    return Decision(policy, approvals, refusals, missing, unused)


def check_policy(
    policy: Policy, roster: Roster, *, operator: str = "", hint: str = "fill the inventory's group_vars/all/roster.yml"
) -> None:
    """Refuse, before anything runs, a policy whose approvers are incompletely identified or that the
    roster cannot satisfy (vacant roles without substitution, fewer people than needed)."""
    if not policy.needs_approval:
        return
    action = f"check the roster for policy {policy.name}"
    eligible: list[Member] = []
    for member in roster.members:
        roles = set(policy.required_roles)
        for role, subs in policy.substitutions.items():
            if not roster.holders(role):
                roles.update(subs)
        if roles & set(member.roles) and member not in eligible:
            eligible.append(member)
    missing = [(m, f) for m in eligible for f in IDENTITY_FIELDS if not getattr(m, f)]
    if missing:
        first, field = missing[0]
        more = ", ".join(f"{m.name}'s {f}" for m, f in missing[1:])
        raise ApprovalError(
            action,
            f"roster incomplete: {first.name} has no {field}; {hint}" + (f" (also missing: {more})" if more else ""),
            reason="roster_incomplete",
        )
    for role in policy.required_roles:
        if roster.holders(role):
            continue
        subs = policy.substitutions.get(role, ())
        if not subs:
            raise ApprovalError(
                action,
                f"policy {policy.name} needs a {role_title(role)} but no one in the roster holds {role}",
                f"Add the {role_title(role)} to ops_roster ({hint.removeprefix('fill ')})",
                reason="policy_unsatisfiable",
            )
        if role not in roster.vacant_roles:
            raise ApprovalError(
                action,
                f"no one in the roster holds {role} and the roster does not declare it vacant",
                f"Add the {role_title(role)} to ops_roster; or, if there is none, list {role} in ops_roster_vacant_roles "
                f"so that a {' or '.join(role_title(s) for s in subs)} stands in as policy {policy.name} allows",
                reason="role_not_vacant",
            )
    candidates = [
        (Proof(m.id, "signed", ""), m) for m in roster.members if policy.operator_may_approve or m.id != operator
    ]
    unmet = _best_assignment(policy, roster, candidates)[1]
    if unmet:
        people = {m.id for _proof, m in candidates if any(_can(policy, roster, m, r) for r in policy.required_roles)}
        without = "" if policy.operator_may_approve or not roster.get(operator) else " besides the operator"
        raise ApprovalError(
            action,
            f"policy {policy.name} needs {policy.min_people} distinct people for "
            f"{', '.join(role_title(r) for r in policy.required_roles)}, but the roster has only {len(people)} who can "
            f"approve{without} ({', '.join(sorted(people)) or 'no one'})",
            f"Add people to ops_roster ({hint.removeprefix('fill ')}) or change the policy",
            reason="policy_unsatisfiable",
        )


def _can(policy: Policy, roster: Roster, member: Member, role: str) -> bool:
    try:
        eligible_via(policy, roster, member, role)
    except Refused:
        return False
    return True


def eligible_members(policy: Policy, roster: Roster, role: str) -> list[tuple[Member, str]]:
    """Who may approve ``role`` right now: (member, substituted role or "")."""
    out = []
    for member in roster.members:
        try:
            out.append((member, eligible_via(policy, roster, member, role)))
        except Refused:
            continue
    return out


def proof_from_github_review(roster: Roster, login: str, submitted_at: str, *, state: str = "APPROVED") -> Proof:
    """Map an approving pull request review to a roster member (for the later GitHub-review source)."""
    if state != "APPROVED":
        raise Refused("not_an_approval", f"the review by @{login} is {state}, not APPROVED", method="github_review")
    member = roster.by_github(login)
    if member is None:
        raise Refused(
            "unknown_github_login", f"GitHub user @{login} is not in the roster", approver=f"@{login}", method="github_review"
        )
    return Proof(member.id, "github_review", submitted_at, detail=f"@{login}")


def proof_from_github_pr(roster: Roster, login: str, created_at: str) -> Proof:
    """Map the author of a release pull request to a roster member: opening it is the SOP's first approval."""
    member = roster.by_github(login)
    if member is None:
        raise Refused(
            "unknown_github_login", f"GitHub user @{login} is not in the roster", approver=f"@{login}", method="github_pr"
        )
    return Proof(member.id, "github_pr", created_at, detail=f"@{login}")


# ---------------------------------------------------------------------------------------------
# Intents


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def format_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime(_TIME_FORMAT)


def parse_time(text: t.Any) -> datetime.datetime:
    if not isinstance(text, str):
        raise ValueError("not a time string")
    return datetime.datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)


def canonical(value: t.Any, where: str = "parameters") -> t.Any:
    """Plain JSON types (Ansible's tagged strings and dicts become str and dict); refuse anything else."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has a non-string key {key!r}")
            out[str(key)] = canonical(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [canonical(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise ValueError(f"{where} is a {type(value).__name__}, which an intent cannot carry (use strings, numbers, lists, mappings)")


# The longest string an intent carries: approvers read every value, and no path or command of a procedure is longer.
MAX_VALUE_LENGTH = 4096


def check_readable(value: t.Any, where: str = "parameters") -> None:
    """Refuse strings an approver could not read as they are: a control or invisible character (a line break, NUL,
    an escape sequence that rewrites the terminal, a right-to-left override) or more than MAX_VALUE_LENGTH characters."""
    if isinstance(value, str):
        hidden = next((ch for ch in value if not ch.isprintable()), None)
        if hidden is not None:
            raise ValueError(f"{where} {shown(value)} holds the control or invisible character {ascii(hidden)}")
        if len(value) > MAX_VALUE_LENGTH:
            raise ValueError(f"{where} is {len(value)} characters long, more than the {MAX_VALUE_LENGTH} an intent carries")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_readable(key, f"{where} key")
            check_readable(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_readable(item, f"{where}[{i}]")


def canonical_json(value: t.Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build_intent(
    *,
    sop: str,
    policy: str,
    environment: str,
    org: str = "",
    space: str = "",
    app: str = "",
    service: str = "",
    parameters: Mapping[str, t.Any] | None = None,
    checks: Mapping[str, str] | None = None,
    attestations: t.Iterable[str] = (),
    created: datetime.datetime | None = None,
    ttl: int = 86400,
    nonce: str | None = None,
) -> dict[str, t.Any]:
    """The one representation of what a SOP run will do. The approval request writes it, approvers sign
    it, the SOP run builds it again from its own inputs and compares the subject (all but the envelope
    ``created``/``not_after``/``nonce``)."""
    for name, value in (("sop", sop), ("policy", policy), ("environment", environment)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")
    for name, value in (("org", org), ("space", space), ("app", app), ("service", service)):
        if value and not is_cf_name(value):
            # Refused here, before any step runs: every later cf call of the procedure uses the approved target.
            raise ApprovalError(f"build the intent of {sop}", f"target.{name} {shown(value)} is not a Cloud Foundry name",
                                NAME_HINT, reason="invalid_target")
    created = created or utcnow()
    return {
        "format": INTENT_FORMAT,
        "sop": str(sop),
        "policy": str(policy),
        "environment": str(environment),
        "target": {k: str(v or "") for k, v in (("org", org), ("space", space), ("app", app), ("service", service))},
        "parameters": _readable(check_parameters(sop, canonical(dict(parameters or {})), checks or {})),
        "attestations": [str(a) for a in attestations],
        "created": format_time(created),
        "not_after": format_time(created + datetime.timedelta(seconds=ttl)),
        "nonce": nonce or secrets.token_hex(16),
    }


# Parameter checks a procedure declares (approvals_sops: checks): kind -> (what it is, lowest, highest). A whole number
# given as text becomes a number, so that `-e instance=2` and `instance: 2` make the same intent.
PARAMETER_KINDS: dict[str, tuple[str, int, int]] = {
    "cf_name": ("a Cloud Foundry name", 0, 0),
    "index": ("a whole number from 0 to 9999", 0, 9999),
    "positive": ("a whole number from 1 to 1000000", 1, 1_000_000),
}


def check_parameters(sop: str, parameters: dict[str, t.Any], checks: Mapping[str, str]) -> dict[str, t.Any]:
    """Check the parameters ``checks`` names (name -> kind of PARAMETER_KINDS), before anything runs; whole numbers
    given as text become numbers. Raises ApprovalError naming the parameter."""
    out = dict(parameters)
    for name, kind in checks.items():
        if kind not in PARAMETER_KINDS:
            raise ApprovalError(f"check the parameters of {sop}", f"unknown check {kind!r} for {name}",
                                f"Use one of {', '.join(PARAMETER_KINDS)} in approvals_sops", reason="invalid_declaration")
        if name not in out:
            continue
        value = out[name]
        what, low, high = PARAMETER_KINDS[kind]
        if kind == "cf_name":
            ok = is_cf_name(value)
        else:
            if isinstance(value, str) and re.fullmatch(r"[0-9]{1,7}", value.strip()):
                value = int(value.strip())
            ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        if not ok:
            raise ApprovalError(f"build the intent of {sop}", f"parameters.{name} {shown(value)} is not {what}",
                                f"Run again with -e {name}=<{what}>", reason="invalid_parameters")
        out[name] = value
    return out


def _readable(parameters: dict[str, t.Any]) -> dict[str, t.Any]:
    check_readable(parameters)
    return parameters


def intent_subject(intent: Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {k: intent[k] for k in SUBJECT_KEYS}


def render_intent(intent: Mapping[str, t.Any]) -> bytes:
    """The bytes of intent.json (what approvers read and sign)."""
    return (json.dumps(intent, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def intent_digest(intent: Mapping[str, t.Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(intent)).hexdigest()


def intent_code(intent: Mapping[str, t.Any]) -> str:
    """A short code of the whole intent (nonce included, so it cannot be known before the run)."""
    number = int.from_bytes(hashlib.sha256(canonical_json(intent)).digest()[:8], "big")
    chars = []
    for _position in range(6):
        number, index = divmod(number, len(_CODE_ALPHABET))
        chars.append(_CODE_ALPHABET[index])
    return "".join(chars[:3]) + "-" + "".join(chars[3:])


def same_code(typed: str, code: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[\s-]", "", s).upper()

    return secrets.compare_digest(norm(typed), norm(code))


def parse_intent(data: bytes, *, source: str = "intent.json") -> dict[str, t.Any]:
    """Parse and check the shape of a signed intent.json; raise Refused("invalid_intent")."""

    def bad(cause: str) -> Refused:
        return Refused("invalid_intent", f"{source} is not a valid intent: {cause}",
                       fix="Write a new one with playbooks/approval_request.yml")

    try:
        intent = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(f"not JSON ({exc})") from None
    if not isinstance(intent, dict):
        raise bad("not a JSON object")
    unknown = sorted(set(intent) - set(INTENT_KEYS))
    missing = [k for k in INTENT_KEYS if k not in intent]
    if unknown or missing:
        raise bad("; ".join(filter(None, [
            unknown and f"unknown key {', '.join(unknown)}", missing and f"no {', '.join(missing)}"])))
    if intent["format"] != INTENT_FORMAT:
        raise bad(f"format is {intent['format']!r}, this gate reads {INTENT_FORMAT!r}")
    for key in ("sop", "policy", "environment"):
        if not isinstance(intent[key], str) or not intent[key]:
            raise bad(f"{key} is not a non-empty string")
    if not isinstance(intent["target"], dict) or sorted(intent["target"]) != sorted(TARGET_KEYS) or not all(
        isinstance(v, str) for v in intent["target"].values()
    ):
        raise bad(f"target must be an object with the strings {', '.join(TARGET_KEYS)}")
    if not isinstance(intent["parameters"], dict):
        raise bad("parameters is not an object")
    if not isinstance(intent["attestations"], list) or not all(isinstance(a, str) for a in intent["attestations"]):
        raise bad("attestations is not a list of strings")
    for key in ("created", "not_after"):
        try:
            parse_time(intent[key])
        except ValueError:
            raise bad(f"{key} {intent[key]!r} is not a UTC time like 2026-01-31T12:00:00Z") from None
    if not isinstance(intent["nonce"], str) or not _NONCE_RE.match(intent["nonce"]):
        raise bad("nonce is not 32 lowercase hex digits")
    return intent


def _diff(signed: t.Any, expected: t.Any, path: str) -> list[str]:
    if isinstance(signed, dict) and isinstance(expected, dict):
        out = []
        for key in sorted(set(signed) | set(expected)):
            sub = f"{path}.{key}" if path else key
            if key not in signed:
                out.append(f"{sub} is missing from the signed intent (this run: {json.dumps(expected[key])})")
            elif key not in expected:
                out.append(f"{sub} is {json.dumps(signed[key])} in the signed intent but not part of this run")
            else:
                out.extend(_diff(signed[key], expected[key], sub))
        return out
    if signed != expected or type(signed) is not type(expected):
        return [f"{path} is {json.dumps(signed)} in the signed intent, this run has {json.dumps(expected)}"]
    return []


def compare_intents(signed: Mapping[str, t.Any], expected: Mapping[str, t.Any]) -> list[str]:
    """Differences between a signed intent and the one this run built (subject only)."""
    return _diff(intent_subject(signed), intent_subject(expected), "")


def check_validity(intent: Mapping[str, t.Any], policy: Policy, now: datetime.datetime | None = None) -> None:
    """Refuse an intent that is not valid yet, valid for longer than the policy allows, or expired."""
    now = now or utcnow()
    created = parse_time(intent["created"])
    not_after = parse_time(intent["not_after"])
    todo = "Request a new approval with playbooks/approval_request.yml"
    if (created - now).total_seconds() > CLOCK_SKEW:
        raise Refused("not_yet_valid", f"the intent was created in the future ({intent['created']}, now {format_time(now)}); check the clocks", fix=todo)
    lifetime = (not_after - created).total_seconds()
    if lifetime > policy.max_age:
        raise Refused(
            "validity_too_long",
            f"the intent is valid for {format_duration(int(lifetime))} but policy {policy.name} accepts approvals for "
            f"at most {format_duration(policy.max_age)}",
            fix=todo,
        )
    if now > not_after:
        raise Refused(
            "expired",
            f"the signed intent expired at {intent['not_after']} ({format_duration(int((now - not_after).total_seconds()))} ago)",
            fix=todo,
        )


def valid_nonce(nonce: t.Any) -> bool:
    return isinstance(nonce, str) and bool(_NONCE_RE.match(nonce))


# ---------------------------------------------------------------------------------------------
# Where the gate runs


RUNNER_ENV = ("AWX_ISOLATED_DATA_DIR", "RUNNER_OMIT_EVENTS", "RUNNER_ONLY_FAILED_EVENTS")
"""Variables ansible-runner 2.4.3 sets for the playbook (checked by running it); AWX runs jobs through it."""


def noninteractive_reason(environ: Mapping[str, str], stdout_callback: str = "") -> str:
    """Why typed approvals cannot be trusted here even if stdin looks like a terminal; "" when they can.

    ansible-runner (and AWX on top of it) runs ansible-playbook on a pty whose input never comes, so a
    prompt would hang: recognise it by its stdout callback and environment. CI systems set CI.
    """
    for callback in (stdout_callback, environ.get("ANSIBLE_STDOUT_CALLBACK", "")):
        if (callback or "").rsplit(".", 1)[-1] == "awx_display":
            return "ansible-runner detected (stdout callback awx_display)"
    for name in RUNNER_ENV:
        if environ.get(name):
            return f"ansible-runner detected ({name} is set)"
    if "ansible_runner" in environ.get("ANSIBLE_CALLBACK_PLUGINS", ""):
        return "ansible-runner detected (its display callback is on ANSIBLE_CALLBACK_PLUGINS)"
    ci = environ.get("CI", "").strip().lower()
    if ci and ci not in ("0", "false", "no"):
        return "a CI job (CI is set)"
    return ""


def audit_event(event: str, **fields: t.Any) -> dict[str, t.Any]:
    """A flat audit record: empty fields are dropped, values are plain JSON types."""
    record: dict[str, t.Any] = {"event": event}
    for key, value in fields.items():
        if value in ("", None, [], {}):
            continue
        record[key] = canonical(value, key)
    return record
