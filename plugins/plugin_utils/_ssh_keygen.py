# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""Controller-side ``ssh-keygen -Y verify`` for signed approvals.

PRIVATE to the collection. It can have breaking changes at any time.

The allowed-signers list is built from the roster and written to a private temporary file (mode 0600 in
a 0700 folder) that exists only while signatures are verified.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import typing as t
from pathlib import Path
from ansible_collections.ttahub.ops.plugins.module_utils import _proc
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = ["SshKeygen", "SshKeygenError", "allowed_signers_file"]


class SshKeygenError(OpsError):
    """ssh-keygen is missing or misbehaves (not: a signature does not verify)."""

    kind = "ssh_keygen_failed"


@contextlib.contextmanager
def allowed_signers_file(text: str) -> t.Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ttahub-ops-signers-"))
    try:
        path = folder / "allowed_signers"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class SshKeygen:
    def __init__(self, binary: str | None = None, *, timeout: float = 10.0) -> None:
        found = binary or _proc.find_tool("ssh-keygen")
        if not found:
            raise SshKeygenError("find ssh-keygen", "it is not on the controller's PATH",
                                 "Install OpenSSH 8.2 or newer (package openssh-client)", kind="ssh_keygen_missing")
        self.binary = found
        self.timeout = timeout

    def _run(self, args: list[str], data: bytes) -> _proc.Completed:
        try:
            return _proc.run([self.binary, *args], input=data, timeout=self.timeout, env={**os.environ, "LC_ALL": "C"}, cwd=None)
        except _proc.TimedOut:
            raise SshKeygenError(f"run {self.binary} {args[0]} {args[1]}", f"it did not finish within {self.timeout:g} s",
                                 "Check the controller's load and run again") from None
        except OSError as exc:
            raise SshKeygenError(f"run {self.binary}", str(exc), "Check the OpenSSH installation") from None

    def verify(self, *, allowed_signers: Path, principal: str, namespace: str, signature: Path, data: bytes) -> tuple[bool, str]:
        """True when ``signature`` over ``data`` was made by ``principal``'s key in ``allowed_signers``."""
        proc = self._run(
            ["-Y", "verify", "-f", str(allowed_signers), "-I", principal, "-n", namespace, "-s", str(signature)], data
        )
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip()
        if proc.rc == 0 and output.startswith(f'Good "{namespace}" signature for {principal} '):
            return True, output
        return False, output
