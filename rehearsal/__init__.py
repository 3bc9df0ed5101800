# SPDX-License-Identifier: GPL-3.0-or-later
"""The rehearsal cloud: a stand-in for cloud.gov that the SOPs can run against end to end.

The cf emulator (``rehearsal.cf``, run through ``rehearsal/bin/cf``) uses the standard library only, so it runs
under any python3 >= 3.11. Its world lives under ``REHEARSAL_HOME`` (see ``rehearsal.world``).
"""
from __future__ import annotations

# The rehearsal Cloud Controller. Never the real one (https://api.fr.cloud.gov).
API_URL = "https://api.rehearsal.cloud.gov.invalid"
DOMAIN = "rehearsal.cloud.gov.invalid"
API_VERSION = "3.180.0"
V2_API_VERSION = "2.245.0"
# The version `cf version` reports (cf-cli.md §1).
CLI_VERSION = "8.7.10+5b7ce3c.2024-04-04"

ORG_NAME = "hhs-acf-ohs-tta"
DEPLOYER = "ttahub-rehearsal-deployer"
OPERATOR = "operator@rehearsal.gov"
