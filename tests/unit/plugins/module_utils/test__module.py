# SPDX-License-Identifier: GPL-3.0-or-later
"""The one module edge: every module ends through run_module, which words every failure the same way."""

from __future__ import annotations

import ast
import pathlib

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils import _module
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfError, CfNotFoundError
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

PLUGINS = pathlib.Path(__file__).resolve().parents[4] / "plugins"


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def test_every_module_ends_through_run_module():
    modules = sorted((PLUGINS / "modules").glob("*.py"))
    assert len(modules) >= 28
    checked = 0
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        has_main = any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)
        if not has_main:
            # Documentation only: an action plugin of the same name does the work (and has its own edge).
            assert (PLUGINS / "action" / path.name).is_file(), f"{path.name} has no main() and no action plugin"
            continue
        calls = _calls(tree)
        assert "run_module" in calls, f"{path.name} does not end through _module.run_module"
        assert not calls & {"fail_json", "exit_json"}, f"{path.name} calls fail_json/exit_json itself"
        checked += 1
    assert checked >= 26


class FakeModule:
    params: dict = {}

    def __init__(self) -> None:
        self.failed: dict | None = None
        self.exited: dict | None = None

    def fail_json(self, **kw):
        self.failed = kw
        raise SystemExit(1)

    def exit_json(self, **kw):
        self.exited = kw
        raise SystemExit(0)


def _end(body, **kw) -> FakeModule:
    module = FakeModule()
    with pytest.raises(SystemExit):
        _module.run_module(module, body, **kw)
    return module


def test_an_ops_error_is_one_failure_with_its_details_and_what_was_done():
    partial = {"audit_events": [{"event": "first"}], "wiped": ["a"], "msg": "not this"}

    def body():
        raise CfNotFoundError("read app x", "it does not exist.", "Check the name.", cmd=["cf", "app", "x"], rc=1,
                              events=[{"event": "second"}])

    failed = _end(body, partial=partial).failed
    assert failed["msg"] == "Failed to read app x: it does not exist. Check the name."
    assert failed["error_kind"] == "not_found" and failed["cmd"] == ["cf", "app", "x"] and failed["rc"] == 1
    assert failed["wiped"] == ["a"] and [e["event"] for e in failed["audit_events"]] == ["first", "second"]


def test_an_unexpected_os_error_is_worded_too():
    def body():
        raise PermissionError(13, "Permission denied")

    failed = _end(body, os_error=("read the leases in /s", "Check ops_state_dir")).failed
    assert failed == {"msg": "Failed to read the leases in /s: Permission denied. Check ops_state_dir.", "error_kind": "os_error"}


def test_success_exits_with_the_result_and_other_bugs_are_not_hidden():
    assert _end(lambda: {"changed": True, "x": 1}).exited == {"changed": True, "x": 1}
    with pytest.raises(KeyError):
        _module.run_module(FakeModule(), lambda: {}["missing"])
    with pytest.raises(ValueError, match="unknown client"):
        _module.run_module(FakeModule(), lambda c: {}, client="gitlab")


@pytest.mark.parametrize(("args", "message"), [
    (("read x", "gone", "Retry"), "Failed to read x: gone. Retry."),
    (("read x", "gone.", ""), "Failed to read x: gone."),
    (("read x", "line\nbreak\x1b[31m", "Fix. "), "Failed to read x: line\\nbreak\\x1b[31m. Fix."),
    (("", "Already worded. Escalate to the PO.", ""), "Already worded. Escalate to the PO."),
])
def test_the_wording_is_built_once(args, message):
    err = OpsError(*args, kind="k", status=None, rc=0)
    assert err.message == str(err) == message
    assert err.details() == {"error_kind": "k", "rc": 0}  # None details are left out


def test_every_domain_error_is_an_ops_error():
    from ansible_collections.ttahub.ops.plugins.module_utils import (  # pylint: disable=import-outside-toplevel
        _access, _approval, _audit, _counts, _github, _reports, _ssh, _ssh_window)
    from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError  # pylint: disable=import-outside-toplevel
    from ansible_collections.ttahub.ops.plugins.plugin_utils import _ssh_keygen  # pylint: disable=import-outside-toplevel

    classes = [CfError, _ssh_window.WindowError, _github.GitHubError, _approval.ApprovalError, _approval.Refused,
               _access.AccessError, _counts.CountsError, _reports.ReportWriteError, _audit.AuditLogError,
               _ssh_keygen.SshKeygenError, CopyError, _ssh.SshError, _module.Stopped]
    assert all(issubclass(cls, OpsError) for cls in classes)
    assert not issubclass(CopyError, _ssh_window.WindowError)
