# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_ssh_code: its cases are in test_cf_ssh_code.yaml."""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_ssh_code
from tests.support import uthelper

test_recorded = uthelper.cases(cf_ssh_code, __file__)
