#!/usr/bin/python
# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: db_copy
short_description: Copy a cloud.gov database through a tunnel into an age-encrypted file, plaintext never on disk
description:
  - Runs on the controller (an action plugin) inside an open space SSH window (O(lease_path), from the role
    C(ttahub.ops.space_ssh_window)), the steps of cloud.gov's database backup.
  - Makes an X25519 age identity for this copy with C(age-keygen) in memory-backed storage (C(/dev/shm) on Linux, or
    O(key_dir)); on a system without it the task warns and says what the residual risk is.
  - Starts C(cf connect-to-service -no-client APP SERVICE) in the background and reads Host, Port, Username, Password
    and Name from its output. The password stays in memory; C(psql) and C(pg_dump) get it in E(PGPASSWORD) only.
  - Refuses, with the version numbers and what to install, when the local C(pg_dump) is older than the server.
  - "Runs C(pg_dump -Fc --no-acl --no-owner) through the tunnel; its stdout is pumped in memory into C(age -r <recipient>),
    whose output is written to a 0600 file in a 0700 folder: the plaintext never touches a disk. Shows the progress
    (bytes, rate) every O(progress_every) seconds, and records the byte counts and the ciphertext's SHA-256."
  - Then stops the tunnel (SIGINT, as Ctrl-C), deletes the C(SERVICE_CONNECT) key and checks that it is gone.
  - Writes a record of the copy to C(<state_dir>/copies/<copy_id>.json) with its deadline (O(keep_hours)). Restore it
    with M(ttahub.ops.db_restore_local), destroy it with M(ttahub.ops.db_wipe).
  - "Every process, the key, the partial file and the identity are attached to the window's lease before they exist,
    so if the run is killed the window's watchdog stops them, deletes the key and removes the files. On any failure
    the task cleans up the same way itself: nothing is kept."
author:
  - TTA Hub operations engineering (@HHS)
version_added: 0.1.0
extends_documentation_fragment:
  - ttahub.ops._cf
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
  connection:
    support: none
    details: Everything runs on the controller (the play runs on localhost).
  delegation:
    support: none
  check_mode:
    support: full
    details: Does nothing and reports that it would copy.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  app:
    description: The app whose SSH carries the tunnel (C(cf_app)).
    type: str
    required: true
  service:
    description: The database service instance (C(cf_db_service)).
    type: str
    required: true
  org:
    description: The org, for the record.
    type: str
    default: ""
  space:
    description: The space, for the record.
    type: str
    default: ""
  lease_path:
    description: The open SSH window's lease (C(space_ssh_window_lease.lease_path)).
    type: path
    required: true
  state_dir:
    description: The ttahub.ops state directory (C(ops_state_dir)); records go to its C(copies/) folder.
    type: path
  dest_dir:
    description: Where the encrypted copy goes (one 0700 folder per copy); defaults to C(<state_dir>/copies).
    type: path
  keep_hours:
    description: The copy's deadline, in hours from now; the C(ssh_guard) playbook reports copies kept longer.
    type: float
    default: 24
  key_dir:
    description: Where to keep the age identity instead of C(/dev/shm) (it should be memory-backed).
    type: path
  pg_bin_dir:
    description: The folder of C(pg_dump) and C(psql); defaults to the newest C(/usr/lib/postgresql/*/bin), else E(PATH).
    type: path
  age_bin_dir:
    description: The folder of C(age) and C(age-keygen); defaults to E(PATH).
    type: path
  progress_every:
    description: Seconds between progress lines (0.5 to 10).
    type: float
    default: 10
  tunnel_timeout:
    description: Seconds to wait for the tunnel's connection information.
    type: int
    default: 90
  dump_timeout:
    description: Seconds the dump may take before it is stopped.
    type: int
    default: 21600
  operator:
    description: Who runs the copy (C(ops_operator)), for the record.
    type: str
requirements:
  - The cf-service-connect plugin for cf (cloud-gov/cf-service-connect)
  - PostgreSQL client tools (C(pg_dump), C(psql)) at least as new as the server
  - age and age-keygen (https://age-encryption.org)
seealso:
  - module: ttahub.ops.space_ssh_window
  - module: ttahub.ops.db_restore_local
  - module: ttahub.ops.db_wipe
"""

EXAMPLES = r"""
- name: Dump the production database through the tunnel, encrypted with age
  ttahub.ops.db_copy:
    cf_home: "{{ cf_session_info.cf_home }}"
    app: tta-smarthub-prod
    service: ttahub-prod
    lease_path: "{{ space_ssh_window_lease.lease_path }}"
    state_dir: "{{ ops_state_dir }}"
  register: db_copy
"""

RETURN = r"""
copy_id:
  description: The copy's id; pass it to the data_restore_local and data_wipe playbooks.
  returned: success
  type: str
  sample: ttahub-prod-20261128T140311Z-a1b2c3
ciphertext_path:
  description: The encrypted copy.
  returned: success
  type: str
  sample: /home/op/.local/state/ttahub-ops/copies/ttahub-prod-20261128T140311Z-a1b2c3/ttahub-prod-20261128T140311Z-a1b2c3.pgdump.age
ciphertext_sha256:
  description: SHA-256 of the encrypted copy.
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
ciphertext_bytes:
  description: Size of the encrypted copy.
  returned: success
  type: int
  sample: 1048576
plaintext_bytes:
  description: Bytes pg_dump wrote (never stored).
  returned: success
  type: int
  sample: 1048000
dump_seconds:
  description: How long the dump took.
  returned: success
  type: float
  sample: 12.5
deadline:
  description: When the copy must be wiped (UTC).
  returned: success
  type: str
  sample: "2026-11-29T14:03:11Z"
identity_memory_backed:
  description: Whether the age identity is in memory-backed storage.
  returned: success
  type: bool
  sample: true
key_store_note:
  description: Where the identity is and what the residual risk is.
  returned: success
  type: str
  sample: The age identity is in memory-backed storage (tmpfs at /dev/shm) and no swap is active.
record_path:
  description: The copy's record.
  returned: success
  type: str
  sample: /home/op/.local/state/ttahub-ops/copies/ttahub-prod-20261128T140311Z-a1b2c3.json
audit_events:
  description:
    - One event per step (key created, tunnel open, versions checked, dump started and finished, tunnel stopped, key
      deleted, stored) or C(data_copy_failed).
  returned: always
  type: list
  elements: dict
  sample: [{"event": "data_copy_dump_finished", "ciphertext_sha256": "9f86d0..."}]
"""
