# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The production data copy: tunnel, encrypted dump, local restore, cryptographic wipe.

PRIVATE to the collection. It can have breaking changes at any time.

Import from the submodules (community.crypto's ``_acme/`` is the model); this file holds nothing else:

* :mod:`.copy` — :func:`~.copy.copy_database`, run inside an open space SSH window (``_ssh_window``) as a step object:
  key, tunnel (:mod:`.tunnel`), version check, ``pg_dump | age`` (:mod:`.streams`), teardown, store; every process,
  the ``SERVICE_CONNECT`` key, the partial file and the identity are attached to the window's lease first.
* :mod:`.keys` — the age identity of a copy and the memory-backed key store, with what the residual risk is.
* :mod:`.records` — one record per copy (``<state_dir>/copies/<copy_id>.json``, 0600) and its deadline.
* :mod:`.restore` — decrypt as a stream into ``pg_restore --single-transaction`` on a throwaway PostgreSQL cluster in
  tmpfs (:mod:`.cluster`), then count and checksum every table (:mod:`.checksums`).
* :mod:`.wipe` — destroy the identity (cryptographic erase, NIST SP 800-88 "Purge"), remove the ciphertext and the
  cluster, and check that nothing remains.
* :mod:`.tools` — finding and running PostgreSQL's and age's tools (through ``_proc``); :mod:`.errors` — ``CopyError``.
"""
