# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) 2026, TTA Hub operations engineering
"""Rehearsal personas: one invented person per approver role, each with their own SSH key pair.

``python -m rehearsal.personas [--home DIR]`` creates (once) ``DIR/personas/<id>`` (private key, mode 0600) and
``<id>.pub`` with ``ssh-keygen -t ed25519``, plus ``personas.json``. The rehearsal inventory's roster
(``inventories/rehearsal/group_vars/all/roster.yml``) reads the public keys from there, so `make rehearsal` and the
tests can sign approvals as each persona:

``python -m rehearsal.personas --sign DIR --persona paula --persona gideon`` runs, for each persona, exactly what an
approver runs (``ssh-keygen -Y sign -n ttahub-ops -f <key> DIR/intent.json``) and saves the signature as
``DIR/<id>.sig``.

The keys live only under REHEARSAL_HOME (default ``rehearsal/.state``, git-ignored); they have no passphrase and
must never be used for anything but the rehearsal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

NAMESPACE = "ttahub-ops"

PERSONAS: tuple[dict[str, object], ...] = (
    {"id": "paula", "name": "Paula Oduya", "roles": ["product_owner"],
     "github": "paula-oduya-rehearsal", "email": "paula.oduya@rehearsal.invalid"},
    {"id": "gideon", "name": "Gideon Tamm", "roles": ["government_technical_monitor"],
     "github": "gideon-tamm-rehearsal", "email": "gideon.tamm@rehearsal.invalid"},
    {"id": "vera", "name": "Vera Lindqvist", "roles": ["vendor_tech_lead"],
     "github": "vera-lindqvist-rehearsal", "email": "vera.lindqvist@rehearsal.invalid"},
    {"id": "milo", "name": "Milo Park", "roles": ["vendor_product_manager"],
     "github": "milo-park-rehearsal", "email": "milo.park@rehearsal.invalid"},
)
IDS = tuple(str(p["id"]) for p in PERSONAS)


def default_home() -> Path:
    env = os.environ.get("REHEARSAL_HOME")
    return Path(env) if env else Path(__file__).resolve().parent / ".state"


def _keygen() -> str:
    path = shutil.which("ssh-keygen")
    if not path:
        raise SystemExit("Failed to create the personas' keys: ssh-keygen was not found. Install openssh-client.")
    return path


def folder(home: Path) -> Path:
    return Path(home) / "personas"


def private_key(home: Path, persona_id: str) -> Path:
    return folder(home) / persona_id


def ensure(home: Path | None = None) -> list[dict[str, object]]:
    """Create the personas' key pairs under HOME/personas (keeping existing ones); return the roster entries."""
    base = folder(Path(home) if home else default_home())
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o700)
    keygen = _keygen()
    roster = []
    for persona in PERSONAS:
        key = base / str(persona["id"])
        pub = key.with_name(key.name + ".pub")
        if not (key.exists() and pub.exists()):
            key.unlink(missing_ok=True)
            pub.unlink(missing_ok=True)
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-C", f"{persona['id']}@ttahub-rehearsal", "-f", str(key)],
                check=True, timeout=30, stdin=subprocess.DEVNULL,
            )
        os.chmod(key, 0o600)
        roster.append({**persona, "ssh_public_key": pub.read_text(encoding="utf-8").strip()})
    (base / "personas.json").write_text(json.dumps(roster, indent=2) + "\n", encoding="utf-8")
    return roster


def sign(approvals_dir: Path, persona_id: str, home: Path | None = None) -> Path:
    """Sign APPROVALS_DIR/intent.json as the persona, the way an approver does; return the <id>.sig path."""
    if persona_id not in IDS:
        raise SystemExit(f"Failed to sign as {persona_id!r}: not a persona ({', '.join(IDS)}).")
    key = private_key(Path(home) if home else default_home(), persona_id)
    if not key.exists():
        raise SystemExit(f"Failed to sign as {persona_id}: {key} does not exist. Run python -m rehearsal.personas first.")
    intent = Path(approvals_dir) / "intent.json"
    raw = intent.with_name("intent.json.sig")
    raw.unlink(missing_ok=True)
    subprocess.run(
        [_keygen(), "-q", "-Y", "sign", "-n", NAMESPACE, "-f", str(key), str(intent)],
        check=True, timeout=30, stdin=subprocess.DEVNULL, capture_output=True,
    )
    target = intent.with_name(f"{persona_id}.sig")
    raw.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal.personas", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=None, help="REHEARSAL_HOME (default: $REHEARSAL_HOME or rehearsal/.state)")
    parser.add_argument("--sign", type=Path, metavar="DIR", help="sign DIR/intent.json as each --persona")
    parser.add_argument("--persona", action="append", default=[], choices=IDS, help="persona to sign as (repeat)")
    args = parser.parse_args(argv)
    home = args.home or default_home()
    roster = ensure(home)
    if args.sign:
        for persona_id in args.persona or []:
            print(f"signed {sign(args.sign, persona_id, home)}")
        return 0
    for entry in roster:
        print(f"{entry['id']:<8} {entry['name']:<16} {', '.join(entry['roles'])}  key {private_key(home, str(entry['id']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
