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
$py -m rehearsal postgres stop --home "$REHEARSAL_HOME" >/dev/null 2>&1 || true
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

echo "==> Starting the rehearsal PostgreSQL behind the aws-rds services, with TTA Hub-shaped data"
trap '$py -m rehearsal postgres stop --home "$REHEARSAL_HOME" >/dev/null || true' EXIT
$py -m rehearsal postgres seed --home "$REHEARSAL_HOME" >/dev/null

# The rehearsal's GitHub for the release procedures (rehearsal/github_api.py), stopped however the rehearsal ends.
echo "==> Starting the rehearsal GitHub"
$py -m rehearsal.github_api start --home "$REHEARSAL_HOME" >/dev/null
stop_github() { $py -m rehearsal.github_api stop --home "$REHEARSAL_HOME" >/dev/null 2>&1 || true; }
earlier_exit_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap "stop_github; ${earlier_exit_trap}" EXIT
gh_token() { $py -m rehearsal.github_api token "$1" --home "$REHEARSAL_HOME"; }

run() { echo "==> $1"; shift; ansible-playbook -i "$inv" "$@"; }
run "Foundation: cf session, app info, space SSH toggle" rehearsal/playbooks/foundation.yml
run "Audit counts: the counts script as a cf task, its report compared with the last" playbooks/audit_counts.yml -e audit_counts_poll_interval=0.5
run "Access review: who holds cloud.gov roles, against the roster and the allowed list" playbooks/access_review.yml
GITHUB_TOKEN=$(gh_token paula-oduya-rehearsal) run "Release, first approval: Paula (Product Owner) opens the PR main -> production" playbooks/release_request.yml
$py -m rehearsal.github_api approve gideon-tamm-rehearsal --home "$REHEARSAL_HOME"   # the second approval, on GitHub
GITHUB_TOKEN=$(gh_token paula-oduya-rehearsal) run "Release: the two-person rule checked, the PR merged at the approved head" playbooks/release_deploy.yml
(set -a; . "$REHEARSAL_HOME/credentials.env"; set +a   # CI's service account, for this run only
  GITHUB_TOKEN=$(gh_token ttahub-rehearsal-ci) NEW_RELIC_LICENSE_KEY=rehearsal-license-key BUILD_BRANCH=production BUILD_NUMBER=1 \
  BUILD_COMMIT=$($py -m rehearsal.github_api head production --home "$REHEARSAL_HOME") BUILD_TIMESTAMP=$(date -u +%Y-%m-%dT%H:%M:%SZ) \
  run "CI's deploy step: the merge commit proven approved, rolling push, migrations, every web instance up" playbooks/app_deploy.yml \
    -e app_dir="$PWD/rehearsal/app" -e app_deploy_poll_interval=0.5)
# Production data access: the production app's own SSH flag on (a one-time change; the space keeps SSH off), the
# three approvers sign the copy's intent, the copy, a local restore in tmpfs, the wipe, the guard. Any copy left over
# when the rehearsal stops early is wiped on exit.
wipe_copies() {
  if grep -Lqs '"state": "wiped"' "$REHEARSAL_HOME"/ops/state/copies/*.json 2>/dev/null; then
    ansible-playbook -i "$inv" playbooks/data_wipe.yml -e all=true >/dev/null 2>&1 || true
  fi
}
earlier_exit_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap "wipe_copies; ${earlier_exit_trap}" EXIT
rehearsal/bin/cf enable-ssh tta-smarthub-prod >/dev/null
approvals="$REHEARSAL_HOME/approvals/prod_db_copy"
run "Production data copy, requested: the intent the PO, the GTM and the VTL sign" playbooks/approval_request.yml \
  -e sop=prod_db_copy -e approval_dir="$approvals" -e reason=REHEARSAL-1
$py -m rehearsal.personas --home "$REHEARSAL_HOME" --sign "$approvals" --persona paula --persona gideon --persona vera
run "Production data copy: SSH window, tunnel, pg_dump encrypted with age, SSH closed" playbooks/prod_db_copy.yml \
  -e reason=REHEARSAL-1 -e ops_approvals_dir="$approvals"
run "Production data: the copy restored in tmpfs, counted and checksummed" playbooks/data_restore_local.yml
run "Production data: the copy wiped (key destroyed, nothing left)" playbooks/data_wipe.yml -e all=true
# File retrieval and SSH access through the rehearsal SSH proxy (cloud.gov's ssh.fr.cloud.gov:2222 stand-in).
echo "==> Starting the rehearsal SSH proxy"
$py -m rehearsal.ssh_proxy start --home "$REHEARSAL_HOME" >/dev/null
stop_ssh_proxy() { $py -m rehearsal.ssh_proxy stop --home "$REHEARSAL_HOME" >/dev/null 2>&1 || true; }
earlier_exit_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap "stop_ssh_proxy; ${earlier_exit_trap}" EXIT
retrieval=(-e remote_path=/home/vcap/app/logs -e dest="$REHEARSAL_HOME/retrieved" -e instance=1 -e force=true)
approvals="$REHEARSAL_HOME/approvals/scp_retrieve"
run "File retrieval, requested: the intent the PO, the GTM and the VTL sign" playbooks/approval_request.yml \
  -e sop=scp_retrieve -e approval_dir="$approvals" "${retrieval[@]}"
$py -m rehearsal.personas --home "$REHEARSAL_HOME" --sign "$approvals" --persona paula --persona gideon --persona vera
run "File retrieval in production: SSH window, sftp with a pinned host key and one code per connection, SSH closed" \
  playbooks/scp_retrieve.yml "${retrieval[@]}" -e ops_approvals_dir="$approvals"
run "SSH access outside production (staging): space and app SSH on, one command through cf ssh" playbooks/ssh_access.yml \
  -e cf_space=ttahub-staging -e cf_app=tta-smarthub-staging -e ops_production=false -e "command='ls -l app/reports'"
run "SSH guard: no production SSH without a live window, no overdue copy" playbooks/ssh_guard.yml
run "Verify the audit log" playbooks/audit_verify.yml

echo "==> Summary"
$py -m rehearsal.summary --home "$REHEARSAL_HOME"
