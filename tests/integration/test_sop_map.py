# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/sops: every step of the seed has a task that performs it, and every task named there exists.

The seed is committed as docs/sops/seed.txt and its steps are listed in docs/sops/steps.yml (docs/sops/README.md).
`check_sop_map(root)` returns every problem it finds; the tests run it on the repository, and on copies where a step's
row was removed from a page or a task was renamed in its playbook, to show that it catches both.
"""

from __future__ import annotations

import hashlib
import pathlib
import re
import shutil
import typing as t

import pytest
import yaml

from tests.support.playbooks import REPO

SOPS = pathlib.Path("docs/sops")
HEADER = ["seed step", "playbook", "task name"]
TASK_LISTS = ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always")
SHARED_SEED = REPO.parent / "shared" / "seed" / "000_3f28d25508f40cd6.txt"


def normalize(text: str) -> str:
    return " ".join(text.split())


def task_names(data: t.Any) -> set[str]:
    """Names of every task in a playbook (plays and their task lists) or a task file, through blocks."""
    names: set[str] = set()
    if isinstance(data, list):
        for item in data:
            names |= task_names(item)
    elif isinstance(data, dict):
        if isinstance(data.get("name"), str) and "hosts" not in data:
            names.add(data["name"])
        for key in TASK_LISTS:
            names |= task_names(data.get(key))
    return names


def parse_rows(page: pathlib.Path) -> list[tuple[str, str, str]]:
    """The rows (step id, file, task name) of the page's table headed `seed step | playbook | task name`."""
    rows, in_table = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]] if line.strip().startswith("|") else None
        if cells is None:
            in_table = False
            continue
        if cells == HEADER:
            in_table = True
            continue
        if not in_table or set("".join(cells)) <= set("-: "):
            continue
        step = re.match(r"^`([a-z0-9-]+)`", cells[0])
        path = re.match(r"^`([^`]+)`$", cells[1])
        rows.append((step.group(1) if step else cells[0], path.group(1) if path else cells[1], cells[2]))
    return rows


def check_sop_map(root: pathlib.Path) -> list[str]:
    problems: list[str] = []
    spec = yaml.safe_load((root / SOPS / "steps.yml").read_text(encoding="utf-8"))
    seed_bytes = (root / spec["seed"]["copy"]).read_bytes()
    if hashlib.sha256(seed_bytes).hexdigest() != spec["seed"]["sha256"]:
        problems.append(f"{spec['seed']['copy']} is not the seed whose sha256 steps.yml records")
    seed = normalize(seed_bytes.decode("utf-8"))
    pending = spec.get("pending") or {}
    playbooks = {p.stem for p in (root / "playbooks").glob("*.yml")}
    pages = {p.stem: p for p in (root / SOPS).glob("*.md") if p.name != "README.md"}

    # The seed: every excerpt is in it, and the steps and the context cover all of it.
    steps: dict[str, dict[str, t.Any]] = {}
    excerpts = []
    for step in spec["steps"]:
        if step["id"] in steps:
            problems.append(f"step {step['id']} is listed twice")
        steps[step["id"]] = step
        if bool(step.get("procedures")) == bool(step.get("no_task")):
            problems.append(f"step {step['id']} must name its procedures or say why no task performs it (no_task)")
        excerpts.append(("step " + step["id"], normalize(step["text"])))
    excerpts += [("context", normalize(c["text"])) for c in spec.get("context") or []]
    rest = seed
    for where, text in excerpts:
        if text not in seed:
            problems.append(f"{where}: {text!r} is not in the seed")
    for _, text in sorted(excerpts, key=lambda e: -len(e[1])):
        rest = rest.replace(text, " ")
    # What may remain: the bullets, table rules and full stops between the excerpts.
    leftover = " ".join(word for word in rest.split() if not set(word) <= set("-|.:"))
    if leftover:
        problems.append(f"the seed says {leftover!r}, which no step and no context entry of steps.yml covers")

    # Every page's rows name a step of that procedure and a task that exists.
    mapped: dict[str, set[str]] = {}
    for procedure, page in sorted(pages.items()):
        where = f"{SOPS}/{page.name}"
        if procedure not in playbooks:
            problems.append(f"{where} has no playbook playbooks/{procedure}.yml")
        if procedure in pending:
            problems.append(f"{procedure} has a page but steps.yml still lists it as pending: remove it from pending")
        rows = parse_rows(page)
        if not any(True for line in page.read_text(encoding="utf-8").splitlines()
                   if [c.strip() for c in line.strip().strip("|").split("|")] == HEADER):
            problems.append(f"{where} has no table headed | seed step | playbook | task name |")
        for step_id, path, name in rows:
            if step_id not in steps:
                problems.append(f"{where}: unknown seed step {step_id!r}")
                continue
            if procedure not in (steps[step_id].get("procedures") or []):
                problems.append(f"{where}: step {step_id} does not name {procedure} in steps.yml")
            file = root / path
            if not (path == f"playbooks/{procedure}.yml" or re.match(r"^roles/[a-z0-9_]+/tasks/[a-z0-9_]+\.yml$", path)):
                problems.append(f"{where}: {path} is neither playbooks/{procedure}.yml nor a role's task file")
            elif not file.is_file():
                problems.append(f"{where}: {path} does not exist")
            elif name not in task_names(yaml.safe_load(file.read_text(encoding="utf-8"))):
                problems.append(f"{where}: task {name!r} not found in {path}")
            else:
                mapped.setdefault(procedure, set()).add(step_id)

    # Every step of every procedure that has its page is mapped there; the others are pending.
    for step_id, step in steps.items():
        for procedure in step.get("procedures") or []:
            if procedure in pending:
                continue
            if procedure not in pages:
                problems.append(f"step {step_id}: {procedure} has no page {SOPS}/{procedure}.md (and is not pending)")
            elif step_id not in mapped.get(procedure, set()):
                problems.append(f"step {step_id}: {SOPS}/{procedure}.md maps it to no task of {procedure}")
    for procedure in sorted(playbooks - set(pages) - set(pending)):
        problems.append(f"playbooks/{procedure}.yml has no page {SOPS}/{procedure}.md")
    return problems


@pytest.fixture
def copy(tmp_path):
    """A copy of what the check reads: docs/sops, playbooks, roles."""
    for part in ("docs/sops", "playbooks", "roles"):
        shutil.copytree(REPO / part, tmp_path / part)
    return tmp_path


def test_every_seed_step_has_a_task_and_every_mapped_task_exists():
    assert check_sop_map(REPO) == []


def test_the_committed_seed_is_the_seed():
    spec = yaml.safe_load((REPO / SOPS / "steps.yml").read_text(encoding="utf-8"))
    assert REPO.parent.joinpath(spec["seed"]["source"].removeprefix("../")) == SHARED_SEED
    if SHARED_SEED.exists():  # beside a CI checkout; a fresh clone may not have it
        assert (REPO / SOPS / "seed.txt").read_bytes() == SHARED_SEED.read_bytes()


def test_removing_a_step_from_a_page_fails(copy):
    page = copy / SOPS / "access_review.md"
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("| `access-control`")]
    assert len(kept) < len(lines)
    page.write_text("".join(kept), encoding="utf-8")
    assert check_sop_map(copy) == ["step access-control: docs/sops/access_review.md maps it to no task of access_review"]


def test_removing_the_window_from_the_copy_fails(copy):
    """The production data copy without its `cf allow-space-ssh` step: both its rows go, and the step is unmapped."""
    page = copy / SOPS / "prod_db_copy.md"
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("| `db-allow-ssh`")]
    assert len(lines) - len(kept) == 2
    page.write_text("".join(kept), encoding="utf-8")
    assert check_sop_map(copy) == ["step db-allow-ssh: docs/sops/prod_db_copy.md maps it to no task of prod_db_copy"]


def test_renaming_a_mapped_role_task_fails(copy):
    tasks = copy / "roles" / "space_ssh_window" / "tasks" / "close.yml"
    text = tasks.read_text(encoding="utf-8")
    tasks.write_text(text.replace("- name: Disable space ssh access (cf disallow-space-ssh)", "- name: Close the window"),
                     encoding="utf-8")
    assert check_sop_map(copy) == [
        "docs/sops/prod_db_copy.md: task 'Disable space ssh access (cf disallow-space-ssh) and check that it is disallowed' "
        "not found in roles/space_ssh_window/tasks/close.yml"]


def test_renaming_a_mapped_task_fails(copy):
    playbook = copy / "playbooks" / "access_review.yml"
    text = playbook.read_text(encoding="utf-8")
    playbook.write_text(text.replace("- name: List who holds which org and space roles", "- name: List the roles"),
                        encoding="utf-8")
    assert check_sop_map(copy) == [
        "docs/sops/access_review.md: task 'List who holds which org and space roles' not found in playbooks/access_review.yml"]


def test_a_seed_sentence_no_step_covers_fails(copy):
    steps = copy / SOPS / "steps.yml"
    spec = yaml.safe_load(steps.read_text(encoding="utf-8"))
    spec["steps"] = [s for s in spec["steps"] if s["id"] != "db-backup"]
    steps.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    assert check_sop_map(copy) == [
        "the seed says 'Follow cloud.gov db backup steps', which no step and no context entry of steps.yml covers",
        "docs/sops/prod_db_copy.md: unknown seed step 'db-backup'"]


def test_a_procedure_without_its_page_fails_unless_pending(copy):
    (copy / "playbooks" / "new_procedure.yml").write_text("---\n- name: New\n  hosts: localhost\n  tasks: []\n")
    assert check_sop_map(copy) == ["playbooks/new_procedure.yml has no page docs/sops/new_procedure.md"]
