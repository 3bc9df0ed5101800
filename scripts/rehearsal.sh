#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make rehearsal: seed the rehearsal cloud, run the SOPs end to end against it, print a summary, stop what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
export REHEARSAL_HOME="${REHEARSAL_HOME:-$PWD/rehearsal/.state}"
py=.venv/bin/python
inv=inventories/rehearsal

echo "==> Seeding a fresh rehearsal cloud in $REHEARSAL_HOME"
rm -rf "$REHEARSAL_HOME"
$py -m rehearsal seed --home "$REHEARSAL_HOME"
$py -m rehearsal.personas --home "$REHEARSAL_HOME"
# CI's service account: read from the environment by `cf auth`, never put on argv.
set -a; . "$REHEARSAL_HOME/credentials.env"; set +a

run() { echo "==> $1"; shift; ansible-playbook -i "$inv" "$@"; }
run "Foundation: cf session, app info, space SSH toggle" rehearsal/playbooks/foundation.yml
run "Verify the audit log" playbooks/audit_verify.yml

echo "==> Summary"
$py -m rehearsal summary --home "$REHEARSAL_HOME"
