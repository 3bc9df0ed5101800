#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_push
short_description: Push an app to Cloud Foundry with its manifest, vars files and the rolling strategy
description:
  - Runs C(cf push APP -f MANIFEST --vars-file FILE... --var NAME=VALUE... --strategy rolling), the last step of the
    TTA Hub's CI (the environment's C(deployment_config/ENV_vars.yml) and the C(BUILD_*) variables).
  - Secrets never go on the command line. Each name in O(secret_env_vars) is read from the module's environment and
    written to a vars file of mode 0600 in a private folder of mode 0700 inside the session's C(CF_HOME). That file is
    passed with C(--vars-file) and removed as soon as C(cf push) returns. The values are also masked in any output the
    module returns.
  - A failed start (C(Start unsuccessful)) fails the task with C(error_kind=deployment_failed). A rolling deployment then
    stays active until it is cancelled with M(ttahub.ops.cf_deployment) (the C(app_deploy) playbook does that).
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Checks the inputs (files, secret variables) and reports the push that would run, without running it.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  app:
    description: The app name (as in the manifest, after its variables are filled).
    type: str
    required: true
  manifest:
    description: The app manifest (C(-f)).
    type: path
    required: true
  vars_files:
    description: Vars files for the manifest's C(((variables))) (C(--vars-file)), for example C(deployment_config/prod_vars.yml).
    type: list
    elements: path
    default: []
  vars:
    description: Variables that are not secret (C(--var NAME=VALUE)), for example C(BUILD_COMMIT).
    type: dict
    default: {}
  secret_env_vars:
    description:
      - Names of environment variables whose values are manifest variables of the same name and are secret, for example
        C(NEW_RELIC_LICENSE_KEY). A name that is not set in the environment fails the task before anything runs.
    type: list
    elements: str
    default: []
  path:
    description: The app's files (C(-p)); by default cf uses the manifest's C(path) or the current directory.
    type: path
  strategy:
    description: V(rolling) replaces instances one by one (zero downtime); V(none) stops and restarts the app.
    type: str
    choices: [rolling, none]
    default: rolling
  timeout:
    description: Seconds the whole push (upload, staging, deployment) may take.
    type: int
    default: 1800
seealso:
  - module: ttahub.ops.cf_deployment
  - module: ttahub.ops.cf_task
"""

EXAMPLES = r"""
- name: Push the app with the rolling strategy
  ttahub.ops.cf_push:
    cf_home: "{{ cf_session_info.cf_home }}"
    app: tta-smarthub-prod
    manifest: "{{ app_dir }}/manifest.yml"
    vars_files: ["{{ app_dir }}/deployment_config/prod_vars.yml"]
    vars:
      BUILD_COMMIT: "{{ build_commit }}"
    secret_env_vars: [NEW_RELIC_LICENSE_KEY]
"""

RETURN = r"""
cmd:
  description: The cf command line (secret values never appear in it).
  returned: success or failure after cf ran
  type: list
  elements: str
  sample: ["cf", "push", "tta-smarthub-prod", "-f", "/app/manifest.yml", "--vars-file", "/app/deployment_config/prod_vars.yml",
           "--vars-file", "/dev/shm/ttahub-ops-cf-x/push-y/secret-vars.yml", "--var", "BUILD_COMMIT=5d1e0a7", "--strategy", "rolling"]
processes:
  description: The app's processes after the push, from cf's summary.
  returned: success
  type: dict
  sample: {"web": {"running": 3, "instances": 3}, "worker": {"running": 2, "instances": 2}}
stdout_lines:
  description: What cf printed, secrets masked.
  returned: success or failure after cf ran
  type: list
  elements: str
audit_events:
  description: Evidence for the audit log.
  returned: success
  type: list
  elements: dict
  sample: [{"event": "app_pushed", "app": "tta-smarthub-prod", "strategy": "rolling", "vars": ["BUILD_COMMIT"],
            "secret_vars": ["NEW_RELIC_LICENSE_KEY"]}]
"""

import json
import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfUsageError, classify_failure
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_app_processes
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _mask(text: str, secrets: list[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, "********")
    return text


def body(module: AnsibleModule, cf: CfClient) -> dict:
    p = module.params
    app = p["app"]
    action = f"push app {app}"
    files = [("manifest", p["manifest"])] + [("vars file", f) for f in p["vars_files"]]
    for what, path in files:
        if not os.path.isfile(path):
            raise CfUsageError(action, f"the {what} {path} does not exist", "Check app_dir and the environment's vars file")
    if p["path"] and not os.path.isdir(p["path"]):
        raise CfUsageError(action, f"the app folder {p['path']} does not exist", "Check app_dir")
    for name in list(p["vars"]) + list(p["secret_env_vars"]):
        if not re.match(NAME, name):
            raise CfUsageError(action, f"{name!r} is not a manifest variable name", "Use letters, digits and _")
    secrets: dict[str, str] = {}
    for name in p["secret_env_vars"]:
        value = os.environ.get(name)
        if not value:
            raise CfUsageError(action, f"the environment variable {name} is not set",
                               f"Export {name} (in CI, a project secret) before the run; it never goes on the command line")
        secrets[name] = value
    module.no_log_values.update(secrets.values())
    overlap = sorted(set(secrets) & set(p["vars"]))
    if overlap:
        raise CfUsageError(action, f"{', '.join(overlap)} is given both as a variable and as a secret", "Give it once")
    args = ["push", app, "-f", p["manifest"]]
    for path in p["vars_files"]:
        args += ["--vars-file", path]
    for name, value in p["vars"].items():
        text = "" if value is None else str(value)
        if "\n" in text:
            raise CfUsageError(action, f"the value of {name} spans several lines", "Pass a one-line value")
        args += ["--var", f"{name}={text}"]
    if p["path"]:
        args += ["-p", p["path"]]
    if p["strategy"] == "rolling":
        args += ["--strategy", "rolling"]
    if module.check_mode:
        return {"changed": True, "skipped": True, "msg": f"app {app} would have been pushed if not in check mode"}
    private = None
    try:
        if secrets:
            private = tempfile.mkdtemp(prefix="push-", dir=p["cf_home"] if os.path.isdir(p["cf_home"]) else None)
            os.chmod(private, 0o700)
            secret_file = os.path.join(private, "secret-vars.yml")
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                # JSON strings are YAML strings: any character in a value stays what it is.
                handle.write("".join(f"{name}: {json.dumps(value)}\n" for name, value in secrets.items()))
            args[4 + 2 * len(p["vars_files"]):4 + 2 * len(p["vars_files"])] = ["--vars-file", secret_file]
        result = cf.run(args, action=action, check=False, timeout=p["timeout"])
    finally:
        if private:
            shutil.rmtree(private, ignore_errors=True)
    stdout, stderr = _mask(result.stdout, list(secrets.values())), _mask(result.stderr, list(secrets.values()))
    if result.rc != 0:
        raise classify_failure(action, result.cmd, result.rc, stdout, stderr)
    return {
        "changed": True,
        "cmd": result.cmd,
        "processes": parse_app_processes(stdout),
        "stdout_lines": stdout.splitlines(),
        "audit_events": [{"event": "app_pushed", "app": app, "strategy": p["strategy"], "manifest": p["manifest"],
                          "vars": sorted(p["vars"]), "secret_vars": sorted(secrets),
                          **({"build_commit": str(p["vars"]["BUILD_COMMIT"])} if "BUILD_COMMIT" in p["vars"] else {})}],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            app={"type": "str", "required": True},
            manifest={"type": "path", "required": True},
            vars_files={"type": "list", "elements": "path", "default": []},
            vars={"type": "dict", "default": {}},
            secret_env_vars={"type": "list", "elements": "str", "default": [], "no_log": False},
            path={"type": "path"},
            strategy={"type": "str", "choices": ["rolling", "none"], "default": "rolling"},
            timeout={"type": "int", "default": 1800},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
