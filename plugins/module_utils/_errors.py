# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one error type of the collection, and the one place its wording is built.

Every domain error (cf, GitHub, the SSH window, the data copy, the approval gate, the audit log, the reports, the
counts audit, the access review) subclasses :class:`OpsError`; the module edge (``_module.run_module``) and the action
plugins turn it into one ``fail_json``/failed result: ``msg`` is :attr:`OpsError.message`, the rest is
:meth:`OpsError.details`.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import re
import typing as t

__all__ = ["OpsError", "one_line", "shown"]


def one_line(text: t.Any, longest: int = 300) -> str:
    """Text as an error message shows it: one line, control and invisible characters escaped (a newline, NUL, an
    escape sequence or a right-to-left override in a name cannot rewrite the message), any word longer than
    ``longest`` characters cut."""
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))
    return re.sub(r"\S{%d,}" % (longest + 1), lambda m: f"{m.group(0)[:120]}...({len(m.group(0))} characters)", text)


def shown(value: t.Any, limit: int = 60) -> str:
    """A value as an error names it: quoted, non-ASCII escaped (a look-alike letter shows as \\u043e), cut."""
    text = str(value)
    return ascii(text[:limit]) + (f"...({len(text)} characters)" if len(text) > limit else "")


def _clause(text: t.Any) -> str:
    return one_line(text).strip().rstrip(". ")


class OpsError(Exception):
    """An operation that cannot go on: "Failed to <action>: <cause>. <fix>."

    ``kind`` is a stable code (modules return it as ``error_kind``, the audit log records it); a subclass sets its own
    default. ``events`` are audit events of what happened before the failure (a window that was closed, a copy that
    was wiped), which the module returns so that the callback records them. Keyword ``details`` that are not None are
    returned beside ``msg`` (``cmd``, ``rc``, ``stdout``, ``status``...); they must already be free of secrets.
    """

    kind = "ops_error"

    def __init__(
        self,
        action: str,
        cause: str,
        fix: str = "",
        *,
        kind: str | None = None,
        events: t.Iterable[dict[str, t.Any]] | None = None,
        **details: t.Any,
    ) -> None:
        self.action = _clause(action)
        self.cause = _clause(cause)
        self.fix = _clause(fix)
        if kind:
            self.kind = kind
        self.events = list(events or [])
        self.extra = {key: value for key, value in details.items() if value is not None}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"Failed to {self.action}: {self.cause}." if self.action else f"{self.cause}."
        return f"{text} {self.fix}." if self.fix else text

    def __str__(self) -> str:
        return self.message

    def details(self) -> dict[str, t.Any]:
        """What a module returns beside ``msg``."""
        return {"error_kind": self.kind, **self.extra}
