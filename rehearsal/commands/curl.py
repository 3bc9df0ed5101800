# SPDX-License-Identifier: GPL-3.0-or-later
"""cf curl (cf-cli.md §3.10): the body verbatim, exit 0 even on 4xx/5xx unless -f (then exit 22)."""
from __future__ import annotations

from rehearsal import world as world_mod
from rehearsal.commands.base import NO_API, TOKEN_EXPIRED, Args, Context, Flag, command
from rehearsal.ui import CfError

CURL_USAGE = (
    "CF_NAME curl PATH [-iv] [-X METHOD] [-H HEADER]... [-d DATA] [--output FILE]\n\n"
    "   By default 'CF_NAME curl' will perform a GET to the specified PATH. If data\n"
    "   is provided via -d, a POST will be performed instead, and the Content-Type\n"
    "   will be set to application/json. You may override headers with -H and the\n"
    "   request method with -X.\n\n"
    "   For API documentation, please visit http://apidocs.cloudfoundry.org.\n\n"
    "EXAMPLES:\n"
    "   CF_NAME curl \"/v2/apps\" -X GET -H \"Content-Type: application/x-www-form-urlencoded\" -d 'q=name:myapp'\n"
    "   CF_NAME curl \"/v2/apps\" -d @/path/to/file")


@command("curl", description="Executes a request to the targeted API endpoint", usage=CURL_USAGE, args=("PATH",),
         flags=(Flag(short="H", value=True, repeat=True,
                     help="Custom headers to include in the request, flag can be specified multiple times"),
                Flag(short="X", value=True, help="HTTP method (GET,POST,PUT,DELETE,etc)"),
                Flag(short="d", value=True, help="HTTP data to include in the request body, or '@' followed by a "
                                                 "file name to read the data from"),
                Flag("fail", "f", help="Server errors return exit code 22"),
                Flag(short="i", help="Include response headers in the output"),
                Flag("output", value=True, help="Write curl body to FILE instead of stdout")),
         related="")
def curl(ctx: Context, a: Args) -> int:
    from rehearsal import cc_api  # pylint: disable=import-outside-toplevel

    if not ctx.config.get("Target"):
        raise CfError(NO_API)
    data = a["d"]
    body: bytes | None = None
    if data is not None:
        if data.startswith("@"):
            try:
                with open(data[1:], "rb") as fh:
                    body = fh.read()
            except OSError as exc:
                raise CfError(f"Error creating request: {exc}") from exc
        else:
            body = data.encode("utf-8")
    method = (a["X"] or ("POST" if body is not None else "GET")).upper()
    headers: dict[str, str] = {"Accept": "application/json", "Content-Type": "application/json"}
    for header in a["H"] or []:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise CfError(f"Error creating request: Error parsing headers: malformed MIME header line: {header}")
        headers[name.strip()] = value.strip()
    target = a["PATH"]
    base = ctx.config["Target"].rstrip("/")
    if target.startswith(base):
        target = target[len(base):]
    if not target.startswith("/"):
        target = "/" + target
    request = cc_api.Request.from_target(method, target, body, headers)
    with ctx.world() as world:
        user = None
        if ctx.config.get("AccessToken") or ctx.config.get("RefreshToken"):
            user = world_mod.user_for_token(world, ctx.config.get("AccessToken", ""))
            if user is None:
                raise CfError(TOKEN_EXPIRED)
        response = cc_api.handle(world, user, request)
    if a["fail"] and response.status >= 400:
        raise CfError(f"The requested URL returned error: {response.status}", rc=22)
    head = ""
    if a["i"]:
        head = f"HTTP/1.1 {response.status} {response.reason}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in sorted(response.headers.items())) + "\r\n"
    text = head + response.body.decode("utf-8")
    if a["output"]:
        with open(a["output"], "w", encoding="utf-8") as fh:
            fh.write(text)
        ctx.out.ok()
        return 0
    ctx.out.text(text)
    return 0
