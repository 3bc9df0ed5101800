# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_space_ssh: its cases are in test_cf_space_ssh.yaml."""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_space_ssh
from tests.support import uthelper

test_recorded = uthelper.cases(cf_space_ssh, __file__)
