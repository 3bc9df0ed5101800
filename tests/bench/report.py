# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmarks' one table (``make bench``).

Every ``tests/bench/bench_*.py`` prints its figures as rows, one line each::

    BENCH {"metric": "...", "ours": 1.2, "baseline": 0.3, "unit": "s", "baseline_label": "...", "note": "..."}

``ours`` and ``baseline`` are measured side by side in the same run, so the table shows their ratio
(``ours / baseline``) as well as the figures; a row may set ``ratio`` itself (and ``ratio_label``, what the ratio
means) when plain division is not the right comparison, or leave ``baseline`` out when there is none. Benchmarks
print, they never assert times.

``python tests/bench/report.py ROWS_FILE...`` reads rows from files (or stdin) and prints the table; other lines are
ignored, except those of bench_db_copy.py and bench_scp.py, which print their own format (see :func:`adapted`).
:func:`emit` is what a bench script calls to print a row.
"""

from __future__ import annotations

import json
import re
import sys
import typing as t

PREFIX = "BENCH "


def emit(metric: str, ours: float, unit: str, *, baseline: float | None = None, baseline_label: str = "",
         note: str = "", ratio: float | None = None, ratio_label: str = "", **extra: t.Any) -> dict[str, t.Any]:
    """Print one row (and return it)."""
    row: dict[str, t.Any] = {"metric": metric, "ours": ours, "unit": unit, "baseline": baseline,
                             "baseline_label": baseline_label, "note": note, **extra}
    if ratio is None and baseline:
        ratio = ours / baseline
    row["ratio"] = ratio
    row["ratio_label"] = ratio_label or ("ours / baseline" if ratio is not None else "")
    print(PREFIX + json.dumps(row, sort_keys=True), flush=True)
    return row


MIB = float(1 << 20)
SCP_LINE = re.compile(r"^\s+(scp|sftp|module|playbook)\s+([\d.]+) s \(")
SCP_SIZE = re.compile(r"^bench_scp: (\d+) MiB")


def adapted(line: str, scp: dict[str, float]) -> list[dict[str, t.Any]]:
    """Rows from the lines of bench_db_copy.py (its closing JSON summary) and bench_scp.py (its median lines), which
    print their own format."""
    line = line.rstrip()
    if line.startswith("{") and '"raw_seconds"' in line:
        data = json.loads(line)
        raw = data["raw_bytes"] / MIB / data["raw_seconds"]
        copy = data["copy_plaintext_bytes"] / MIB / data["copy_seconds"]
        size = data["database_bytes"] / MIB
        return [
            row(f"data copy throughput ({size:,.0f} MiB database)", copy, "MiB/s", baseline=raw,
                baseline_label="raw pg_dump -Fc to a file", note=f"prod_db_copy end to end: {data['playbook_seconds']:.1f} s"),
            row("seconds space SSH was open", data["ssh_open_seconds"], "s",
                baseline=data["copy_seconds"], baseline_label="the dump itself",
                note="from allow-space-ssh to disallow-space-ssh (includes the tunnel's set-up)"),
        ]
    match = SCP_SIZE.match(line)
    if match:
        scp["size"] = float(match.group(1))
        return []
    match = SCP_LINE.match(line)
    if match:
        scp[match.group(1)] = float(match.group(2))
        if match.group(1) == "playbook" and "scp" in scp:
            size = scp.get("size", 200.0)
            return [row(f"scp_retrieve {way} ({size:.0f} MiB)", scp[way], "s", baseline=scp["scp"],
                        baseline_label="plain scp through the same proxy",
                        note=f"{size / scp[way]:.1f} MiB/s against {size / scp['scp']:.1f} MiB/s")
                    for way in ("module", "playbook") if way in scp]
    return []


def row(metric: str, ours: float, unit: str, *, baseline: float | None = None, baseline_label: str = "",
        note: str = "") -> dict[str, t.Any]:
    return {"metric": metric, "ours": ours, "unit": unit, "baseline": baseline, "baseline_label": baseline_label,
            "note": note, "ratio": ours / baseline if baseline else None, "ratio_label": "ours / baseline"}


def read_rows(lines: t.Iterable[str]) -> list[dict[str, t.Any]]:
    rows: list[dict[str, t.Any]] = []
    scp: dict[str, float] = {}
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(PREFIX):
            try:
                rows.append(json.loads(stripped[len(PREFIX):]))
            except ValueError:
                continue
        else:
            try:
                rows += adapted(line, scp)
            except (ValueError, KeyError, ZeroDivisionError):
                continue
    return rows


def number(value: t.Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def table(rows: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    header = ("measure", "ttahub.ops", "baseline", "ratio", "notes")
    body = []
    for row in rows:
        unit = row.get("unit") or ""
        ours = f"{number(row.get('ours'))} {unit}".strip()
        base = row.get("baseline")
        baseline = "-" if base is None else f"{number(base)} {unit}".strip()
        if row.get("baseline_label"):
            baseline += f" ({row['baseline_label']})"
        ratio = "-" if row.get("ratio") is None else f"{number(row['ratio'])}x"
        if row.get("ratio") is not None and row.get("ratio_label") not in ("", "ours / baseline"):
            ratio += f" ({row['ratio_label']})"
        body.append((str(row.get("metric", "")), ours, baseline, ratio, str(row.get("note") or "")))
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header[:4], widths)) + "  " + header[4],
             "  ".join("-" * w for w in widths) + "  " + "-" * 5]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in body]
    return "\n".join(lines)


def main(argv: t.Sequence[str]) -> int:
    lines: list[str] = []
    if argv:
        for name in argv:
            with open(name, encoding="utf-8") as handle:
                lines += handle.read().splitlines()
    else:
        lines = sys.stdin.read().splitlines()
    rows = read_rows(lines)
    if not rows:
        print("no benchmark rows", file=sys.stderr)
        return 1
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
