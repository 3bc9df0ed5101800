# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The cf CLI client of ttahub.ops, as a package (community.crypto's ``_acme/`` is the model).

PRIVATE to the collection. It can have breaking changes at any time.

- :mod:`.client`: :class:`CfClient` (every cf call), ``cf curl`` and its pagination, JMESPath, the common cf options.
- :mod:`.failures`: the :class:`CfError` classes and the classification of cf's failures.
- :mod:`.parsers`: the parsers of cf v8 output.
- :mod:`.names`: the names and API paths allowed on cf's command line.
- :mod:`.session`: the per-run CF_HOME.

Import from the submodules (``from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient``).
"""

from __future__ import annotations

# The names below are re-exported for one file only, which still reads them as ``_cf.<name>`` and is not to be edited
# beyond its imports while it is being reworked in parallel: _ssh_window.py (its hold/release calls go with the
# session's rewrite). Nothing else may use them; they go once that file imports from the submodules.
from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import DEFAULT_TIMEOUT, CfClient
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfError
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_space_ssh_allowed, parse_space_ssh_toggle
from ansible_collections.ttahub.ops.plugins.module_utils._cf.session import hold_session, release_session, remove_cf_home

__all__ = [
    "DEFAULT_TIMEOUT",
    "CfClient",
    "CfError",
    "hold_session",
    "parse_space_ssh_allowed",
    "parse_space_ssh_toggle",
    "release_session",
    "remove_cf_home",
]
