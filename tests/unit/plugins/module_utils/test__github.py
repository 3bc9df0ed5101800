# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""The GitHub client: headers, Link pagination, the token's confinement to the API host, and errors that say what to
do (401, 403 permission, 403/429 rate limits, 404, 409, 422, 5xx, unreachable). A recording opener stands in for
ansible-core's open_url; the rehearsal GitHub covers the real HTTP path (tests/integration/test_release_github_api.py)."""

from __future__ import annotations

import email.message
import io
import json
import time
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.ttahub.ops.plugins.module_utils._github import (
    GitHubClient,
    GitHubError,
    commit_summary,
    parse_link_header,
    pr_summary,
)

API = "https://api.github.com"
TOKEN = "ghp_" + "s3cr3t" * 6


class Response:
    def __init__(self, body, headers=None):
        self._body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.headers = email.message.Message()
        for key, value in (headers or {}).items():
            self.headers[key] = value

    def read(self):
        return self._body


class Opener:
    """Answers from a list of (status, body, headers); records every call."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, url, **kwargs):
        self.calls.append({"url": url, **kwargs})
        status, body, headers = self.answers.pop(0)
        if isinstance(status, Exception):
            raise status
        if status >= 400:
            hdrs = email.message.Message()
            for key, value in (headers or {}).items():
                hdrs[key] = value
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            raise HTTPError(url, status, "error", hdrs, io.BytesIO(raw))
        return Response(body, headers)


def client(*answers, **kwargs):
    opener = Opener(*answers)
    return GitHubClient(api_url=kwargs.pop("api_url", API), repo="HHS/Head-Start-TTADP", token=TOKEN, opener=opener, **kwargs), opener


def fail(gh, path="/user"):
    with pytest.raises(GitHubError) as info:
        gh.get(path, action="read it")
    assert TOKEN not in info.value.message
    return info.value


def test_a_request_carries_the_token_only_in_the_authorization_header():
    gh, opener = client((200, {"login": "paula"}, {}))
    assert gh.whoami()["login"] == "paula"
    call = opener.calls[0]
    assert call["url"] == f"{API}/user" and call["method"] == "GET"
    assert call["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert call["headers"]["Accept"] == "application/vnd.github+json"
    assert call["headers"]["X-GitHub-Api-Version"] == "2022-11-28"
    assert call["use_netrc"] is False and call["unredirected_headers"] == ["Authorization"]
    assert TOKEN not in call["url"]


def test_a_body_is_json_and_params_are_encoded():
    gh, opener = client((201, {"number": 7}, {}))
    data, _headers = gh.request("POST", gh.repo_path("/pulls"), action="open", body={"title": "Release"}, params={"x": "a b"})
    assert data == {"number": 7}
    assert opener.calls[0]["url"] == f"{API}/repos/HHS/Head-Start-TTADP/pulls?x=a+b"
    assert json.loads(opener.calls[0]["data"]) == {"title": "Release"}
    assert opener.calls[0]["headers"]["Content-Type"] == "application/json"


def test_pagination_follows_the_link_header_to_the_end():
    page2, page3 = f"{API}/repos/HHS/Head-Start-TTADP/pulls/1/reviews?page=2", f"{API}/repos/HHS/Head-Start-TTADP/pulls/1/reviews?page=3"
    gh, opener = client(
        (200, [{"id": 1}, {"id": 2}], {"Link": f'<{page2}>; rel="next", <{page3}>; rel="last"'}),
        (200, [{"id": 3}], {"Link": f'<{page3}>; rel="next", <{page3}>; rel="last"'}),
        (200, [{"id": 4}], {"Link": f'<{page2}>; rel="prev"'}),
    )
    items = gh.paginate(gh.repo_path("/pulls/1/reviews"), action="read the reviews")
    assert [i["id"] for i in items] == [1, 2, 3, 4]
    assert opener.calls[0]["url"].endswith("/pulls/1/reviews?per_page=100")
    assert [c["url"] for c in opener.calls[1:]] == [page2, page3]


def test_pagination_inside_an_object_answer():
    nxt = f"{API}/repos/HHS/Head-Start-TTADP/commits/abc/check-runs?page=2"
    gh, _opener = client(
        (200, {"total_count": 2, "check_runs": [{"name": "a"}]}, {"Link": f'<{nxt}>; rel="next"'}),
        (200, {"total_count": 2, "check_runs": [{"name": "b"}]}, {}),
    )
    assert [r["name"] for r in gh.paginate("/x", action="read", key="check_runs")] == ["a", "b"]


def test_a_pagination_link_to_another_host_never_gets_the_token():
    gh, opener = client((200, [{"id": 1}], {"Link": '<https://evil.example/steal?page=2>; rel="next"'}))
    with pytest.raises(GitHubError) as info:
        gh.paginate("/repos/HHS/Head-Start-TTADP/pulls", action="list the pull requests")
    assert "GitHub pointed to https://evil.example, not https://api.github.com" in info.value.message
    assert len(opener.calls) == 1


def test_parse_link_header():
    links = parse_link_header('<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"')
    assert links == {"next": "https://a/x?page=2", "last": "https://a/x?page=9"}
    assert parse_link_header(None) == {} and parse_link_header("") == {}


def test_no_token_bad_url_bad_repo_are_refused_before_any_request():
    with pytest.raises(GitHubError) as info:
        GitHubClient(api_url=API, repo="HHS/Head-Start-TTADP", token="")
    assert info.value.message.startswith("Failed to authenticate to GitHub: GITHUB_TOKEN is not set. Export a GitHub token")
    with pytest.raises(GitHubError, match="is not an http"):
        GitHubClient(api_url="ftp://x", repo="HHS/Head-Start-TTADP", token=TOKEN)
    with pytest.raises(GitHubError, match="is not owner/name"):
        GitHubClient(api_url=API, repo="Head-Start-TTADP", token=TOKEN)


def test_401_says_to_export_a_valid_token():
    err = fail(client((401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {}))[0])
    assert err.kind == "unauthorized" and err.status == 401
    assert err.message.startswith("Failed to read it: GitHub rejected the token (401 Bad credentials). Export a GitHub token in GITHUB_TOKEN")


def test_403_names_the_missing_permission():
    gh, _opener = client((403, {"message": "Resource not accessible by personal access token"}, {"x-ratelimit-remaining": "4000"}))
    with pytest.raises(GitHubError) as info:
        gh.request("PUT", "/repos/HHS/Head-Start-TTADP/pulls/1/merge", action="merge", need="contents: write")
    assert info.value.kind == "forbidden"
    assert "GitHub refused the request (403 Resource not accessible by personal access token)" in info.value.message
    assert "the token needs contents: write on HHS/Head-Start-TTADP" in info.value.message


def test_rate_limit_exhausted_says_when_it_resets():
    reset = int(time.time()) + 600
    err = fail(client((403, {"message": "API rate limit exceeded for user ID 1."},
                       {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset), "x-ratelimit-limit": "5000"}))[0])
    assert err.kind == "rate_limited"
    assert "GitHub's API rate limit is used up (403: 0 of 5000 requests left until " in err.message
    assert time.strftime("%H:%M:%S UTC", time.gmtime(reset)) in err.message
    assert err.message.endswith("Wait until the limit resets and run again; a token of your own account has a higher limit than a shared one.")


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_says_how_long_to_wait(status):
    err = fail(client((status, {"message": "You have exceeded a secondary rate limit."}, {"retry-after": "60"}))[0])
    assert err.kind == "rate_limited" and "GitHub asks to wait 60 s. Wait 60 s and run again" in err.message


def test_404_says_to_check_the_repository_and_the_token():
    err = fail(client((404, {"message": "Not Found"}, {}))[0], "/repos/HHS/Head-Start-TTADP/pulls/99?x=1")
    assert err.kind == "not_found"
    assert "GitHub found nothing at /repos/HHS/Head-Start-TTADP/pulls/99 (404 Not Found)" in err.message
    assert "GitHub also answers 404 when the token cannot see the repository" in err.message


def test_409_and_422_carry_githubs_message_and_the_callers_hint():
    gh, _opener = client((409, {"message": "Head branch was modified. Review and try the merge again."}, {}))
    with pytest.raises(GitHubError) as info:
        gh.request("PUT", "/x", action="merge pull request #1", hints={409: "Nothing was merged; run release_deploy again"})
    assert info.value.kind == "conflict"
    assert info.value.message == ("Failed to merge pull request #1: GitHub refused it (409 Head branch was modified. Review "
                                  "and try the merge again.). Nothing was merged; run release_deploy again.")
    exists = {"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for HHS:main."}
    gh, _opener = client((422, {"message": "Validation Failed", "errors": [exists]}, {}))
    with pytest.raises(GitHubError) as info:
        gh.request("POST", "/x", action="open")
    assert "422 Validation Failed: A pull request already exists for HHS:main." in info.value.message
    gh, _opener = client((422, {"message": "Unprocessable Entity", "errors": ["Can not approve your own pull request"]}, {}))
    with pytest.raises(GitHubError, match="Unprocessable Entity: Can not approve your own pull request"):
        gh.request("POST", "/x", action="review")


def test_server_errors_unreachable_hosts_and_non_json_answers():
    assert "GitHub may be having an outage" in fail(client((502, b"<html>Bad gateway</html>", {}))[0]).message
    err = fail(client((URLError("[Errno 111] Connection refused"), None, None))[0])
    assert err.kind == "unreachable" and "could not reach https://api.github.com ([Errno 111] Connection refused)" in err.message
    err = fail(client((200, b"<html>proxy login</html>", {}))[0])
    assert err.kind == "unexpected" and "not JSON" in err.message


def test_summaries_of_a_pull_request_and_a_commit():
    pr = {"number": 5, "state": "closed", "merged": True, "merge_commit_sha": "m" * 40, "user": {"login": "paula"},
          "merged_by": {"login": "paula"}, "head": {"ref": "main", "sha": "h" * 40}, "base": {"ref": "production"},
          "requested_reviewers": [{"login": "gideon"}], "title": "Release"}
    summary = pr_summary(pr)
    assert summary["merge_commit_sha"] == "m" * 40 and summary["author"] == "paula" and summary["requested_reviewers"] == ["gideon"]
    assert pr_summary({**pr, "merged": False, "merged_at": None})["merge_commit_sha"] == ""
    commit = commit_summary({"sha": "a" * 40, "commit": {"message": "Fix it\n\nlong text", "author": {"name": "V", "date": "d"}},
                             "author": {"login": "vera"}})
    assert commit == {"sha": "a" * 40, "short_sha": "aaaaaaa", "headline": "Fix it", "author_login": "vera", "author_name": "V",
                      "date": "d", "html_url": ""}
