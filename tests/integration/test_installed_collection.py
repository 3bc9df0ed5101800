# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as it ships: built with `ansible-galaxy collection build` (galaxy.yml's build_ignore applies),
installed into a temporary collections path and used from another directory with an ansible.cfg of its own, as a
project that installs ttahub.ops does. The tarball holds no inventory and nothing of rehearsal/ or tests/; ansible-doc
renders every plugin of the installed copy; the rehearsal's ssh_guard and audit_verify run from it. The rehearsal
inventory comes from the repository, passed with -i: the tarball has none."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile

import pytest

from rehearsal import world as world_mod
from tests.support.playbooks import REPO, VENV_BIN, Rehearsal

pytestmark = pytest.mark.slow

INVENTORY = REPO / "inventories" / "rehearsal"
# What may sit at the top of the tarball: the collection's parts, the files galaxy writes and the licence.
SHIPPED = {"MANIFEST.json", "FILES.json", "README.md", "COPYING", "LICENSES", "changelogs", "docs", "meta", "playbooks",
           "plugins", "roles"}
# plugins/ folders without plugins of their own to render: shared code, and doc fragments (rendered inside the
# modules that extend them). Action plugins take their documentation from the module of the same name.
NOT_RENDERED = {"module_utils", "plugin_utils", "doc_fragments", "action"}


@dataclasses.dataclass
class Installed:
    tarball: pathlib.Path
    members: list[str]
    collection: pathlib.Path  # .../ansible_collections/ttahub/ops
    project: pathlib.Path  # the other directory, with its own ansible.cfg
    env: dict[str, str]


def run(argv: list[object], *, cwd: pathlib.Path, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False, stdin=subprocess.DEVNULL)


def project_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` without any ANSIBLE_* variable (make exports the repository's ANSIBLE_CONFIG): only the project
    directory's ansible.cfg configures Ansible."""
    env = {k: v for k, v in base.items() if not k.startswith("ANSIBLE_")}
    return {**env, "ANSIBLE_NOCOLOR": "1"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    work = tmp_path_factory.mktemp("installed-collection")
    collections = work / "collections"
    project = work / "project"
    (project / "home").mkdir(parents=True)
    # Interpreter discovery picks a broken pyenv shim on some machines (toolchain.md §2): name the interpreter.
    (project / "ansible.cfg").write_text(
        "[defaults]\n"
        f"collections_path = {collections}\n"
        "collections_scan_sys_path = false\n"
        f"interpreter_python = {sys.executable}\n"
        "callbacks_enabled = ttahub.ops.audit_log\n"
        f"local_tmp = {work / 'ansible-tmp'}\n"
        "gathering = explicit\n"
        "retry_files_enabled = false\n",
        encoding="utf-8",
    )
    env = project_env({**os.environ, "HOME": str(project / "home"), "PATH": f"{VENV_BIN}:{os.environ['PATH']}"})
    built = run([VENV_BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", work / "dist", REPO],
                cwd=project, env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    (tarball,) = (work / "dist").glob("ttahub-ops-*.tar.gz")
    with tarfile.open(tarball) as tar:
        members = sorted(m.name for m in tar.getmembers() if not m.isdir())
    got = run([VENV_BIN / "ansible-galaxy", "collection", "install", "--force", "-p", collections, tarball],
              cwd=project, env=env)
    assert got.returncode == 0, got.stdout + got.stderr
    collection = collections / "ansible_collections" / "ttahub" / "ops"
    assert (collection / "MANIFEST.json").is_file()
    return Installed(tarball, members, collection, project, env)


def test_the_tarball_holds_the_collection_and_no_inventory_rehearsal_or_tests(installed):
    members = installed.members
    assert {m.split("/", 1)[0] for m in members} <= SHIPPED, "a new top-level entry ships: add it to build_ignore"
    assert not [m for m in members if m.startswith(("inventories/", "rehearsal/", "tests/"))]
    inventory_like = [m for m in members if "group_vars/" in m or "host_vars/" in m
                      or pathlib.PurePosixPath(m).name in ("hosts", "hosts.yml", "hosts.yaml", "hosts.ini")]
    assert not inventory_like, inventory_like
    assert not [m for m in members if "rehearsal/bin/cf" in m or m.endswith("ansible.cfg")]
    for part in ("plugins/modules/space_ssh_guard.py", "plugins/callback/audit_log.py", "playbooks/ssh_guard.yml",
                 "playbooks/audit_verify.yml", "roles/cf_session/tasks/main.yml", "meta/runtime.yml", "README.md"):
        assert part in members, part


def plugin_names(collection: pathlib.Path) -> dict[str, list[str]]:
    """The plugins of the installed tree by ansible-doc type (plugins/modules → module, plugins/<type> → type)."""
    names = {}
    for folder in sorted(p for p in (collection / "plugins").iterdir() if p.is_dir()):
        if folder.name in NOT_RENDERED:
            continue
        kind = "module" if folder.name == "modules" else folder.name
        names[kind] = sorted(f"ttahub.ops.{f.stem}" for f in folder.glob("*.py") if not f.name.startswith("_"))
    return names


def test_ansible_doc_renders_every_plugin_and_role_of_the_installed_copy(installed):
    collection, project, env = installed.collection, installed.project, installed.env
    names = plugin_names(collection)
    assert len(names.get("module", [])) >= 20 and names.get("callback") == ["ttahub.ops.audit_log"]
    for action in (collection / "plugins" / "action").glob("*.py"):
        assert f"ttahub.ops.{action.stem}" in names["module"], f"no module documents the action plugin {action.stem}"
    for kind, plugins in names.items():
        listed = run([VENV_BIN / "ansible-doc", "-t", kind, "-l", "ttahub.ops", "--json"], cwd=project, env=env)
        assert listed.returncode == 0, listed.stderr
        assert sorted(json.loads(listed.stdout)) == plugins, kind
        docs = run([VENV_BIN / "ansible-doc", "-t", kind, "--json", *plugins], cwd=project, env=env)
        assert docs.returncode == 0, docs.stderr
        for name, entry in json.loads(docs.stdout).items():
            # Rendered from the installed copy, not from the repository.
            assert pathlib.Path(entry["doc"]["filename"]).is_relative_to(collection), (name, entry["doc"]["filename"])
        text = run([VENV_BIN / "ansible-doc", "-t", kind, *plugins], cwd=project, env=env)
        assert text.returncode == 0, text.stderr
        for name in plugins:
            assert f"> {kind.upper()} {name}" in text.stdout, f"{kind} {name} did not render"
    roles = sorted(f"ttahub.ops.{d.name}" for d in (collection / "roles").iterdir()
                   if (d / "meta" / "argument_specs.yml").exists())
    assert "ttahub.ops.cf_session" in roles
    rendered = run([VENV_BIN / "ansible-doc", "-t", "role", *roles], cwd=project, env=env)
    assert rendered.returncode == 0, rendered.stderr
    for role in roles:
        assert f"> ROLE: *{role}* ({collection})" in rendered.stdout, f"role {role} did not render from the copy"


def test_the_rehearsals_ssh_guard_and_audit_verify_run_from_the_installed_copy(installed, tmp_path):
    rh = Rehearsal(tmp_path)
    rh.operator_login()
    rh.env = project_env(rh.env)  # the project directory's ansible.cfg, not the repository's
    world_mod.set_space_ssh(rh.home, "ttahub-prod", True)  # someone allowed production space SSH by hand
    state = f"ops_state_dir={tmp_path / 'state'}"

    guard = rh.playbook("ttahub.ops.ssh_guard", "-e", state, inventory=str(INVENTORY), cwd=installed.project)
    assert guard.returncode != 0, guard.stdout[-3000:] + guard.stderr[-2000:]
    assert "with no live ttahub.ops window covering it; the guard disallowed it at" in guard.stdout
    space = next(s for s in world_mod.load(rh.home)["spaces"].values() if s["name"] == "ttahub-prod")
    assert space["allow_ssh"] is False

    again = rh.playbook("ttahub.ops.ssh_guard", "-e", state, inventory=str(INVENTORY), cwd=installed.project)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    assert "space ttahub-prod: SSH disallowed" in again.stdout

    # The installed callback wrote both runs; the installed audit_verify checks the chain.
    events = [r["event"] for r in rh.audit_records()]
    assert events.count("run_start") == 2 and "ssh_guard_disallowed" in events
    verify = rh.playbook("ttahub.ops.audit_verify", "-e", f"ops_audit_log={rh.audit_log}", inventory=str(INVENTORY),
                         cwd=installed.project)
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-2000:]
    # The callback records the verifying run too, before its task reads the log.
    verified = re.search(rf"{re.escape(str(rh.audit_log))}: (\d+) records, hash chain intact\.", verify.stdout)
    assert verified and int(verified.group(1)) > len(events), verify.stdout[-3000:]
