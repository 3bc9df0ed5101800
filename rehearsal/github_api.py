# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""The rehearsal's GitHub: an HTTP server on 127.0.0.1 that answers the REST API calls of the release procedures
with GitHub's documented response shapes (docs.github.com/rest, API version 2022-11-28).

State lives in ``REHEARSAL_HOME/github.json`` (read-modify-written under ``github.lock`` on every request, so tests
and the server can both change it); the server itself is stateless. Python API (all take ``home``):

- ``seed(home)`` a fresh repository ``HHS/Head-Start-TTADP``: branches ``main`` and ``production``, ``main`` three
  commits ahead, a green ``tests_done`` check run on every branch head; users: the personas' GitHub logins, the CI
  account ``ttahub-rehearsal-ci`` and ``octo-outsider`` (not in any roster).
- ``start(home) -> url`` starts the server detached (pid in ``github.pid``, URL in ``github.url``), seeding first if
  needed; ``stop(home)``; ``url(home)``.
- ``issue_token(home, login) -> token`` a token for a user (only its SHA-256 is stored).
- ``push_commit(home, branch, message, login=...) -> sha``; ``set_check(home, sha, name, conclusion, status=)``;
  ``add_status(home, sha, context, state)``; ``set_auto_checks(home, {name: conclusion})`` (what CI reports on new
  commits; ``{}``: nothing).
- ``open_pull(home, login, base, head, title, body)``, ``add_review(home, number, login, state, body=, commit_id=,
  force=)`` (``force`` skips GitHub's own-PR rule, to test the gate's), ``dismiss_review(home, number, review_id)``,
  ``set_mergeable(home, number, mergeable, pending=0)``.
- ``inject_fault(home, kind, method=None, path_contains=None, times=1, status=None, message=None)``: kinds
  ``rate_limit`` (403, ``x-ratelimit-remaining: 0``), ``secondary_rate_limit`` (403 with ``retry-after``),
  ``status`` (any status and message), ``move_head`` (a commit lands on the pull request's head branch just before the
  request is handled, e.g. between the release gate and the merge).
- ``requests(home)``: the request log ``github-requests.jsonl`` (method, path, status, login; never a token).

Command line: ``python -m rehearsal.github_api seed|start|stop|url|serve|token LOGIN|approve LOGIN|head BRANCH|requests
[--home DIR]`` (``approve``: LOGIN approves the open pull request main -> production, as on GitHub's review page).
Standard library only.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from rehearsal.world import locked, resolve_home, write_json_atomic

STATE = "github.json"
LOCK = "github.lock"
PID = "github.pid"
URL = "github.url"
LOG = "github-requests.jsonl"
REPO = "HHS/Head-Start-TTADP"
HTML = "https://github.rehearsal.invalid"
DOCS = "https://docs.github.com/rest"
CI_LOGIN = "ttahub-rehearsal-ci"
OUTSIDER = "octo-outsider"

State = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[Any] | None = None, docs: str = DOCS,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.docs, self.headers = status, message, errors, docs, headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        out.update(documentation_url=self.docs, status=str(self.status))
        return out


# --- state ------------------------------------------------------------------------------------------------------------

def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _sha(*parts: str) -> str:
    return hashlib.sha1(("\0".join(parts) + os.urandom(8).hex()).encode("utf-8")).hexdigest()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _path(home: str) -> str:
    return os.path.join(home, STATE)


@contextlib.contextmanager
def transaction(home: str | os.PathLike[str] | None = None) -> Iterator[State]:
    """Read-modify-write github.json under its lock (seeded on first use)."""
    h = resolve_home(home)
    with locked(h, LOCK):
        if not os.path.exists(_path(h)):
            write_json_atomic(_path(h), fresh_state())
        with open(_path(h), encoding="utf-8") as fh:
            raw = fh.read()
        state, before = json.loads(raw), json.loads(raw)
        yield state
        if state != before:
            write_json_atomic(_path(h), state)


def load(home: str | os.PathLike[str] | None = None) -> State:
    with transaction(home) as state:
        return state


def _next_id(state: State) -> int:
    state["next_id"] += 1
    return int(state["next_id"])


def _add_user(state: State, login: str, name: str = "", kind: str = "User") -> dict[str, Any]:
    if login.lower() in (u.lower() for u in state["users"]):
        return state["users"][next(u for u in state["users"] if u.lower() == login.lower())]
    user = {"login": login, "id": _next_id(state), "name": name or login, "type": kind,
            "email": f"{login}@users.rehearsal.invalid"}
    state["users"][login] = user
    return user


def _add_commit(state: State, repo: State, message: str, parents: list[str], login: str, *, tree: str | None = None,
                ci: bool = True) -> str:
    sha = _sha(message, *parents)
    user = _user(state, login)
    who = {"name": user["name"], "email": user["email"], "date": _now()}
    repo["commits"][sha] = {"sha": sha, "message": message, "parents": list(parents), "tree": tree or _sha("tree", sha),
                            "author": who, "committer": who, "login": user["login"]}
    if ci:
        for name, conclusion in repo.get("auto_checks", {}).items():
            _set_check(state, repo, sha, name, conclusion)
    return sha


def _set_check(state: State, repo: State, sha: str, name: str, conclusion: str | None, status: str = "completed") -> None:
    runs = repo["check_runs"].setdefault(sha, [])
    now = _now()
    runs.append({"id": _next_id(state), "name": name, "head_sha": sha, "status": status,
                 "conclusion": conclusion if status == "completed" else None, "started_at": now,
                 "completed_at": now if status == "completed" else None})


def fresh_state() -> State:
    from rehearsal.personas import PERSONAS  # pylint: disable=import-outside-toplevel

    state: State = {"schema": 1, "next_id": 1000, "users": {}, "tokens": {}, "repos": {}, "faults": []}
    owner = _add_user(state, "HHS", "U.S. Department of Health and Human Services", "Organization")
    for persona in PERSONAS:
        _add_user(state, str(persona["github"]), str(persona["name"]))
    _add_user(state, CI_LOGIN, "TTA Hub rehearsal CI")
    _add_user(state, OUTSIDER, "Octo Outsider")
    repo: State = {"full_name": REPO, "id": _next_id(state), "owner": owner["login"], "default_branch": "main",
                   "branches": {}, "commits": {}, "pulls": {}, "next_number": 3900, "check_runs": {}, "statuses": {},
                   "auto_checks": {"tests_done": "success"}}
    state["repos"][REPO] = repo
    lead = str(PERSONAS[2]["github"])
    root = _add_commit(state, repo, "Initial commit", [], lead, ci=False)
    release = _add_commit(state, repo, "[TTAHUB-5600] Goal status filters (#3820)", [root], lead, ci=False)
    prod = _add_commit(state, repo, "Merge pull request #3830 from HHS/main\n\nRelease 2026-11-03", [root, release],
                       lead, tree=repo["commits"][release]["tree"])
    head = release
    for message in ("[TTAHUB-5641] Monitoring goal reopen fix (#3838)", "[TTAHUB-5650] Recipient record search (#3842)",
                    "[TTAHUB-5654] Add TTA Timeline BE API (#3846)"):
        head = _add_commit(state, repo, message, [head], lead, ci=False)
    _set_check(state, repo, head, "tests_done", "success")
    repo["branches"] = {"main": head, "production": prod}
    return state


def seed(home: str | os.PathLike[str] | None = None) -> str:
    """A fresh github.json (the request log is cleared). Returns its path."""
    h = resolve_home(home)
    os.makedirs(h, exist_ok=True)
    with locked(h, LOCK):
        write_json_atomic(_path(h), fresh_state())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(h, LOG))
    return _path(h)


def _repo(state: State, full_name: str = REPO) -> State:
    for name, repo in state["repos"].items():
        if name.lower() == full_name.lower():
            return repo
    raise ApiError(404, "Not Found")


def _user(state: State, login: str) -> dict[str, Any]:
    for name, user in state["users"].items():
        if name.lower() == login.lower():
            return user
    raise ApiError(404, "Not Found")


# --- the Python API for tests and make rehearsal ----------------------------------------------------------------------

def issue_token(home: str | os.PathLike[str] | None, login: str) -> str:
    """A new token for LOGIN (a user of the rehearsal GitHub); only its SHA-256 is kept."""
    token = "ghp_" + os.urandom(18).hex()
    with transaction(home) as state:
        user = _user(state, login)
        state["tokens"][_digest(token)] = user["login"]
    return token


def add_user(home: str | os.PathLike[str] | None, login: str, name: str = "") -> dict[str, Any]:
    with transaction(home) as state:
        return dict(_add_user(state, login, name))


def push_commit(home: str | os.PathLike[str] | None, branch: str = "main", message: str = "A change",
                login: str | None = None) -> str:
    """A new commit on BRANCH (CI reports the auto checks on it); returns its SHA."""
    with transaction(home) as state:
        repo = _repo(state)
        parent = repo["branches"][branch]
        sha = _add_commit(state, repo, message, [parent], login or CI_LOGIN)
        repo["branches"][branch] = sha
        return sha


def branch_sha(home: str | os.PathLike[str] | None, branch: str) -> str:
    return str(_repo(load(home))["branches"][branch])


def set_auto_checks(home: str | os.PathLike[str] | None, checks: dict[str, str]) -> None:
    with transaction(home) as state:
        _repo(state)["auto_checks"] = dict(checks)


def set_check(home: str | os.PathLike[str] | None, sha: str, name: str, conclusion: str | None = "success",
              status: str = "completed") -> None:
    """A check run on SHA (status queued/in_progress/completed; conclusion success, failure, ...)."""
    with transaction(home) as state:
        _set_check(state, _repo(state), sha, name, conclusion, status)


def add_status(home: str | os.PathLike[str] | None, sha: str, context: str, state_value: str) -> None:
    with transaction(home) as state:
        _add_status(state, _repo(state), sha, context, state_value, "")


def _add_status(state: State, repo: State, sha: str, context: str, value: str, description: str) -> dict[str, Any]:
    now = _now()
    status = {"id": _next_id(state), "state": value, "context": context, "description": description,
              "target_url": None, "created_at": now, "updated_at": now}
    repo["statuses"].setdefault(sha, []).append(status)
    return status


def open_pull(home: str | os.PathLike[str] | None, login: str, base: str = "production", head: str = "main",
              title: str = "Release", body: str = "") -> int:
    with transaction(home) as state:
        return int(_create_pull(state, _repo(state), _user(state, login), {"base": base, "head": head, "title": title,
                                                                          "body": body})["number"])


def add_review(home: str | os.PathLike[str] | None, number: int, login: str, state_value: str = "APPROVED", *,
               body: str = "", commit_id: str | None = None, force: bool = False) -> int:
    """A submitted review (APPROVED, CHANGES_REQUESTED, COMMENTED); returns its id. ``force`` skips the rule that an
    author cannot approve or request changes on their own pull request."""
    event = {"APPROVED": "APPROVE", "CHANGES_REQUESTED": "REQUEST_CHANGES", "COMMENTED": "COMMENT"}[state_value]
    with transaction(home) as state:
        repo = _repo(state)
        pr = _pull(repo, number)
        review = _create_review(state, repo, pr, _user(state, login),
                                {"event": event, "body": body or "rehearsal review", "commit_id": commit_id}, force=force)
        return int(review["id"])


def dismiss_review(home: str | os.PathLike[str] | None, number: int, review_id: int, message: str = "dismissed") -> None:
    with transaction(home) as state:
        _dismiss(_pull(_repo(state), number), review_id, message)


def set_mergeable(home: str | os.PathLike[str] | None, number: int, mergeable: bool | None, pending: int = 0) -> None:
    """Whether GitHub can merge the pull request (False: conflicts); ``pending``: answer ``null`` that many times."""
    with transaction(home) as state:
        pr = _pull(_repo(state), number)
        pr["mergeable"] = mergeable
        pr["mergeable_pending"] = int(pending)


def inject_fault(home: str | os.PathLike[str] | None, kind: str, *, method: str | None = None,
                 path_contains: str | None = None, times: int | None = 1, status: int | None = None,
                 message: str | None = None) -> None:
    if kind not in ("rate_limit", "secondary_rate_limit", "status", "move_head"):
        raise ValueError(f"unknown fault kind {kind!r}")
    with transaction(home) as state:
        state["faults"].append({"kind": kind, "method": method, "path_contains": path_contains, "times": times,
                                "status": status, "message": message})


def requests(home: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    try:
        with open(os.path.join(resolve_home(home), LOG), encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        return []


# --- presenters (GitHub's response shapes) ----------------------------------------------------------------------------

class Api:
    """Presenters need the API base URL the client used (pagination links, url fields)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def user(self, user: dict[str, Any]) -> dict[str, Any]:
        login = user["login"]
        return {"login": login, "id": user["id"], "node_id": f"U_{user['id']}", "avatar_url": f"{HTML}/{login}.png",
                "gravatar_id": "", "url": f"{self.base}/users/{login}", "html_url": f"{HTML}/{login}",
                "type": user["type"], "site_admin": False}

    def repo(self, state: State, repo: State) -> dict[str, Any]:
        name = repo["full_name"]
        return {"id": repo["id"], "node_id": f"R_{repo['id']}", "name": name.split("/")[1], "full_name": name,
                "private": False, "owner": self.user(_user(state, repo["owner"])), "html_url": f"{HTML}/{name}",
                "url": f"{self.base}/repos/{name}", "default_branch": repo["default_branch"]}

    def git_commit(self, repo: State, sha: str) -> dict[str, Any]:
        c = repo["commits"][sha]
        name = repo["full_name"]
        return {"sha": sha, "node_id": f"C_{sha[:12]}", "url": f"{self.base}/repos/{name}/git/commits/{sha}",
                "html_url": f"{HTML}/{name}/commit/{sha}", "author": c["author"], "committer": c["committer"],
                "message": c["message"], "tree": {"sha": c["tree"], "url": f"{self.base}/repos/{name}/git/trees/{c['tree']}"},
                "parents": [{"sha": p, "url": f"{self.base}/repos/{name}/git/commits/{p}",
                             "html_url": f"{HTML}/{name}/commit/{p}"} for p in c["parents"]],
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None}}

    def commit(self, state: State, repo: State, sha: str) -> dict[str, Any]:
        c = repo["commits"][sha]
        name = repo["full_name"]
        git = self.git_commit(repo, sha)
        author = self.user(_user(state, c["login"]))
        return {"sha": sha, "node_id": f"C_{sha[:12]}", "url": f"{self.base}/repos/{name}/commits/{sha}",
                "html_url": f"{HTML}/{name}/commit/{sha}", "comments_url": f"{self.base}/repos/{name}/commits/{sha}/comments",
                "commit": {"author": git["author"], "committer": git["committer"], "message": git["message"],
                           "tree": git["tree"], "url": git["url"], "comment_count": 0, "verification": git["verification"]},
                "author": author, "committer": author,
                "parents": [{"sha": p, "url": f"{self.base}/repos/{name}/commits/{p}",
                             "html_url": f"{HTML}/{name}/commit/{p}"} for p in c["parents"]]}

    def pull(self, state: State, repo: State, pr: dict[str, Any], *, full: bool) -> dict[str, Any]:
        name, n = repo["full_name"], pr["number"]
        head_sha = _pr_head(repo, pr)
        owner = self.user(_user(state, repo["owner"]))
        merged = pr["merged_at"] is not None

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {"label": f"{repo['owner']}:{ref}", "ref": ref, "sha": sha, "user": owner, "repo": self.repo(state, repo)}

        body: dict[str, Any] = {
            "url": f"{self.base}/repos/{name}/pulls/{n}", "id": pr["id"], "node_id": f"PR_{pr['id']}",
            "html_url": f"{HTML}/{name}/pull/{n}", "diff_url": f"{HTML}/{name}/pull/{n}.diff",
            "patch_url": f"{HTML}/{name}/pull/{n}.patch", "issue_url": f"{self.base}/repos/{name}/issues/{n}",
            "commits_url": f"{self.base}/repos/{name}/pulls/{n}/commits",
            "review_comments_url": f"{self.base}/repos/{name}/pulls/{n}/comments",
            "statuses_url": f"{self.base}/repos/{name}/statuses/{head_sha}",
            "number": n, "state": pr["state"], "locked": False, "title": pr["title"],
            "user": self.user(_user(state, pr["user"])), "body": pr["body"], "labels": [], "milestone": None,
            "active_lock_reason": None, "created_at": pr["created_at"], "updated_at": pr["updated_at"],
            "closed_at": pr["closed_at"], "merged_at": pr["merged_at"], "merge_commit_sha": pr["merge_commit_sha"],
            "assignee": None, "assignees": [],
            "requested_reviewers": [self.user(_user(state, login)) for login in pr["requested_reviewers"]],
            "requested_teams": [], "head": side(pr["head"], head_sha),
            "base": side(pr["base"], repo["branches"].get(pr["base"], "")),
            "_links": {"self": {"href": f"{self.base}/repos/{name}/pulls/{n}"},
                       "html": {"href": f"{HTML}/{name}/pull/{n}"}},
            "author_association": "MEMBER", "auto_merge": None, "draft": False,
        }
        if full:
            mergeable = None if pr.get("mergeable_pending") else (None if merged or pr["state"] != "open" else pr["mergeable"])
            if pr["state"] != "open":
                mergeable_state = "unknown"
            elif mergeable is None:
                mergeable_state = "unknown"
            elif not mergeable:
                mergeable_state = "dirty"
            else:
                mergeable_state = "clean" if _checks_green(repo, head_sha) else "unstable"
            commits = _between(repo, repo["branches"].get(pr["base"], ""), head_sha) if pr["state"] == "open" else pr.get("commit_count", 0)
            body.update({"merged": merged, "mergeable": mergeable, "rebaseable": mergeable,
                         "mergeable_state": mergeable_state,
                         "merged_by": self.user(_user(state, pr["merged_by"])) if pr["merged_by"] else None,
                         "comments": 0, "review_comments": 0, "maintainer_can_modify": False,
                         "commits": len(commits) if isinstance(commits, list) else commits,
                         "additions": 0, "deletions": 0, "changed_files": 0})
        return body

    def review(self, state: State, repo: State, pr: dict[str, Any], review: dict[str, Any]) -> dict[str, Any]:
        name, n = repo["full_name"], pr["number"]
        return {"id": review["id"], "node_id": f"PRR_{review['id']}", "user": self.user(_user(state, review["user"])),
                "body": review["body"], "state": review["state"],
                "html_url": f"{HTML}/{name}/pull/{n}#pullrequestreview-{review['id']}",
                "pull_request_url": f"{self.base}/repos/{name}/pulls/{n}", "author_association": "MEMBER",
                "_links": {"html": {"href": f"{HTML}/{name}/pull/{n}#pullrequestreview-{review['id']}"},
                           "pull_request": {"href": f"{self.base}/repos/{name}/pulls/{n}"}},
                "submitted_at": review["submitted_at"], "commit_id": review["commit_id"]}

    def check_run(self, repo: State, run: dict[str, Any]) -> dict[str, Any]:
        name = repo["full_name"]
        return {"id": run["id"], "head_sha": run["head_sha"], "node_id": f"CR_{run['id']}", "external_id": "",
                "url": f"{self.base}/repos/{name}/check-runs/{run['id']}",
                "html_url": f"{HTML}/{name}/runs/{run['id']}", "details_url": f"{HTML}/{name}/runs/{run['id']}",
                "status": run["status"], "conclusion": run["conclusion"], "started_at": run["started_at"],
                "completed_at": run["completed_at"],
                "output": {"title": None, "summary": None, "text": None, "annotations_count": 0,
                           "annotations_url": f"{self.base}/repos/{name}/check-runs/{run['id']}/annotations"},
                "name": run["name"], "check_suite": {"id": run["id"]},
                "app": {"id": 1, "slug": "circleci-checks", "name": "CircleCI Checks"}, "pull_requests": []}

    def status(self, state: State, status: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self.base}/repos/{REPO}/statuses/{status['id']}", "avatar_url": f"{HTML}/circleci.png",
                "id": status["id"], "node_id": f"SC_{status['id']}", "state": status["state"],
                "description": status["description"], "target_url": status["target_url"], "context": status["context"],
                "created_at": status["created_at"], "updated_at": status["updated_at"]}


# --- repository logic -------------------------------------------------------------------------------------------------

def _ancestors(repo: State, sha: str) -> set[str]:
    seen: set[str] = set()
    todo = [sha] if sha else []
    while todo:
        current = todo.pop()
        if current in seen or current not in repo["commits"]:
            continue
        seen.add(current)
        todo.extend(repo["commits"][current]["parents"])
    return seen


def _between(repo: State, base_sha: str, head_sha: str) -> list[str]:
    """Commits reachable from HEAD and not from BASE, oldest first (GitHub's compare order)."""
    new = _ancestors(repo, head_sha) - _ancestors(repo, base_sha)
    return sorted(new, key=lambda s: (repo["commits"][s]["author"]["date"], len(_ancestors(repo, s))))


def _resolve(repo: State, ref: str) -> str:
    if ref in repo["branches"]:
        return str(repo["branches"][ref])
    if ref in repo["commits"]:
        return ref
    matches = [s for s in repo["commits"] if len(ref) >= 7 and s.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    raise ApiError(422, f"No commit found for SHA: {ref}", docs=f"{DOCS}/commits/commits#get-a-commit")


def _pr_head(repo: State, pr: dict[str, Any]) -> str:
    if pr["state"] == "open" and pr["head"] in repo["branches"]:
        return str(repo["branches"][pr["head"]])
    return str(pr["head_sha"])


def _latest_runs(repo: State, sha: str) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for run in repo["check_runs"].get(sha, []):
        latest[run["name"]] = run
    return list(latest.values())


def _latest_statuses(repo: State, sha: str) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for status in repo["statuses"].get(sha, []):
        latest[status["context"]] = status
    return sorted(latest.values(), key=lambda s: s["id"], reverse=True)


def _checks_green(repo: State, sha: str) -> bool:
    runs = _latest_runs(repo, sha)
    statuses = _latest_statuses(repo, sha)
    return (all(r["status"] == "completed" and r["conclusion"] in ("success", "neutral", "skipped") for r in runs)
            and all(s["state"] == "success" for s in statuses))


def _pull(repo: State, number: int | str) -> dict[str, Any]:
    pr = repo["pulls"].get(str(number))
    if pr is None:
        raise ApiError(404, "Not Found", docs=f"{DOCS}/pulls/pulls#get-a-pull-request")
    return pr


def _branch_ref(repo: State, head: str) -> str:
    owner, _, ref = head.rpartition(":")
    if owner and owner.lower() != repo["owner"].lower():
        raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                       docs=f"{DOCS}/pulls/pulls#create-a-pull-request")
    return ref


def _create_pull(state: State, repo: State, user: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    docs = f"{DOCS}/pulls/pulls#create-a-pull-request"
    head, base = _branch_ref(repo, str(body.get("head") or "")), str(body.get("base") or "")
    missing = [f for f in ("head", "base") if not body.get(f)] + ([] if body.get("title") else ["title"])
    if missing:
        raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "field": f, "code": "missing_field"}
                                                  for f in missing], docs=docs)
    for ref, field in ((head, "head"), (base, "base")):
        if ref not in repo["branches"]:
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "field": field, "code": "invalid"}],
                           docs=docs)
    for pr in repo["pulls"].values():
        if pr["state"] == "open" and pr["head"] == head and pr["base"] == base:
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom",
                                                       "message": f"A pull request already exists for {repo['owner']}:{head}."}],
                           docs=docs)
    if not _between(repo, repo["branches"][base], repo["branches"][head]):
        raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom",
                                                   "message": f"No commits between {base} and {head}"}], docs=docs)
    number = repo["next_number"]
    repo["next_number"] += 1
    now = _now()
    pr = {"number": number, "id": _next_id(state), "state": "open", "title": str(body["title"]),
          "body": body.get("body"), "user": user["login"], "head": head, "base": base, "head_sha": repo["branches"][head],
          "created_at": now, "updated_at": now, "closed_at": None, "merged_at": None, "merge_commit_sha": None,
          "merged_by": None, "requested_reviewers": [], "reviews": [], "mergeable": True, "mergeable_pending": 0}
    repo["pulls"][str(number)] = pr
    return pr


def _create_review(state: State, repo: State, pr: dict[str, Any], user: dict[str, Any], body: dict[str, Any], *,
                   force: bool = False) -> dict[str, Any]:
    docs = f"{DOCS}/pulls/reviews#create-a-review-for-a-pull-request"
    event = body.get("event")
    states = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", None: "PENDING"}
    if event not in states:
        raise ApiError(422, "Unprocessable Entity", [f"Invalid event {event!r}"], docs=docs)
    own = user["login"].lower() == pr["user"].lower()
    if own and not force and event == "APPROVE":
        raise ApiError(422, "Unprocessable Entity", ["Can not approve your own pull request"], docs=docs)
    if own and not force and event == "REQUEST_CHANGES":
        raise ApiError(422, "Unprocessable Entity", ["Can not request changes on your own pull request"], docs=docs)
    commit_id = body.get("commit_id") or _pr_head(repo, pr)
    if commit_id not in repo["commits"]:
        raise ApiError(422, "Unprocessable Entity", [f"No commit found for SHA: {commit_id}"], docs=docs)
    review = {"id": _next_id(state), "user": user["login"], "body": str(body.get("body") or ""),
              "state": states[event], "submitted_at": _now() if event else None, "commit_id": commit_id}
    pr["reviews"].append(review)
    if event:
        pr["requested_reviewers"] = [r for r in pr["requested_reviewers"] if r.lower() != user["login"].lower()]
    pr["updated_at"] = _now()
    return review


def _dismiss(pr: dict[str, Any], review_id: int, message: str) -> dict[str, Any]:
    for review in pr["reviews"]:
        if review["id"] == int(review_id):
            if review["state"] not in ("APPROVED", "CHANGES_REQUESTED"):
                raise ApiError(422, "Unprocessable Entity", ["Can not dismiss a commented pull request review"],
                               docs=f"{DOCS}/pulls/reviews#dismiss-a-review-for-a-pull-request")
            review["state"] = "DISMISSED"
            review["dismissal_message"] = message
            return review
    raise ApiError(404, "Not Found")


# --- routes -----------------------------------------------------------------------------------------------------------

Handler = Callable[..., Any]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
R = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append((method, re.compile("^" + pattern + "$"), fn))
        return fn
    return register


class Request:
    def __init__(self, api: Api, state: State, login: str, method: str, path: str, query: dict[str, list[str]],
                 body: Any, match: dict[str, str]) -> None:
        self.api, self.state, self.login, self.method, self.path = api, state, login, method, path
        self.query, self.body, self.match = query, body, match

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def repo(self) -> State:
        return _repo(self.state, f"{self.match['owner']}/{self.match['name']}")

    @property
    def user(self) -> dict[str, Any]:
        return _user(self.state, self.login)

    def paginate(self, items: list[Any], wrap: Callable[[list[Any]], Any] | None = None) -> tuple[int, Any, dict[str, str]]:
        try:
            per_page = max(1, min(100, int(self.param("per_page", "30") or 30)))
            page = max(1, int(self.param("page", "1") or 1))
        except ValueError:
            per_page, page = 30, 1
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page:page * per_page]
        links = []

        def link(p: int, rel: str) -> str:
            query = {k: v[0] for k, v in self.query.items()}
            query.update(page=str(p), per_page=str(per_page))
            return f'<{self.api.base}{self.path}?{urlencode(query)}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, (wrap(chunk) if wrap else chunk), headers


@route("GET", "/user")
def get_user(req: Request) -> Any:
    body = req.api.user(req.user)
    body.update(name=req.user["name"], email=req.user["email"])
    return 200, body


@route("GET", "/users/(?P<login>[^/]+)")
def get_any_user(req: Request) -> Any:
    return 200, req.api.user(_user(req.state, req.match["login"]))


@route("GET", "/rate_limit")
def rate_limit(req: Request) -> Any:
    core = {"limit": 5000, "used": 1, "remaining": 4999, "reset": int(time.time()) + 3600}
    return 200, {"resources": {"core": core}, "rate": core}


@route("GET", R)
def get_repo(req: Request) -> Any:
    return 200, req.api.repo(req.state, req.repo)


@route("GET", R + "/branches/(?P<branch>[^/]+)")
def get_branch(req: Request) -> Any:
    repo = req.repo
    branch = req.match["branch"]
    if branch not in repo["branches"]:
        raise ApiError(404, "Branch not found", docs=f"{DOCS}/branches/branches#get-a-branch")
    sha = repo["branches"][branch]
    return 200, {"name": branch, "commit": req.api.commit(req.state, repo, sha), "protected": branch == "production",
                 "_links": {"self": f"{req.api.base}/repos/{repo['full_name']}/branches/{branch}",
                            "html": f"{HTML}/{repo['full_name']}/tree/{branch}"}}


@route("GET", R + "/pulls")
def list_pulls(req: Request) -> Any:
    repo = req.repo
    wanted = req.param("state", "open")
    head = req.param("head")
    head_ref = None
    if head:
        owner, _, head_ref = head.rpartition(":")
        if owner and owner.lower() != repo["owner"].lower():
            return req.paginate([])
    base = req.param("base")
    pulls = [pr for pr in repo["pulls"].values()
             if (wanted == "all" or pr["state"] == wanted) and (head_ref is None or pr["head"] == head_ref)
             and (base is None or pr["base"] == base)]
    direction = req.param("direction", "desc")
    pulls.sort(key=lambda pr: (pr["created_at"], pr["number"]), reverse=direction != "asc")
    return req.paginate([req.api.pull(req.state, repo, pr, full=False) for pr in pulls])


@route("POST", R + "/pulls")
def create_pull(req: Request) -> Any:
    repo = req.repo
    pr = _create_pull(req.state, repo, req.user, req.body or {})
    return 201, req.api.pull(req.state, repo, pr, full=True)


@route("GET", R + "/pulls/(?P<number>\\d+)")
def get_pull(req: Request) -> Any:
    repo = req.repo
    pr = _pull(repo, req.match["number"])
    body = req.api.pull(req.state, repo, pr, full=True)
    if pr.get("mergeable_pending"):
        pr["mergeable_pending"] -= 1
    return 200, body


@route("PATCH", R + "/pulls/(?P<number>\\d+)")
def update_pull(req: Request) -> Any:
    repo = req.repo
    pr = _pull(repo, req.match["number"])
    body = req.body or {}
    for key in ("title", "body"):
        if key in body:
            pr[key] = body[key]
    if body.get("state") in ("open", "closed") and pr["merged_at"] is None:
        if body["state"] == "closed" and pr["state"] == "open":
            pr["head_sha"] = _pr_head(repo, pr)
            pr["closed_at"] = _now()
        pr["state"] = body["state"]
    pr["updated_at"] = _now()
    return 200, req.api.pull(req.state, repo, pr, full=True)


@route("GET", R + "/pulls/(?P<number>\\d+)/requested_reviewers")
def get_requested(req: Request) -> Any:
    pr = _pull(req.repo, req.match["number"])
    return 200, {"users": [req.api.user(_user(req.state, u)) for u in pr["requested_reviewers"]], "teams": []}


@route("POST", R + "/pulls/(?P<number>\\d+)/requested_reviewers")
def request_reviewers(req: Request) -> Any:
    repo = req.repo
    pr = _pull(repo, req.match["number"])
    docs = f"{DOCS}/pulls/review-requests#request-reviewers-for-a-pull-request"
    logins = (req.body or {}).get("reviewers") or []
    for login in logins:
        if login.lower() == pr["user"].lower():
            raise ApiError(422, "Review cannot be requested from pull request author.", docs=docs)
        try:
            user = _user(req.state, login)
        except ApiError:
            raise ApiError(422, "Reviews may only be requested from collaborators. One or more of the users or teams you "
                                f"specified is not a collaborator of the {repo['full_name']} repository.", docs=docs) from None
        if user["login"] not in pr["requested_reviewers"]:
            pr["requested_reviewers"].append(user["login"])
    pr["updated_at"] = _now()
    return 201, req.api.pull(req.state, repo, pr, full=False)


@route("GET", R + "/pulls/(?P<number>\\d+)/reviews")
def list_reviews(req: Request) -> Any:
    repo = req.repo
    pr = _pull(repo, req.match["number"])
    visible = [r for r in pr["reviews"] if r["state"] != "PENDING" or r["user"].lower() == req.login.lower()]
    return req.paginate([req.api.review(req.state, repo, pr, r) for r in visible])


@route("POST", R + "/pulls/(?P<number>\\d+)/reviews")
def create_review(req: Request) -> Any:
    repo = req.repo
    pr = _pull(repo, req.match["number"])
    review = _create_review(req.state, repo, pr, req.user, req.body or {})
    return 200, req.api.review(req.state, repo, pr, review)


@route("PUT", R + "/pulls/(?P<number>\\d+)/reviews/(?P<review>\\d+)/dismissals")
def dismiss(req: Request) -> Any:
    repo = req.repo
    pr = _pull(repo, req.match["number"])
    review = _dismiss(pr, int(req.match["review"]), str((req.body or {}).get("message") or ""))
    return 200, req.api.review(req.state, repo, pr, review)


@route("GET", R + "/pulls/(?P<number>\\d+)/merge")
def is_merged(req: Request) -> Any:
    pr = _pull(req.repo, req.match["number"])
    if pr["merged_at"]:
        return 204, None
    raise ApiError(404, "Not Found", docs=f"{DOCS}/pulls/pulls#check-if-a-pull-request-has-been-merged")


@route("PUT", R + "/pulls/(?P<number>\\d+)/merge")
def merge(req: Request) -> Any:
    repo = req.repo
    pr = _pull(repo, req.match["number"])
    docs = f"{DOCS}/pulls/pulls#merge-a-pull-request"
    body = req.body or {}
    head = _pr_head(repo, pr)
    if pr["state"] != "open" or not pr["mergeable"]:
        raise ApiError(405, "Pull Request is not mergeable", docs=docs)
    if body.get("sha") and body["sha"] != head:
        raise ApiError(409, "Head branch was modified. Review and try the merge again.", docs=docs)
    base_sha = repo["branches"][pr["base"]]
    title = body.get("commit_title") or f"Merge pull request #{pr['number']} from {repo['owner']}:{pr['head']}"
    message = title + "\n\n" + (body.get("commit_message") or pr["title"])
    sha = _add_commit(req.state, repo, message, [base_sha, head], req.login, tree=repo["commits"][head]["tree"])
    repo["branches"][pr["base"]] = sha
    now = _now()
    pr.update(state="closed", merged_at=now, closed_at=now, updated_at=now, merge_commit_sha=sha,
              merged_by=req.user["login"], head_sha=head, commit_count=len(_between(repo, base_sha, head)))
    return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}


@route("GET", R + "/commits/(?P<ref>[^/]+)")
def get_commit(req: Request) -> Any:
    repo = req.repo
    return 200, req.api.commit(req.state, repo, _resolve(repo, req.match["ref"]))


@route("GET", R + "/commits/(?P<ref>[^/]+)/check-runs")
def check_runs(req: Request) -> Any:
    repo = req.repo
    sha = _resolve(repo, req.match["ref"])
    runs = repo["check_runs"].get(sha, []) if req.param("filter") == "all" else _latest_runs(repo, sha)
    name = req.param("check_name")
    runs = [r for r in runs if name is None or r["name"] == name]
    items = [req.api.check_run(repo, r) for r in sorted(runs, key=lambda r: r["id"], reverse=True)]
    return req.paginate(items, lambda chunk: {"total_count": len(items), "check_runs": chunk})


@route("GET", R + "/commits/(?P<ref>[^/]+)/status")
def combined_status(req: Request) -> Any:
    repo = req.repo
    sha = _resolve(repo, req.match["ref"])
    statuses = _latest_statuses(repo, sha)
    if any(s["state"] in ("failure", "error") for s in statuses):
        value = "failure"
    elif not statuses or any(s["state"] == "pending" for s in statuses):
        value = "pending"
    else:
        value = "success"
    items = [req.api.status(req.state, s) for s in statuses]

    def wrap(chunk: list[Any]) -> dict[str, Any]:
        return {"state": value, "statuses": chunk, "sha": sha, "total_count": len(items),
                "repository": req.api.repo(req.state, repo),
                "commit_url": f"{req.api.base}/repos/{repo['full_name']}/commits/{sha}",
                "url": f"{req.api.base}/repos/{repo['full_name']}/commits/{sha}/status"}
    return req.paginate(items, wrap)


@route("POST", R + "/statuses/(?P<sha>[0-9a-f]{40})")
def create_status(req: Request) -> Any:
    repo = req.repo
    body = req.body or {}
    if req.match["sha"] not in repo["commits"] or body.get("state") not in ("error", "failure", "pending", "success"):
        raise ApiError(422, "Validation Failed", docs=f"{DOCS}/commits/statuses#create-a-commit-status")
    status = _add_status(req.state, repo, req.match["sha"], str(body.get("context") or "default"), body["state"],
                         str(body.get("description") or ""))
    return 201, req.api.status(req.state, status)


@route("GET", R + "/commits/(?P<sha>[^/]+)/pulls")
def commit_pulls(req: Request) -> Any:
    repo = req.repo
    sha = _resolve(repo, req.match["sha"])
    found = [pr for pr in repo["pulls"].values() if pr["merge_commit_sha"] == sha or _pr_head(repo, pr) == sha]
    found.sort(key=lambda pr: pr["number"], reverse=True)
    return req.paginate([req.api.pull(req.state, repo, pr, full=False) for pr in found])


@route("GET", R + "/compare/(?P<base>[^.]+)\\.\\.\\.(?P<head>[^/]+)")
def compare(req: Request) -> Any:
    repo = req.repo
    base, head = _resolve(repo, req.match["base"]), _resolve(repo, req.match["head"])
    ahead = _between(repo, base, head)
    behind = _between(repo, head, base)
    merge_base = max(_ancestors(repo, base) & _ancestors(repo, head),
                     key=lambda s: len(_ancestors(repo, s)), default=None)
    status = ("identical" if not ahead and not behind else "ahead" if not behind
              else "behind" if not ahead else "diverged")
    items = [req.api.commit(req.state, repo, s) for s in ahead]
    name = repo["full_name"]

    def wrap(chunk: list[Any]) -> dict[str, Any]:
        return {"url": f"{req.api.base}/repos/{name}/compare/{req.match['base']}...{req.match['head']}",
                "html_url": f"{HTML}/{name}/compare/{req.match['base']}...{req.match['head']}",
                "base_commit": req.api.commit(req.state, repo, base),
                "merge_base_commit": req.api.commit(req.state, repo, merge_base) if merge_base else None,
                "status": status, "ahead_by": len(ahead), "behind_by": len(behind), "total_commits": len(ahead),
                "commits": chunk, "files": []}
    return req.paginate(items, wrap)


@route("GET", R + "/git/commits/(?P<sha>[0-9a-f]{40})")
def get_git_commit(req: Request) -> Any:
    repo = req.repo
    if req.match["sha"] not in repo["commits"]:
        raise ApiError(404, "Not Found", docs=f"{DOCS}/git/commits#get-a-commit-object")
    return 200, req.api.git_commit(repo, req.match["sha"])


@route("POST", R + "/git/commits")
def create_git_commit(req: Request) -> Any:
    repo = req.repo
    body = req.body or {}
    parents = body.get("parents") or []
    if not body.get("message") or not body.get("tree") or any(p not in repo["commits"] for p in parents):
        raise ApiError(422, "Validation Failed", docs=f"{DOCS}/git/commits#create-a-commit")
    sha = _add_commit(req.state, repo, str(body["message"]), list(parents), req.login, tree=str(body["tree"]))
    return 201, req.api.git_commit(repo, sha)


@route("POST", R + "/git/refs")
def create_ref(req: Request) -> Any:
    repo = req.repo
    body = req.body or {}
    ref, sha = str(body.get("ref") or ""), str(body.get("sha") or "")
    docs = f"{DOCS}/git/refs#create-a-reference"
    if not ref.startswith("refs/heads/") or sha not in repo["commits"]:
        raise ApiError(422, "Validation Failed", docs=docs)
    branch = ref[len("refs/heads/"):]
    if branch in repo["branches"]:
        raise ApiError(422, "Reference already exists", docs=docs)
    repo["branches"][branch] = sha
    return 201, {"ref": ref, "node_id": f"REF_{branch}", "url": f"{req.api.base}/repos/{repo['full_name']}/git/{ref}",
                 "object": {"type": "commit", "sha": sha,
                            "url": f"{req.api.base}/repos/{repo['full_name']}/git/commits/{sha}"}}


# --- dispatch ---------------------------------------------------------------------------------------------------------

def _fault(state: State, method: str, path: str) -> dict[str, Any] | None:
    for fault in state["faults"]:
        if fault.get("times") is not None and fault["times"] <= 0:
            continue
        if fault.get("method") and fault["method"] != method:
            continue
        if fault.get("path_contains") and fault["path_contains"] not in path:
            continue
        if fault.get("times") is not None:
            fault["times"] -= 1
        return fault
    return None


def _apply_fault(state: State, fault: dict[str, Any], path: str) -> None:
    kind = fault["kind"]
    if kind == "rate_limit":
        raise ApiError(403, "API rate limit exceeded for user ID 1.",
                       docs=f"{DOCS}/overview/resources-in-the-rest-api#rate-limiting",
                       headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 600),
                                "x-ratelimit-limit": "5000", "x-ratelimit-used": "5000"})
    if kind == "secondary_rate_limit":
        raise ApiError(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                       docs=f"{DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                       headers={"retry-after": "60"})
    if kind == "status":
        raise ApiError(int(fault.get("status") or 500), str(fault.get("message") or "Server Error"))
    if kind == "move_head":
        match = re.search(r"/pulls/(\d+)", path)
        repo = _repo(state)
        pr = _pull(repo, match.group(1)) if match else None
        branch = pr["head"] if pr else "main"
        sha = _add_commit(state, repo, "A change that landed after the release gate", [repo["branches"][branch]], CI_LOGIN)
        repo["branches"][branch] = sha


def handle(home: str, base: str, method: str, target: str, token: str, raw: bytes) -> tuple[int, Any, dict[str, str], str]:
    """One request: (status, JSON body or None, extra headers, login)."""
    parts = urlsplit(target)
    path = parts.path.rstrip("/") or "/"
    query = parse_qs(parts.query)
    login = ""
    with transaction(home) as state:
        try:
            login = state["tokens"].get(_digest(token), "") if token else ""
            if not login:
                raise ApiError(401, "Requires authentication" if not token else "Bad credentials")
            fault = _fault(state, method, path)
            if fault is not None:
                _apply_fault(state, fault, path)
            try:
                body = json.loads(raw.decode("utf-8")) if raw else None
            except ValueError:
                raise ApiError(400, "Problems parsing JSON") from None
            for verb, pattern, fn in ROUTES:
                match = pattern.match(path)
                if match and verb == method:
                    result = fn(Request(Api(base), state, login, method, path, query, body, match.groupdict()))
                    status, payload = result[0], result[1]
                    headers = result[2] if len(result) > 2 else {}
                    return status, payload, headers, login
            raise ApiError(404, "Not Found")
        except ApiError as err:
            return err.status, err.body(), err.headers, login


class _Handler(BaseHTTPRequestHandler):
    server_version = "GitHub.com"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization") or ""
        token = auth.split(" ", 1)[1].strip() if " " in auth else ""
        home = self.server.home  # type: ignore[attr-defined]
        base = f"http://{self.headers.get('Host') or '127.0.0.1'}"
        try:
            status, payload, headers, login = handle(home, base, self.command, self.path, token, raw)
        except Exception as exc:  # pylint: disable=broad-except  # an emulator bug: answer 500, keep serving
            import traceback  # pylint: disable=import-outside-toplevel

            sys.stderr.write(traceback.format_exc())
            status, payload, headers, login = 500, {"message": f"rehearsal GitHub error: {exc}"}, {}, ""
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        for key, value in {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999",
                           "x-ratelimit-reset": str(int(time.time()) + 3600), "x-ratelimit-resource": "core",
                           **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        record = {"time": _now(), "method": self.command, "path": self.path.split("?")[0], "status": status, "login": login}
        with locked(home, LOCK):
            with open(os.path.join(home, LOG), "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, sort_keys=True) + "\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        return


# --- the server process -----------------------------------------------------------------------------------------------

def serve(home: str, port: int = 0) -> None:
    """Run the server in this process (``start`` runs this detached) until SIGTERM."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    server.home = home  # type: ignore[attr-defined]
    address = f"http://127.0.0.1:{server.server_address[1]}"
    stop = threading.Event()

    def on_term(_signum: int, _frame: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    tmp = os.path.join(home, URL + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(address + "\n")
    os.replace(tmp, os.path.join(home, URL))
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def url(home: str | os.PathLike[str] | None = None) -> str:
    try:
        with open(os.path.join(resolve_home(home), URL), encoding="utf-8") as fh:
            return fh.read().strip()
    except FileNotFoundError:
        return ""


def start(home: str | os.PathLike[str] | None = None, timeout: float = 10.0) -> str:
    """Start the server detached (once per REHEARSAL_HOME); returns its URL, e.g. http://127.0.0.1:41234."""
    h = os.path.abspath(resolve_home(home))
    os.makedirs(h, exist_ok=True)
    pid_path = os.path.join(h, PID)
    with contextlib.suppress(FileNotFoundError, ValueError):
        with open(pid_path, encoding="utf-8") as fh:
            pid = int(fh.read().strip())
        if _alive(pid) and url(h):
            return url(h)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(h, URL))
    if not os.path.exists(_path(h)):
        seed(h)
    python = os.environ.get("REHEARSAL_PYTHON") or sys.executable
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(h, "github-server.log"), "ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - argv list
            [python, "-m", "rehearsal.github_api", "serve", "--home", h], cwd=root, stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True, env={**os.environ, "PYTHONPATH": root},
        )
    with open(pid_path, "w", encoding="utf-8") as fh:
        fh.write(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if url(h):
            return url(h)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    stop(h)
    raise RuntimeError(f"the rehearsal GitHub did not start; see {os.path.join(h, 'github-server.log')}")


def stop(home: str | os.PathLike[str] | None = None) -> bool:
    """Stop the server started by ``start`` (by its pid file). Returns whether one was running."""
    h = resolve_home(home)
    pid_path = os.path.join(h, PID)
    try:
        with open(pid_path, encoding="utf-8") as fh:
            pid = int(fh.read().strip())
    except (FileNotFoundError, ValueError):
        return False
    running = _alive(pid)
    if running:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    for name in (PID, URL):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(h, name))
    return running


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal.github_api", description="The rehearsal's GitHub API.")
    parser.add_argument("verb", choices=("seed", "start", "stop", "url", "serve", "token", "approve", "head", "requests"))
    parser.add_argument("login", nargs="?", help="token, approve: the user; head: the branch")
    parser.add_argument("--home", default=None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    home = os.path.abspath(resolve_home(args.home))
    if args.verb == "seed":
        print(f"seeded {seed(home)}")
    elif args.verb == "start":
        print(start(home))
    elif args.verb == "stop":
        print("stopped" if stop(home) else "not running")
    elif args.verb == "url":
        print(url(home))
    elif args.verb == "serve":
        serve(home, args.port)
    elif args.verb in ("token", "approve", "head"):
        if not args.login:
            parser.error(f"{args.verb} needs an argument")
        if args.verb == "token":
            print(issue_token(home, args.login))
        elif args.verb == "head":
            print(branch_sha(home, args.login))
        else:
            with transaction(home) as state:
                open_prs = [pr for pr in _repo(state)["pulls"].values()
                            if pr["state"] == "open" and pr["base"] == "production" and pr["head"] == "main"]
            if not open_prs:
                parser.error("there is no open pull request main -> production")
            number = open_prs[0]["number"]
            print(f"@{args.login} approved pull request #{number} (review {add_review(home, number, args.login)})")
    else:
        for record in requests(home):
            print(json.dumps(record, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
