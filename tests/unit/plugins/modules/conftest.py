# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from tests.support.fake_cf import FakeCf


@pytest.fixture
def fake(tmp_path, monkeypatch):
    return FakeCf(tmp_path, monkeypatch)


@pytest.fixture
def cf_args(fake, tmp_path):
    home = tmp_path / "session"
    home.mkdir()
    return {"cf_cli": str(fake.path), "cf_home": str(home)}
