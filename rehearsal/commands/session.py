# SPDX-License-Identifier: GPL-3.0-or-later
"""version, help, api, auth, login, logout, target (cf-cli.md §1, §3.1-§3.4)."""
from __future__ import annotations

from typing import Any

from rehearsal import cfconfig
from rehearsal import world as world_mod
from rehearsal.commands.base import (COMMANDS, NO_API, NO_ORG, NOT_LOGGED_IN, Args, Context, Flag, command,
                                     help_text, resolve)
from rehearsal.ui import CfError, UsageCfError, table

REJECTED = "Credentials were rejected, please try again."
NETWORK_TIP = ("TIP: If you are behind a firewall and require an HTTP proxy, verify the https_proxy environment "
               "variable is correctly set. Else, check your network connection.")


@command("version", description="Print the version", usage="CF_NAME version", related="")
def version(ctx: Context, a: Args) -> int:
    ctx.out.text(f"cf version {world_mod.load(ctx.home)['cli']['version']}")
    return 0


@command("help", description="Show help", usage="CF_NAME help [COMMAND]", args=("COMMAND?",), alias="h",
         flags=(Flag(short="a", help="All available CLI commands"),))
def help_command(ctx: Context, a: Args) -> int:
    name = a["COMMAND"]
    if name:
        cmd = resolve(name)
        if cmd is None:
            raise CfError(f"'{name}' is not a registered command. See 'cf help -a'")
        ctx.out.write(help_text(cmd))
        return 0
    ctx.out.text("cf version " + world_mod.load(ctx.home)["cli"]["version"] + ", Cloud Foundry command line tool")
    ctx.out.text("Usage: cf [global options] command [arguments...] [command options]")
    ctx.out.newline()
    ctx.out.text("Commands emulated by the rehearsal cloud:")
    width = max(len(n) for n in COMMANDS)
    for name in sorted(COMMANDS):
        ctx.out.text(f"   {name}{' ' * (width + 1 - len(name))}{COMMANDS[name].description}")
    return 0


def normalize_api(url: str) -> str:
    url = url.rstrip("/")
    return url if url.startswith(("http://", "https://")) else "https://" + url


def request_error(url: str) -> str:
    from urllib.parse import urlsplit  # pylint: disable=import-outside-toplevel

    host = urlsplit(url).hostname or url
    return f'Request error: Get "{url}/": dial tcp: lookup {host}: no such host\n{NETWORK_TIP}'


def target_api(ctx: Context, url: str) -> None:
    """SetTarget: only the rehearsal API answers; targeting it clears tokens, org and space."""
    with ctx.world() as world:
        if url.lower() != world["api"]["url"].lower():
            raise CfError(request_error(url))
        cfconfig.set_target(ctx.config, world)


def logged_in(ctx: Context) -> bool:
    return bool(ctx.config.get("AccessToken") or ctx.config.get("RefreshToken"))


@command("api", description="Set or view target api url", usage="CF_NAME api [URL]", args=("URL?",),
         flags=(Flag("skip-ssl-validation", help="Skip verification of the API endpoint. Not recommended!"),
                Flag("unset", help="Remove all api endpoint targeting")),
         related="auth, login, target")
def api(ctx: Context, a: Args) -> int:
    if a["unset"]:
        ctx.out.text("Unsetting API endpoint...")
        cfconfig.clear_target(ctx.config)
        ctx.out.ok()
        return 0
    if a["URL"]:
        ctx.out.text(f"Setting API endpoint to {a['URL']}...")
        target_api(ctx, normalize_api(a["URL"]))
        ctx.out.ok()
    elif not ctx.config.get("Target"):
        ctx.out.text("No API endpoint set. Use 'cf api' to set an endpoint")
        return 0
    ctx.out.write(table([["API endpoint:", ctx.config["Target"]], ["API version:", ctx.config["APIVersion"]]]))
    if not logged_in(ctx):
        ctx.out.newline()
        ctx.out.text(NOT_LOGGED_IN)
    return 0


def _authenticate(world: world_mod.World, username: str, password: str, origin: str | None) -> dict[str, Any] | None:
    user = world_mod.find_user(world, username)
    if user is None or (origin and origin != user["origin"]) or not world_mod.check_password(user, password):
        return None
    return user


AUTH_USAGE = (
    "CF_NAME auth USERNAME PASSWORD\n   CF_NAME auth USERNAME PASSWORD --origin ORIGIN\n"
    "   CF_NAME auth CLIENT_ID CLIENT_SECRET --client-credentials\n\nENVIRONMENT VARIABLES:\n"
    "   CF_USERNAME=user          Authenticating user. Overridden if USERNAME argument is provided.\n"
    "   CF_PASSWORD=password      Password associated with user. Overridden if PASSWORD argument is provided.\n\n"
    "WARNING:\n   Providing your password as a command line option is highly discouraged\n"
    "   Your password may be visible to others and may be recorded in your shell history\n"
    "   Consider using the CF_PASSWORD environment variable instead\n\nEXAMPLES:\n"
    "   CF_NAME auth name@example.com \"my password\" (use quotes for passwords with a space)\n"
    "   CF_NAME auth name@example.com \"\\\"password\\\"\" (escape quotes if used in password)")


@command("auth", description="Authenticate non-interactively", usage=AUTH_USAGE, args=("USERNAME?", "PASSWORD?"),
         flags=(Flag("client-credentials", help="Use (non-user) service account (also called client credentials)"),
                Flag("origin", value=True, help="Indicates the identity provider to be used for authentication")),
         related="api, login, target", secret_args=("PASSWORD",))
def auth(ctx: Context, a: Args) -> int:
    if not ctx.config.get("Target"):
        raise CfError(NO_API)
    if a["client_credentials"] and a["origin"]:
        raise UsageCfError("Incorrect Usage: The following arguments cannot be used together: "
                           "--client-credentials, --origin")
    username = a["USERNAME"] or ctx.env.get("CF_USERNAME", "")
    password = a["PASSWORD"] or ctx.env.get("CF_PASSWORD", "")
    if not username and not password:
        raise UsageCfError("Username and password not provided.")
    if not username:
        raise UsageCfError("Username not provided.")
    if not password:
        raise UsageCfError("Password not provided.")
    ctx.out.text(f"API endpoint: {ctx.config['Target']}")
    ctx.out.newline()
    ctx.out.text("Authenticating...")
    cfconfig.clear_org(ctx.config)
    with ctx.world() as world:
        user = None if a["client_credentials"] else _authenticate(world, username, password, a["origin"])
        if user is None:
            cfconfig.clear_tokens(ctx.config)
            raise CfError(REJECTED)
        access, refresh = world_mod.issue_tokens(world, user)
    cfconfig.set_tokens(ctx.config, access, refresh)
    ctx.out.ok()
    ctx.out.text("Use 'cf target' to view or set your target org and space.")
    return 0


LOGIN_USAGE = (
    "CF_NAME login [-a API_URL] [-u USERNAME] [-p PASSWORD] [-o ORG] [-s SPACE] [--sso | --sso-passcode PASSCODE] "
    "[--origin ORIGIN]\n\nWARNING:\n   Providing your password as a command line option is highly discouraged\n"
    "   Your password may be visible to others and may be recorded in your shell history\n\nEXAMPLES:\n"
    "   CF_NAME login (omit username and password to login interactively -- CF_NAME will prompt for both)\n"
    "   CF_NAME login -u name@example.com -p pa55woRD (specify username and password as arguments)\n"
    "   CF_NAME login -u name@example.com -p \"my password\" (use quotes for passwords with a space)\n"
    "   CF_NAME login -u name@example.com -p \"\\\"password\\\"\" (escape quotes if used in password)\n"
    "   CF_NAME login --sso (CF_NAME will provide a url to obtain a one-time passcode to login)\n"
    "   CF_NAME login --origin ldap")


class _PromptEOF(Exception):
    pass


def _prompt(ctx: Context, text: str) -> str:
    """A go-interact prompt (``TEXT: ``) read from stdin; EOF ends the login."""
    ctx.out.write(f"{text}: ")
    line = ctx.stdin.readline()
    if not line:
        ctx.out.newline()
        raise _PromptEOF()
    return line.rstrip("\n")


def _show_status(ctx: Context) -> None:
    """The login summary (login_command.go ``showStatus``), shown whether or not the login worked."""
    rows = [["API endpoint:", ctx.config.get("Target", "").rstrip("/")], ["API version:", ctx.config["APIVersion"]]]
    user = ctx.user_name() if logged_in(ctx) else ""
    if not user:
        ctx.out.write(table(rows))
        ctx.out.text(NOT_LOGGED_IN)
        return
    rows.append(["user:", user])
    if not ctx.org_name:
        ctx.out.write(table(rows))
        ctx.out.text("No org or space targeted, use 'cf target -o ORG -s SPACE'")
        return
    rows.append(["org:", ctx.org_name])
    rows.append(["space:", ctx.space_name or "No space targeted, use 'cf target -s SPACE'"])
    ctx.out.write(table(rows))


def _choose(ctx: Context, kind: str, names: list[str]) -> str | None:
    ctx.out.text(f"Select {'an' if kind == 'org' else 'a'} {kind}:")
    for i, name in enumerate(names, 1):
        ctx.out.text(f"{i}. {name}")
    try:
        answer = _prompt(ctx, f"{kind.capitalize()} (enter to skip)").strip()
    except _PromptEOF:
        return None
    if answer.isdigit() and 1 <= int(answer) <= len(names):
        return names[int(answer) - 1]
    if answer in names:
        return answer
    if answer:
        raise CfError(f"{'Organization' if kind == 'org' else 'Space'} '{answer}' not found.")
    return None


@command("login", description="Log user in", usage=LOGIN_USAGE, alias="l",
         flags=(Flag(short="a", value=True, help="API endpoint (e.g. https://api.example.com)"),
                Flag(short="o", value=True, help="Org"),
                Flag(short="p", value=True, help="Password"),
                Flag(short="s", value=True, help="Space"),
                Flag("skip-ssl-validation", help="Skip verification of the API endpoint. Not recommended!"),
                Flag("sso", help="Prompt for a one-time passcode to login"),
                Flag("sso-passcode", value=True, help="One-time passcode"),
                Flag(short="u", value=True, help="Username"),
                Flag("origin", value=True, help="Indicates the identity provider to be used for login")),
         related="api, auth, target", secret_flags=("p", "sso_passcode"))
def login(ctx: Context, a: Args) -> int:
    for first, second in (("sso", "origin"), ("sso_passcode", "origin"), ("sso_passcode", "sso")):
        if a[first] and a[second]:
            names = ", ".join("--" + n.replace("_", "-") for n in (first, second))
            raise UsageCfError(f"Incorrect Usage: The following arguments cannot be used together: {names}")
    endpoint = a["a"] or ctx.config.get("Target", "")
    if endpoint:
        ctx.out.text(f"API endpoint: {endpoint}")
    else:
        try:
            endpoint = _prompt(ctx, "API endpoint")
        except _PromptEOF as exc:
            raise CfError("EOF") from exc
    ctx.out.newline()
    target_api(ctx, normalize_api(endpoint))
    try:
        user = _login_sso(ctx, a) if (a["sso"] or a["sso_passcode"]) else _login_password(ctx, a)
        if user is None:
            raise CfError("Unable to authenticate.")
        _login_target(ctx, a, user)
    finally:
        _show_status(ctx)  # deferred in login_command.go: shown on success and on failure
    return 0


def _login_sso(ctx: Context, a: Args) -> dict[str, Any] | None:
    passcode = a["sso_passcode"]
    prompt = f"One Time Code ( Get one at {ctx.config['AuthorizationEndpoint']}/passcode )"
    for _ in range(3):
        try:
            code = passcode or _prompt(ctx, prompt)
        except _PromptEOF:
            return None
        passcode = None
        ctx.out.text("Authenticating...")
        with ctx.world() as world:
            user = world_mod.consume_passcode(world, code)
            if user is not None:
                access, refresh = world_mod.issue_tokens(world, user)
        if user is not None:
            cfconfig.set_tokens(ctx.config, access, refresh)
            ctx.out.ok()
            return user
        ctx.out.warning(REJECTED)
        ctx.out.newline()
    return None


def _login_password(ctx: Context, a: Args) -> dict[str, Any] | None:
    try:
        username = a["u"] or _prompt(ctx, "Username")
    except _PromptEOF:
        return None
    password = a["p"]
    for _ in range(3):
        try:
            secret = password or _prompt(ctx, "Password")
        except _PromptEOF:
            return None
        password = None
        ctx.out.newline()
        ctx.out.text("Authenticating...")
        with ctx.world() as world:
            user = _authenticate(world, username, secret, a["origin"])
            if user is not None:
                access, refresh = world_mod.issue_tokens(world, user)
        if user is not None:
            cfconfig.set_tokens(ctx.config, access, refresh)
            ctx.out.ok()
            return user
        ctx.out.warning(REJECTED)
        ctx.out.newline()
    return None


def _login_target(ctx: Context, a: Args, user: dict[str, Any]) -> None:
    with ctx.world() as world:
        orgs = sorted((o for o in world["orgs"].values() if world_mod.can_see_org(world, user["guid"], o["guid"])),
                      key=lambda o: o["name"])
    org: dict[str, Any] | None = None
    if a["o"]:
        org = next((o for o in orgs if o["name"].lower() == a["o"].lower()), None)
        if org is None:
            raise CfError(f"Organization '{a['o']}' not found.")
    elif len(orgs) == 1:
        org = orgs[0]
    elif orgs:
        chosen = _choose(ctx, "org", [o["name"] for o in orgs])
        org = next((o for o in orgs if o["name"] == chosen), None)
    if org is None:
        return
    cfconfig.set_org(ctx.config, org["guid"], org["name"])
    ctx.out.text(f"Targeted org {org['name']}.")
    ctx.out.newline()
    with ctx.world() as world:
        spaces = sorted((s for s in world["spaces"].values()
                         if s["org_guid"] == org["guid"] and world_mod.can_see_space(world, user["guid"], s["guid"])),
                        key=lambda s: s["name"])
    space: dict[str, Any] | None = None
    if a["s"]:
        space = next((s for s in spaces if s["name"].lower() == a["s"].lower()), None)
        if space is None:
            raise CfError(f"Space '{a['s']}' not found.")
    elif len(spaces) == 1:
        space = spaces[0]
    elif spaces:
        chosen = _choose(ctx, "space", [s["name"] for s in spaces])
        space = next((s for s in spaces if s["name"] == chosen), None)
    if space is not None:
        cfconfig.set_space(ctx.config, space["guid"], space["name"], True)
        ctx.out.text(f"Targeted space {space['name']}.")
        ctx.out.newline()


@command("logout", description="Log user out", usage="CF_NAME logout", alias="lo", related="")
def logout(ctx: Context, a: Args) -> int:
    ctx.out.text(f"Logging out {ctx.user_name()}...")
    cfconfig.clear_tokens(ctx.config)
    cfconfig.clear_org(ctx.config)
    ctx.out.ok()
    return 0


@command("target", description="Set or view the targeted org or space", usage="CF_NAME target [-o ORG] [-s SPACE]",
         alias="t", flags=(Flag(short="o", value=True, help="Organization"), Flag(short="s", value=True, help="Space")),
         related="create-org, create-space, login, orgs, spaces")
def target(ctx: Context, a: Args) -> int:
    ctx.check_target(False, False)
    user_name = ctx.user_name()
    org_flag, space_flag = a["o"], a["s"]
    if org_flag or space_flag:
        try:
            with ctx.world() as world:
                session = ctx.session(world)
                uid = session.user["guid"]
                if org_flag:
                    org = world_mod.find_org(world, org_flag)
                    if org is None or not world_mod.can_see_org(world, uid, org["guid"]):
                        raise CfError(f"Organization '{org_flag}' not found.")
                    cfconfig.set_org(ctx.config, org["guid"], org_flag)
                    if not space_flag:
                        spaces = [s for s in world["spaces"].values()
                                  if s["org_guid"] == org["guid"] and world_mod.can_see_space(world, uid, s["guid"])]
                        if len(spaces) == 1:
                            cfconfig.set_space(ctx.config, spaces[0]["guid"], spaces[0]["name"], False)
                if space_flag:
                    org_guid = ctx.config["OrganizationFields"]["GUID"]
                    if not org_guid:
                        raise CfError(NO_ORG)
                    space = world_mod.find_space(world, org_guid, space_flag)
                    if space is None or not world_mod.can_see_space(world, uid, space["guid"]):
                        raise CfError(f"Space '{space_flag}' not found.")
                    cfconfig.set_space(ctx.config, space["guid"], space["name"], False)
        except CfError:
            if org_flag:
                cfconfig.clear_org(ctx.config)
            else:
                cfconfig.clear_space(ctx.config)
            raise
    rows = [["API endpoint:", ctx.config["Target"]], ["API version:", ctx.config["APIVersion"]], ["user:", user_name]]
    if ctx.org_name:
        rows.append(["org:", ctx.org_name])
    if ctx.space_name:
        rows.append(["space:", ctx.space_name])
    ctx.out.write(table(rows))
    if not ctx.org_name:
        ctx.out.text("No org or space targeted, use 'cf target -o ORG -s SPACE'")
    elif not ctx.space_name:
        ctx.out.text("No space targeted, use 'cf target -s SPACE'")
    return 0
