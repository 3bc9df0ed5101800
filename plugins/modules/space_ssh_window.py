#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: space_ssh_window
short_description: Open or close a time-boxed space SSH window that a watchdog always closes
description:
  - "With O(state=open): reads C(cf space-ssh-allowed) first. If SSH is already allowed and no live window of
    ttahub.ops covers it, that is suspicious: the module changes nothing, records an C(ssh_window_suspicious) audit
    event and fails with the escalation (the Product Owner and the Government Technical Monitor, with their contacts
    from O(roster))."
  - Otherwise it writes a lease (space, opened at, deadline, run id, operator) to C(<state_dir>/leases/), arms a
    watchdog, and only then runs C(cf allow-space-ssh). If another live window of ttahub.ops already allowed SSH,
    the new window joins it; SSH is disallowed when the last window closes.
  - The watchdog is a detached process in its own session. It disallows SSH when the run's controller
    (C(ansible-playbook)) dies (Ctrl-C, a kill, a crashed laptop session) or when the deadline passes, using the run's
    own cf session, removes that session directory if the controller died, and writes C(ssh_window_closed) (or
    C(ssh_window_close_failed), retried every 5 s) to the audit log.
  - "With O(state=closed): closes the run's windows of the space, the one way: first it cleans up what was attached
    to the window (the tunnel's process, its C(SERVICE_CONNECT) key, partial files), then C(cf disallow-space-ssh), then a
    final C(cf space-ssh-allowed) whose answer goes into the C(ssh_window_closed) audit event with the exact open and
    close times."
  - In production use the role C(ttahub.ops.space_ssh_window) (C(tasks_from) V(open) and V(close)) rather than this
    module directly.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the space and the leases and predicts what would happen; writes no lease and starts no watchdog.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  space:
    description: The space, in the session's targeted org.
    type: str
    required: true
  state:
    description: V(open) opens (or joins) a window; V(closed) closes the run's windows of the space.
    type: str
    choices: [open, closed]
    required: true
  state_dir:
    description:
      - The ttahub.ops state directory (C(ops_state_dir)); leases live in its C(leases/) folder.
      - Defaults to C($XDG_STATE_HOME/ttahub-ops) or C(~/.local/state/ttahub-ops).
    type: path
  minutes:
    description: How long the window may stay open before the watchdog closes it.
    type: int
    default: 30
  max_minutes:
    description: The policy's cap on O(minutes); a longer window is refused.
    type: int
    default: 60
  purpose:
    description: What the window is for (the procedure's name), recorded in the lease and the audit log.
    type: str
    default: ""
  org:
    description: The org, recorded in the lease.
    type: str
    default: ""
  operator:
    description: Who runs the procedure (C(ops_operator)); defaults to E(TTAHUB_OPS_OPERATOR), else the local user.
    type: str
  roster:
    description: The roster (C(ops_roster)), to name the people to contact in the escalation message.
    type: list
    elements: dict
    default: []
  audit_log:
    description:
      - The audit log the watchdog writes to (C(ops_audit_log)). E(TTAHUB_OPS_AUDIT_LOG) wins, as it does for the
        C(ttahub.ops.audit_log) callback.
    type: path
  window_id:
    description: With O(state=closed), close this window only; by default every window of this run in the space.
    type: str
  controller_pid:
    description:
      - The process the watchdog watches. The action plugin passes the run's C(ansible-playbook) (the one its
        supervisor watches); else the outermost C(ansible-playbook) process that runs this module.
    type: int
  supervisor:
    description:
      - The run's supervisor (C(pid), C(start)), armed by this module's action plugin before the module runs. It closes
        the window at its deadline or when the run dies; without a live one, SSH is not allowed.
      - Set by the action plugin; do not set it yourself.
    type: dict
  escalate:
    description:
      - With O(state=closed), the failure that brought the run here. The module closes the window, then fails with
        this message, what it closed, and the escalation.
    type: str
seealso:
  - module: ttahub.ops.cf_space_ssh
  - module: ttahub.ops.space_ssh_guard
notes:
  - Disallowing space SSH stops new SSH connections; it does not cut existing ones. That is why closing cleans up the
    window's attachments (the tunnel) first.
"""

EXAMPLES = r"""
- name: Enable space ssh access for the copy (cf allow-space-ssh), closed by a watchdog at the latest in 30 minutes
  ttahub.ops.space_ssh_window:
    cf_home: "{{ cf_session_info.cf_home }}"
    space: ttahub-prod
    state: open
    minutes: 30
    purpose: prod_db_copy
    state_dir: "{{ ops_state_dir }}"
    roster: "{{ ops_roster }}"
  register: space_ssh_window_lease

- name: Disable space ssh access (cf disallow-space-ssh) and check it
  ttahub.ops.space_ssh_window:
    cf_home: "{{ cf_session_info.cf_home }}"
    space: ttahub-prod
    state: closed
    window_id: "{{ space_ssh_window_lease.window_id }}"
    state_dir: "{{ ops_state_dir }}"
"""

RETURN = r"""
window_id:
  description: The window's id (O(state=open)).
  returned: state is open
  type: str
  sample: 3f2c0a9d81b44e7a
space:
  description: The space.
  returned: always
  type: str
  sample: ttahub-prod
opened_at:
  description: When C(cf allow-space-ssh) started (UTC); from then on SSH may have been allowed.
  returned: state is open
  type: str
  sample: "2026-11-28T14:03:11.123456Z"
deadline:
  description: When the watchdog closes the window at the latest (UTC).
  returned: state is open
  type: str
  sample: "2026-11-28T14:33:11Z"
joined:
  description: Whether SSH was already allowed by another live window of ttahub.ops, which this window joined.
  returned: state is open
  type: bool
  sample: false
watchdog_pid:
  description: The watchdog's process id.
  returned: state is open
  type: int
  sample: 41235
lease_path:
  description: The lease file (mode 0600) under C(<state_dir>/leases/).
  returned: state is open
  type: str
  sample: /home/op/.local/state/ttahub-ops/leases/ttahub-prod--3f2c0a9d81b44e7a.json
run_id:
  description: The run that owns the window.
  returned: always
  type: str
  sample: 0f8fad5b-d9cb-469f-a165-70867728950e
closed:
  description: One summary per window closed (O(state=closed)), the same fields as the C(ssh_window_closed) event.
  returned: state is closed
  type: list
  elements: dict
  sample:
    - {"window_id": "3f2c0a9d81b44e7a", "opened_at": "2026-11-28T14:03:11.123456Z", "closed_at": "2026-11-28T14:09:52.870112Z",
       "ssh_allowed_after": false}
ssh_allowed:
  description: Whether SSH is allowed in the space after the task, as C(cf space-ssh-allowed) says.
  returned: state is closed
  type: bool
  sample: false
audit_events:
  description: C(ssh_window_opened), C(ssh_window_joined), C(ssh_window_suspicious), C(ssh_window_closed), C(ssh_window_close_failed).
  returned: always
  type: list
  elements: dict
  sample: [{"event": "ssh_window_closed", "space": "ttahub-prod", "reason": "closed_by_run"}]
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils import _runtime
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.session import new_run_id
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def operator_name(module: AnsibleModule) -> str:
    return _runtime.operator(given=module.params["operator"])


def do_open(module: AnsibleModule, cf: CfClient, state_dir: str, run_id: str) -> dict:
    p = module.params
    controller = sw.controller_identity(pid=p["controller_pid"])
    result = sw.open_window(
        state_dir=state_dir,
        space=p["space"],
        org=p["org"],
        cf=cf,
        cf_cli=p["cf_cli"],
        cf_home=p["cf_home"],
        cf_timeout=p["cf_timeout"],
        minutes=p["minutes"],
        max_minutes=p["max_minutes"],
        purpose=p["purpose"],
        operator=operator_name(module),
        roster=p["roster"],
        audit_log=_runtime.audit_path(configured=p["audit_log"]),
        controller=controller,
        run_id=run_id,
        check_mode=module.check_mode,
        watchdog=p["supervisor"],
    )
    out = sw.public_lease(result["lease"], result["path"])
    out.update(changed=result["changed"], allowed_before=result["allowed_before"], audit_events=result["audit_events"])
    return out


def do_close(module: AnsibleModule, cf: CfClient, state_dir: str, run_id: str) -> dict:
    p = module.params
    space = p["space"]
    if p["window_id"]:
        mine = [(path, lease) for path, lease in sw.leases(state_dir, space) if lease.get("window_id") == p["window_id"]]
    else:
        mine = [(path, lease) for path, lease in sw.leases(state_dir, space) if lease.get("run_id") == run_id]
    closed, events, errors = [], [], []
    for path, lease in mine:
        if module.check_mode:
            closed.append(sw.public_lease(lease, path))
            continue
        try:
            done = sw.close_window(state_dir, path, reason="closed_by_run", by="run", cf=cf)
        except sw.WindowError as err:
            events.extend(err.events)
            errors.append(err.message)
            continue
        if done.get("event"):
            events.append(done["event"])
            closed.append({k: v for k, v in done["event"].items() if k != "event"})
    try:
        allowed = sw.space_ssh_allowed(cf, space)
    except CfError as err:
        err.events[:0] = events  # the windows closed above stay on the record
        raise
    result = {"changed": bool(mine), "space": space, "run_id": run_id, "closed": closed, "ssh_allowed": allowed, "audit_events": events}
    escalation = sw.escalation_message(p["roster"])
    if errors:
        # Each of the errors is worded already; the escalation is said once after them.
        raise sw.WindowError("", " ".join(errors) + " " + escalation, kind="close_failed", events=result.pop("audit_events"), **result)
    if p["escalate"]:
        what = f"The SSH window of space {space} is closed" if closed else f"No SSH window of this run was open in space {space}"
        state = "SSH is still allowed there: disallow it by hand now" if allowed else "SSH is disallowed there"
        raise sw.WindowError("", f"{p['escalate'].rstrip('. ')}. {what}; {state}. {escalation}", kind="escalated",
                             events=result.pop("audit_events"), **result)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            space={"type": "str", "required": True},
            state={"type": "str", "choices": ["open", "closed"], "required": True},
            state_dir={"type": "path"},
            minutes={"type": "int", "default": sw.DEFAULT_MINUTES},
            max_minutes={"type": "int", "default": 60},
            purpose={"type": "str", "default": ""},
            org={"type": "str", "default": ""},
            operator={"type": "str"},
            roster={"type": "list", "elements": "dict", "default": []},
            audit_log={"type": "path"},
            window_id={"type": "str"},
            controller_pid={"type": "int"},
            supervisor={"type": "dict"},
            escalate={"type": "str"},
        ),
        supports_check_mode=True,
    )
    state_dir = module.params["state_dir"] or sw.default_state_dir()
    run_id = new_run_id()
    do = do_open if module.params["state"] == "open" else do_close
    run_module(module, lambda cf: do(module, cf, state_dir, run_id), client="cf",
               partial={"space": module.params["space"], "audit_events": []},
               os_error=(f"use the SSH window's state in {state_dir}", "Check ops_state_dir and its permissions"))


if __name__ == "__main__":
    main()
