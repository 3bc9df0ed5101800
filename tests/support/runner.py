# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a procedure non-interactively under ansible-runner, the way CI does (docs/ansible-runner.md).

``run_procedure(rehearsal, "playbooks/<name>.yml", extravars={...})`` writes a private data directory with the
documented layout (``env/envvars``, ``env/extravars``, ``env/settings``), runs the ``ansible-runner run`` command line
in a subprocess (as a CI job does, with the cf login of the operator or of CI's service account, never in a file of the
private data directory), and returns what runner left in ``artifacts/<ident>/``: status, rc, stdout, the job events.

``request_and_sign(rehearsal, sop, personas, **sop_vars)`` writes the intent of a gated procedure with
``approval_request.yml`` (under runner too) and signs it as rehearsal personas, so that the procedure then runs with
``extravars={"ops_approvals_dir": str(folder), **sop_vars}``.

``start_ssh_proxy``, ``start_github`` and ``start_database`` start the rehearsal's services a procedure needs in the
rehearsal's home (the SSH proxy, the GitHub API, PostgreSQL behind the aws-rds services) and register their stop on an
``ExitStack``, so that whatever a test does, nothing it started outlives it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import subprocess
import sys
import time
import typing as t

from rehearsal import github_api, ssh_proxy
from tests.support.playbooks import API, REPO, VENV_BIN, Rehearsal
from tests.support.prod_db_copy import CopyRehearsal, wipe_copies
from tests.support.rehearsal_github import GitHub

# What the environment of a CI job must not hand to runner: the variables that make a run look interactive or that
# come from the developer's own shell.
DROPPED = ("ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CALLBACK_PLUGINS", "TTAHUB_OPS_OPERATOR")
# Non-secret settings that go into env/envvars (a file in the private data directory).
FILE_VARS = ("ANSIBLE_CONFIG", "TTAHUB_OPS_AUDIT_LOG", "REHEARSAL_HOME", "ANSIBLE_NOCOLOR")
SETTINGS = {"job_timeout": 300, "idle_timeout": 120, "pexpect_timeout": 5, "suppress_ansible_output": True}


@dataclasses.dataclass
class RunnerRun:
    """What one ``ansible-runner run`` left: ``status`` (successful, failed, timeout, canceled), ``rc``, ``stdout``,
    the job events, the artifacts folder and how long the whole command took."""

    status: str
    rc: int
    stdout: str
    events: list[dict[str, t.Any]]
    artifacts: pathlib.Path
    private_data_dir: pathlib.Path
    elapsed: float
    command: subprocess.CompletedProcess[str]

    def failed_tasks(self) -> list[dict[str, t.Any]]:
        return [e["event_data"] for e in self.events if e.get("event") == "runner_on_failed"]

    def task_names(self) -> list[str]:
        return [e["event_data"].get("task", "") for e in self.events if e.get("event") == "runner_on_ok"]

    def scrub(self) -> None:
        """What a CI job does after every run: remove ``artifacts/<ident>/command``, where runner 2.4 writes its whole
        environment (credentials included) in clear text."""
        (self.artifacts / "command").unlink(missing_ok=True)

    def everything(self) -> str:
        """Every byte runner wrote (artifacts and env files), for checks that a secret appears nowhere."""
        parts = [self.command.stdout, self.command.stderr]
        for path in sorted(self.private_data_dir.rglob("*")):
            if path.is_file():
                parts.append(path.read_bytes().decode("utf-8", "replace"))
        return "\n".join(parts)


def write_private_data_dir(
    base: pathlib.Path,
    *,
    envvars: t.Mapping[str, str],
    extravars: t.Mapping[str, t.Any],
    settings: t.Mapping[str, t.Any] | None = None,
) -> pathlib.Path:
    """The layout of docs/ansible-runner.md. Secrets never go here: runner reads them from its own environment."""
    env = base / "env"
    env.mkdir(parents=True, exist_ok=True)
    (env / "envvars").write_text(json.dumps(dict(envvars), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (env / "extravars").write_text(json.dumps(dict(extravars), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (env / "settings").write_text(json.dumps({**SETTINGS, **(settings or {})}, indent=2, sort_keys=True) + "\n",
                                  encoding="utf-8")
    return base


def ci_session(rehearsal: Rehearsal) -> pathlib.Path:
    """CI's recommended login (docs/ansible-runner.md): ``cf api`` and ``cf auth`` with the service account's
    credentials in a private CF_HOME *before* runner starts, so that runner's environment holds no password."""
    home = rehearsal.tmp / "ci-cf-home"
    if (home / ".cf" / "config.json").exists():
        return home
    home.mkdir(mode=0o700, exist_ok=True)
    env = {**rehearsal.env, **rehearsal.credentials, "CF_HOME": str(home)}
    for argv in (["api", API], ["auth"]):
        proc = subprocess.run([str(REPO / "rehearsal" / "bin" / "cf"), *argv], env=env, capture_output=True, text=True,
                              timeout=30, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"cf {argv[0]} failed: {proc.stdout}{proc.stderr}")
    return home


def run_procedure(
    rehearsal: Rehearsal,
    playbook: str,
    *,
    extravars: t.Mapping[str, t.Any] | None = None,
    login: str = "operator",
    inventory: str = "inventories/rehearsal",
    ident: str = "run",
    settings: t.Mapping[str, t.Any] | None = None,
    env: t.Mapping[str, str] | None = None,
    timeout: float = 240,
) -> RunnerRun:
    """Run ``playbook`` (a path under the repository) under ``ansible-runner run`` against the rehearsal.

    ``login`` says whose cf login the run uses: ``operator`` (the cf SSO login in ``rehearsal.operator_home``; log in
    first), ``ci`` (the service account, authenticated beforehand by :func:`ci_session`: no password in runner's
    environment) or ``ci-env`` (CF_USERNAME/CF_PASSWORD in runner's environment; runner then writes them into
    ``artifacts/<ident>/command``, see :meth:`RunnerRun.scrub`). ``env`` adds to runner's process environment, as
    a CI job's own variables do (GITHUB_TOKEN, BUILD_*): never to a file of the private data directory.
    """
    pdd = rehearsal.tmp / "runner" / ident
    envvars = {k: rehearsal.env[k] for k in FILE_VARS if k in rehearsal.env}
    envvars.setdefault("ANSIBLE_NOCOLOR", "1")
    write_private_data_dir(pdd, envvars=envvars, extravars=extravars or {}, settings=settings)
    process_env = {k: v for k, v in rehearsal.env.items() if k not in DROPPED}
    if login == "ci":
        process_env["CF_HOME"] = str(ci_session(rehearsal))
    elif login == "ci-env":
        process_env.update(rehearsal.credentials)
    elif login != "operator":
        raise ValueError(f"unknown login {login!r}")
    process_env.update(env or {})
    argv = [
        str(VENV_BIN / "ansible-runner"), "run", str(pdd),
        "--project-dir", str(REPO), "-p", playbook, "--inventory", str(REPO / inventory), "--ident", ident,
    ]
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=process_env, capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - start
    artifacts = pdd / "artifacts" / ident
    if not (artifacts / "status").exists():
        raise AssertionError(f"ansible-runner left no status (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    events = []
    for path in sorted((artifacts / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-", 1)[0])):
        events.append(json.loads(path.read_text(encoding="utf-8")))
    return RunnerRun(
        status=(artifacts / "status").read_text(encoding="utf-8").strip(),
        rc=int((artifacts / "rc").read_text(encoding="utf-8").strip()),
        stdout=(artifacts / "stdout").read_text(encoding="utf-8") if (artifacts / "stdout").exists() else "",
        events=events,
        artifacts=artifacts,
        private_data_dir=pdd,
        elapsed=elapsed,
        command=proc,
    )


def ensure_personas(rehearsal: Rehearsal) -> None:
    if not (rehearsal.home / "personas" / "vera.pub").exists():
        subprocess.run([sys.executable, "-m", "rehearsal.personas", "--home", str(rehearsal.home)], cwd=REPO,
                       env=rehearsal.env, capture_output=True, text=True, check=True)


def request_and_sign(rehearsal: Rehearsal, sop: str, personas: t.Sequence[str], folder: pathlib.Path | None = None,
                     **sop_vars: t.Any) -> tuple[pathlib.Path, RunnerRun]:
    """Signed approvals for one run of ``sop`` with ``sop_vars``: approval_request.yml under ansible-runner, then each
    persona signs ``intent.json`` with their own key. Returns the folder (pass it as ``ops_approvals_dir``) and the run."""
    ensure_personas(rehearsal)
    folder = folder or rehearsal.tmp / f"approvals-{sop}"
    run = run_procedure(rehearsal, "playbooks/approval_request.yml", ident=f"request-{sop}",
                        extravars={"sop": sop, "approval_dir": str(folder), **sop_vars})
    if run.status != "successful":
        raise AssertionError(f"approval_request {run.status}:\n{run.stdout[-3000:]}")
    subprocess.run(
        [sys.executable, "-m", "rehearsal.personas", "--home", str(rehearsal.home), "--sign", str(folder),
         *[a for p in personas for a in ("--persona", p)]],
        cwd=REPO, env=rehearsal.env, capture_output=True, text=True, check=True,
    )
    return folder, run


def start_ssh_proxy(rehearsal: Rehearsal, stack: contextlib.ExitStack) -> dict[str, t.Any]:
    """The rehearsal's cloud.gov SSH proxy for this rehearsal's world (scp_retrieve, ssh_access, the copy's tunnel)."""
    info = ssh_proxy.start(rehearsal.home)
    stack.callback(ssh_proxy.stop, rehearsal.home)
    return info


def start_github(rehearsal: Rehearsal, stack: contextlib.ExitStack) -> GitHub:
    """The rehearsal's GitHub API on this rehearsal's home (the inventory reads its URL there), the personas' roster."""
    stack.callback(github_api.stop, rehearsal.home)
    return GitHub(rehearsal.home)


def start_database(rehearsal: Rehearsal, stack: contextlib.ExitStack) -> CopyRehearsal:
    """The production data copy's rehearsal in this rehearsal's home: PostgreSQL behind the aws-rds service, seeded
    with its marker, the personas, the production app's own SSH flag on. Runs that copy, restore, wipe or guard pass
    ``extravars={"ops_state_dir": str(rehearsal.tmp / "state")}`` (where tests.support.prod_db_copy looks); on exit
    every copy there is wiped and the cluster removed. Call it before starting the SSH proxy: it seeds the world again."""
    database = CopyRehearsal(rehearsal.tmp)
    stack.callback(database.close)
    stack.callback(wipe_copies, rehearsal.tmp)
    return database
