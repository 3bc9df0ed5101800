# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""A rehearsal for the production data copy: a seeded world with a real PostgreSQL (the marker seeded in), the SSO
operator's session, signed approvals made in process, runs of the playbooks, and the checks every outcome must pass
(space SSH disallowed, no SERVICE_CONNECT key, no plaintext on disk, the outcome in a verified audit log)."""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import subprocess
import sys
import time
import typing as t

import yaml

from ansible_collections.ttahub.ops.plugins.module_utils import _approval, _audit
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from rehearsal import cfconfig, faults, personas, postgres, seed
from rehearsal import world as world_mod
from rehearsal.commands import connect

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
INVENTORY = REPO / "inventories" / "rehearsal"
ORG, SPACE, APP, SERVICE = "hhs-acf-ohs-tta", "ttahub-prod", "tta-smarthub-prod", "ttahub-prod"
OPERATOR = "operator@rehearsal.gov"
DROP_ENV = ("CF_USERNAME", "CF_PASSWORD", "CF_HOME", "TTAHUB_OPS_RUN_ID", "TTAHUB_OPS_CONTROLLER_PID", "TTAHUB_OPS_AUDIT_LOG",
            "CI", "ANSIBLE_CONFIG", "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CALLBACK_PLUGINS", "REHEARSAL_HOME")


class CopyRehearsal:
    """One rehearsal cloud with its PostgreSQL, shared by the tests of one module (one per xdist worker)."""

    def __init__(self, root: pathlib.Path, *, scale: int = 1, database: bool = True) -> None:
        self.root = root
        self.home = root / "rehearsal"
        self.database = database
        seed.seed(self.home)
        personas.ensure(self.home)
        self.marker = f"TTAHUB-PROD-MARKER-{secrets.token_hex(10)}"
        if database:
            postgres.start(self.home)
            postgres.seed(self.home, scale=scale, marker=self.marker, services=[SERVICE])
            self.source = postgres.connection(self.home, SERVICE)
        connect.set_tunnel_delay(self.home, 0.1)
        world_mod.set_app_ssh(self.home, SPACE, APP, True)  # the production app's own SSH flag; the space keeps SSH off
        policies = yaml.safe_load((INVENTORY / "group_vars" / "all" / "policies.yml").read_text())["ops_approval_policies"]
        self.attestations = policies["prod_db_copy"]["attestations"]

    def close(self) -> None:
        if self.database:
            postgres.destroy(self.home)

    # -- per test ------------------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Every test starts from production's normal state: space SSH off, no faults, no SERVICE_CONNECT key."""
        faults.clear(self.home)
        with world_mod.transaction(self.home) as world:
            for space in world["spaces"].values():
                if space["name"] == SPACE:
                    space["allow_ssh"] = False
            world["service_keys"] = {g: k for g, k in world["service_keys"].items() if k["name"] != "SERVICE_CONNECT"}

    def run_env(self, tmp: pathlib.Path) -> dict[str, str]:
        operator_home = tmp / "operator-cf"
        cfconfig.issue_session(self.home, operator_home, OPERATOR, org=ORG, space=SPACE)
        env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            REHEARSAL_HOME=str(self.home),
            TTAHUB_OPS_AUDIT_LOG=str(tmp / "audit.jsonl"),
            CF_HOME=str(operator_home),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
        )
        return env

    def sign(self, tmp: pathlib.Path, reason: str = "INC-42", signers: t.Sequence[str] = ("paula", "gideon", "vera"),
             **parameters: t.Any) -> pathlib.Path:
        """An intent for this run, signed by the personas (what approval_request.yml and the approvers do)."""
        params = {"reason": reason, "window_minutes": 30, "keep_hours": 24, **parameters}
        intent = _approval.build_intent(sop="prod_db_copy", policy="prod_db_copy", environment="rehearsal", org=ORG, space=SPACE,
                                        app=APP, service=SERVICE, parameters=params, attestations=self.attestations, ttl=3600)
        folder = tmp / f"approvals-{secrets.token_hex(3)}"
        folder.mkdir()
        (folder / "intent.json").write_bytes(_approval.render_intent(intent))
        for persona in signers:
            personas.sign(folder, persona, self.home)
        return folder

    def playbook_argv(self, name: str, tmp: pathlib.Path, *extra: str) -> list[str]:
        return [str(VENV_BIN / "ansible-playbook"), "-i", str(INVENTORY), f"playbooks/{name}.yml",
                "-e", f"ops_state_dir={tmp / 'state'}", *extra]

    def run(self, name: str, tmp: pathlib.Path, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.playbook_argv(name, tmp, *extra), cwd=REPO, env=self.run_env(tmp), text=True,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)

    def copy(self, tmp: pathlib.Path, *extra: str, reason: str = "INC-42", **kwargs: t.Any) -> subprocess.CompletedProcess[str]:
        approvals = self.sign(tmp, reason)
        return self.run("prod_db_copy", tmp, "-e", f"reason={reason}", "-e", f"ops_approvals_dir={approvals}",
                        "-e", "db_copy_progress_every=1", *extra, **kwargs)

    # -- what the world and the disk say -------------------------------------------------------------------------------

    def space_ssh_allowed(self) -> bool:
        world = world_mod.load(self.home)
        return next(s["allow_ssh"] for s in world["spaces"].values() if s["name"] == SPACE)

    def service_keys(self) -> list[str]:
        world = world_mod.load(self.home)
        return sorted(k["name"] for k in world["service_keys"].values())

    def source_checksums(self) -> dict[str, t.Any]:
        from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.checksums import table_checksums  # pylint: disable=import-outside-toplevel

        return table_checksums(lambda sql: postgres.query(self.source, sql))


def audit(tmp: pathlib.Path) -> list[dict[str, t.Any]]:
    path = tmp / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def events(tmp: pathlib.Path, name: str) -> list[dict[str, t.Any]]:
    return [r for r in audit(tmp) if r["event"] == name]


def wait_for(predicate: t.Callable[[], bool], timeout: float = 10.0, step: float = 0.1) -> float | None:
    """Seconds until ``predicate()`` held, or None if it never did within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    return time.monotonic() - started if predicate() else None


def plaintext_on_disk(marker: str, roots: t.Iterable[pathlib.Path], skip: t.Iterable[pathlib.Path] = ()) -> list[str]:
    """Files under ``roots`` that hold the marker, or that start like a pg_dump custom-format archive (``PGDMP``,
    whose table data is compressed, so the marker alone would not find it)."""
    needle = marker.encode()
    skipped = [str(p) for p in skip]
    found = []
    for root in roots:
        if not root.exists():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not any(os.path.join(folder, d).startswith(s) for s in skipped)]
            for name in files:
                path = os.path.join(folder, name)
                if any(path.startswith(s) for s in skipped) or name.startswith("PostgreSQL."):
                    continue  # PostgreSQL.*: dynamic shared memory of the running rehearsal server (the source)
                try:
                    with open(path, "rb") as handle:
                        head = handle.read(5)
                        if head == b"PGDMP":
                            found.append(f"{path} (a pg_dump archive)")
                            continue
                        handle.seek(0)
                        tail = b""
                        for chunk in iter(lambda: handle.read(1 << 20), b""):
                            if needle in tail + chunk:
                                found.append(path)
                                break
                            tail = chunk[-len(needle):]
                except OSError:
                    continue
    return found


def copy_files(tmp: pathlib.Path) -> list[str]:
    """Ciphertexts, partial files and identities of the copies of this test."""
    state = tmp / "state"
    records = [json.loads(p.read_text()) for p in (state / "copies").glob("*.json")] if (state / "copies").exists() else []
    paths = []
    for record in records:
        for key in ("ciphertext_path", "identity_path"):
            if record.get(key):
                paths += [record[key], record[key] + ".partial"]
    return [p for p in paths if os.path.lexists(p)]


def assert_closed_and_clean(r: CopyRehearsal, tmp: pathlib.Path, *, within: float = 10.0) -> dict[str, t.Any]:
    """What every outcome, success or failure or kill, must leave: SSH disallowed, no key, no lease open, no tunnel
    or dump process, no file of a failed copy, no plaintext of the data, a verified audit log."""
    waited = wait_for(lambda: not r.space_ssh_allowed() and "SERVICE_CONNECT" not in r.service_keys()
                      and not sw.leases(str(tmp / "state")), timeout=within)
    assert waited is not None, (f"after {within} s: SSH allowed={r.space_ssh_allowed()}, keys={r.service_keys()}, "
                                f"leases={sw.leases(str(tmp / 'state'))}")
    closed = list((tmp / "state" / "leases" / "closed").glob("*.json")) if (tmp / "state" / "leases" / "closed").exists() else []
    for path in closed:
        lease = sw.read_lease(str(path))
        for pid_key in ("watchdog_pid",):
            assert wait_for(lambda: not sw.process_alive(lease.get(pid_key), lease.get("watchdog_start")), 5) is not None
        for attachment in lease.get("attachments") or []:
            if attachment["kind"] == "process":
                assert not sw.process_alive(attachment["pid"], attachment.get("start")), attachment
    leftovers = plaintext_on_disk(r.marker, [tmp, r.home, pathlib.Path("/dev/shm"), pathlib.Path.home() / ".ansible" / "tmp"],
                                  skip=[r.home / "postgres"])
    assert leftovers == [], f"plaintext of the data on disk: {leftovers}"
    verified = _audit.verify(str(tmp / "audit.jsonl"))
    assert verified.ok, verified
    return {"seconds_to_clean": waited}


def wipe_copies(tmp: pathlib.Path) -> None:
    """After a test, whatever it did: stop and remove restored clusters, destroy identities, remove ciphertexts."""
    from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy import keys, records, wipe  # pylint: disable=import-outside-toplevel
    from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError  # pylint: disable=import-outside-toplevel

    state = str(tmp / "state")
    for record in records.list_records(state):
        try:
            wipe.wipe_copy(state_dir=state, copy_id=record["copy_id"])
        except CopyError:
            if record.get("identity_path"):
                keys.destroy_identity(record["identity_path"])
