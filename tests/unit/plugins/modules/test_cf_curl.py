# SPDX-License-Identifier: GPL-3.0-or-later
"""cf_curl: its cases are in test_cf_curl.yaml."""

from __future__ import annotations

from ansible_collections.ttahub.ops.plugins.modules import cf_curl
from tests.support import uthelper

test_recorded = uthelper.cases(cf_curl, __file__)
