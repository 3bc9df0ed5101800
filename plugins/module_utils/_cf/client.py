# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Over issue 12's 150 lines of code: CfClient is one class, the process edge of cf (run, spawn) with the Cloud
# Controller API through `cf curl` and its pagination; splitting the class would put one object in two files.

"""The one cf CLI client of ttahub.ops.

PRIVATE to the collection. It can have breaking changes at any time.

Every call to ``cf`` in the collection goes through :class:`CfClient`: argv lists only, a forced English, colourless,
untraced output, a timeout on every call, secrets only in the environment. Failures are classified from cf's stderr
(as cf v8 prints them, :mod:`.failures`) into :class:`CfError` subclasses whose message says what to do. Modules turn
them into ``fail_json`` in one place (``_module.run_module``); controller-side code into ``AnsibleActionFail``.
Also here: the common cf options of every module (doc fragment ttahub.ops._cf), the Cloud Controller API through
``cf curl`` with its pagination, and JMESPath queries over its answers.
"""

from __future__ import annotations

import json
import os
import typing as t
from urllib.parse import urlsplit

from ansible_collections.ttahub.ops.plugins.module_utils import _proc
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import (
    CfError,
    CfMissingError,
    CfOutputError,
    CfTimeoutError,
    CfUsageError,
    classify_failure,
)
from ansible_collections.ttahub.ops.plugins.module_utils._cf.names import check_arguments
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_api_body

try:
    from ansible.module_utils.basic import env_fallback
except ImportError:  # pragma: no cover - importable without Ansible (the run's supervisor imports this package)
    env_fallback = None

try:
    import jmespath
    from jmespath.exceptions import JMESPathError

    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by ansible-test's import sanity test
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = exc

    class JMESPathError(Exception):  # type: ignore[no-redef]
        pass


__all__ = [
    "CF_COMMON_ARGS",
    "CfClient",
    "CfResult",
    "DEFAULT_TIMEOUT",
    "cf_argument_spec",
    "client_from_module",
    "query",
    "stop_group",
]

DEFAULT_TIMEOUT = 120
# Overrides the default of cf_timeout for every cf call of a run (a slow network, or a rehearsal of hung calls).
TIMEOUT_ENV = "TTAHUB_OPS_CF_TIMEOUT"
INSTALL_HINT = (
    "Install the cf CLI v8 (https://docs.cloudfoundry.org/cf-cli/install-go-cli.html, Debian/Ubuntu package cf8-cli) "
    "or set ops_cf_cli (module option cf_cli) to its path"
)

CF_COMMON_ARGS: dict[str, dict[str, t.Any]] = {
    "cf_cli": {"type": "path"},
    "cf_home": {"type": "path", "required": True},
    "cf_timeout": {"type": "int", "default": DEFAULT_TIMEOUT, "fallback": (env_fallback, [TIMEOUT_ENV])},
}


def cf_argument_spec(**options: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """The module's own options plus the common cf options (doc fragment ttahub.ops._cf)."""
    spec = {name: dict(value) for name, value in CF_COMMON_ARGS.items()}
    spec.update(options)
    return spec


class CfResult(t.NamedTuple):
    cmd: list[str]
    rc: int
    stdout: str
    stderr: str


class CfClient:
    """Runs cf with an isolated CF_HOME, a timeout, and errors that say what to do."""

    def __init__(
        self,
        *,
        cf_cli: str | None = None,
        cf_home: str | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        environ: t.Mapping[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.cf_home = cf_home
        self._environ = dict(os.environ if environ is None else environ)
        self.binary = self._find_cf(cf_cli)
        self.calls = 0

    def _find_cf(self, cf_cli: str | None) -> str:
        if cf_cli:
            path = os.path.expanduser(cf_cli)
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise CfMissingError("find the cf CLI", f"{cf_cli} is not an executable file", INSTALL_HINT)
            return path
        found = _proc.find_tool("cf", path=self._environ.get("PATH"))
        if not found:
            raise CfMissingError("find the cf CLI", "there is no `cf` on PATH", INSTALL_HINT)
        return found

    def environment(self, extra: t.Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(self._environ)
        # Parsers read English, colourless, untraced output (cf-cli.md §1, §2).
        env.update({"LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8", "CF_COLOR": "false", "CF_TRACE": "false"})
        env.pop("FORCE_TTY", None)
        if self.cf_home:
            # Plugins (cf-service-connect) stay where the operator or CI installed them, outside the per-run CF_HOME.
            env.setdefault("CF_PLUGIN_HOME", self._environ.get("CF_HOME") or self._environ.get("HOME") or os.path.expanduser("~"))
            env["CF_HOME"] = self.cf_home
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        args: list[str],
        *,
        action: str,
        check: bool = True,
        timeout: int | None = None,
        env: t.Mapping[str, str] | None = None,
        secret_output: bool = False,
    ) -> CfResult:
        """Run ``cf <args>``. ``secret_output`` keeps stdout out of any error (ssh-code, connect-to-service)."""
        if not all(isinstance(a, str) for a in args):
            raise TypeError("cf arguments must be strings")
        check_arguments(args, action)
        cmd = [self.binary, *args]
        limit = self.timeout if timeout is None else timeout
        self.calls += 1
        try:
            # A hung cf (or the ssh a plugin started) is stopped with its whole process group (_proc.run).
            proc = _proc.run(cmd, timeout=limit, env=self.environment(env), cwd=None)
        except OSError as exc:
            raise CfMissingError(action, f"cannot run {self.binary} ({exc.strerror})", INSTALL_HINT, cmd=cmd) from exc
        except _proc.TimedOut:
            raise CfTimeoutError(
                action,
                f"cf did not finish within {limit} s and was stopped",
                "Check the network and cloud.gov's status (https://cloudgov.statuspage.io), or raise cf_timeout",
                cmd=cmd,
            ) from None
        stdout, stderr = proc.text("stdout"), proc.text("stderr")
        if proc.rc != 0 and check:
            raise classify_failure(action, cmd, proc.rc, None if secret_output else stdout, stderr)
        return CfResult(cmd, proc.rc, stdout, stderr)

    def spawn(self, args: list[str], *, action: str, env: t.Mapping[str, str] | None = None) -> _proc.Popen[bytes]:
        """Start ``cf <args>`` that keeps running (``connect-to-service``) in its own process group, stdout and stderr
        piped; the caller reads them and ends it with :func:`stop_group`."""
        if not all(isinstance(a, str) and "\x00" not in a and "\n" not in a for a in args):
            raise CfUsageError(action, "an argument is not a one-line string", "Check the names given to the playbook")
        check_arguments(args, action)
        cmd = [self.binary, *args]
        self.calls += 1
        try:
            return _proc.spawn(cmd, env=self.environment(env), cwd=None)
        except OSError as exc:
            raise CfMissingError(action, f"cannot run {self.binary} ({exc.strerror})", INSTALL_HINT, cmd=cmd) from exc

    # -- Cloud Controller API through `cf curl` ----------------------------------------------------------------------

    def curl(
        self,
        path: str,
        *,
        action: str,
        method: str = "GET",
        body: t.Any = None,
        timeout: int | None = None,
    ) -> t.Any:
        """``cf curl`` returns 0 on HTTP errors: parse the body and raise on CC error JSON or an invalid body."""
        if not path.startswith("/"):
            raise CfUsageError(action, f"API path {path!r} does not start with /", "Pass a path such as /v3/apps")
        args = ["curl", path]
        if method != "GET":
            args += ["-X", method]
        if body is not None:
            args += ["-d", json.dumps(body, separators=(",", ":"))]
        result = self.run(args, action=action, timeout=timeout)
        return parse_api_body(result.stdout, action=action, cmd=result.cmd)

    def curl_all(self, path: str, *, action: str, limit_pages: int = 200) -> list[t.Any]:
        """All resources of a paginated v3 list, following ``pagination.next.href``."""
        resources: list[t.Any] = []
        next_path: str | None = path
        for _page in range(limit_pages):
            if next_path is None:
                return resources
            data = self.curl(next_path, action=action)
            if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
                raise CfOutputError(action, "the API answer has no resources list", "Check the API path", stdout=json.dumps(data)[:500])
            resources.extend(data["resources"])
            nxt = (data.get("pagination") or {}).get("next")
            next_path = _href_to_path(nxt["href"]) if isinstance(nxt, dict) and nxt.get("href") else None
        raise CfOutputError(action, f"more than {limit_pages} pages", "Narrow the query")

    def curl_all_included(
        self, path: str, *, action: str, limit_pages: int = 200
    ) -> tuple[list[t.Any], dict[str, list[t.Any]]]:
        """Like curl_all, plus the ``included`` resources of an ``include=`` query (``/v3/roles?include=user``),
        merged across pages by kind and GUID."""
        resources: list[t.Any] = []
        included: dict[str, dict[str, t.Any]] = {}
        next_path: str | None = path
        for _page in range(limit_pages):
            if next_path is None:
                return resources, {kind: list(items.values()) for kind, items in included.items()}
            data = self.curl(next_path, action=action)
            if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
                raise CfOutputError(action, "the API answer has no resources list", "Check the API path", stdout=json.dumps(data)[:500])
            resources.extend(data["resources"])
            extra = data.get("included") or {}
            if not isinstance(extra, dict):
                raise CfOutputError(action, "the API answer's included is not an object", "Check the API path", stdout=json.dumps(data)[:500])
            for kind, items in extra.items():
                bucket = included.setdefault(kind, {})
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, dict) and isinstance(item.get("guid"), str):
                        bucket.setdefault(item["guid"], item)
            nxt = (data.get("pagination") or {}).get("next")
            next_path = _href_to_path(nxt["href"]) if isinstance(nxt, dict) and nxt.get("href") else None
        raise CfOutputError(action, f"more than {limit_pages} pages", "Narrow the query")


def _href_to_path(href: str) -> str:
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


stop_group = _proc.stop_group


def query(data: t.Any, expression: str, *, action: str = "select from the API answer") -> t.Any:
    """JMESPath over API JSON, e.g. ``resources[?type=='web'].guid | [0]`` (the seed's jq step)."""
    if not HAS_JMESPATH:
        raise CfError(action, "the jmespath Python library is not installed", "pip install jmespath (make setup installs it)")
    try:
        return jmespath.search(expression, data)
    except JMESPathError as exc:
        raise CfUsageError(action, f"invalid JMESPath query {expression!r} ({exc})", "Fix the query") from None


def client_from_module(module: t.Any) -> CfClient:
    params = module.params
    return CfClient(cf_cli=params.get("cf_cli"), cf_home=params.get("cf_home"), timeout=params.get("cf_timeout") or DEFAULT_TIMEOUT)
