# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's documentation as the Ansible docsite would build it, and its changelog fragments.

`antsibull-docs lint-collection-docs --plugin-docs` runs on the collection as it ships (built with
`ansible-galaxy collection build`, so build_ignore applies, then installed), like scripts/sanity.sh does: every
module's, plugin's and role's documentation must render, with valid markup and references that resolve.
`antsibull-changelog lint` checks the fragments in changelogs/fragments/.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.playbooks import REPO, VENV_BIN

pytestmark = pytest.mark.slow


def run(*argv, cwd=REPO):
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_the_collection_docs_lint_clean(tmp_path):
    built = run(VENV_BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", tmp_path, REPO)
    assert built.returncode == 0, built.stderr
    (tarball,) = tmp_path.glob("ttahub-ops-*.tar.gz")
    installed = run(VENV_BIN / "ansible-galaxy", "collection", "install", "--force", "-p", tmp_path / "c", tarball)
    assert installed.returncode == 0, installed.stderr
    lint = run(VENV_BIN / "antsibull-docs", "lint-collection-docs", "--plugin-docs",
               tmp_path / "c" / "ansible_collections" / "ttahub" / "ops")
    assert lint.returncode == 0 and lint.stdout.strip() == "", (lint.stdout + lint.stderr).replace(str(tmp_path), "")


def test_the_changelog_fragments_and_metadata_lint_clean():
    fragments = sorted(p.name for p in (REPO / "changelogs" / "fragments").glob("*.yml"))
    assert fragments, "changelogs/fragments/ holds no fragment"
    lint = run(VENV_BIN / "antsibull-changelog", "lint")
    assert lint.returncode == 0 and lint.stdout.strip() == "", lint.stdout + lint.stderr
    meta = run(VENV_BIN / "antsibull-changelog", "lint-changelog-yaml", REPO / "changelogs" / "changelog.yaml")
    assert meta.returncode == 0, meta.stdout + meta.stderr


def test_the_fragment_lint_catches_an_unknown_section(tmp_path):
    fragment = tmp_path / "9-typo.yml"
    fragment.write_text("---\nminor_change:\n  - access_review - a typo in the section name.\n", encoding="utf-8")
    lint = run(VENV_BIN / "antsibull-changelog", "lint", fragment)
    assert lint.returncode != 0 and "invalid section: minor_change" in lint.stdout
