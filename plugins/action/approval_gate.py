# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""Action plugin of ttahub.ops.approval_gate (the module file only holds the documentation)."""

from __future__ import annotations

import os
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsiblePromptInterrupt, AnsiblePromptNoninteractive
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ttahub.ops.plugins.module_utils import _runtime
from ansible_collections.ttahub.ops.plugins.module_utils._approval import (
    ApprovalError,
    audit_event,
    build_intent,
    check_policy,
    eligible_members,
    get_policy,
    intent_code,
    intent_digest,
    load_policies,
    load_roster,
    noninteractive_reason,
    parse_duration,
    render_intent,
    role_title,
)
from ansible_collections.ttahub.ops.plugins.plugin_utils._approval_flows import (
    collect_signed,
    collect_typed,
    describe_intent,
    signing_command,
)

display = Display()

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "sop": {"type": "str", "required": True},
    "policy": {"type": "str"},
    "environment": {"type": "str", "required": True},
    "org": {"type": "str", "default": ""},
    "space": {"type": "str", "default": ""},
    "app": {"type": "str", "default": ""},
    "service": {"type": "str", "default": ""},
    "parameters": {"type": "dict", "default": {}},
    "checks": {"type": "dict", "default": {}},
    # raw: load_roster and load_policies check the shapes and say what is wrong (Ansible's type check would not)
    "roster": {"type": "raw", "required": True},
    "vacant_roles": {"type": "raw", "default": []},
    "policies": {"type": "raw", "required": True},
    "operator": {"type": "str"},
    "mode": {"type": "str", "choices": ["verify", "request"], "default": "verify"},
    "approvals_dir": {"type": "path"},
    "state_dir": {"type": "path"},
    "ttl": {"type": "str"},
    "max_attempts": {"type": "int", "default": 3},
    "roster_hint": {"type": "str"},
}


def default_state_dir() -> str:
    return _runtime.state_dir()


def _stdout_callback() -> str:
    try:
        return to_text(C.config.get_config_value("DEFAULT_STDOUT_CALLBACK") or "")
    except Exception:  # pragma: no cover - a broken config must not make the gate interactive
        return "awx_display"


class ActionModule(ActionBase):
    """Named approvers, typed at a terminal or signed with SSH keys, before a SOP does anything."""

    BYPASS_HOST_LOOP = True
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        events: list[dict[str, t.Any]] = []
        result.update(changed=False, approved=False, approvers=[], audit_events=events)
        try:
            result.update(self._run(args, task_vars, events))
        except ApprovalError as exc:
            # The one place where the gate's refusals become a failed task.
            events.append(audit_event(
                "approval_gate_failed", sop=args["sop"], policy=args["policy"] or args["sop"],
                reason=exc.reason, detail=exc.message,
            ))
            result.update(reason=exc.reason)
            raise AnsibleActionFail(exc.message, result=result) from None
        return result

    # -----------------------------------------------------------------------------------------

    def _run(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], events: list[dict[str, t.Any]]) -> dict[str, t.Any]:
        sop = args["sop"]
        policy_name = args["policy"] or sop
        environment = args["environment"]
        operator = args["operator"] if args["operator"] is not None else _runtime.operator(default_to_user=False)
        inventory = self._inventory_label(task_vars, environment)
        hint = args["roster_hint"] or f"fill {inventory}/group_vars/all/roster.yml"

        roster = load_roster(args["roster"], args["vacant_roles"])
        policy = get_policy(load_policies(args["policies"]), policy_name)
        check_policy(policy, roster, operator=operator, hint=hint)

        ttl = policy.max_age
        if args["ttl"]:
            try:
                ttl = min(ttl, parse_duration(args["ttl"]))
            except ValueError as exc:
                raise ApprovalError("read ttl", str(exc), "Use a duration like 30m or 2h") from None
        try:
            intent = build_intent(
                sop=sop, policy=policy.name, environment=environment, org=args["org"], space=args["space"],
                app=args["app"], service=args["service"], parameters=args["parameters"], checks=args["checks"],
                attestations=policy.attestations, ttl=ttl,
            )
        except ValueError as exc:
            raise ApprovalError(f"build the intent of {sop}", str(exc),
                                "Pass one-line values of printable characters: plain strings, numbers, lists and mappings",
                                reason="invalid_parameters") from None
        # The audit callback adds the run's environment, operator and run id to every record.
        context = {"sop": sop, "policy": policy.name}
        base = {"policy": policy.name, "required_roles": list(policy.required_roles), "intent": intent}

        if args["mode"] == "request":
            return {**base, **self._request(args, policy, roster, intent, context, events, inventory)}

        if not policy.needs_approval:
            events.append(audit_event("approval_not_required", **context))
            return {**base, "approved": True, "method": "none", "msg": f"policy {policy.name} needs no approval"}

        if self._task.check_mode and not args["approvals_dir"]:
            return {**base, "skipped": True,
                    "msg": f"check mode: approvals not collected (policy {policy.name} needs {policy.summary()})"}

        run_id = os.environ.get("TTAHUB_OPS_RUN_ID", "")
        if args["approvals_dir"]:
            approvals, signed = collect_signed(
                approvals_dir=args["approvals_dir"], policy=policy, roster=roster, expected=intent, operator=operator,
                state_dir=args["state_dir"] or default_state_dir(), events=events, context=context, run_id=run_id,
                consume=not self._task.check_mode,
            )
            intent, method = signed, "signed"
        else:
            approvals = self._typed(args, policy, roster, intent, operator, context, events, inventory)
            method = "typed"
        digest = intent_digest(intent)
        events.append(audit_event(
            "approval_gate_passed", **context, method=method, intent_digest=digest, nonce=intent["nonce"],
            approvers=[a.id for a in approvals], roles=[a.role for a in approvals],
            key_fingerprints=[a.key_fingerprint for a in approvals if a.key_fingerprint],
        ))
        return {
            **base,
            "intent": intent,
            "approved": True,
            "method": method,
            "approvers": [a.as_dict() for a in approvals],
            "intent_digest": digest,
            "msg": f"{policy.name} approved by " + ", ".join(f"{a.name} ({role_title(a.role)})" for a in approvals),
        }

    def _typed(self, args, policy, roster, intent, operator, context, events, inventory) -> list:
        action = f"obtain approvals for {intent['sop']} in {intent['environment']}"
        how = (
            f"Get signed approvals: ansible-playbook playbooks/approval_request.yml -i {inventory} -e sop={intent['sop']} "
            "-e approval_dir=DIR (plus this run's -e variables); each approver signs DIR/intent.json as it prints; "
            "then run again with -e ops_approvals_dir=DIR"
        )
        needs = f"policy {policy.name} needs {policy.summary()}"
        why = noninteractive_reason(os.environ, _stdout_callback())
        if why:
            raise ApprovalError(action, f"no terminal to ask the approvers on ({why}) and no signed approvals "
                                f"(ops_approvals_dir is not set); {needs}", how, reason="noninteractive")

        def prompt(text: str) -> str:
            return to_text(display.prompt_until(f"{text}: ", private=False), errors="surrogate_or_replace")

        try:
            return collect_typed(
                policy=policy, roster=roster, intent=intent, operator=operator, prompt=prompt, show=display.display,
                events=events, context={**context, "nonce": intent["nonce"], "intent_digest": intent_digest(intent)},
                max_attempts=max(1, args["max_attempts"]),
            )
        except AnsiblePromptNoninteractive:
            raise ApprovalError(action, f"stdin is not a terminal and no signed approvals were given "
                                f"(ops_approvals_dir is not set); {needs}", how, reason="noninteractive") from None
        except AnsiblePromptInterrupt:
            events.append(audit_event("approval_aborted", **context, reason="interrupted"))
            raise ApprovalError(action, "interrupted (Ctrl-C) at the approval prompt",
                                "Nothing was done; start the run again when the approvers are ready",
                                reason="interrupted") from None

    def _request(self, args, policy, roster, intent, context, events, inventory) -> dict[str, t.Any]:
        action = f"write the approval request for {intent['sop']} in {intent['environment']}"
        if not policy.needs_approval:
            msg = f"{intent['sop']} needs no approval in {intent['environment']} (policy {policy.name}); run it directly"
            return {"changed": False, "msg": msg}
        if not args["approvals_dir"]:
            raise ApprovalError(action, "no folder given", "Pass -e approval_dir=DIR", reason="missing_dir")
        folder = os.path.abspath(args["approvals_dir"])
        commands = []
        for role in policy.required_roles:
            for member, via in eligible_members(policy, roster, role):
                commands.append({
                    "role": role, "id": member.id, "name": member.name, "substitute_for": via,
                    "command": signing_command(folder, member.id),
                })
        code = intent_code(intent)
        lines = [*describe_intent(intent, policy, code=code).splitlines(),
                 f"Intent written to {os.path.join(folder, 'intent.json')}; valid until {intent['not_after']}.",
                 "Each approver reads it, then signs it with their own SSH key:"]
        lines += [f"  {role_title(c['role'])} - {c['name']} ({c['id']}): {c['command']}" for c in commands]
        lines.append(f"Then run {intent['sop']} with -i {inventory}, the same variables, and -e ops_approvals_dir={folder}")
        path = os.path.join(folder, "intent.json")
        changed = False
        if not self._task.check_mode:
            try:
                os.makedirs(folder, mode=0o755, exist_ok=True)
                stale = sorted(n for n in os.listdir(folder) if n.endswith(".sig"))
                if stale:
                    raise ApprovalError(
                        action, f"{folder} already holds signatures ({', '.join(stale)}) of an earlier request",
                        "Use a new, empty folder for each request", reason="stale_signatures",
                    )
                temp = f"{path}.tmp-{os.getpid()}"
                with open(temp, "wb") as handle:
                    handle.write(render_intent(intent))
                os.chmod(temp, 0o644)
                os.replace(temp, path)
            except OSError as exc:
                raise ApprovalError(action, f"cannot write {path}: {exc.strerror}", "Choose a writable folder",
                                    reason="unwritable") from None
            changed = True
        events.append(audit_event(
            "approval_requested", **context, intent_digest=intent_digest(intent), nonce=intent["nonce"],
            not_after=intent["not_after"], approvals_dir=folder,
        ))
        return {
            "changed": changed,
            "intent_path": path,
            "intent_code": code,
            "intent_digest": intent_digest(intent),
            "signing_commands": commands,
            "instructions": lines,
            "msg": f"wrote {path}: {len(policy.required_roles)} approval(s) to sign",
        }

    @staticmethod
    def _inventory_label(task_vars: dict[str, t.Any], environment: str) -> str:
        folder = task_vars.get("inventory_dir")
        if isinstance(folder, str) and folder:
            rel = os.path.relpath(folder, os.getcwd())
            return folder if rel.startswith("..") else rel
        return f"inventories/{environment}"
