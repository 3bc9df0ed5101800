#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The oldest supported pair, ansible-core 2.19 on Python 3.11, next to the newest that `make setup` picked:
# the same pinned requirements (markers pick 2.19) in .venv-py311, then the unit tests and the foundation end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
py=""
for p in python3.11 "$(command -v pyenv >/dev/null 2>&1 && echo "$(pyenv root)"/versions/3.11.*/bin/python3.11)" /usr/bin/python3.11; do
  [ -n "$p" ] || continue
  if "$p" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' >/dev/null 2>&1; then py=$p; break; fi
done
if [ -z "$py" ]; then
  echo "compat: no Python 3.11 on this machine; the ansible-core 2.19 leg did not run" >&2
  exit 1
fi
venv=.venv-py311
stamp=$venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x $venv/bin/python ] || [ "$(cat $stamp 2>/dev/null)" != "$want" ]; then
  rm -rf $venv
  "$py" -m venv $venv
  if ! $venv/bin/python -m pip install -q -r requirements.txt >$venv/pip.log 2>&1; then
    grep -v 'is ignored' $venv/pip.log >&2; exit 1
  fi
  echo "$want" > $stamp
fi
echo "compat: $($venv/bin/ansible --version | head -1) on $($venv/bin/python --version)"
PATH="$PWD/$venv/bin:$PATH" $venv/bin/python -m pytest -q -p no:cacheprovider -n 2 tests/unit/plugins tests/integration/test_foundation.py
