# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault matrix's harness: the procedures in production, the faults, the drivers, the cases.

A *procedure* is a playbook run as in production (signed approvals by the rehearsal personas, the SSO operator's login;
CI's service account for app_deploy). Its cf calls are the ones a clean run makes, recorded in matrix_calls.yml (a
test checks the record against a clean run, so a changed procedure shows up as a stale matrix). A *case* is one clean
run, one cf call failing (exit 1), hanging past its timeout or printing garbage (``cf_fault``), one external tool failing
(``tool``), or a signal to ansible-playbook or ansible-runner at a phase of the run (``signal``). Every case ends with
:func:`tests.reliability.invariants.after_procedure`'s checks plus the procedure's own.

Timeouts are short so that a hung call costs seconds: TTAHUB_OPS_CF_TIMEOUT bounds each cf call, the data copy's
tunnel and the push get their own. Signals: SIGINT goes to the driver's process group (a Ctrl-C at the terminal),
SIGTERM and SIGKILL to the driver's own pid (kill, a CI job cancelled, the OOM killer). A phase is reached when a
latency fault on the call that starts it fires (the call is then in flight), or, for the dump, when pg_dump is attached
to the window's lease.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import typing as t

import yaml

from ansible_collections.ttahub.ops.plugins.module_utils import _approval
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from rehearsal import cfconfig, faults, personas, seed
from rehearsal import world as world_mod
from tests.reliability import invariants as inv

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
INVENTORY = REPO / "inventories" / "rehearsal"
CALLS = yaml.safe_load(pathlib.Path(__file__).with_name("matrix_calls.yml").read_text(encoding="utf-8"))
ORG, SPACE, APP, SERVICE = "hhs-acf-ohs-tta", "ttahub-prod", "tta-smarthub-prod", "ttahub-prod"
OPERATOR = "operator@rehearsal.gov"
CF_TIMEOUT = 4          # seconds: each cf call (TTAHUB_OPS_CF_TIMEOUT)
PHASE_LATENCY_MS = 2500  # the call that marks a phase stays in flight this long
RUN_TIMEOUT = 180
# Calls that open or close something: make test also hangs and garbles these (every call with --full-matrix).
OPEN_CLOSE = frozenset({"allow-space-ssh", "disallow-space-ssh", "connect-to-service", "delete-service-key", "ssh-code", "ssh",
                        "push", "cancel-deployment", "run-task"})
POLICIES = yaml.safe_load((INVENTORY / "group_vars" / "all" / "policies.yml").read_text(encoding="utf-8"))["ops_approval_policies"]
DROP_ENV = ("CF_USERNAME", "CF_PASSWORD", "CF_HOME", "TTAHUB_OPS_RUN_ID", "TTAHUB_OPS_CONTROLLER_PID", "TTAHUB_OPS_AUDIT_LOG",
            "CI", "ANSIBLE_CONFIG", "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CALLBACK_PLUGINS", "REHEARSAL_HOME", "GITHUB_TOKEN",
            "TTAHUB_OPS_OPERATOR", "TTAHUB_OPS_CF_TIMEOUT")
AGE_SECRET = re.compile(r"AGE-SECRET-KEY-1[0-9A-Z]{20,}")
SLOW_DUMP = ('case "$1" in --version) exec "$REAL" "$@";; esac\n'
             '"$REAL" "$@" | python3 -c "import sys, time\n'
             'while True:\n'
             '    b = sys.stdin.buffer.read(2048)\n'
             '    if not b: break\n'
             '    sys.stdout.buffer.write(b); sys.stdout.buffer.flush(); time.sleep(0.2)"')
FAILING = '#!/bin/sh\ncase "$1" in --version|-version|-V) exec "$REAL" "$@";; esac\necho "{name}: error: injected failure" >&2\nexit 1\n'


@dataclasses.dataclass(frozen=True)
class Case:
    """One cell of the matrix."""

    procedure: str
    kind: str                    # clean, cf_fault, github, tool, signal
    command: str = ""            # cf_fault: the cf command; signal: the phase
    nth: int = 0                 # cf_fault: its Nth call in the run; github: the request's index in matrix_calls.yml
    action: str = ""             # cf_fault: fail, hang, garbage; github: fail, rate_limit; tool: the tool; signal: its name
    driver: str = "playbook"     # playbook or runner

    @property
    def id(self) -> str:
        if self.kind == "clean":
            return f"{self.procedure}:clean"
        if self.kind == "cf_fault":
            return f"{self.procedure}:cf {self.command}#{self.nth}:{self.action}"
        if self.kind == "tool":
            return f"{self.procedure}:tool {self.action}:fail"
        if self.kind == "github":
            return f"{self.procedure}:github {self.command}:{self.action}"
        return f"{self.procedure}:{self.driver} {self.action}@{self.command}"


SIGNALS = ("SIGINT", "SIGTERM", "SIGKILL")
DRIVERS = ("playbook", "runner")
# make test's signals: every signal through both drivers at this phase, SIGKILL of ansible-playbook at the others.
SAMPLED_SIGNAL_PHASE = {"prod_db_copy": "dump"}


def cases(procedure: str, full: bool) -> list[Case]:
    """The matrix of a procedure. ``full``: every cf call failing, hanging and printing garbage, every GitHub request
    failing and rate-limited, every tool failing, every signal through both drivers at every phase. Otherwise (make
    test): every cf call failing; hanging and garbage only for the calls that open or close something (OPEN_CLOSE);
    every GitHub request failing; every tool; signals only for the procedures of SAMPLED_SIGNAL_PHASE."""
    spec = CALLS[procedure]
    found = [Case(procedure, "clean")]
    seen: dict[str, int] = {}
    for command in spec.get("cf") or []:
        seen[command] = seen.get(command, 0) + 1
        for action in ("fail", "hang", "garbage"):
            if action == "fail" or full or command in OPEN_CLOSE:
                found.append(Case(procedure, "cf_fault", command, seen[command], action))
    for index, request in enumerate(spec.get("github") or []):
        for action in ("fail", "rate_limit") if full else ("fail",):
            found.append(Case(procedure, "github", str(request["name"]), index, action))
    found += [Case(procedure, "tool", action=tool) for tool in spec.get("tools") or []]
    sampled = SAMPLED_SIGNAL_PHASE.get(procedure)
    for phase in spec.get("phases") or {}:
        for driver in DRIVERS:
            for name in SIGNALS:
                if full or (phase == sampled) or (sampled and driver == "playbook" and name == "SIGKILL"):
                    found.append(Case(procedure, "signal", phase, action=name, driver=driver))
    return found


# --- the rehearsal ------------------------------------------------------------------------------------------------------


class Cloud:
    """One rehearsal for a test module's procedures: a seeded world, and the services they need (PostgreSQL with a
    plaintext marker, the SSH proxy, GitHub), shared by the module's cases; :meth:`reset` puts production back."""

    def __init__(self, root: pathlib.Path, *, postgres: bool = False, ssh_proxy: bool = False, github: bool = False) -> None:
        self.root = root
        self.home = root / "rehearsal"
        seed.seed(self.home)
        personas.ensure(self.home)
        self.started: list[str] = []
        self.marker: str | None = None
        world_mod.set_app_ssh(self.home, SPACE, APP, True)  # on as on cloud.gov; the space keeps SSH off
        if postgres:
            from rehearsal import postgres as pg  # pylint: disable=import-outside-toplevel
            from rehearsal.commands import connect  # pylint: disable=import-outside-toplevel

            self.marker = f"TTAHUB-PROD-MARKER-{secrets.token_hex(10)}"
            pg.start(self.home)
            self.started.append("postgres")
            pg.seed(self.home, scale=1, marker=self.marker, services=[SERVICE])
            connect.set_tunnel_delay(self.home, 0.1)
        if ssh_proxy:
            from rehearsal import ssh_proxy as proxy  # pylint: disable=import-outside-toplevel

            proxy.start(self.home)
            self.started.append("ssh_proxy")
        self.github_url = ""
        if github:
            from rehearsal import github_api  # pylint: disable=import-outside-toplevel

            self.github_url = github_api.start(self.home)
            self.started.append("github")

    def close(self) -> None:
        for service in reversed(self.started):
            with contextlib.suppress(Exception):
                if service == "postgres":
                    from rehearsal import postgres as pg  # pylint: disable=import-outside-toplevel

                    pg.stop(self.home)
                    if hasattr(pg, "destroy"):
                        pg.destroy(self.home)
                elif service == "ssh_proxy":
                    from rehearsal import ssh_proxy as proxy  # pylint: disable=import-outside-toplevel

                    proxy.stop(self.home)
                elif service == "github":
                    from rehearsal import github_api  # pylint: disable=import-outside-toplevel

                    github_api.stop(self.home)

    def reset(self) -> None:
        """Production's normal state: space SSH off, no fault, no SERVICE_CONNECT key, every instance running."""
        faults.clear(self.home)
        with world_mod.transaction(self.home) as world:
            for space in world["spaces"].values():
                if space["name"] == SPACE:
                    space["allow_ssh"] = False
            world["service_keys"] = {g: k for g, k in world["service_keys"].items() if k["name"] != inv.SERVICE_KEY}
        if "github" in self.started:
            from rehearsal import github_api  # pylint: disable=import-outside-toplevel

            with github_api.transaction(self.home) as state:
                state["faults"] = []

    def credentials(self) -> dict[str, str]:
        lines = (self.home / "credentials.env").read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)


# --- procedures ------------------------------------------------------------------------------------------------------------


def sign(cloud: Cloud, tmp: pathlib.Path, sop: str, policy: str, parameters: dict[str, t.Any], *, app: str = APP,
         service: str = SERVICE) -> pathlib.Path:
    """Signed approvals for one run (what approval_request.yml and the PO, the GTM and the VTL do)."""
    intent = _approval.build_intent(sop=sop, policy=policy, environment="rehearsal", org=ORG, space=SPACE, app=app,
                                    service=service, parameters=parameters,
                                    attestations=POLICIES[policy].get("attestations") or [], ttl=3600)
    folder = tmp / f"approvals-{secrets.token_hex(3)}"
    folder.mkdir()
    (folder / "intent.json").write_bytes(_approval.render_intent(intent))
    for persona in ("paula", "gideon", "vera"):
        personas.sign(folder, persona, cloud.home)
    return folder


@dataclasses.dataclass
class Prepared:
    """What a case runs: the playbook's -e arguments and environment, and what to check afterwards."""

    extra: list[str]
    env: dict[str, str]
    secrets: dict[str, str]
    check: t.Callable[[bool], list[str]] = lambda succeeded: []


def base_env(cloud: Cloud, tmp: pathlib.Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    runtime = tmp / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        REHEARSAL_HOME=str(cloud.home),
        REHEARSAL_PYTHON=sys.executable,
        TTAHUB_OPS_AUDIT_LOG=str(tmp / "audit.jsonl"),
        TTAHUB_OPS_CF_TIMEOUT=str(CF_TIMEOUT),
        XDG_RUNTIME_DIR=str(runtime),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    return env


def operator_login(cloud: Cloud, tmp: pathlib.Path, env: dict[str, str]) -> dict[str, str]:
    """The SSO operator's own cf login (CF_HOME outside the run's folders), which cf_session copies."""
    home = tmp.parent / f"{tmp.name}-operator-cf"
    cfconfig.issue_session(cloud.home, home, OPERATOR, org=ORG, space=SPACE)
    env["CF_HOME"] = str(home)
    return {f"operator_token_{i}": v for i, v in enumerate(inv.cf_tokens(home))}


def prepare(cloud: Cloud, procedure: str, tmp: pathlib.Path) -> Prepared:
    env = base_env(cloud, tmp)
    state = ["-e", f"ops_state_dir={tmp / 'state'}"]
    found = inv.secrets_of(cloud.home)
    if procedure == "prod_db_copy":
        found.update(operator_login(cloud, tmp, env))
        approvals = sign(cloud, tmp, "prod_db_copy", "prod_db_copy", {"reason": "INC-42", "window_minutes": 30, "keep_hours": 24})
        extra = [*state, "-e", "reason=INC-42", "-e", f"ops_approvals_dir={approvals}", "-e", "db_copy_progress_every=1",
                 "-e", "db_copy_tunnel_timeout=8"]
        return Prepared(extra, env, found, lambda ok: copy_checks(tmp, ok))
    if procedure == "scp_retrieve":
        found.update(operator_login(cloud, tmp, env))
        dest = tmp / "retrieved"
        params = {"instance": 1, "process": "web", "remote_path": "/home/vcap/app/reports", "dest": str(dest)}
        approvals = sign(cloud, tmp, "scp_retrieve", "prod_ssh_access", params)
        extra = [*state, "-e", "remote_path=/home/vcap/app/reports", "-e", f"dest={dest}", "-e", "instance=1",
                 "-e", f"ops_approvals_dir={approvals}"]
        return Prepared(extra, env, found, lambda ok: retrieval_checks(dest, tmp / "audit.jsonl", ok))
    if procedure == "ssh_access":
        found.update(operator_login(cloud, tmp, env))
        command = "cat app/reports/instance.txt"
        approvals = sign(cloud, tmp, "ssh_access", "prod_ssh_access", {"command": command})
        extra = [*state, "-e", json.dumps({"command": command}), "-e", f"ops_approvals_dir={approvals}"]
        return Prepared(extra, env, found)
    if procedure == "app_deploy":
        from rehearsal import github_api  # pylint: disable=import-outside-toplevel

        commit = approved_release(cloud)
        creds = cloud.credentials()
        token = github_api.issue_token(cloud.home, github_api.CI_LOGIN)
        license_key = "nr-" + secrets.token_hex(16)
        env.update(creds, GITHUB_TOKEN=token, NEW_RELIC_LICENSE_KEY=license_key, BUILD_BRANCH="production",
                   BUILD_COMMIT=commit, BUILD_NUMBER="4242", BUILD_TIMESTAMP="2026-11-28T12:00:00Z", HOME=str(tmp))
        found.update(github_token=token, new_relic=license_key)
        extra = [*state, "-e", f"app_dir={REPO / 'rehearsal' / 'app'}", "-e", "app_deploy_poll_interval=0.3",
                 "-e", f"app_deploy_push_timeout={CF_TIMEOUT * 3}", "-e", "app_deploy_migration_timeout=20"]
        return Prepared(extra, env, found, lambda ok: deploy_checks(cloud, ok))
    if procedure == "release_deploy":
        from rehearsal import github_api  # pylint: disable=import-outside-toplevel

        number, head = approved_pull(cloud)
        token = github_api.issue_token(cloud.home, "paula-oduya-rehearsal")
        env.update(GITHUB_TOKEN=token)
        found.update(github_token=token)
        return Prepared([*state, "-e", f"pr={number}"], env, found, lambda ok: release_checks(cloud, number, head, ok))
    raise ValueError(procedure)


def approved_release(cloud: Cloud) -> str:
    """A release pull request opened by the PO, approved by the GTM and merged: its merge commit (what CI deploys)."""
    from ansible_collections.ttahub.ops.plugins.module_utils._github import GitHubClient  # pylint: disable=import-outside-toplevel
    from rehearsal import github_api  # pylint: disable=import-outside-toplevel

    github_api.seed(cloud.home)
    number = github_api.open_pull(cloud.home, "paula-oduya-rehearsal")
    github_api.add_review(cloud.home, number, "gideon-tamm-rehearsal")
    client = GitHubClient(api_url=cloud.github_url, repo=github_api.REPO, token=github_api.issue_token(cloud.home, "paula-oduya-rehearsal"))
    answer, _ = client.request("PUT", client.repo_path(f"/pulls/{number}/merge"), action="merge",
                               body={"sha": github_api.branch_sha(cloud.home, "main"), "merge_method": "merge"})
    return str(answer["sha"])


def approved_pull(cloud: Cloud) -> tuple[int, str]:
    from rehearsal import github_api  # pylint: disable=import-outside-toplevel

    github_api.seed(cloud.home)
    number = github_api.open_pull(cloud.home, "paula-oduya-rehearsal")
    github_api.add_review(cloud.home, number, "gideon-tamm-rehearsal")
    return number, github_api.branch_sha(cloud.home, "main")


def copy_checks(tmp: pathlib.Path, succeeded: bool) -> list[str]:
    """A failed or killed copy keeps nothing: no ciphertext, partial file or key of it."""
    copies = tmp / "state" / "copies"
    problems = []
    for path in sorted(copies.glob("*.json")) if copies.exists() else []:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("state") == "encrypted" and succeeded:
            continue
        for key in ("ciphertext_path", "identity_path"):
            for candidate in (record.get(key), f"{record.get(key)}.partial"):
                if candidate and os.path.lexists(candidate) and record.get("state") != "encrypted":
                    problems.append(f"the {record.get('state')} copy {record['copy_id']} left {candidate}")
    return problems


def retrieval_checks(dest: pathlib.Path, audit_log: pathlib.Path, succeeded: bool) -> list[str]:
    """A retrieval lands whole and checked, or not at all: files in the destination only when the audit log records
    the copy (a run can still fail after it, closing the window)."""
    copied = any(r.get("event") == "instance_file_copied" for r in inv.audit_records(audit_log))
    if succeeded or copied or not dest.exists():
        return []

    def left() -> list[str]:
        return [str(p) for p in dest.rglob("*") if p.is_file()]

    # a module whose ansible-playbook was killed (SIGKILL) still cleans up after itself when its window closes
    inv.wait_for(lambda: not left(), 10.0)
    return [f"a retrieval that did not complete left {left()}"] if left() else []


def deploy_checks(cloud: Cloud, succeeded: bool) -> list[str]:
    """A failed deploy leaves no deployment active (the previous version keeps serving)."""
    world = world_mod.load(cloud.home)
    active = [d for d in (world.get("deployments") or {}).values() if d.get("state") in ("DEPLOYING", "ACTIVE")
              or d.get("status", {}).get("value") == "ACTIVE"]
    return [] if succeeded or not active else [f"a failed deploy left an active deployment: {[d.get('guid') for d in active]}"]


def release_checks(cloud: Cloud, number: int, head: str, succeeded: bool) -> list[str]:
    """The pull request is merged when the run succeeded, and only ever at its approved head."""
    from rehearsal import github_api  # pylint: disable=import-outside-toplevel

    pr = github_api.load(cloud.home)["repos"][github_api.REPO]["pulls"][str(number)]
    merged = pr.get("merged_at") is not None
    if succeeded and not merged:
        return ["the run succeeded but the pull request is not merged"]
    if merged and pr.get("head_sha") != head:
        return [f"merged at {pr.get('head_sha')}, not at the approved head {head}"]
    return []


# --- drivers ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    rc: int | None
    output: str
    seconds: float
    stopped_at: float | None = None      # monotonic time the signal was sent
    artifacts: pathlib.Path | None = None
    orphans: list[int] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


def playbook_argv(procedure: str, extra: list[str]) -> list[str]:
    return [str(VENV_BIN / "ansible-playbook"), "-i", str(INVENTORY), f"playbooks/{procedure}.yml", *extra]


RUNNER_SETTINGS = {"job_timeout": RUN_TIMEOUT, "idle_timeout": 120, "pexpect_timeout": 5, "suppress_ansible_output": True}


def runner_argv(procedure: str, extra: list[str], env: dict[str, str], tmp: pathlib.Path) -> list[str]:
    """ansible-runner run on a private data directory as docs/ansible-runner.md lays it out; the -e pairs become
    extravars, the environment stays the process's (secrets never go into env/envvars)."""
    pdd = tmp / "runner"
    (pdd / "env").mkdir(parents=True, exist_ok=True)
    extravars: dict[str, t.Any] = {}
    for index in range(0, len(extra), 2):
        value = extra[index + 1]
        if value.startswith("{"):
            extravars.update(json.loads(value))
        else:
            key, _, item = value.partition("=")
            extravars[key] = item
    (pdd / "env" / "extravars").write_text(json.dumps(extravars), encoding="utf-8")
    envvars = {k: env[k] for k in ("ANSIBLE_CONFIG", "TTAHUB_OPS_AUDIT_LOG", "REHEARSAL_HOME", "ANSIBLE_NOCOLOR") if k in env}
    (pdd / "env" / "envvars").write_text(json.dumps(envvars), encoding="utf-8")
    (pdd / "env" / "settings").write_text(json.dumps(RUNNER_SETTINGS), encoding="utf-8")
    return [str(VENV_BIN / "ansible-runner"), "run", str(pdd), "--project-dir", str(REPO), "-p", f"playbooks/{procedure}.yml",
            "--inventory", str(INVENTORY), "--ident", "run"]


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def wait_phase(cloud: Cloud, tmp: pathlib.Path, phase: dict[str, t.Any], proc: subprocess.Popen[str], timeout: float = 90) -> bool:
    """Until the phase is reached (see the module docstring); False when the run ended or the time ran out first."""
    if phase.get("audit"):
        def reached() -> bool:
            path = tmp / "audit.jsonl"
            return path.exists() and f'"event":"{phase["audit"]}"' in path.read_text(encoding="utf-8", errors="replace")
    elif phase.get("attachment"):
        def reached() -> bool:
            for _, lease in sw.leases(str(tmp / "state")):
                if any(a.get("name") == phase["attachment"] for a in lease.get("attachments") or []):
                    return True
            return False
    else:
        def reached() -> bool:
            rules = faults.load(cloud.home)["rules"]
            return any(r.get("action") == "latency" and r.get("fired") for r in rules)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if reached():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def run(cloud: Cloud, case: Case, tmp: pathlib.Path, prepared: Prepared) -> Outcome:
    """Run the case's procedure with its fault, or send its signal at its phase."""
    extra, env = list(prepared.extra), dict(prepared.env)
    phases = CALLS[case.procedure].get("phases", {})
    if case.kind == "cf_fault":
        faults.inject(cloud.home, match=case.command, nth=case.nth, action=case.action, times=1)
    elif case.kind == "github":
        from rehearsal import github_api  # pylint: disable=import-outside-toplevel

        request = CALLS[case.procedure]["github"][case.nth]
        if case.action == "rate_limit":
            github_api.inject_fault(cloud.home, "rate_limit", method=request["method"], path_contains=request["path"], times=1)
        else:
            github_api.inject_fault(cloud.home, "status", method=request["method"], path_contains=request["path"], times=1,
                                    status=502, message="Server Error")
    elif case.kind == "tool":
        extra += tool_failure(case.procedure, case.action, tmp, env)
    phase = phases.get(case.command, {}) if case.kind == "signal" else {}
    if case.kind == "tool" and case.action == "tunnel":
        phase = {"attachment": "pg_dump", "slow_dump": True}
    if phase.get("slow_dump"):
        extra += ["-e", json.dumps({"db_copy_pg_bin_dir": str(pg_bin(tmp, SLOW_DUMP))})]
    if phase.get("call"):
        faults.inject(cloud.home, match=phase["call"], nth=phase.get("nth"), action="latency", latency_ms=PHASE_LATENCY_MS, times=1)
    if case.driver == "runner":
        argv = runner_argv(case.procedure, extra, env, tmp)
    else:
        argv = playbook_argv(case.procedure, extra)
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=REPO, env=env, text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                            stderr=subprocess.STDOUT, start_new_session=True)
    outcome = Outcome(None, "", 0.0)
    try:
        if case.kind == "tool" and case.action == "tunnel":
            if not wait_phase(cloud, tmp, phase, proc):
                outcome.notes.append("the dump did not start")
            else:
                kill_tunnel(tmp)
        if case.kind == "signal":
            if not wait_phase(cloud, tmp, phase, proc):
                outcome.notes.append(f"the phase {case.command} was not reached")
            else:
                playbooks = [p for p in descendants(proc.pid) if "ansible-playbook" in cmdline(p)] if case.driver == "runner" else []
                signum = getattr(signal, case.action)
                outcome.stopped_at = time.monotonic()
                if signum == signal.SIGINT:
                    os.killpg(proc.pid, signum)
                else:
                    os.kill(proc.pid, signum)
                outcome.orphans = playbooks
        try:
            out, _ = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            outcome.notes.append(f"the run did not end within {RUN_TIMEOUT} s")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate(timeout=30)
        outcome.rc = proc.returncode
        outcome.output = out or ""
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    outcome.seconds = time.monotonic() - started
    if case.driver == "runner":
        outcome.artifacts = tmp / "runner" / "artifacts" / "run"
    return outcome


def kill_tunnel(tmp: pathlib.Path) -> None:
    """The tunnel dies mid-dump (its cf connect-to-service process, as when the SSH connection drops)."""
    for _, lease in sw.leases(str(tmp / "state")):
        for attachment in lease.get("attachments") or []:
            if attachment.get("name") == "tunnel" and attachment.get("pid"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(attachment["pid"]), signal.SIGKILL)


def pg_bin(tmp: pathlib.Path, script: str) -> pathlib.Path:
    """A pg_bin_dir whose pg_dump is the given shell script (REAL: the real pg_dump) beside the real psql."""
    folder = tmp / "pgbin"
    folder.mkdir(exist_ok=True)
    real = pathlib.Path("/usr/lib/postgresql/15/bin")
    (folder / "pg_dump").write_text(f"#!/bin/sh\nREAL={real / 'pg_dump'}\n{script}\n", encoding="utf-8")
    (folder / "pg_dump").chmod(0o755)
    if not (folder / "psql").exists():
        (folder / "psql").symlink_to(real / "psql")
    return folder


def tool_failure(procedure: str, tool: str, tmp: pathlib.Path, env: dict[str, str]) -> list[str]:
    """Make ``tool`` fail: pg_dump through the copy's pg_bin_dir, any other first on PATH (it still answers
    --version, so the version checks pass and the failure comes at work)."""
    if tool == "pg_dump":
        folder = pg_bin(tmp, FAILING.format(name="pg_dump").split("\n", 1)[1])
        return ["-e", json.dumps({"db_copy_pg_bin_dir": str(folder)})]
    if tool == "tunnel":
        return []  # killed at run time, see kill_tunnel
    folder = tmp / "failing-tools"
    folder.mkdir(exist_ok=True)
    real = shutil.which(tool, path=env["PATH"]) or f"/usr/bin/{tool}"
    (folder / tool).write_text(f"#!/bin/sh\nREAL={real}\n" + FAILING.format(name=tool).split("\n", 1)[1], encoding="utf-8")
    (folder / tool).chmod(0o755)
    env["PATH"] = f"{folder}{os.pathsep}{env['PATH']}"
    return []


# --- after the run ---------------------------------------------------------------------------------------------------------


def check(cloud: Cloud, case: Case, tmp: pathlib.Path, prepared: Prepared, outcome: Outcome) -> list[str]:
    """Every invariant, then the procedure's own; returns the violations."""
    problems = list(outcome.notes)
    # SIGKILL leaves the controller no time to write its run_end; after SIGTERM or SIGINT it must be there (terminated,
    # aborted).
    # ansible-runner stops its ansible-playbook with SIGKILL to the process group whatever signal it got itself.
    killed = case.kind == "signal" and (case.action == "SIGKILL" or case.driver == "runner")
    succeeded = outcome.rc == 0
    outputs = {"the run's output": outcome.output}
    if outcome.artifacts is not None and outcome.artifacts.exists():
        # runner 2.4 writes its whole environment to artifacts/<ident>/command; docs/ci.md: CI deletes it after the job
        (outcome.artifacts / "command").unlink(missing_ok=True)
        outputs.update(inv.files_text(outcome.artifacts))
    calls = cloud.home / "calls.jsonl"
    if calls.exists():
        outputs["the call log"] = calls.read_text(encoding="utf-8")
    roots = [tmp / "state", tmp / "runtime", tmp / "ansible-tmp", tmp / "retrieved"]
    if (tmp / "audit.jsonl").exists():
        outputs["the audit log"] = (tmp / "audit.jsonl").read_text(encoding="utf-8")
    plaintext_roots = [tmp, pathlib.Path("/dev/shm"), pathlib.Path.home() / ".ansible" / "tmp"]
    run_record = inv.Run(home=cloud.home, audit_log=tmp / "audit.jsonl", state_dir=tmp / "state", outputs=outputs,
                         roots=roots, marker=None, secrets=prepared.secrets, killed=killed, sessions=[tmp / "runtime"])
    problems += inv.after_procedure(run_record, within=10.0)
    if cloud.marker:
        found = inv.plaintext_on_disk(cloud.marker, plaintext_roots, skip=[cloud.home / "postgres"])
        if found:
            problems.append(f"plaintext of the data on disk: {found}")
    for where, text in outputs.items():
        if AGE_SECRET.search(text):
            problems.append(f"an age identity in {where}")
    if case.kind == "clean" and not succeeded:
        problems.append(f"the clean run failed (rc {outcome.rc}):\n{outcome.output[-3000:]}")
    problems += prepared.check(succeeded)
    for pid in outcome.orphans:
        if inv.wait_for(lambda p=pid: not sw.process_alive(p), 10.0) is None:
            problems.append(f"ansible-playbook {pid} outlived its ansible-runner by 10 s")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return problems


def _fold(names: list[str]) -> list[str]:
    """``[a, b, b, b, c]`` -> ``[a, b, c]``."""
    return [name for i, name in enumerate(names) if i == 0 or names[i - 1] != name]


def execute(cloud: Cloud, case: Case, tmp: pathlib.Path) -> tuple[list[str], Outcome]:
    """Run one case from production's normal state and return the violations of every invariant."""
    cloud.reset()
    prepared = prepare(cloud, case.procedure, tmp)
    seq = inv.last_seq(cloud.home)
    outcome = run(cloud, case, tmp, prepared)
    problems = check(cloud, case, tmp, prepared, outcome)
    if case.kind == "clean":
        made = clean_calls(cloud, seq)
        # A task's state is polled until it ends (cf_task), so how many reads repeat depends on the machine's load:
        # compare the sequences with repeated neighbours folded, which still catches a call added, removed or moved.
        if _fold(made) != _fold(list(CALLS[case.procedure].get("cf") or [])):
            problems.append(f"the procedure's cf calls changed; update tests/reliability/matrix_calls.yml to: {made}")
    return problems, outcome


def assert_case(cloud: Cloud, case: Case, tmp: pathlib.Path) -> None:
    """The body of every matrix test: the case, then one assertion listing every violated invariant."""
    problems, outcome = execute(cloud, case, tmp)
    print(f"{case.id}: rc {outcome.rc} in {outcome.seconds:.1f} s")
    assert not problems, "\n".join(problems) + f"\n--- output (rc {outcome.rc}) ---\n{outcome.output[-4000:]}"


def clean_calls(cloud: Cloud, seq: int) -> list[str]:
    """The commands of the cf calls made after ``seq`` (a clean run's sequence)."""
    return [inv.command_of(c) for c in inv.calls_since(cloud.home, seq)]
