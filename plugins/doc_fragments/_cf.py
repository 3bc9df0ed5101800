# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the collection. It can have breaking changes at any time.

from __future__ import annotations


class ModuleDocFragment:
    # The common options of every module built on plugins/module_utils/_cf/ (CF_COMMON_ARGS, in client.py).
    DOCUMENTATION = r"""
options:
  cf_cli:
    description:
      - Path of the C(cf) executable (cf CLI v8).
      - When not set, C(cf) is searched on E(PATH).
      - Playbooks set it from the inventory variable C(ops_cf_cli) through C(module_defaults) of the group C(ttahub.ops.cf).
    type: path
  cf_home:
    description:
      - The per-run C(CF_HOME) returned by M(ttahub.ops.cf_session).
      - Every call runs with this C(CF_HOME), so the operator's own cf target never changes.
    type: path
    required: true
  cf_timeout:
    description:
      - Seconds each C(cf) call may take; a call still running then is stopped with its children and the task fails.
      - When the task does not set it, E(TTAHUB_OPS_CF_TIMEOUT) replaces the default.
    type: int
    default: 120
notes:
  - Every C(cf) call runs with an argv list (never a shell), with E(LANG) and E(LC_ALL) set to C(en_US.UTF-8),
    E(CF_COLOR=false) and E(CF_TRACE=false), so that its output can be parsed.
  - Secrets (passwords, tokens, one-time SSH codes) are passed only through the environment or stdin and are never
    returned or logged.
requirements:
  - cf CLI v8 on the controller
"""
