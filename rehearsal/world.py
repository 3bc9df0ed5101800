# SPDX-License-Identifier: GPL-3.0-or-later
"""The rehearsal world: one JSON document under REHEARSAL_HOME, read-modify-written under an fcntl lock.

Layout of ``world.json`` (schema 1). Collections are dicts keyed by GUID; times are epoch seconds (floats):

- ``api``: url, version, v2_version, login/uaa/doppler/log_cache/routing URLs
- ``cli``: ``version`` (what ``cf version`` prints), ``poll_interval_s`` (``run-task --wait``)
- ``global``: ``allow_app_ssh_access`` (the platform-wide SSH switch)
- ``ssh_proxy``: ``{host, port, host_key_fingerprint}`` — the SSH proxy writes its real fingerprint here
- ``network``: ``{hosts: {name: address}}`` — where service hostnames really live (for the SSH proxy's tunnels)
- ``orgs``, ``spaces`` (``allow_ssh``), ``apps`` (``enable_ssh``, ``state``, ``task_seq``...), ``processes``
  (``instances``, ``instance_overrides``), ``droplets``, ``deployments``
- ``service_instances`` (``credentials``), ``service_keys``
- ``users`` (``password`` is a PBKDF2 hash or null for SSO users), ``roles`` (v3 role types)
- ``tasks`` (see ``rehearsal.tasks``), ``task_behaviours`` (command -> behaviour)
- ``logs``: ``{app_guid: [{ts, source, stream, message}]}`` (process lines; task lines are computed)
- ``datasets``: canned data per database service instance (``yarn db:validation``)
- ``tokens``, ``ssh_codes``, ``passcodes``: SHA-256 digests only, never the secrets themselves
- ``clock_offset_s``: added to the wall clock (``advance_clock``)

Read-modify-write with ``transaction(home)``; ``load(home)`` returns a snapshot. The helpers below
(``revoke_tokens``, ``issue_passcode``, ``consume_ssh_code``, ``set_ssh_proxy``, ``set_task_behaviour``, ...) are the
API for tests and for the other rehearsal services.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

World = dict[str, Any]

SCHEMA = 1
SSH_CODE_TTL_S = 300.0
PASSCODE_TTL_S = 300.0
PBKDF2_ITERATIONS = 20_000

SPACE_ROLE_TYPES = ("space_developer", "space_manager", "space_auditor", "space_supporter")
ORG_ROLE_TYPES = ("organization_user", "organization_manager", "organization_auditor", "organization_billing_manager")


class WorldError(Exception):
    """A world operation that cannot be done (unknown user, app, ...)."""


# --- where the state lives -------------------------------------------------------------------------------------------

# Paths are plain strings (os.path): pathlib alone costs every cf call ~10 ms of start-up.
def default_home() -> str:
    return os.path.join(os.path.dirname(os.path.realpath(__file__)), ".state")


def resolve_home(home: str | os.PathLike[str] | None = None) -> str:
    """The REHEARSAL_HOME to use: the argument, else $REHEARSAL_HOME, else <repo>/rehearsal/.state."""
    if home is not None:
        return os.fspath(home)
    return os.environ.get("REHEARSAL_HOME") or default_home()


def world_path(home: str | os.PathLike[str]) -> str:
    return os.path.join(home, "world.json")


@contextlib.contextmanager
def locked(home: str | os.PathLike[str], name: str = "world.lock") -> Iterator[None]:
    """An exclusive fcntl lock on HOME/NAME (several cf processes run at once)."""
    os.makedirs(home, exist_ok=True)
    fd = os.open(os.path.join(home, name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def write_json_atomic(path: str | os.PathLike[str], data: Any, mode: int = 0o600) -> None:
    """Write JSON to PATH through a temporary file and a rename, so readers never see half a file."""
    directory, name = os.path.split(os.fspath(path))
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.write("\n")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _read(home: str) -> World:
    with open(world_path(home), encoding="utf-8") as fh:
        return json.load(fh)


def _read_twice(home: str) -> tuple[World, World]:
    """The world and an untouched copy to compare with (parsing twice is cheaper than deep-copying)."""
    with open(world_path(home), encoding="utf-8") as fh:
        raw = fh.read()
    return json.loads(raw), json.loads(raw)


def _ensure_seeded(home: str) -> None:
    if not os.path.exists(world_path(home)):
        from rehearsal import seed  # pylint: disable=import-outside-toplevel

        seed.write_fresh_world(home)


@contextlib.contextmanager
def transaction(home: str | os.PathLike[str] | None = None) -> Iterator[World]:
    """Read-modify-write the world under the lock; the world is seeded on first use."""
    path_home = resolve_home(home)
    with locked(path_home):
        _ensure_seeded(path_home)
        world, before = _read_twice(path_home)
        yield world
        if world != before:
            _prune(world)
            write_json_atomic(world_path(path_home), world)


def load(home: str | os.PathLike[str] | None = None) -> World:
    """A snapshot of the world (writes are atomic renames, so no lock is needed to read)."""
    path_home = resolve_home(home)
    if not os.path.exists(world_path(path_home)):
        with locked(path_home):
            _ensure_seeded(path_home)
    return _read(path_home)


# --- time --------------------------------------------------------------------------------------------------------------

def now(world: World) -> float:
    """The world's clock: wall clock plus ``clock_offset_s``."""
    return time.time() + float(world.get("clock_offset_s", 0.0))


def iso(ts: float | None) -> str | None:
    """CC's timestamp format: UTC, seconds, ``Z``."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_iso(text: str) -> float:
    import calendar  # pylint: disable=import-outside-toplevel

    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def new_guid() -> str:
    """A random UUID4 (without importing uuid: every cf call pays for its imports)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def token_hex(nbytes: int) -> str:
    return os.urandom(nbytes).hex()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def random_code(length: int = 10) -> str:
    """LENGTH random letters and digits (rejection sampling, so every character is equally likely)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    chars: list[str] = []
    while len(chars) < length:
        chars.extend(alphabet[b % 62] for b in os.urandom(length * 2) if b < 248)
    return "".join(chars[:length])


# --- queries ----------------------------------------------------------------------------------------------------------

def _by_name(items: dict[str, dict[str, Any]], name: str, **where: str) -> dict[str, Any] | None:
    for item in items.values():
        if item["name"].lower() == name.lower() and all(item.get(k) == v for k, v in where.items()):
            return item
    return None


def find_org(world: World, name: str) -> dict[str, Any] | None:
    return _by_name(world["orgs"], name)


def find_space(world: World, org_guid: str, name: str) -> dict[str, Any] | None:
    return _by_name(world["spaces"], name, org_guid=org_guid)


def find_app(world: World, space_guid: str, name: str) -> dict[str, Any] | None:
    """CC matches app names case-insensitively (cf-cli.md §5)."""
    return _by_name(world["apps"], name, space_guid=space_guid)


def find_service_instance(world: World, space_guid: str, name: str) -> dict[str, Any] | None:
    return _by_name(world["service_instances"], name, space_guid=space_guid)


def find_user(world: World, username: str) -> dict[str, Any] | None:
    for user in world["users"].values():
        if user["username"] == username:
            return user
    return None


def require_user(world: World, username: str) -> dict[str, Any]:
    user = find_user(world, username)
    if user is None:
        raise WorldError(f"no user {username!r} in the rehearsal world")
    return user


def app_by_names(world: World, space_name: str, app_name: str) -> dict[str, Any]:
    for space in world["spaces"].values():
        if space["name"] == space_name:
            app = find_app(world, space["guid"], app_name)
            if app is not None:
                return app
    raise WorldError(f"no app {app_name!r} in space {space_name!r}")


def processes_of(world: World, app_guid: str) -> list[dict[str, Any]]:
    """An app's processes, web first (cf's order), then by type."""
    procs = [p for p in world["processes"].values() if p["app_guid"] == app_guid]
    return sorted(procs, key=lambda p: (p["type"] != "web", p["type"]))


def keys_of(world: World, instance_guid: str) -> list[dict[str, Any]]:
    keys = [k for k in world["service_keys"].values() if k["service_instance_guid"] == instance_guid]
    return sorted(keys, key=lambda k: (k["created_at"], k["name"]))


# --- authorization ----------------------------------------------------------------------------------------------------

def roles_of(world: World, user_guid: str) -> list[dict[str, Any]]:
    return [r for r in world["roles"].values() if r["user_guid"] == user_guid]


def has_role(world: World, user_guid: str, role_type: str, *, org_guid: str | None = None,
             space_guid: str | None = None) -> bool:
    for role in roles_of(world, user_guid):
        if role["type"] != role_type:
            continue
        if space_guid is not None and role.get("space_guid") == space_guid:
            return True
        if org_guid is not None and role.get("org_guid") == org_guid and role.get("space_guid") is None:
            return True
    return False


def is_admin(world: World, user_guid: str) -> bool:
    return bool(world["users"].get(user_guid, {}).get("admin"))


def can_see_org(world: World, user_guid: str, org_guid: str) -> bool:
    if is_admin(world, user_guid):
        return True
    for role in roles_of(world, user_guid):
        if role.get("org_guid") == org_guid:
            return True
        space = world["spaces"].get(role.get("space_guid") or "")
        if space and space["org_guid"] == org_guid:
            return True
    return False


def can_see_space(world: World, user_guid: str, space_guid: str) -> bool:
    """Space roles, or org manager/auditor/billing manager of its org (CC's visibility rules)."""
    if is_admin(world, user_guid):
        return True
    space = world["spaces"].get(space_guid)
    if space is None:
        return False
    if any(r.get("space_guid") == space_guid for r in roles_of(world, user_guid)):
        return True
    return any(has_role(world, user_guid, t, org_guid=space["org_guid"])
               for t in ("organization_manager", "organization_auditor", "organization_billing_manager"))


def can_manage_space(world: World, user_guid: str, space_guid: str) -> bool:
    """PATCH space features: Admin, Org Manager, Space Manager."""
    space = world["spaces"][space_guid]
    return (is_admin(world, user_guid)
            or has_role(world, user_guid, "organization_manager", org_guid=space["org_guid"])
            or has_role(world, user_guid, "space_manager", space_guid=space_guid))


def can_develop_space(world: World, user_guid: str, space_guid: str) -> bool:
    """Write to apps, processes, tasks, service keys: Admin, Space Developer."""
    return is_admin(world, user_guid) or has_role(world, user_guid, "space_developer", space_guid=space_guid)


def can_see_secrets(world: World, user_guid: str, space_guid: str) -> bool:
    """Task commands and credentials are shown to developers only."""
    return can_develop_space(world, user_guid, space_guid)


def ssh_enabled(world: World, app: dict[str, Any]) -> tuple[bool, str]:
    """(enabled, reason) as CC's app_ssh_status_presenter computes them."""
    space = world["spaces"][app["space_guid"]]
    if not world["global"].get("allow_app_ssh_access", True):
        return False, "ssh is disabled globally"
    if not space["allow_ssh"]:
        return False, f"ssh is disabled for space '{space['name']}'"
    if not app["enable_ssh"]:
        return False, "ssh is disabled for app"
    return True, ""


# --- passwords and tokens ---------------------------------------------------------------------------------------------

def hash_password(password: str) -> dict[str, Any]:
    salt = token_hex(16)
    value = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), PBKDF2_ITERATIONS)
    return {"salt": salt, "iterations": PBKDF2_ITERATIONS, "pbkdf2_sha256": value.hex()}


def check_password(user: dict[str, Any], password: str) -> bool:
    stored = user.get("password")
    if not stored:
        return False
    import hmac  # pylint: disable=import-outside-toplevel

    value = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(stored["salt"]),
                                int(stored["iterations"]))
    return hmac.compare_digest(value.hex(), stored["pbkdf2_sha256"])


def _b64url(raw: bytes) -> str:
    import base64  # pylint: disable=import-outside-toplevel

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def issue_tokens(world: World, user: dict[str, Any], grant_type: str = "password") -> tuple[str, str]:
    """A fresh (access_token, refresh_token) pair for USER, recorded (as digests) in the world.

    The access token is JWT-shaped like UAA's, so cf can name the user without a request; its ``jti`` and signature
    are random, so it is opaque and unguessable. The refresh token is an opaque random string.
    """
    issued = now(world)
    header = {"alg": "RS256", "kid": "rehearsal-key-1", "typ": "JWT"}
    claims = {
        "jti": token_hex(16),
        "sub": user["guid"],
        "scope": ["openid", "routing.router_groups.read", "network.write", "scim.read", "cloud_controller.write",
                  "uaa.user", "cloud_controller.read", "password.write"],
        "client_id": "cf", "cid": "cf", "azp": "cf",
        "grant_type": grant_type,
        "user_id": user["guid"],
        "origin": user["origin"],
        "user_name": user["username"],
        "email": user["email"],
        "iat": int(issued),
        "exp": int(issued) + 600,
        "iss": f"{world['api']['uaa_url']}/oauth/token",
        "zid": "uaa",
        "aud": ["cloud_controller", "scim", "password", "cf", "uaa", "openid", "network", "routing.router_groups"],
    }
    access = ".".join((_b64url(json.dumps(header, separators=(",", ":")).encode()),
                       _b64url(json.dumps(claims, separators=(",", ":")).encode()),
                       _b64url(os.urandom(64))))
    refresh = token_hex(16) + "-r"
    world["tokens"][digest(access)] = {"user_guid": user["guid"], "refresh_sha256": digest(refresh),
                                       "issued_at": issued, "revoked": False, "grant_type": grant_type}
    return access, refresh


def token_claims(access_token: str) -> dict[str, Any]:
    """The claims of a JWT-shaped access token (``bearer`` prefix allowed); {} when it is not one."""
    import base64  # pylint: disable=import-outside-toplevel

    token = access_token.split(" ", 1)[-1]
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, json.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def user_for_token(world: World, access_token: str) -> dict[str, Any] | None:
    """The user an access token belongs to, or None when it is unknown or revoked."""
    token = access_token.split(" ", 1)[-1]
    entry = world["tokens"].get(digest(token))
    if entry is None or entry.get("revoked"):
        return None
    return world["users"].get(entry["user_guid"])


def revoke_tokens(home: str | os.PathLike[str] | None, username: str) -> int:
    """Revoke every token of USERNAME: its next cf call fails with the token-expired message. Returns the count."""
    with transaction(home) as world:
        user = require_user(world, username)
        count = 0
        for entry in world["tokens"].values():
            if entry["user_guid"] == user["guid"] and not entry.get("revoked"):
                entry["revoked"] = True
                count += 1
        return count


# --- one-time codes ---------------------------------------------------------------------------------------------------

def issue_passcode(home: str | os.PathLike[str] | None = None, username: str | None = None) -> str:
    """A one-time SSO passcode for ``cf login --sso-passcode`` (default user: the SSO operator)."""
    from rehearsal import OPERATOR  # pylint: disable=import-outside-toplevel

    with transaction(home) as world:
        user = require_user(world, username or OPERATOR)
        code = random_code(10)
        world["passcodes"][digest(code)] = {"user_guid": user["guid"], "expires_at": now(world) + PASSCODE_TTL_S}
        return code


def consume_passcode(world: World, code: str) -> dict[str, Any] | None:
    entry = world["passcodes"].pop(digest(code), None)
    if entry is None or entry["expires_at"] < now(world):
        return None
    return world["users"].get(entry["user_guid"])


def issue_ssh_code(world: World, user_guid: str) -> str:
    code = random_code(10)
    issued = now(world)
    world["ssh_codes"][digest(code)] = {"user_guid": user_guid, "issued_at": issued,
                                        "expires_at": issued + SSH_CODE_TTL_S, "used_at": None}
    return code


def consume_ssh_code(home: str | os.PathLike[str] | None, code: str) -> dict[str, Any] | None:
    """Use a ``cf ssh-code`` code once: returns ``{user_guid, username}`` or None (unknown, used, expired)."""
    with transaction(home) as world:
        entry = world["ssh_codes"].get(digest(code))
        current = now(world)
        if entry is None or entry["used_at"] is not None or entry["expires_at"] < current:
            return None
        entry["used_at"] = current
        user = world["users"].get(entry["user_guid"])
        if user is None:
            return None
        return {"user_guid": user["guid"], "username": user["username"]}


def _prune(world: World) -> None:
    """Drop spent codes and old revoked tokens so the world does not grow without bound."""
    current = now(world)
    world["ssh_codes"] = {k: v for k, v in world["ssh_codes"].items()
                          if v["expires_at"] > current - 3600 and (v["used_at"] is None or v["used_at"] > current - 3600)}
    world["passcodes"] = {k: v for k, v in world["passcodes"].items() if v["expires_at"] > current}
    world["tokens"] = {k: v for k, v in world["tokens"].items()
                       if v["issued_at"] > current - 7 * 86400 and not (v.get("revoked") and v["issued_at"] < current - 86400)}


# --- operations for tests and the other rehearsal services ------------------------------------------------------------

def set_ssh_proxy(home: str | os.PathLike[str] | None, *, host: str | None = None, port: int | None = None,
                  host_key_fingerprint: str | None = None) -> dict[str, Any]:
    """Record where the SSH proxy listens (shown by ``cf curl /`` as ``links.app_ssh``)."""
    with transaction(home) as world:
        proxy = world["ssh_proxy"]
        if host is not None:
            proxy["host"] = host
        if port is not None:
            proxy["port"] = int(port)
        if host_key_fingerprint is not None:
            proxy["host_key_fingerprint"] = host_key_fingerprint
        return dict(proxy)


def advance_clock(home: str | os.PathLike[str] | None, seconds: float) -> float:
    """Move the world's clock forward (tasks finish, codes expire). Returns the new offset."""
    with transaction(home) as world:
        world["clock_offset_s"] = float(world.get("clock_offset_s", 0.0)) + float(seconds)
        return world["clock_offset_s"]


def set_task_behaviour(home: str | os.PathLike[str] | None, command: str, *, seconds: float | None = 1.0,
                       result: str = "SUCCEEDED", failure_reason: str | None = None,
                       log: list[Any] | None = None, runner: str | None = None, exit_status: int | None = None) -> None:
    """How tasks running COMMAND behave: finish after SECONDS (None: never) with RESULT (SUCCEEDED or FAILED).

    ``log`` lines are printed by the task (a string, or ``{"stream": "ERR", "message": ...}``); ``runner`` names a
    function in ``rehearsal.task_runners`` that computes the outcome when the task ends. COMMAND may be a glob.
    """
    if result not in ("SUCCEEDED", "FAILED"):
        raise WorldError("result must be SUCCEEDED or FAILED")
    behaviour: dict[str, Any] = {"seconds": seconds, "result": result}
    if failure_reason is not None:
        behaviour["failure_reason"] = failure_reason
    if log is not None:
        behaviour["log"] = log
    if runner is not None:
        behaviour["runner"] = runner
    if exit_status is not None:
        behaviour["exit_status"] = exit_status
    with transaction(home) as world:
        world["task_behaviours"][command] = behaviour


def set_global_ssh(home: str | os.PathLike[str] | None, allowed: bool) -> None:
    with transaction(home) as world:
        world["global"]["allow_app_ssh_access"] = bool(allowed)


def set_space_ssh(home: str | os.PathLike[str] | None, space_name: str, allowed: bool) -> None:
    with transaction(home) as world:
        for space in world["spaces"].values():
            if space["name"] == space_name:
                space["allow_ssh"] = bool(allowed)
                return
        raise WorldError(f"no space {space_name!r}")


def set_app_ssh(home: str | os.PathLike[str] | None, space_name: str, app_name: str, enabled: bool) -> None:
    with transaction(home) as world:
        app_by_names(world, space_name, app_name)["enable_ssh"] = bool(enabled)


def set_instance_state(home: str | os.PathLike[str] | None, space_name: str, app_name: str, process_type: str,
                       index: int, state: str, **usage: Any) -> None:
    """Override one instance's stats (state RUNNING/STARTING/CRASHED/DOWN, plus cpu, mem, disk, since...)."""
    with transaction(home) as world:
        app = app_by_names(world, space_name, app_name)
        for proc in processes_of(world, app["guid"]):
            if proc["type"] == process_type:
                proc.setdefault("instance_overrides", {})[str(index)] = {"state": state, **usage}
                return
        raise WorldError(f"app {app_name!r} has no {process_type!r} process")


def grant_role(home: str | os.PathLike[str] | None, username: str, role_type: str, *, org: str | None = None,
               space: str | None = None) -> str:
    """Give USERNAME a v3 role (``space_developer``, ``space_manager``, ``organization_manager``, ...)."""
    from rehearsal import seed  # pylint: disable=import-outside-toplevel

    with transaction(home) as world:
        user = require_user(world, username)
        org_obj = find_org(world, org) if org else None
        space_obj = None
        if space is not None:
            space_obj = next((s for s in world["spaces"].values() if s["name"] == space), None)
            if space_obj is None:
                raise WorldError(f"no space {space!r}")
        return seed.add_role(world, user, role_type, org=org_obj, space=space_obj)


def revoke_role(home: str | os.PathLike[str] | None, username: str, role_type: str, *, space: str | None = None,
                org: str | None = None) -> int:
    """Remove USERNAME's ROLE_TYPE roles (in SPACE or ORG if given). Returns how many were removed."""
    with transaction(home) as world:
        user = require_user(world, username)
        space_guid = next((s["guid"] for s in world["spaces"].values() if s["name"] == space), None) if space else None
        org_guid = find_org(world, org)["guid"] if org and find_org(world, org) else None
        doomed = [g for g, r in world["roles"].items()
                  if r["user_guid"] == user["guid"] and r["type"] == role_type
                  and (space is None or r.get("space_guid") == space_guid)
                  and (org is None or (r.get("org_guid") == org_guid and r.get("space_guid") is None))]
        for guid in doomed:
            del world["roles"][guid]
        return len(doomed)


def add_log_line(home: str | os.PathLike[str] | None, space_name: str, app_name: str, message: str, *,
                 source: str = "APP/PROC/WEB/0", stream: str = "OUT", ts: float | None = None) -> None:
    """Append a line to an app's recent logs (``cf logs APP --recent``)."""
    with transaction(home) as world:
        app = app_by_names(world, space_name, app_name)
        world["logs"].setdefault(app["guid"], []).append(
            {"ts": now(world) if ts is None else ts, "source": source, "stream": stream, "message": message})
