# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The age identity of a data copy and where it lives: memory-backed storage (``/dev/shm``, tmpfs) where the OS has
it, with what the residual risk is (swap, or a disk when there is no tmpfs); made by ``age-keygen``, destroyed by
overwriting and removing it (the cryptographic erase).

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import contextlib
import os
import re
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.tools import run

__all__ = ["destroy_identity", "key_store", "memory_backed", "new_identity"]


def _mount_of(path: str) -> tuple[str, str]:
    """(mount point, filesystem type) of ``path`` from /proc/self/mounts; ('', '') when unknown."""
    best = ("", "")
    real = os.path.realpath(path)
    try:
        with open("/proc/self/mounts", encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mount = parts[1].replace("\\040", " ")
                if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best[0]):
                    best = (mount, parts[2])
    except OSError:
        pass
    return best


def _active_swap() -> int:
    try:
        with open("/proc/swaps", encoding="utf-8") as handle:
            return max(0, len([line for line in handle if line.strip()]) - 1)
    except OSError:
        return 0


def memory_backed(path: str) -> bool:
    return _mount_of(path)[1] in ("tmpfs", "ramfs")


def key_store(base: str | None = None, fallback: str | None = None) -> dict[str, t.Any]:
    """Where the copy's age identity lives: ``base`` when given, else ``/dev/shm`` or ``$XDG_RUNTIME_DIR`` when they are
    memory-backed (tmpfs), else ``fallback`` on disk. ``note`` says plainly what the residual risk is."""
    candidates = [base] if base else ["/dev/shm", os.environ.get("XDG_RUNTIME_DIR") or ""]
    chosen = None
    for candidate in candidates:
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            if base or memory_backed(candidate):
                chosen = candidate
                break
    if chosen is None:
        chosen = fallback or os.path.join(os.path.expanduser("~"), ".local", "state", "ttahub-ops", "keys")
    folder = os.path.join(chosen, f"ttahub-ops-keys-{os.getuid()}")
    in_memory = memory_backed(chosen)
    swaps = _active_swap()
    if in_memory and swaps == 0:
        note = (f"The age identity is in memory-backed storage ({_mount_of(chosen)[1]} at {chosen}) and no swap is active: "
                "it never reaches a disk; deleting it is a cryptographic erase.")
    elif in_memory:
        note = (f"The age identity is in memory-backed storage ({chosen}), but {swaps} swap area(s) are active: under "
                "memory pressure its page could be written to swap. Residual risk: unless swap is encrypted, the key "
                "may survive on the swap device after the wipe.")
    else:
        note = (f"This system has no memory-backed storage for the age identity: it is written to {folder} on a disk. "
                "Residual risk: deleting a file on an SSD cannot be proven (anchors.md §3.4); the ciphertext's key may "
                "survive there after the wipe. Prefer a Linux controller with /dev/shm, or use full-disk encryption.")
    return {"dir": folder, "base": chosen, "memory_backed": in_memory, "swap_areas": swaps, "note": note}


def new_identity(age_keygen: str, path: str) -> str:
    """Make an X25519 age identity at ``path`` (0600, created exclusively) and return its recipient (public key)."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    os.chmod(os.path.dirname(path), 0o700)
    proc = run([age_keygen], action="make the copy's age identity", secret_output=True, timeout=30)
    text = proc.stdout.decode("ascii", "replace")
    match = re.search(r"^# public key: (age1[0-9a-z]+)$", text, re.M)
    if not match or "AGE-SECRET-KEY-" not in text:
        raise CopyError("make the copy's age identity", "age-keygen printed no key", "Check the age installation", kind="tool_failed")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    return match.group(1)


def destroy_identity(path: str) -> bool:
    """Overwrite the identity file with random bytes, then remove it. Returns whether it existed."""
    if not os.path.lexists(path):
        return False
    with contextlib.suppress(OSError):
        size = os.path.getsize(path)
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, os.urandom(max(size, 128)))
            os.fsync(fd)
        finally:
            os.close(fd)
    os.unlink(path)
    return True
