# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Table checksums: the same SQL on the source and on the restored copy, so that the two can be compared (rows and
an order-independent digest per table, one digest over all).

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import hashlib
import typing as t

__all__ = ["TABLES_SQL", "checksum_sql", "table_checksums"]

TABLES_SQL = (
    "SELECT CASE WHEN schemaname = 'public' THEN tablename ELSE schemaname || '.' || tablename END, "
    "quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
)


def checksum_sql(table: str) -> str:
    """Rows and an order-independent digest of every row's text form."""
    return (f"SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), md5('')) "
            f"FROM (SELECT md5(t::text) AS h FROM {table} t) s")


def table_checksums(run_sql: t.Callable[[str], list[str]]) -> dict[str, t.Any]:
    """``{tables: {name: {rows, md5}}, rows, checksum}`` where ``run_sql`` returns psql ``-At`` lines."""
    tables = {}
    for line in run_sql(TABLES_SQL):
        name, quoted = line.split("|", 1)
        line = run_sql(checksum_sql(quoted))[0]
        rows, digest = line.split("|", 1)
        tables[name] = {"rows": int(rows), "md5": digest}
    overall = hashlib.sha256("".join(f"{n}:{v['rows']}:{v['md5']}\n" for n, v in sorted(tables.items())).encode()).hexdigest()
    return {"tables": tables, "rows": sum(v["rows"] for v in tables.values()), "checksum": overall}
