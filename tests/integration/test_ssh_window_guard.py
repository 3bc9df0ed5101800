# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The space SSH window and the guard through the playbooks on the rehearsal: SSH found allowed with no window of
ours is left untouched by the copy and escalated, then the guard (cron/CI) disallows it and escalates too."""

from __future__ import annotations

import pytest

from rehearsal import world as world_mod
from tests.support.prod_db_copy import SPACE, CopyRehearsal, events

pytestmark = pytest.mark.slow
ESCALATION = "Contact the Product Owner (Paula Oduya, paula.oduya@rehearsal.invalid) and the Government Technical Monitor (Gideon Tamm"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    return CopyRehearsal(tmp_path_factory.mktemp("ssh-window"), database=False)


def test_ssh_allowed_outside_a_window_is_left_alone_by_the_copy_then_closed_by_the_guard(rehearsal, tmp_path):
    r = rehearsal
    r.reset()
    world_mod.set_space_ssh(r.home, SPACE, True)  # someone allowed it by hand

    copy = r.copy(tmp_path)
    assert copy.returncode != 0 and ESCALATION in copy.stdout
    assert "SSH is already allowed in the space and no live window of ttahub.ops covers it" in copy.stdout
    assert r.space_ssh_allowed(), "the copy does not touch what it did not open"
    assert [e["event"] for e in events(tmp_path, "ssh_window_suspicious")] == ["ssh_window_suspicious"]
    assert not events(tmp_path, "ssh_window_opened") and r.service_keys() == []

    guard = r.run("ssh_guard", tmp_path)
    assert guard.returncode != 0 and ESCALATION in guard.stdout
    assert "with no live ttahub.ops window covering it; the guard disallowed it at" in guard.stdout
    assert not r.space_ssh_allowed()
    disallowed = events(tmp_path, "ssh_guard_disallowed")
    assert len(disallowed) == 1 and disallowed[0]["ssh_allowed_after"] is False

    again = r.run("ssh_guard", tmp_path)
    assert again.returncode == 0, again.stdout[-2000:]
    assert [e["allowed"] for e in events(tmp_path, "ssh_guard_checked")] == [True, False]
