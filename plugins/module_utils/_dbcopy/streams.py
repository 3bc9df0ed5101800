# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pipes of the copy's background processes, read without blocking the run: :class:`Reader` keeps a pipe's
output in memory (bounded, wiped after use: the tunnel's holds the database password), :func:`pump` carries the
plaintext from ``pg_dump`` to ``age`` in memory only.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import contextlib
import threading
import time
import typing as t

__all__ = ["CHUNK", "Reader", "pump"]

CHUNK = 1 << 20


class Reader(threading.Thread):
    """Reads a pipe to the end into memory (bounded), line by line for the tunnel's stdout."""

    def __init__(self, stream: t.IO[bytes], limit: int = 1 << 16) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.data = bytearray()
        self.changed = threading.Condition()
        self.done = False

    def run(self) -> None:
        try:
            for line in iter(self.stream.readline, b""):
                with self.changed:
                    if len(self.data) < self.limit:
                        self.data.extend(line[: self.limit - len(self.data)])
                    self.changed.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self.changed:
                self.done = True
                self.changed.notify_all()

    def text(self) -> str:
        with self.changed:
            return bytes(self.data).decode("utf-8", "replace")

    def wait_for(self, marker: str, timeout: float, alive: t.Callable[[], bool]) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while marker not in bytes(self.data).decode("utf-8", "replace"):
                if self.done or time.monotonic() >= deadline or not alive():
                    return False
                self.changed.wait(0.2)
        return True

    def wipe(self) -> None:
        """Forget what was read (the tunnel's output holds the database password)."""
        with self.changed:
            for i in range(len(self.data)):
                self.data[i] = 0
            self.data.clear()


def pump(src: t.IO[bytes], dst: t.IO[bytes], counter: list[int], errors: list[str]) -> None:
    """Plaintext from pg_dump to age, in memory only."""
    try:
        while True:
            chunk = src.read1(CHUNK) if hasattr(src, "read1") else src.read(CHUNK)  # type: ignore[attr-defined]
            if not chunk:
                break
            dst.write(chunk)
            counter[0] += len(chunk)
    except (OSError, ValueError) as err:
        errors.append(str(err))
    finally:
        with contextlib.suppress(OSError, ValueError):
            dst.close()
