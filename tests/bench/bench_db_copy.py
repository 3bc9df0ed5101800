# Copyright (c) 2026, TTA Hub operations engineering
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark (not a test): the production data copy on a database of at least 1 GiB.

Against a rehearsal PostgreSQL grown with ``rehearsal.pg_bulk``, in the same run:

* a raw ``pg_dump -Fc -f FILE`` straight to the database (the baseline: what the manual SOP does, plaintext on disk);
* ``playbooks/prod_db_copy.yml`` end to end (signed approvals, the SSH window, the emulated cf-service-connect tunnel
  with the real plugin's 6 s delay, ``pg_dump -Fc`` piped through this process into ``age``);

and prints the copy's throughput against the raw dump's, and how long space SSH was open against how long the dump
took. Figures only; nothing is asserted.

    .venv/bin/python tests/bench/bench_db_copy.py [--size-mb 1024] [--tunnel-delay 6]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
for path in (str(REPO / ".collections"), str(REPO)):
    if path not in sys.path:
        sys.path.insert(0, path)

from rehearsal import pg_bulk, postgres  # noqa: E402  pylint: disable=wrong-import-position
from rehearsal.commands import connect  # noqa: E402  pylint: disable=wrong-import-position
from tests.support.prod_db_copy import CopyRehearsal, events, wipe_copies  # noqa: E402  pylint: disable=wrong-import-position

MIB = 1 << 20


def seconds_between(start: str, end: str) -> float:
    parse = lambda text: datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="database size to reach (pg_database_size), MiB")
    parser.add_argument("--tunnel-delay", type=float, default=6.0, help="the plugin's wait before 'SSH tunnel created.'")
    args = parser.parse_args()
    root = pathlib.Path(tempfile.mkdtemp(prefix="bench-db-copy-"))
    r = None
    try:
        t0 = time.monotonic()
        r = CopyRehearsal(root)
        connect.set_tunnel_delay(r.home, args.tunnel_delay)
        grown = pg_bulk.fill(r.home, target_bytes=args.size_mb * MIB)
        print(f"database: {grown['bytes'] / MIB:.0f} MiB (pg_database_size), {grown['rows_added']} rows added in "
              f"{grown['seconds']:.1f} s; setup {time.monotonic() - t0:.1f} s")

        conn = postgres.connection(r.home)
        raw_file = root / "raw.pgdump"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = conn["password"]
        started = time.monotonic()
        subprocess.run([shutil.which("pg_dump", path="/usr/lib/postgresql/15/bin") or "pg_dump", "-Fc", "--no-acl", "--no-owner",
                        "-h", conn["host"], "-p", str(conn["port"]), "-U", conn["user"], "-d", conn["dbname"], "-f", str(raw_file)],
                       env=env, check=True)
        raw_s = time.monotonic() - started
        raw_bytes = raw_file.stat().st_size
        raw_file.unlink()
        print(f"raw pg_dump -Fc to a file: {raw_bytes / MIB:.1f} MiB in {raw_s:.1f} s = {raw_bytes / MIB / raw_s:.1f} MiB/s "
              f"of dump ({grown['bytes'] / MIB / raw_s:.1f} MiB/s of database)")

        tmp = root / "run"
        tmp.mkdir()
        started = time.monotonic()
        proc = r.copy(tmp, timeout=3600)
        playbook_s = time.monotonic() - started
        if proc.returncode != 0:
            print(proc.stdout[-4000:])
            print("the copy failed: no figures")
            return 1
        done = events(tmp, "data_copy_dump_finished")[0]
        window = events(tmp, "ssh_window_closed")[0]
        progress = [line for line in proc.stdout.splitlines() if line.startswith("Dump in progress:")]
        copy_s = float(done["seconds"])
        open_s = seconds_between(window["opened_at"], window["closed_at"])
        print(f"copy (pg_dump -Fc | age): {done['plaintext_bytes'] / MIB:.1f} MiB dumped, {done['ciphertext_bytes'] / MIB:.1f} MiB "
              f"encrypted, in {copy_s:.1f} s = {done['plaintext_bytes'] / MIB / copy_s:.1f} MiB/s "
              f"({100.0 * raw_s / copy_s:.0f}% of the raw dump's rate); {len(progress)} progress lines")
        print(f"space SSH open {open_s:.1f} s (from allow-space-ssh to disallow-space-ssh) for a {copy_s:.1f} s dump: "
              f"{open_s - copy_s:.1f} s more, of which {args.tunnel_delay:.0f} s is the plugin's tunnel delay")
        print(f"the whole prod_db_copy playbook: {playbook_s:.1f} s")
        print(json.dumps({"database_bytes": grown["bytes"], "raw_seconds": round(raw_s, 2), "raw_bytes": raw_bytes,
                          "copy_seconds": copy_s, "copy_plaintext_bytes": done["plaintext_bytes"],
                          "copy_ciphertext_bytes": done["ciphertext_bytes"], "ssh_open_seconds": round(open_s, 2),
                          "playbook_seconds": round(playbook_s, 2), "progress_lines": len(progress)}))
        wipe_copies(tmp)
        return 0
    finally:
        if r is not None:
            r.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
