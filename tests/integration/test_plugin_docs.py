# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every plugin of the collection has documentation that ansible-doc renders, with examples and return values."""

from __future__ import annotations

import json
import os
import subprocess

from tests.support.playbooks import REPO, VENV_BIN

ENV = {
    **os.environ,
    "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
    "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
    "ANSIBLE_NOCOLOR": "1",
}


def ansible_doc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "ansible-doc"), *args],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def plugins(kind: str) -> list[str]:
    listed = ansible_doc("-t", kind, "-l", "ttahub.ops", "--json")
    assert listed.returncode == 0, listed.stderr
    return sorted(json.loads(listed.stdout))


def test_every_module_file_is_listed_and_renders():
    names = plugins("module")
    on_disk = sorted(f"ttahub.ops.{f[:-3]}" for f in os.listdir(REPO / "plugins" / "modules") if f.endswith(".py"))
    assert names == on_disk
    rendered = ansible_doc("--json", *names)
    assert rendered.returncode == 0, rendered.stderr
    docs = json.loads(rendered.stdout)
    for name in names:
        entry = docs[name]
        assert entry["doc"]["short_description"], name
        assert entry["examples"].strip(), f"{name} has no EXAMPLES"
        assert entry["return"] is not None, f"{name} has no RETURN"
    # The text an operator reads: one ansible-doc process renders them all.
    text = ansible_doc(*names)
    assert text.returncode == 0, text.stderr
    for name in names:
        assert f"> MODULE {name}" in text.stdout, f"{name} did not render"
    assert text.stdout.count("EXAMPLES:") == len(names)


def test_the_audit_log_callback_renders():
    names = plugins("callback")
    assert "ttahub.ops.audit_log" in names
    for name in names:
        out = ansible_doc("-t", "callback", name)
        assert out.returncode == 0 and name in out.stdout, out.stderr


def test_role_argument_specs_render():
    roles = sorted(
        d for d in os.listdir(REPO / "roles") if (REPO / "roles" / d / "meta" / "argument_specs.yml").exists()
    )
    assert "cf_session" in roles
    for role in roles:
        out = ansible_doc("-t", "role", f"ttahub.ops.{role}")
        assert out.returncode == 0, out.stderr
