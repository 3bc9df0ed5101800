#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make bench: benchmarks print figures and assert nothing. Each is a script under tests/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
# Everything the benchmarks print is also kept, and tests/bench/report.py prints their rows as one table at the end.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
exec > >(tee "$work/output.txt") 2>&1
echo "==> The production data copy on a 1 GiB database: the copy against a raw pg_dump, SSH open against the dump"
.venv/bin/python tests/bench/bench_db_copy.py "$@"
echo "==> File retrieval of a 200 MB file: scp_retrieve (module, playbook) against plain OpenSSH scp and sftp, same proxy"
.venv/bin/python tests/bench/bench_scp.py
echo "==> Every procedure once on the rehearsal: the controller's own time (wall time minus external commands)"
.venv/bin/python tests/bench/bench_overhead.py --save "$work/runs.json"
echo "==> cf invocations per procedure (the emulator's call log) against the seed's manual steps"
.venv/bin/python tests/bench/bench_cf_calls.py --load "$work/runs.json"
echo "==> audit_verify over 100,000 records"
.venv/bin/python tests/bench/bench_audit_verify.py
echo "==> The figures, side by side"
.venv/bin/python tests/bench/report.py "$work/output.txt"
