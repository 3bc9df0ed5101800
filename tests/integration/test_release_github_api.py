# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rehearsal GitHub over HTTP: GitHub's documented response shapes, status codes, Link pagination, rate-limit
headers, and the server's start/stop life cycle."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support.rehearsal_github import GIDEON, PAULA, VERA, github_api, github_fixture

github_server = pytest.fixture(scope="module")(github_fixture)
R = f"/repos/{github_api.REPO}"


@pytest.fixture
def gh(github_server):
    github_server.reset()
    return github_server


def call(gh, method, path, login=PAULA, body=None, token=None):
    request = urllib.request.Request(gh.url + path, method=method, data=None if body is None else json.dumps(body).encode())
    if login or token:
        request.add_header("Authorization", f"Bearer {token or gh.token(login)}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null"), dict(err.headers)


def test_authentication_and_error_shapes(gh):
    status, body, _ = call(gh, "GET", "/user", login=None)
    assert status == 401 and body["message"] == "Requires authentication" and body["status"] == "401"
    status, body, _ = call(gh, "GET", "/user", login=None, token="ghp_forged")
    assert (status, body["message"]) == (401, "Bad credentials") and body["documentation_url"].startswith("https://docs.github.com/")
    status, body, headers = call(gh, "GET", "/user")
    assert status == 200 and body["login"] == PAULA and body["type"] == "User"
    assert headers["x-ratelimit-limit"] == "5000" and int(headers["x-ratelimit-remaining"]) > 0
    assert call(gh, "GET", R + "/pulls/1")[0] == 404
    tokens = [r for r in gh.requests() if "ghp_" in json.dumps(r)]
    assert tokens == []


def test_pull_request_review_merge_shapes(gh):
    status, pr, _ = call(gh, "POST", R + "/pulls", body={"title": "Release", "head": "main", "base": "production"})
    assert status == 201 and pr["state"] == "open" and pr["head"]["label"] == "HHS:main" and pr["merged"] is False
    assert pr["head"]["repo"]["full_name"] == github_api.REPO and pr["mergeable"] is True and pr["mergeable_state"] == "clean"
    n = pr["number"]
    status, dup, _ = call(gh, "POST", R + "/pulls", body={"title": "Again", "head": "main", "base": "production"})
    assert status == 422 and dup["errors"][0]["message"] == "A pull request already exists for HHS:main."
    status, body, _ = call(gh, "POST", R + f"/pulls/{n}/requested_reviewers", body={"reviewers": [PAULA]})
    assert (status, body["message"]) == (422, "Review cannot be requested from pull request author.")
    status, body, _ = call(gh, "POST", R + f"/pulls/{n}/requested_reviewers", body={"reviewers": [GIDEON]})
    assert status == 201 and [u["login"] for u in body["requested_reviewers"]] == [GIDEON]
    status, review, _ = call(gh, "POST", R + f"/pulls/{n}/reviews", login=GIDEON, body={"event": "APPROVE", "body": "ok"})
    assert status == 200 and review["state"] == "APPROVED" and review["commit_id"] == gh.head("main")
    assert set(review) >= {"id", "user", "body", "state", "html_url", "pull_request_url", "submitted_at", "commit_id"}
    assert call(gh, "GET", R + f"/pulls/{n}")[1]["requested_reviewers"] == []
    status, body, _ = call(gh, "PUT", R + f"/pulls/{n}/reviews/{review['id']}/dismissals", login=VERA, body={"message": "no"})
    assert status == 200 and body["state"] == "DISMISSED"
    status, body, _ = call(gh, "PUT", R + f"/pulls/{n}/merge", body={"sha": "0" * 40})
    assert (status, body["message"]) == (409, "Head branch was modified. Review and try the merge again.")
    github_api.set_mergeable(gh.home, n, False)
    status, body, _ = call(gh, "PUT", R + f"/pulls/{n}/merge", body={"sha": gh.head("main")})
    assert (status, body["message"]) == (405, "Pull Request is not mergeable")
    assert call(gh, "GET", R + f"/pulls/{n}")[1]["mergeable_state"] == "dirty"
    github_api.set_mergeable(gh.home, n, True)
    head = gh.head("main")
    status, body, _ = call(gh, "PUT", R + f"/pulls/{n}/merge", body={"sha": head, "merge_method": "merge"})
    assert status == 200 and body["merged"] is True and body["message"] == "Pull Request successfully merged"
    merged = call(gh, "GET", R + f"/pulls/{n}")[1]
    assert merged["merged"] and merged["merge_commit_sha"] == body["sha"] == gh.head("production")
    assert merged["merged_by"]["login"] == PAULA and merged["head"]["sha"] == head and merged["state"] == "closed"
    assert call(gh, "GET", R + f"/pulls/{n}/merge")[0] == 204
    assert [p["number"] for p in call(gh, "GET", R + f"/commits/{body['sha']}/pulls")[1]] == [n]
    commit = call(gh, "GET", R + f"/git/commits/{body['sha']}")[1]
    assert [p["sha"] for p in commit["parents"]][1] == head and commit["message"].startswith(f"Merge pull request #{n}")


def test_link_pagination_and_list_filters(gh):
    n = github_api.open_pull(gh.home, PAULA)
    for login in (GIDEON, VERA, github_api.OUTSIDER):
        github_api.add_review(gh.home, n, login, "COMMENTED")
    status, page1, headers = call(gh, "GET", R + f"/pulls/{n}/reviews?per_page=2")
    assert status == 200 and len(page1) == 2
    assert 'rel="next"' in headers["Link"] and 'rel="last"' in headers["Link"]
    nxt = headers["Link"].split(">;")[0].lstrip("<")
    assert nxt.startswith(gh.url) and "page=2" in nxt
    page2 = call(gh, "GET", nxt[len(gh.url):])
    assert len(page2[1]) == 1 and 'rel="prev"' in page2[2]["Link"] and 'rel="next"' not in page2[2]["Link"]
    assert [p["number"] for p in call(gh, "GET", R + "/pulls?state=open&base=production&head=HHS:main")[1]] == [n]
    assert call(gh, "GET", R + "/pulls?state=closed")[1] == []
    assert call(gh, "GET", R + "/pulls?head=someone-else:main")[1] == []


def test_compare_checks_and_statuses(gh):
    status, body, _ = call(gh, "GET", R + "/compare/production...main")
    assert status == 200 and body["ahead_by"] == 3 and body["total_commits"] == 3 and body["status"] == "diverged"
    assert [c["sha"] for c in body["commits"]][-1] == gh.head("main")
    assert set(body["commits"][0]) >= {"sha", "commit", "author", "committer", "parents", "html_url"}
    runs = call(gh, "GET", R + "/commits/main/check-runs")[1]
    assert runs["total_count"] == 1 and runs["check_runs"][0]["name"] == "tests_done"
    assert runs["check_runs"][0]["status"] == "completed" and runs["check_runs"][0]["conclusion"] == "success"
    github_api.set_check(gh.home, gh.head("main"), "tests_done", "failure")
    runs = call(gh, "GET", R + f"/commits/{gh.head('main')}/check-runs")[1]
    assert [r["conclusion"] for r in runs["check_runs"]] == ["failure"]  # the latest run of a name
    assert len(call(gh, "GET", R + f"/commits/{gh.head('main')}/check-runs?filter=all")[1]["check_runs"]) == 2
    combined = call(gh, "GET", R + "/commits/main/status")[1]
    assert (combined["state"], combined["total_count"], combined["statuses"]) == ("pending", 0, [])
    status, created, _ = call(gh, "POST", R + f"/statuses/{gh.head('main')}", body={"state": "success", "context": "ci/x"})
    assert status == 201 and created["context"] == "ci/x"
    assert call(gh, "GET", R + "/commits/main/status")[1]["state"] == "success"
    assert call(gh, "GET", R + "/commits/nope/status")[0] == 422


def test_rate_limit_faults_answer_like_github(gh):
    github_api.inject_fault(gh.home, "rate_limit", path_contains="/user")
    status, body, headers = call(gh, "GET", "/user")
    assert status == 403 and headers["x-ratelimit-remaining"] == "0" and int(headers["x-ratelimit-reset"]) > 0
    assert body["message"].startswith("API rate limit exceeded")
    github_api.inject_fault(gh.home, "secondary_rate_limit")
    status, _body, headers = call(gh, "GET", "/user")
    assert status == 403 and headers["retry-after"] == "60"
    assert call(gh, "GET", "/user")[0] == 200


def test_start_is_idempotent_and_stop_stops(tmp_path):
    home = tmp_path / "gh"
    url = github_api.start(home)
    try:
        assert github_api.start(home) == url
        token = github_api.issue_token(home, PAULA)
        request = urllib.request.Request(url + "/user", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["login"] == PAULA
    finally:
        assert github_api.stop(home) is True
    assert github_api.stop(home) is False and github_api.url(home) == ""
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/user", timeout=2)
