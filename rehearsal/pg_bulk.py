# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Grow a rehearsal database to a given size, fast, for benchmarks (``tests/bench/bench_db_copy.py``).

``fill(home, target_bytes=1 GiB, service="ttahub-prod")`` appends TTA Hub-shaped "ActivityReports" rows (after the rows
``rehearsal.postgres.seed`` made) in batches until ``pg_database_size`` reaches the target, and returns what it did.
The text columns are md5-derived, so they compress about as well as real prose does under ``pg_dump -Fc`` (roughly
half). The rows are deterministic: the same target gives the same data. Uses ``rehearsal.postgres``'s connection and
``query`` (the service's own role, the password in PGPASSWORD).
"""
from __future__ import annotations

import os
import time
from typing import Any

from rehearsal import postgres

BATCH_ROWS = 100_000
ROW_SQL = """
INSERT INTO "ActivityReports" (id, "legacyId", "userId", "regionId", "submissionStatus", "calculatedStatus", "startDate",
  "endDate", duration, "numberOfParticipants", context, "additionalNotes", "createdAt", "updatedAt")
SELECT i, 'R' || lpad((1 + i % 12)::text, 2, '0') || '-AR-' || i, NULL, 1 + i % 12,
  (ARRAY['draft','submitted','needs_action','approved'])[1 + i % 4], NULL,
  date '2025-01-01' + (i % 600), date '2025-01-02' + (i % 600), (1 + i % 16) / 2.0, 1 + i % 40,
  'Training and technical assistance: ' || md5(i::text) || md5((i + 1)::text) || md5((i * 7)::text) || md5((i * 13)::text)
    || ' ' || md5((i * 17)::text) || md5((i * 19)::text) || md5((i * 23)::text) || md5((i * 29)::text),
  'Follow up: ' || md5((i * 31)::text) || md5((i * 37)::text) || md5((i * 41)::text) || md5((i * 43)::text),
  timestamptz '2025-01-01 00:00:00+00' + (i % 31536000) * interval '1 second',
  timestamptz '2025-01-01 00:00:00+00' + (i % 31536000 + 86400) * interval '1 second'
FROM generate_series({first}, {last}) AS i;
"""


def database_size(conn: dict[str, Any]) -> int:
    return int(postgres.query(conn, "SELECT pg_database_size(current_database())")[0])


def fill(home: str | os.PathLike[str] | None = None, *, target_bytes: int = 1 << 30, service: str = "ttahub-prod",
         batch_rows: int = BATCH_ROWS) -> dict[str, Any]:
    """Append rows to SERVICE's database until it holds at least TARGET_BYTES. Returns ``{bytes, rows_added,
    seconds}``."""
    conn = postgres.connection(home, service)
    started = time.monotonic()
    first = int(postgres.query(conn, 'SELECT coalesce(max(id), 0) + 1 FROM "ActivityReports"')[0])
    added = 0
    size = database_size(conn)
    while size < target_bytes:
        postgres.query(conn, ROW_SQL.format(first=first + added, last=first + added + batch_rows - 1), timeout=600)
        added += batch_rows
        size = database_size(conn)
    if added:
        postgres.query(conn, 'ANALYZE "ActivityReports";', timeout=600)
    return {"bytes": size, "rows_added": added, "seconds": round(time.monotonic() - started, 3)}
