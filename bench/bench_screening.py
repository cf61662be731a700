"""Screening bench (issue 4): a whole run of all default rules on S, and ``medical_registered`` end to
end on M against a bare DuckDB script of the same rule on the same files.

    .venv/bin/python bench/bench_screening.py --size S              # SQLite; --db pg for PostgreSQL
    .venv/bin/python bench/bench_screening.py --size M --db sqlite  # builds 3M persons + 30M rows once

The data (bench/screening_data.py) is built once per size and database under bench/out/ and reused
(--rebuild to build again). Every measured step is a child process: wall time, CPU time and its own
peak RSS (os.wait4). Before each measured run the alerts and runs of earlier runs are deleted, so
every run writes its alerts (nothing is suppressed).

Targets: S whole run ≤ 1.5 s in process; M ≤ 2 × the bare script, peak RSS ≤ 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from _common import (
    DIXIAN,
    GIB,
    OUT,
    PYTHON,
    dixian_env,
    fmt_bytes,
    fresh_dir,
    load_note,
    print_table,
    recreate_pg_database,
    run_measured,
)

AS_OF = date(2026, 6, 30)
SIZES = {"S": (40_000, 400_000), "M": (3_000_000, 30_000_000)}

BUILD = r"""
import json, sys, time
from datetime import date
from pathlib import Path
import django
django.setup()
sys.path.insert(0, {bench!r})
import screening_data as d
from dixian.screening.rules import ensure_default_rules
out = Path({out!r})
t = time.perf_counter()
reg = d.build_registry({persons})
print("registry", round(time.perf_counter() - t, 1), flush=True)
d.medical({rows}, reg, date.fromisoformat({as_of!r}), out / "medical.parquet")
d.register_feed("medical", out / "medical.parquet")
print("medical", round(time.perf_counter() - t, 1), flush=True)
for feed_type, path in d.small_feeds(reg, date.fromisoformat({as_of!r}), out).items():
    d.register_feed(feed_type, path)
d.export_registry(out / "persons.parquet", out / "households.parquet")
ensure_default_rules()
print("done", round(time.perf_counter() - t, 1), flush=True)
"""

CLEAN = r"""
import django
django.setup()
from django.db import connection
from dixian.screening.models import Alert, ScreeningRun
if connection.vendor == "postgresql":  # no dead rows left behind (autovacuum may be off here)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE screening_alert, screening_screeningrun CASCADE")
else:
    Alert.objects.all().delete()
    ScreeningRun.objects.all().delete()
"""

RUN = r"""
import json, time
t0 = time.perf_counter()
import django
django.setup()
from datetime import date
from dixian.core.audit import Actor
from dixian.screening.runs import run_screening
codes = {codes!r}
t1 = time.perf_counter()
run = run_screening(actor=Actor.cli(), as_of=date.fromisoformat({as_of!r}), codes=codes)
t2 = time.perf_counter()
print(json.dumps({{"in_process": t2 - t1, "setup": t1 - t0, "alerts": run.alert_count,
                  "hits": {{k: v["hits"] for k, v in run.results.items()}}}}))
"""

BARE = r"""
import json, time
t0 = time.perf_counter()
import duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute('''
    WITH f AS (
        SELECT "证件号码_规范" AS id, CAST("个人自付" * 100 AS BIGINT) AS fen
        FROM read_parquet({medical!r})
        WHERE "结算日期" BETWEEN DATE '2025-07-01' AND DATE {as_of!r}
    ), h AS (
        SELECT household_id, ledger_net_fen AS net_fen
        FROM read_parquet({households!r})
    )
    SELECT p.household_id, sum(f.fen) AS v, any_value(h.net_fen) AS net
    FROM f JOIN read_parquet({persons!r}) p ON p.id_number = f.id
    JOIN h ON h.household_id = p.household_id
    GROUP BY p.household_id
    HAVING sum(f.fen) > least(1000000, 0.5 * any_value(h.net_fen))
''').fetchall()
print(json.dumps({{"seconds": time.perf_counter() - t0, "households": len(rows)}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=SIZES, default="S")
    ap.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    persons, rows = SIZES[args.size]
    out = OUT / f"screening-{args.size}-{args.db}"
    marker = out / "built.json"
    db_url = None
    if args.db == "pg":
        db_url = f"postgres://postgres@127.0.0.1:5432/dixian_bench_screen_{args.size.lower()}"
    env = dixian_env(out / "data", db_url)
    if args.rebuild or not marker.exists():
        fresh_dir(out)
        (out / "data").mkdir()
        if args.db == "pg":
            recreate_pg_database(f"dixian_bench_screen_{args.size.lower()}")
        run_measured([DIXIAN, "init", "--region", "140724"], env).check("init")
        code = BUILD.format(
            bench=str(OUT.parent), out=str(out), persons=persons, rows=rows, as_of=AS_OF.isoformat()
        )
        print(f"building {args.size}: {persons:,} persons, {rows:,} medical rows …", flush=True)
        built = run_measured([PYTHON, "-c", code], env).check("build")
        print(built.stdout.strip().replace("\n", "; "), f"({built.seconds:.0f} s)")
        marker.write_text(json.dumps({"persons": persons, "rows": rows}))

    run_measured([DIXIAN, "manage", "migrate", "--no-input"], env).check(
        "migrate"
    )  # the data may predate the code
    bare = []
    for _ in range(args.runs):
        code = BARE.format(
            medical=str(out / "medical.parquet"),
            persons=str(out / "persons.parquet"),
            households=str(out / "households.parquet"),
            as_of=AS_OF.isoformat(),
        )
        r = run_measured([PYTHON, "-c", code], env).check("bare duckdb")
        bare.append((r, json.loads(r.stdout.strip().splitlines()[-1])))
    best_bare = min(bare, key=lambda x: x[0].seconds)

    ours = []
    codes = ["medical_registered"] if args.size == "M" else None
    for _ in range(args.runs):
        run_measured([PYTHON, "-c", CLEAN], env).check("clean")
        r = run_measured([PYTHON, "-c", RUN.format(codes=codes, as_of=AS_OF.isoformat())], env).check("run")
        ours.append((r, json.loads(r.stdout.strip().splitlines()[-1])))
    best = min(ours, key=lambda x: x[1]["in_process"])
    r, info = best
    print(load_note())
    print(
        f"{args.size} on {args.db}: {persons:,} persons, {rows:,} medical rows; alerts written {info['alerts']:,}"
    )
    print(f"hits per rule: {info['hits']}")
    print(f"bare DuckDB medical households: {best_bare[1]['households']:,}")
    table = [
        ("bare DuckDB script (child process, wall)", f"{best_bare[0].seconds:.2f} s", "", ""),
        ("bare DuckDB script (query only)", f"{best_bare[1]['seconds']:.2f} s", "", ""),
        (
            "run_screening in process",
            f"{info['in_process']:.2f} s",
            "≤ 1.5 s" if args.size == "S" else "",
            "",
        ),
        ("run end to end (child process, wall)", f"{r.seconds:.2f} s", "", ""),
        ("  of which Python + django.setup()", f"{info['setup']:.2f} s", "", ""),
        (
            "end to end ÷ bare (wall)",
            f"{r.seconds / best_bare[0].seconds:.2f} ×",
            "≤ 2 ×" if args.size == "M" else "",
            "",
        ),
        ("in process ÷ bare (wall)", f"{info['in_process'] / best_bare[0].seconds:.2f} ×", "", ""),
        (
            "peak RSS (run)",
            fmt_bytes(r.peak_rss),
            "≤ 2 GiB" if args.size == "M" else "",
            f"{r.peak_rss / (2 * GIB):.2f}",
        ),
        ("peak RSS (bare)", fmt_bytes(best_bare[0].peak_rss), "", ""),
        ("CPU time (run / bare)", f"{r.cpu:.2f} s / {best_bare[0].cpu:.2f} s", "", ""),
    ]
    print_table(table, ("measure", "value", "target", "value/target"))
    if info["hits"].get("medical_registered") not in (None, best_bare[1]["households"]):
        print("!! the engine and the bare script disagree on medical_registered", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
