#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cf_instance_copy
short_description: Copy files from (or, outside production, to) a Cloud Foundry app instance through the SSH proxy
description:
  - Copies a file or a whole folder from one instance of an app's process to a local folder, with OpenSSH's C(sftp)
    through the cloud.gov SSH proxy, as the SOP's manual C(scp) steps do, without their pitfalls.
  - The proxy user is C(cf:<process GUID>/<index>). The process GUID is read from the v3 API
    (C(/v3/apps/GUID/processes)); it is never assumed to be the app GUID, which it stops being after the first rolling
    deployment.
  - The proxy's address and host key fingerprint come from the Cloud Controller root (C(cf curl /),
    C(links.app_ssh)). Only a host key with that fingerprint is accepted (C(StrictHostKeyChecking=yes) against a
    private known_hosts file); a different key stops the copy with an error before anything is sent.
  - Every connection gets a fresh one-time code (C(cf ssh-code)), handed to ssh through E(SSH_ASKPASS) with
    E(SSH_ASKPASS_REQUIRE=force), never on an argv, never in a file, never in the result or the logs.
  - What arrives is checked against the instance's own listing (every file's size) before it is moved into place,
    and its size and SHA-256 are returned and recorded in the audit log.
  - Remote paths are taken literally (spaces, quotes, V(;), V($), glob characters). Nothing runs on the instance
    but the SFTP server.
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Resolves the instance and verifies the proxy's host key, but gets no code and copies nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  app:
    description: The app name, in the session's targeted space.
    type: str
    required: true
  process:
    description: The process type whose instance is copied from (C(cf app APP) lists them).
    type: str
    default: web
  instance:
    description: The instance index.
    type: int
    default: 0
  direction:
    description:
      - V(download) copies O(remote_path) from the instance into the local folder O(dest).
      - V(upload) copies the local O(src) to O(remote_path) on the instance; refused when O(production=true).
    type: str
    choices: [download, upload]
    default: download
  remote_path:
    description:
      - The file or folder on the instance, absolute or relative to the instance's home (C(/home/vcap)).
      - For an upload, the path the file or folder gets on the instance.
    type: str
    required: true
  dest:
    description:
      - For a download, the local folder the copy goes into, as C(DEST/NAME). It is created with mode 0700 when
        it does not exist; the copy cannot land outside it.
    type: path
  name:
    description:
      - The name of the copy inside O(dest). Defaults to the last part of O(remote_path).
      - A single name, not a path.
    type: str
  src:
    description: For an upload, the local file or folder to copy.
    type: path
  force:
    description: Replace an existing copy (a download's C(DEST/NAME), an upload's O(remote_path) when it is a file).
    type: bool
    default: false
  production:
    description:
      - Whether the space is production (set it from C(ops_production)). Uploads are refused in production, and
        errors name the approved production procedure instead of the commands that turn SSH on.
    type: bool
    default: true
  ssh_timeout:
    description: Seconds each connection may take (a large copy needs more); it is then stopped and the task fails.
    type: int
    default: 900
  sftp_cli:
    description: Path of OpenSSH's C(sftp). When not set, C(sftp) is searched on E(PATH).
    type: path
  keyscan_cli:
    description: Path of OpenSSH's C(ssh-keyscan). When not set, C(ssh-keyscan) is searched on E(PATH).
    type: path
notes:
  - Needs the OpenSSH client 8.4 or later on the controller (C(SSH_ASKPASS_REQUIRE)).
  - The operator's own ssh config, agent, keys and known_hosts are not used for these connections.
seealso:
  - module: ttahub.ops.cf_app_info
  - module: ttahub.ops.cf_instance_command
"""

EXAMPLES = r"""
- name: Copy a log file from instance 1 of the web process
  ttahub.ops.cf_instance_copy:
    app: tta-smarthub-staging
    instance: 1
    remote_path: /home/vcap/app/logs/web.log
    dest: ./retrieved
    production: false
  register: copy

- name: Show what arrived
  ansible.builtin.debug:
    msg: "{{ copy.dest_path }}: {{ copy.size }} bytes, SHA-256 {{ copy.sha256 }}"
"""

RETURN = r"""
dest_path:
  description: Where the copy is (a download's local path, an upload's remote path).
  returned: success
  type: str
  sample: /home/operator/retrieved/web.log
kind:
  description: V(file) or V(directory).
  returned: success
  type: str
  sample: file
size:
  description: Bytes copied (all files of a folder together); equal to the sizes the instance lists.
  returned: success
  type: int
  sample: 1846
sha256:
  description: SHA-256 of the file; for a folder, of its manifest (C(sha256sum) lines of every file, sorted by path).
  returned: success
  type: str
  sample: 9f2c3e0d0f2b5c2f6b8a0b5d1f8b1f1f2e3d4c5b6a79881726354453627180ab
files:
  description: Every file copied, with its path relative to the copy, size and SHA-256.
  returned: success
  type: list
  elements: dict
  sample: [{"path": "web.log", "size": 1846, "sha256": "9f2c3e0d..."}]
not_copied:
  description: Entries of the remote folder that are neither files nor folders (links, sockets), not copied.
  returned: success
  type: list
  elements: str
  sample: []
app_guid:
  description: The app GUID.
  returned: success
  type: str
  sample: f68bdf83-21ef-479b-b162-d9a9c28846bd
process_guid:
  description: The process GUID used in the proxy user C(cf:<process GUID>/<index>).
  returned: success
  type: str
  sample: fdd83d64-bde1-4579-8dc2-671f9d317f3b
ssh_endpoint:
  description: The SSH proxy, as the Cloud Controller publishes it.
  returned: success
  type: str
  sample: ssh.fr.cloud.gov:2222
host_key_fingerprint:
  description: SHA-256 fingerprint of the host key that was pinned and accepted.
  returned: success
  type: str
  sample: SHA256:kUWIDx6m5g6QaRe19ToAaQIz1svyq/RF08TlewTUfws
connections:
  description: SSH connections made, each with its own one-time code.
  returned: success
  type: int
  sample: 2
"""

# A little over issue 12's 150 lines of code: what is left is the option spec, the plan (check_download,
# check_upload) and the two orchestrations (download, upload). The SFTP session and instance resolution are _ssh's,
# the local tree _tree's; splitting the rest would scatter one procedure over files.

import os
import posixpath
import shutil
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient, cf_argument_spec
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfUsageError
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module
from ansible_collections.ttahub.ops.plugins.module_utils._ssh import (
    SftpSession,
    SshError,
    parse_sftp_listing,
    resolve_instance,
    sftp_quote,
)
from ansible_collections.ttahub.ops.plugins.module_utils._tree import (
    compare,
    inventory,
    listing_commands,
    make_private,
    make_private_dirs,
    walk,
)

# ---------------------------------------------------------------------------------------------------------------------
# The plan: what is refused before anything is asked of cloud.gov
# ---------------------------------------------------------------------------------------------------------------------


def single_name(name: str, what: str) -> str:
    if not name or name in (".", "..") or "/" in name or any(c in name for c in "\x00\n\r"):
        raise CfUsageError(f"name the {what}", f"{name!r} is not a single file or folder name",
                           "Give a name without '/' (option name), or a remote_path that ends with one")
    return name


def check_download(params: dict[str, t.Any]) -> dict[str, str]:
    """Everything about a download that can be refused before anything is asked of cloud.gov."""
    remote = params["remote_path"]
    action = f"copy {remote} from instance {params['instance']} of app {params['app']}"
    if not params["dest"]:
        raise CfUsageError(action, "dest is not set", "Name the local folder the copy goes into (dest)")
    name = single_name(params["name"] or posixpath.basename(remote.rstrip("/")), "copy")
    dest = os.path.realpath(os.path.abspath(params["dest"]))
    final = os.path.join(dest, name)
    if os.path.lexists(dest) and not os.path.isdir(dest):
        raise CfUsageError(action, f"{dest} exists and is not a folder", "dest names the folder the copy goes into")
    if os.path.lexists(final) and not params["force"]:
        raise CfUsageError(action, f"{final} already exists", "Pass force: true (-e force=true) to replace it, or choose another dest")
    return {"action": action, "remote": remote, "name": name, "dest": dest, "final": final}


def check_upload(params: dict[str, t.Any]) -> dict[str, t.Any]:
    remote = params["remote_path"].rstrip("/") or "/"
    action = f"copy {params['src']} to {remote} on instance {params['instance']} of app {params['app']}"
    if params["production"]:
        raise CfUsageError(action, "uploads to production instances are not allowed",
                           "Change production through a release (the production pipeline), never by copying files in")
    if not params["src"]:
        raise CfUsageError(action, "src is not set", "Name the local file or folder to upload (src)")
    src = os.path.realpath(os.path.abspath(params["src"]))
    if not os.path.exists(src):
        raise CfUsageError(action, f"{src} does not exist", "Check src")
    kind, folders, files = walk(src)
    parent, name = posixpath.split(remote)
    single_name(name, "remote copy")
    return {"action": action, "remote": remote, "src": src, "kind": kind, "folders": folders, "files": files,
            "parent": parent or ".", "name": name}


# ---------------------------------------------------------------------------------------------------------------------
# The copy
# ---------------------------------------------------------------------------------------------------------------------


def download(module: AnsibleModule, session: SftpSession | None, plan: dict[str, t.Any], result: dict[str, t.Any]) -> None:
    action, remote, name, dest, final = plan["action"], plan["remote"], plan["name"], plan["dest"], plan["final"]
    result["dest_path"] = final
    if session is None:  # check mode
        return
    created = make_private_dirs(dest)
    staging = tempfile.mkdtemp(prefix=".ttahub-ops-partial-", dir=dest)
    done = False
    try:
        local = os.path.join(staging, name)
        session.sftp_batch([f"get -R {sftp_quote(remote)} {sftp_quote(local)}"], action)
        if not os.path.lexists(local):
            raise SshError(action, "nothing arrived", "Check remote_path")
        kind, folders, files = walk(local)
        skipped = compare(local, remote, kind, folders, files,
                          session.sftp_batch(listing_commands(remote, kind, folders), action), action)
        make_private(local, kind, folders, files)
        listed, total, digest = inventory(local, kind, files)
        if os.path.lexists(final):
            if os.path.isdir(final) and not os.path.islink(final):
                shutil.rmtree(final)
            else:
                os.unlink(final)
        os.rename(local, final)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            for folder in reversed(created):
                try:
                    os.rmdir(folder)
                except OSError:
                    break
    result.update(kind=kind, size=total, sha256=digest, files=listed, not_copied=skipped, dest_created=bool(created))


def upload(module: AnsibleModule, session: SftpSession | None, plan: dict[str, t.Any], result: dict[str, t.Any]) -> None:
    params = module.params
    action, remote, src, parent, name = plan["action"], plan["remote"], plan["src"], plan["parent"], plan["name"]
    kind, folders, files = plan["kind"], plan["folders"], plan["files"]
    result["dest_path"] = remote
    if session is None:
        return
    existing = [e for e in parse_sftp_listing(session.sftp_batch([f"ls -lan {sftp_quote(parent)}"], action)).get(parent, [])
                if e.name == name]
    if existing and not params["force"]:
        raise CfUsageError(action, f"{remote} already exists on the instance", "Pass force: true to replace it, or choose another remote_path")
    if existing and existing[0].kind == "d":
        raise CfUsageError(action, f"{remote} is a folder on the instance", "Replacing a folder is not supported: remove it first")
    partial = posixpath.join(parent, f".{name}.ttahub-ops-partial-{os.urandom(4).hex()}")
    out = session.sftp_batch(
        [f"put -R {sftp_quote(src)} {sftp_quote(partial)}", f"rename {sftp_quote(partial)} {sftp_quote(remote)}",
         *listing_commands(remote, kind, folders)], action)
    skipped = compare(src, remote, kind, folders, files, out, action)
    listed, total, digest = inventory(src, kind, files)
    result.update(kind=kind, size=total, sha256=digest, files=listed, not_copied=skipped)


def body(module: AnsibleModule, cf: CfClient) -> dict[str, t.Any]:
    params = module.params
    direction = params["direction"]
    if any(c in params["remote_path"] for c in "\x00\n\r") or not params["remote_path"].strip():
        raise CfUsageError("copy from the instance", "remote_path is empty or contains a line break", "Check remote_path")
    if params["instance"] < 0:
        raise CfUsageError("copy from the instance", "instance is negative", "Instances are numbered from 0")
    plan = check_download(params) if direction == "download" else check_upload(params)
    target = resolve_instance(cf, params["app"], params["process"], params["instance"], params["production"])
    result: dict[str, t.Any] = {"changed": True, "direction": direction, "app_guid": target["app_guid"],
                                "process_guid": target["process_guid"], "ssh_endpoint": target["endpoint"]}
    session = SftpSession(cf, target, secrets=module.no_log_values, sftp_cli=params["sftp_cli"],
                          keyscan_cli=params["keyscan_cli"], timeout=params["ssh_timeout"],
                          production=params["production"])
    try:
        result["host_key_fingerprint"] = session.fingerprint
        (download if direction == "download" else upload)(module, None if module.check_mode else session, plan, result)
        result["connections"] = session.connections
    finally:
        session.close()
    if not module.check_mode:
        result["audit_events"] = [{
            "event": "instance_file_copied", "direction": direction, "app": params["app"], "process": params["process"],
            "process_guid": target["process_guid"], "instance": params["instance"], "remote_path": params["remote_path"],
            "dest_path": result["dest_path"], "kind": result["kind"], "size": result["size"], "sha256": result["sha256"],
            "files": len(result["files"]), "host_key_fingerprint": session.fingerprint,
            "ssh_endpoint": target["endpoint"], "connections": session.connections,
        }]
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=cf_argument_spec(
            app={"type": "str", "required": True},
            process={"type": "str", "default": "web"},
            instance={"type": "int", "default": 0},
            direction={"type": "str", "choices": ["download", "upload"], "default": "download"},
            remote_path={"type": "str", "required": True},
            dest={"type": "path"},
            name={"type": "str"},
            src={"type": "path"},
            force={"type": "bool", "default": False},
            production={"type": "bool", "default": True},
            ssh_timeout={"type": "int", "default": 900},
            sftp_cli={"type": "path"},
            keyscan_cli={"type": "path"},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cf: body(module, cf), client="cf")


if __name__ == "__main__":
    main()
