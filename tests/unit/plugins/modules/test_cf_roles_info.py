# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_roles_info: its cases are in test_cf_roles_info.yaml."""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_roles_info
from tests.support import uthelper

test_recorded = uthelper.cases(cf_roles_info, __file__)
