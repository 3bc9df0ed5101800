# SPDX-License-Identifier: GPL-3.0-or-later
"""The seeded world, the session config, tokens and one-time codes."""
from __future__ import annotations

import json
import stat

from conftest import Rehearsal

from rehearsal import API_URL, DEPLOYER, OPERATOR, ORG_NAME
from rehearsal import world as world_mod


def test_seed_writes_the_ttahub_world_of_ttadp(rehearsal: Rehearsal) -> None:
    rehearsal.seed()
    world = world_mod.load(rehearsal.home)
    assert world["api"]["url"] == API_URL == "https://api.rehearsal.cloud.gov.invalid"
    assert [o["name"] for o in world["orgs"].values()] == [ORG_NAME]
    spaces = {s["name"]: s for s in world["spaces"].values()}
    assert {name: s["allow_ssh"] for name, s in spaces.items()} == {
        "ttahub-prod": False, "ttahub-staging": True, "ttahub-dev": True, "ttahub-sandbox": True}
    apps = {a["name"]: a for a in world["apps"].values()}
    assert sorted(apps) == ["tta-smarthub-dev", "tta-smarthub-prod", "tta-smarthub-sandbox", "tta-smarthub-staging"]
    for name, app in apps.items():
        procs = {p["type"]: p for p in world_mod.processes_of(world, app["guid"])}
        assert sorted(procs) == ["web", "worker"]
        assert procs["web"]["guid"] != app["guid"], "a deployment happened: the web process has its own GUID"
        expected = (3, 2) if name == "tta-smarthub-prod" else (1, 1)
        assert (procs["web"]["instances"], procs["worker"]["instances"]) == expected
        space = world["spaces"][app["space_guid"]]
        assert space["name"] == name.replace("tta-smarthub-", "ttahub-")
        assert world_mod.find_service_instance(world, space["guid"], space["name"])["offering"] == "aws-rds"


def test_seed_writes_private_credentials_and_no_plain_password(rehearsal: Rehearsal) -> None:
    password = rehearsal.seed()
    creds = rehearsal.home / "credentials.env"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert creds.read_text(encoding="utf-8") == f"CF_USERNAME={DEPLOYER}\nCF_PASSWORD={password}\n"
    assert len(password) >= 24
    assert password not in (rehearsal.home / "world.json").read_text(encoding="utf-8")
    assert rehearsal.seed() != password, "each seed generates a new password"


def test_roles_let_the_operator_manage_spaces_and_the_service_account_only_develop(rehearsal: Rehearsal) -> None:
    rehearsal.seed()
    world = world_mod.load(rehearsal.home)
    deployer, operator = world_mod.find_user(world, DEPLOYER), world_mod.find_user(world, OPERATOR)
    assert deployer["kind"] == "service_account" and operator["kind"] == "sso" and operator["password"] is None
    for space in world["spaces"].values():
        assert world_mod.can_develop_space(world, deployer["guid"], space["guid"])
        assert not world_mod.can_manage_space(world, deployer["guid"], space["guid"])
        assert world_mod.can_manage_space(world, operator["guid"], space["guid"])


def test_the_session_config_uses_cf_key_names(ttahub: Rehearsal) -> None:
    result = ttahub.cf("target", "-s", "ttahub-dev")
    assert result.returncode == 0, result
    path = ttahub.cf_home / ".cf" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cfg = json.loads(path.read_text(encoding="utf-8"))
    assert cfg["ConfigVersion"] == 4
    assert cfg["Target"] == API_URL and cfg["APIVersion"] == "3.180.0"
    assert cfg["AccessToken"].startswith("bearer ") and cfg["RefreshToken"].endswith("-r")
    assert cfg["OrganizationFields"]["Name"] == ORG_NAME
    assert cfg["SpaceFields"]["Name"] == "ttahub-dev" and set(cfg["SpaceFields"]) == {"GUID", "Name", "AllowSSH"}
    assert cfg["UAAOAuthClient"] == "cf" and cfg["SSHOAuthClient"] == "ssh-proxy"


def test_revoked_tokens_fail_the_next_call_until_a_new_login(ttahub: Rehearsal) -> None:
    assert ttahub.cf("apps").returncode == 0
    assert world_mod.revoke_tokens(ttahub.home, DEPLOYER) >= 1
    result = ttahub.cf("apps")
    assert result.returncode == 1
    assert result.stderr == ("The token expired, was revoked, or the token ID is incorrect. "
                             "Please log back in to re-authenticate.\n")
    env = {"CF_USERNAME": DEPLOYER, "CF_PASSWORD": ttahub.credentials()["CF_PASSWORD"]}
    assert ttahub.cf("auth", env=env).returncode == 0
    assert ttahub.cf("target", "-o", ORG_NAME, "-s", "ttahub-prod").returncode == 0
    assert ttahub.cf("apps").returncode == 0


def test_sso_passcodes_are_single_use(rehearsal: Rehearsal) -> None:
    rehearsal.seed()
    code = world_mod.issue_passcode(rehearsal.home)
    argv = ("login", "-a", API_URL, "--sso-passcode", code, "-o", ORG_NAME, "-s", "ttahub-dev")
    assert rehearsal.cf(*argv).returncode == 0
    again = rehearsal.cf(*argv)
    assert again.returncode == 1
    assert again.stderr == "Credentials were rejected, please try again.\nUnable to authenticate.\n"
    assert "Not logged in. Use 'cf login' or 'cf login --sso' to log in.\n" in again.stdout
    assert again.stdout.endswith("FAILED\n")


def test_the_real_cloud_gov_api_is_never_used(rehearsal: Rehearsal) -> None:
    rehearsal.seed()
    result = rehearsal.cf("api", "https://api.fr.cloud.gov")
    assert result.returncode == 1
    assert result.stdout == "Setting API endpoint to https://api.fr.cloud.gov...\nFAILED\n"
    assert result.stderr.startswith('Request error: Get "https://api.fr.cloud.gov/": dial tcp: lookup')
    assert "TIP: If you are behind a firewall" in result.stderr
    assert rehearsal.config()["Target"] == ""


def test_ssh_codes_are_fresh_single_use_and_expire(ttahub: Rehearsal) -> None:
    first, second = ttahub.cf("ssh-code").stdout.strip(), ttahub.cf("ssh-code").stdout.strip()
    assert first != second
    assert world_mod.consume_ssh_code(ttahub.home, first) == {
        "user_guid": world_mod.find_user(world_mod.load(ttahub.home), DEPLOYER)["guid"], "username": DEPLOYER}
    assert world_mod.consume_ssh_code(ttahub.home, first) is None, "single use"
    assert world_mod.consume_ssh_code(ttahub.home, "not-a-code") is None
    world_mod.advance_clock(ttahub.home, world_mod.SSH_CODE_TTL_S + 1)
    assert world_mod.consume_ssh_code(ttahub.home, second) is None, "expired after 5 minutes"
    text = (ttahub.home / "world.json").read_text(encoding="utf-8") + (ttahub.home / "calls.jsonl").read_text()
    assert first not in text and second not in text


def test_world_helpers_refuse_unknown_names(rehearsal: Rehearsal) -> None:
    rehearsal.seed()
    for call in (lambda: world_mod.revoke_tokens(rehearsal.home, "nobody"),
                 lambda: world_mod.set_space_ssh(rehearsal.home, "no-such-space", True),
                 lambda: world_mod.set_app_ssh(rehearsal.home, "ttahub-dev", "no-such-app", True)):
        try:
            call()
        except world_mod.WorldError:
            continue
        raise AssertionError("expected WorldError")


def test_grant_and_revoke_role_change_what_cf_allows(ttahub: Rehearsal) -> None:
    assert ttahub.cf("allow-space-ssh", "ttahub-prod").returncode == 1
    world_mod.grant_role(ttahub.home, DEPLOYER, "space_manager", space="ttahub-prod")
    assert ttahub.cf("allow-space-ssh", "ttahub-prod").returncode == 0
    assert world_mod.revoke_role(ttahub.home, DEPLOYER, "space_developer", space="ttahub-prod") == 1
    result = ttahub.cf("enable-ssh", "tta-smarthub-prod")
    assert (result.returncode, result.stderr) == (1, "You are not authorized to perform the requested action\n")
