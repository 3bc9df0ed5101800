# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The approval gate's two ways of collecting proofs, and the single-use nonce store.

PRIVATE to the collection. It can have breaking changes at any time.

* ``collect_typed``: at a terminal, each required role in turn: the approver types their roster id,
  then the intent code (or ``deny <reason>``). Prompts go through a callable, so tests drive it
  without a terminal and the action plugin passes ``Display.prompt_until``.
* ``collect_signed``: ``ops_approvals_dir`` holds ``intent.json`` and ``<roster id>.sig`` files made with
  ``ssh-keygen -Y sign -n ttahub-ops``; every file is verified, the signed intent must equal what this
  run will do, be within its validity, and its nonce must never have been used.
* ``consume_nonce``: records a nonce with O_CREAT|O_EXCL, so two concurrent runs cannot both use it.

Both raise ``ApprovalError`` (the gate fails) and append audit events to the ``events`` list they get.
"""

from __future__ import annotations

import datetime
import json
import os
import typing as t
from pathlib import Path

from ansible_collections.ttahub.ops.plugins.module_utils._approval import (
    NAMESPACE,
    Approval,
    ApprovalError,
    Member,
    Policy,
    Proof,
    Refused,
    Roster,
    admit,
    audit_event,
    check_validity,
    compare_intents,
    eligible_members,
    evaluate,
    format_time,
    intent_code,
    intent_digest,
    parse_intent,
    parse_sshsig,
    public_key_fingerprint,
    role_title,
    same_code,
    utcnow,
    valid_nonce,
)
from ansible_collections.ttahub.ops.plugins.plugin_utils._ssh_keygen import SshKeygen, SshKeygenError, allowed_signers_file

__all__ = ["collect_signed", "collect_typed", "consume_nonce", "describe_intent", "signing_command"]

MAX_FILE = 1024 * 1024
NONCE_FOLDER = "approval-nonces"


# ---------------------------------------------------------------------------------------------
# Shared wording


def signing_command(approvals_dir: str, member_id: str) -> str:
    path = os.path.join(approvals_dir, "intent.json")
    return (
        f"ssh-keygen -Y sign -n {NAMESPACE} -f <your private key> {path} && "
        f"mv {path}.sig {os.path.join(approvals_dir, member_id + '.sig')}"
    )


def role_prompt_title(policy: Policy, roster: Roster, role: str) -> str:
    title = role_title(role)
    subs = policy.substitutions.get(role, ())
    if subs and not roster.holders(role) and role in roster.vacant_roles:
        title += f" (vacant: a {' or '.join(role_title(s) for s in subs)} stands in)"
    return title


def describe_intent(intent: t.Mapping[str, t.Any], policy: Policy, *, code: str = "") -> str:
    target = intent["target"]
    lines = [
        f"Approval needed: {intent['sop']} in {intent['environment']} (policy {policy.name})",
        f"  target       org {target['org'] or '-'} / space {target['space'] or '-'} / app {target['app'] or '-'}"
        f" / service {target['service'] or '-'}",
    ]
    params = intent["parameters"]
    if params:
        lines.append("  parameters   " + ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(params.items())))
    for index, statement in enumerate(intent["attestations"]):
        lines.append(("  attestations " if index == 0 else "               ") + f"- {statement}")
    lines.append(f"  approvers    {policy.summary()}")
    if code:
        lines.append(f"  intent code  {code}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Typed approvals


def _deny_reason(answer: str) -> str | None:
    """The reason when ``answer`` is ``deny [reason]``; None when it is something else."""
    head, _sep, rest = answer.strip().partition(" ")
    if head.lower() != "deny":
        return None
    return rest.strip()


def collect_typed(
    *,
    policy: Policy,
    roster: Roster,
    intent: t.Mapping[str, t.Any],
    operator: str,
    prompt: t.Callable[[str], str],
    show: t.Callable[[str], None],
    events: list[dict[str, t.Any]],
    context: t.Mapping[str, t.Any],
    max_attempts: int = 3,
    now: t.Callable[[], datetime.datetime] = utcnow,
) -> list[Approval]:
    """Ask, for each required role in turn, who approves and have them confirm the intent code."""
    action = f"obtain approvals for {intent['sop']} in {intent['environment']}"
    code = intent_code(intent)
    show(describe_intent(intent, policy, code=code))
    approvals: list[Approval] = []
    counted: dict[str, str] = {}
    total = len(policy.required_roles)

    def deny(reason: str, role: str, member: Member | None) -> t.NoReturn:
        if not reason:
            reason = prompt("Reason for denying").strip() or "(no reason given)"
        events.append(audit_event(
            "approval_denied", approver=member.id if member else "", role=role, method="typed", reason=reason, **context
        ))
        who = f"by {member.label}, the {role_title(role)}" if member else f"at the {role_title(role)} prompt"
        raise ApprovalError(
            action, f"denied {who}: {reason}", "Nothing was done; resolve the objection and start the run again",
            reason="denied",
        )

    for number, role in enumerate(policy.required_roles, start=1):
        title = role_prompt_title(policy, roster, role)
        refusals = 0

        def refused(exc: Refused) -> None:
            nonlocal refusals
            refusals += 1
            events.append(exc.event(**context))
            left = max_attempts - refusals
            show(f"  refused: {exc.message}" + (f" ({left} attempt{'s' if left != 1 else ''} left)" if left > 0 else ""))
            if left <= 0:
                raise ApprovalError(
                    action,
                    f"{refusals} refused attempts for the {role_title(role)} approval (last: {exc.message})",
                    "Nothing was done; start the run again",
                    reason="too_many_attempts",
                )

        member: Member | None = None
        via = ""
        while member is None:
            answer = prompt(f"[{number}/{total}] {title}: type your roster id (or 'deny <reason>')").strip()
            reason = _deny_reason(answer)
            if reason is not None:
                deny(reason, role, None)
            if not answer:
                refused(Refused("empty_answer", "no roster id typed", role=role, method="typed"))
                continue
            try:
                member, via = admit(policy, roster, role, answer, method="typed", counted=counted, operator=operator)
            except Refused as exc:
                refused(exc)
        attest = " and attest to the statements above" if intent["attestations"] else ""
        while True:
            answer = prompt(f"{member.name}: type the intent code shown above to approve{attest} (or 'deny <reason>')")
            reason = _deny_reason(answer)
            if reason is not None:
                deny(reason, role, member)
            if same_code(answer, code):
                break
            refused(Refused(
                "wrong_code",
                f"{answer.strip()!r} is not the intent code of this run",
                approver=member.id, role=role, method="typed",
            ))
        counted[role] = member.id
        approval = Approval(member.id, member.name, role, "typed", format_time(now()), "", via)
        approvals.append(approval)
        events.append(audit_event(
            "approval_granted", approver=member.id, role=role, method="typed", substitute_for=via, **context
        ))
        show(f"  approved by {member.label} as {role_title(role)}" + (f" (standing in for the vacant {role_title(via)})" if via else ""))
    # The same evaluation as signed and GitHub-review proofs: a typed run can never pass what evaluate refuses.
    decision = evaluate(
        policy, roster, [Proof(a.id, a.method, a.time, role=a.role) for a in approvals], operator=operator
    )
    if not decision.granted:
        raise ApprovalError(action, decision.reason(), "Nothing was done; start the run again", reason="not_granted")
    return approvals


# ---------------------------------------------------------------------------------------------
# Signed approvals


def _nonce_path(state_dir: str, nonce: str) -> Path:
    if not valid_nonce(nonce):
        raise ValueError("invalid nonce")
    return Path(state_dir).expanduser() / NONCE_FOLDER / f"{nonce}.json"


def nonce_record(state_dir: str, nonce: str) -> dict[str, t.Any] | None:
    path = _nonce_path(state_dir, nonce)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"used": "unknown"}


def _replayed(nonce: str, record: t.Mapping[str, t.Any]) -> Refused:
    when = record.get("used", "an earlier run")
    run = f" by run {record['run_id']}" if record.get("run_id") else ""
    return Refused(
        "replayed",
        f"the signed intent (nonce {nonce}) was already used at {when}{run}; signed approvals are single use",
        fix="Request a new approval with playbooks/approval_request.yml",
    )


def consume_nonce(state_dir: str, nonce: str, record: t.Mapping[str, t.Any]) -> None:
    """Record ``nonce`` as used, atomically: of two concurrent runs exactly one succeeds."""
    path = _nonce_path(state_dir, nonce)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _replayed(nonce, nonce_record(state_dir, nonce) or {}) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(dict(record), handle, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _read_small(path: Path, what: str, action: str) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE:
            raise ApprovalError(action, f"{path} is larger than {MAX_FILE} bytes; it is not {what}", reason="invalid_intent")
        return path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ApprovalError(action, f"cannot read {path}: {exc.strerror}", "Check the folder's permissions", reason="unreadable") from None


def _check_signature(
    *, sig: Path, roster: Roster, data: bytes, keygen: SshKeygen, allowed: Path, action: str
) -> Proof:
    name = sig.name
    member_id = name[: -len(".sig")]
    if name == "intent.json.sig":
        raise Refused(
            "unrenamed_signature",
            "intent.json.sig is the file ssh-keygen writes; it must be saved as <signer's roster id>.sig",
            fix="Rename it, e.g. mv intent.json.sig <your roster id>.sig",
        )
    member = roster.get(member_id)
    if member is None:
        raise Refused("unknown_signature_file", f"{name} is for {member_id!r}, who is not in the roster", approver=member_id, method="signed")
    raw = _read_small(sig, "a signature", action)
    try:
        key_line, namespace = parse_sshsig(raw)[:2]
        fingerprint = public_key_fingerprint(key_line)
    except ValueError as exc:
        raise Refused("invalid_signature", f"{name} is not an SSH signature ({exc})", approver=member_id, method="signed") from None
    if namespace != NAMESPACE:
        raise Refused(
            "wrong_namespace",
            f"{name} was signed for namespace {namespace!r}, not {NAMESPACE!r}",
            approver=member_id, method="signed", key_fingerprint=fingerprint,
            fix=f"Sign with ssh-keygen -Y sign -n {NAMESPACE}",
        )
    signer = roster.by_fingerprint(fingerprint)
    if signer is None:
        raise Refused(
            "unknown_key",
            f"{name} was made with a key that is not in the roster ({fingerprint})",
            approver=member_id, method="signed", key_fingerprint=fingerprint,
        )
    if signer.id != member.id:
        raise Refused(
            "wrong_signer",
            f"{name} was made with the key of {signer.label}, not with the key of {member.label}",
            approver=member_id, method="signed", key_fingerprint=fingerprint,
        )
    ok, output = keygen.verify(allowed_signers=allowed, principal=member.id, namespace=NAMESPACE, signature=sig, data=data)
    if not ok:
        raise Refused(
            "tampered",
            f"{name} does not verify against intent.json (ssh-keygen: {output or 'no output'}): intent.json was changed "
            "after it was signed, or the signature is over another file",
            approver=member_id, method="signed", key_fingerprint=fingerprint,
        )
    return Proof(member.id, "signed", "", key_fingerprint=fingerprint)


def collect_signed(
    *,
    approvals_dir: str,
    policy: Policy,
    roster: Roster,
    expected: t.Mapping[str, t.Any],
    operator: str,
    state_dir: str,
    events: list[dict[str, t.Any]],
    context: dict[str, t.Any],
    run_id: str = "",
    consume: bool = True,
    keygen: SshKeygen | None = None,
    now: t.Callable[[], datetime.datetime] = utcnow,
) -> tuple[list[Approval], dict[str, t.Any]]:
    """Verify ``approvals_dir`` against this run's intent ``expected``; return (approvals, the signed intent)."""
    action = f"verify the signed approvals for {expected['sop']} in {expected['environment']}"
    folder = Path(approvals_dir).expanduser()
    request_todo = (
        f"Write a request with ansible-playbook playbooks/approval_request.yml -e sop={expected['sop']} "
        f"-e approval_dir={approvals_dir} (plus this run's -e variables) and have the approvers sign it"
    )
    if not folder.is_dir():
        raise ApprovalError(action, f"ops_approvals_dir {approvals_dir} is not a folder", request_todo, reason="missing_intent")
    try:
        data = _read_small(folder / "intent.json", "an intent", action)
    except FileNotFoundError:
        raise ApprovalError(action, f"{approvals_dir} has no intent.json", request_todo, reason="missing_intent") from None

    def fail(refusals: list[Refused], fix: str = "") -> t.NoReturn:
        for refusal in refusals:
            events.append(refusal.event(**context))
        first = refusals[0]
        raise ApprovalError(
            action,
            "; ".join(r.message for r in refusals),
            fix or first.fix or "Nothing was done; fix the approvals folder or request new approvals",
            reason=first.reason,
        )

    try:
        signed = parse_intent(data, source=str(folder / "intent.json"))
    except Refused as exc:
        fail([exc])
    context = {**context, "nonce": signed["nonce"], "intent_digest": intent_digest(signed)}

    if not keygen:
        try:
            keygen = SshKeygen()
        except SshKeygenError as exc:
            raise ApprovalError(action, f"cannot {exc.action}: {exc.cause}", exc.fix, reason="ssh_keygen_missing") from None
    proofs: list[Proof] = []
    refusals: list[Refused] = []
    verified_at = format_time(now())
    with allowed_signers_file(roster.allowed_signers()) as allowed:
        for sig in sorted(folder.glob("*.sig")):
            try:
                proof = _check_signature(sig=sig, roster=roster, data=data, keygen=keygen, allowed=allowed, action=action)
            except Refused as exc:
                refusals.append(exc)
            except SshKeygenError as exc:
                raise ApprovalError(action, f"cannot {exc.action}: {exc.cause}", exc.fix, reason="ssh_keygen_failed") from None
            else:
                proofs.append(Proof(proof.approver, proof.method, verified_at, key_fingerprint=proof.key_fingerprint))
    if refusals:
        fail(refusals)

    differences = compare_intents(signed, expected)
    if differences:
        fail([Refused(
            "wrong_intent",
            "the signed intent is not what this run will do: " + "; ".join(differences),
            fix="Run with the values that were approved, or request and sign a new approval for this run",
        )])
    try:
        check_validity(signed, policy, now())
    except Refused as exc:
        fail([exc])

    decision = evaluate(policy, roster, proofs, operator=operator)
    for proof in decision.unused:
        events.append(audit_event(
            "approval_not_counted", approver=proof.approver, method=proof.method,
            key_fingerprint=proof.key_fingerprint, reason="not_needed", **context,
        ))
    if decision.refusals:
        fail(decision.refusals)
    if decision.missing:
        missing = []
        for role in decision.missing:
            who = [m for m, _via in eligible_members(policy, roster, role) if m.id not in {a.id for a in decision.approvals}]
            names = ", ".join(m.label for m in who) or "no one eligible"
            missing.append(Refused(
                "missing_signature",
                f"no signature for the {role_title(role)} (can sign: {names})",
                role=role, method="signed",
            ))
        commands = "; ".join(f"{m.id}: {signing_command(approvals_dir, m.id)}"
                             for role in decision.missing for m, _via in eligible_members(policy, roster, role))
        fail(missing, f"Ask them to sign: {commands}")

    record = audit_event(
        "nonce_used", used=format_time(now()), run_id=run_id, sop=expected["sop"], target_environment=expected["environment"],
        approvers=[a.id for a in decision.approvals],
    )
    try:
        if consume:
            consume_nonce(state_dir, signed["nonce"], record)
        else:
            previous = nonce_record(state_dir, signed["nonce"])
            if previous is not None:
                raise _replayed(signed["nonce"], previous)
    except Refused as exc:
        fail([exc])
    except OSError as exc:
        raise ApprovalError(
            action, f"cannot record the nonce in {state_dir}: {exc.strerror}", "Check ops_state_dir", reason="state_dir"
        ) from None
    for approval in decision.approvals:
        events.append(audit_event(
            "approval_granted", approver=approval.id, role=approval.role, method=approval.method,
            key_fingerprint=approval.key_fingerprint, substitute_for=approval.substitute_for, **context,
        ))
    return decision.approvals, signed
