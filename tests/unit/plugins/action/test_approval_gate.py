# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""ttahub.ops.approval_gate, the action plugin: typed answers scripted through a fake prompt, signed approvals
with the rehearsal personas' real SSH keys and the real ssh-keygen."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from unittest.mock import MagicMock

import pytest
import yaml
from ansible.errors import AnsibleActionFail, AnsiblePromptInterrupt, AnsiblePromptNoninteractive

from ansible_collections.ttahub.ops.plugins.action import approval_gate as gate
from ansible_collections.ttahub.ops.plugins.module_utils import _approval as A
from ansible_collections.ttahub.ops.plugins.plugin_utils import _approval_flows as flows
from rehearsal import personas

REPO = Path(__file__).resolve().parents[4]
POLICIES = yaml.safe_load((REPO / "inventories/production/group_vars/all/policies.yml").read_text())["ops_approval_policies"]
RUNNER_VARS = ("CI", "AWX_ISOLATED_DATA_DIR", "RUNNER_OMIT_EVENTS", "RUNNER_ONLY_FAILED_EVENTS", "ANSIBLE_STDOUT_CALLBACK",
               "ANSIBLE_CALLBACK_PLUGINS", "TTAHUB_OPS_OPERATOR")

pytestmark = pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen (OpenSSH)")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("rehearsal")
    personas.ensure(path)
    return path


@pytest.fixture(scope="module")
def roster(home):
    return json.loads((home / "personas" / "personas.json").read_text())


@pytest.fixture(autouse=True)
def terminal_env(monkeypatch):
    for name in RUNNER_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(gate, "_stdout_callback", lambda: "ansible.builtin.default")


def make_action(args, *, check_mode=False):
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.action = "ttahub.ops.approval_gate"
    connection = MagicMock()
    connection._shell.tmpdir = None
    return gate.ActionModule(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=None)


def gate_args(roster, tmp_path, **changes):
    args = {
        "sop": "scp_retrieve", "policy": "prod_ssh_access", "environment": "rehearsal", "org": "hhs-acf-ohs-tta",
        "space": "ttahub-prod", "app": "tta-smarthub-prod", "service": "ttahub-prod",
        "parameters": {"instance": 0, "process": "web", "remote_path": "/home/vcap/app/log.txt", "dest": "/tmp/x"},
        "roster": roster, "policies": POLICIES, "state_dir": str(tmp_path / "state"),
    }
    args.update(changes)
    return args


def run(args, **kw):
    return make_action(args, **kw).run(task_vars={"inventory_dir": str(REPO / "inventories/rehearsal")})


def fail(args, **kw):
    with pytest.raises(AnsibleActionFail) as info:
        run(args, **kw)
    return info.value


class Terminal:
    """Plays the people at the controller's terminal: answers are typed in order; `CODE` is the intent code shown."""

    def __init__(self, monkeypatch, answers):
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.shown: list[str] = []
        monkeypatch.setattr(gate.display, "prompt_until", self.prompt)
        monkeypatch.setattr(gate.display, "display", lambda msg, *a, **k: self.shown.append(msg))

    def prompt(self, msg, private=False, **_kw):
        self.prompts.append(msg)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        if answer == "CODE":
            answer = re.search(r"intent code  (\S+)", "\n".join(self.shown)).group(1)
        return answer.encode()

    def refusals(self):
        return [line.strip() for line in self.shown if line.strip().startswith("refused:")]


def events(result_or_exc, name=None):
    result = result_or_exc.result if isinstance(result_or_exc, AnsibleActionFail) else result_or_exc
    return [e for e in result["audit_events"] if name is None or e["event"] == name]


# ---------------------------------------------------------------------------------------------
# Typed approvals


def test_typed_release_refuses_each_wrong_answer_then_passes(monkeypatch, roster, tmp_path):
    term = Terminal(monkeypatch, [
        "mallory",            # unknown approver
        "vera",               # right person, wrong role
        "paula", "K7Q-M2X",   # wrong intent code
        "CODE",
        "paula",              # already counted: one person for two roles
        "vera",               # the VTL while a GTM exists
        "gideon", "CODE",
    ])
    result = run(gate_args(roster, tmp_path, sop="release_deploy", policy="release", parameters={}, max_attempts=4))
    assert result["approved"] and result["method"] == "typed"
    assert [(a["id"], a["role"], a["method"]) for a in result["approvers"]] == [
        ("paula", "product_owner", "typed"), ("gideon", "government_technical_monitor", "typed")]
    assert [e["reason"] for e in events(result, "approval_refused")] == [
        "unknown_approver", "wrong_role", "wrong_code", "already_counted", "substitution_not_allowed"]
    assert len(set(term.refusals())) == 5
    assert [e["approver"] for e in events(result, "approval_granted")] == ["paula", "gideon"]
    assert events(result, "approval_gate_passed")[0]["approvers"] == ["paula", "gideon"]
    assert term.prompts[0].startswith("[1/2] Product Owner: type your roster id")


def test_typed_prod_db_copy_shows_attestations_and_needs_all_three(monkeypatch, roster, tmp_path):
    term = Terminal(monkeypatch, ["paula", "CODE", "gideon", "CODE", "vera", "CODE"])
    result = run(gate_args(roster, tmp_path, sop="prod_db_copy", policy="prod_db_copy", parameters={"reason": "INC-1"}))
    assert [a["role"] for a in result["approvers"]] == ["product_owner", "government_technical_monitor", "vendor_tech_lead"]
    shown = "\n".join(term.shown)
    assert "Government Furnished Equipment" in shown and "screen-sharing video call" in shown
    assert "attest to the statements above" in term.prompts[1]


def test_typed_vtl_stands_in_for_a_vacant_gtm(monkeypatch, roster, tmp_path):
    no_gtm = [p for p in roster if p["id"] != "gideon"]
    term = Terminal(monkeypatch, ["paula", "CODE", "vera", "CODE"])
    result = run(gate_args(no_gtm, tmp_path, sop="release_deploy", policy="release", parameters={},
                           vacant_roles=["government_technical_monitor"]))
    assert result["approvers"][1]["substitute_for"] == "government_technical_monitor"
    assert "vacant: a Vendor Technical Lead stands in" in term.prompts[2]


FORBIDDING = dict(POLICIES, release=dict(POLICIES["release"], operator_may_approve=False))


def fake_key(seed):
    kind = b"ssh-ed25519"
    blob = len(kind).to_bytes(4, "big") + kind + (32).to_bytes(4, "big") + hashlib.sha256(seed.encode()).digest()
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {seed}@test"


def second_po(roster):
    """The roster plus another Product Owner, so that the policy is satisfiable without the operator."""
    return roster + [{"id": "olivia", "name": "Olivia Reyes", "roles": ["product_owner"], "github": "olivia-gh",
                      "email": "olivia@rehearsal.invalid", "ssh_public_key": fake_key("olivia")}]


def test_typed_operator_refused_where_the_policy_forbids(monkeypatch, roster, tmp_path):
    Terminal(monkeypatch, ["paula", "paula", "paula"])
    exc = fail(gate_args(second_po(roster), tmp_path, sop="release_deploy", policy="release", parameters={},
                         policies=FORBIDDING, operator="paula"))
    assert "3 refused attempts for the Product Owner approval" in exc.message
    assert "is the operator of this run" in exc.message
    assert exc.result["reason"] == "too_many_attempts"


def test_typed_deny_with_a_reason_stops_the_run(monkeypatch, roster, tmp_path):
    Terminal(monkeypatch, ["paula", "deny the ticket is not approved"])
    exc = fail(gate_args(roster, tmp_path))
    assert "denied by Paula Oduya (paula), the Product Owner: the ticket is not approved" in exc.message
    assert events(exc, "approval_denied")[0]["reason"] == "the ticket is not approved"


def test_typed_deny_without_reason_asks_for_one(monkeypatch, roster, tmp_path):
    term = Terminal(monkeypatch, ["deny", "not today"])
    exc = fail(gate_args(roster, tmp_path))
    assert "denied at the Product Owner prompt: not today" in exc.message
    assert term.prompts[1].startswith("Reason for denying")


def test_typed_wrong_codes_are_bounded(monkeypatch, roster, tmp_path):
    Terminal(monkeypatch, ["paula", "AAA-AAA", "BBB-BBB"])
    exc = fail(gate_args(roster, tmp_path, max_attempts=2))
    assert "2 refused attempts for the Product Owner approval (last: 'BBB-BBB' is not the intent code of this run)" in exc.message


def test_ctrl_c_aborts_with_nothing_done(monkeypatch, roster, tmp_path):
    Terminal(monkeypatch, ["paula", AnsiblePromptInterrupt("user interrupt")])
    exc = fail(gate_args(roster, tmp_path))
    assert "interrupted (Ctrl-C) at the approval prompt. Nothing was done" in exc.message
    assert events(exc, "approval_aborted")


def test_no_terminal_fails_closed_naming_what_is_missing(monkeypatch, roster, tmp_path):
    Terminal(monkeypatch, [AnsiblePromptNoninteractive("stdin is not interactive")])
    exc = fail(gate_args(roster, tmp_path))
    assert exc.result["reason"] == "noninteractive"
    assert "stdin is not a terminal and no signed approvals were given (ops_approvals_dir is not set)" in exc.message
    assert "Product Owner, Government Technical Monitor, Vendor Technical Lead" in exc.message
    assert "playbooks/approval_request.yml -i inventories/rehearsal -e sop=scp_retrieve -e approval_dir=DIR" in exc.message


@pytest.mark.parametrize(("name", "value", "why"), [
    ("AWX_ISOLATED_DATA_DIR", "/tmp/pdd/artifacts/x", "ansible-runner detected"),
    ("ANSIBLE_STDOUT_CALLBACK", "awx_display", "ansible-runner detected"),
    ("CI", "true", "a CI job"),
])
def test_runner_or_ci_fails_before_any_prompt(monkeypatch, roster, tmp_path, name, value, why):
    term = Terminal(monkeypatch, [])
    monkeypatch.setenv(name, value)
    start = time.monotonic()
    exc = fail(gate_args(roster, tmp_path))
    assert time.monotonic() - start < 2
    assert term.prompts == []
    assert f"no terminal to ask the approvers on ({why}" in exc.message


def test_policies_without_approval_pass_at_once(monkeypatch, roster, tmp_path):
    Terminal(monkeypatch, [])
    result = run(gate_args(roster, tmp_path, policy="scp_retrieve"))
    assert result["approved"] and result["method"] == "none"
    assert events(result)[0]["event"] == "approval_not_required"


def test_an_incomplete_roster_is_refused_before_anything_is_asked(monkeypatch, roster, tmp_path):
    term = Terminal(monkeypatch, [])
    keyless = [dict(p, ssh_public_key="") if p["id"] == "vera" else p for p in roster]
    exc = fail(gate_args(keyless, tmp_path))
    assert "roster incomplete: Vera Lindqvist has no ssh_public_key; fill inventories/rehearsal/group_vars/all/roster.yml" in exc.message
    assert term.prompts == [] and term.shown == []


def test_a_duplicated_roster_id_is_refused(monkeypatch, roster, tmp_path):
    Terminal(monkeypatch, [])
    exc = fail(gate_args(roster + [dict(roster[0], ssh_public_key="", github="")], tmp_path))
    assert "duplicate roster id 'paula'" in exc.message
    assert exc.result["reason"] == "invalid_roster"


# ---------------------------------------------------------------------------------------------
# Signed approvals


def request(roster, tmp_path, folder="approvals", **changes):
    result = run(gate_args(roster, tmp_path, mode="request", approvals_dir=str(tmp_path / folder), **changes))
    assert result["changed"] and Path(result["intent_path"]).is_file()
    return tmp_path / folder, result


def sign(home, folder, *ids):
    for persona_id in ids:
        personas.sign(folder, persona_id, home)


def verify(roster, tmp_path, folder, **changes):
    return gate_args(roster, tmp_path, approvals_dir=str(folder), **changes)


def test_request_writes_the_intent_and_the_signing_commands(roster, tmp_path):
    folder, result = request(roster, tmp_path)
    intent = json.loads((folder / "intent.json").read_text())
    assert list(intent) == sorted(A.INTENT_KEYS)
    assert intent["target"]["space"] == "ttahub-prod" and intent["parameters"]["remote_path"] == "/home/vcap/app/log.txt"
    assert [c["id"] for c in result["signing_commands"]] == ["paula", "gideon", "vera"]
    assert result["signing_commands"][0]["command"] == (
        f"ssh-keygen -Y sign -n ttahub-ops -f <your private key> {folder}/intent.json && "
        f"mv {folder}/intent.json.sig {folder}/paula.sig")
    assert (folder / "intent.json").stat().st_mode & 0o777 == 0o644
    assert events(result, "approval_requested")[0]["nonce"] == intent["nonce"]


def test_signed_approvals_pass_once_then_are_replayed(home, roster, tmp_path, monkeypatch):
    term = Terminal(monkeypatch, [])
    folder = request(roster, tmp_path)[0]
    sign(home, folder, "paula", "gideon", "vera", "milo")
    result = run(verify(roster, tmp_path, folder))
    assert result["approved"] and result["method"] == "signed" and term.prompts == []
    assert [(a["id"], a["method"]) for a in result["approvers"]] == [("paula", "signed"), ("gideon", "signed"), ("vera", "signed")]
    assert all(a["key_fingerprint"].startswith("SHA256:") for a in result["approvers"])
    assert events(result, "approval_not_counted")[0]["approver"] == "milo"
    exc = fail(verify(roster, tmp_path, folder))
    assert exc.result["reason"] == "replayed"
    assert "was already used at" in exc.message and "signed approvals are single use" in exc.message
    assert events(exc, "approval_replayed")


def test_check_mode_verifies_without_using_the_nonce(home, roster, tmp_path):
    folder = request(roster, tmp_path)[0]
    sign(home, folder, "paula", "gideon", "vera")
    assert run(verify(roster, tmp_path, folder), check_mode=True)["approved"]
    assert run(verify(roster, tmp_path, folder))["approved"]


def _stray_key(tmp_path):
    key = tmp_path / "stray"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def _sign_with(key, folder, name, namespace="ttahub-ops"):
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", str(key), str(folder / "intent.json")],
                   check=True, capture_output=True)
    (folder / "intent.json.sig").replace(folder / name)


SIGNED_REFUSALS = {
    "a signature by a key not in the roster": (
        lambda home, folder, tmp: (sign(home, folder, "gideon", "vera"), _sign_with(_stray_key(tmp), folder, "paula.sig")),
        "unknown_key", "paula.sig was made with a key that is not in the roster (SHA256:"),
    "a signature by another roster member's key": (
        lambda home, folder, tmp: (sign(home, folder, "vera", "gideon"), (folder / "gideon.sig").rename(folder / "paula.sig"),
                                   sign(home, folder, "gideon")),
        "wrong_signer", "paula.sig was made with the key of Gideon Tamm (gideon), not with the key of Paula Oduya (paula)"),
    "a tampered intent.json": (
        lambda home, folder, tmp: (sign(home, folder, "paula", "gideon", "vera"),
                                   (folder / "intent.json").write_text((folder / "intent.json").read_text().replace("log.txt", "db.sql"))),
        "tampered", "does not verify against intent.json"),
    "a missing signature": (
        lambda home, folder, tmp: sign(home, folder, "paula", "vera"),
        "missing_signature", "no signature for the Government Technical Monitor (can sign: Gideon Tamm (gideon))"),
    "a signature file for an id not in the roster": (
        lambda home, folder, tmp: (sign(home, folder, "paula", "gideon", "vera"), shutil.copy(folder / "vera.sig", folder / "mallory.sig")),
        "unknown_signature_file", "mallory.sig is for 'mallory', who is not in the roster"),
    "ssh-keygen's output file left unrenamed": (
        lambda home, folder, tmp: (sign(home, folder, "paula", "gideon", "vera"), shutil.copy(folder / "vera.sig", folder / "intent.json.sig")),
        "unrenamed_signature", "intent.json.sig is the file ssh-keygen writes"),
    "a signature for another namespace": (
        lambda home, folder, tmp: (sign(home, folder, "paula", "gideon"),
                                   _sign_with(personas.private_key(home, "vera"), folder, "vera.sig", namespace="git")),
        "wrong_namespace", "vera.sig was signed for namespace 'git', not 'ttahub-ops'"),
    "a file that is not a signature": (
        lambda home, folder, tmp: (sign(home, folder, "paula", "gideon"), (folder / "vera.sig").write_text("I approve\n")),
        "invalid_signature", "vera.sig is not an SSH signature"),
}


@pytest.mark.parametrize("case", list(SIGNED_REFUSALS))
def test_signed_refusals(home, roster, tmp_path, case):
    prepare, reason, fragment = SIGNED_REFUSALS[case]
    folder = request(roster, tmp_path)[0]
    prepare(home, folder, tmp_path)
    exc = fail(verify(roster, tmp_path, folder))
    assert exc.result["reason"] == reason, exc.message
    assert fragment in exc.message
    assert not (tmp_path / "state" / "approval-nonces").exists(), "a refused approval must not use up its nonce"
    assert any(e.get("reason") == reason for e in events(exc))


@pytest.mark.parametrize(("change", "fragment"), [
    ({"space": "ttahub-staging"}, 'target.space is "ttahub-prod" in the signed intent, this run has "ttahub-staging"'),
    ({"app": "tta-smarthub-dev-blue"}, 'target.app is "tta-smarthub-prod" in the signed intent'),
    ({"parameters": {"instance": 1, "process": "web", "remote_path": "/home/vcap/app/log.txt", "dest": "/tmp/x"}},
     "parameters.instance is 0 in the signed intent, this run has 1"),
    ({"sop": "ssh_access"}, 'sop is "scp_retrieve" in the signed intent, this run has "ssh_access"'),
])
def test_a_signature_over_another_intent_is_refused(home, roster, tmp_path, change, fragment):
    folder = request(roster, tmp_path)[0]
    sign(home, folder, "paula", "gideon", "vera")
    exc = fail(verify(roster, tmp_path, folder, **change))
    assert exc.result["reason"] == "wrong_intent"
    assert "the signed intent is not what this run will do: " + fragment in exc.message
    assert events(exc, "approval_wrong_intent")


def test_an_expired_signed_approval_is_refused(home, roster, tmp_path):
    folder = request(roster, tmp_path, ttl="1h")[0]
    sign(home, folder, "paula", "gideon", "vera")
    later = A.parse_time(json.loads((folder / "intent.json").read_text())["not_after"]) + datetime.timedelta(hours=1)
    args = verify(roster, tmp_path, folder)
    policy = A.load_policies(POLICIES)["prod_ssh_access"]
    expected = A.build_intent(sop=args["sop"], policy="prod_ssh_access", environment="rehearsal", org=args["org"],
                              space=args["space"], app=args["app"], service=args["service"], parameters=args["parameters"],
                              attestations=policy.attestations)
    log: list = []
    with pytest.raises(A.ApprovalError) as info:
        flows.collect_signed(approvals_dir=str(folder), policy=policy, roster=A.load_roster(roster), expected=expected,
                             operator="", state_dir=str(tmp_path / "state"), events=log, context={}, now=lambda: later)
    assert info.value.reason == "expired"
    assert "the signed intent expired at" in info.value.message and "(1h ago)" in info.value.message
    assert log[0]["event"] == "approval_expired"


def test_the_operator_cannot_sign_where_the_policy_forbids(home, roster, tmp_path):
    change = dict(sop="release_deploy", policy="release", parameters={}, policies=FORBIDDING)
    folder = request(second_po(roster), tmp_path, **change)[0]
    sign(home, folder, "paula", "gideon")
    exc = fail(verify(second_po(roster), tmp_path, folder, operator="paula", **change))
    assert exc.result["reason"] == "operator_forbidden"
    assert "Paula Oduya (paula) is the operator of this run" in exc.message


def test_a_policy_only_the_operator_could_satisfy_is_refused_at_load(monkeypatch, roster, tmp_path):
    term = Terminal(monkeypatch, [])
    exc = fail(gate_args(roster, tmp_path, sop="release_deploy", policy="release", parameters={}, policies=FORBIDDING,
                         operator="paula"))
    assert exc.result["reason"] == "policy_unsatisfiable" and term.prompts == []
    assert "the roster has only 1 who can approve besides the operator (gideon)" in exc.message


def test_the_vtl_cannot_sign_for_an_existing_gtm(home, roster, tmp_path):
    change = dict(sop="release_deploy", policy="release", parameters={})
    folder = request(roster, tmp_path, **change)[0]
    sign(home, folder, "paula", "vera")
    exc = fail(verify(roster, tmp_path, folder, **change))
    assert exc.result["reason"] == "substitution_not_allowed"


def test_a_request_folder_with_old_signatures_is_refused(home, roster, tmp_path):
    folder = request(roster, tmp_path)[0]
    sign(home, folder, "paula")
    exc = fail(gate_args(roster, tmp_path, mode="request", approvals_dir=str(folder)))
    assert "already holds signatures (paula.sig) of an earlier request" in exc.message


def test_no_intent_json_says_how_to_make_one(roster, tmp_path):
    (tmp_path / "empty").mkdir()
    exc = fail(verify(roster, tmp_path, tmp_path / "empty"))
    assert "has no intent.json. Write a request with ansible-playbook playbooks/approval_request.yml -e sop=scp_retrieve" in exc.message


def test_missing_ssh_keygen_is_named(home, roster, tmp_path, monkeypatch):
    folder = request(roster, tmp_path)[0]
    sign(home, folder, "paula", "gideon", "vera")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    exc = fail(verify(roster, tmp_path, folder))
    assert "cannot find ssh-keygen: it is not on the controller's PATH" in exc.message


def test_two_concurrent_runs_cannot_both_use_a_nonce(tmp_path):
    results: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(n):
        barrier.wait()
        try:
            flows.consume_nonce(str(tmp_path), "a" * 32, {"run_id": f"run-{n}", "used": "now"})
            results.append("ok")
        except A.Refused as exc:
            results.append(exc.reason)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok"] + ["replayed"] * 7
    assert (tmp_path / "approval-nonces" / f"{'a' * 32}.json").stat().st_mode & 0o777 == 0o600


def test_the_allowed_signers_file_is_private_and_removed(roster):
    text = A.load_roster(roster).allowed_signers()
    from ansible_collections.ttahub.ops.plugins.plugin_utils._ssh_keygen import allowed_signers_file

    with allowed_signers_file(text) as path:
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        assert path.read_text() == text
    assert not path.exists() and not path.parent.exists()
