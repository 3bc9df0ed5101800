# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: cf invocations per procedure, from the rehearsal's call log, against the seed's manual steps.

The procedures run once each against a fresh rehearsal (bench_overhead.py's harness; ``--load RUNS.json`` reuses the
runs ``bench_overhead.py --save`` kept). The manual side, :data:`MANUAL`, is counted by hand from the seed
(../shared/seed/000_3f28d25508f40cd6.txt, docs/sops/seed.txt) and, where the seed points elsewhere, from what it points
to: cloud.gov's database backup steps for "Follow cloud.gov db backup steps", the TTA Hub's CI deploy job
(.circleci/config.yml, ttadp.md §2) for "deployed via the last step of our CI/CD pipeline", the counts script's
documentation for "See the cli script code". Neither side counts logging in (``cf login --sso``, which the operator
does once); ours counts the per-run session's own calls (``cf version``, ``cf target``; CI: ``cf api``, ``cf auth``) and
shows the count without them in the notes.

Prints rows for tests/bench/report.py; asserts nothing.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import typing as t

REPO = pathlib.Path(__file__).resolve().parents[2]
for entry in (str(REPO / ".collections"), str(REPO)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from tests.bench.bench_overhead import load, measure  # noqa: E402  pylint: disable=wrong-import-position
from tests.bench.report import emit  # noqa: E402  pylint: disable=wrong-import-position

SESSION = frozenset({"version", "api", "auth", "target"})

# procedure run -> (cf invocations typed by hand, all manual steps, what they are)
MANUAL: dict[str, tuple[int, int, str]] = {
    "scp_retrieve (production)": (
        5, 6,
        "cf allow-space-ssh; cf ssh-code; cf curl /v3/apps/$(cf app APP --guid)/processes | jq (2 cf); "
        "scp -P 2222 -o User=cf:GUID/0 ...; type the code; cf disallow-space-ssh",
    ),
    "ssh_access (production, one command)": (3, 3, "cf allow-space-ssh; cf ssh APP; cf disallow-space-ssh"),
    "ssh_access (staging, one command)": (1, 1, "cf ssh APP_NAME"),
    "prod_db_copy": (
        3, 5,
        "cf allow-space-ssh ttahub-prod; cloud.gov's backup steps: cf connect-to-service -no-client APP SERVICE, "
        "pg_dump; cf disallow-space-ssh ttahub-prod; wipe the local copy",
    ),
    "data_restore_local": (0, 2, "createdb, pg_restore (the seed says nothing: the dump is plaintext)"),
    "data_wipe": (0, 1, "rm the dump ('immediately wipe any production data from local storage')"),
    "app_deploy": (4, 4, "CI: cf login; cf push; cf run-task --wait (migrations); cf logs --recent"),
    "release_request": (0, 2, "open the PR main -> production; request the review (GitHub)"),
    "release_deploy": (0, 2, "approve the PR; merge it (GitHub)"),
    "audit_counts": (2, 2, "cf run-task APP --command 'yarn db:validation'; cf logs APP --recent"),
    "ssh_guard": (1, 1, "cf space-ssh-allowed ttahub-prod (the seed: not allowed by default in production)"),
}


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", help="runs kept by bench_overhead.py --save (else the procedures run now)")
    args = parser.parse_args(argv)
    runs = load(args.load) if args.load else measure()
    for run in runs:
        manual_cf, manual_steps, what = MANUAL.get(run.name, (None, None, "not a seed procedure"))
        commands = [c[0] if c else "" for c in run.cf_calls]
        work = [c for c in commands if c not in SESSION]
        note = f"without the session's own calls: {len(work)}; manual: {what} ({manual_steps} steps)"
        if run.rc != 0:
            note += f"; the run failed (rc {run.rc})"
        ratio = len(commands) / manual_cf if manual_cf else None
        emit(f"cf invocations: {run.name}", len(commands), "calls", baseline=manual_cf,
             baseline_label="typed by hand per the seed", ratio=ratio, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
