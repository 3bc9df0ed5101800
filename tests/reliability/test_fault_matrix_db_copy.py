# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault matrix of the production data copy (prod_db_copy): every cf call failing, hanging and printing garbage,
pg_dump and age failing, the tunnel dying mid-dump, SIGINT, SIGTERM and SIGKILL of ansible-playbook and of
ansible-runner at each phase, against the rehearsal with a real PostgreSQL holding a plaintext marker. After each case
the invariants of tests/reliability/invariants.py hold (tests/reliability/matrix.py)."""

from __future__ import annotations

import pytest

from tests.reliability.matrix import Cloud, assert_case, cases
from tests.reliability.sampling import full_matrix, record

PROCEDURES = ("prod_db_copy",)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of forkpty:DeprecationWarning"),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        found = [c for p in PROCEDURES for c in cases(p, full_matrix(metafunc.config))]
        metafunc.parametrize("case", found, ids=[c.id for c in found])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    rehearsal = Cloud(tmp_path_factory.mktemp("matrix-db-copy"), postgres=True)
    yield rehearsal
    rehearsal.close()


def test_invariants_hold(cloud, case, tmp_path, request):
    record(request, "matrix", case.id)
    assert_case(cloud, case, tmp_path)
