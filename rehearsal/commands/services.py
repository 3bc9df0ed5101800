# SPDX-License-Identifier: GPL-3.0-or-later
"""service, service-keys, create-service-key, delete-service-key, service-key (cf-cli.md §3.13)."""
from __future__ import annotations

import json
import os
import time
from typing import Any

from rehearsal import world as world_mod
from rehearsal.commands.base import NOT_AUTHORIZED, Args, Context, Flag, command
from rehearsal.ui import CfError, table


def _instance(ctx: Context, world: world_mod.World, name: str) -> tuple[Any, dict[str, Any]]:
    """The service instance NAME in the targeted space, or ``Service instance 'NAME' not found`` (no period)."""
    session, space = ctx.targeted_space(world)
    si = world_mod.find_service_instance(world, space["guid"], name)
    if si is None or not world_mod.can_see_space(world, session.user["guid"], si["space_guid"]):
        raise CfError(f"Service instance '{name}' not found")
    return session, si


def _key(world: world_mod.World, si: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((k for k in world_mod.keys_of(world, si["guid"]) if k["name"] == name), None)


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@command("service", description="Show service instance info", usage="CF_NAME service SERVICE_INSTANCE",
         args=("SERVICE_INSTANCE",),
         flags=(Flag("guid", help="Retrieve and display the given service instances's guid. All other output for "
                                  "the service instance is suppressed."),
                Flag("params", help="Retrieve and display the given service instances's parameters. All other "
                                    "output for the service instance is suppressed.")),
         related="bind-service, rename-service, update-service")
def service(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    name = a["SERVICE_INSTANCE"]
    if a["guid"]:
        with ctx.world() as world:
            _, si = _instance(ctx, world, name)
        ctx.out.text(si["guid"])
        return 0
    ctx.out.text(f"Showing info of service {name} in org {ctx.org_name} / space {ctx.space_name} "
                 f"as {ctx.user_name()}...")
    ctx.out.newline()
    with ctx.world() as world:
        _, si = _instance(ctx, world, name)
        bound = [world["apps"][g]["name"] for g in si.get("bound_app_guids", []) if g in world["apps"]]
    op = si["last_operation"]
    out = table([["name:", si["name"]], ["guid:", si["guid"]], ["type:", si["type"]], ["broker:", si["broker"]],
                 ["offering:", si["offering"]], ["plan:", si["plan"]], ["tags:", ", ".join(si.get("tags", []))],
                 ["offering tags:", ""], ["description:", ""], ["documentation:", ""], ["dashboard url:", ""]])
    out += "\nShowing status of last operation:\n"
    out += table([["status:", f"{op['type']} {op['state']}"], ["message:", op.get("description", "")],
                  ["started:", _utc(si["created_at"])], ["updated:", _utc(si["updated_at"])]], prefix="   ")
    out += "\nShowing bound apps:\n"
    if bound:
        out += table([["name", "binding name", "status", "message"]]
                     + [[n, "", "create succeeded", ""] for n in sorted(bound)], prefix="   ")
    else:
        out += "   There are no bound apps for this service instance.\n"
    ctx.out.write(out)
    return 0


@command("service-keys", description="List keys for a service instance", usage="CF_NAME service-keys SERVICE_INSTANCE",
         args=("SERVICE_INSTANCE",), alias="sk", related="delete-service-key")
def service_keys(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    name = a["SERVICE_INSTANCE"]
    ctx.out.text(f"Getting keys for service instance {name} as {ctx.user_name()}...")
    ctx.out.newline()
    with ctx.world() as world:
        _, si = _instance(ctx, world, name)
        keys = world_mod.keys_of(world, si["guid"])
    if not keys:
        ctx.out.text(f"No service keys for service instance {name}")
        return 0
    ctx.out.write(table([["name", "last operation", "message"]] + [[k["name"], "create succeeded", ""] for k in keys]))
    return 0


def _parameters(value: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    text = value
    if os.path.isfile(value):
        with open(value, encoding="utf-8") as fh:
            text = fh.read()
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise CfError("Invalid configuration provided for -c flag. Please provide a valid JSON object or path to a "
                      "file containing a valid JSON object.")
    return parsed


@command("create-service-key", description="Create key for a service instance",
         usage="CF_NAME create-service-key SERVICE_INSTANCE SERVICE_KEY [-c PARAMETERS_AS_JSON] [--wait]",
         args=("SERVICE_INSTANCE", "SERVICE_KEY"), alias="csk",
         flags=(Flag(short="c", value=True, help="Valid JSON object containing service-specific configuration "
                                                 "parameters, provided either in-line or in a file. For a list of "
                                                 "supported configuration parameters, see documentation for the "
                                                 "particular service offering."),
                Flag("wait", "w", help="Wait for the operation to complete")),
         related="service-key")
def create_service_key(ctx: Context, a: Args) -> int:
    parameters = _parameters(a["c"])
    ctx.check_target(True, True)
    si_name, key_name = a["SERVICE_INSTANCE"], a["SERVICE_KEY"]
    ctx.out.text(f"Creating service key {key_name} for service instance {si_name} as {ctx.user_name()}...")
    with ctx.world() as world:
        session, si = _instance(ctx, world, si_name)
        if si["type"] == "user-provided":
            raise CfError("Service credential bindings of type 'key' are not supported for user-provided service "
                          "instances.")
        if not world_mod.can_develop_space(world, session.user["guid"], si["space_guid"]):
            raise CfError(NOT_AUTHORIZED)
        if _key(world, si, key_name) is not None:
            ctx.out.newline()
            ctx.out.text(f"Service key {key_name} already exists")
            ctx.out.ok()
            return 0
        current = world_mod.now(world)
        key = {"guid": world_mod.new_guid(), "name": key_name, "service_instance_guid": si["guid"],
               "credentials": dict(si["credentials"]), "parameters": parameters,
               "created_at": current, "updated_at": current}
        world["service_keys"][key["guid"]] = key
    ctx.out.ok()
    return 0


@command("delete-service-key", description="Delete a service key",
         usage="CF_NAME delete-service-key SERVICE_INSTANCE SERVICE_KEY [-f] [--wait]\n\nEXAMPLES:\n"
               "   CF_NAME delete-service-key mydb mykey",
         args=("SERVICE_INSTANCE", "SERVICE_KEY"), alias="dsk",
         flags=(Flag(short="f", help="Force deletion without confirmation"),
                Flag("wait", "w", help="Wait for the operation to complete")),
         related="service-keys")
def delete_service_key(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    si_name, key_name = a["SERVICE_INSTANCE"], a["SERVICE_KEY"]
    if not a["f"]:
        ctx.out.write(f"Really delete the service key {key_name}? [yN]: ")
        answer = ctx.stdin.readline()
        if not answer:
            ctx.out.newline()
        if answer.strip().lower() not in ("y", "yes"):
            ctx.out.text("Delete cancelled")
            return 0
    ctx.out.text(f"Deleting key {key_name} for service instance {si_name} as {ctx.user_name()}...")
    with ctx.world() as world:
        session, si = _instance(ctx, world, si_name)
        key = _key(world, si, key_name)
        if key is None:
            ctx.out.newline()
            ctx.out.text(f"Service key {key_name} does not exist for service instance {si_name}.")
            ctx.out.ok()
            return 0
        if not world_mod.can_develop_space(world, session.user["guid"], si["space_guid"]):
            raise CfError(NOT_AUTHORIZED)
        del world["service_keys"][key["guid"]]
    ctx.out.ok()
    return 0


@command("service-key", description="Show service key info",
         usage="CF_NAME service-key SERVICE_INSTANCE SERVICE_KEY\n\nEXAMPLES:\n   CF_NAME service-key mydb mykey",
         args=("SERVICE_INSTANCE", "SERVICE_KEY"),
         flags=(Flag("guid", help="Retrieve and display the given service-key's guid. All other output is suppressed."),
                Flag("json", help="Output credentials as JSON. All other output is suppressed.")),
         related="")
def service_key(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    si_name, key_name = a["SERVICE_INSTANCE"], a["SERVICE_KEY"]
    if not (a["guid"] or a["json"]):
        ctx.out.text(f"Getting key {key_name} for service instance {si_name} as {ctx.user_name()}...")
    with ctx.world() as world:
        session, si = _instance(ctx, world, si_name)
        key = _key(world, si, key_name)
        if key is None:
            raise CfError(f"No service key {key_name} found for service instance {si_name}")
        if a["guid"]:
            ctx.out.text(key["guid"])
            return 0
        if not world_mod.can_see_secrets(world, session.user["guid"], si["space_guid"]):
            raise CfError(NOT_AUTHORIZED)
        details = {"credentials": key["credentials"]}
    if not a["json"]:
        ctx.out.newline()
    ctx.out.text(json.dumps(details, indent=2, sort_keys=True))
    return 0
