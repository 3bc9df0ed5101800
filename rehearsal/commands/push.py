# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""push and cancel-deployment (cf-cli.md §3.12).

``cf push APP -f MANIFEST --vars-file FILE... --var K=V... --strategy rolling`` stages a new droplet of an existing app
and deploys it. With the rolling strategy the deployment clones a new web process with a fresh GUID (cf-cli.md §5)
and finalizes at once; without it, the processes restart in place. Manifest variables ``((name))`` come from the vars
files and ``--var``; the app's environment is kept only as SHA-256 digests (``environment_sha256``), so a secret that
reached the app can be checked without being stored.

Fault: ``set_deploy_fault(home, app=None, times=1)`` makes the next rolling push crash while it starts: the new
instances crash, the deployment stays ACTIVE (DEPLOYING) and cf fails with ``Start unsuccessful``. ``cf
cancel-deployment APP`` then finalizes it as CANCELED and puts the previous droplet back.

The manifest reader understands the block YAML that app manifests use (mappings, lists, scalars, ``[]``); it is not a
general YAML parser.
"""
from __future__ import annotations

import hashlib
import os
import re
from typing import Any

from rehearsal import world as world_mod
from rehearsal.commands.apps import app_summary
from rehearsal.commands.base import NOT_AUTHORIZED, Args, Context, Flag, command
from rehearsal.ui import CfError

PUSH_USAGE = ("CF_NAME push APP_NAME [-b BUILDPACK_NAME] [-c COMMAND] [-f MANIFEST_PATH | --no-manifest] [--no-start] "
              "[--no-wait] [-i NUM_INSTANCES] [-k DISK] [-m MEMORY] [-l LOG_RATE_LIMIT] [-p PATH] [-s STACK] "
              "[-t HEALTH_TIMEOUT] [--task TASK] [-u (process | port | http)] [--no-route | --random-route] "
              "[--var KEY=VALUE] [--vars-file VARS_FILE_PATH]... [--strategy STRATEGY]")
VAR = re.compile(r"\(\(([A-Za-z0-9_.-]+)\)\)")


# --- manifests --------------------------------------------------------------------------------------------------------

def _scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text == "[]":
        return []
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(part) for part in text[1:-1].split(",") if part.strip()]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    return text


def _is_key(text: str) -> bool:
    return bool(re.match(r"^[A-Za-z0-9_.-]+:(\s|$)", text))


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][1] == "-" or lines[i][1].startswith("- "):
        items: list[Any] = []
        while i < len(lines) and lines[i][0] == indent and (lines[i][1] == "-" or lines[i][1].startswith("- ")):
            rest = lines[i][1][1:].strip()
            if not rest:
                value, i = _block(lines, i + 1, lines[i + 1][0])
            elif _is_key(rest):
                lines[i] = (indent + 2, rest)
                value, i = _block(lines, i, indent + 2)
            else:
                value, i = _scalar(rest), i + 1
            items.append(value)
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent and not (lines[i][1] == "-" or lines[i][1].startswith("- ")):
        key, _, rest = lines[i][1].partition(":")
        i += 1
        if rest.strip():
            mapping[key.strip()] = _scalar(rest)
        elif i < len(lines) and (lines[i][0] > indent or (lines[i][0] == indent and lines[i][1].startswith("- "))):
            mapping[key.strip()], i = _block(lines, i, lines[i][0])
        else:
            mapping[key.strip()] = None
    return mapping, i


def parse_yaml(text: str) -> Any:
    """Block YAML as app manifests and vars files use it."""
    lines = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        if " #" in raw and '"' not in raw and "'" not in raw:
            raw = raw.split(" #", 1)[0]
        lines.append((len(raw) - len(raw.lstrip(" ")), raw.strip()))
    if not lines:
        return None
    value, _ = _block(lines, 0, lines[0][0])
    return value


def megabytes(value: Any) -> int:
    match = re.fullmatch(r"(\d+)\s*([MG])B?", str(value).strip().upper())
    if not match:
        raise CfError(f"The rehearsal cloud: {value!r} is not a memory or disk size such as 512M or 4G.")
    return int(match.group(1)) * (1024 if match.group(2) == "G" else 1)


def _load_vars(files: list[str], pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for path in files:
        try:
            with open(path, encoding="utf-8") as fh:
                data = parse_yaml(fh.read()) or {}
        except OSError:
            raise CfError(f"The rehearsal cloud: vars file {path} cannot be read.") from None
        if not isinstance(data, dict):
            raise CfError(f"The rehearsal cloud: vars file {path} is not a mapping.")
        values.update({str(k): "" if v is None else str(v) for k, v in data.items()})
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise CfError(f"The rehearsal cloud: --var {pair} is not KEY=VALUE.")
        values[key] = value
    return values


def load_manifest(path: str, variables: dict[str, str], app_name: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        raise CfError(f"The rehearsal cloud: manifest file {path} cannot be read.") from None
    missing = sorted({name for name in VAR.findall(text) if name not in variables})
    if missing:
        raise CfError(f"The rehearsal cloud: manifest variables without a value: {', '.join(missing)}.")
    data = parse_yaml(VAR.sub(lambda m: variables[m.group(1)], text)) or {}
    apps = data.get("applications") if isinstance(data, dict) else None
    for app in apps or []:
        if isinstance(app, dict) and str(app.get("name", "")).lower() == app_name.lower():
            return app
    raise CfError(f"The rehearsal cloud: the manifest {path} has no application named {app_name}.")


# --- deploy faults ----------------------------------------------------------------------------------------------------

def set_deploy_fault(home: str | os.PathLike[str] | None, app: str | None = None, times: int | None = 1) -> None:
    """The next TIMES rolling pushes of APP (None: any app) crash while their new instances start."""
    with world_mod.transaction(home) as world:
        world.setdefault("deploy_faults", []).append({"app": app, "action": "crash", "times": times})


def _take_fault(world: world_mod.World, app_name: str) -> bool:
    for fault in world.get("deploy_faults", []):
        if fault.get("times") is not None and fault["times"] <= 0:
            continue
        if fault.get("app") and fault["app"].lower() != app_name.lower():
            continue
        if fault.get("times") is not None:
            fault["times"] -= 1
        return True
    return False


# --- push -------------------------------------------------------------------------------------------------------------

def _process_specs(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for proc in manifest.get("processes") or []:
        if isinstance(proc, dict) and proc.get("type"):
            specs[str(proc["type"])] = proc
    if "web" not in specs and any(k in manifest for k in ("instances", "memory", "command")):
        specs["web"] = {k: manifest[k] for k in ("instances", "memory", "command") if k in manifest}
    return specs


def _summary(world: world_mod.World, app: dict[str, Any], now: float) -> str:
    """``cf app``'s summary plus the ``start command:`` row of each process (cf-cli.md §3.12)."""
    commands = {p["type"]: p.get("command") or "" for p in world_mod.processes_of(world, app["guid"])}
    out, current = [], None
    for line in app_summary(world, app, now).splitlines():
        match = re.match(r"^(type|sidecars|instances|memory usage):\s*(.*)$", line)
        if match:
            if match.group(1) == "type":
                current = match.group(2)
            out.append(f"{match.group(1) + ':':<17}{match.group(2)}")
            if match.group(1) == "memory usage":
                out.append(f"{'start command:':<17}{commands.get(current, '')}")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _apply(world: world_mod.World, app: dict[str, Any], manifest: dict[str, Any], rolling: bool, crash: bool,
           now: float) -> None:
    from rehearsal import seed  # pylint: disable=import-outside-toplevel

    old_droplet = world["droplets"].get(app.get("droplet_guid") or "", {})
    droplet = {"guid": world_mod.new_guid(), "app_guid": app["guid"], "state": "STAGED",
               "stack": str(manifest.get("stack") or old_droplet.get("stack") or "cflinuxfs4"),
               "buildpacks": list(old_droplet.get("buildpacks") or []), "created_at": now, "updated_at": now}
    world["droplets"][droplet["guid"]] = droplet
    previous = app.get("droplet_guid")
    app["droplet_guid"] = droplet["guid"]
    app["revision"] = {"guid": world_mod.new_guid(), "version": int(app.get("revision", {}).get("version", 1)) + 1}
    env = manifest.get("env") if isinstance(manifest.get("env"), dict) else {}
    app["environment_sha256"] = {str(k): hashlib.sha256(str(v).encode("utf-8")).hexdigest() for k, v in env.items()}
    app["state"] = "STARTED"
    specs = _process_specs(manifest)
    for dep in world["deployments"].values():
        if dep["app_guid"] == app["guid"] and dep["status"]["value"] == "ACTIVE":
            dep.update(state="SUPERSEDED", status={"value": "FINALIZED", "reason": "SUPERSEDED"}, updated_at=now)
    logs = world["logs"].setdefault(app["guid"], [])
    if rolling:
        deployment = {"guid": world_mod.new_guid(), "app_guid": app["guid"], "strategy": "rolling",
                      "droplet_guid": droplet["guid"], "previous_droplet_guid": previous,
                      "revision_guid": app["revision"]["guid"], "created_at": now, "updated_at": now}
        world["deployments"][deployment["guid"]] = deployment
        if crash:
            deployment.update(state="DEPLOYING", status={"value": "ACTIVE", "reason": "DEPLOYING"})
            logs.append({"ts": now, "source": "APP/PROC/WEB/0", "stream": "ERR",
                         "message": "rehearsal: the new instance crashed while starting (injected deploy fault)"})
            return
        deployment.update(state="DEPLOYED", status={"value": "FINALIZED", "reason": "DEPLOYED"})
    for proc in world_mod.processes_of(world, app["guid"]):
        spec = specs.get(proc["type"], {})
        instances = int(spec.get("instances", proc["instances"]))
        memory = megabytes(spec["memory"]) if "memory" in spec else proc["memory_in_mb"]
        disk = megabytes(manifest["disk_quota"]) if manifest.get("disk_quota") else proc["disk_in_mb"]
        command_line = str(spec.get("command") or proc.get("command") or "")
        if rolling and proc["type"] == "web":
            del world["processes"][proc["guid"]]
            seed.add_process(world, app, "web", instances=instances, memory_in_mb=memory, disk_in_mb=disk,
                             log_rate_limit=proc["log_rate_limit_in_bytes_per_second"], command=command_line,
                             started_at=now)
        else:
            proc.update(instances=instances, memory_in_mb=memory, disk_in_mb=disk, command=command_line,
                        started_at=now, updated_at=now, instance_overrides={})
        for index in range(instances):
            logs.append({"ts": now + 0.5 + index, "source": f"APP/PROC/{proc['type'].upper()}/{index}", "stream": "OUT",
                         "message": "Listening on port 8080" if proc["type"] == "web" else "Worker started, waiting for jobs"})


STAGING_LOG = [
    "Downloading nodejs_buildpack...",
    "Cell rehearsal-cell-0 creating container for instance",
    "-----> Nodejs Buildpack version 1.8.38",
    "-----> Installing binaries",
    "-----> Building dependencies",
    "Exit status 0",
    "Uploading droplet...",
]


@command("push", description="Push a new app or sync changes to an existing app", usage=PUSH_USAGE, alias="p",
         args=("APP_NAME?",),
         flags=(Flag(short="f", value=True, help="Path to manifest"),
                Flag("vars-file", value=True, repeat=True, help="Path to a variable substitution file for manifest; "
                                                                "can specify multiple times"),
                Flag("var", value=True, repeat=True, help="Variable key value pair for variable substitution, "
                                                          "(e.g., name=app1); can specify multiple times"),
                Flag("strategy", value=True, help="Deployment strategy can be canary, rolling or null."),
                Flag("max-in-flight", value=True, help="Defines the maximum number of instances that will be "
                                                       "actively being started. Only applies when --strategy flag "
                                                       "is specified."),
                Flag(short="p", value=True, help="Path to app directory or to a zip file of the contents of the app "
                                                 "directory"),
                Flag("no-manifest", help="Ignore manifest file"),
                Flag("no-start", help="Do not stage and start the app after pushing"),
                Flag("no-wait", help="Exit when the first instance of the web process is healthy")),
         related="apps, create-app, logs, ssh, start")
def push_command(ctx: Context, a: Args) -> int:
    strategy = a["strategy"]
    if strategy not in (None, "rolling", "null"):
        raise CfError(f"The rehearsal cloud does not emulate 'cf push --strategy {strategy}'.")
    if a["no_start"] or a["no_wait"]:
        raise CfError("The rehearsal cloud does not emulate 'cf push --no-start' or '--no-wait'.")
    ctx.check_target(True, True)
    name = a["APP_NAME"]
    manifest_path = a["f"]
    if not name or not manifest_path or a["no_manifest"]:
        raise CfError("The rehearsal cloud emulates 'cf push' only as 'cf push APP_NAME -f MANIFEST'.")
    variables = _load_vars(a["vars_file"] or [], a["var"] or [])
    manifest = load_manifest(manifest_path, variables, name)
    rolling = strategy == "rolling" or (strategy is None and manifest.get("strategy") == "rolling")
    ctx.out.text(f"Pushing app {name} to org {ctx.org_name} / space {ctx.space_name} as {ctx.user_name()}...")
    with ctx.world() as world:
        session, app = ctx.find_app(world, name)
        if not world_mod.can_develop_space(world, session.user["guid"], app["space_guid"]):
            raise CfError(NOT_AUTHORIZED)
    ctx.out.text(f"Applying manifest file {os.path.abspath(manifest_path)}...")
    ctx.out.text("Updating with these attributes...")
    ctx.out.text("Manifest applied")
    ctx.out.text("Packaging files to upload...")
    ctx.out.text("Uploading files...")
    ctx.out.text(" 1.04 MiB / 1.04 MiB [====================================================================] 100.00% 1s")
    ctx.out.newline()
    ctx.out.text("Waiting for API to complete processing files...")
    ctx.out.newline()
    ctx.out.text("Staging app and tracing logs...")
    for line in STAGING_LOG:
        ctx.out.text(f"   {line}")
    ctx.out.newline()
    if rolling:
        ctx.out.text(f"Starting deployment for app {name}...")
        ctx.out.text("Waiting for app to deploy...")
    else:
        ctx.out.text(f"Waiting for app {name} to start...")
    ctx.out.newline()
    with ctx.world() as world:
        _, app = ctx.find_app(world, name)
        now = world_mod.now(world)
        crash = rolling and _take_fault(world, name)
        _apply(world, app, manifest, rolling, crash, now)
        ctx.out.warning("Instances starting...")
        summary = _summary(world, app, now)
    ctx.out.write(summary)
    if crash:
        ctx.out.error(f"Start unsuccessful\n\nTIP: use 'cf logs {name} --recent' for more information")
        return 1
    return 0


@command("cancel-deployment", description="Cancel the most recent deployment for an app. Resets the current droplet "
                                          "to the previous deployment's droplet.",
         usage="CF_NAME cancel-deployment APP_NAME\n\nEXAMPLES:\n   cf cancel-deployment my-app",
         args=("APP_NAME",), related="app, push, restart, rollback")
def cancel_deployment(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    name = a["APP_NAME"]
    ctx.out.text(f"Canceling deployment for app {name} in org {ctx.org_name} / space {ctx.space_name} "
                 f"as {ctx.user_name()}...")
    with ctx.world() as world:
        session, app = ctx.find_app(world, name)
        active = sorted((d for d in world["deployments"].values()
                         if d["app_guid"] == app["guid"] and d["status"]["value"] == "ACTIVE"),
                        key=lambda d: d["created_at"], reverse=True)
        if not active:
            raise CfError("No active deployment found for app.")
        if not world_mod.can_develop_space(world, session.user["guid"], app["space_guid"]):
            raise CfError(NOT_AUTHORIZED)
        deployment = active[0]
        deployment.update(state="CANCELED", status={"value": "FINALIZED", "reason": "CANCELED"},
                          updated_at=world_mod.now(world))
        if deployment.get("previous_droplet_guid"):
            app["droplet_guid"] = deployment["previous_droplet_guid"]
    ctx.out.ok()
    ctx.out.text(f"TIP: Run 'cf app {name}' to view app status.")
    return 0
