# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared test set-up: make the collection importable as ansible_collections.ttahub.ops."""

from __future__ import annotations

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".collections"
if not (COLLECTIONS / "ansible_collections" / "ttahub" / "ops").exists():
    raise RuntimeError(f"{COLLECTIONS}/ansible_collections/ttahub/ops is missing: run `make setup` first")
for path in (str(COLLECTIONS), str(REPO)):
    if path not in sys.path:
        sys.path.insert(0, path)
