# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release gate: the SOP's two-person rule on the pull request main -> production.

PRIVATE to the collection. It can have breaking changes at any time.

Pure (no I/O, stdlib and the approval logic only): the pull request, its reviews, check runs and commit statuses come
in as GitHub's REST API returns them, and :func:`evaluate_release` decides with the same
``_approval.evaluate(policy, roster, proofs)`` that typed and signed approvals go through:

* the author's opening of the pull request is the first approval (a proof with method ``github_pr``);
* the latest decisive review of each reviewer counts (``APPROVED``, ``CHANGES_REQUESTED`` or ``DISMISSED``; a later
  ``COMMENTED`` review does not undo an approval, as on GitHub); an approval counts only when it was made at the pull
  request's current head SHA (``commit_id``), by a roster member other than the author (method ``github_review``);
* reviews of people who are not in the roster are ignored (and reported);
* an outstanding ``CHANGES_REQUESTED`` of a roster member who can approve releases refuses the release: it is how a
  premature approval is retracted;
* the pull request must be open (``deploy``) or merged with the deployed commit as its merge commit (``merged``),
  from ``main`` of the repository itself into ``production``, mergeable, with every check green;
* whoever merges must be one of the two approvers (the release policy's ``operator_may_approve``).

Every refusal is a sentence that names exactly what is missing.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils._approval import (
    Member,
    Policy,
    Proof,
    Refused,
    Roster,
    audit_event,
    eligible_members,
    eligible_via,
    evaluate,
    proof_from_github_pr,
    proof_from_github_review,
    role_title,
)

__all__ = [
    "GREEN_CONCLUSIONS",
    "ReleaseDecision",
    "approver_roles",
    "counterparts",
    "evaluate_checks",
    "evaluate_release",
    "latest_reviews",
    "release_member",
]

GREEN_CONCLUSIONS = ("success", "neutral", "skipped")
DECISIVE_STATES = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")
MODES = ("deploy", "merged")


def short(sha: str | None) -> str:
    return (sha or "")[:7] or "(none)"


def _login(user: t.Any) -> str:
    return str(user.get("login") or "") if isinstance(user, dict) else ""


def _first_line(text: t.Any, limit: int = 120) -> str:
    line = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def approver_roles(policy: Policy) -> set[str]:
    """Roles whose holders can approve under the policy: the required ones and those that may stand in."""
    roles = set(policy.required_roles)
    for subs in policy.substitutions.values():
        roles.update(subs)
    return roles


def roles_of(policy: Policy, roster: Roster, member: Member) -> list[str]:
    """The required roles ``member`` can approve now (substitutions only while the role is vacant)."""
    out = []
    for role in policy.required_roles:
        try:
            eligible_via(policy, roster, member, role)
        except Refused:
            continue
        out.append(role)
    return out


def release_member(policy: Policy, roster: Roster, login: str, *, who: str = "the operator") -> Member:
    """The roster member behind a GitHub login who can approve a release now; raise Refused otherwise."""
    member = roster.by_github(login)
    if member is None:
        raise Refused(
            "unknown_github_login",
            f"{who}, GitHub user @{login}, is not in the roster; policy {policy.name} needs {policy.summary()}",
            approver=f"@{login}", method="github_pr",
        )
    if not roles_of(policy, roster, member):
        held = " and ".join(role_title(r) for r in member.roles)
        reasons = []
        for role in policy.required_roles:
            try:
                eligible_via(policy, roster, member, role)
            except Refused as exc:
                if exc.reason != "wrong_role":
                    reasons.append(exc.message)
        raise Refused(
            "no_release_role",
            f"{who}, {member.label} (@{login}), is the {held} and cannot approve under policy {policy.name}, which "
            f"needs {policy.summary()}" + (f" ({'; '.join(reasons)})" if reasons else ""),
            approver=member.id, method="github_pr",
        )
    return member


def counterparts(policy: Policy, roster: Roster, author: Member) -> list[dict[str, t.Any]]:
    """Whom the author of a release pull request must ask for the second approval: for each required role the author
    does not cover, the roster members (other than the author) who can approve it now."""
    mine = roles_of(policy, roster, author)
    needed: list[str] = []
    for role in mine:
        for other in policy.required_roles:
            if other != role and other not in needed:
                needed.append(other)
    if len(mine) > 1 and policy.min_people > 1:
        needed = [r for r in policy.required_roles if r in needed or r in mine]
    out = []
    for role in policy.required_roles:
        if role not in needed:
            continue
        members = []
        for member in roster.members:
            if member.id == author.id:
                continue
            try:
                via = eligible_via(policy, roster, member, role)
            except Refused:
                continue
            members.append({"id": member.id, "name": member.name, "github": member.github, "substitute_for": via})
        out.append({"role": role, "title": role_title(role), "members": members})
    return out


def latest_reviews(reviews: t.Iterable[t.Any]) -> dict[str, dict[str, t.Any]]:
    """The latest decisive review of each reviewer (keyed by lowercased login), in submission order.

    ``COMMENTED`` and ``PENDING`` reviews do not change a reviewer's decision; a dismissed review has the state
    ``DISMISSED`` and leaves the reviewer without a decision."""
    ordered = sorted(
        (r for r in reviews if isinstance(r, dict)),
        key=lambda r: (str(r.get("submitted_at") or ""), int(r.get("id") or 0)),
    )
    latest: dict[str, dict[str, t.Any]] = {}
    for review in ordered:
        state = str(review.get("state") or "").upper()
        login = _login(review.get("user"))
        if login and state in DECISIVE_STATES:
            latest[login.lower()] = review
    return latest


def evaluate_checks(check_runs: t.Iterable[t.Any], statuses: t.Iterable[t.Any], required: t.Iterable[str],
                    sha: str) -> tuple[list[dict[str, t.Any]], list[dict[str, str]]]:
    """(summary of every check on ``sha``, refusals): each check run and commit status must be green, each required
    check must have reported, and at least one check must have reported."""
    runs: dict[str, dict[str, t.Any]] = {}
    for run in check_runs:
        if isinstance(run, dict) and run.get("name"):
            name = str(run["name"])
            if name not in runs or int(run.get("id") or 0) > int(runs[name].get("id") or 0):
                runs[name] = run
    contexts: dict[str, dict[str, t.Any]] = {}
    for status in statuses:
        if isinstance(status, dict) and status.get("context"):
            name = str(status["context"])
            key = (str(status.get("updated_at") or status.get("created_at") or ""), int(status.get("id") or 0))
            old = contexts.get(name)
            if old is None or key > (str(old.get("updated_at") or old.get("created_at") or ""), int(old.get("id") or 0)):
                contexts[name] = status
    summary: list[dict[str, t.Any]] = []
    refusals: list[dict[str, str]] = []
    at = short(sha)
    for name, run in sorted(runs.items()):
        status, conclusion = str(run.get("status") or ""), str(run.get("conclusion") or "")
        if status != "completed":
            state = "pending"
            refusals.append({"reason": "check_pending",
                             "message": f"check {name} on {at} has not finished ({status or 'no status'}): wait for CI"})
        elif conclusion in GREEN_CONCLUSIONS:
            state = "green"
        else:
            state = "failing"
            refusals.append({"reason": "check_failed", "message": f"check {name} on {at} ended {conclusion or 'without a conclusion'}"})
        summary.append({"name": name, "kind": "check_run", "state": state, "conclusion": conclusion or status})
    for name, status in sorted(contexts.items()):
        value = str(status.get("state") or "")
        if value == "success":
            state = "green"
        elif value == "pending":
            state = "pending"
            refusals.append({"reason": "check_pending", "message": f"status {name} on {at} is pending: wait for CI"})
        else:
            state = "failing"
            refusals.append({"reason": "check_failed", "message": f"status {name} on {at} is {value or 'unknown'}"})
        summary.append({"name": name, "kind": "status", "state": state, "conclusion": value})
    reported = set(runs) | set(contexts)
    for name in required:
        if name not in reported:
            refusals.append({"reason": "check_missing", "message": f"required check {name} has not reported on {at}"})
    if not reported and not list(required):
        refusals.append({"reason": "no_checks", "message": f"no CI check has reported on {at}: wait for CI (or name "
                                                           "the required checks in ops_release_required_checks)"})
    return summary, refusals


@dataclasses.dataclass
class ReleaseDecision:
    number: int
    head_sha: str
    author: str
    merge_commit_sha: str
    refusals: list[dict[str, str]]
    approvals: list[dict[str, str]]
    notes: list[str]
    checks: list[dict[str, t.Any]]

    @property
    def granted(self) -> bool:
        return not self.refusals

    def message(self) -> str:
        if self.granted:
            people = " and ".join(f"{a['name']} ({a['role_title']}, {a['method']})" for a in self.approvals)
            return f"PR #{self.number} passes the release gate at head {short(self.head_sha)}: {people}"
        return "; ".join(r["message"] for r in self.refusals)

    def events(self, policy: Policy, mode: str) -> list[dict[str, t.Any]]:
        out = [
            audit_event("approval_granted", approver=a["id"], role=a["role"], method=a["method"],
                        substitute_for=a["substitute_for"], github=a["github"], pull_request=self.number,
                        commit=self.head_sha, policy=policy.name)
            for a in self.approvals
        ] if self.granted else []
        if self.granted:
            out.append(audit_event("release_gate_passed", pull_request=self.number, head_sha=self.head_sha,
                                   merge_commit_sha=self.merge_commit_sha, mode=mode, policy=policy.name,
                                   approvers=[a["id"] for a in self.approvals],
                                   roles=[a["role"] for a in self.approvals]))
        else:
            out.append(audit_event("release_gate_failed", pull_request=self.number, head_sha=self.head_sha, mode=mode,
                                   policy=policy.name, reason=[r["reason"] for r in self.refusals],
                                   detail=self.message()))
        return out


def evaluate_release(
    *,
    policy: Policy,
    roster: Roster,
    pr: t.Mapping[str, t.Any],
    reviews: t.Iterable[t.Any],
    check_runs: t.Iterable[t.Any] = (),
    statuses: t.Iterable[t.Any] = (),
    required_checks: t.Iterable[str] = (),
    repo: str,
    base: str = "production",
    head: str = "main",
    mode: str = "deploy",
    commit: str = "",
    merger_login: str = "",
) -> ReleaseDecision:
    """Decide whether the pull request carries the two approvals the release policy needs (see the module docstring).

    ``mode``: ``deploy`` for an open pull request about to be merged, ``merged`` for a merged one whose merge commit
    must be ``commit``. ``merger_login``: who merges (deploy) or merged (merged); must be one of the approvers."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    refusals: list[dict[str, str]] = []
    notes: list[str] = []

    def refuse(reason: str, message: str) -> None:
        refusals.append({"reason": reason, "message": message})

    number = int(pr.get("number") or 0)
    pr_head = pr.get("head") if isinstance(pr.get("head"), dict) else {}
    pr_base = pr.get("base") if isinstance(pr.get("base"), dict) else {}
    head_sha = str(pr_head.get("sha") or "")
    at = short(head_sha)
    merged = bool(pr.get("merged") or pr.get("merged_at"))

    # The pull request itself.
    if mode == "deploy":
        if pr.get("state") != "open":
            refuse("pr_not_open", f"PR #{number} is {'merged' if merged else pr.get('state') or 'not open'}, not open")
        if pr.get("draft"):
            refuse("pr_draft", f"PR #{number} is a draft: mark it ready for review")
        if pr.get("mergeable") is False:
            refuse("not_mergeable", f"GitHub cannot merge PR #{number} (mergeable_state {pr.get('mergeable_state') or 'unknown'}): "
                                    f"resolve the conflicts between {head} and {base}")
        elif pr.get("mergeable") is None and pr.get("state") == "open":
            refuse("mergeability_unknown", f"GitHub has not yet computed whether PR #{number} can be merged: run again in a minute")
    else:
        if not merged:
            refuse("pr_not_merged", f"PR #{number} is not merged")
        elif commit and str(pr.get("merge_commit_sha") or "") != commit:
            refuse("not_the_merge_commit", f"commit {short(commit)} is not the merge commit of PR #{number} "
                                           f"({short(pr.get('merge_commit_sha'))})")
    base_ref = str(pr_base.get("ref") or "")
    if base_ref != base:
        refuse("wrong_base", f"PR #{number} merges into {base_ref or '(unknown)'}; a release merges into {base}")
    head_repo = pr_head.get("repo") if isinstance(pr_head.get("repo"), dict) else {}
    head_full = str(head_repo.get("full_name") or "")
    if str(pr_head.get("ref") or "") != head or head_full.lower() != repo.lower():
        refuse("wrong_head", f"PR #{number} merges {pr_head.get('label') or pr_head.get('ref') or '(unknown)'}; a release merges "
                             f"{repo.split('/')[0]}:{head} ({repo}'s own {head} branch)")

    # First approval: the author.
    author_login = _login(pr.get("user"))
    author = roster.by_github(author_login) if author_login else None
    proofs: list[Proof] = []
    if author is None:
        refuse("author_not_in_roster", f"the author of PR #{number}, @{author_login or '?'}, is not in the roster: the "
                                       f"opening of the release PR is the first approval and must come from "
                                       f"{_who_can(policy)}")
    else:
        proofs.append(proof_from_github_pr(roster, author_login, str(pr.get("created_at") or "")))

    # Second approval: the reviews.
    why_not: dict[str, str] = {}
    logins: dict[str, str] = {author.id: author_login} if author else {}
    may_approve = approver_roles(policy)
    for review in latest_reviews(reviews).values():
        login = _login(review.get("user"))
        state = str(review.get("state")).upper()
        member = roster.by_github(login)
        if member is None:
            notes.append(f"the {state} review of @{login} is ignored: @{login} is not in the roster")
            continue
        logins.setdefault(member.id, login)
        if state == "CHANGES_REQUESTED":
            if may_approve & set(member.roles):
                said = _first_line(review.get("body"))
                refuse("changes_requested", f"{member.label} (@{login}) requested changes at {review.get('submitted_at') or '?'}"
                                            + (f" ({said})" if said else "")
                                            + f": they must approve head {at} before the release goes on")
            else:
                notes.append(f"the CHANGES_REQUESTED review of {member.label} is noted: they cannot approve releases")
            continue
        if state == "DISMISSED":
            why_not[member.id] = f"the review of {member.label} (@{login}) was dismissed"
            continue
        if str(review.get("commit_id") or "") != head_sha:
            why_not[member.id] = (f"{member.label} (@{login}) approved {short(review.get('commit_id'))}, an older head: the "
                                  f"approval must be made at the current head {at}")
            continue
        if author is not None and member.id == author.id:
            refuse("author_approved", f"{member.label} opened PR #{number} and also approved it; the two approvals must "
                                      "come from two different people")
            continue
        proofs.append(proof_from_github_review(roster, login, str(review.get("submitted_at") or "")))

    operator = roster.by_github(merger_login) if merger_login else None
    decision = evaluate(policy, roster, proofs, operator=operator.id if operator else "")
    # Why a stand-in did not count is part of the missing role's sentence, not a refusal of its own.
    explained = [r for r in decision.refusals
                 if r.reason in ("substitution_not_allowed", "role_not_vacant") and r.role in decision.missing]
    for refused in decision.refusals:
        if refused not in explained:
            refuse(refused.reason, refused.message)
    for role in decision.missing:
        names = [f"{m.name} (@{m.github})" for m, _via in eligible_members(policy, roster, role)
                 if not (author and m.id == author.id)]
        reasons = [why_not[m.id] for m, _via in eligible_members(policy, roster, role) if m.id in why_not]
        reasons += [r.message for r in explained if r.role == role]
        for proof in decision.unused:
            member = roster.get(proof.approver)
            if member is None:
                continue
            try:
                eligible_via(policy, roster, member, role)
            except Refused as exc:
                reasons.append(exc.message)
        refuse("approval_missing", f"no approval of head {at} by the {role_title(role)}"
                                   + (f", {' or '.join(names)}" if names else "")
                                   + (f"; {'; '.join(reasons)}" if reasons else ""))
    for member_id, reason in why_not.items():
        if not any(member_id in r["message"] for r in refusals):
            notes.append(reason)

    # Checks on the head.
    summary, check_refusals = evaluate_checks(check_runs, statuses, required_checks, head_sha)
    refusals.extend(check_refusals)

    approvals = [
        {"id": a.id, "name": a.name, "role": a.role, "role_title": role_title(a.role), "method": a.method,
         "time": a.time, "substitute_for": a.substitute_for, "github": logins.get(a.id, "")}
        for a in decision.approvals
    ]

    # Whoever merges is one of the two approvers.
    merger = merger_login or (_login(pr.get("merged_by")) if mode == "merged" else "")
    if merger and not refusals:
        member = roster.by_github(merger)
        if member is None or member.id not in {a["id"] for a in approvals}:
            verb = "merges" if mode == "deploy" else "merged"
            refuse("merger_not_approver", f"@{merger}, who {verb} PR #{number}, is neither its author nor its approving "
                                          "reviewer; only one of the two approvers may merge a release")

    return ReleaseDecision(
        number=number, head_sha=head_sha, author=author_login, merge_commit_sha=str(pr.get("merge_commit_sha") or ""),
        refusals=refusals, approvals=approvals, notes=notes, checks=summary,
    )


def _who_can(policy: Policy) -> str:
    titles = [role_title(r) for r in policy.required_roles]
    for role, subs in policy.substitutions.items():
        titles.extend(f"the {role_title(s)} while the {role_title(role)} role is vacant" for s in subs)
    return ", ".join(f"the {t_}" if not t_.startswith("the ") else t_ for t_ in titles)
