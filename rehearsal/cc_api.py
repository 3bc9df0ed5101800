# SPDX-License-Identifier: GPL-3.0-or-later
"""Cloud Controller routes over the world (what ``cf curl`` reaches), with CC's v3 JSON (cf-cli.md §5).

``handle(world, user, request)`` is transport-free so a later HTTP front end can reuse it. ``user`` is None for an
unauthenticated request. Presenters and ``process_stats`` are shared with the cf commands.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from rehearsal import tasks as tasks_mod
from rehearsal import world as w
from rehearsal.world import World

JSON = dict[str, Any]
REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 422: "Unprocessable Entity", 500: "Internal Server Error"}
NOT_AUTHORIZED = "You are not authorized to perform the requested action"
UNKNOWN_REQUEST = {"description": "Unknown request", "error_code": "CF-NotFound", "code": 10000}
NOT_AUTHENTICATED = {"description": "Authentication error", "error_code": "CF-NotAuthenticated", "code": 10002}


class Request:
    def __init__(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.method, self.path, self.query, self.body = method, path, query, body
        self.headers = headers or {}

    @classmethod
    def from_target(cls, method: str, target: str, body: bytes | None = None,
                    headers: dict[str, str] | None = None) -> Request:
        from urllib.parse import parse_qs  # pylint: disable=import-outside-toplevel

        path, _, query = target.partition("?")
        return cls(method.upper(), path or "/", parse_qs(query, keep_blank_values=True), body, headers or {})

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def filter(self, name: str) -> list[str] | None:
        """A comma-separated list filter (``names=a,b``), or None when absent."""
        value = self.param(name)
        return None if value is None else [v for v in value.split(",") if v != ""]

    def json_body(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else {}


class Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers

    @property
    def reason(self) -> str:
        return REASONS.get(self.status, "")

    def json(self) -> Any:
        return json.loads(self.body)


class ApiError(Exception):
    def __init__(self, status: int, code: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail

    def body(self) -> JSON:
        return {"errors": [{"code": self.code, "title": self.title, "detail": self.detail}]}


def not_found(resource: str) -> ApiError:
    return ApiError(404, 10010, "CF-ResourceNotFound", f"{resource} not found")


def forbidden() -> ApiError:
    return ApiError(403, 10003, "CF-NotAuthorized", NOT_AUTHORIZED)


def unprocessable(detail: str) -> ApiError:
    return ApiError(422, 10008, "CF-UnprocessableEntity", detail)


def bad_query(detail: str) -> ApiError:
    return ApiError(400, 10005, "CF-BadQueryParameter", detail)


def respond(status: int, payload: Any) -> Response:
    body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Vcap-Request-Id": w.new_guid()}
    return Response(status, body, headers)


# --- presenters --------------------------------------------------------------------------------------------------------

def _base(world: World) -> str:
    return world["api"]["url"]


def _meta() -> JSON:
    return {"labels": {}, "annotations": {}}


def _times(obj: dict[str, Any]) -> JSON:
    return {"created_at": w.iso(obj["created_at"]), "updated_at": w.iso(obj["updated_at"])}


def present_org(world: World, org: dict[str, Any]) -> JSON:
    b = _base(world)
    g = org["guid"]
    return {"guid": g, **_times(org), "name": org["name"], "suspended": org.get("suspended", False),
            "relationships": {"quota": {"data": None}}, "metadata": _meta(),
            "links": {"self": {"href": f"{b}/v3/organizations/{g}"},
                      "domains": {"href": f"{b}/v3/organizations/{g}/domains"},
                      "default_domain": {"href": f"{b}/v3/organizations/{g}/domains/default"}}}


def present_space(world: World, space: dict[str, Any]) -> JSON:
    b = _base(world)
    g = space["guid"]
    return {"guid": g, **_times(space), "name": space["name"], "suspended": False,
            "relationships": {"organization": {"data": {"guid": space["org_guid"]}}, "quota": {"data": None}},
            "metadata": _meta(),
            "links": {"self": {"href": f"{b}/v3/spaces/{g}"},
                      "organization": {"href": f"{b}/v3/organizations/{space['org_guid']}"},
                      "features": {"href": f"{b}/v3/spaces/{g}/features"},
                      "apply_manifest": {"href": f"{b}/v3/spaces/{g}/actions/apply_manifest", "method": "POST"}}}


def present_app(world: World, app: dict[str, Any]) -> JSON:
    b = _base(world)
    g = app["guid"]
    droplet = world["droplets"].get(app.get("droplet_guid") or "")
    buildpacks = [bp["name"] for bp in droplet["buildpacks"]] if droplet else []
    return {"guid": g, **_times(app), "name": app["name"], "state": app["state"],
            "lifecycle": {"type": "buildpack", "data": {"buildpacks": buildpacks, "stack": app["lifecycle"]["stack"]}},
            "relationships": {"space": {"data": {"guid": app["space_guid"]}},
                              "current_droplet": {"data": {"guid": app.get("droplet_guid")}}},
            "metadata": _meta(),
            "links": {"self": {"href": f"{b}/v3/apps/{g}"},
                      "environment_variables": {"href": f"{b}/v3/apps/{g}/environment_variables"},
                      "space": {"href": f"{b}/v3/spaces/{app['space_guid']}"},
                      "processes": {"href": f"{b}/v3/apps/{g}/processes"},
                      "packages": {"href": f"{b}/v3/apps/{g}/packages"},
                      "current_droplet": {"href": f"{b}/v3/apps/{g}/droplets/current"},
                      "droplets": {"href": f"{b}/v3/apps/{g}/droplets"},
                      "tasks": {"href": f"{b}/v3/apps/{g}/tasks"},
                      "start": {"href": f"{b}/v3/apps/{g}/actions/start", "method": "POST"},
                      "stop": {"href": f"{b}/v3/apps/{g}/actions/stop", "method": "POST"},
                      "revisions": {"href": f"{b}/v3/apps/{g}/revisions"},
                      "deployed_revisions": {"href": f"{b}/v3/apps/{g}/revisions/deployed"},
                      "features": {"href": f"{b}/v3/apps/{g}/features"}}}


def present_process(world: World, proc: dict[str, Any], command: str | None) -> JSON:
    b = _base(world)
    g = proc["guid"]
    app = world["apps"][proc["app_guid"]]
    return {"guid": g, **_times(proc), "type": proc["type"], "command": command, "instances": proc["instances"],
            "memory_in_mb": proc["memory_in_mb"], "disk_in_mb": proc["disk_in_mb"],
            "log_rate_limit_in_bytes_per_second": proc["log_rate_limit_in_bytes_per_second"],
            "health_check": proc["health_check"],
            "readiness_health_check": {"type": "process", "data": {"invocation_timeout": None, "interval": None}},
            "relationships": {"app": {"data": {"guid": app["guid"]}},
                              "revision": {"data": {"guid": app["revision"]["guid"]}}},
            "metadata": _meta(),
            "links": {"self": {"href": f"{b}/v3/processes/{g}"},
                      "scale": {"href": f"{b}/v3/processes/{g}/actions/scale", "method": "POST"},
                      "app": {"href": f"{b}/v3/apps/{app['guid']}"},
                      "space": {"href": f"{b}/v3/spaces/{app['space_guid']}"},
                      "stats": {"href": f"{b}/v3/processes/{g}/stats"}}}


class _Dice:
    """Deterministic pseudo-random numbers from a seed string (stable usage figures per instance)."""

    def __init__(self, seed: str) -> None:
        self.pool = hashlib.sha256(seed.encode("utf-8")).digest()
        self.i = 0

    def fraction(self) -> float:
        value = int.from_bytes(self.pool[self.i:self.i + 4], "big") / 2 ** 32
        self.i = (self.i + 4) % 28
        return value

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.fraction()

    def randint(self, low: int, high: int) -> int:
        return low + int(self.fraction() * (high - low + 1))


def process_stats(world: World, proc: dict[str, Any], now: float) -> list[JSON]:
    """One entry per instance; a stopped app's instances are DOWN. ``since`` (epoch) is kept for cf's table."""
    app = world["apps"][proc["app_guid"]]
    entries = []
    for index in range(int(proc["instances"])):
        rng = _Dice(f"{proc['guid']}/{index}")
        since = float(proc["started_at"]) + 1.3 * index
        cpu = round(rng.uniform(0.001, 0.05), 4)
        entry: JSON = {
            "type": proc["type"], "index": index, "state": "RUNNING", "routable": True,
            "host": f"10.10.{rng.randint(1, 254)}.{rng.randint(1, 254)}", "uptime": 0,
            "mem_quota": proc["memory_in_mb"] * 1024 * 1024, "disk_quota": proc["disk_in_mb"] * 1024 * 1024,
            "log_rate_limit": proc["log_rate_limit_in_bytes_per_second"], "fds_quota": 16384,
            "isolation_segment": None, "details": None,
            "usage": {"cpu": cpu, "cpu_entitlement": round(cpu * 8, 4),
                      "mem": int(proc["memory_in_mb"] * 1024 * 1024 * rng.uniform(0.35, 0.7)),
                      "disk": int(proc["disk_in_mb"] * 1024 * 1024 * rng.uniform(0.1, 0.3)),
                      "log_rate": rng.randint(0, 2048)},
            "since": since,
        }
        if app["state"] != "STARTED":
            entry.update(state="DOWN", routable=None, since=now,
                         usage={"cpu": 0, "cpu_entitlement": None, "mem": 0, "disk": 0, "log_rate": 0})
        override = dict(proc.get("instance_overrides", {}).get(str(index), {}))
        if override:
            if "since" in override and isinstance(override["since"], str):
                override["since"] = w.parse_iso(override["since"])
            usage = entry["usage"]
            for key in ("cpu", "cpu_entitlement", "mem", "disk", "log_rate"):
                if key in override:
                    usage[key] = override.pop(key)
            entry.update(override)
            if entry["state"] in ("DOWN", "CRASHED") and "since" not in override:
                entry["since"] = now
        entry["uptime"] = max(int(now - entry["since"]), 0) if entry["state"] == "RUNNING" else 0
        entry["usage"]["time"] = w.iso(now)
        entries.append(entry)
    return entries


def present_stats(entry: JSON) -> JSON:
    return {k: v for k, v in entry.items() if k != "since"}


def present_task(world: World, task: dict[str, Any], now: float, show_command: bool) -> JSON:
    b = _base(world)
    g = task["guid"]
    state, reason = tasks_mod.state(world, task, now)
    body: JSON = {"guid": g, "sequence_id": task["sequence_id"], "name": task["name"]}
    if show_command:
        body["command"] = task["command"]
    body.update({"user": "vcap", "state": state, "memory_in_mb": task["memory_in_mb"],
                 "disk_in_mb": task["disk_in_mb"],
                 "log_rate_limit_in_bytes_per_second": task["log_rate_limit_in_bytes_per_second"],
                 "result": {"failure_reason": reason}, "droplet_guid": task["droplet_guid"],
                 "metadata": _meta(), "created_at": w.iso(task["created_at"]),
                 "updated_at": w.iso(tasks_mod.updated_at(world, task, now)),
                 "relationships": {"app": {"data": {"guid": task["app_guid"]}}},
                 "links": {"self": {"href": f"{b}/v3/tasks/{g}"},
                           "app": {"href": f"{b}/v3/apps/{task['app_guid']}"},
                           "cancel": {"href": f"{b}/v3/tasks/{g}/actions/cancel", "method": "POST"},
                           "droplet": {"href": f"{b}/v3/droplets/{task['droplet_guid']}"}}})
    return body


def present_user(world: World, user: dict[str, Any]) -> JSON:
    return {"guid": user["guid"], **_times(user), "username": user["username"],
            "presentation_name": user["username"], "origin": user["origin"], "metadata": _meta(),
            "links": {"self": {"href": f"{_base(world)}/v3/users/{user['guid']}"}}}


def present_role(world: World, role: dict[str, Any]) -> JSON:
    b = _base(world)
    space_role = role.get("space_guid") is not None
    links: JSON = {"self": {"href": f"{b}/v3/roles/{role['guid']}"},
                   "user": {"href": f"{b}/v3/users/{role['user_guid']}"}}
    if space_role:
        links["space"] = {"href": f"{b}/v3/spaces/{role['space_guid']}"}
    else:
        links["organization"] = {"href": f"{b}/v3/organizations/{role['org_guid']}"}
    return {"guid": role["guid"], **_times(role), "type": role["type"],
            "relationships": {"user": {"data": {"guid": role["user_guid"]}},
                              "organization": {"data": None if space_role else {"guid": role["org_guid"]}},
                              "space": {"data": {"guid": role["space_guid"]} if space_role else None}},
            "links": links}


def present_service_instance(world: World, si: dict[str, Any]) -> JSON:
    b = _base(world)
    g = si["guid"]
    op = si["last_operation"]
    return {"guid": g, **_times(si), "name": si["name"], "type": si["type"], "tags": si.get("tags", []),
            "maintenance_info": {}, "upgrade_available": False, "dashboard_url": None,
            "last_operation": {**op, "created_at": w.iso(si["created_at"]), "updated_at": w.iso(si["updated_at"])},
            "relationships": {"space": {"data": {"guid": si["space_guid"]}},
                              "service_plan": {"data": {"guid": si.get("plan_guid")}}},
            "metadata": _meta(),
            "links": {"self": {"href": f"{b}/v3/service_instances/{g}"},
                      "space": {"href": f"{b}/v3/spaces/{si['space_guid']}"},
                      "service_credential_bindings": {"href": f"{b}/v3/service_credential_bindings?service_instance_guids={g}"}}}


def present_key(world: World, key: dict[str, Any]) -> JSON:
    b = _base(world)
    g = key["guid"]
    return {"guid": g, **_times(key), "name": key["name"], "type": "key",
            "last_operation": {"type": "create", "state": "succeeded", "description": "",
                               "created_at": w.iso(key["created_at"]), "updated_at": w.iso(key["updated_at"])},
            "metadata": _meta(),
            "relationships": {"service_instance": {"data": {"guid": key["service_instance_guid"]}}},
            "links": {"self": {"href": f"{b}/v3/service_credential_bindings/{g}"},
                      "details": {"href": f"{b}/v3/service_credential_bindings/{g}/details"},
                      "parameters": {"href": f"{b}/v3/service_credential_bindings/{g}/parameters"},
                      "service_instance": {"href": f"{b}/v3/service_instances/{key['service_instance_guid']}"}}}


SPACE_SSH_FEATURE = "Enable SSHing into apps in the space."
APP_FEATURES = {"ssh": "Enable SSHing into the app.", "revisions": "Enable versioning of an application",
                "service-binding-k8s": "Enable k8s service bindings for the app",
                "file-based-vcap-services": "Enable file-based VCAP service bindings for the app"}


def app_feature(app: dict[str, Any], name: str) -> JSON:
    enabled = {"ssh": app["enable_ssh"], "revisions": True}.get(name, False)
    return {"name": name, "description": APP_FEATURES[name], "enabled": enabled}


# --- pagination --------------------------------------------------------------------------------------------------------

def paginated(world: World, req: Request, resources: list[JSON], included: JSON | None = None) -> Response:
    """CC's list response: ``pagination`` (per_page 50 by default, at most 5000) and ``resources``."""
    try:
        per_page = int(req.param("per_page") or 50)
        page = int(req.param("page") or 1)
    except ValueError as exc:
        raise bad_query("The query parameter is invalid: per_page and page must be integers") from exc
    if not 1 <= per_page <= 5000:
        raise bad_query("Per page must be between 1 and 5000")
    if page < 1:
        raise bad_query("Page must be greater than 0")
    from urllib.parse import quote  # pylint: disable=import-outside-toplevel

    total = len(resources)
    pages = max(1, -(-total // per_page))
    params = {k: v[-1] for k, v in req.query.items() if k not in ("page", "per_page")}

    def href(number: int) -> JSON:
        query = {**params, "page": str(number), "per_page": str(per_page)}
        text = "&".join(f"{k}={quote(query[k], safe=',:')}" for k in sorted(query))
        return {"href": f"{_base(world)}{req.path}?{text}"}

    body: JSON = {"pagination": {"total_results": total, "total_pages": pages, "first": href(1), "last": href(pages),
                                 "next": href(page + 1) if page < pages else None,
                                 "previous": href(page - 1) if page > 1 else None},
                  "resources": resources[(page - 1) * per_page: page * per_page]}
    if included is not None:
        body["included"] = included
    return respond(200, body)


# --- routes ------------------------------------------------------------------------------------------------------------

Route = tuple[str, str, Callable[..., Response], bool]
ROUTES: list[Route] = []


def route(method: str, pattern: str, *, auth: bool = True) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    def register(fn: Callable[..., Response]) -> Callable[..., Response]:
        ROUTES.append((method, f"^{pattern}$", fn, auth))
        return fn
    return register


def handle(world: World, user: dict[str, Any] | None, req: Request) -> Response:
    path = req.path.rstrip("/") or "/"
    for method, pattern, fn, needs_auth in ROUTES:
        match = re.match(pattern, path)
        if match is None or method != req.method:
            continue
        if needs_auth and user is None:
            return respond(401, NOT_AUTHENTICATED)
        try:
            return fn(world, user, req, **match.groupdict())
        except ApiError as err:
            return respond(err.status, err.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return respond(400, {"errors": [{"code": 1001, "title": "CF-MessageParseError",
                                             "detail": "Request invalid due to parse error: invalid request body"}]})
    if user is None and path not in ("/", "/v2/info"):
        return respond(401, NOT_AUTHENTICATED)
    return respond(404, UNKNOWN_REQUEST)


def _uid(user: dict[str, Any]) -> str:
    return user["guid"]


def _visible_app(world: World, user: dict[str, Any], guid: str) -> dict[str, Any]:
    app = world["apps"].get(guid)
    if app is None or not w.can_see_space(world, _uid(user), app["space_guid"]):
        raise not_found("App")
    return app


def _visible_space(world: World, user: dict[str, Any], guid: str) -> dict[str, Any]:
    space = world["spaces"].get(guid)
    if space is None or not w.can_see_space(world, _uid(user), guid):
        raise not_found("Space")
    return space


def _match(values: list[str] | None, value: str, *, fold: bool = False) -> bool:
    if values is None:
        return True
    return value.lower() in [v.lower() for v in values] if fold else value in values


@route("GET", "/", auth=False)
def root(world: World, user: dict[str, Any] | None, req: Request) -> Response:
    api, proxy = world["api"], world["ssh_proxy"]
    b = api["url"]
    links = {
        "self": {"href": b},
        "bits_service": None,
        "cloud_controller_v2": {"href": f"{b}/v2", "meta": {"version": api["v2_version"]}},
        "cloud_controller_v3": {"href": f"{b}/v3", "meta": {"version": api["version"]}},
        "network_policy_v0": {"href": f"{b}/networking/v0/external"},
        "network_policy_v1": {"href": f"{b}/networking/v1/external"},
        "login": {"href": api["login_url"]},
        "uaa": {"href": api["uaa_url"]},
        "credhub": None,
        "routing": {"href": api["routing_url"]},
        "logging": {"href": api["doppler_url"]},
        "log_cache": {"href": api["log_cache_url"]},
        "log_stream": {"href": api["log_cache_url"].replace("log-cache", "log-stream")},
        "app_ssh": {"href": f"{proxy['host']}:{proxy['port']}",
                    "meta": {"host_key_fingerprint": proxy["host_key_fingerprint"], "oauth_client": "ssh-proxy"}},
    }
    return respond(200, {"links": links})


@route("GET", "/v2/info", auth=False)
def v2_info(world: World, user: dict[str, Any] | None, req: Request) -> Response:
    api, proxy = world["api"], world["ssh_proxy"]
    body = {"name": "", "build": "", "support": "", "version": 0, "description": "",
            "authorization_endpoint": api["login_url"], "token_endpoint": api["uaa_url"],
            "min_cli_version": None, "min_recommended_cli_version": None, "app_ssh_endpoint":
            f"{proxy['host']}:{proxy['port']}", "app_ssh_host_key_fingerprint": proxy["host_key_fingerprint"],
            "app_ssh_oauth_client": "ssh-proxy", "doppler_logging_endpoint": api["doppler_url"],
            "api_version": api["v2_version"], "osbapi_version": "2.15", "routing_endpoint": api["routing_url"]}
    if user is not None:
        body["user"] = user["guid"]
    return respond(200, body)


@route("GET", "/v3", auth=False)
def v3_root(world: World, user: dict[str, Any] | None, req: Request) -> Response:
    b = _base(world) + "/v3"
    names = ("apps", "organizations", "processes", "roles", "service_instances", "service_credential_bindings",
             "spaces", "tasks", "users")
    return respond(200, {"links": {"self": {"href": b}, **{n: {"href": f"{b}/{n}"} for n in names}}})


@route("GET", "/v3/organizations")
def list_orgs(world: World, user: dict[str, Any], req: Request) -> Response:
    names, guids = req.filter("names"), req.filter("guids")
    found = [present_org(world, o) for o in sorted(world["orgs"].values(), key=lambda o: o["created_at"])
             if w.can_see_org(world, _uid(user), o["guid"]) and _match(names, o["name"]) and _match(guids, o["guid"])]
    return paginated(world, req, found)


@route("GET", "/v3/organizations/(?P<guid>[^/]+)")
def get_org(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    org = world["orgs"].get(guid)
    if org is None or not w.can_see_org(world, _uid(user), guid):
        raise not_found("Organization")
    return respond(200, present_org(world, org))


@route("GET", "/v3/spaces")
def list_spaces(world: World, user: dict[str, Any], req: Request) -> Response:
    names, orgs, guids = req.filter("names"), req.filter("organization_guids"), req.filter("guids")
    found = [present_space(world, s) for s in sorted(world["spaces"].values(), key=lambda s: s["created_at"])
             if w.can_see_space(world, _uid(user), s["guid"]) and _match(names, s["name"])
             and _match(orgs, s["org_guid"]) and _match(guids, s["guid"])]
    return paginated(world, req, found)


@route("GET", "/v3/spaces/(?P<guid>[^/]+)")
def get_space(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    return respond(200, present_space(world, _visible_space(world, user, guid)))


def _space_ssh(space: dict[str, Any]) -> JSON:
    return {"name": "ssh", "description": SPACE_SSH_FEATURE, "enabled": space["allow_ssh"]}


@route("GET", "/v3/spaces/(?P<guid>[^/]+)/features")
def space_features(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    return respond(200, {"resources": [_space_ssh(_visible_space(world, user, guid))]})


@route("GET", "/v3/spaces/(?P<guid>[^/]+)/features/(?P<name>[^/]+)")
def get_space_feature(world: World, user: dict[str, Any], req: Request, guid: str, name: str) -> Response:
    space = _visible_space(world, user, guid)
    if name != "ssh":
        raise not_found("Feature")
    return respond(200, _space_ssh(space))


def _enabled(req: Request) -> bool:
    body = req.json_body()
    if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
        raise unprocessable("Enabled must be a boolean")
    return body["enabled"]


@route("PATCH", "/v3/spaces/(?P<guid>[^/]+)/features/(?P<name>[^/]+)")
def patch_space_feature(world: World, user: dict[str, Any], req: Request, guid: str, name: str) -> Response:
    space = _visible_space(world, user, guid)
    if name != "ssh":
        raise not_found("Feature")
    if not w.can_manage_space(world, _uid(user), guid):
        raise forbidden()
    space["allow_ssh"] = _enabled(req)
    space["updated_at"] = w.now(world)
    return respond(200, _space_ssh(space))


@route("GET", "/v3/apps")
def list_apps(world: World, user: dict[str, Any], req: Request) -> Response:
    names, spaces = req.filter("names"), req.filter("space_guids")
    orgs, guids = req.filter("organization_guids"), req.filter("guids")
    found = [present_app(world, a) for a in sorted(world["apps"].values(), key=lambda a: a["created_at"])
             if w.can_see_space(world, _uid(user), a["space_guid"]) and _match(names, a["name"], fold=True)
             and _match(spaces, a["space_guid"]) and _match(guids, a["guid"])
             and _match(orgs, world["spaces"][a["space_guid"]]["org_guid"])]
    return paginated(world, req, found)


@route("GET", "/v3/apps/(?P<guid>[^/]+)")
def get_app(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    return respond(200, present_app(world, _visible_app(world, user, guid)))


@route("GET", "/v3/apps/(?P<guid>[^/]+)/processes")
def app_processes(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    app = _visible_app(world, user, guid)
    types = req.filter("types")
    found = [present_process(world, p, "[PRIVATE DATA HIDDEN IN LISTS]") for p in w.processes_of(world, app["guid"])
             if _match(types, p["type"])]
    return paginated(world, req, found)


def _process_command(world: World, user: dict[str, Any], proc: dict[str, Any]) -> str | None:
    app = world["apps"][proc["app_guid"]]
    if w.can_see_secrets(world, _uid(user), app["space_guid"]):
        return proc["command"]
    return "[PRIVATE DATA HIDDEN]"


@route("GET", "/v3/apps/(?P<guid>[^/]+)/processes/(?P<ptype>[^/]+)")
def app_process(world: World, user: dict[str, Any], req: Request, guid: str, ptype: str) -> Response:
    app = _visible_app(world, user, guid)
    for proc in w.processes_of(world, app["guid"]):
        if proc["type"] == ptype:
            return respond(200, present_process(world, proc, _process_command(world, user, proc)))
    raise not_found("Process")


@route("GET", "/v3/apps/(?P<guid>[^/]+)/ssh_enabled")
def app_ssh_enabled(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    enabled, reason = w.ssh_enabled(world, _visible_app(world, user, guid))
    return respond(200, {"enabled": enabled, "reason": reason})


@route("GET", "/v3/apps/(?P<guid>[^/]+)/features")
def app_features(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    app = _visible_app(world, user, guid)
    return paginated(world, req, [app_feature(app, name) for name in APP_FEATURES])


@route("GET", "/v3/apps/(?P<guid>[^/]+)/features/(?P<name>[^/]+)")
def get_app_feature(world: World, user: dict[str, Any], req: Request, guid: str, name: str) -> Response:
    app = _visible_app(world, user, guid)
    if name not in APP_FEATURES:
        raise not_found("Feature")
    return respond(200, app_feature(app, name))


@route("PATCH", "/v3/apps/(?P<guid>[^/]+)/features/(?P<name>[^/]+)")
def patch_app_feature(world: World, user: dict[str, Any], req: Request, guid: str, name: str) -> Response:
    app = _visible_app(world, user, guid)
    if name not in APP_FEATURES:
        raise not_found("Feature")
    if not w.can_develop_space(world, _uid(user), app["space_guid"]):
        raise forbidden()
    enabled = _enabled(req)
    if name == "ssh":
        app["enable_ssh"] = enabled
        app["updated_at"] = w.now(world)
    return respond(200, {**app_feature(app, name), "enabled": enabled})


def _task_list(world: World, user: dict[str, Any], req: Request, candidates: list[dict[str, Any]]) -> Response:
    now = w.now(world)
    states, names = req.filter("states"), req.filter("names")
    seqs = req.filter("sequence_ids")
    order = req.param("order_by") or "created_at"
    candidates = sorted(candidates, key=lambda t: (t["created_at"], t["sequence_id"]), reverse=order.startswith("-"))
    found = []
    for task in candidates:
        app = world["apps"][task["app_guid"]]
        state, _ = tasks_mod.state(world, task, now)
        if _match(states, state) and _match(names, task["name"]) and _match(seqs, str(task["sequence_id"])):
            found.append(present_task(world, task, now, w.can_see_secrets(world, _uid(user), app["space_guid"])))
    return paginated(world, req, found)


@route("GET", "/v3/apps/(?P<guid>[^/]+)/tasks")
def list_app_tasks(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    app = _visible_app(world, user, guid)
    return _task_list(world, user, req, [t for t in world["tasks"].values() if t["app_guid"] == app["guid"]])


@route("GET", "/v3/tasks")
def list_tasks(world: World, user: dict[str, Any], req: Request) -> Response:
    apps = req.filter("app_guids")
    visible = [t for t in world["tasks"].values()
               if w.can_see_space(world, _uid(user), world["apps"][t["app_guid"]]["space_guid"])
               and _match(apps, t["app_guid"])]
    return _task_list(world, user, req, visible)


def create_task(world: World, user: dict[str, Any], app: dict[str, Any], body: JSON) -> dict[str, Any]:
    """POST /v3/apps/:guid/tasks (shared with ``cf run-task``)."""
    if not w.can_develop_space(world, _uid(user), app["space_guid"]):
        raise forbidden()
    if not app.get("droplet_guid"):
        raise unprocessable("Task must have a droplet. Specify droplet or assign current droplet to app.")
    command = body.get("command")
    template = ((body.get("template") or {}).get("process") or {}).get("guid")
    proc = world["processes"].get(template or "")
    if template and (proc is None or proc["app_guid"] != app["guid"]):
        raise unprocessable(f"Process with guid '{template}' not found")
    if not command:
        command = proc["command"] if proc else None
    if not command:
        raise unprocessable("The task command may not be blank")
    return tasks_mod.create(world, app, command=command, user_guid=_uid(user), name=body.get("name"),
                            memory_in_mb=body.get("memory_in_mb") or (proc["memory_in_mb"] if proc else None),
                            disk_in_mb=body.get("disk_in_mb") or (proc["disk_in_mb"] if proc else None),
                            log_rate_limit=body.get("log_rate_limit_in_bytes_per_second"), created_at=w.now(world))


@route("POST", "/v3/apps/(?P<guid>[^/]+)/tasks")
def post_task(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    app = _visible_app(world, user, guid)
    body = req.json_body()
    if not isinstance(body, dict):
        raise unprocessable("Request invalid: body must be an object")
    task = create_task(world, user, app, body)
    return respond(202, present_task(world, task, w.now(world), True))


def _visible_task(world: World, user: dict[str, Any], guid: str) -> dict[str, Any]:
    task = world["tasks"].get(guid)
    if task is None or not w.can_see_space(world, _uid(user), world["apps"][task["app_guid"]]["space_guid"]):
        raise not_found("Task")
    return task


@route("GET", "/v3/tasks/(?P<guid>[^/]+)")
def get_task(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    task = _visible_task(world, user, guid)
    space_guid = world["apps"][task["app_guid"]]["space_guid"]
    return respond(200, present_task(world, task, w.now(world), w.can_see_secrets(world, _uid(user), space_guid)))


def cancel_task(world: World, user: dict[str, Any], task: dict[str, Any]) -> None:
    """POST /v3/tasks/:guid/actions/cancel (shared with ``cf terminate-task``)."""
    space_guid = world["apps"][task["app_guid"]]["space_guid"]
    if not (w.can_develop_space(world, _uid(user), space_guid)
            or w.has_role(world, _uid(user), "space_supporter", space_guid=space_guid)):
        raise forbidden()
    error = tasks_mod.cancel(world, task, w.now(world))
    if error:
        raise unprocessable(error)


@route("POST", "/v3/tasks/(?P<guid>[^/]+)/actions/cancel")
def post_cancel_task(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    task = _visible_task(world, user, guid)
    cancel_task(world, user, task)
    return respond(202, present_task(world, task, w.now(world), True))


def _visible_process(world: World, user: dict[str, Any], guid: str) -> dict[str, Any]:
    proc = world["processes"].get(guid)
    if proc is None or not w.can_see_space(world, _uid(user), world["apps"][proc["app_guid"]]["space_guid"]):
        raise not_found("Process")
    return proc


@route("GET", "/v3/processes/(?P<guid>[^/]+)")
def get_process(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    proc = _visible_process(world, user, guid)
    return respond(200, present_process(world, proc, _process_command(world, user, proc)))


@route("GET", "/v3/processes/(?P<guid>[^/]+)/stats")
def get_process_stats(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    proc = _visible_process(world, user, guid)
    return respond(200, {"resources": [present_stats(e) for e in process_stats(world, proc, w.now(world))]})


def _role_visible(world: World, user: dict[str, Any], role: dict[str, Any]) -> bool:
    if role.get("space_guid"):
        return w.can_see_space(world, _uid(user), role["space_guid"])
    return w.can_see_org(world, _uid(user), role["org_guid"])


@route("GET", "/v3/roles")
def list_roles(world: World, user: dict[str, Any], req: Request) -> Response:
    types, users = req.filter("types"), req.filter("user_guids")
    spaces, orgs, guids = req.filter("space_guids"), req.filter("organization_guids"), req.filter("guids")
    roles = [r for r in sorted(world["roles"].values(), key=lambda r: r["created_at"])
             if _role_visible(world, user, r) and _match(types, r["type"]) and _match(users, r["user_guid"])
             and _match(guids, r["guid"])
             and (spaces is None or r.get("space_guid") in spaces)
             and (orgs is None or (r.get("space_guid") is None and r["org_guid"] in orgs))]
    included = None
    include = req.filter("include")
    if include:
        included = {}
        if "user" in include:
            user_guids = sorted({r["user_guid"] for r in roles})
            included["users"] = [present_user(world, world["users"][g]) for g in user_guids if g in world["users"]]
        if "space" in include:
            space_guids = sorted({r["space_guid"] for r in roles if r.get("space_guid")})
            included["spaces"] = [present_space(world, world["spaces"][g]) for g in space_guids]
        if "organization" in include:
            org_guids = sorted({r["org_guid"] for r in roles if not r.get("space_guid")})
            included["organizations"] = [present_org(world, world["orgs"][g]) for g in org_guids]
    return paginated(world, req, [present_role(world, r) for r in roles], included)


@route("GET", "/v3/users/(?P<guid>[^/]+)")
def get_user(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    target = world["users"].get(guid)
    if target is None:
        raise not_found("User")
    return respond(200, present_user(world, target))


@route("GET", "/v3/service_instances")
def list_service_instances(world: World, user: dict[str, Any], req: Request) -> Response:
    names, spaces = req.filter("names"), req.filter("space_guids")
    found = [present_service_instance(world, si)
             for si in sorted(world["service_instances"].values(), key=lambda s: s["created_at"])
             if w.can_see_space(world, _uid(user), si["space_guid"]) and _match(names, si["name"])
             and _match(spaces, si["space_guid"])]
    return paginated(world, req, found)


def _visible_instance(world: World, user: dict[str, Any], guid: str) -> dict[str, Any]:
    si = world["service_instances"].get(guid)
    if si is None or not w.can_see_space(world, _uid(user), si["space_guid"]):
        raise not_found("Service instance")
    return si


@route("GET", "/v3/service_instances/(?P<guid>[^/]+)")
def get_service_instance(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    return respond(200, present_service_instance(world, _visible_instance(world, user, guid)))


@route("GET", "/v3/service_credential_bindings")
def list_bindings(world: World, user: dict[str, Any], req: Request) -> Response:
    kinds, names = req.filter("type"), req.filter("names")
    instances = req.filter("service_instance_guids")
    found = []
    if kinds is None or "key" in kinds:
        for key in sorted(world["service_keys"].values(), key=lambda k: k["created_at"]):
            si = world["service_instances"].get(key["service_instance_guid"])
            if si and w.can_see_space(world, _uid(user), si["space_guid"]) and _match(names, key["name"]) \
                    and _match(instances, si["guid"]):
                found.append(present_key(world, key))
    return paginated(world, req, found)


@route("GET", "/v3/service_credential_bindings/(?P<guid>[^/]+)/details")
def binding_details(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    key = world["service_keys"].get(guid)
    si = world["service_instances"].get(key["service_instance_guid"]) if key else None
    if key is None or si is None or not w.can_see_space(world, _uid(user), si["space_guid"]):
        raise not_found("Service credential binding")
    if not w.can_see_secrets(world, _uid(user), si["space_guid"]):
        raise forbidden()
    return respond(200, {"credentials": key["credentials"]})


@route("GET", "/v2/service_instances/(?P<guid>[^/]+)/service_keys")
def v2_service_keys(world: World, user: dict[str, Any], req: Request, guid: str) -> Response:
    """The CC v2 route cf-service-connect uses (``?q=name:KEY``), with v2's own list format."""
    si = world["service_instances"].get(guid)
    if si is None or not w.can_see_space(world, _uid(user), si["space_guid"]):
        return respond(404, {"description": f"The service instance could not be found: {guid}",
                             "error_code": "CF-ServiceInstanceNotFound", "code": 60004})
    wanted = None
    for q in req.query.get("q", []):
        field, _, value = q.partition(":")
        if field == "name":
            wanted = value
    keys = [k for k in w.keys_of(world, guid) if wanted is None or k["name"] == wanted]
    secrets_ok = w.can_see_secrets(world, _uid(user), si["space_guid"])
    resources = [{"metadata": {"guid": k["guid"], "url": f"/v2/service_keys/{k['guid']}",
                               "created_at": w.iso(k["created_at"]), "updated_at": w.iso(k["updated_at"])},
                  "entity": {"name": k["name"], "service_instance_guid": guid,
                             "credentials": k["credentials"] if secrets_ok else {"redacted_message": "[PRIVATE DATA HIDDEN]"},
                             "service_instance_url": f"/v2/service_instances/{guid}",
                             "service_key_parameters_url": f"/v2/service_keys/{k['guid']}/parameters"}}
                 for k in keys]
    return respond(200, {"total_results": len(resources), "total_pages": 1, "prev_url": None, "next_url": None,
                         "resources": resources})


@route("GET", "/v3/deployments")
def list_deployments(world: World, user: dict[str, Any], req: Request) -> Response:
    apps, values = req.filter("app_guids"), req.filter("status_values")
    found = []
    for dep in sorted(world["deployments"].values(), key=lambda d: d["created_at"],
                      reverse=(req.param("order_by") or "").startswith("-")):
        app = world["apps"].get(dep["app_guid"])
        if app is None or not w.can_see_space(world, _uid(user), app["space_guid"]):
            continue
        if not (_match(apps, app["guid"]) and _match(values, dep["status"]["value"])):
            continue
        found.append({"guid": dep["guid"], **_times(dep), "state": dep["state"], "status": dep["status"],
                      "strategy": dep["strategy"], "droplet": {"guid": dep["droplet_guid"]},
                      "revision": {"guid": dep["revision_guid"], "version": app["revision"]["version"]},
                      "relationships": {"app": {"data": {"guid": app["guid"]}}}, "metadata": _meta()})
    return paginated(world, req, found)
