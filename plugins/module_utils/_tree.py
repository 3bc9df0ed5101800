# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The local tree of an instance copy: walking it, checking it against the instance's sftp listing, its inventory
(sizes, SHA-256, the manifest digest of a folder) and its private modes.

PRIVATE to the collection. It can have breaking changes at any time.

* A copy holds regular files and folders only: :func:`walk` refuses links, special files and names with line breaks
  (locally, never followed).
* :func:`compare` checks every file's size and every folder against the ``ls -lan`` listings of
  :func:`listing_commands`; what the instance lists but sftp does not copy (links, sockets) is returned, not copied.
* A downloaded copy becomes private: files 0600, folders 0700 (:func:`make_private`, :func:`make_private_dirs`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfOutputError, CfUsageError
from ansible_collections.ttahub.ops.plugins.module_utils._ssh import SshError, parse_sftp_listing, sftp_quote

__all__ = [
    "compare",
    "inventory",
    "listing_commands",
    "make_private",
    "make_private_dirs",
    "remote_join",
    "sha256_file",
    "walk",
]


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
