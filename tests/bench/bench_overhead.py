# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the controller's own time per procedure (wall time minus time spent in external commands).

Runs every procedure once against a fresh rehearsal (as ``make rehearsal`` does: the cf emulator, its PostgreSQL,
GitHub and SSH proxy; signed approvals by the personas; CI's service account for app_deploy), each with
``ansible-playbook`` and with every external command it starts timed:

- ``cf`` is a timing wrapper (``-e ops_cf_cli=``) around ``rehearsal/bin/cf``;
- ``pg_dump`` and ``psql`` are wrappers in a ``pg_bin_dir`` (``-e db_copy_pg_bin_dir=``) around PostgreSQL 15's;
- ``age``, ``age-keygen``, ``ssh``, ``sftp``, ``scp``, ``ssh-keygen``, ``ssh-keyscan`` and ``runuser`` (which runs the
  local restore's PostgreSQL tools as the postgres user) are wrappers first on PATH.

A wrapper (:data:`WRAPPER`, Python with ``-IS``) takes the time, forks, execs the real program, forwards SIGINT,
SIGTERM and SIGHUP to it, waits, and appends ``{name, start, end}`` to a log. The time in external commands is the
union of those intervals (the tunnel runs beside pg_dump: overlapping time counts once); the controller's overhead
is the playbook's wall time minus that union: Ansible's start-up, templating, module transfer and execution, the
callback, the gate's checks, waits between polls. Each wrapper's own interpreter start (~10 ms) before it takes the
time counts as controller time. HTTP calls to the rehearsal GitHub are made in process, so they count as controller
time too.

``python tests/bench/bench_overhead.py [--save RUNS.json]`` prints a row per procedure; ``--save`` keeps the runs
(their cf calls too) for bench_cf_calls.py (``--load``), so that ``make bench`` runs the procedures once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t

REPO = pathlib.Path(__file__).resolve().parents[2]
for entry in (str(REPO / ".collections"), str(REPO)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from tests.bench.report import emit  # noqa: E402  pylint: disable=wrong-import-position

VENV_BIN = pathlib.Path(sys.executable).parent
PY = sys.executable
CF = REPO / "rehearsal" / "bin" / "cf"
PG_BIN = pathlib.Path("/usr/lib/postgresql/15/bin")
PATH_TOOLS = ("age", "age-keygen", "ssh", "sftp", "scp", "ssh-keygen", "ssh-keyscan", "runuser")
PG_TOOLS = ("pg_dump", "psql", "pg_restore", "pg_ctl", "initdb", "createdb")
WRAPPER = '''#!/usr/bin/python3 -IS
import json, os, signal, sys, time
start = time.time()
name = os.path.basename(sys.argv[0])
real = os.environ.get("BENCH_REAL_" + name.upper().replace("-", "_"))
if not real:
    shims = os.path.dirname(os.path.abspath(sys.argv[0]))
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(folder, name)
        if folder and os.path.abspath(folder) != shims and os.access(candidate, os.X_OK):
            real = candidate
            break
if not real:
    sys.stderr.write(name + ": not found\\n")
    sys.exit(127)
pid = os.fork()
if pid == 0:
    os.execv(real, [real] + sys.argv[1:])
def forward(signum, frame):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(signum, forward)
while True:
    try:
        _, status = os.waitpid(pid, 0)
        break
    except InterruptedError:
        continue
end = time.time()
with open(os.environ["BENCH_EXEC_LOG"], "a") as log:
    log.write(json.dumps({"name": name, "start": start, "end": end}) + "\\n")
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
'''


@dataclasses.dataclass
class ProcedureRun:
    """One playbook run: its wall time, the external commands it ran, the cf calls in the emulator's call log."""

    name: str
    playbook: str
    rc: int
    wall_s: float
    external_s: float
    externals: dict[str, int]
    cf_calls: list[list[str]]

    @property
    def overhead_s(self) -> float:
        return self.wall_s - self.external_s


def union_seconds(intervals: t.Iterable[tuple[float, float]]) -> float:
    total, current = 0.0, None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    if current is not None:
        total += current[1] - current[0]
    return total


class Bench:
    """A fresh rehearsal in a temporary folder, the timing wrappers, and the procedures run against it."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.home = root / "rehearsal"
        self.shims = root / "shims"
        self.pg_shims = root / "pg-shims"
        self.exec_log = root / "exec.jsonl"
        for folder, names in ((self.shims, ("cf", *PATH_TOOLS)), (self.pg_shims, PG_TOOLS)):
            folder.mkdir()
            for name in names:
                path = folder / name
                path.write_text(WRAPPER, encoding="utf-8")
                path.chmod(0o755)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("CF_USERNAME", "CF_PASSWORD", "CF_HOME", "TTAHUB_OPS_RUN_ID", "TTAHUB_OPS_AUDIT_LOG", "CI",
                                 "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CALLBACK_PLUGINS", "GITHUB_TOKEN")}
        self.env.update(
            PATH=f"{self.shims}{os.pathsep}{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            REHEARSAL_HOME=str(self.home), REHEARSAL_PYTHON=PY, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            TTAHUB_OPS_AUDIT_LOG=str(root / "audit.jsonl"), CF_HOME=str(root / "operator"), ANSIBLE_NOCOLOR="1",
            BENCH_EXEC_LOG=str(self.exec_log), BENCH_REAL_CF=str(CF),
            **{f"BENCH_REAL_{n.upper().replace('-', '_')}": str(PG_BIN / n) for n in PG_TOOLS},
        )
        self.runs: list[ProcedureRun] = []
        self.started: list[str] = []

    def sh(self, *argv: str, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(argv, cwd=REPO, env={**self.env, **(env or {})}, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        return proc.stdout.strip()

    def rehearsal(self, module: str, *argv: str) -> str:
        return self.sh(PY, "-m", module, *argv, "--home", str(self.home))

    def setup(self) -> None:
        self.rehearsal("rehearsal", "seed")
        self.rehearsal("rehearsal.personas")
        (self.root / "operator").mkdir()
        passcode = self.rehearsal("rehearsal", "passcode")
        self.sh(str(CF), "login", "-a", "https://api.rehearsal.cloud.gov.invalid", "--sso-passcode", passcode,
                "-o", "hhs-acf-ohs-tta", "-s", "ttahub-prod")
        self.rehearsal("rehearsal", "postgres", "seed")
        self.started.append("postgres")
        self.rehearsal("rehearsal.github_api", "start")
        self.started.append("github")
        self.rehearsal("rehearsal.ssh_proxy", "start")
        self.started.append("ssh_proxy")
        self.sh(str(CF), "enable-ssh", "tta-smarthub-prod")  # the production app's own flag; the space keeps SSH off

    def close(self) -> None:
        stops = {"postgres": ("rehearsal", "postgres", "stop"), "github": ("rehearsal.github_api", "stop"),
                 "ssh_proxy": ("rehearsal.ssh_proxy", "stop")}
        for service in reversed(self.started):
            try:
                self.rehearsal(*stops[service])
            except RuntimeError as exc:
                print(f"warning: {exc}", file=sys.stderr)

    def cf_seq(self) -> int:
        from rehearsal import calllog  # pylint: disable=import-outside-toplevel

        return max((c.get("seq", 0) for c in calllog.read(self.home)), default=0)

    def playbook(self, name: str, playbook: str, *extra: str, env: dict[str, str] | None = None) -> ProcedureRun:
        from rehearsal import calllog  # pylint: disable=import-outside-toplevel

        self.exec_log.unlink(missing_ok=True)
        seq = self.cf_seq()
        argv = [str(VENV_BIN / "ansible-playbook"), "-i", "inventories/rehearsal", playbook,
                "-e", f"ops_cf_cli={self.shims / 'cf'}", "-e", f"db_copy_pg_bin_dir={self.pg_shims}", *extra]
        start = time.time()
        proc = subprocess.run(argv, cwd=REPO, env={**self.env, **(env or {})}, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False)
        wall = time.time() - start
        records = []
        if self.exec_log.exists():
            records = [json.loads(line) for line in self.exec_log.read_text(encoding="utf-8").splitlines() if line.strip()]
        externals: dict[str, int] = {}
        for record in records:
            externals[record["name"]] = externals.get(record["name"], 0) + 1
        external = union_seconds((max(r["start"], start), min(r["end"], start + wall)) for r in records)
        calls = [c["argv"] for c in calllog.read(self.home) if c.get("seq", 0) > seq]
        run = ProcedureRun(name, playbook, proc.returncode, wall, external, externals, calls)
        if proc.returncode != 0:
            print(f"warning: {name} failed (rc {proc.returncode}):\n{proc.stdout[-2500:]}", file=sys.stderr)
        self.runs.append(run)
        return run

    def sign(self, sop: str, *extra: str) -> str:
        folder = self.root / "approvals" / sop
        argv = [str(VENV_BIN / "ansible-playbook"), "-i", "inventories/rehearsal", "playbooks/approval_request.yml",
                "-e", f"sop={sop}", "-e", f"approval_dir={folder}", *extra]
        subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True, check=True)
        self.rehearsal("rehearsal.personas", "--sign", str(folder), "--persona", "paula", "--persona", "gideon",
                       "--persona", "vera")
        return str(folder)

    def run_all(self) -> list[ProcedureRun]:
        token = lambda login: self.rehearsal("rehearsal.github_api", "token", login)  # noqa: E731
        self.playbook("audit_counts", "playbooks/audit_counts.yml", "-e", "audit_counts_poll_interval=0.5")
        self.playbook("release_request", "playbooks/release_request.yml", env={"GITHUB_TOKEN": token("paula-oduya-rehearsal")})
        self.rehearsal("rehearsal.github_api", "approve", "gideon-tamm-rehearsal")
        self.playbook("release_deploy", "playbooks/release_deploy.yml", env={"GITHUB_TOKEN": token("paula-oduya-rehearsal")})
        creds = dict(line.split("=", 1) for line in (self.home / "credentials.env").read_text().splitlines() if "=" in line)
        ci = {**creds, "GITHUB_TOKEN": token("ttahub-rehearsal-ci"), "NEW_RELIC_LICENSE_KEY": "rehearsal-license-key",
              "BUILD_BRANCH": "production", "BUILD_NUMBER": "1",
              "BUILD_COMMIT": self.rehearsal("rehearsal.github_api", "head", "production"),
              "BUILD_TIMESTAMP": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.playbook("app_deploy", "playbooks/app_deploy.yml", "-e", f"app_dir={REPO / 'rehearsal' / 'app'}",
                      "-e", "app_deploy_poll_interval=0.5", env=ci)
        approvals = self.sign("prod_db_copy", "-e", "reason=BENCH-1")
        self.playbook("prod_db_copy", "playbooks/prod_db_copy.yml", "-e", "reason=BENCH-1", "-e", f"ops_approvals_dir={approvals}")
        self.playbook("data_restore_local", "playbooks/data_restore_local.yml")
        self.playbook("data_wipe", "playbooks/data_wipe.yml", "-e", "all=true")
        retrieval = ("-e", "remote_path=/home/vcap/app/logs", "-e", f"dest={self.root / 'retrieved'}", "-e", "instance=1",
                     "-e", "force=true")
        approvals = self.sign("scp_retrieve", *retrieval)
        self.playbook("scp_retrieve (production)", "playbooks/scp_retrieve.yml", *retrieval, "-e", f"ops_approvals_dir={approvals}")
        command = ("-e", "command='ls -l app/reports'")
        approvals = self.sign("ssh_access", *command)
        self.playbook("ssh_access (production, one command)", "playbooks/ssh_access.yml", *command,
                      "-e", f"ops_approvals_dir={approvals}")
        self.playbook("ssh_access (staging, one command)", "playbooks/ssh_access.yml", "-e", "cf_space=ttahub-staging",
                      "-e", "cf_app=tta-smarthub-staging", "-e", "ops_production=false", *command)
        self.playbook("ssh_guard", "playbooks/ssh_guard.yml")
        return self.runs


def measure(save: str | None = None) -> list[ProcedureRun]:
    root = pathlib.Path(tempfile.mkdtemp(prefix="bench-procedures-"))
    bench = Bench(root)
    try:
        bench.setup()
        runs = bench.run_all()
    finally:
        bench.close()
        shutil.rmtree(root, ignore_errors=True)
    if save:
        pathlib.Path(save).write_text(json.dumps([dataclasses.asdict(r) for r in runs], indent=1), encoding="utf-8")
    return runs


def load(path: str) -> list[ProcedureRun]:
    return [ProcedureRun(**item) for item in json.loads(pathlib.Path(path).read_text(encoding="utf-8"))]


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", help="keep the runs in this JSON file (for bench_cf_calls.py --load)")
    parser.add_argument("--load", help="report runs kept by an earlier --save instead of running the procedures")
    args = parser.parse_args(argv)
    runs = load(args.load) if args.load else measure(args.save)
    for run in runs:
        tools = ", ".join(f"{n} x{c}" for n, c in sorted(run.externals.items())) or "none"
        emit(f"controller overhead: {run.name}", run.overhead_s, "s", baseline=run.wall_s, baseline_label="wall time",
             ratio=run.overhead_s / run.wall_s if run.wall_s else None, ratio_label="share of the wall time",
             note=f"external {run.external_s:.1f} s ({tools})" + ("" if run.rc == 0 else f"; the run failed (rc {run.rc})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
