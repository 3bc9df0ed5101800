# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the collection's playbooks against a private rehearsal cloud, as an operator or as CI would."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
import typing as t
import uuid

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
API = "https://api.rehearsal.cloud.gov.invalid"
ORG = "hhs-acf-ohs-tta"
# Variables that make Ansible or the gate think it runs under CI/ansible-runner; tests set them on purpose only.
SCRUBBED = (
    "CI",
    "CF_USERNAME",
    "CF_PASSWORD",
    "CF_HOME",
    "TTAHUB_OPS_RUN_ID",
    "TTAHUB_OPS_AUDIT_LOG",
    "ANSIBLE_STDOUT_CALLBACK",
)


def leftover_processes(run_id: str, within: float) -> list[str]:
    """The processes whose environment names ``run_id`` that are still alive ``within`` seconds from now."""
    from ansible_collections.ttahub.ops.plugins.module_utils import _proc  # pylint: disable=import-outside-toplevel

    deadline = time.monotonic() + within
    while True:
        left = [pid for pid in _proc.uses_env("TTAHUB_OPS_RUN_ID", [run_id]) if _proc.alive(pid)]
        if not left or time.monotonic() >= deadline:
            return [" ".join(_proc.cmdline(pid))[:200] for pid in left]
        time.sleep(0.1)


class Rehearsal:
    """A seeded rehearsal cloud in tmp, an operator with a cf SSO login, and a private audit log."""

    def __init__(self, tmp: pathlib.Path) -> None:
        sys.path.insert(0, str(REPO)) if str(REPO) not in sys.path else None
        from rehearsal import seed  # pylint: disable=import-outside-toplevel

        self.tmp = tmp
        self.home = tmp / "rehearsal"
        self.operator_home = tmp / "operator"
        self.operator_home.mkdir()
        self.audit_log = tmp / "audit.jsonl"
        seed.seed(self.home)
        self.env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        self.env.update(
            {
                "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                "REHEARSAL_HOME": str(self.home),
                "REHEARSAL_PYTHON": sys.executable,
                "TTAHUB_OPS_AUDIT_LOG": str(self.audit_log),
                "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                "HOME": str(self.operator_home),
                "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
                "XDG_RUNTIME_DIR": str(self._runtime_dir()),
            }
        )

    def _runtime_dir(self) -> pathlib.Path:
        path = self.tmp / "runtime"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    @property
    def credentials(self) -> dict[str, str]:
        lines = (self.home / "credentials.env").read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def cf(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REPO / "rehearsal" / "bin" / "cf"), *argv],
            env={**self.env, "CF_HOME": str(self.operator_home), **(env or {})},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def operator_login(self, space: str = "ttahub-prod") -> None:
        """`cf login --sso` as the operator, into the operator's own CF_HOME (what cf_session copies)."""
        code = subprocess.run(
            [sys.executable, "-m", "rehearsal", "passcode", "--home", str(self.home)],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        out = self.cf("login", "-a", API, "--sso-passcode", code, "-o", ORG, "-s", space)
        assert out.returncode == 0, out.stderr

    def operator_config(self) -> dict[str, t.Any]:
        return json.loads((self.operator_home / ".cf" / "config.json").read_text(encoding="utf-8"))

    def playbook(
        self,
        playbook: str,
        *args: str,
        inventory: str = "inventories/rehearsal",
        env: dict[str, str] | None = None,
        timeout: float = 180,
        cwd: pathlib.Path = REPO,
    ) -> subprocess.CompletedProcess[str]:
        """``ansible-playbook -i inventory playbook *args`` from ``cwd`` (whose ansible.cfg applies when the
        environment names none; by default the repository, whose ANSIBLE_CONFIG ``self.env`` names)."""
        run_env = {"TTAHUB_OPS_RUN_ID": f"test-{uuid.uuid4()}", **self.env, **(env or {})}
        done = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "-i", inventory, playbook, *args],
            cwd=cwd,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode == 0:
            left = leftover_processes(run_env["TTAHUB_OPS_RUN_ID"], within=2.0)
            assert not left, f"processes of the clean run {playbook} still alive 2 s after it ended: {left}"
        return done

    def audit_records(self) -> list[dict[str, t.Any]]:
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text(encoding="utf-8").splitlines() if line.strip()]

    def calls(self) -> list[dict[str, t.Any]]:
        path = self.home / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def everything_written(self) -> str:
        """Every byte a run left in text form: the audit log, the call log, the world, ansible's tmp."""
        parts = []
        for path in self.tmp.rglob("*"):
            if path.is_file() and path.stat().st_size < 5_000_000:
                parts.append(path.read_bytes().decode("utf-8", "replace"))
        return "\n".join(parts)
