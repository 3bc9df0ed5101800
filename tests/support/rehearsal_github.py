# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rehearsal's GitHub (rehearsal/github_api.py) for tests: one server per test module, a fresh repository per test,
the personas' roster and the shipped policies."""

from __future__ import annotations

import pathlib
import sys
import typing as t

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rehearsal import github_api, personas  # noqa: E402  pylint: disable=wrong-import-position

PAULA, GIDEON, VERA, MILO = (str(p["github"]) for p in personas.PERSONAS)
OUTSIDER, CI = github_api.OUTSIDER, github_api.CI_LOGIN
POLICIES = yaml.safe_load((REPO / "inventories/production/group_vars/all/policies.yml").read_text())["ops_approval_policies"]


class GitHub:
    """A running rehearsal GitHub and the roster of the rehearsal personas (with their real SSH public keys)."""

    def __init__(self, home: pathlib.Path) -> None:
        self.home = home
        self.roster: list[dict[str, t.Any]] = [
            {k: p[k] for k in ("id", "name", "roles", "github", "email", "ssh_public_key")} for p in personas.ensure(home)
        ]
        self.url = github_api.start(home)

    def reset(self) -> None:
        github_api.seed(self.home)

    def token(self, login: str) -> str:
        return github_api.issue_token(self.home, login)

    def args(self, login: str, **more: t.Any) -> dict[str, t.Any]:
        """Module arguments: the API, the repository, the token of LOGIN."""
        return {"api_url": self.url, "repo": github_api.REPO, "token": self.token(login), **more}

    def gate_args(self, login: str, mode: str = "deploy", **more: t.Any) -> dict[str, t.Any]:
        return self.args(login, **{"mode": mode, "roster": self.roster, "vacant_roles": [], "policies": POLICIES,
                                   "wait_mergeable": 0, **more})

    def roster_without(self, *ids: str) -> list[dict[str, t.Any]]:
        return [p for p in self.roster if p["id"] not in ids]

    def state(self) -> dict[str, t.Any]:
        return github_api.load(self.home)

    def repo(self) -> dict[str, t.Any]:
        return self.state()["repos"][github_api.REPO]

    def pull(self, number: int) -> dict[str, t.Any]:
        return self.repo()["pulls"][str(number)]

    def head(self, branch: str = "main") -> str:
        return github_api.branch_sha(self.home, branch)

    def requests(self) -> list[dict[str, t.Any]]:
        return github_api.requests(self.home)


def github_fixture(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[GitHub]:
    home = tmp_path_factory.mktemp("github")
    server = GitHub(home)
    try:
        yield server
    finally:
        github_api.stop(home)
