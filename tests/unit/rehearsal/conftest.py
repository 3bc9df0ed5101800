# SPDX-License-Identifier: GPL-3.0-or-later
"""A harness that runs the real rehearsal/bin/cf against a private REHEARSAL_HOME and CF_HOME."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rehearsal import cfconfig, seed  # noqa: E402  pylint: disable=wrong-import-position
from rehearsal import world as world_mod  # noqa: E402  pylint: disable=wrong-import-position

CF = REPO / "rehearsal" / "bin" / "cf"
FIXTURES = REPO / "tests" / "fixtures" / "cf_v8"
REFERENCE = REPO.parent / "shared" / "reference" / "cf-cli.md"

EXAMPLE_USER = "user@example.gov"
EXAMPLE_PASSWORD = "example-password"


class Rehearsal:
    """One rehearsal cloud (REHEARSAL_HOME) and one cf session (CF_HOME) under a test's tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.home = tmp_path / "rehearsal"
        self.cf_home = tmp_path / "cf-home"
        self.env: dict[str, str] = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "CF_HOME": str(self.cf_home),
            "REHEARSAL_HOME": str(self.home),
            # REHEARSAL_TEST_PYTHON: run the emulator under another interpreter (e.g. the oldest supported, 3.11)
            "REHEARSAL_PYTHON": os.environ.get("REHEARSAL_TEST_PYTHON", sys.executable),
            "LANG": "en_US.UTF-8",
            "CF_COLOR": "false",
            "CF_TRACE": "false",
            "TZ": "UTC0",
        }

    def cf(self, *argv: str, env: dict[str, str] | None = None, stdin: str = "",
           timeout: float = 20) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(CF), *argv], env={**self.env, **(env or {})}, input=stdin, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def seed(self) -> str:
        """The ttahub world of ttadp.md; returns the service account's password."""
        seed.seed(self.home)
        return self.credentials()["CF_PASSWORD"]

    def credentials(self) -> dict[str, str]:
        lines = (self.home / "credentials.env").read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines if line)

    def build(self, populate: Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], None] | None = None) -> None:
        """The world of cf-cli.md's examples: org my-org, space dev, user user@example.gov (developer, manager)."""
        world = seed.empty_world()
        org = seed.add_org(world, "my-org")
        space = seed.add_space(world, org, "dev")
        user = seed.add_user(world, EXAMPLE_USER, password=EXAMPLE_PASSWORD)
        seed.add_role(world, user, "space_developer", space=space)
        seed.add_role(world, user, "space_manager", space=space)
        if populate is not None:
            populate(world, org, space)
        self.home.mkdir(parents=True, exist_ok=True)
        world_mod.write_json_atomic(world_mod.world_path(self.home), world)

    def login(self, username: str, org: str | None = None, space: str | None = None) -> None:
        cfconfig.issue_session(self.home, self.cf_home, username, org=org, space=space)

    def api_only(self) -> None:
        """A session with the API targeted and nobody logged in."""
        env = {"CF_HOME": str(self.cf_home)}
        cfg = cfconfig.load(env)
        cfconfig.set_target(cfg, world_mod.load(self.home))
        cfconfig.save(env, cfg)

    @contextlib.contextmanager
    def world(self) -> Iterator[dict[str, Any]]:
        with world_mod.transaction(self.home) as world:
            yield world

    def config(self) -> dict[str, Any]:
        return cfconfig.load({"CF_HOME": str(self.cf_home)})


@pytest.fixture
def rehearsal(tmp_path: Path) -> Rehearsal:
    return Rehearsal(tmp_path)


@pytest.fixture
def ttahub(rehearsal: Rehearsal) -> Rehearsal:
    """The seeded world with the CI service account logged in, targeting hhs-acf-ohs-tta / ttahub-prod."""
    rehearsal.seed()
    rehearsal.login("ttahub-rehearsal-deployer", org="hhs-acf-ohs-tta", space="ttahub-prod")
    return rehearsal
