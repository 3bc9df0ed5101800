# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The --full-matrix option of the reliability suite.

``make test`` runs a deterministic sample of the fault matrix and of the bad-input corpus; ``make reliability``
(``pytest tests/reliability --full-matrix``, or RELIABILITY_FULL_MATRIX=1 in the environment) runs every case. Each test
module builds its cases in ``pytest_generate_tests`` with :func:`tests.reliability.sampling.full_matrix`. The count of
cases that held is printed at the end by the root conftest (tests/conftest.py), from each case's ``reliability``
property.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full-matrix", action="store_true", default=False,
                     help="run every case of the fault matrix and of the bad-input corpus, not make test's sample")
