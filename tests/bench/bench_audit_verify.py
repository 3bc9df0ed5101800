# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: verifying the audit log's hash chain over 100,000 records.

Writes a valid chain of 100,000 records shaped like the callback's (task records with a module's return values,
run_start/run_end, a module's audit events; about 400 bytes each) directly with ``_audit.canonical`` and
``_audit.record_hash``, then measures, side by side on the same file:

- ``_audit.verify`` (what the ``ttahub.ops.audit_verify`` module runs), against ``sha256sum`` of the file (reading and
  hashing every byte once: the floor for any check of the whole file);
- the ``audit_verify`` playbook end to end (Ansible's start-up included);
- ``_audit.append_record`` on the 100,000-record log, against appending to a fresh one (an append reads only the last
  record, so it must not grow with the log).

Prints rows for tests/bench/report.py; asserts nothing about time.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
for entry in (str(REPO / ".collections"), str(REPO)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from ansible_collections.ttahub.ops.plugins.module_utils import _audit  # noqa: E402  pylint: disable=wrong-import-position
from tests.bench.report import emit  # noqa: E402  pylint: disable=wrong-import-position

RECORDS = int(os.environ.get("BENCH_AUDIT_RECORDS", "100000"))
REPEAT = 3


def write_chain(path: pathlib.Path, count: int) -> int:
    """A valid chain of ``count`` records; returns the file's size."""
    prev = _audit.GENESIS
    run_id = "4f9a1c2e-7b1d-4c55-9e0a-3d2b1f6c8a90"
    with open(path, "wb") as handle:
        for index in range(count):
            kind = index % 10
            if kind == 0:
                body = {"event": "run_start", "playbook": "playbooks/prod_db_copy.yml", "operator": "vera",
                        "environment": "production", "user": "vera", "host": "gfe-laptop-17"}
            elif kind == 9:
                body = {"event": "run_end", "outcome": "success", "stats": {"ok": 31, "changed": 4, "failed": 0}}
            elif kind in (3, 6):
                body = {"event": "ssh_window_opened", "space": "ttahub-prod", "window_id": f"w-{index:08d}",
                        "opened_at": "2026-11-28T14:00:00Z", "deadline": "2026-11-28T14:30:00Z"}
            else:
                body = {"event": "task", "task": "Follow cloud.gov db backup steps", "status": "ok", "changed": True,
                        "module": "ttahub.ops.db_copy", "result": {"copy_id": f"ttahub-prod-{index:08d}",
                                                                   "ciphertext_bytes": 1_073_741_824 + index,
                                                                   "ciphertext_sha256": f"{index:064x}"}}
            record = {**body, "time": "2026-11-28T14:00:00Z", "run_id": run_id, "prev": prev}
            record["hash"] = _audit.record_hash(record)
            prev = record["hash"]
            handle.write(_audit.canonical(record) + b"\n")
    return path.stat().st_size


def timed(func, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        log = pathlib.Path(tmp) / "audit.jsonl"
        started = time.perf_counter()
        size = write_chain(log, RECORDS)
        written = time.perf_counter() - started

        result = _audit.verify(str(log))
        if not result.ok or result.count != RECORDS:
            print(f"the generated chain does not verify: {result}", file=sys.stderr)
            return 1
        verify_s = timed(lambda: _audit.verify(str(log)))
        sha_s = timed(lambda: subprocess.run(["sha256sum", str(log)], check=True, capture_output=True))
        emit(f"audit_verify over {RECORDS:,} records ({size / 1e6:.0f} MB)", verify_s, "s", baseline=sha_s,
             baseline_label="sha256sum of the file", note=f"{RECORDS / verify_s:,.0f} records/s; writing the chain took {written:.1f} s")

        env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "TTAHUB_OPS_AUDIT_LOG": str(log),
               "PATH": f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "ANSIBLE_NOCOLOR": "1"}
        argv = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "playbooks/audit_verify.yml",
                "-e", f"ops_audit_log={log}"]
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        playbook_s = time.perf_counter() - start
        empty = pathlib.Path(tmp) / "empty.jsonl"
        start = time.perf_counter()
        subprocess.run(argv[:-1] + [f"ops_audit_log={empty}"], cwd=REPO,
                       env={**env, "TTAHUB_OPS_AUDIT_LOG": str(empty)}, capture_output=True, text=True, check=False)
        playbook_empty_s = time.perf_counter() - start
        emit(f"audit_verify playbook over {RECORDS:,} records", playbook_s, "s", baseline=playbook_empty_s,
             baseline_label="the same playbook on an empty log",
             note="rc 0" if proc.returncode == 0 else f"rc {proc.returncode}: {proc.stdout[-300:]}")

        def append(path: pathlib.Path, count: int = 200) -> None:
            for index in range(count):
                _audit.append_record(str(path), "bench", "bench-run", index=index)

        fresh = pathlib.Path(tmp) / "fresh.jsonl"
        append_big = timed(lambda: append(log)) / 200
        append_fresh = timed(lambda: append(fresh)) / 200
        emit(f"append_record to a {RECORDS:,}-record log", append_big * 1000, "ms", baseline=append_fresh * 1000,
             baseline_label="to a short log", note="each append reads only the last record, locks and fsyncs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
