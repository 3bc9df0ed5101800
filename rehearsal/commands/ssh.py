# SPDX-License-Identifier: GPL-3.0-or-later
"""ssh-code, ssh-enabled, enable-ssh, disable-ssh, space-ssh-allowed, allow-space-ssh, disallow-space-ssh (§3.8, §3.9)."""
from __future__ import annotations

from rehearsal import world as world_mod
from rehearsal.commands.apps import _find_space
from rehearsal.commands.base import NOT_AUTHORIZED, Args, Context, command
from rehearsal.ui import CfError


@command("ssh-code", description="Get a one time password for ssh clients", usage="CF_NAME ssh-code",
         related="curl, ssh")
def ssh_code(ctx: Context, a: Args) -> int:
    """A fresh one-time code (valid 5 minutes, single use, consumed by the SSH proxy); never logged."""
    ctx.check_target(False, False)
    with ctx.world() as world:
        try:
            session = ctx.session(world)
        except CfError:
            ctx.out.newline()  # cf-cli.md §3.8: on UAA failure an empty line, then FAILED
            raise
        code = world_mod.issue_ssh_code(world, session.user["guid"])
    ctx.out.text(code)
    return 0


@command("ssh-enabled", description="Reports whether SSH is enabled on an application container instance",
         usage="CF_NAME ssh-enabled APP_NAME", args=("APP_NAME",), related="enable-ssh, space-ssh-allowed, ssh")
def ssh_enabled(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    name = a["APP_NAME"]
    with ctx.world() as world:
        _, app = ctx.find_app(world, name)
        enabled, reason = world_mod.ssh_enabled(world, app)
    if enabled:
        ctx.out.text(f"ssh support is enabled for app '{name}'.")
    else:
        ctx.out.text(f"ssh support is disabled for app '{name}'.")
        ctx.out.text(reason)
    return 0


def _set_app_ssh(ctx: Context, name: str, enable: bool) -> None:
    verb = "Enabling" if enable else "Disabling"
    ctx.out.text(f"{verb} ssh support for app {name} as {ctx.user_name()}...")
    with ctx.world() as world:
        session, app = ctx.find_app(world, name)
        was = bool(app["enable_ssh"])
        if was == enable:
            ctx.out.text(f"ssh support for app '{name}' is already {'enabled' if enable else 'disabled'}.")
        if not world_mod.can_develop_space(world, session.user["guid"], app["space_guid"]):
            raise CfError(NOT_AUTHORIZED)
        app["enable_ssh"] = enable
        app["updated_at"] = world_mod.now(world)
        effective, _ = world_mod.ssh_enabled(world, app)
    ctx.out.ok()
    if enable:
        if not effective:
            ctx.out.text("TIP: Ensure ssh is also enabled on the space and global level.")
        elif was:
            ctx.out.text("TIP: An app restart may be required for the change to take effect.")
        else:
            ctx.out.text("TIP: An app restart is required for the change to take effect.")


@command("enable-ssh", description="Enable ssh for the application", usage="CF_NAME enable-ssh APP_NAME",
         args=("APP_NAME",), related="allow-space-ssh, space-ssh-allowed, ssh, ssh-enabled")
def enable_ssh(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    _set_app_ssh(ctx, a["APP_NAME"], True)
    return 0


@command("disable-ssh", description="Disable ssh for the application", usage="CF_NAME disable-ssh APP_NAME",
         args=("APP_NAME",), related="disallow-space-ssh, space-ssh-allowed, ssh, ssh-enabled")
def disable_ssh(ctx: Context, a: Args) -> int:
    ctx.check_target(True, True)
    _set_app_ssh(ctx, a["APP_NAME"], False)
    return 0


@command("space-ssh-allowed", description="Reports whether SSH is allowed in a space",
         usage="CF_NAME space-ssh-allowed SPACE_NAME", args=("SPACE_NAME",),
         related="allow-space-ssh, disallow-space-ssh")
def space_ssh_allowed(ctx: Context, a: Args) -> int:
    ctx.check_target(True, False)
    name = a["SPACE_NAME"]
    with ctx.world() as world:
        space = _find_space(ctx, world, name)
    ctx.out.text(f"ssh support is {'enabled' if space['allow_ssh'] else 'disabled'} in space '{name}'.")
    return 0


def _set_space_ssh(ctx: Context, name: str, allow: bool) -> None:
    """GET the space and its ssh feature; PATCH only when the value changes (actor/v7action/space_feature.go)."""
    verb = "Enabling" if allow else "Disabling"
    ctx.out.text(f"{verb} ssh support for space {name} as {ctx.user_name()}...")
    with ctx.world() as world:
        space = _find_space(ctx, world, name)
        if bool(space["allow_ssh"]) == allow:
            ctx.out.text(f"ssh support for space '{name}' is already {'enabled' if allow else 'disabled'}.")
            ctx.out.ok()
            return
        session = ctx.session(world)
        if not world_mod.can_manage_space(world, session.user["guid"], space["guid"]):
            raise CfError(NOT_AUTHORIZED)
        space["allow_ssh"] = allow
        space["updated_at"] = world_mod.now(world)
    ctx.out.ok()


@command("allow-space-ssh", description="Allow SSH access for the space", usage="CF_NAME allow-space-ssh SPACE_NAME",
         args=("SPACE_NAME",), related="enable-ssh, space-ssh-allowed, ssh, ssh-enabled")
def allow_space_ssh(ctx: Context, a: Args) -> int:
    ctx.check_target(True, False)
    _set_space_ssh(ctx, a["SPACE_NAME"], True)
    return 0


@command("disallow-space-ssh", description="Disallow SSH access for the space",
         usage="CF_NAME disallow-space-ssh SPACE_NAME", args=("SPACE_NAME",),
         related="disable-ssh, space-ssh-allowed, ssh, ssh-enabled")
def disallow_space_ssh(ctx: Context, a: Args) -> int:
    ctx.check_target(True, False)
    _set_space_ssh(ctx, a["SPACE_NAME"], False)
    return 0
