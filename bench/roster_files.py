"""Roster file benchmark: reading and validating uploaded rosters, without a database.

    .venv/bin/python bench/roster_files.py [--rows N ...] [--repeat K]

For each size and each kind of file (UTF-8 CSV with commas, Windows-1252 CSV with semicolons as French Excel
writes it, an XLSX workbook written by openpyxl) it builds the file in memory, then times ``read_table`` and
``detect_format`` + ``normalize`` + ``duplicates`` separately (best of K runs, validation caches emptied before
each) and prints a table. Every row is
valid and every learner has a parent email, two groups and an external id, so every check runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tajiconnect.domains.roster import formats  # noqa: E402
from tajiconnect.domains.roster.files import read_table  # noqa: E402
from tajiconnect.domains.roster.formats import TEMPLATE_HEADERS, detect_format, duplicates, normalize  # noqa: E402

TARGET_SECONDS = 2.0  # read + normalize 10,000 rows


def roster(rows: int) -> list[list[str]]:
    return [list(TEMPLATE_HEADERS)] + [
        [
            f"learner{i}@school.example.org",
            f"Éloïse{i}",
            "Ndongo",
            "",
            "student" if i % 20 else "mwalimu",
            f"Form {i % 8}; Club {i % 5}",
            f"parent{i // 2}@families.example.org",
            f"ADM-{i:05d}",
        ]
        for i in range(rows)
    ]


def as_csv(rows: list[list[str]], *, encoding: str, delimiter: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def as_xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Roster")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def best_of(repeat: int, work: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000, 20_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    header = f"{'rows':>7} {'file':<24} {'size':>9} {'read s':>8} {'check s':>8} {'total s':>8} {'rows/s':>9}"
    print(header)
    print("-" * len(header))
    for count in args.rows:
        rows = roster(count)
        kinds = {
            "csv utf-8 ,": as_csv(rows, encoding="utf-8", delimiter=","),
            "csv cp1252 ; (Excel fr)": as_csv(rows, encoding="cp1252", delimiter=";"),
            "xlsx": as_xlsx(rows),
        }
        for label, data in kinds.items():
            read_s, table = best_of(args.repeat, lambda data=data: read_table(data, "roster"))
            fmt = detect_format(table.headers)  # type: ignore[attr-defined]
            assert fmt is not None

            def check(table=table, fmt=fmt) -> list:
                formats._full_check.cache_clear()  # every run starts cold, as a fresh upload would
                formats.role_of.cache_clear()
                return duplicates(normalize(table, fmt.mapping, fmt.code))

            check_s, result = best_of(args.repeat, check)
            assert len(result) == count and not any(row.errors for row in result)  # type: ignore[arg-type]
            total = read_s + check_s
            flag = "  over target" if count == 10_000 and total > TARGET_SECONDS else ""
            print(
                f"{count:>7} {label:<24} {len(data) / 2**20:>7.2f}Mi {read_s:>8.3f} {check_s:>8.3f} {total:>8.3f}"
                f" {count / total:>9,.0f}{flag}"
            )
    print(f"target: read + check of 10,000 rows well under {TARGET_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
