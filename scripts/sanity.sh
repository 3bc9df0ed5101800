#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# ansible-test sanity on exactly what ships: build the collection (build_ignore applies), install it in a scratch
# ansible_collections tree, and test it there. Offline: ansible-test's pip bootstrap is replaced by ensurepip.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
pyver=$($py -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
test_dir=$($py -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_ver=$(grep -oP "pip='\K[0-9.]+" "$test_dir/_internal/python_requirements.py" | head -1)
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
# ansible-test downloads get-pip.py to bootstrap pip in its sanity venvs; the internet is not reachable here.
cat > "$cache/get_pip_${pip_ver//./_}.py" <<'PY'
import subprocess, sys
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q'] + args)
PY
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/ansible-galaxy collection build --force --output-path "$work" . >/dev/null
.venv/bin/ansible-galaxy collection install --force -p "$work/c" "$work"/ttahub-ops-*.tar.gz >/dev/null
installed="$work/c/ansible_collections/ttahub/ops"
# tests/ does not ship (galaxy.yml). ansible-test reads its ignore files from tests/sanity/ of the tree it tests:
# should the repository ever need some, they are laid over the installed copy here, not shipped.
if [ -d tests/sanity ]; then mkdir -p "$installed/tests" && cp -a tests/sanity "$installed/tests/"; fi
cd "$installed"
"$OLDPWD/.venv/bin/ansible-test" sanity --python "$pyver" --color no "$@"
