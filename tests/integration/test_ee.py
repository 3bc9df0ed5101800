# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment: `ansible-builder create` writes the build context offline, with the collection's
tarball, its declared dependencies, the cf CLI v8 from Cloud Foundry's apt repository and the cf-service-connect
plugin (docs/ee.md). The image itself is not built here: no container engine, no network."""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile

import pytest
import yaml

from tests.support.playbooks import REPO, VENV_BIN

pytestmark = pytest.mark.slow


def sh(*argv, cwd):
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"{argv[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The collection tarball next to a copy of execution-environment.yml, and the context ansible-builder made."""
    work = tmp_path_factory.mktemp("ee")
    shutil.copy(REPO / "execution-environment.yml", work)
    sh(VENV_BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", work, REPO, cwd=REPO)
    (tarball,) = work.glob("ttahub-ops-*.tar.gz")
    out = sh(VENV_BIN / "ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context",
             "--output-filename", "Containerfile", cwd=work)
    assert "Complete! The build context can be found at" in out
    return work, tarball, (work / "context" / "Containerfile").read_text(encoding="utf-8")


def requirement(name: str) -> str:
    """The pin of ``name`` in requirements.txt for Python >= 3.12 (the image's Python is 3.13)."""
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(rf"^{re.escape(name)}==([\w.]+)\s*(;.*)?$", line.strip())
        if match and (not match.group(2) or ">=" in match.group(2)):
            return match.group(1)
    raise AssertionError(f"{name} is not pinned in requirements.txt")


def test_the_context_holds_the_collection_and_installs_it_from_the_tarball(built):
    work, tarball, _ = built
    assert (work / "context" / "_build" / "collections" / tarball.name).read_bytes() == tarball.read_bytes()
    galaxy = yaml.safe_load((work / "context" / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert galaxy == {"collections": [{"name": "/build/collections/ttahub-ops.tar.gz", "type": "file"}]}
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    assert {"meta/execution-environment.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt"} <= names
    assert "playbooks/access_review.yml" in names and not any(n.startswith(("rehearsal/", "tests/", "inventories/")) for n in names)


def test_the_containerfile_has_the_pinned_ansible_the_cf_cli_and_the_plugin(built):
    _, _, containerfile = built
    assert 'ARG EE_BASE_IMAGE="docker.io/library/python:3.13-slim-bookworm"' in containerfile
    assert 'ARG PKGMGR="/usr/bin/apt-get"' in containerfile
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="(.*)"$', containerfile, re.M).group(1).split()
    assert refs == [f"ansible-core=={requirement('ansible-core')}", f"ansible-runner=={requirement('ansible-runner')}"]
    # Exactly one tarball, renamed to the name the galaxy requirement uses, before the collection install.
    rename = containerfile.index('mv "$1" /build/collections/ttahub-ops.tar.gz')
    assert rename < containerfile.index("ansible-galaxy collection install")
    # The cf CLI v8 from Cloud Foundry's apt repository (cf-cli install docs; ttadp.md §2), checked after install.
    cf = next(line for line in containerfile.splitlines() if "cf8-cli" in line)
    assert "https://packages.cloudfoundry.org/debian/cli.cloudfoundry.org.key" in cf
    assert "deb [signed-by=/usr/share/keyrings/cloudfoundry-cli.gpg] https://packages.cloudfoundry.org/debian stable main" in cf
    assert "apt-get install -y --no-install-recommends cf8-cli" in cf and "cf version | grep -q '^cf version 8[.]'" in cf
    # The cf-service-connect release TTA Hub's CI installs, outside any per-run CF_HOME, optionally pinned.
    assert ("ARG CF_SERVICE_CONNECT_URL=https://github.com/cloud-gov/cf-service-connect/releases/download/v1.1.4/"
            "cf-service-connect_linux_amd64") in containerfile
    assert "ENV CF_PLUGIN_HOME=/opt/cf-plugins" in containerfile
    plugin = next(line for line in containerfile.splitlines() if "cf install-plugin" in line)
    assert 'sha256sum -c -' in plugin and "cf plugins | grep -q connect-to-service" in plugin
    # The tools come after the final stage's package install, and the image ends as an unprivileged user.
    assert containerfile.index("install-from-bindep") < containerfile.index("cf8-cli")
    assert containerfile.rstrip().splitlines()[-3] == "USER 1000"


def test_the_collection_declares_what_an_ee_needs(built, tmp_path):
    _, tarball, _ = built
    sh(VENV_BIN / "ansible-galaxy", "collection", "install", "--force", "-p", tmp_path / "c", tarball, cwd=tmp_path)
    data = yaml.safe_load(sh(VENV_BIN / "ansible-builder", "introspect", tmp_path / "c", cwd=tmp_path))
    assert data["python"] == ["jmespath>=1.0.1  # from collection ttahub.ops"]
    system = [line.split("  #")[0] for line in data["system"]]
    assert system == ["openssh-client [platform:dpkg]", "openssh-clients [platform:rpm]",
                      "postgresql-client [platform:dpkg]", "postgresql [platform:rpm]", "age"]
    # The Debian names are real Debian 12 packages (.ci/run installs them for the tests): installed, or known to apt.
    for package in ("openssh-client", "postgresql-client", "age"):
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False)
        known = subprocess.run(["apt-cache", "show", "--no-all-versions", package], capture_output=True, text=True,
                               check=False)
        assert status.stdout == "install ok installed" or f"Package: {package}\n" in known.stdout, package
