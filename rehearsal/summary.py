# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a rehearsal did: cf calls per command, the audit log's verdict and its evidence, the state left behind.

    python -m rehearsal.summary [--home DIR] [--audit-log FILE]

The verdict comes from the collection's public module ``ttahub.ops.audit_verify``, run ad hoc on localhost (as an
operator could), never from its private module_utils: the rehearsal uses the collection the way its users do.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
EVIDENCE = (
    "approval_gate_passed", "approval_gate_failed", "release_gate_passed", "release_merged", "app_pushed",
    "deployment_canceled", "space_ssh_allowed", "space_ssh_disallowed", "ssh_window_opened", "ssh_window_closed",
    "ssh_window_suspicious", "ssh_guard_disallowed", "instance_file_copied", "instance_command_run",
    "data_copy_dump_finished", "data_restored", "data_copy_wiped", "audit_counts_completed", "access_review_completed",
)


def verify_audit_log(path: pathlib.Path) -> dict:
    """The result of ``ansible localhost -m ttahub.ops.audit_verify`` on ``path``: ``ok``, ``records``, ``reason``.

    Only the stdout callback runs (ad hoc ansible loads no other callback unless told to), so this check adds no run
    to the log it verifies. The collection comes from ``ANSIBLE_CONFIG``, by default the repository's ansible.cfg.
    """
    ansible = pathlib.Path(sys.executable).parent / "ansible"
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": os.environ.get("ANSIBLE_CONFIG") or str(REPO / "ansible.cfg"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "0",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_NOCOLOR": "1",
    }
    argv = [
        str(ansible) if ansible.exists() else "ansible", "localhost", "-i", "localhost,", "-c", "local",
        "-m", "ttahub.ops.audit_verify", "-a", json.dumps({"path": str(path)}),
        # Interpreter discovery can pick a broken shim: the module runs with this Python, which has ansible.
        "-e", json.dumps({"ansible_python_interpreter": sys.executable}),
    ]
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)
    # The minimal callback prints "localhost | SUCCESS => {...}" (or "| FAILED! =>") with the module's result.
    _, sep, body = proc.stdout.partition(" => ")
    try:
        result, _ = json.JSONDecoder().raw_decode(body.lstrip()) if sep else (None, 0)
    except ValueError:
        result = None
    if not isinstance(result, dict) or "ok" not in result:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or [f"rc {proc.returncode}"]
        return {"ok": False, "records": 0, "reason": f"ttahub.ops.audit_verify did not run ({detail[0]})"}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal.summary")
    parser.add_argument("--home", default=os.environ.get("REHEARSAL_HOME", str(REPO / "rehearsal" / ".state")))
    parser.add_argument("--audit-log", default=None)
    args = parser.parse_args(argv)
    home = pathlib.Path(args.home)
    audit_log = pathlib.Path(args.audit_log or home / "ops" / "audit.jsonl")

    calls = [json.loads(line) for line in (home / "calls.jsonl").read_text().splitlines() if line.strip()] if (home / "calls.jsonl").exists() else []
    per_command = collections.Counter(c["argv"][0] if c["argv"] else "?" for c in calls)
    failed = sum(1 for c in calls if c.get("exit_code") not in (0,))
    print(f"cf calls: {len(calls)} ({failed} non-zero)")
    for command, count in per_command.most_common():
        print(f"  {count:4d}  cf {command}")

    if audit_log.exists():
        result = verify_audit_log(audit_log)
        records = [json.loads(line) for line in audit_log.read_text().splitlines() if line.strip()]
        runs = collections.OrderedDict()
        for rec in records:
            if rec["event"] == "run_start":
                runs[rec["run_id"]] = rec.get("playbook_name") or rec.get("playbook", "?")
        outcomes = {rec["run_id"]: rec.get("outcome") for rec in records if rec["event"] == "run_end"}
        print(f"audit log: {audit_log}: {result['records']} records, chain {'verified' if result['ok'] else 'BROKEN: ' + str(result['reason'])}")
        for run_id, name in runs.items():
            print(f"  run {run_id[:8]}  {outcomes.get(run_id, 'no run_end')!s:8}  {os.path.basename(str(name))}")
        evidence = collections.Counter(rec["event"] for rec in records if rec["event"] in EVIDENCE)
        for event, count in evidence.items():
            print(f"  {count:4d}  {event}")
        ok = bool(result["ok"])
    else:
        print(f"audit log: {audit_log} missing")
        ok = False

    from rehearsal import world as world_mod  # pylint: disable=import-outside-toplevel

    world = world_mod.load(home)
    spaces = world["spaces"].values() if isinstance(world["spaces"], dict) else world["spaces"]
    open_spaces = [s["name"] for s in spaces if s.get("allow_ssh") and s["name"].endswith("-prod")]
    print(f"production space SSH at the end: {'ALLOWED in ' + ', '.join(open_spaces) if open_spaces else 'disallowed'}")
    return 0 if ok and not open_spaces else 1


if __name__ == "__main__":
    sys.exit(main())
