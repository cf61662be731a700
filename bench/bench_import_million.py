"""Import of a province-wide ledger of 1,000,000 persons (.csv) on SQLite and on PostgreSQL.

Run: ``.venv/bin/python bench/bench_import_million.py [--persons N] [--db sqlite,pg] [--stages] [--reimport]``
(try ``--persons 200000`` first: the full run takes several minutes per database).

1. ``generate_ledger(persons=N)`` (above 200,000 persons it spreads over every county of 山西) and
   ``write_ledger`` to ``bench/out/million/ledger-N.csv``; a ``polars.read_csv`` of it for scale.
2. For each database: a fresh one (SQLite in its own ``DIXIAN_DATA_DIR``; PostgreSQL database
   ``dixian_bench`` dropped and created), ``dixian init --region 140000`` (the province), then
   ``dixian ledger import FILE`` as a child process: wall time and peak RSS (``os.wait4``).
   ``--reimport`` imports the same file again (must change nothing); ``--stages`` adds a per-stage
   breakdown run on another fresh database.

Targets: ≤ 3 minutes per import, peak RSS ≤ 3 GiB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import (
    DIXIAN,
    GIB,
    OUT,
    dixian_env,
    fmt_bytes,
    fresh_dir,
    load_note,
    parse_summary,
    print_table,
    recreate_pg_database,
    run_measured,
    run_stages,
    verdict,
)

TARGET_SECONDS = 180.0
TARGET_RSS = 3 * GIB
PROVINCE = "140000"
PG_DATABASE = "dixian_bench"


def make_ledger(path: Path, *, persons: int, seed: int, regen: bool) -> tuple[int, float]:
    import polars as pl

    if path.exists() and not regen:
        return pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item(), 0.0
    from dixian.registry.demo import generate_ledger, write_ledger

    t0 = time.perf_counter()
    frame = generate_ledger(county_code="140724", seed=seed, persons=persons)
    write_ledger(frame, path)
    return frame.height, time.perf_counter() - t0


def polars_read(path: Path) -> float:
    import polars as pl

    t0 = time.perf_counter()
    pl.read_csv(path, infer_schema=False)
    return time.perf_counter() - t0


def prepare(db: str, work: Path, tag: str) -> dict[str, str]:
    """A fresh database for ``db`` ("sqlite" or "pg"), initialised for the province."""
    data_dir = fresh_dir(work / f"data-{db}{tag}")
    url = recreate_pg_database(PG_DATABASE + tag.replace("-", "_")) if db == "pg" else None
    env = dixian_env(data_dir, url)
    init = run_measured([DIXIAN, "init", "--region", PROVINCE], env)
    if init.returncode != 0:
        print(f"!! dixian init --region {PROVINCE} failed on {db} (exit {init.returncode}):")
        print(init.stdout[-3000:], init.stderr[-3000:])
        raise SystemExit(1)
    print(f"  [{db}] init --region {PROVINCE}: {init.seconds:.1f} s — {init.stdout.strip().splitlines()[-1]}")
    return env


def import_once(db: str, env: dict[str, str], ledger: Path, label: str):
    run = run_measured([DIXIAN, "ledger", "import", str(ledger)], env)
    summary = parse_summary(run.stdout)
    if run.returncode != 0 or summary is None:
        print(f"!! [{db}] {label} failed (exit {run.returncode}); what the command printed:")
        print(run.stdout[-6000:])
        print(run.stderr[-6000:])
        raise SystemExit(1)
    print(
        f"  [{db}] {label}: {run.seconds:.1f} s (CPU of the import process {run.cpu:.1f} s), peak RSS {fmt_bytes(run.peak_rss)} — {summary}"
    )
    return run, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20231)
    ap.add_argument("--db", default="sqlite,pg", help="comma-separated: sqlite, pg")
    ap.add_argument("--regen", action="store_true", help="write the ledger again even if it exists")
    ap.add_argument("--reimport", action="store_true", help="also time a second import of the same file")
    ap.add_argument("--stages", action="store_true", help="also time the import's stages (one more run)")
    args = ap.parse_args()
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]

    work = OUT / "million"
    work.mkdir(parents=True, exist_ok=True)
    ledger = work / f"ledger-{args.persons}-{args.seed}.csv"
    rows, gen_s = make_ledger(ledger, persons=args.persons, seed=args.seed, regen=args.regen)
    print(f"ledger: {ledger.name} — {rows:,} rows, {ledger.stat().st_size / 2**20:.0f} MiB", end="")
    print(f" (generated and written in {gen_s:.1f} s)" if gen_s else " (reused; --regen to write again)")
    print(f"scale: polars.read_csv of the file {polars_read(ledger):.2f} s; {load_note()}")

    results = []
    for db in dbs:
        env = prepare(db, work, "")
        run, summary = import_once(db, env, ledger, "import")
        results.append((db, "import", run, summary))
        if args.reimport:
            again, again_summary = import_once(db, env, ledger, "re-import")
            results.append((db, "re-import", again, again_summary))
        if args.stages:
            stage_env = prepare(db, work, "-stages")
            srun, stages = run_stages(ledger, stage_env)
            print(f"  [{db}] where the time goes (one in-process import, {srun.seconds:.1f} s wall):")
            print_table(
                [(k, f"{v:.1f} s", fmt_bytes(peak)) for k, v, peak in stages],
                ("stage", "seconds", "peak RSS in stage"),
            )

    print()
    print(f"Results ({rows:,} rows; {load_note()})")
    table = []
    for db, label, run, summary in results:
        table.append(
            (f"{db} {label} time", f"{run.seconds:.1f} s", f"≤ {TARGET_SECONDS:.0f} s",
             f"{run.seconds / TARGET_SECONDS:.2f}", verdict(run.seconds <= TARGET_SECONDS))
        )  # fmt: skip
        table.append(
            (f"{db} {label} peak RSS", fmt_bytes(run.peak_rss), "≤ 3,072 MiB",
             f"{run.peak_rss / TARGET_RSS:.2f}", verdict(run.peak_rss <= TARGET_RSS))
        )  # fmt: skip
        if label == "re-import":
            changed = {
                k: v
                for k, v in summary.items()
                if k not in ("households_unchanged", "persons_unchanged") and v
            }
            table.append(
                (f"{db} re-import changes", str(changed or "none"), "none", "", verdict(not changed))
            )
        else:
            ok = summary["persons_added"] == rows
            table.append(
                (f"{db} persons added", f"{summary['persons_added']:,}", f"{rows:,}", "", verdict(ok))
            )
    print_table(table, ("measure", "value", "target", "value/target", ""))


if __name__ == "__main__":
    main()
