#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The whole test suite (what .ci/run runs): pytest (unit, rehearsal, integration), ansible-lint (production profile),
# ansible-test sanity on the built collection, and the unit tests plus the foundation end to end again on
# ansible-core 2.19 / Python 3.11 (the oldest supported pair). Prints how long each part took.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
declare -a report=()
step() {
  local name=$1; shift
  local t0=$SECONDS
  echo "==> $name"
  "$@"
  report+=("$(printf '%-12s %4d s' "$name" $((SECONDS - t0)))")
}
step pytest .venv/bin/python -m pytest -q -n "${PYTEST_WORKERS:-2}" -p no:cacheprovider tests ${PYTEST_ARGS:-}
step ansible-lint .venv/bin/ansible-lint --offline -q
step sanity bash scripts/sanity.sh
step compat-2.19 bash scripts/compat.sh
echo "==> durations"
printf '  %s\n' "${report[@]}"
