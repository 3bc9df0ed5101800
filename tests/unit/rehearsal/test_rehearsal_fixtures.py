# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulator against the recorded cf v8 output in tests/fixtures/cf_v8, and the fixtures against cf-cli.md."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from conftest import EXAMPLE_USER, FIXTURES, REFERENCE, Rehearsal

from rehearsal import API_URL, DEPLOYER, OPERATOR, ORG_NAME, seed
from rehearsal import tasks as tasks_mod
from rehearsal import world as world_mod

PLACEHOLDER = re.compile(r"\{([A-Z_]+)\}")
CODE = re.compile(r"[A-Za-z0-9]{10}")
EXAMPLE = {"ORG": "my-org", "SPACE": "dev", "USER": EXAMPLE_USER, "API": API_URL}


def load_fixture(name: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / f"{name}.yml").read_text(encoding="utf-8"))


def fill(template: str, values: dict[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def as_regex(template: str, values: dict[str, Any]) -> str:
    """The template as a regex: literal text escaped, each placeholder its value (or its pattern)."""
    out, last = [], 0
    for match in PLACEHOLDER.finditer(template):
        out.append(re.escape(template[last:match.start()]))
        value = values[match.group(1)]
        out.append(value.pattern if isinstance(value, re.Pattern) else re.escape(str(value)))
        last = match.end()
    out.append(re.escape(template[last:]))
    return "".join(out)


def assert_same(actual: str, template: str, values: dict[str, Any]) -> None:
    if any(isinstance(v, re.Pattern) for v in values.values()):
        assert re.fullmatch(as_regex(template, values), actual, re.S), f"{actual!r} !~ {template!r}"
    else:
        assert actual == fill(template, values)


# --- scenarios: bring the world and the session to the state the recorded output needs --------------------------------
# Each returns the values of the fixture's placeholders in this world (and may add to rehearsal.env).

Scenario = Callable[[Rehearsal], dict[str, Any]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(*names: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        for name in names:
            SCENARIOS[name] = fn
        return fn
    return register


def deployer(r: Rehearsal, space: str | None = "ttahub-prod") -> dict[str, Any]:
    r.seed()
    r.login(DEPLOYER, org=ORG_NAME, space=space)
    return {"USER": DEPLOYER, "ORG": ORG_NAME, "SPACE": space, "API": API_URL}


def operator(r: Rehearsal, space: str | None = None) -> dict[str, Any]:
    r.seed()
    r.login(OPERATOR, org=ORG_NAME, space=space)
    return {"USER": OPERATOR, "ORG": ORG_NAME, "SPACE": space, "API": API_URL}


def app_guid(r: Rehearsal, space: str, app: str) -> str:
    with r.world() as world:
        return world_mod.app_by_names(world, space, app)["guid"]


@scenario("version", "unknown_command", "incorrect_usage_missing_argument", "incorrect_usage_unknown_flag",
          "incorrect_usage_unexpected_argument", "target_check_no_api", "api_view_unset")
def nothing(r: Rehearsal) -> dict[str, Any]:
    r.seed()
    return {}


@scenario("target_check_not_logged_in", "api_unset", "curl_not_authenticated")
def api_targeted(r: Rehearsal) -> dict[str, Any]:
    r.seed()
    r.api_only()
    return {}


@scenario("target_check_no_org")
def no_org(r: Rehearsal) -> dict[str, Any]:
    r.seed()
    r.login(DEPLOYER)
    return {}


@scenario("target_check_no_space")
def no_space(r: Rehearsal) -> dict[str, Any]:
    return deployer(r, space=None)


@scenario("token_expired")
def token_expired(r: Rehearsal) -> dict[str, Any]:
    values = deployer(r)
    world_mod.revoke_tokens(r.home, DEPLOYER)
    return values | {"APP": "tta-smarthub-prod"}


@scenario("ssh_code_token_expired")
def ssh_code_token_expired(r: Rehearsal) -> dict[str, Any]:
    values = deployer(r)
    world_mod.revoke_tokens(r.home, DEPLOYER)
    return values


@scenario("api_set")
def api_set(r: Rehearsal) -> dict[str, Any]:
    r.seed()
    return {"API_HOST": API_URL.removeprefix("https://"), "API": API_URL}


@scenario("auth_success")
def auth(r: Rehearsal) -> dict[str, Any]:
    password = r.seed()
    r.api_only()
    r.env.update(CF_USERNAME=DEPLOYER, CF_PASSWORD=password)
    return {"API": API_URL}


@scenario("auth_rejected")
def auth_rejected(r: Rehearsal) -> dict[str, Any]:
    values = auth(r)
    r.env["CF_PASSWORD"] = "not-the-password"
    return values


@scenario("target")
def target(r: Rehearsal) -> dict[str, Any]:
    r.build()
    r.login(EXAMPLE_USER, org="my-org", space="dev")
    return dict(EXAMPLE)


@scenario("target_no_space")
def target_no_space(r: Rehearsal) -> dict[str, Any]:
    return operator(r)


@scenario("target_org_not_found")
def target_org_not_found(r: Rehearsal) -> dict[str, Any]:
    return deployer(r) | {"ORG": "no-such-org"}


@scenario("target_space_not_found", "space_not_found", "allow_space_ssh_space_not_found")
def space_not_found(r: Rehearsal) -> dict[str, Any]:
    return operator(r) | {"SPACE": "no-such-space"}


@scenario("login_sso_passcode")
def login_sso(r: Rehearsal) -> dict[str, Any]:
    r.seed()
    return {"API": API_URL, "PASSCODE": world_mod.issue_passcode(r.home), "USER": OPERATOR, "ORG": ORG_NAME,
            "SPACE": "ttahub-dev"}


@scenario("app_guid")
def app_guid_values(r: Rehearsal) -> dict[str, Any]:
    return deployer(r) | {"APP": "tta-smarthub-prod", "APP_GUID": app_guid(r, "ttahub-prod", "tta-smarthub-prod")}


@scenario("curl_v3_not_found", "curl_fail")
def missing_app_guid(r: Rehearsal) -> dict[str, Any]:
    return deployer(r) | {"APP_GUID": world_mod.new_guid()}


@scenario("app_guid_not_found", "app_not_found", "enable_ssh_app_not_found")
def app_not_found(r: Rehearsal) -> dict[str, Any]:
    return deployer(r) | {"APP": "no-such-app"}


def example_app(world: dict[str, Any], org: dict[str, Any], space: dict[str, Any]) -> None:
    """cf-cli.md §3.5's app: one web process, #0 running, #1 starting."""
    app = seed.add_app(world, space, "my-app", routes=["my-app.app.cloud.gov"],
                       buildpacks=[{"name": "python_buildpack", "version": "1.8.20", "detect_output": "python",
                                    "buildpack_name": "python"}],
                       uploaded_at=world_mod.parse_iso("2024-05-01T12:00:00Z"))
    web = seed.add_process(world, app, "web", instances=2, memory_in_mb=512, disk_in_mb=1024, log_rate_limit=16384)
    web["instance_overrides"] = {
        "0": {"state": "RUNNING", "since": "2024-05-01T12:00:05Z", "cpu": 0.003, "mem": 102865715,
              "disk": 220725248, "log_rate": 1024, "cpu_entitlement": 0.031, "routable": True},
        "1": {"state": "STARTING", "since": "2024-05-01T12:01:10Z", "cpu": 0.0, "mem": 0, "disk": 0,
              "log_rate": 0, "cpu_entitlement": None, "routable": False},
    }


@scenario("app")
def app_full(r: Rehearsal) -> dict[str, Any]:
    r.build(example_app)
    r.login(EXAMPLE_USER, org="my-org", space="dev")
    return {}


@scenario("space_guid")
def space_guid(r: Rehearsal) -> dict[str, Any]:
    values = deployer(r)
    with r.world() as world:
        guid = next(s["guid"] for s in world["spaces"].values() if s["name"] == "ttahub-dev")
    return values | {"SPACE": "ttahub-dev", "SPACE_GUID": guid}


def example_apps(world: dict[str, Any], org: dict[str, Any], space: dict[str, Any]) -> None:
    """cf-cli.md §3.7's apps: my-app (web 2/2, worker 1/1) and a stopped one."""
    app = seed.add_app(world, space, "my-app", routes=["my-app.app.cloud.gov"])
    seed.add_process(world, app, "web", instances=2)
    seed.add_process(world, app, "worker", instances=1)
    other = seed.add_app(world, space, "other", state="STOPPED")
    seed.add_process(world, other, "web", instances=1)


@scenario("apps")
def apps(r: Rehearsal) -> dict[str, Any]:
    r.build(example_apps)
    r.login(EXAMPLE_USER, org="my-org", space="dev")
    return {}


@scenario("apps_empty")
def apps_empty(r: Rehearsal) -> dict[str, Any]:
    r.build()
    r.login(EXAMPLE_USER, org="my-org", space="dev")
    return dict(EXAMPLE)


@scenario("ssh_code")
def ssh_code(r: Rehearsal) -> dict[str, Any]:
    return deployer(r) | {"CODE": CODE}


@scenario("ssh_enabled", "enable_ssh_already", "disable_ssh")
def dev_app(r: Rehearsal) -> dict[str, Any]:
    return deployer(r, "ttahub-dev") | {"APP": "tta-smarthub-dev"}


@scenario("ssh_enabled_disabled_space", "enable_ssh_space_disallowed", "disable_ssh_already")
def prod_app(r: Rehearsal) -> dict[str, Any]:
    return deployer(r) | {"APP": "tta-smarthub-prod"}


@scenario("ssh_enabled_disabled_app", "enable_ssh")
def dev_app_ssh_off(r: Rehearsal) -> dict[str, Any]:
    values = dev_app(r)
    world_mod.set_app_ssh(r.home, "ttahub-dev", "tta-smarthub-dev", False)
    return values


@scenario("ssh_enabled_disabled_globally")
def ssh_off_globally(r: Rehearsal) -> dict[str, Any]:
    values = dev_app(r)
    world_mod.set_global_ssh(r.home, False)
    return values


@scenario("space_ssh_allowed_enabled", "allow_space_ssh_already", "disallow_space_ssh")
def dev_space(r: Rehearsal) -> dict[str, Any]:
    return operator(r) | {"SPACE": "ttahub-dev"}


@scenario("space_ssh_allowed_disabled", "allow_space_ssh", "disallow_space_ssh_already")
def prod_space(r: Rehearsal) -> dict[str, Any]:
    return operator(r) | {"SPACE": "ttahub-prod"}


@scenario("allow_space_ssh_not_authorized")
def prod_space_as_developer(r: Rehearsal) -> dict[str, Any]:
    return deployer(r, None) | {"SPACE": "ttahub-prod"}


@scenario("curl_unknown_request")
def curl_logged_in(r: Rehearsal) -> dict[str, Any]:
    return deployer(r)


@scenario("curl_pagination_empty")
def curl_pagination(r: Rehearsal) -> dict[str, Any]:
    return deployer(r)


def example_tasks(world: dict[str, Any], org: dict[str, Any], space: dict[str, Any]) -> None:
    """cf-cli.md §3.11's tasks: #1 failed with its command hidden, #2 migrate succeeded."""
    app = seed.add_app(world, space, "my-app")
    seed.add_process(world, app, "web")
    user = world_mod.find_user(world, EXAMPLE_USER)
    for name, command, created, result in (("7c2fc7a5", "", "2024-05-01T11:00:02Z", "FAILED"),
                                           ("migrate", "rake db:migrate", "2024-05-01T12:00:41Z", "SUCCEEDED")):
        task = tasks_mod.create(world, app, command=command, user_guid=user["guid"], name=name,
                                created_at=world_mod.parse_iso(created))
        task["behaviour"] = {"seconds": 0, "result": result}


@scenario("tasks", "run_task")
def tasks(r: Rehearsal) -> dict[str, Any]:
    r.build(example_tasks)
    r.login(EXAMPLE_USER, org="my-org", space="dev")
    return {}


def migrate(r: Rehearsal, result: str) -> dict[str, Any]:
    values = deployer(r, "ttahub-dev")
    world_mod.set_task_behaviour(r.home, "yarn db:migrate:prod", seconds=0.3, result=result)
    return values | {"APP": "tta-smarthub-dev", "COMMAND": "yarn db:migrate:prod", "TASK_NAME": "migrate",
                     "TASK_ID": "1"}


@scenario("run_task_wait")
def migrate_succeeds(r: Rehearsal) -> dict[str, Any]:
    return migrate(r, "SUCCEEDED")


@scenario("run_task_wait_failed")
def migrate_fails(r: Rehearsal) -> dict[str, Any]:
    return migrate(r, "FAILED")


@scenario("tasks_none")
def tasks_none(r: Rehearsal) -> dict[str, Any]:
    r.build(lambda world, org, space: seed.add_app(world, space, "my-app"))
    r.login(EXAMPLE_USER, org="my-org", space="dev")
    return dict(EXAMPLE) | {"APP": "my-app"}


def dev_task(r: Rehearsal, seconds: float | None) -> dict[str, Any]:
    values = dev_app(r)
    with r.world() as world:
        app = world_mod.app_by_names(world, "ttahub-dev", "tta-smarthub-dev")
        task = tasks_mod.create(world, app, command="sleep 3600", user_guid=world_mod.find_user(world, DEPLOYER)["guid"],
                                created_at=world_mod.now(world) - 1)
        task["behaviour"] = {"seconds": seconds, "result": "SUCCEEDED"}
    return values | {"TASK_ID": "1"}


@scenario("terminate_task")
def running_task(r: Rehearsal) -> dict[str, Any]:
    return dev_task(r, None)


@scenario("terminate_task_finished")
def finished_task(r: Rehearsal) -> dict[str, Any]:
    return dev_task(r, 0)


@scenario("terminate_task_not_found")
def no_task(r: Rehearsal) -> dict[str, Any]:
    return dev_app(r) | {"TASK_ID": "9"}


@scenario("terminate_task_bad_id")
def bad_task_id(r: Rehearsal) -> dict[str, Any]:
    return dev_app(r)


def example_logs(world: dict[str, Any], org: dict[str, Any], space: dict[str, Any]) -> None:
    app = seed.add_app(world, space, "my-app")
    seed.add_process(world, app, "web")
    base = world_mod.parse_iso("2024-05-01T16:00:41Z")
    world["logs"][app["guid"]] = [
        {"ts": base + 0.52, "source": "APP/PROC/WEB/0", "stream": "OUT", "message": "Listening on 8080"},
        {"ts": base + 1.10, "source": "APP/TASK/migrate/0", "stream": "ERR", "message": "some error"},
    ]


@scenario("logs_recent")
def logs_recent(r: Rehearsal) -> dict[str, Any]:
    r.build(example_logs)
    r.login(EXAMPLE_USER, org="my-org", space="dev")
    r.env["TZ"] = "EST5EDT,M3.2.0,M11.1.0"
    return {}


def prod_db(r: Rehearsal) -> dict[str, Any]:
    values = deployer(r)
    with r.world() as world:
        si = next(s for s in world["service_instances"].values() if s["name"] == "ttahub-prod")
    return values | {"SI": "ttahub-prod", "SI_GUID": si["guid"], "KEY": "SERVICE_CONNECT"}


def add_key(r: Rehearsal, credentials: dict[str, str] | None = None) -> str:
    with r.world() as world:
        si = next(s for s in world["service_instances"].values() if s["name"] == "ttahub-prod")
        key = {"guid": world_mod.new_guid(), "name": "SERVICE_CONNECT", "service_instance_guid": si["guid"],
               "credentials": credentials or dict(si["credentials"]), "created_at": world_mod.now(world),
               "updated_at": world_mod.now(world)}
        world["service_keys"][key["guid"]] = key
    return key["guid"]


@scenario("service_guid", "create_service_key", "service_key_not_found")
def service_values(r: Rehearsal) -> dict[str, Any]:
    return prod_db(r)


@scenario("service_not_found")
def service_not_found(r: Rehearsal) -> dict[str, Any]:
    return deployer(r) | {"SI": "no-such-service"}


@scenario("create_service_key_exists", "service_key", "service_key_guid")
def existing_key(r: Rehearsal) -> dict[str, Any]:
    values = prod_db(r)
    guid = add_key(r, {"username": "u-rehearsal"})
    return values | {"KEY_GUID": guid, "DB_USER": "u-rehearsal"}


# --- the tests ---------------------------------------------------------------------------------------------------------

def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.yml"))


def test_every_fixture_has_an_emulator_scenario() -> None:
    missing = [name for name in fixture_names() if name not in SCENARIOS]
    assert not missing, f"fixtures the emulator is not checked against: {missing}"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_emulator_reproduces_recorded_output(name: str, rehearsal: Rehearsal) -> None:
    case = load_fixture(name)
    values = SCENARIOS[name](rehearsal)
    result = rehearsal.cf(*[fill(arg, values) for arg in case["argv"]])
    assert result.returncode == case["rc"], result
    assert_same(result.stderr, case["stderr"], values)
    expected = case["stdout"]
    if expected is None:
        assert "USAGE:\n" in result.stdout
        if case.get("stdout_note", "").startswith("FAILED"):
            assert result.stdout.startswith("FAILED\n\nNAME:\n")
        else:
            assert result.stdout.startswith("NAME:\n")
        return
    for diff in case.get("emulator_differs", []):
        expected = expected.replace(diff["reference"], diff["emulator"])
    if case.get("compare") == "json":
        assert json.loads(result.stdout) == json.loads(fill(expected, values))
    else:
        assert_same(result.stdout, expected, values)


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference/cf-cli.md is not present")
@pytest.mark.parametrize("name", fixture_names())
def test_fixture_lines_still_appear_in_the_reference(name: str) -> None:
    """Every literal line of a fixture (placeholders matching any text) is a line fragment of cf-cli.md."""
    reference_lines = REFERENCE.read_text(encoding="utf-8").replace("⇥", "\t").splitlines()
    case = load_fixture(name)
    assert case["source"].startswith("cf-cli.md §")
    for diff in case.get("emulator_differs", []):
        assert diff["reference"] in case["stdout"]
    texts = [t for t in (case["stdout"], case["stderr"]) if t]
    missing = []
    for line in (line for text in texts for line in text.split("\n") if line.strip()):
        pattern = re.compile(as_regex(line, {k: re.compile(".+?") for k in PLACEHOLDER.findall(line)}))
        if not any(pattern.search(ref) for ref in reference_lines):
            missing.append(line)
    assert not missing, f"{name}: lines not in cf-cli.md: {missing}"


def test_the_drift_check_can_fail() -> None:
    """A line cf-cli.md never shows is caught (guards against a vacuous drift check)."""
    reference = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else "ssh support is enabled in space 'X'."
    invented = re.compile(as_regex("ssh support is switched on in space '{SPACE}'.", {"SPACE": re.compile(".+?")}))
    real = re.compile(as_regex("ssh support is enabled in space '{SPACE}'.", {"SPACE": re.compile(".+?")}))
    assert not any(invented.search(line) for line in reference.splitlines())
    assert any(real.search(line) for line in reference.splitlines())
