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


def pytest_terminal_summary(terminalreporter):
    """tests/reliability: how many cases of the fault matrix and of the bad-input corpus held (each case carries a
    ``reliability`` property, ``matrix:<case>`` or ``corpus:<case>``)."""
    counts: dict[str, list[int]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "reliability":
                    suite = str(value).split(":", 1)[0]
                    held = counts.setdefault(suite, [0, 0])
                    held[0] += 1
                    held[1] += int(report.passed)
    for suite in ("matrix", "corpus"):
        if suite in counts:
            terminalreporter.write_line(f"{suite}: {counts[suite][0]} cases, {counts[suite][1]} held")
