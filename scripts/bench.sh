#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make bench: benchmarks print figures and assert nothing. Each is a script under tests/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
echo "==> The production data copy on a 1 GiB database: the copy against a raw pg_dump, SSH open against the dump"
.venv/bin/python tests/bench/bench_db_copy.py "$@"
echo "==> File retrieval of a 200 MB file: scp_retrieve (module, playbook) against plain OpenSSH scp and sftp, same proxy"
.venv/bin/python tests/bench/bench_scp.py
