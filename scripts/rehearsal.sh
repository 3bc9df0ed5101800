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
# Production SOPs are done by people: the operator logs in with cf login --sso into their own CF_HOME, which each run
# copies into a private per-run session. (CI's service account is for app_deploy only: it cannot open space SSH.)
export CF_HOME="$REHEARSAL_HOME/operator"
mkdir -p "$CF_HOME"
unset CF_USERNAME CF_PASSWORD
rehearsal/bin/cf login -a https://api.rehearsal.cloud.gov.invalid --sso-passcode "$($py -m rehearsal passcode --home "$REHEARSAL_HOME")" \
  -o hhs-acf-ohs-tta -s ttahub-prod >/dev/null

run() { echo "==> $1"; shift; ansible-playbook -i "$inv" "$@"; }
run "Foundation: cf session, app info, space SSH toggle" rehearsal/playbooks/foundation.yml
run "Access review: who holds cloud.gov roles, against the roster and the allowed list" playbooks/access_review.yml
run "Verify the audit log" playbooks/audit_verify.yml

echo "==> Summary"
$py -m rehearsal.summary --home "$REHEARSAL_HOME"
