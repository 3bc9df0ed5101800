#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_roles_info
short_description: List who holds which org and space roles in Cloud Foundry
description:
  - Reads the org's roles and the roles in its spaces from the v3 roles API (C(/v3/roles?include=user)), the data
    behind C(cf org-users) and C(cf space-users), with every page followed.
  - Each role comes back with its holder's username and origin (the identity provider), the org and, for a space role,
    the space.
  - Reads only. The Cloud Controller shows only the roles the session's user may see; an Org Manager sees them all, a
    Space Developer only those of its own spaces.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode runs it unchanged.
  diff_mode:
    support: N/A
  platform:
    platforms: posix
options:
  org:
    description: The org whose roles to list.
    type: str
    required: true
  spaces:
    description:
      - The spaces whose roles to list. When not set, every space of the org that the session can see.
      - A named space that does not exist (or cannot be seen) fails the task.
    type: list
    elements: str
  org_roles:
    description: Also list the org's own roles (org users, managers, auditors, billing managers).
    type: bool
    default: true
seealso:
  - module: ttahub.ops.access_review
  - module: ttahub.ops.cf_curl
"""

EXAMPLES = r"""
- name: List who holds which org and space roles
  ttahub.ops.cf_roles_info:
    cf_home: "{{ cf_session_info.cf_home }}"
    org: hhs-acf-ohs-tta
    spaces: [ttahub-prod]
  register: roles

- name: Show the Space Developers of the production space
  ansible.builtin.debug:
    msg: "{{ roles.roles | selectattr('type', 'eq', 'space_developer') | map(attribute='username') | list }}"
"""

RETURN = r"""
org:
  description: The org, by name and GUID.
  returned: success
  type: dict
  sample: {"name": "hhs-acf-ohs-tta", "guid": "3b9f1a2c-5d4e-4f60-8a7b-9c0d1e2f3a4b"}
spaces:
  description: The spaces whose roles were listed, by name and GUID, in the order of O(spaces).
  returned: success
  type: list
  elements: dict
  sample: [{"name": "ttahub-prod", "guid": "7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"}]
roles:
  description: One entry per role assignment, org roles first.
  returned: success
  type: list
  elements: dict
  contains:
    guid:
      description: The role's GUID.
      type: str
    type:
      description: The v3 role type, for example V(organization_manager) or V(space_developer).
      type: str
    role_name:
      description: The name C(cf set-org-role) or C(cf set-space-role) uses, for example V(SpaceDeveloper).
      type: str
    user_guid:
      description: The holder's user GUID.
      type: str
    username:
      description: The holder's username (for a person, the email address they log in with); empty when the Cloud
        Controller does not return one.
      type: str
    origin:
      description: The holder's identity provider, for example V(uaa) for a service account.
      type: str
    org:
      description: The org's name.
      type: str
    space:
      description: The space's name, or V(null) for an org role.
      type: str
  sample:
    - {"guid": "0a1b2c3d-0000-4000-8000-000000000001", "type": "space_developer", "role_name": "SpaceDeveloper",
       "user_guid": "5e6f7a8b-0000-4000-8000-000000000002", "username": "ttahub-deployer", "origin": "uaa",
       "org": "hhs-acf-ohs-tta", "space": "ttahub-prod"}
"""

from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._access import ROLE_NAMES
from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfNotFoundError, CfOutputError
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module

PER_PAGE = 200


def _roles(cf: CfClient, path: str, action: str, space_names: dict[str, str], org: str) -> list[dict]:
    resources, included = cf.curl_all_included(path, action=action)
    users = {u.get("guid"): u for u in included.get("users", []) if isinstance(u, dict)}
    out = []
    for role in resources:
        if not isinstance(role, dict) or not isinstance(role.get("type"), str):
            raise CfOutputError(action, "a role without a type", "Check the API answer with cf curl")
        relations = role.get("relationships") or {}
        user_guid = ((relations.get("user") or {}).get("data") or {}).get("guid", "")
        space_guid = ((relations.get("space") or {}).get("data") or {}).get("guid")
        user = users.get(user_guid) or {}
        out.append(
            {
                "guid": role.get("guid", ""),
                "type": role["type"],
                "role_name": ROLE_NAMES.get(role["type"], role["type"]),
                "user_guid": user_guid,
                "username": user.get("username") or "",
                "origin": user.get("origin") or "",
                "org": org,
                "space": space_names.get(space_guid, space_guid) if space_guid else None,
            }
        )
    return out


def body(module: AnsibleModule, cf: CfClient) -> dict:
    org_name, wanted = module.params["org"], module.params["spaces"]
    action = f"list the roles in org {org_name}"
    orgs = cf.curl_all(f"/v3/organizations?names={quote(org_name, safe='')}", action=f"find org {org_name}")
    if not orgs:
        raise CfNotFoundError(
            f"find org {org_name}", f"org '{org_name}' not found", "Check cf_org in the inventory; `cf orgs` lists the orgs you can see"
        )
    org_guid = orgs[0]["guid"]
    listed = cf.curl_all(f"/v3/spaces?organization_guids={org_guid}&per_page={PER_PAGE}", action=f"list the spaces of org {org_name}")
    by_name = {s["name"]: s["guid"] for s in listed if isinstance(s, dict) and "name" in s and "guid" in s}
    names = sorted(by_name) if wanted is None else list(dict.fromkeys(wanted))
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise CfNotFoundError(
            action,
            f"space '{unknown[0]}' not found in org {org_name}",
            "Check the space names (cf_space, access_review_spaces); `cf spaces` lists the org's spaces",
        )
    spaces = [{"name": n, "guid": by_name[n]} for n in names]
    space_names = {s["guid"]: s["name"] for s in spaces}
    roles = []
    if module.params["org_roles"]:
        roles += _roles(cf, f"/v3/roles?organization_guids={org_guid}&include=user&per_page={PER_PAGE}", action, space_names, org_name)
    if spaces:
        guids = ",".join(s["guid"] for s in spaces)
        roles += _roles(cf, f"/v3/roles?space_guids={guids}&include=user&per_page={PER_PAGE}", action, space_names, org_name)
    return {"changed": False, "org": {"name": org_name, "guid": org_guid}, "spaces": spaces, "roles": roles}


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            org={"type": "str", "required": True},
            spaces={"type": "list", "elements": "str"},
            org_roles={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
