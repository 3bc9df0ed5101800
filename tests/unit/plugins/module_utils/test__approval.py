# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The approval gate's pure part: roster and policy validation, policy evaluation, intents."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

from ansible_collections.ttahub.ops.plugins.module_utils import _approval as A

REPO = Path(__file__).resolve().parents[4]
NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=datetime.timezone.utc)


def fake_key(seed: str) -> str:
    """A well-formed ssh-ed25519 public key line (no private key exists for it)."""
    kind = b"ssh-ed25519"
    blob = len(kind).to_bytes(4, "big") + kind + (32).to_bytes(4, "big") + hashlib.sha256(seed.encode()).digest()
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {seed}@test"


def person(pid: str, name: str, *roles: str, **extra: str) -> dict:
    entry = {"id": pid, "name": name, "roles": list(roles), "github": f"{pid}-gh", "email": f"{pid}@example.gov",
             "ssh_public_key": fake_key(pid)}
    entry.update(extra)
    return entry


PEOPLE = [
    person("paula", "Paula Oduya", "product_owner"),
    person("gideon", "Gideon Tamm", "government_technical_monitor"),
    person("vera", "Vera Lindqvist", "vendor_tech_lead"),
    person("milo", "Milo Park", "vendor_product_manager"),
]
NO_GTM = [p for p in PEOPLE if p["id"] != "gideon"]
POLICIES = yaml.safe_load((REPO / "inventories/production/group_vars/all/policies.yml").read_text())["ops_approval_policies"]


def roster(people=None, vacant=()):
    return A.load_roster(PEOPLE if people is None else people, list(vacant))


def policy(name="release", **changes):
    body = dict(POLICIES[name], **changes)
    return A.load_policy(name, body)


def intent(**changes):
    args = dict(sop="scp_retrieve", policy="prod_ssh_access", environment="production", org="hhs-acf-ohs-tta",
                space="ttahub-prod", app="tta-smarthub-prod", service="ttahub-prod",
                parameters={"remote_path": "/home/vcap/app/x.log", "instance": 0}, attestations=["on GFE"],
                created=NOW, ttl=7200, nonce="0" * 32)
    args.update(changes)
    return A.build_intent(**args)


# ---------------------------------------------------------------------------------------------
# Refusals: each case raises with its own reason and message.


def _admit(pol, ros, role, who, method="typed", **kw):
    return lambda: A.admit(pol, ros, role, who, method=method, **kw)


def _roster(people, vacant=()):
    return lambda: A.load_roster(people, list(vacant))


def _policy(name, body):
    return lambda: A.load_policy(name, body)


def _check(pol, ros, **kw):
    return lambda: A.check_policy(pol, ros, hint="fill inventories/production/group_vars/all/roster.yml", **kw)


def _compare(**changes):
    def run():
        diffs = A.compare_intents(intent(**changes), intent())
        if diffs:
            raise A.Refused("wrong_intent", "; ".join(diffs))
    return run


def _validity(when, **changes):
    return lambda: A.check_validity(intent(**changes), policy("prod_ssh_access"), when)


def _evaluate(pol, ros, proofs, **kw):
    def run():
        decision = A.evaluate(pol, ros, proofs, **kw)
        assert not decision.granted
        raise A.Refused(decision.refusals[0].reason if decision.refusals else "missing", decision.reason())
    return run


def _parse(data: bytes):
    return lambda: A.parse_intent(data)


TWO_HATS = [person("paula", "Paula Oduya", "product_owner", "government_technical_monitor")] + PEOPLE[1:]
GOOD_INTENT = A.render_intent(intent())

REFUSALS = [
    ("unknown approver", _admit(policy(), roster(), "product_owner", "mallory"),
     "unknown_approver", "'mallory' is not a roster id"),
    ("right person, wrong role", _admit(policy(), roster(), "product_owner", "vera"),
     "wrong_role", "Vera Lindqvist (vera) is not the Product Owner"),
    ("one person for two roles", _admit(policy(), roster(TWO_HATS), "government_technical_monitor", "paula",
                                        counted={"product_owner": "paula"}),
     "already_counted", "already approved as the Product Owner"),
    ("operator approving where the policy forbids", _admit(policy(operator_may_approve=False), roster(), "product_owner",
                                                           "paula", operator="paula"),
     "operator_forbidden", "is the operator of this run"),
    ("VTL substituting while a GTM exists", _admit(policy(), roster(), "government_technical_monitor", "vera"),
     "substitution_not_allowed", "only while no one holds that role, and Gideon Tamm (gideon) holds it"),
    ("VTL substituting for a GTM role not declared vacant", _admit(policy(), roster(NO_GTM),
                                                                   "government_technical_monitor", "vera"),
     "role_not_vacant", "only when the roster declares that role vacant"),
    ("a method the policy does not accept", _admit(policy(methods=["signed"]), roster(), "product_owner", "paula"),
     "method_not_allowed", "does not accept typed approvals"),
    ("roster: unknown key", _roster([dict(PEOPLE[0], role="x")]),
     "invalid_roster", "has unknown key 'role'"),
    ("roster: duplicated id", _roster([PEOPLE[0], dict(PEOPLE[1], id="paula")]),
     "invalid_roster", "duplicate roster id 'paula'"),
    ("roster: unknown role", _roster([dict(PEOPLE[0], roles=["gtm"])]),
     "invalid_roster", "has unknown role 'gtm'"),
    ("roster: id that is not a file name", _roster([dict(PEOPLE[0], id="../paula")]),
     "invalid_roster", "is not a valid roster id"),
    ("roster: malformed SSH key", _roster([dict(PEOPLE[0], ssh_public_key="ssh-ed25519 AAAA-not-base64")]),
     "invalid_roster", "ssh_public_key is invalid"),
    ("roster: one key for two people", _roster([PEOPLE[0], dict(PEOPLE[1], ssh_public_key=PEOPLE[0]["ssh_public_key"])]),
     "invalid_roster", "is also the key of paula"),
    ("roster: one GitHub login for two people", _roster([PEOPLE[0], dict(PEOPLE[1], github="PAULA-gh")]),
     "invalid_roster", "is also the login of paula"),
    ("roster: a vacant role someone holds", _roster(PEOPLE, ["government_technical_monitor"]),
     "invalid_roster", "declares government_technical_monitor vacant but Gideon Tamm (gideon) holds it"),
    ("policy: unknown key", _policy("release", {"required_roles": ["product_owner"], "requried_people": 1}),
     "invalid_policy", "has unknown key 'requried_people'"),
    ("policy: unknown role", _policy("release", {"required_roles": ["product_owner", "cto"]}),
     "invalid_policy", "required_roles has unknown role 'cto'"),
    ("policy: more people than roles", _policy("release", {"required_roles": ["product_owner"], "min_people": 2}),
     "invalid_policy", "min_people is 2 but must be between 1 and the 1 required roles"),
    ("policy: max_age that is not a duration", _policy("release", {"required_roles": ["product_owner"], "max_age": "soon"}),
     "invalid_policy", "'soon' is not a duration"),
    ("policy: substitution for a role it does not require",
     _policy("release", {"required_roles": ["product_owner"], "substitutions": {"vendor_tech_lead": ["vendor_product_manager"]}}),
     "invalid_policy", "substitutions names vendor_tech_lead, which the policy does not require"),
    ("an empty roster field", _check(policy(), roster([dict(PEOPLE[0], github="")] + PEOPLE[1:])),
     "roster_incomplete", "roster incomplete: Paula Oduya has no github; fill inventories/production/group_vars/all/roster.yml"),
    ("a policy needing more people than the roster has (refused at load)",
     _check(policy("prod_db_copy"), roster([person("paula", "Paula Oduya", "product_owner", "vendor_tech_lead"), PEOPLE[1]])),
     "policy_unsatisfiable", "needs 3 distinct people for Product Owner, Government Technical Monitor, Vendor Technical Lead, "
     "but the roster has only 2 who can approve"),
    ("a policy needing a role no one holds", _check(policy("prod_db_copy"), roster(NO_GTM)),
     "policy_unsatisfiable", "needs a Government Technical Monitor but no one in the roster holds"),
    ("a substitution whose role is not declared vacant", _check(policy("release"), roster(NO_GTM)),
     "role_not_vacant", "no one in the roster holds government_technical_monitor and the roster does not declare it vacant"),
    ("a policy the roster satisfies only with the operator", _check(policy(operator_may_approve=False), roster(), operator="paula"),
     "policy_unsatisfiable", "who can approve besides the operator"),
    ("a signature over another space", _compare(space="ttahub-staging"),
     "wrong_intent", 'target.space is "ttahub-staging" in the signed intent, this run has "ttahub-prod"'),
    ("a signature over another app", _compare(app="tta-smarthub-dev-blue"),
     "wrong_intent", 'target.app is "tta-smarthub-dev-blue" in the signed intent'),
    ("a signature over other parameters", _compare(parameters={"remote_path": "/etc/passwd", "instance": 0}),
     "wrong_intent", 'parameters.remote_path is "/etc/passwd" in the signed intent'),
    ("a signature over another SOP", _compare(sop="ssh_access"),
     "wrong_intent", 'sop is "ssh_access" in the signed intent, this run has "scp_retrieve"'),
    ("a signature over another environment", _compare(environment="staging"),
     "wrong_intent", 'environment is "staging" in the signed intent'),
    ("a parameter typed differently", _compare(parameters={"remote_path": "/home/vcap/app/x.log", "instance": "0"}),
     "wrong_intent", 'parameters.instance is "0" in the signed intent, this run has 0'),
    ("expired", _validity(NOW + datetime.timedelta(hours=3)),
     "expired", "the signed intent expired at 2026-11-28T14:00:00Z (1h ago)"),
    ("valid for longer than the policy allows", _validity(NOW, ttl=86400),
     "validity_too_long", "valid for 1d but policy prod_ssh_access accepts approvals for at most 2h"),
    ("created in the future", _validity(NOW - datetime.timedelta(hours=1)),
     "not_yet_valid", "was created in the future"),
    ("intent.json with an extra key", _parse(GOOD_INTENT.replace(b'"format"', b'"approved": true, "format"')),
     "invalid_intent", "unknown key approved"),
    ("intent.json with a bad nonce", _parse(GOOD_INTENT.replace(b'"' + b"0" * 32 + b'"', b'"../../etc"')),
     "invalid_intent", "nonce is not 32 lowercase hex digits"),
    ("intent.json that is not JSON", _parse(b"{approve everything"),
     "invalid_intent", "not JSON"),
    ("a missing approval", _evaluate(policy("prod_db_copy"), roster(), [A.Proof("paula", "signed", ""), A.Proof("vera", "signed", "")]),
     "missing", "no approval for Government Technical Monitor"),
    ("two proofs by one person", _evaluate(policy(), roster(), [A.Proof("paula", "signed", ""), A.Proof("paula", "github_review", "")]),
     "duplicate_proof", "approved more than once"),
    ("a signed proof of the VTL while a GTM exists", _evaluate(policy(), roster(), [A.Proof("paula", "signed", ""), A.Proof("vera", "signed", "")]),
     "substitution_not_allowed", "may stand in for the Government Technical Monitor only while no one holds"),
    ("a GitHub review by someone not in the roster", lambda: A.proof_from_github_review(roster(), "octocat", "2026-11-28T12:00:00Z"),
     "unknown_github_login", "GitHub user @octocat is not in the roster"),
    ("a GitHub review that is not an approval",
     lambda: A.proof_from_github_review(roster(), "paula-gh", "", state="CHANGES_REQUESTED"),
     "not_an_approval", "is CHANGES_REQUESTED, not APPROVED"),
    ("an unknown policy", lambda: A.get_policy(A.load_policies(POLICIES), "prod_db_kopy"),
     "unknown_policy", "ops_approval_policies has no such policy"),
]


@pytest.mark.parametrize(("case", "call", "reason", "fragment"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refused_with_its_own_message(case, call, reason, fragment):
    with pytest.raises((A.Refused, A.ApprovalError)) as info:
        call()
    message = info.value.message
    assert info.value.reason == reason, message
    assert fragment in message


def test_every_refusal_message_is_distinct():
    messages = []
    for _case, call, _reason, _fragment in REFUSALS:
        with pytest.raises((A.Refused, A.ApprovalError)) as info:
            call()
        messages.append(info.value.message)
    assert len(set(messages)) == len(messages) >= 25


def test_load_errors_follow_the_house_wording():
    with pytest.raises(A.ApprovalError) as info:
        A.load_roster([dict(PEOPLE[0], role="x")])
    assert info.value.message.startswith("Failed to load the approval roster: ops_roster[0] (paula) has unknown key 'role'")
    assert info.value.message.endswith("Correct ops_roster in the inventory (see docs/approvals.md).")


# ---------------------------------------------------------------------------------------------
# Passing decisions


def test_release_needs_po_and_gtm():
    decision = A.evaluate(policy(), roster(), [A.Proof("gideon", "signed", "t1"), A.Proof("paula", "signed", "t2")])
    assert decision.granted
    assert [(a.id, a.role, a.substitute_for) for a in decision.approvals] == [
        ("paula", "product_owner", ""), ("gideon", "government_technical_monitor", "")]


def test_release_takes_the_vtl_while_the_gtm_role_is_vacant():
    ros = roster(NO_GTM, ["government_technical_monitor"])
    A.check_policy(policy(), ros)
    decision = A.evaluate(policy(), ros, [A.Proof("paula", "signed", ""), A.Proof("vera", "signed", "")])
    assert decision.granted
    assert decision.approvals[1].role == "government_technical_monitor"
    assert decision.approvals[1].substitute_for == "government_technical_monitor"
    # ... and the same vacancy does not make the production data copy possible
    with pytest.raises(A.ApprovalError, match="needs a Government Technical Monitor"):
        A.check_policy(policy("prod_db_copy"), ros)


def test_prod_db_copy_needs_all_three_and_ignores_extra_signers():
    proofs = [A.Proof(i, "signed", "", key_fingerprint=f"fp-{i}") for i in ("milo", "vera", "gideon", "paula")]
    decision = A.evaluate(policy("prod_db_copy"), roster(), proofs)
    assert decision.granted
    assert [a.id for a in decision.approvals] == ["paula", "gideon", "vera"]
    assert [p.approver for p in decision.unused] == ["milo"]


def test_typed_and_signed_proofs_go_through_the_same_evaluation():
    typed = [A.Proof("paula", "typed", "", role="product_owner"), A.Proof("gideon", "typed", "", role="government_technical_monitor")]
    assert A.evaluate(policy(), roster(), typed).granted
    wrong = [A.Proof("paula", "typed", "", role="government_technical_monitor")]
    decision = A.evaluate(policy(), roster(), wrong)
    assert [r.reason for r in decision.refusals] == ["wrong_role"]


def test_a_github_review_maps_to_the_roster_member():
    proofs = [A.proof_from_github_review(roster(), "Paula-GH", "2026-11-28T12:00:00Z"),
              A.proof_from_github_review(roster(), "gideon-gh", "2026-11-28T12:01:00Z")]
    assert proofs[0].approver == "paula" and proofs[0].method == "github_review"
    decision = A.evaluate(policy(methods=["github_review"]), roster(), proofs)
    assert decision.granted
    assert {a.method for a in decision.approvals} == {"github_review"}


def test_min_people_below_the_roles_lets_one_person_hold_two():
    pol = A.load_policy("small", {"required_roles": ["product_owner", "government_technical_monitor"], "min_people": 1})
    ros = roster(TWO_HATS)
    member, via = A.admit(pol, ros, "government_technical_monitor", "paula", method="typed", counted={"product_owner": "paula"})
    assert member.id == "paula" and via == ""
    assert A.evaluate(pol, ros, [A.Proof("paula", "signed", "")]).granted


def test_operator_may_approve_when_the_policy_allows():
    assert A.evaluate(policy(), roster(), [A.Proof("paula", "signed", ""), A.Proof("gideon", "signed", "")], operator="paula").granted
    decision = A.evaluate(policy(operator_may_approve=False), roster(),
                          [A.Proof("paula", "signed", ""), A.Proof("gideon", "signed", "")], operator="paula")
    assert [r.reason for r in decision.refusals] == ["operator_forbidden"]


def test_policies_that_need_no_approval_pass_every_check():
    pol = policy("scp_retrieve")
    assert not pol.needs_approval
    A.check_policy(pol, roster([]))
    assert A.evaluate(pol, roster([]), []).granted


# ---------------------------------------------------------------------------------------------
# Shipped inventory data


@pytest.mark.parametrize("env", ["production", "staging", "dev", "sandbox", "rehearsal"])
def test_every_inventory_ships_valid_policies(env):
    data = yaml.safe_load((REPO / f"inventories/{env}/group_vars/all/policies.yml").read_text())
    policies = A.load_policies(data["ops_approval_policies"])
    assert {"release", "prod_db_copy", "prod_ssh_access"} <= set(policies)
    assert policies["release"].required_roles == ("product_owner", "government_technical_monitor")
    assert policies["release"].substitutions == {"government_technical_monitor": ("vendor_tech_lead",)}
    assert set(policies["prod_db_copy"].required_roles) == {"product_owner", "government_technical_monitor", "vendor_tech_lead"}
    assert policies["prod_ssh_access"] == A.dataclasses.replace(
        policies["prod_db_copy"], name="prod_ssh_access", description=policies["prod_ssh_access"].description)
    assert not any(p.needs_approval for n, p in policies.items() if n not in ("release", "prod_db_copy", "prod_ssh_access"))


def test_the_production_roster_names_the_seed_contacts_and_refuses_until_filled():
    data = yaml.safe_load((REPO / "inventories/production/group_vars/all/roster.yml").read_text())
    ros = A.load_roster(data["ops_roster"], data["ops_roster_vacant_roles"])
    assert [(m.name, m.roles) for m in ros.members] == [
        ("Patrice Pascual", ("product_owner",)),
        ("Krys Wisnaskas", ("vendor_tech_lead",)),
        ("Angela Waner", ("vendor_product_manager",)),
    ]
    assert not ros.holders("government_technical_monitor") and not ros.vacant_roles
    hint = "fill inventories/production/group_vars/all/roster.yml"
    for name in ("release", "prod_db_copy", "prod_ssh_access"):
        with pytest.raises(A.ApprovalError) as info:
            A.check_policy(policy(name), ros, hint=hint)
        assert f"roster incomplete: Patrice Pascual has no github; {hint}" in info.value.message
    # Once the identities are filled in, release still waits for the GTM (or for the role to be declared vacant).
    filled = [dict(p, github=f"{p['id']}-gh", email=f"{p['id']}@acf.hhs.gov", ssh_public_key=fake_key(p["id"]))
              for p in data["ops_roster"]]
    with pytest.raises(A.ApprovalError, match="does not declare it vacant"):
        A.check_policy(policy("release"), A.load_roster(filled), hint=hint)


def test_the_rehearsal_roster_is_the_personas():
    from rehearsal import personas

    data = yaml.safe_load((REPO / "inventories/rehearsal/group_vars/all/roster.yml").read_text())
    assert [{k: p[k] for k in ("id", "name", "roles", "github", "email")} for p in data["ops_roster"]] == list(personas.PERSONAS)
    assert {r for p in personas.PERSONAS for r in p["roles"]} == set(A.ROLES)
    assert all("personas/" + p["id"] + ".pub" in p["ssh_public_key"] for p in data["ops_roster"])


# ---------------------------------------------------------------------------------------------
# Intents


def test_the_intent_format():
    value = intent()
    assert list(value) == list(A.INTENT_KEYS)
    assert value["format"] == "ttahub-ops-intent/1"
    assert value["target"] == {"org": "hhs-acf-ohs-tta", "space": "ttahub-prod", "app": "tta-smarthub-prod", "service": "ttahub-prod"}
    assert value["created"] == "2026-11-28T12:00:00Z" and value["not_after"] == "2026-11-28T14:00:00Z"
    assert A.parse_intent(A.render_intent(value)) == value
    assert A.compare_intents(value, intent(created=NOW + datetime.timedelta(minutes=5), nonce="f" * 32)) == []


def test_intent_codes_are_short_and_change_with_the_nonce():
    code = A.intent_code(intent())
    assert len(code) == 7 and code[3] == "-"
    assert A.intent_code(intent(nonce="1" * 32)) != code
    assert A.same_code(code.lower().replace("-", " "), code)
    assert not A.same_code("AAA-AAA", code)


def test_canonical_refuses_values_an_intent_cannot_carry():
    with pytest.raises(ValueError, match="parameters.when is a datetime"):
        A.canonical({"when": NOW})
    assert A.canonical({"b": (1, "x"), "a": {"c": None}}) == {"b": [1, "x"], "a": {"c": None}}


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1h30m", 5400), (600, 600)])
def test_durations(text, seconds):
    assert A.parse_duration(text) == seconds


def test_fingerprints_match_ssh_keygen(tmp_path):
    key = tmp_path / "k"
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {key}")
    out = os.popen(f"ssh-keygen -l -f {key}.pub").read().split()[1]
    assert A.public_key_fingerprint(key.with_suffix(".pub").read_text()) == out


def test_allowed_signers_lines():
    text = roster().allowed_signers()
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith('paula namespaces="ttahub-ops" ssh-ed25519 AAAA')
    assert "@test" not in text  # comments are dropped


# ---------------------------------------------------------------------------------------------
# Where the gate runs


@pytest.mark.parametrize(("environ", "callback", "expected"), [
    ({}, "ansible.builtin.default", ""),
    ({"ANSIBLE_STDOUT_CALLBACK": "awx_display"}, "", "stdout callback awx_display"),
    ({}, "awx_display", "stdout callback awx_display"),
    ({"AWX_ISOLATED_DATA_DIR": "/tmp/x/artifacts/1"}, "", "AWX_ISOLATED_DATA_DIR is set"),
    ({"RUNNER_OMIT_EVENTS": "False"}, "", "RUNNER_OMIT_EVENTS is set"),
    ({"ANSIBLE_CALLBACK_PLUGINS": "/venv/site-packages/ansible_runner/display_callback/callback"}, "", "its display callback"),
    ({"CI": "true"}, "", "CI is set"),
    ({"CI": "false"}, "", ""),
])
def test_noninteractive_detection(environ, callback, expected):
    reason = A.noninteractive_reason(environ, callback)
    assert (expected in reason) if expected else reason == ""


def test_audit_events_are_flat_and_drop_empty_fields():
    event = A.audit_event("approval_granted", approver="paula", role="product_owner", key_fingerprint="", approvers=["a"])
    assert event == {"event": "approval_granted", "approver": "paula", "role": "product_owner", "approvers": ["a"]}
    refused = A.Refused("expired", "old", approver="paula").event(sop="x")
    assert refused["event"] == "approval_expired" and refused["reason"] == "expired" and refused["sop"] == "x"
    assert json.dumps(refused)
