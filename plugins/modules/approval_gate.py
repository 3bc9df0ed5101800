#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: approval_gate
short_description: Stop a procedure until named approvers have approved exactly what it will do
description:
  - Builds the I(intent) of a run from O(sop), O(environment), the target (O(org), O(space), O(app), O(service)) and
    O(parameters), and lets the run go on only when the people the policy O(policy) names have approved that intent.
  - Approvers are people of the roster O(roster) (inventory variable C(ops_roster)); policies come from O(policies)
    (C(ops_approval_policies)). Both are validated first. Unknown keys, duplicate ids, unknown roles, approvers
    with missing identity fields, and a policy the roster cannot satisfy are refused before anything else happens.
  - "Typed approvals: at a terminal, the gate shows the intent and a short intent code. For each required role in turn,
    the approver types their roster id, then the intent code (or C(deny <reason>)). An unknown id, a wrong role,
    a person who already approved and a wrong code are refused, up to O(max_attempts) times per role. Ctrl+C aborts."
  - "Signed approvals: with O(approvals_dir), the folder written by the C(ttahub.ops.approval_request) playbook holds
    C(intent.json) and one C(<roster id>.sig) per approver, made with C(ssh-keygen -Y sign -n ttahub-ops).
    Every signature is verified with C(ssh-keygen -Y verify) against the roster's keys. The signed intent must equal
    this run's intent and be within its validity (C(not_after), at most the policy's C(max_age)). Its nonce must never
    have been used: it is recorded in O(state_dir) atomically, so a signed approval works once."
  - Without a terminal (stdin not a TTY, ansible-runner or AWX, C(CI) set) and without O(approvals_dir), the gate fails
    at once with a message that says what is missing and how to get signed approvals. It never waits and never
    continues.
  - With O(mode=request), the gate writes the intent to be signed to O(approvals_dir) instead and returns the signing
    command of each approver.
  - Every decision (granted, denied, refused and why, expired, replayed, wrong intent) is returned in RV(audit_events)
    for the C(ttahub.ops.audit_log) callback, with approver ids, roles, methods and key fingerprints, never secrets.
version_added: 0.1.0
author:
  - TTA Hub operations engineering (@ttahub-ops)
options:
  sop:
    description: Name of the procedure (its playbook name, for example V(prod_db_copy)).
    type: str
    required: true
  policy:
    description: Name of the policy in O(policies) to apply. Defaults to O(sop).
    type: str
  environment:
    description: Environment the run targets (C(ops_environment)), part of the intent.
    type: str
    required: true
  org:
    description: Cloud Foundry org the run targets, part of the intent.
    type: str
    default: ''
  space:
    description: Cloud Foundry space the run targets, part of the intent.
    type: str
    default: ''
  app:
    description: App the run targets, part of the intent.
    type: str
    default: ''
  service:
    description: Service instance the run targets, part of the intent.
    type: str
    default: ''
  parameters:
    description:
      - The procedure's own parameters, part of the intent. Strings, numbers, booleans, lists and mappings only.
      - Approvers approve these exact values; a signed approval for other values is refused.
      - Strings must be printable (no line break, NUL, escape sequence or invisible character) and at most 4096
        characters long.
    type: dict
    default: {}
  checks:
    description:
      - How the gate checks some of O(parameters) before anything runs, by parameter name (declared with the
        procedure in C(approvals_sops)).
      - V(cf_name) is a Cloud Foundry name (ASCII letters, digits, C(-), C(_) and C(.), starting with a letter or a
        digit). V(index) is a whole number from 0 to 9999, V(positive) one from 1 to 1000000; given as text (C(-e
        instance=2)), it becomes a number in the intent.
    type: dict
    default: {}
  roster:
    description:
      - The named people (C(ops_roster)). Each entry has exactly the keys C(id), C(name), C(roles), C(github),
        C(email) and C(ssh_public_key).
      - Roles are V(product_owner), V(government_technical_monitor), V(vendor_tech_lead) and V(vendor_product_manager).
      - The gate checks its shape itself and names what is wrong.
    type: raw
    required: true
  vacant_roles:
    description:
      - Roles that no one holds on purpose (C(ops_roster_vacant_roles)). A policy's substitution (for example the
        Vendor Technical Lead for the Government Technical Monitor) applies only to a role that no one holds and
        that is listed here.
      - A list of roles; the gate checks it and names what is wrong.
    type: raw
    default: []
  policies:
    description:
      - The approval policies (C(ops_approval_policies)), by name. Keys of a policy are C(description),
        C(required_roles), C(min_people), C(operator_may_approve), C(substitutions), C(max_age), C(attestations) and
        C(methods). See C(docs/approvals.md).
      - The gate checks its shape itself and names what is wrong.
    type: raw
    required: true
  operator:
    description:
      - Who runs the procedure (a roster id, or any name for someone not on the roster). Policies with
        C(operator_may_approve=false) refuse the operator as an approver.
      - Defaults to the environment variable E(TTAHUB_OPS_OPERATOR), else nobody.
    type: str
  mode:
    description:
      - V(verify) gates the run. V(request) writes C(intent.json) into O(approvals_dir) for approvers to sign.
    type: str
    choices: [verify, request]
    default: verify
  approvals_dir:
    description:
      - With O(mode=verify), the folder with the signed intent (C(ops_approvals_dir)). When set, only signed approvals
        are accepted.
      - With O(mode=request), the folder to write C(intent.json) to. It must not hold signatures of an earlier request.
    type: path
  state_dir:
    description: Where used nonces are recorded (C(ops_state_dir)). Defaults to C(~/.local/state/ttahub-ops).
    type: path
  ttl:
    description: With O(mode=request), how long the request is valid (for example V(2h)). Never longer than the policy's C(max_age).
    type: str
  max_attempts:
    description: Refused answers allowed per role when approvals are typed, before the gate fails.
    type: int
    default: 3
  roster_hint:
    description: What to tell the operator when the roster is incomplete. Defaults to C(fill <inventory>/group_vars/all/roster.yml).
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: full
    details: The gate runs once per task, on the controller, whatever the number of hosts.
  connection:
    support: none
  delegation:
    support: none
  check_mode:
    support: partial
    details:
      - Signed approvals are verified but their nonce is not used up. Typed approvals are not asked for.
      - With O(mode=request), nothing is written.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: ansible.builtin.pause
    description: Only pauses; without a terminal it continues, under ansible-runner it hangs. This gate does neither.
notes:
  - The gate runs on the controller; signed approvals need C(ssh-keygen) from OpenSSH 8.2 or newer there.
  - Nonces are recorded on the controller that runs the procedure. Runs from other controllers do not see them; the
    policy's C(max_age) bounds how long a signed approval could be used there.
requirements:
  - ssh-keygen (OpenSSH >= 8.2) for signed approvals
"""

EXAMPLES = r"""
- name: Obtain the named approvals for the production data copy
  ttahub.ops.approval_gate:
    sop: prod_db_copy
    environment: "{{ ops_environment }}"
    org: "{{ cf_org }}"
    space: "{{ cf_space }}"
    app: "{{ cf_app }}"
    service: "{{ cf_db_service }}"
    parameters:
      reason: "{{ reason }}"
    roster: "{{ ops_roster }}"
    vacant_roles: "{{ ops_roster_vacant_roles | default([]) }}"
    policies: "{{ ops_approval_policies }}"
    approvals_dir: "{{ ops_approvals_dir | default(omit) }}"
    state_dir: "{{ ops_state_dir | default(omit) }}"
  register: approvals_gate

- name: Write the intent for approvers to sign
  ttahub.ops.approval_gate:
    mode: request
    approvals_dir: /tmp/approval-2026-11-28
    sop: scp_retrieve
    environment: "{{ ops_environment }}"
    space: "{{ cf_space }}"
    app: "{{ cf_app }}"
    parameters:
      remote_path: /home/vcap/app/log.txt
    roster: "{{ ops_roster }}"
    policies: "{{ ops_approval_policies }}"
  register: approvals_request
"""

RETURN = r"""
approved:
  description: Whether the run may go on. A failed gate fails the task, so a registered result that did not fail has V(true).
  returned: always
  type: bool
  sample: true
method:
  description: How the approvals were given, V(typed), V(signed), or V(none) when the policy needs none.
  returned: when the gate passed
  type: str
  sample: signed
policy:
  description: The policy applied.
  returned: success
  type: str
  sample: prod_db_copy
required_roles:
  description: The roles the policy requires.
  returned: success
  type: list
  elements: str
  sample: [product_owner, government_technical_monitor, vendor_tech_lead]
approvers:
  description: Who approved, one entry per required role.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Roster id.
      type: str
      sample: paula
    name:
      description: Name from the roster.
      type: str
      sample: Paula Oduya
    role:
      description: The role approved for.
      type: str
      sample: product_owner
    method:
      description: V(typed) or V(signed) (later V(github_review)).
      type: str
      sample: signed
    time:
      description: When the approval was typed or verified (UTC, ISO 8601).
      type: str
      sample: "2026-11-28T14:03:11Z"
    key_fingerprint:
      description: SHA256 fingerprint of the key that signed, for signed approvals.
      type: str
      sample: "SHA256:Fb+7YApNgG56mJ4ZpMJ5ZxI+NvqvqIo1AqO70qynWpE"
    substitute_for:
      description: The vacant role the approver stood in for, or empty.
      type: str
      sample: ""
intent:
  description:
    - The intent approved (for signed approvals, the signed one). Keys C(format), C(sop), C(policy), C(environment),
      C(target) (C(org), C(space), C(app), C(service)), C(parameters), C(attestations), C(created), C(not_after),
      C(nonce).
    - Later tasks should take their values from C(intent.parameters), so the values used are the values approved.
  returned: success
  type: dict
  sample:
    format: ttahub-ops-intent/1
    sop: scp_retrieve
    policy: prod_ssh_access
    environment: production
    target: {org: hhs-acf-ohs-tta, space: ttahub-prod, app: tta-smarthub-prod, service: ttahub-prod}
    parameters: {remote_path: /home/vcap/app/log.txt, instance: 0, process: web}
    attestations: [on government furnished equipment]
    created: "2026-11-28T14:00:00Z"
    not_after: "2026-11-28T16:00:00Z"
    nonce: 6f1c0a3e9b7d4c2a8e5f1b3d7c9a0e2f
intent_digest:
  description: SHA-256 of the intent's canonical JSON.
  returned: when the gate passed, or with O(mode=request)
  type: str
  sample: "sha256:3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
intent_path:
  description: The C(intent.json) written.
  returned: with O(mode=request)
  type: str
  sample: /tmp/approval-2026-11-28/intent.json
intent_code:
  description: Short code of the intent written.
  returned: with O(mode=request)
  type: str
  sample: K7Q-M2X
signing_commands:
  description: For each required role, each person who may sign and the command to run.
  returned: with O(mode=request)
  type: list
  elements: dict
  sample:
    - role: product_owner
      id: paula
      name: Paula Oduya
      substitute_for: ""
      command: ssh-keygen -Y sign -n ttahub-ops -f <your private key> DIR/intent.json && mv DIR/intent.json.sig DIR/paula.sig
instructions:
  description: The request as lines of text for the operator to pass on.
  returned: with O(mode=request)
  type: list
  elements: str
reason:
  description: Stable code of why the gate failed (for example V(noninteractive), V(expired), V(replayed), V(wrong_intent)).
  returned: failure
  type: str
  sample: noninteractive
audit_events:
  description: One record per decision, for the audit log. Flat fields; no secrets.
  returned: always
  type: list
  elements: dict
  sample:
    - event: approval_granted
      sop: prod_db_copy
      policy: prod_db_copy
      environment: production
      approver: paula
      role: product_owner
      method: signed
      key_fingerprint: "SHA256:Fb+7YApNgG56mJ4ZpMJ5ZxI+NvqvqIo1AqO70qynWpE"
"""
