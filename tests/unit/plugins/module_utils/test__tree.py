# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The local tree of an instance copy, on real temporary trees: the walk (links and special files refused), private
modes, the inventory and its manifest digest, and the check against the instance's sftp listing."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _tree
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfOutputError, CfUsageError
from ansible_collections.ttahub.ops.plugins.module_utils._ssh import SshError

REMOTE = "/home/vcap/app/logs"


def tree(root: pathlib.Path) -> pathlib.Path:
    """logs/{web.log, a b.txt, old/{1.gz, empty/}}"""
    (root / "old" / "empty").mkdir(parents=True)
    (root / "web.log").write_text("hello\n")
    (root / "a b.txt").write_text("x" * 10)
    (root / "old" / "1.gz").write_bytes(b"\x1f\x8b" + b"\0" * 30)
    return root


def mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def line(kind: str, size: int, path: str) -> str:
    """One line of `sftp -b` output for ``ls -lan`` (the shape of the recorded listings in test__ssh.py)."""
    perms = {"-": "-rw-r--r--", "d": "drwxr-xr-x", "l": "lrwxrwxrwx", "s": "srwxr-xr-x"}[kind]
    return f"{perms}    ? 0        0        {size:8d} Nov 28 01:21 {path}"


def listing(root: pathlib.Path, changes: dict[str, tuple[str, int] | None] | None = None) -> str:
    """What the instance would list for the local tree ROOT copied to REMOTE; CHANGES (relative path -> (kind, size),
    or None to leave it out) make it differ."""
    changes = changes or {}
    out = []
    for current, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(current, root)
        rel = "" if rel == "." else rel
        base = REMOTE if not rel else f"{REMOTE}/{rel}"
        out.append(f'sftp> ls -lan "{base}"')
        out.append(line("d", 4096, f"{base}/."))
        out.append(line("d", 4096, f"{base}/.."))
        entries = {os.path.join(rel, n) if rel else n: ("d", 4096) for n in dirnames}
        entries.update({os.path.join(rel, n) if rel else n: ("-", os.path.getsize(os.path.join(current, n)))
                        for n in filenames})
        entries.update({k: v for k, v in changes.items() if os.path.dirname(k) == rel})
        for child, entry in sorted(entries.items()):
            if entry is not None:
                out.append(line(entry[0], entry[1], f"{REMOTE}/{child}"))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------------------------------------------------


def test_a_folder_is_walked_sorted_and_relative(tmp_path):
    root = tree(tmp_path / "logs")
    assert _tree.walk(str(root)) == ("directory", ["", "old", "old/empty"], ["a b.txt", "web.log", "old/1.gz"])


def test_a_file_is_its_own_tree(tmp_path):
    (tmp_path / "web.log").write_text("hello\n")
    assert _tree.walk(str(tmp_path / "web.log")) == ("file", [], [""])


@pytest.mark.parametrize("target", ["web.log", "old", "/etc/passwd", "missing"])
def test_links_inside_are_refused_never_followed(tmp_path, target):
    root = tree(tmp_path / "logs")
    (root / "old" / "link").symlink_to(target)
    with pytest.raises(SshError) as raised:
        _tree.walk(str(root))
    assert "old/link is a link or a special file" in raised.value.message
    assert "Copy regular files and folders only" in raised.value.message


def test_a_link_as_the_root_is_refused(tmp_path):
    tree(tmp_path / "logs")
    (tmp_path / "alias").symlink_to(tmp_path / "logs")
    with pytest.raises(SshError, match="is neither a file nor a folder"):
        _tree.walk(str(tmp_path / "alias"))


def test_special_files_are_refused(tmp_path):
    root = tree(tmp_path / "logs")
    os.mkfifo(root / "old" / "pipe")
    with pytest.raises(SshError, match="old/pipe is a link or a special file"):
        _tree.walk(str(root))
    with pytest.raises(SshError, match="is neither a file nor a folder"):
        _tree.walk(str(root / "old" / "pipe"))


def test_a_name_with_a_line_break_is_refused(tmp_path):
    root = tree(tmp_path / "logs")
    (root / "old" / "two\nlines").write_text("x")
    with pytest.raises(SshError, match=r"a name in old contains a line break"):
        _tree.walk(str(root))


# ---------------------------------------------------------------------------------------------------------------------
# Private modes
# ---------------------------------------------------------------------------------------------------------------------


def test_missing_folders_are_created_private_and_reported(tmp_path):
    (tmp_path / "have").mkdir(mode=0o755)
    dest = tmp_path / "have" / "a" / "b"
    created = _tree.make_private_dirs(str(dest))
    assert created == [str(tmp_path / "have" / "a"), str(dest)]
    assert mode(tmp_path / "have" / "a") == 0o700 and mode(dest) == 0o700
    assert mode(tmp_path / "have") == 0o755  # an existing folder is left as it is
    assert _tree.make_private_dirs(str(dest)) == []


def test_a_file_in_the_way_of_the_destination_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CfUsageError, match="exists and is not a folder"):
        _tree.make_private_dirs(str(tmp_path / "file" / "sub"))
    assert not (tmp_path / "file" / "sub").exists()


def test_a_copy_becomes_private(tmp_path):
    root = tree(tmp_path / "logs")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    kind, folders, files = _tree.walk(str(root))
    _tree.make_private(str(root), kind, folders, files)
    assert {p.relative_to(root).as_posix(): mode(p) for p in root.rglob("*")} == {
        "web.log": 0o600, "a b.txt": 0o600, "old": 0o700, "old/1.gz": 0o600, "old/empty": 0o700}
    assert mode(root) == 0o700


def test_a_single_file_copy_becomes_private(tmp_path):
    (tmp_path / "web.log").write_text("hello\n")
    (tmp_path / "web.log").chmod(0o644)
    _tree.make_private(str(tmp_path / "web.log"), "file", [], [""])
    assert mode(tmp_path / "web.log") == 0o600


# ---------------------------------------------------------------------------------------------------------------------
# The inventory
# ---------------------------------------------------------------------------------------------------------------------


def test_a_file_inventory_is_its_size_and_sha256(tmp_path):
    path = tmp_path / "web.log"
    path.write_bytes(os.urandom(3 * (1 << 20) + 5))  # over the read chunk
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert _tree.sha256_file(str(path)) == expected
    listed, total, digest = _tree.inventory(str(path), "file", [""])
    assert listed == [{"path": "web.log", "size": 3 * (1 << 20) + 5, "sha256": expected}]
    assert (total, digest) == (3 * (1 << 20) + 5, expected)


@pytest.mark.skipif(not shutil.which("sha256sum"), reason="needs coreutils' sha256sum")
def test_a_folder_digest_is_that_of_its_sha256sum_manifest(tmp_path):
    root = tree(tmp_path / "logs")
    kind, _folders, files = _tree.walk(str(root))
    listed, total, digest = _tree.inventory(str(root), kind, files)
    assert [f["path"] for f in listed] == files and total == 6 + 10 + 32
    lines = subprocess.run(["sha256sum", "--", *files], cwd=root, capture_output=True, text=True, check=True).stdout
    manifest = "".join(sorted(lines.splitlines(keepends=True), key=lambda entry: entry.split("  ", 1)[1]))
    assert digest == hashlib.sha256(manifest.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------------------------
# The check against the instance's listing
# ---------------------------------------------------------------------------------------------------------------------


def test_listing_commands_quote_every_folder():
    assert _tree.listing_commands("/a/web.log", "file", []) == ['ls -lan "/a/web.log"']
    assert _tree.listing_commands("/a/q\"d/", "directory", ["", "s p"]) == ['ls -lan "/a/q\\"d/"', 'ls -lan "/a/q\\"d/s p"']
    assert _tree.remote_join("/a/", "") == "/a/" and _tree.remote_join("/a/", "b/c") == "/a/b/c"


def test_a_listing_that_matches_passes_and_names_what_was_not_copied(tmp_path):
    root = tree(tmp_path / "logs")
    kind, folders, files = _tree.walk(str(root))
    out = listing(root, {"old/sock": ("s", 0), "old/current": ("l", 7)})
    assert _tree.compare(str(root), REMOTE, kind, folders, files, out, "check") == [f"{REMOTE}/old/current", f"{REMOTE}/old/sock"]
    assert _tree.compare(str(root), REMOTE, kind, folders, files, listing(root), "check") == []


def test_a_link_sftp_followed_is_a_file_not_a_skipped_entry(tmp_path):
    root = tree(tmp_path / "logs")
    kind, folders, files = _tree.walk(str(root))
    # sftp copied the link's target as web.log; the instance lists the link, with the link's own size.
    out = listing(root, {"web.log": None}).replace(line("-", 10, f"{REMOTE}/a b.txt"),
                                              line("-", 10, f"{REMOTE}/a b.txt") + "\n" + line("l", 3, f"{REMOTE}/web.log"))
    assert _tree.compare(str(root), REMOTE, kind, folders, files, out, "check") == []


@pytest.mark.parametrize(("changes", "error", "words"), [
    ({"web.log": ("-", 7)}, SshError, "web.log: 6 bytes arrived, the instance lists 7"),
    ({"old/2.gz": ("-", 1)}, SshError, f"{REMOTE}/old/2.gz did not arrive"),
    ({"old/new": ("d", 4096)}, SshError, f"the folder {REMOTE}/old/new did not arrive"),
    ({"a b.txt": None}, SshError, "a b.txt arrived but the instance does not list it"),
    ({"old/empty": None}, SshError, "old/empty arrived but the instance does not list it"),
])
def test_a_listing_that_differs_is_refused(tmp_path, changes, error, words):
    root = tree(tmp_path / "logs")
    kind, folders, files = _tree.walk(str(root))
    out = listing(root, changes)
    with pytest.raises(error) as raised:
        _tree.compare(str(root), REMOTE, kind, folders, files, out, "copy logs")
    assert raised.value.message.startswith("Failed to copy logs: ") and words in raised.value.message


def test_a_folder_the_instance_did_not_list_is_an_output_error(tmp_path):
    root = tree(tmp_path / "logs")
    kind, folders, files = _tree.walk(str(root))
    out = listing(root).split(f'sftp> ls -lan "{REMOTE}/old/empty"')[0]
    with pytest.raises(CfOutputError, match=f"the instance did not list the folder {REMOTE}/old/empty"):
        _tree.compare(str(root), REMOTE, kind, folders, files, out, "check")


def test_a_single_file_is_checked_by_its_size(tmp_path):
    (tmp_path / "web.log").write_text("hello\n")
    local, remote = str(tmp_path / "web.log"), "/home/vcap/app/web.log"
    listed = f'sftp> ls -lan "{remote}"\n{line("-", 6, remote)}\n'
    assert _tree.compare(local, remote, "file", [], [""], listed, "check") == []
    with pytest.raises(SshError, match="6 bytes arrived, the instance lists 9"):
        _tree.compare(local, remote, "file", [], [""], listed.replace("       6 Nov", "       9 Nov"), "check")
    with pytest.raises(CfOutputError, match=f"the instance did not list {remote} as one file"):
        _tree.compare(local, remote, "file", [], [""], f'sftp> ls -lan "{remote}"\n', "check")
