#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: space_ssh_guard
short_description: Disallow production space SSH that no live window covers
description:
  - For cron or CI. First closes every lease in O(state_dir) that is no longer live (its deadline passed, or its
    watchdog and its controller are gone) the one way windows close (M(ttahub.ops.space_ssh_window)), with this
    session.
  - Then reads C(cf space-ssh-allowed). If SSH is allowed and no live window of ttahub.ops covers it, and
    O(production=true), it runs C(cf disallow-space-ssh), checks the result, records C(ssh_guard_disallowed) and
    returns C(uncovered) with the escalation message naming the Product Owner and the Government Technical Monitor.
    Outside production it only reports.
  - Leases live on the controller that opened them. A guard on another machine (a CI job) sees none, so it closes any
    production space SSH, including a window another controller holds; that is the safe side.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads and reports; closes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  space:
    description: The space to guard.
    type: str
    required: true
  production:
    description: Whether the space is production (C(ops_production)); only then is uncovered SSH disallowed.
    type: bool
    required: true
  state_dir:
    description: The ttahub.ops state directory with the leases (C(ops_state_dir)).
    type: path
  roster:
    description: The roster (C(ops_roster)), for the escalation message.
    type: list
    elements: dict
    default: []
seealso:
  - module: ttahub.ops.space_ssh_window
"""

EXAMPLES = r"""
- name: Close production space SSH that no live window covers
  ttahub.ops.space_ssh_guard:
    cf_home: "{{ cf_session_info.cf_home }}"
    space: ttahub-prod
    production: true
    state_dir: "{{ ops_state_dir }}"
    roster: "{{ ops_roster }}"
  register: guard
"""

RETURN = r"""
allowed_before:
  description: Whether SSH was allowed in the space when the guard looked.
  returned: success
  type: bool
  sample: false
covered_by:
  description: The live windows (id, run, operator, deadline) that cover the space.
  returned: success
  type: list
  elements: dict
  sample: []
uncovered:
  description: Whether SSH was allowed with no live window covering it.
  returned: success
  type: bool
  sample: false
disallowed:
  description: Whether the guard disallowed SSH.
  returned: success
  type: bool
  sample: false
ssh_allowed:
  description: Whether SSH is allowed after the guard (as C(cf space-ssh-allowed) says).
  returned: success
  type: bool
  sample: false
stale_closed:
  description: The stale leases the guard closed.
  returned: success
  type: list
  elements: dict
  sample: []
escalation:
  description: What to do and whom to contact when SSH was uncovered (empty otherwise).
  returned: success
  type: str
  sample: ""
audit_events:
  description: C(ssh_guard_checked), C(ssh_guard_disallowed), C(ssh_window_closed) for stale leases.
  returned: always
  type: list
  elements: dict
  sample: [{"event": "ssh_guard_checked", "space": "ttahub-prod", "allowed": false}]
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def body(module: AnsibleModule, cf: CfClient, state_dir: str) -> dict:
    p = module.params
    space = p["space"]
    events, stale = [], []
    for path, lease in sw.leases(state_dir):
        if sw.is_live(lease):
            continue
        stale.append(sw.public_lease(lease, path))
        if module.check_mode:
            continue
        try:
            done = sw.close_window(state_dir, path, reason="stale_lease", by="guard", cf=cf)
            if done.get("event"):
                events.append(done["event"])
        except sw.WindowError as err:
            events.extend(err.events)
    covered = [sw.public_lease(lease, path) for path, lease in sw.leases(state_dir, space) if sw.is_live(lease)]
    allowed = sw.space_ssh_allowed(cf, space)
    uncovered = allowed and not covered
    result = {"changed": bool(stale) and not module.check_mode, "space": space, "allowed_before": allowed, "covered_by": covered,
              "uncovered": uncovered, "disallowed": False, "ssh_allowed": allowed, "stale_closed": stale, "escalation": "",
              "audit_events": events}
    events.append({"event": "ssh_guard_checked", "space": space, "allowed": allowed, "covered_by": [c["window_id"] for c in covered],
                   "production": p["production"], "stale_leases": len(stale)})
    if not uncovered:
        return result
    found_at = _audit.utc_now()
    if p["production"] and not module.check_mode:
        out = cf.run(["disallow-space-ssh", space], action=f"disallow SSH in space {space}")
        disallowed_at = _audit.utc_now()
        after = sw.space_ssh_allowed(cf, space)
        result.update(changed=True, disallowed=True, ssh_allowed=after)
        events.append({"event": "ssh_guard_disallowed", "space": space, "found_allowed_at": found_at, "disallowed_at": disallowed_at,
                       "ssh_allowed_after": after, "cf_output_ok": "OK" in out.stdout})
        what = f"SSH was allowed in space {space} with no live ttahub.ops window covering it; the guard disallowed it at {disallowed_at}"
        if after:
            what += ", but cf space-ssh-allowed still says it is enabled: disallow it by hand now"
    elif p["production"]:
        what = f"SSH is allowed in space {space} with no live ttahub.ops window covering it (check mode: left as is)"
    else:
        what = f"SSH is allowed in space {space} (not production: left as is)"
        return result
    result["escalation"] = f"{what}. Find out who allowed it (cf curl /v3/audit_events). {sw.escalation_message(p['roster'])}."
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            space={"type": "str", "required": True},
            production={"type": "bool", "required": True},
            state_dir={"type": "path"},
            roster={"type": "list", "elements": "dict", "default": []},
        ),
        supports_check_mode=True,
    )
    state_dir = module.params["state_dir"] or sw.default_state_dir()
    run_module(module, lambda cf: body(module, cf, state_dir), client="cf",
               os_error=(f"read the leases in {state_dir}", "Check ops_state_dir and its permissions"))


if __name__ == "__main__":
    main()
