# SPDX-License-Identifier: GPL-3.0-or-later
"""cf's terminal conventions (cf-cli.md §1): OK, FAILED, errors on stderr, tables padded by 3, bytefmt sizes."""
from __future__ import annotations

import io
import sys
from typing import TextIO

PADDING = 3


class CfError(Exception):
    """A command error: the message goes to stderr, ``FAILED`` to stdout, exit 1 (ui.go ``DisplayError``)."""

    display_usage = False

    def __init__(self, message: str, rc: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.rc = rc


class UsageCfError(CfError):
    """An error that also shows the command's help: stderr message, ``FAILED``, blank line, help (exit 1)."""

    display_usage = True


class FlagError(Exception):
    """A go-flags parse error: stderr ``Incorrect Usage: MSG`` and a blank line, help on stdout, exit 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HelpRequested(Exception):
    """``-h``/``--help``: the command's help, exit 0."""


class Output:
    """Where a cf invocation writes. ``capture=True`` keeps everything in memory (used by the garbage fault)."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, capture: bool = False) -> None:
        self.capture = capture
        self.out: TextIO = io.StringIO() if capture else (out or sys.stdout)
        self.err: TextIO = io.StringIO() if capture else (err or sys.stderr)

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def text(self, line: str = "") -> None:
        self.write(line + "\n")

    def newline(self) -> None:
        self.write("\n")

    def ok(self) -> None:
        """``OK`` and the blank line the v8 releases this emulator follows print after it (cf-cli.md §1)."""
        self.write("OK\n\n")

    def warning(self, line: str) -> None:
        self.err.write(line + "\n")
        self.err.flush()

    def error(self, message: str) -> None:
        self.warning(message)
        self.write("FAILED\n")


def table(rows: list[list[str]], prefix: str = "", padding: int = PADDING) -> str:
    """A non-wrapping table (util/ui/table.go): each column but the last padded to its widest cell + PADDING.

    Rows with no cells are dropped (key/value tables use that for optional rows)."""
    rows = [r for r in rows if r]
    if not rows:
        return ""
    columns = max(len(r) for r in rows)
    widths = [max((len(r[c]) for r in rows if c < len(r)), default=0) + padding for c in range(columns)]
    lines = []
    for row in rows:
        cells = [cell + (" " * (widths[c] - len(cell)) if c + 1 < len(row) else "") for c, cell in enumerate(row)]
        lines.append(prefix + "".join(cells) + "\n")
    return "".join(lines)


def bytefmt(size: int | float) -> str:
    """code.cloudfoundry.org/bytefmt ByteSize: 1 decimal, ``.0`` trimmed, units T G M K B, 0 -> ``0``."""
    size = int(size)
    units = (("E", 1 << 60), ("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1))
    if size <= 0:
        return "0"
    for unit, value in units:
        if size >= value:
            text = f"{size / value:.1f}"
            if text.endswith(".0"):
                text = text[:-2]
            return text + unit
    return "0"
