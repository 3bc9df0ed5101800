# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark (prints figures, asserts nothing): retrieving a 200 MB file from an instance through the rehearsal SSH
proxy, four ways in the same run, interleaved:

  scp          plain OpenSSH scp (the SOP's manual step 4; the code fetched beforehand, the key pinned)
  sftp         plain OpenSSH sftp get, the same
  module       ttahub.ops.cf_instance_copy in process (cf lookups, keyscan, 2 codes, 2 connections, checks, SHA-256)
  playbook     ansible-playbook playbooks/scp_retrieve.yml (outside production: session, gate, module, audit log)

    .venv/bin/python tests/bench/bench_scp.py [--mb 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
for entry in (str(REPO / ".collections"), str(REPO)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from ansible.module_utils.testing import patch_module_args  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.ttahub.ops.plugins.module_utils import _ssh  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.ttahub.ops.plugins.modules import cf_instance_copy  # noqa: E402  pylint: disable=wrong-import-position
from rehearsal import DEPLOYER, OPERATOR, ORG_NAME, cfconfig, seed, ssh_proxy  # noqa: E402  pylint: disable=wrong-import-position
from rehearsal import world as world_mod  # noqa: E402  pylint: disable=wrong-import-position

CF = str(REPO / "rehearsal" / "bin" / "cf")
SPACE, APP = "ttahub-staging", "tta-smarthub-staging"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-scp-"))
    home = tmp / "rehearsal"
    seed.seed(home)
    proxy = ssh_proxy.start(home)
    try:
        return run(args, tmp, home, proxy)
    finally:
        ssh_proxy.stop(home)
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: pathlib.Path, home: pathlib.Path, proxy: dict) -> int:
    runtime = tmp / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "REHEARSAL_HOME": str(home), "REHEARSAL_PYTHON": sys.executable, "XDG_RUNTIME_DIR": str(runtime),
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "TTAHUB_OPS_AUDIT_LOG": str(tmp / "audit.jsonl"),
           "PATH": f"{pathlib.Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    for key in ("CF_USERNAME", "CF_PASSWORD", "CI"):
        env.pop(key, None)
    os.environ.update({k: env[k] for k in ("REHEARSAL_HOME", "REHEARSAL_PYTHON", "XDG_RUNTIME_DIR")})
    cf_home = tmp / "cf"
    cf_home.mkdir()
    cfconfig.issue_session(home, cf_home, DEPLOYER, org=ORG_NAME, space=SPACE)
    operator = tmp / "operator"
    operator.mkdir()
    cfconfig.issue_session(home, operator, OPERATOR, org=ORG_NAME, space=SPACE)

    world = world_mod.load(home)
    app = world_mod.app_by_names(world, SPACE, APP)
    web = next(p["guid"] for p in world_mod.processes_of(world, app["guid"]) if p["type"] == "web")
    big = pathlib.Path(ssh_proxy.instance_root(home, web, 0)) / "home/vcap/app/big.bin"
    with open(big, "wb") as fh:
        for _ in range(args.mb):
            fh.write(os.urandom(1 << 20))
    size = big.stat().st_size
    keys = _ssh.parse_keyscan(subprocess.run(["ssh-keyscan", "-p", str(proxy["port"]), "127.0.0.1"], capture_output=True,
                                             text=True, check=False).stdout)
    keytype, key = _ssh.pin_host_key(keys, _ssh.parse_fingerprint(proxy["fingerprint"]), "proxy")
    workspace = _ssh.SshWorkspace("127.0.0.1", proxy["port"], keytype, key, base_dir=str(runtime))
    user = _ssh.proxy_user(web, 0)
    cf_env = {**env, "CF_HOME": str(cf_home)}

    def code() -> str:
        return subprocess.run([CF, "ssh-code"], env=cf_env, capture_output=True, text=True, check=True).stdout.strip()

    def plain(tool: str, out: pathlib.Path) -> float:
        secret = code()
        if tool == "scp":
            argv = ["scp", *workspace.options(user), "-o", "HostName=127.0.0.1", "-P", str(proxy["port"]),
                    "cloud-gov-ssh-proxy:app/big.bin", str(out)]
        else:
            argv = ["sftp", *workspace.options(user), "-o", "HostName=127.0.0.1", "-P", str(proxy["port"]), "-b",
                    workspace.batch([f"get {_ssh.sftp_quote('app/big.bin')} {_ssh.sftp_quote(str(out))}"]),
                    "cloud-gov-ssh-proxy"]
        start = time.monotonic()
        subprocess.run(argv, env=workspace.environment(secret), check=True, capture_output=True, start_new_session=True)
        return time.monotonic() - start

    def module(out: pathlib.Path) -> float:
        params = {"cf_cli": CF, "cf_home": str(cf_home), "app": APP, "remote_path": "app/big.bin", "dest": str(out),
                  "production": False, "_ansible_check_mode": False, "_ansible_no_log": False}
        buffer = io.StringIO()
        start = time.monotonic()
        with patch_module_args(params), contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            cf_instance_copy.main()
        elapsed = time.monotonic() - start
        result = json.loads(buffer.getvalue())
        assert result.get("size") == size, result.get("msg")
        return elapsed

    def playbook(out: pathlib.Path) -> float:
        argv = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/rehearsal",
                "playbooks/scp_retrieve.yml", "-e", f"cf_space={SPACE}", "-e", f"cf_app={APP}", "-e", "ops_production=false",
                "-e", "remote_path=/home/vcap/app/big.bin", "-e", f"dest={out}"]
        start = time.monotonic()
        done = subprocess.run(argv, cwd=REPO, env={**env, "CF_HOME": str(operator)}, capture_output=True, text=True,
                              check=False)
        elapsed = time.monotonic() - start
        if done.returncode != 0:
            raise SystemExit(done.stdout[-3000:])
        return elapsed

    ways = {"scp": lambda o: plain("scp", o / "big.bin"), "sftp": lambda o: plain("sftp", o / "big.bin"),
            "module": module, "playbook": playbook}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for round_no in range(args.rounds):
        for name, way in ways.items():
            out = tmp / f"out-{name}-{round_no}"
            out.mkdir(mode=0o700)
            times[name].append(way(out))
            shutil.rmtree(out)
    workspace.close()
    mib = size / (1 << 20)
    base = statistics.median(times["scp"])
    print(f"bench_scp: {mib:.0f} MiB through the rehearsal SSH proxy (asyncssh), {args.rounds} interleaved rounds, "
          f"median (min-max)")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<9} {median:6.2f} s ({min(values):.2f}-{max(values):.2f})  {mib / median:7.1f} MiB/s  "
              f"x{median / base:.2f} of plain scp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
