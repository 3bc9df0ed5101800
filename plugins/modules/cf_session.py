#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_session
short_description: Start or end an isolated cf CLI session for one run
description:
  - With O(state=present), creates a private C(CF_HOME) (mode 0700, memory-backed where the OS has it) and logs in there.
  - With E(CF_USERNAME) and E(CF_PASSWORD) in the environment (a cloud.gov service account, as CI uses), runs C(cf api),
    C(cf auth) (which reads the credentials from the environment, never from argv) and C(cf target -o -s) in it.
  - Without them, copies the operator's own C(cf login --sso) configuration into it and targets the org and space
    there, so that the operator's own cf target never changes.
  - With O(state=absent), removes a C(CF_HOME) this module created; it refuses any other directory.
  - Every other module of the collection takes the returned C(cf_home) (see the C(ttahub.ops._cf) options).
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The session is local and changes nothing on cloud.gov, so it is also started in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description: Start (V(present)) or end (V(absent)) the session.
    type: str
    choices: [present, absent]
    default: present
  api:
    description: The Cloud Foundry API URL, for example V(https://api.fr.cloud.gov). Required with O(state=present).
    type: str
  org:
    description: The org to target. Required with O(state=present).
    type: str
  space:
    description: The space to target. Required with O(state=present).
    type: str
  cf_home:
    description: With O(state=absent), the C(cf_home) that O(state=present) returned.
    type: path
  base_dir:
    description:
      - Where to create the session directory.
      - Defaults to E(XDG_RUNTIME_DIR) or C(/dev/shm) when they exist (the session holds a cloud.gov token), else the
        system temporary directory.
    type: path
  cf_cli:
    description: Path of the C(cf) executable; when not set, C(cf) is searched on E(PATH).
    type: path
  cf_timeout:
    description:
      - Seconds each C(cf) call may take.
      - When the task does not set it, E(TTAHUB_OPS_CF_TIMEOUT) replaces the default.
    type: int
    default: 120
  controller_pid:
    description:
      - The run's C(ansible-playbook), which the run's supervisor watches. The action plugin passes it; else the
        outermost C(ansible-playbook) process that runs this module.
    type: int
notes:
  - The session directory holds an access token. End the session with O(state=absent) in an C(always) section.
  - Before the session starts, the action plugin arms the run's supervisor (one detached process per run, which needs
    no callback). If the run's C(ansible-playbook) dies without ending the session (killed, or a failure inside the
    C(always) section), the supervisor removes the directory within a second, after closing the run's open space SSH
    windows with it, and again while a cf call that was under way can still write it back. After a clean run it exits
    with the session's end.
  - A session that an open space SSH window still needs (its close failed) is not removed by O(state=absent); the
    supervisor closes the window with it, then removes it.
requirements:
  - cf CLI v8 on the controller
seealso:
  - module: ttahub.ops.cf_app_info
"""

EXAMPLES = r"""
- name: Start an isolated cf session targeting the production space
  ttahub.ops.cf_session:
    api: https://api.fr.cloud.gov
    org: hhs-acf-ohs-tta
    space: ttahub-prod
  register: cf_session

- name: Use the session for every cf module of the play
  module_defaults:
    group/ttahub.ops.cf:
      cf_home: "{{ cf_session.cf_home }}"
  block:
    - name: Read the app
      ttahub.ops.cf_app_info:
        name: tta-smarthub-prod
  always:
    - name: End the cf session
      ttahub.ops.cf_session:
        state: absent
        cf_home: "{{ cf_session.cf_home }}"
"""

RETURN = r"""
cf_home:
  description: The session's private C(CF_HOME). Pass it to every other module.
  returned: state is present
  type: str
  sample: /dev/shm/ttahub-ops-cf-k2v9x3
api:
  description: The API endpoint the session targets.
  returned: state is present
  type: str
  sample: https://api.fr.cloud.gov
api_version:
  description: The Cloud Controller API version.
  returned: state is present
  type: str
  sample: 3.180.0
org:
  description: The targeted org.
  returned: state is present
  type: str
  sample: hhs-acf-ohs-tta
space:
  description: The targeted space.
  returned: state is present
  type: str
  sample: ttahub-prod
user:
  description: The cloud.gov user of the session (the service account or the operator).
  returned: state is present
  type: str
  sample: operator@example.gov
auth:
  description: How the session logged in.
  returned: state is present
  type: str
  choices: [service_account, operator_sso]
  sample: operator_sso
cf_version:
  description: The cf CLI version.
  returned: state is present
  type: str
  sample: 8.7.10
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CF_COMMON_ARGS, CfClient
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import (
    LOGIN_HINT,
    CfError,
    CfNotLoggedInError,
    CfUsageError,
)
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_key_values, parse_version
from ansible_collections.ttahub.ops.plugins.module_utils._cf.session import (
    copy_operator_config,
    create_cf_home,
    remove_cf_home,
)
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def _same_api(a: str, b: str) -> bool:
    def norm(url: str) -> str:
        url = url.strip().rstrip("/").lower()
        return url if "://" in url else "https://" + url

    return norm(a) == norm(b)


def start(module: AnsibleModule) -> dict:
    params = module.params
    missing = [name for name in ("api", "org", "space") if not params[name]]
    if missing:
        raise CfUsageError("start the cf session", f"{', '.join(missing)} not given", "Set cf_api, cf_org and cf_space in the inventory")
    probe = CfClient(cf_cli=params["cf_cli"], timeout=params["cf_timeout"])
    version = parse_version(probe.run(["version"], action="read the cf CLI version").stdout)
    if version[0] < 8:
        raise CfUsageError(
            "start the cf session",
            f"this collection requires cf CLI >= 8; {probe.binary} is {'.'.join(map(str, version))}",
            "Install cf CLI v8 (package cf8-cli)",
        )
    environ = dict(os.environ)
    # The marker names the run's controller: its supervisor (armed by the action plugin) removes the session (a token)
    # if the run dies without ending it.
    cf_home = create_cf_home(params["base_dir"], environ.get("TTAHUB_OPS_RUN_ID"), params["controller_pid"])
    try:
        cf = CfClient(cf_cli=params["cf_cli"], cf_home=cf_home, timeout=params["cf_timeout"])
        if environ.get("CF_USERNAME") and environ.get("CF_PASSWORD"):
            auth = "service_account"
            cf.run(["api", params["api"]], action=f"set the API endpoint to {params['api']}")
            cf.run(["auth"], action="log in with the service account in CF_USERNAME/CF_PASSWORD")
        else:
            auth = "operator_sso"
            source = copy_operator_config(cf_home, environ)
            with open(os.path.join(cf_home, ".cf", "config.json"), encoding="utf-8") as handle:
                try:
                    target = json.load(handle).get("Target", "")
                except ValueError:
                    target = ""
            if not target or not _same_api(target, params["api"]):
                raise CfNotLoggedInError(
                    "start the cf session",
                    f"the cf login in {source} is for {target or 'no API'}, but the inventory targets {params['api']}",
                    f"Run `cf login -a {params['api']} --sso`, then run again",
                )
        result = cf.run(
            ["target", "-o", params["org"], "-s", params["space"]],
            action=f"target org {params['org']} and space {params['space']}",
        )
        table = parse_key_values(result.stdout)
        if not table.get("user"):
            raise CfNotLoggedInError("start the cf session", "cf target shows no user", LOGIN_HINT)
        if table.get("org") != params["org"] or table.get("space") != params["space"]:
            raise CfUsageError(
                "start the cf session",
                f"cf targeted org {table.get('org')!r} / space {table.get('space')!r} instead of {params['org']!r} / {params['space']!r}",
                "Check cf_org and cf_space in the inventory",
            )
    except (CfError, OSError):
        remove_cf_home(cf_home)
        raise
    return {
        "changed": False,
        "cf_home": cf_home,
        "api": table.get("api endpoint", params["api"]),
        "api_version": table.get("api version", ""),
        "org": table["org"],
        "space": table["space"],
        "user": table["user"],
        "auth": auth,
        "cf_version": ".".join(map(str, version)),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "api": {"type": "str"},
            "org": {"type": "str"},
            "space": {"type": "str"},
            "cf_home": {"type": "path"},
            "base_dir": {"type": "path"},
            "cf_cli": {"type": "path"},
            "cf_timeout": dict(CF_COMMON_ARGS["cf_timeout"]),
            "controller_pid": {"type": "int"},
        },
        required_if=[("state", "present", ("api", "org", "space")), ("state", "absent", ("cf_home",))],
        supports_check_mode=True,
    )

    def body() -> dict:
        if module.params["state"] == "present":
            return start(module)
        path = module.params["cf_home"]
        exists = os.path.isdir(path)
        return {"changed": exists if module.check_mode else remove_cf_home(path)}

    run_module(module, body, os_error=("prepare the cf session directory", "Check base_dir and free space"))


if __name__ == "__main__":
    main()
