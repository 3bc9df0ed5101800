# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one GitHub REST client of ttahub.ops.

PRIVATE to the collection. It can have breaking changes at any time.

Built on ansible-core's own HTTP helper (``ansible.module_utils.urls.open_url``), so it needs no library beyond
ansible-core. The token comes from ``GITHUB_TOKEN`` (module option ``token``, ``no_log``) and is only ever sent in the
``Authorization`` header, and only to the configured API host: a pagination link that points elsewhere is refused.
The base URL is ``ops_github_api_url`` (GitHub Enterprise Server and the rehearsal's emulator have other ones).

Every failure becomes a :class:`GitHubError` worded "Failed to <action>: <cause>. <what to do>": a rejected token
(401), a missing permission (403), an exhausted rate limit (403/429 with ``x-ratelimit-remaining: 0`` or
``retry-after``), something not found (404), a refused merge (405, 409), a validation error (422), an outage (5xx)
or an unreachable host. Modules turn them into ``fail_json`` in one place (``_module.run_module``).
"""

from __future__ import annotations

import json
import re
import socket
import time
import typing as t
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = [
    "DEFAULT_API_URL",
    "GITHUB_COMMON_ARGS",
    "GitHubClient",
    "GitHubError",
    "commit_summary",
    "find_pull",
    "get_pull",
    "github_argument_spec",
    "parse_link_header",
    "pr_summary",
    "review_summary",
]

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
DEFAULT_TIMEOUT = 30
TOKEN_HINT = (
    "Export a GitHub token in GITHUB_TOKEN (never on the command line): a fine-grained token of your own account "
    "with read and write access to the repository's pull requests and contents, and read access to its checks and "
    "commit statuses"
)

GITHUB_COMMON_ARGS: dict[str, dict[str, t.Any]] = {
    "api_url": {"type": "str", "default": DEFAULT_API_URL},
    "repo": {"type": "str", "required": True},
    "token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["GITHUB_TOKEN"])},
    "api_timeout": {"type": "int", "default": DEFAULT_TIMEOUT},
}


def github_argument_spec(**options: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """The module's own options plus the common GitHub options (doc fragment ttahub.ops._github)."""
    spec = {name: dict(value) for name, value in GITHUB_COMMON_ARGS.items()}
    spec.update(options)
    return spec


class GitHubError(OpsError):
    """A failed GitHub API call. ``str()`` is "Failed to <action>: <cause>. <fix>"."""

    kind = "github_error"

    def __init__(self, action: str, cause: str, fix: str = "", *, status: int | None = None, kind: str = "github_error",
                 github_message: str = "") -> None:
        super().__init__(action, cause, fix, kind=kind, status=status)
        self.status = status
        self.github_message = github_message


_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^",]+)"?')


def parse_link_header(value: str | None) -> dict[str, str]:
    """``Link: <https://...&page=2>; rel="next", <...>; rel="last"`` -> {"next": url, "last": url}."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        for rel in match.group(2).split():
            links[rel] = match.group(1)
    return links


def _github_message(body: t.Any) -> str:
    """GitHub's error text: ``message`` plus the ``errors`` entries (strings, or objects with message/code/field)."""
    if not isinstance(body, dict):
        return ""
    parts = [str(body.get("message") or "").strip()]
    errors = body.get("errors")
    if isinstance(errors, list):
        for entry in errors:
            if isinstance(entry, str):
                parts.append(entry)
            elif isinstance(entry, dict):
                parts.append(str(entry.get("message") or " ".join(
                    str(entry[k]) for k in ("resource", "field", "code") if entry.get(k))))
    return ": ".join(p for p in parts if p)


class GitHubClient:
    """A GitHub REST API client for one repository, with errors that say what to do."""

    def __init__(self, *, api_url: str = DEFAULT_API_URL, repo: str, token: str | None, timeout: int = DEFAULT_TIMEOUT,
                 opener: t.Callable[..., t.Any] = open_url) -> None:
        api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        parts = urlsplit(api_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise GitHubError("use the GitHub API", f"ops_github_api_url {api_url!r} is not an http(s) URL",
                              "Set ops_github_api_url to https://api.github.com or your GitHub Enterprise API URL",
                              kind="usage_error")
        if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", repo or ""):
            raise GitHubError("use the GitHub API", f"ops_github_repo {repo!r} is not owner/name",
                              "Set ops_github_repo, for example HHS/Head-Start-TTADP", kind="usage_error")
        if not token:
            raise GitHubError("authenticate to GitHub", "GITHUB_TOKEN is not set", TOKEN_HINT, kind="no_token")
        self.api_url = api_url
        self._origin = (parts.scheme, parts.netloc)
        self.repo = repo
        self.owner = repo.split("/", 1)[0]
        self._token = token
        self.timeout = timeout
        self._open = opener
        self.requests = 0

    # -- one request -------------------------------------------------------------------------------------------------

    def repo_path(self, suffix: str = "") -> str:
        return f"/repos/{self.repo}{suffix}"

    def request(self, method: str, path: str, *, action: str, body: t.Any = None, params: t.Mapping[str, t.Any] | None = None,
                hints: t.Mapping[int, str] | None = None, need: str = "") -> tuple[t.Any, dict[str, str]]:
        """One API call; returns (parsed JSON or None, lowercased response headers). ``hints`` maps a status to what
        the operator should do; ``need`` names the permission a 403 means is missing."""
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        self._check_origin(url, action)
        if params:
            url += ("&" if "?" in url else "?") + urlencode({k: v for k, v in params.items() if v is not None})
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "Authorization": f"Bearer {self._token}",
        }
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        self.requests += 1
        try:
            response = self._open(url, data=data, headers=headers, method=method, timeout=self.timeout,
                                  http_agent="ttahub-ops", follow_redirects="safe", use_netrc=False,
                                  force_basic_auth=False, unredirected_headers=["Authorization"])
            raw = response.read()
            response_headers = {k.lower(): v for k, v in response.headers.items()}
        except HTTPError as exc:
            raise self._http_error(exc, action, path, hints or {}, need) from None
        except (URLError, UrlsConnectionError, socket.timeout, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise GitHubError(action, f"could not reach {self.api_url} ({reason})",
                              "Check ops_github_api_url and the network (https_proxy), then run again",
                              kind="unreachable") from None
        return self._parse(raw, action), response_headers

    def _check_origin(self, url: str, action: str) -> None:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin:
            # Never send the token anywhere but the configured API.
            raise GitHubError(action, f"GitHub pointed to {parts.scheme}://{parts.netloc}, not {self.api_url}",
                              "Check ops_github_api_url (GitHub Enterprise uses https://HOST/api/v3)", kind="unexpected")

    @staticmethod
    def _parse(raw: bytes, action: str) -> t.Any:
        text = raw.decode("utf-8", "replace").strip() if raw else ""
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise GitHubError(action, f"GitHub answered something that is not JSON ({text[:80]!r})",
                              "A proxy may be in the way: check ops_github_api_url and https_proxy",
                              kind="unexpected") from None

    def _http_error(self, exc: HTTPError, action: str, path: str, hints: t.Mapping[int, str], need: str) -> GitHubError:
        status = int(exc.code)
        headers = {k.lower(): v for k, v in (exc.headers.items() if exc.headers is not None else [])}
        try:
            body = json.loads((exc.read() or b"").decode("utf-8", "replace") or "null")
        except (ValueError, OSError):
            body = None
        said = _github_message(body) or (exc.reason if isinstance(exc.reason, str) else "") or "no message"
        if status in (403, 429) and (headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers or status == 429):
            return self._rate_limit_error(action, status, headers, said)
        if status == 401:
            return GitHubError(action, f"GitHub rejected the token (401 {said})", TOKEN_HINT, status=status,
                               kind="unauthorized", github_message=said)
        if status == 403:
            what = f"the token needs {need} on {self.repo}" if need else f"the token lacks a permission on {self.repo}"
            return GitHubError(action, f"GitHub refused the request (403 {said})",
                               hints.get(status) or f"Check the token's permissions: {what}", status=status,
                               kind="forbidden", github_message=said)
        if status == 404:
            return GitHubError(action, f"GitHub found nothing at {path.split('?')[0]} (404 {said})",
                               hints.get(status) or "Check ops_github_repo (owner/name) and the number; GitHub also "
                               "answers 404 when the token cannot see the repository",
                               status=status, kind="not_found", github_message=said)
        if status >= 500:
            return GitHubError(action, f"GitHub answered {status} ({said})",
                               "GitHub may be having an outage (https://www.githubstatus.com); run again later",
                               status=status, kind="server_error", github_message=said)
        kinds = {405: "not_allowed", 409: "conflict", 422: "invalid"}
        return GitHubError(action, f"GitHub refused it ({status} {said})",
                           hints.get(status) or "Read GitHub's message above, correct the request and run again",
                           status=status, kind=kinds.get(status, "refused"), github_message=said)

    @staticmethod
    def _rate_limit_error(action: str, status: int, headers: dict[str, str], said: str) -> GitHubError:
        if headers.get("x-ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset", "")
            until = ""
            if reset.isdigit():
                until = time.strftime(" until %H:%M:%S UTC", time.gmtime(int(reset)))
                wait = max(0, int(reset) - int(time.time()))
                until += f", in {wait} s"
            limit = headers.get("x-ratelimit-limit", "?")
            return GitHubError(
                action, f"GitHub's API rate limit is used up ({status}: 0 of {limit} requests left{until})",
                "Wait until the limit resets and run again; a token of your own account has a higher limit than a "
                "shared one", status=status, kind="rate_limited", github_message=said)
        retry = headers.get("retry-after", "")
        wait = f"{retry} s" if retry.isdigit() else "a minute"
        return GitHubError(
            action, f"GitHub's secondary rate limit was hit ({status} {said}); GitHub asks to wait {wait}",
            f"Wait {wait} and run again; do not run several release procedures at the same time",
            status=status, kind="rate_limited", github_message=said)

    # -- conveniences ------------------------------------------------------------------------------------------------

    def get(self, path: str, *, action: str, params: t.Mapping[str, t.Any] | None = None, **kwargs: t.Any) -> t.Any:
        return self.request("GET", path, action=action, params=params, **kwargs)[0]

    def paginate(self, path: str, *, action: str, params: t.Mapping[str, t.Any] | None = None, key: str | None = None,
                 per_page: int = 100, limit_pages: int = 100, need: str = "") -> list[t.Any]:
        """Every item of a list endpoint, following the ``Link: rel="next"`` header. ``key`` names the list inside an
        object answer (``check_runs``, ``statuses``, ``commits``)."""
        items: list[t.Any] = []
        url: str | None = path
        query: dict[str, t.Any] | None = {**(params or {}), "per_page": per_page}
        for _page in range(limit_pages):
            if url is None:
                return items
            data, headers = self.request("GET", url, action=action, params=query, need=need)
            page = data.get(key) if key and isinstance(data, dict) else data
            if not isinstance(page, list):
                raise GitHubError(action, f"GitHub's answer has no list{' ' + key if key else ''}",
                                  "Check ops_github_api_url: it must be the REST API's base URL", kind="unexpected")
            items.extend(page)
            url = parse_link_header(headers.get("link")).get("next")
            query = None  # the next link carries the query
        raise GitHubError(action, f"more than {limit_pages} pages of results", "Narrow the request", kind="unexpected")

    def whoami(self) -> dict[str, t.Any]:
        """The account the token belongs to (``GET /user``)."""
        user = self.get("/user", action="identify the GitHub account of GITHUB_TOKEN")
        if not isinstance(user, dict) or not user.get("login"):
            raise GitHubError("identify the GitHub account of GITHUB_TOKEN", "GET /user returned no login",
                              "Use a token that belongs to a user, not an app installation", kind="unexpected")
        return user


# ---------------------------------------------------------------------------------------------------------------------
# Pull requests: the summaries modules return, and finding one
# ---------------------------------------------------------------------------------------------------------------------


def _login(user: t.Any) -> str:
    return str(user.get("login") or "") if isinstance(user, dict) else ""


def pr_summary(pr: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The fields of a pull request that procedures use (full or list shape)."""
    head = pr.get("head") if isinstance(pr.get("head"), dict) else {}
    base = pr.get("base") if isinstance(pr.get("base"), dict) else {}
    return {
        "number": int(pr.get("number") or 0),
        "title": str(pr.get("title") or ""),
        "state": str(pr.get("state") or ""),
        "merged": bool(pr.get("merged") or pr.get("merged_at")),
        "merged_at": pr.get("merged_at"),
        "merged_by": _login(pr.get("merged_by")),
        "merge_commit_sha": str(pr.get("merge_commit_sha") or "") if (pr.get("merged") or pr.get("merged_at")) else "",
        "author": _login(pr.get("user")),
        "head_ref": str(head.get("ref") or ""),
        "head_sha": str(head.get("sha") or ""),
        "base_ref": str(base.get("ref") or ""),
        "html_url": str(pr.get("html_url") or ""),
        "created_at": pr.get("created_at"),
        "requested_reviewers": [_login(u) for u in pr.get("requested_reviewers") or []],
        "mergeable": pr.get("mergeable"),
        "mergeable_state": pr.get("mergeable_state"),
        "body": str(pr.get("body") or ""),
    }


def review_summary(review: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {
        "id": review.get("id"),
        "login": _login(review.get("user")),
        "state": str(review.get("state") or ""),
        "commit_id": str(review.get("commit_id") or ""),
        "submitted_at": review.get("submitted_at"),
        "body": str(review.get("body") or ""),
        "html_url": str(review.get("html_url") or ""),
    }


def commit_summary(commit: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    inner = commit.get("commit") if isinstance(commit.get("commit"), dict) else {}
    author = inner.get("author") if isinstance(inner.get("author"), dict) else {}
    message = str(inner.get("message") or "")
    sha = str(commit.get("sha") or "")
    return {
        "sha": sha,
        "short_sha": sha[:7],
        "headline": message.splitlines()[0] if message else "",
        "author_login": _login(commit.get("author")),
        "author_name": str(author.get("name") or ""),
        "date": author.get("date"),
        "html_url": str(commit.get("html_url") or ""),
    }


def get_pull(client: GitHubClient, number: int, *, action: str, wait_mergeable: float = 0) -> dict[str, t.Any]:
    """The full pull request. GitHub computes ``mergeable`` in the background: with ``wait_mergeable`` seconds, ask
    again (every second) while it is still ``null`` on an open pull request."""
    deadline = time.monotonic() + wait_mergeable
    while True:
        pr = client.get(client.repo_path(f"/pulls/{int(number)}"), action=action,
                        hints={404: f"Check the pull request number ({number}) and ops_github_repo ({client.repo})"})
        if not isinstance(pr, dict) or "number" not in pr:
            raise GitHubError(action, "GitHub's answer is not a pull request", "Check ops_github_api_url", kind="unexpected")
        if pr.get("mergeable") is not None or pr.get("state") != "open" or time.monotonic() >= deadline:
            return pr
        time.sleep(1.0)


def find_pull(client: GitHubClient, *, action: str, base: str, head: str, state: str = "open") -> dict[str, t.Any] | None:
    """The newest pull request from ``head`` (this repository's branch) into ``base`` in ``state`` (open, closed,
    all), as the list endpoint returns it; None when there is none."""
    found = client.get(client.repo_path("/pulls"), action=action,
                       params={"state": state, "base": base, "head": f"{client.owner}:{head}", "sort": "created",
                               "direction": "desc", "per_page": 10})
    if not isinstance(found, list):
        raise GitHubError(action, "GitHub's answer is not a list of pull requests", "Check ops_github_api_url",
                          kind="unexpected")
    found = [pr for pr in found if isinstance(pr, dict)]
    return found[0] if found else None


def client_from_module(module: t.Any) -> GitHubClient:
    p = module.params
    return GitHubClient(api_url=p.get("api_url") or DEFAULT_API_URL, repo=p.get("repo") or "", token=p.get("token"),
                        timeout=p.get("api_timeout") or DEFAULT_TIMEOUT)
