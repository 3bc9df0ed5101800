#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Create .venv with the newest working Python >= 3.11 and link the collection in place.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  local candidates=() v p
  for v in 3.14 3.13 3.12 3.11; do
    command -v "python$v" >/dev/null 2>&1 && candidates+=("$(command -v "python$v")")
    if command -v pyenv >/dev/null 2>&1; then
      for p in "$(pyenv root)"/versions/"$v".*/bin/python"$v"; do
        [ -x "$p" ] && candidates+=("$p")
      done
    fi
  done
  candidates+=(/usr/bin/python3)
  for p in "${candidates[@]}"; do
    # A pyenv shim for a version that is not selected exits 127: really run each candidate.
    if "$p" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; then
      echo "$p"; return 0
    fi
  done
  return 1
}

if [ -n "${OPS_PYTHON:-}" ]; then py="$OPS_PYTHON"; else py="$(pick_python)" || {
  echo "Failed to find Python: no python3.11 or newer that can create a venv. Install Python >= 3.11 (with venv) and run make setup again." >&2
  exit 1
}; fi

stamp=.venv/.requirements.sha256
want="$(sha256sum requirements.txt | cut -d' ' -f1) $("$py" -c 'import sys;print(sys.version.split()[0])')"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv with $py"
  rm -rf .venv
  "$py" -m venv .venv
  # pip prints a harmless "Location ... is ignored" line per local index on these machines: keep the log, show errors.
  if ! .venv/bin/python -m pip install -q -r requirements.txt >.venv/pip.log 2>&1; then
    grep -v 'is ignored' .venv/pip.log >&2
    echo "Failed to install requirements.txt into .venv: see the pip output above. Check that PyPI is reachable and run make setup again." >&2
    rm -f "$stamp"; exit 1
  fi
  .venv/bin/python -m pip check
  echo "$want" > "$stamp"
fi

# The repository root is the collection: expose it as ansible_collections/ttahub/ops.
mkdir -p .collections/ansible_collections/ttahub
ln -sfn ../../.. .collections/ansible_collections/ttahub/ops
echo "setup: $(.venv/bin/ansible --version | head -1) on $(.venv/bin/python --version)"
