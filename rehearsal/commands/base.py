# SPDX-License-Identifier: GPL-3.0-or-later
"""Command registry, go-flags-style argument parsing, help text, and the per-invocation context."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TextIO

from rehearsal import cfconfig
from rehearsal import world as world_mod
from rehearsal.ui import CfError, FlagError, HelpRequested, Output, UsageCfError

NO_API = "No API endpoint set. Use 'cf login' or 'cf api' to target an endpoint."
NOT_LOGGED_IN = "Not logged in. Use 'cf login' or 'cf login --sso' to log in."
NO_ORG = "No org targeted, use 'cf target -o ORG' to target an org."
NO_SPACE = "No space targeted, use 'cf target -s SPACE' to target a space."
TOKEN_EXPIRED = ("The token expired, was revoked, or the token ID is incorrect. "
                 "Please log back in to re-authenticate.")
NOT_AUTHORIZED = "You are not authorized to perform the requested action"


class Flag:
    """A command option: ``--long`` and/or ``-s``; ``value``: takes an argument; ``repeat``: values collected in a list."""

    def __init__(self, long: str | None = None, short: str | None = None, *, value: bool = False, help: str = "",
                 repeat: bool = False) -> None:  # pylint: disable=redefined-builtin
        self.long, self.short, self.value, self.help, self.repeat = long, short, value, help, repeat

    @property
    def key(self) -> str:
        return (self.long or self.short or "").replace("-", "_")

    @property
    def display(self) -> str:
        names = [f"--{self.long}" if self.long else None, f"-{self.short}" if self.short else None]
        return ", ".join(n for n in names if n)


class Args:
    """Parsed arguments: ``args["APP_NAME"]`` for positionals, ``args["guid"]`` for flags (None when absent)."""

    def __init__(self, positional: dict[str, str], flags: dict[str, Any]) -> None:
        self.positional, self.flags = positional, flags

    def __getitem__(self, key: str) -> Any:
        if key in self.positional:
            return self.positional[key]
        return self.flags.get(key)


Handler = Callable[["Context", Args], int]


class Command:
    """A command's spec. ``args``: positional names, a trailing "?" marks an optional one; ``secret_args`` and
    ``secret_flags`` (flag keys) are redacted in the call log."""

    def __init__(self, name: str, description: str, usage: str, handler: Handler, args: tuple[str, ...] = (),
                 flags: tuple[Flag, ...] = (), alias: str = "", related: str = "", secret_args: tuple[str, ...] = (),
                 secret_flags: tuple[str, ...] = ()) -> None:
        self.name, self.description, self.usage, self.handler = name, description, usage, handler
        self.args, self.flags, self.alias, self.related = args, flags, alias, related
        self.secret_args, self.secret_flags = secret_args, secret_flags


COMMANDS: dict[str, Command] = {}
ALIASES: dict[str, str] = {}


def command(name: str, *, description: str, usage: str, args: tuple[str, ...] = (), flags: tuple[Flag, ...] = (),
            alias: str = "", related: str = "", secret_args: tuple[str, ...] = (),
            secret_flags: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, description, usage, handler, args, flags, alias, related, secret_args,
                                 secret_flags)
        if alias:
            ALIASES[alias] = name
        return handler
    return register


def resolve(name: str) -> Command | None:
    return COMMANDS.get(ALIASES.get(name, name))


# --- parsing -----------------------------------------------------------------------------------------------------------

def _find_flag(cmd: Command, *, long: str | None = None, short: str | None = None) -> Flag | None:
    for flag in cmd.flags:
        if (long is not None and flag.long == long) or (short is not None and flag.short == short):
            return flag
    return None


def _store(values: dict[str, Any], flag: Flag, value: Any) -> None:
    if flag.repeat:
        values.setdefault(flag.key, []).append(value)
    else:
        values[flag.key] = value


def _expects_value(token: str | None) -> bool:
    return token is not None and not (token.startswith("-") and len(token) > 1)


def parse(cmd: Command, argv: list[str]) -> Args:
    """Parse like go-flags: flags and arguments mixed, ``--`` ends flags, ``-oVALUE``, ``--long=VALUE``.

    Raises FlagError (unknown flag, missing value or required argument), UsageCfError (extra argument) or
    HelpRequested."""
    values: dict[str, Any] = {}
    rest: list[str] = []
    i = 0
    only_args = False
    while i < len(argv):
        token = argv[i]
        i += 1
        if only_args or token == "-" or not token.startswith("-"):
            rest.append(token)
            continue
        if token == "--":
            only_args = True
            continue
        if token in ("-h", "--help", "--h"):
            raise HelpRequested()
        if token.startswith("--"):
            name, eq, inline = token[2:].partition("=")
            flag = _find_flag(cmd, long=name)
            if flag is None:
                raise FlagError(f"unknown flag `{name}'")
            if not flag.value:
                if eq:
                    raise FlagError(f"bool flag `--{name}' cannot have an argument")
                _store(values, flag, True)
                continue
            if eq:
                _store(values, flag, inline)
            elif _expects_value(argv[i] if i < len(argv) else None):
                _store(values, flag, argv[i])
                i += 1
            else:
                raise FlagError(f"expected argument for flag `--{name}'")
            continue
        # short flags, possibly clustered (-fw) or with an attached value (-oORG)
        cluster = token[1:]
        j = 0
        while j < len(cluster):
            letter = cluster[j]
            flag = _find_flag(cmd, short=letter)
            if flag is None:
                raise FlagError(f"unknown flag `{letter}'")
            if not flag.value:
                _store(values, flag, True)
                j += 1
                continue
            attached = cluster[j + 1:]
            if attached.startswith("="):
                attached = attached[1:]
            if attached:
                _store(values, flag, attached)
            elif _expects_value(argv[i] if i < len(argv) else None):
                _store(values, flag, argv[i])
                i += 1
            else:
                raise FlagError(f"expected argument for flag `-{letter}'")
            break
    positional: dict[str, str] = {}
    names = list(cmd.args)
    missing = []
    for name in names:
        optional = name.endswith("?")
        key = name.rstrip("?")
        if rest:
            positional[key] = rest.pop(0)
        elif not optional:
            missing.append(key)
    if missing:
        quoted = [f"`{m}`" for m in missing]
        if len(quoted) == 1:
            raise FlagError(f"the required argument {quoted[0]} was not provided")
        raise FlagError(f"the required arguments {', '.join(quoted[:-1])} and {quoted[-1]} were not provided")
    if rest:
        raise UsageCfError(f'Incorrect Usage: unexpected argument "{rest[0]}"')
    return Args(positional, values)


def help_text(cmd: Command) -> str:
    """``cf help CMD`` (command/common/help_command.go layout)."""
    lines = ["NAME:", f"   {cmd.name} - {cmd.description}", "", "USAGE:", "   " + cmd.usage.replace("CF_NAME", "cf")]
    if cmd.alias:
        lines += ["", "ALIAS:", f"   {cmd.alias}"]
    if cmd.flags:
        width = max(len(f.display) for f in cmd.flags)
        lines += ["", "OPTIONS:"]
        lines += [f"   {f.display}{' ' * (width - len(f.display) + 6)}{f.help}" for f in cmd.flags]
    if cmd.related:
        lines += ["", "SEE ALSO:", f"   {cmd.related}"]
    return "\n".join(lines) + "\n"


# --- the context a command runs in -------------------------------------------------------------------------------------

class Session:
    """The logged-in user and the targeted org/space, checked against the world."""

    def __init__(self, user: dict[str, Any], org: dict[str, Any] | None, space: dict[str, Any] | None) -> None:
        self.user, self.org, self.space = user, org, space


class Context:
    def __init__(self, home: str, env: Mapping[str, str], out: Output, stdin: TextIO) -> None:
        self.home = home
        self.env = env
        self.out = out
        self.stdin = stdin
        self.config: dict[str, Any] = cfconfig.load(env)

    @contextlib.contextmanager
    def world(self) -> Iterator[world_mod.World]:
        with world_mod.transaction(self.home) as world:
            yield world

    # cf-cli.md §1: target checks in order
    def check_target(self, need_org: bool, need_space: bool) -> None:
        cfg = self.config
        if not cfg.get("Target"):
            raise CfError(NO_API)
        if not cfg.get("AccessToken") and not cfg.get("RefreshToken"):
            raise CfError(NOT_LOGGED_IN)
        if need_org and not cfg["OrganizationFields"].get("GUID"):
            raise CfError(NO_ORG)
        if need_space and not cfg["SpaceFields"].get("GUID"):
            raise CfError(NO_SPACE)

    def user_name(self) -> str:
        """The user named in the access token (cf reads it from the JWT, without a request)."""
        return str(world_mod.token_claims(self.config.get("AccessToken", "")).get("user_name", ""))

    @property
    def org_name(self) -> str:
        return str(self.config["OrganizationFields"].get("Name", ""))

    @property
    def space_name(self) -> str:
        return str(self.config["SpaceFields"].get("Name", ""))

    def session(self, world: world_mod.World) -> Session:
        """The first API request: a revoked or unknown token fails with the token-expired message."""
        user = world_mod.user_for_token(world, self.config.get("AccessToken", ""))
        if user is None:
            raise CfError(TOKEN_EXPIRED)
        org = world["orgs"].get(self.config["OrganizationFields"].get("GUID", ""))
        space = world["spaces"].get(self.config["SpaceFields"].get("GUID", ""))
        return Session(user, org, space)

    def targeted_space(self, world: world_mod.World) -> tuple[Session, dict[str, Any]]:
        session = self.session(world)
        if session.space is None:
            raise CfError(f"Space '{self.space_name}' not found.")
        return session, session.space

    def find_app(self, world: world_mod.World, name: str) -> tuple[Session, dict[str, Any]]:
        """GET /v3/apps?names=NAME&space_guids=SPACE: the app, or ``App 'NAME' not found.``"""
        session = self.session(world)
        space = session.space
        app = world_mod.find_app(world, space["guid"], name) if space else None
        if app is None or not world_mod.can_see_space(world, session.user["guid"], app["space_guid"]):
            raise CfError(f"App '{name}' not found.")
        return session, app
