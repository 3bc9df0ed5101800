# SPDX-License-Identifier: GPL-3.0-or-later
"""The seeded world (ttadp.md §1: TTA Hub's org, spaces, apps and databases) and the builders it is made with.

The ``add_*`` builders take a world dict and return what they created; tests use them to build other worlds.
"""
from __future__ import annotations

import os
import random
import secrets
from typing import Any

from rehearsal import API_URL, API_VERSION, CLI_VERSION, DEPLOYER, DOMAIN, OPERATOR, ORG_NAME, V2_API_VERSION
from rehearsal.world import (ORG_ROLE_TYPES, SCHEMA, SPACE_ROLE_TYPES, World, WorldError, hash_password, locked,
                             new_guid, now, write_json_atomic, world_path)

NODE_BUILDPACK = "https://github.com/cloudfoundry/nodejs-buildpack.git"
# An engineer who left the project but still holds a role in production: the drift an access review must find.
DEPARTED = "departed.engineer@rehearsal.gov"

# ttadp.md §1: environment -> (space, app, database, web/worker sizing). Sandbox sizing is not recorded: dev's is used.
ENVIRONMENTS: dict[str, dict[str, Any]] = {
    "prod": {"space": "ttahub-prod", "app": "tta-smarthub-prod", "db": "ttahub-prod", "plan": "small-psql-replica",
             "web": (3, 4096), "worker": (2, 1024), "disk": 4096, "allow_ssh": False},
    "staging": {"space": "ttahub-staging", "app": "tta-smarthub-staging", "db": "ttahub-staging", "plan": "micro-psql",
                "web": (1, 2048), "worker": (1, 512), "disk": 2048, "allow_ssh": True},
    "dev": {"space": "ttahub-dev", "app": "tta-smarthub-dev", "db": "ttahub-dev", "plan": "micro-psql",
            "web": (1, 2048), "worker": (1, 512), "disk": 2048, "allow_ssh": True},
    "sandbox": {"space": "ttahub-sandbox", "app": "tta-smarthub-sandbox", "db": "ttahub-sandbox", "plan": "micro-psql",
                "web": (1, 2048), "worker": (1, 512), "disk": 2048, "allow_ssh": True},
}

MIGRATE_LOG = [
    "yarn run v1.22.22",
    "$ sequelize db:migrate --options-path .production.sequelizerc && yarn cli:updateMonitoringFactTables",
    "Sequelize CLI [Node: 20.19.0, CLI: 6.6.2, ORM: 6.37.5]",
    "Loaded configuration file \"src/lib/db/config.js\".",
    "Using environment \"production\".",
    "No migrations were executed, database schema was already up to date.",
    "Done in 4.18s.",
]


def empty_world(*, api_url: str = API_URL) -> World:
    """A world with no orgs, users or apps."""
    return {
        "schema": SCHEMA,
        "clock_offset_s": 0.0,
        "api": {
            "url": api_url,
            "version": API_VERSION,
            "v2_version": V2_API_VERSION,
            "login_url": f"https://login.{DOMAIN}",
            "uaa_url": f"https://uaa.{DOMAIN}",
            "doppler_url": f"wss://doppler.{DOMAIN}:443",
            "log_cache_url": f"https://log-cache.{DOMAIN}",
            "routing_url": f"{api_url}/routing",
        },
        "cli": {"version": CLI_VERSION, "poll_interval_s": 0.2},
        "global": {"allow_app_ssh_access": True},
        "ssh_proxy": {"host": "127.0.0.1", "port": 2222, "host_key_fingerprint": ""},
        "network": {"hosts": {}},
        "orgs": {}, "spaces": {}, "apps": {}, "processes": {}, "droplets": {}, "deployments": {},
        "service_instances": {}, "service_keys": {}, "users": {}, "roles": {}, "tasks": {},
        "task_behaviours": {}, "logs": {}, "datasets": {}, "tokens": {}, "ssh_codes": {}, "passcodes": {},
    }


def _stamp(world: World, ts: float | None = None) -> dict[str, float]:
    t = now(world) if ts is None else ts
    return {"created_at": t, "updated_at": t}


def add_org(world: World, name: str, *, ts: float | None = None) -> dict[str, Any]:
    org = {"guid": new_guid(), "name": name, "suspended": False, **_stamp(world, ts)}
    world["orgs"][org["guid"]] = org
    return org


def add_space(world: World, org: dict[str, Any], name: str, *, allow_ssh: bool = True,
              ts: float | None = None) -> dict[str, Any]:
    space = {"guid": new_guid(), "name": name, "org_guid": org["guid"], "allow_ssh": allow_ssh,
             "security_groups": {"running": ["public_networks_egress", "trusted_local_networks_egress"],
                                 "staging": ["public_networks_egress"]},
             **_stamp(world, ts)}
    world["spaces"][space["guid"]] = space
    return space


def add_user(world: World, username: str, *, password: str | None = None, origin: str = "uaa",
             kind: str = "user", email: str | None = None, ts: float | None = None) -> dict[str, Any]:
    """A user; PASSWORD None means SSO only (``cf auth`` rejects it, ``cf login --sso-passcode`` works)."""
    user = {"guid": new_guid(), "username": username, "origin": origin, "kind": kind,
            "email": email or (username if "@" in username else f"{username}@{DOMAIN}"),
            "password": hash_password(password) if password is not None else None, "admin": False,
            **_stamp(world, ts)}
    world["users"][user["guid"]] = user
    return user


def add_role(world: World, user: dict[str, Any], role_type: str, *, org: dict[str, Any] | None = None,
             space: dict[str, Any] | None = None) -> str:
    """A v3 role; any other role also makes the user an org user, as CC requires."""
    if role_type in SPACE_ROLE_TYPES:
        if space is None:
            raise WorldError(f"{role_type} needs a space")
        org_guid = space["org_guid"]
    elif role_type in ORG_ROLE_TYPES:
        if org is None:
            raise WorldError(f"{role_type} needs an org")
        org_guid = org["guid"]
    else:
        raise WorldError(f"unknown role type {role_type!r}")
    for guid, role in world["roles"].items():
        if (role["user_guid"], role["type"], role.get("org_guid"), role.get("space_guid")) == (
                user["guid"], role_type, org_guid, space["guid"] if role_type in SPACE_ROLE_TYPES and space else None):
            return guid
    if role_type != "organization_user":
        add_role(world, user, "organization_user", org=world["orgs"][org_guid])
    role = {"guid": new_guid(), "type": role_type, "user_guid": user["guid"], "org_guid": org_guid,
            "space_guid": space["guid"] if role_type in SPACE_ROLE_TYPES and space else None, **_stamp(world)}
    world["roles"][role["guid"]] = role
    return role["guid"]


def add_app(world: World, space: dict[str, Any], name: str, *, state: str = "STARTED", enable_ssh: bool = True,
            routes: list[str] | None = None, stack: str = "cflinuxfs4",
            buildpacks: list[dict[str, str]] | None = None, uploaded_at: float | None = None,
            deployed: bool = True, ts: float | None = None) -> dict[str, Any]:
    """An app with a current droplet. ``deployed``: it has had a deployment, so its web process GUID (added with
    ``add_process``) differs from the app GUID (cf-cli.md §5)."""
    created = now(world) - 30 * 86400 if ts is None else ts
    app = {"guid": new_guid(), "name": name, "space_guid": space["guid"], "state": state, "enable_ssh": enable_ssh,
           "routes": list(routes or []), "lifecycle": {"type": "buildpack", "stack": stack},
           "task_seq": 0, "deployed": deployed, "environment": {}, **_stamp(world, created)}
    droplet = {"guid": new_guid(), "app_guid": app["guid"], "state": "STAGED", "stack": stack,
               "buildpacks": list(buildpacks or []),
               **_stamp(world, now(world) - 2 * 86400 if uploaded_at is None else uploaded_at)}
    app["droplet_guid"] = droplet["guid"]
    app["revision"] = {"guid": new_guid(), "version": 2 if deployed else 1}
    world["apps"][app["guid"]] = app
    world["droplets"][droplet["guid"]] = droplet
    if deployed:
        deployment = {"guid": new_guid(), "app_guid": app["guid"], "state": "DEPLOYED",
                      "status": {"value": "FINALIZED", "reason": "DEPLOYED"}, "strategy": "rolling",
                      "droplet_guid": droplet["guid"], "revision_guid": app["revision"]["guid"],
                      **_stamp(world, droplet["created_at"])}
        world["deployments"][deployment["guid"]] = deployment
    return app


def add_process(world: World, app: dict[str, Any], process_type: str, *, instances: int = 1, memory_in_mb: int = 1024,
                disk_in_mb: int = 1024, log_rate_limit: int = 16384, command: str | None = None,
                started_at: float | None = None) -> dict[str, Any]:
    """A process. The web process of a never-deployed app shares the app's GUID (cf-cli.md §5)."""
    guid = app["guid"] if process_type == "web" and not app.get("deployed") else new_guid()
    start = now(world) - 2 * 86400 if started_at is None else started_at
    proc = {"guid": guid, "app_guid": app["guid"], "type": process_type, "command": command,
            "instances": instances, "memory_in_mb": memory_in_mb, "disk_in_mb": disk_in_mb,
            "log_rate_limit_in_bytes_per_second": log_rate_limit,
            "health_check": {"type": "port" if process_type == "web" else "process", "data": {"timeout": None}},
            "started_at": start, "instance_overrides": {}, **_stamp(world, start)}
    world["processes"][guid] = proc
    return proc


def add_service_instance(world: World, space: dict[str, Any], name: str, *, offering: str = "aws-rds",
                         plan: str = "micro-psql", credentials: dict[str, Any] | None = None,
                         bound_apps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    instance = {"guid": new_guid(), "name": name, "space_guid": space["guid"], "type": "managed",
                "offering": offering, "plan": plan, "plan_guid": new_guid(), "broker": "aws-broker", "tags": [],
                "credentials": dict(credentials or {}), "bound_app_guids": [a["guid"] for a in bound_apps or []],
                "last_operation": {"type": "create", "state": "succeeded", "description": ""},
                **_stamp(world, now(world) - 400 * 86400)}
    world["service_instances"][instance["guid"]] = instance
    return instance


def rds_credentials(db_name: str, host: str) -> dict[str, str]:
    """Credentials shaped like cloud.gov's aws-rds broker's (random user and password)."""
    username = "u" + secrets.token_hex(7)
    password = "p" + secrets.token_urlsafe(18)
    return {"db_name": db_name, "host": host, "name": db_name, "password": password, "port": "5432",
            "uri": f"postgres://{username}:{password}@{host}:5432/{db_name}", "username": username}


def canned_dataset(seed_value: str) -> dict[str, Any]:
    """Deterministic row counts for the ``yarn db:validation`` runner (ttadp.md §5, §9)."""
    rng = random.Random(seed_value)
    tables = {}
    for table in ("ActivityReports", "Files", "Goals", "Objectives", "NextSteps", "Recipients", "Grants", "Users"):
        tables[table] = {"count": rng.randint(200, 90000), "updated_at": "2026-11-01T23:41:07.123Z"}
    grants = [{"regionId": r, "status": s, "count": str(rng.randint(5, 900))}
              for r in range(1, 13) for s in ("Active", "Inactive")]
    reports = [{"regionId": r, "submissionStatus": s, "count": str(rng.randint(1, 4000))}
               for r in range(1, 13) for s in ("approved", "draft", "submitted")]
    return {"tables": tables, "grants_counts": grants, "activity_reports_counts": reports}


def build_ttahub_world() -> tuple[World, str]:
    """The world of ttadp.md §1. Returns (world, the CI service account's generated password)."""
    world = empty_world()
    t0 = now(world)
    org = add_org(world, ORG_NAME, ts=t0 - 900 * 86400)
    # Never a leading '-': cf (and the call log's redaction) would read such a password on argv as a flag.
    deployer_password = "s" + secrets.token_urlsafe(24)
    deployer = add_user(world, DEPLOYER, password=deployer_password, origin="uaa", kind="service_account")
    operator = add_user(world, OPERATOR, origin="rehearsal.gov", kind="sso")
    add_role(world, operator, "organization_manager", org=org)
    departed = add_user(world, DEPARTED, origin="rehearsal.gov", kind="sso")
    world["task_behaviours"] = {
        "yarn db:migrate:prod": {"seconds": 1, "result": "SUCCEEDED", "log": list(MIGRATE_LOG)},
        "yarn db:validation": {"seconds": 1, "result": "SUCCEEDED", "runner": "db_validation"},
    }
    for env in ENVIRONMENTS.values():
        space = add_space(world, org, env["space"], allow_ssh=env["allow_ssh"], ts=t0 - 800 * 86400)
        add_role(world, deployer, "space_developer", space=space)
        add_role(world, operator, "space_developer", space=space)
        add_role(world, operator, "space_manager", space=space)
        if env["space"] == "ttahub-prod":
            add_role(world, departed, "space_auditor", space=space)
        app = add_app(world, space, env["app"], enable_ssh=env["allow_ssh"],
                      routes=[f"{env['app']}.app.{DOMAIN}"],
                      buildpacks=[{"name": NODE_BUILDPACK, "version": "1.8.38", "detect_output": "nodejs",
                                   "buildpack_name": "nodejs"}])
        web_n, web_mem = env["web"]
        worker_n, worker_mem = env["worker"]
        add_process(world, app, "web", instances=web_n, memory_in_mb=web_mem, disk_in_mb=env["disk"],
                    command="yarn start:be")
        add_process(world, app, "worker", instances=worker_n, memory_in_mb=worker_mem, disk_in_mb=env["disk"],
                    command="yarn start:worker")
        host = f"{env['db']}.db.{DOMAIN}"
        world["network"]["hosts"][host] = "127.0.0.1"
        add_service_instance(world, space, env["db"], plan=env["plan"],
                             credentials=rds_credentials(env["db"].replace("-", "_"), host), bound_apps=[app])
        world["datasets"][env["db"]] = canned_dataset(env["db"])
        lines = world["logs"].setdefault(app["guid"], [])
        started = t0 - 2 * 86400
        for i in range(web_n):
            lines.append({"ts": started + 5 + i, "source": f"APP/PROC/WEB/{i}", "stream": "OUT",
                          "message": "Listening on port 8080"})
        for i in range(worker_n):
            lines.append({"ts": started + 6 + i, "source": f"APP/PROC/WORKER/{i}", "stream": "OUT",
                          "message": "Worker started, waiting for jobs"})
    return world, deployer_password


def write_fresh_world(home: str) -> str:
    """Write a fresh world and HOME/credentials.env (mode 0600). Call with HOME's lock held."""
    os.makedirs(home, exist_ok=True)
    world, password = build_ttahub_world()
    write_json_atomic(world_path(home), world)
    creds = os.path.join(home, "credentials.env")
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"CF_USERNAME={DEPLOYER}\nCF_PASSWORD={password}\n")
    os.chmod(creds, 0o600)
    return world_path(home)


def seed(home: str | os.PathLike[str] | None = None) -> str:
    """A fresh world under HOME (REHEARSAL_HOME): world.json, credentials.env; the call log and faults are cleared."""
    from rehearsal.world import resolve_home  # pylint: disable=import-outside-toplevel

    path_home = resolve_home(home)
    with locked(path_home):
        for name in ("calls.jsonl", "faults.json", "calls.seq"):
            if os.path.exists(os.path.join(path_home, name)):
                os.unlink(os.path.join(path_home, name))
        return write_fresh_world(path_home)
