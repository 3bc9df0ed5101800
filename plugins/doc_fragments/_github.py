# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the collection. It can have breaking changes at any time.

from __future__ import annotations


class ModuleDocFragment:
    # The common options of every module built on plugins/module_utils/_github.py (GITHUB_COMMON_ARGS).
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - The GitHub REST API base URL.
      - GitHub Enterprise Server uses C(https://HOST/api/v3); the rehearsal's GitHub emulator prints its own.
      - Playbooks set it from the inventory variable C(ops_github_api_url) through C(module_defaults) of the group
        C(ttahub.ops.github).
    type: str
    default: https://api.github.com
  repo:
    description:
      - The application repository, C(owner/name) (inventory variable C(ops_github_repo)).
    type: str
    required: true
  token:
    description:
      - The GitHub token. Leave it unset; it is read from the environment variable E(GITHUB_TOKEN), so that it never
        appears on a command line, in a playbook or in the inventory.
      - It is sent only in the C(Authorization) header and only to O(api_url).
    type: str
  api_timeout:
    description: Seconds each GitHub API request may take.
    type: int
    default: 30
notes:
  - Errors say what to do, for a rejected token (401), a missing permission (403), an exhausted rate limit (403 or
    429 with C(x-ratelimit-remaining) 0 or C(retry-after)), something not found (404), a refused merge (405, 409), a
    validation error (422), an outage (5xx) and an unreachable API.
  - Pagination follows GitHub's C(Link) header.
"""
