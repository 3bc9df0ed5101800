# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The error of the production data copy, its restore and its wipe.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = ["CopyError"]


class CopyError(OpsError):
    """A step of the copy, restore or wipe that failed. ``str()``: "Failed to <verb> <object>: <cause>. <what to do>".

    ``events`` are the audit events of what was done before it failed (a window that closed, a copy that was wiped).
    """

    kind = "copy_error"
