# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_app_info: its cases are in test_cf_app_info.yaml."""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_app_info
from tests.support import uthelper

test_recorded = uthelper.cases(cf_app_info, __file__)
