#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: db_restore_local
short_description: Restore an encrypted database copy into a throwaway local PostgreSQL cluster in memory
description:
  - Checks the encrypted copy's SHA-256 against its record (made by M(ttahub.ops.db_copy)), then creates a new
    PostgreSQL cluster whose data directory is in memory-backed storage (tmpfs, C(/dev/shm) by default), so the
    plaintext never lands on a persistent disk.
  - The cluster listens on a Unix socket only, in a 0700 folder, with no TCP port.
  - Decrypts the copy as a stream (C(age -d)) straight into C(pg_restore --single-transaction --no-owner --no-acl);
    a late decryption error (a cut or altered file) fails the whole restore and nothing stays half-restored.
  - Counts the rows of every table and computes a checksum of the data (an order-independent digest of every row),
    and returns how to connect.
  - A disk-backed target (O(base_dir) not on tmpfs) is refused unless O(allow_disk=true), and then warned about.
  - As root, the server runs as the C(postgres) user (PostgreSQL refuses to run as root).
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Checks the copy and the target and reports what it would do.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  copy_id:
    description: The copy (as M(ttahub.ops.db_copy) returned it). Defaults to the newest copy that can be restored.
    type: str
  state_dir:
    description: The ttahub.ops state directory (C(ops_state_dir)) that holds the copies' records.
    type: path
  base_dir:
    description: Where the cluster's folder is made; it should be memory-backed.
    type: path
    default: /dev/shm
  allow_disk:
    description: Accept a O(base_dir) that is not memory-backed.
    type: bool
    default: false
  database:
    description: The name of the restored database.
    type: str
    default: ttahub_copy
  port:
    description: The port number of the cluster's socket; a free one by default.
    type: int
  checksum:
    description: Count and checksum every table after the restore.
    type: bool
    default: true
  pg_bin_dir:
    description: The folder of C(initdb), C(pg_ctl), C(pg_restore) and C(psql); the newest C(/usr/lib/postgresql/*/bin) by default.
    type: path
  age_bin_dir:
    description: The folder of C(age); E(PATH) by default.
    type: path
requirements:
  - PostgreSQL server tools (C(initdb), C(pg_ctl)) at least as new as the dump
  - age
seealso:
  - module: ttahub.ops.db_copy
  - module: ttahub.ops.db_wipe
"""

EXAMPLES = r"""
- name: Restore the copy into a throwaway PostgreSQL in memory
  ttahub.ops.db_restore_local:
    copy_id: ttahub-prod-20261128T140311Z-a1b2c3
    state_dir: "{{ ops_state_dir }}"
  register: restored

- name: Say how to connect
  ansible.builtin.debug:
    msg: "{{ restored.connect }}"
"""

RETURN = r"""
copy_id:
  description: The restored copy.
  returned: success
  type: str
  sample: ttahub-prod-20261128T140311Z-a1b2c3
connect:
  description: The command that connects to the restored database.
  returned: success
  type: str
  sample: psql -h /dev/shm/ttahub-ops-pg-ttahub-prod-20261128T140311Z-a1b2c3/socket -p 41234 -U postgres -d ttahub_copy
memory_backed:
  description: Whether the cluster's data directory is memory-backed.
  returned: success
  type: bool
  sample: true
tables:
  description: Rows per table of the restored database.
  returned: success and checksum
  type: dict
  sample: {"public.\"Grants\"": 150}
rows:
  description: Rows in all tables.
  returned: success and checksum
  type: int
  sample: 1750
checksum:
  description: SHA-256 over every table's name, row count and row digest; the same SQL on the source gives the same value.
  returned: success and checksum
  type: str
  sample: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
restore:
  description: Where the cluster is (data and socket folders, port, database) and when it was restored.
  returned: success
  type: dict
  sample: {"port": 41234, "database": "ttahub_copy", "memory_backed": true}
audit_events:
  description: C(data_restore_verified), C(data_restore_cluster_started), C(data_restored) or C(data_restore_failed).
  returned: always
  type: list
  elements: dict
  sample: [{"event": "data_restored", "rows": 1750}]
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.records import copies_dir, list_records
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.restore import restore_copy
from ansible_collections.ttahub.ops.plugins.module_utils._module import run_module


def newest_restorable(state_dir: str) -> str:
    candidates = [r for r in list_records(state_dir) if r.get("state") in ("encrypted", "restored")]
    if not candidates:
        raise CopyError("choose the copy to restore", f"there is no complete copy in {copies_dir(state_dir)}",
                        "Make one with the prod_db_copy playbook, or pass copy_id", kind="not_found")
    return candidates[-1]["copy_id"]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "copy_id": {"type": "str"},
            "state_dir": {"type": "path"},
            "base_dir": {"type": "path", "default": "/dev/shm"},
            "allow_disk": {"type": "bool", "default": False},
            "database": {"type": "str", "default": "ttahub_copy"},
            "port": {"type": "int"},
            "checksum": {"type": "bool", "default": True},
            "pg_bin_dir": {"type": "path"},
            "age_bin_dir": {"type": "path"},
        },
        supports_check_mode=True,
    )
    p = module.params
    state_dir = p["state_dir"] or _ssh_window.default_state_dir()

    def body() -> dict:
        if not p["database"].replace("_", "").isalnum():
            raise CopyError("restore the copy", f"database name {p['database']!r} is not letters, digits and underscores",
                            "Pass another name", kind="bad_input")
        copy_id = p["copy_id"] or newest_restorable(state_dir)
        done = restore_copy(
            state_dir=state_dir, copy_id=copy_id, base_dir=p["base_dir"], allow_disk=p["allow_disk"], port=p["port"],
            database=p["database"], pg_bin_dir=p["pg_bin_dir"], age_bin_dir=p["age_bin_dir"], checksum=p["checksum"],
            check_mode=module.check_mode,
        )
        restore = done["restore"]
        for warning in done.get("warnings", []):
            module.warn(warning)
        return {
            "changed": done["changed"],
            "copy_id": copy_id,
            "restore": restore,
            "connect": restore.get("connect", ""),
            "memory_backed": restore.get("memory_backed"),
            "tables": restore.get("tables"),
            "rows": restore.get("rows"),
            "checksum": restore.get("checksum"),
            "audit_events": done["audit_events"],
        }

    run_module(module, body, os_error=("restore the copy", "Check base_dir, state_dir and free memory"))


if __name__ == "__main__":
    main()
