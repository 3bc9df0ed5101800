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

import hashlib
import os
import posixpath
import shutil
import stat
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils._cf import (
    CfClient,
    CfNotFoundError,
    CfOutputError,
    CfUsageError,
    cf_argument_spec,
    parse_guid,
    parse_ssh_code,
)
from ansible_collections.ttahub.ops.plugins.module_utils._ssh import (
    SshError,
    SshPermissionDeniedError,
    SshWorkspace,
    classify_ssh_failure,
    find_tool,
    key_fingerprints,
    parse_endpoint,
    parse_fingerprint,
    parse_keyscan,
    parse_sftp_listing,
    pin_host_key,
    proxy_user,
    run_tool,
    sftp_quote,
    ssh_refused_hint,
)
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module

# ---------------------------------------------------------------------------------------------------------------------
# The instance, as the Cloud Controller sees it
# ---------------------------------------------------------------------------------------------------------------------


def resolve_instance(cf: CfClient, app: str, process: str, index: int, production: bool) -> dict[str, t.Any]:
    action = f"find instance {index} of the {process} process of app {app}"
    app_guid = parse_guid(cf.run(["app", app, "--guid"], action=f"find app {app}").stdout, f"find app {app}")
    processes = cf.curl_all(f"/v3/apps/{app_guid}/processes", action=f"read the processes of app {app}")
    types = {p.get("type"): p.get("guid") for p in processes if isinstance(p, dict)}
    process_guid = types.get(process)
    if not process_guid:
        raise CfNotFoundError(action, f"app {app} has no {process} process (it has {', '.join(sorted(map(str, types)))})",
                              "Pass one of these as process")
    stats = cf.curl_all(f"/v3/processes/{process_guid}/stats", action=action)
    entry = next((s for s in stats if isinstance(s, dict) and s.get("index") == index), None)
    if entry is None:
        raise CfNotFoundError(action, f"the {process} process has {len(stats)} instance(s), numbered from 0",
                              "Pass an existing instance index")
    if entry.get("state") != "RUNNING":
        raise SshError(action, f"instance {index} is {entry.get('state')}, not running",
                       "Wait until it runs (`cf app {app}`) or pick another instance".format(app=app))
    ssh = cf.curl(f"/v3/apps/{app_guid}/ssh_enabled", action=f"read whether SSH works for app {app}")
    if not (isinstance(ssh, dict) and ssh.get("enabled")):
        reason = str((ssh or {}).get("reason", "")) if isinstance(ssh, dict) else ""
        raise SshPermissionDeniedError(action, f"SSH is off: {reason or 'the Cloud Controller says SSH is disabled'}",
                                       ssh_refused_hint(reason, app, production, "scp_retrieve"))
    root = cf.curl("/", action="read the SSH proxy's address from the Cloud Controller")
    app_ssh = ((root or {}).get("links") or {}).get("app_ssh") if isinstance(root, dict) else None
    if not isinstance(app_ssh, dict) or not app_ssh.get("href"):
        raise SshError("find the SSH proxy", "SSH endpoint not set (the Cloud Controller root has no links.app_ssh)",
                       "The platform does not offer SSH; ask cloud.gov support")
    return {
        "app": app, "app_guid": app_guid, "process": process, "process_guid": process_guid, "index": index,
        "endpoint": str(app_ssh["href"]),
        "fingerprint": str((app_ssh.get("meta") or {}).get("host_key_fingerprint", "")),
    }


# ---------------------------------------------------------------------------------------------------------------------
# Local files
# ---------------------------------------------------------------------------------------------------------------------


def single_name(name: str, what: str) -> str:
    if not name or name in (".", "..") or "/" in name or any(c in name for c in "\x00\n\r"):
        raise CfUsageError(f"name the {what}", f"{name!r} is not a single file or folder name",
                           "Give a name without '/' (option name), or a remote_path that ends with one")
    return name


def make_private_dirs(path: str) -> list[str]:
    """Create PATH and missing parents with mode 0700; return what was created (deepest last)."""
    missing = []
    current = path
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise CfUsageError("create the destination folder", f"{current} exists and is not a folder", "Choose another dest")
        missing.append(current)
        current = os.path.dirname(current)
    created = []
    for folder in reversed(missing):
        os.mkdir(folder, 0o700)
        os.chmod(folder, 0o700)
        created.append(folder)
    return created


def walk(root: str) -> tuple[str, list[str], list[str]]:
    """(kind, folders, files) of a local copy, relative to ROOT; refuses links and special files."""
    st = os.lstat(root)
    if stat.S_ISREG(st.st_mode):
        return "file", [], [""]
    if not stat.S_ISDIR(st.st_mode):
        raise SshError("check the copy", f"{root} is neither a file nor a folder", "Copy regular files and folders only")
    folders, files = [""], []
    for current, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(current, root)
        rel = "" if rel == "." else rel
        for entry in sorted(dirnames + filenames):
            if any(c in entry for c in "\n\r"):
                raise SshError("check the copy", f"a name in {rel or '.'} contains a line break", "Rename it on the instance")
            path = os.path.join(current, entry)
            est = os.lstat(path)
            relpath = os.path.join(rel, entry) if rel else entry
            if stat.S_ISDIR(est.st_mode):
                folders.append(relpath)
            elif stat.S_ISREG(est.st_mode):
                files.append(relpath)
            else:
                raise SshError("check the copy", f"{relpath} is a link or a special file", "Copy regular files and folders only")
        dirnames.sort()
    return "directory", folders, files


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def remote_join(base: str, rel: str) -> str:
    return base if not rel else base.rstrip("/") + "/" + rel.replace(os.sep, "/")


def listing_commands(remote: str, kind: str, folders: list[str]) -> list[str]:
    if kind == "file":
        return [f"ls -lan {sftp_quote(remote)}"]
    return [f"ls -lan {sftp_quote(remote_join(remote, rel))}" for rel in folders]


def compare(local_root: str, remote: str, kind: str, folders: list[str], files: list[str], stdout: str,
            action: str) -> list[str]:
    """Check the local copy against the instance's listing; return the remote entries that were not copied."""
    listings = parse_sftp_listing(stdout)
    local_sizes = {rel: os.path.getsize(os.path.join(local_root, rel) if rel else local_root) for rel in files}
    skipped = []
    if kind == "file":
        entries = [e for e in listings.get(remote, []) if e.kind == "-"]
        if len(entries) != 1:
            raise CfOutputError(action, f"the instance did not list {remote} as one file", "Run again; check remote_path")
        if entries[0].size != local_sizes[""]:
            raise SshError(action, f"{local_sizes['']} bytes arrived, the instance lists {entries[0].size}",
                           "The file may have changed during the copy; run again")
        return skipped
    for rel in folders:
        path = remote_join(remote, rel)
        if path not in listings:
            raise CfOutputError(action, f"the instance did not list the folder {path}", "Run again")
        seen = set()
        for entry in listings[path]:
            if entry.name in (".", ".."):
                continue
            child = os.path.join(rel, entry.name) if rel else entry.name
            seen.add(child)
            if entry.kind == "-":
                if child not in local_sizes:
                    raise SshError(action, f"{remote_join(remote, child)} did not arrive", "Run again")
                if local_sizes[child] != entry.size:
                    raise SshError(action, f"{child}: {local_sizes[child]} bytes arrived, the instance lists {entry.size}",
                                   "The file may have changed during the copy; run again")
            elif entry.kind == "d":
                if child not in folders:
                    raise SshError(action, f"the folder {remote_join(remote, child)} did not arrive", "Run again")
            elif child in local_sizes:
                continue  # a link sftp followed: its size is the link's, not the file's
            else:
                skipped.append(remote_join(remote, child))
        extra = [f for f in files if os.path.dirname(f) == rel and f not in seen] + [
            d for d in folders if d and os.path.dirname(d) == rel and d not in seen]
        if extra:
            raise SshError(action, f"{extra[0]} arrived but the instance does not list it", "Run again")
    return skipped


def inventory(local_root: str, kind: str, files: list[str]) -> tuple[list[dict[str, t.Any]], int, str]:
    listed = []
    for rel in files:
        path = os.path.join(local_root, rel) if rel else local_root
        listed.append({"path": rel or os.path.basename(local_root), "size": os.path.getsize(path), "sha256": sha256_file(path)})
    total = sum(f["size"] for f in listed)
    if kind == "file":
        return listed, total, listed[0]["sha256"]
    manifest = "".join(f"{f['sha256']}  {f['path']}\n" for f in sorted(listed, key=lambda f: f["path"]))
    return listed, total, hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def make_private(local_root: str, kind: str, folders: list[str], files: list[str]) -> None:
    for rel in files:
        os.chmod(os.path.join(local_root, rel) if rel else local_root, 0o600)
    if kind == "directory":
        for rel in folders:
            os.chmod(os.path.join(local_root, rel) if rel else local_root, 0o700)


# ---------------------------------------------------------------------------------------------------------------------
# The copy
# ---------------------------------------------------------------------------------------------------------------------


class Session:
    """The pinned proxy of one run; every sftp call gets a fresh one-time code."""

    def __init__(self, module: AnsibleModule, cf: CfClient, target: dict[str, t.Any]) -> None:
        self.module, self.cf, self.target = module, cf, target
        params = module.params
        self.host, self.port = parse_endpoint(target["endpoint"])
        self.sftp = find_tool("sftp", params["sftp_cli"])
        keyscan = find_tool("ssh-keyscan", params["keyscan_cli"])
        expected = parse_fingerprint(target["fingerprint"])
        scan = run_tool([keyscan, "-T", "10", "-t", "ed25519,ecdsa,rsa", "-p", str(self.port), self.host],
                        action="read the SSH proxy's host key", timeout=30)
        self.keytype, key_b64 = pin_host_key(parse_keyscan(scan.stdout), expected, target["endpoint"])
        blob = next(b for kt, b64, b in parse_keyscan(scan.stdout) if b64 == key_b64)
        self.fingerprint = key_fingerprints(blob)["sha256"].display()
        self.workspace = SshWorkspace(self.host, self.port, self.keytype, key_b64)
        self.user = proxy_user(target["process_guid"], target["index"])
        self.connections = 0

    def sftp_batch(self, commands: list[str], action: str) -> str:
        code = parse_ssh_code(self.cf.run(["ssh-code"], action="get a one-time SSH code", secret_output=True).stdout)
        self.module.no_log_values.add(code)
        batch = self.workspace.batch(commands)
        argv = [self.sftp, *self.workspace.options(self.user), "-o", f"HostName={self.host}", "-P", str(self.port),
                "-b", batch, "cloud-gov-ssh-proxy"]
        self.connections += 1
        result = run_tool(argv, action=action, timeout=self.module.params["ssh_timeout"], env=self.workspace.environment(code))
        del code
        if result.rc != 0:
            raise self.failure(action, result.rc, result.stderr)
        return result.stdout

    def failure(self, action: str, rc: int, stderr: str) -> SshError:
        target = self.target
        production = self.module.params["production"]
        reason = ""
        if "Permission denied" in stderr:
            status = self.cf.curl(f"/v3/apps/{target['app_guid']}/ssh_enabled", action="read whether SSH works")
            if isinstance(status, dict) and not status.get("enabled"):
                reason = str(status.get("reason", ""))
        error = classify_ssh_failure(action, rc, stderr, endpoint=target["endpoint"],
                                     refused_hint=ssh_refused_hint(reason, target["app"], production, "scp_retrieve"))
        if reason and isinstance(error, SshPermissionDeniedError):
            error.cause = f"the SSH proxy refused the login: {reason}"
            error.args = (error.message,)
        return error

    def close(self) -> None:
        self.workspace.close()


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


def download(module: AnsibleModule, session: Session | None, plan: dict[str, t.Any], result: dict[str, t.Any]) -> None:
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


def upload(module: AnsibleModule, session: Session | None, plan: dict[str, t.Any], result: dict[str, t.Any]) -> None:
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
    session = Session(module, cf, target)
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
