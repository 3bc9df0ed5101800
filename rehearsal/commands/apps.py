# SPDX-License-Identifier: GPL-3.0-or-later
"""app, apps, space (cf-cli.md §3.5-§3.7)."""
from __future__ import annotations

import time
from typing import Any

from rehearsal import world as world_mod
from rehearsal.commands.base import Args, Context, Flag, command
from rehearsal.ui import CfError, bytefmt, table


def last_uploaded(ts: float) -> str:
    """``Mon 02 Jan 15:04:05 MST 2006`` in local time (ui.UserFriendlyDate)."""
    import datetime  # pylint: disable=import-outside-toplevel

    return datetime.datetime.fromtimestamp(ts).astimezone().strftime("%a %d %b %H:%M:%S %Z %Y")


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _log_rate_limit(limit: int) -> str:
    return "unlimited" if limit == -1 else bytefmt(limit) + "/s"


def _ready(routable: Any) -> str:
    return "-" if routable is None else ("true" if routable else "false")


def app_summary(world: world_mod.World, app: dict[str, Any], now: float) -> str:
    """The body of ``cf app`` (shared/app_summary_displayer.go, v8.17+ columns)."""
    from rehearsal import cc_api  # pylint: disable=import-outside-toplevel

    droplet = world["droplets"].get(app.get("droplet_guid") or "")
    out = table([
        ["name:", app["name"]],
        ["requested state:", app["state"].lower()],
        ["isolation segment:", app["isolation_segment"]] if app.get("isolation_segment") else [],
        ["routes:", ", ".join(app.get("routes", []))],
        ["last uploaded:", last_uploaded(droplet["created_at"]) if droplet else ""],
        ["stack:", droplet["stack"] if droplet else ""],
        ["buildpacks:", ""],
    ])
    if droplet and droplet["buildpacks"]:
        rows = [["name", "version", "detect output", "buildpack name"]]
        rows += [[bp["name"], bp["version"], bp["detect_output"], bp["buildpack_name"]] for bp in droplet["buildpacks"]]
        out += table(rows, prefix="\t")
    for proc in world_mod.processes_of(world, app["guid"]):
        stats = cc_api.process_stats(world, proc, now)
        running = sum(1 for s in stats if s["state"] == "RUNNING")
        out += "\n" + table([["type:", proc["type"]], ["sidecars:", ""], ["instances:", f"{running}/{len(stats)}"],
                             ["memory usage:", f"{proc['memory_in_mb']}M"]])
        if not stats:
            out += "There are no running instances of this process.\n"
            continue
        rows = [["", "state", "since", "cpu", "memory", "disk", "logging", "cpu entitlement", "details", "ready"]]
        for s in stats:
            usage = s["usage"]
            entitlement = usage.get("cpu_entitlement")
            rows.append([
                f"#{s['index']}", s["state"].lower(), _rfc3339(s["since"]), f"{usage['cpu'] * 100:.1f}%",
                f"{bytefmt(usage['mem'])} of {bytefmt(s['mem_quota'])}",
                f"{bytefmt(usage['disk'])} of {bytefmt(s['disk_quota'])}",
                f"{bytefmt(usage['log_rate'])}/s of {_log_rate_limit(s['log_rate_limit'])}",
                "" if entitlement is None else f"{entitlement * 100:.1f}%",
                s.get("details") or "", _ready(s.get("routable")),
            ])
        out += table(rows)
    return out


@command("app", description="Display health and status for an app", usage="CF_NAME app APP_NAME [--guid]",
         args=("APP_NAME",),
         flags=(Flag("guid", help="Retrieve and display the given app's guid.  All other health and status output "
                                  "for the app is suppressed."),),
         related="apps, events, logs, map-route, unmap-route, push")
def app_command(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    name = a["APP_NAME"]
    if a["guid"]:
        with ctx.world() as world:
            _, app = ctx.find_app(world, name)
        ctx.out.text(app["guid"])
        return 0
    ctx.out.text(f"Showing health and status for app {name} in org {ctx.org_name} / space {ctx.space_name} "
                 f"as {ctx.user_name()}...")
    ctx.out.newline()
    with ctx.world() as world:
        _, app = ctx.find_app(world, name)
        ctx.out.write(app_summary(world, app, world_mod.now(world)))
    return 0


def process_summary(world: world_mod.World, app: dict[str, Any], now: float) -> str:
    from rehearsal import cc_api  # pylint: disable=import-outside-toplevel

    parts = []
    for proc in world_mod.processes_of(world, app["guid"]):
        stats = cc_api.process_stats(world, proc, now)
        running = sum(1 for s in stats if s["state"] == "RUNNING")
        parts.append(f"{proc['type']}:{running}/{len(stats)}")
    return ", ".join(parts)


def _labels_match(app: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    labels = app.get("labels", {})
    for term in selector.split(","):
        key, eq, value = term.partition("=")
        if eq and labels.get(key.strip()) != value.strip():
            return False
        if not eq and key.strip() not in labels:
            return False
    return True


APPS_USAGE = ("CF_NAME apps [--labels SELECTOR]\n\nEXAMPLES:\n   CF_NAME apps\n"
              "   CF_NAME apps --labels 'environment in (production,staging),tier in (backend)'\n"
              "   CF_NAME apps --labels 'env=dev,!chargeback-code,tier in (backend,worker)'")


@command("apps", description="List all apps in the target space", usage=APPS_USAGE, alias="a",
         flags=(Flag("labels", value=True, help="Selector to filter apps by labels"),
                Flag("no-stats", help="Do not retrieve process stats")),
         related="events, logs, map-route, push, scale, start, stop, restart")
def apps_command(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    ctx.out.text(f"Getting apps in org {ctx.org_name} / space {ctx.space_name} as {ctx.user_name()}...")
    ctx.out.newline()
    with ctx.world() as world:
        _, space = ctx.targeted_space(world)
        now = world_mod.now(world)
        found = sorted((app for app in world["apps"].values()
                        if app["space_guid"] == space["guid"] and _labels_match(app, a["labels"])),
                       key=lambda app: app["name"])
        if not found:
            ctx.out.text("No apps found")
            return 0
        header = ["name", "requested state"] + ([] if a["no_stats"] else ["processes"]) + ["routes"]
        rows = [header]
        for app in found:
            row = [app["name"], app["state"].lower()]
            if not a["no_stats"]:
                row.append(process_summary(world, app, now))
            rows.append(row + [", ".join(app.get("routes", []))])
    ctx.out.write(table(rows))
    return 0


def _find_space(ctx: Context, world: world_mod.World, name: str) -> dict[str, Any]:
    """GET /v3/spaces?names=NAME&organization_guids=ORG: the space, or ``Space 'NAME' not found.``"""
    session = ctx.session(world)
    org_guid = ctx.config["OrganizationFields"]["GUID"]
    space = world_mod.find_space(world, org_guid, name)
    if space is None or not world_mod.can_see_space(world, session.user["guid"], space["guid"]):
        raise CfError(f"Space '{name}' not found.")
    return space


@command("space", description="Show space info", usage="CF_NAME space SPACE [--guid] [--security-group-rules]",
         args=("SPACE",),
         flags=(Flag("guid", help="Retrieve and display the given space's guid.  All other output for the space is "
                                  "suppressed."),
                Flag("security-group-rules", help="Retrieve the rules for all the security groups associated with "
                                                  "the space.")),
         related="set-space-isolation-segment, space-quota, space-users")
def space_command(ctx: Context, a: Args) -> int:
    ctx.check_target(True, False)
    name = a["SPACE"]
    if a["guid"]:
        with ctx.world() as world:
            space = _find_space(ctx, world, name)
        ctx.out.text(space["guid"])
        return 0
    ctx.out.text(f"Getting info for space {name} in org {ctx.org_name} as {ctx.user_name()}...")
    ctx.out.newline()
    with ctx.world() as world:
        space = _find_space(ctx, world, name)
        apps = sorted(app["name"] for app in world["apps"].values() if app["space_guid"] == space["guid"])
        services = sorted(si["name"] for si in world["service_instances"].values()
                          if si["space_guid"] == space["guid"])
        groups = space.get("security_groups", {})
        org = world["orgs"][space["org_guid"]]
    ctx.out.write(table([
        ["name:", space["name"]], ["org:", org["name"]], ["apps:", ", ".join(apps)],
        ["services:", ", ".join(services)], ["isolation segment:", ""], ["quota:", ""],
        ["running security groups:", ", ".join(groups.get("running", []))],
        ["staging security groups:", ", ".join(groups.get("staging", []))],
    ]))
    return 0
