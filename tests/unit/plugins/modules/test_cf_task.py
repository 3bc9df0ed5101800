# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_task: its cases are in test_cf_task.yaml."""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_task
from tests.support import uthelper

test_recorded = uthelper.cases(cf_task, __file__)
