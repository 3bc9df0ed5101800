# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which cases of the reliability suite run: all of them with --full-matrix (make reliability), a deterministic sample
otherwise (make test), and the ``reliability`` property that the root conftest counts."""

from __future__ import annotations

import math
import os
import typing as t

import pytest

T = t.TypeVar("T")


def full_matrix(config: pytest.Config) -> bool:
    try:
        option = bool(config.getoption("--full-matrix"))
    except ValueError:  # the option exists only when tests/reliability/conftest.py was loaded at start-up
        option = False
    return option or os.environ.get("RELIABILITY_FULL_MATRIX") == "1"


def spread(items: t.Sequence[T], offset: int, keep: int) -> list[T]:
    """About ``keep`` of ``items``, evenly spread, starting at ``offset`` (so that several inputs that take the same
    list of values get different ones, and every value is used by one of them)."""
    if keep >= len(items):
        return list(items)
    stride = math.ceil(len(items) / keep)
    return [item for index, item in enumerate(items) if index % stride == offset % stride]


def record(request: pytest.FixtureRequest, suite: str, case: str) -> None:
    """Mark the running test as one case of ``suite`` (matrix or corpus) for the count printed at the end."""
    request.node.user_properties.append(("reliability", f"{suite}:{case}"))
