"""Import of the demo county's ledger (.xlsx, ~38,000 rows) against reading the same file with polars.

Run: ``.venv/bin/python bench/bench_import_county.py [--persons N] [--no-stages]``

1. Generates the demo ledger (``generate_ledger(county_code="140724", seed=20231)``; ``--persons N``
   for a smaller one) into ``bench/out/county/`` with ``write_ledger`` (.xlsx).
2. The floor: ``polars.read_excel(engine="calamine")`` of the same file (best of 3, in process).
3. A fresh SQLite database in its own ``DIXIAN_DATA_DIR``: ``dixian init --region 140724``, then
   ``dixian ledger import FILE`` as a child process: wall time and peak RSS (``os.wait4``).
4. ``dixian ledger import FILE`` again: it must change nothing.
5. (unless ``--no-stages``) the import once more into another fresh database, in a child process that
   times the service's progress steps: read / validate / write households / write persons / commit.

Targets: import ≤ 15 s end to end, ≤ 8 × the polars read, peak RSS ≤ 1 GiB.
"""

from __future__ import annotations

import argparse
import logging
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
    run_measured,
    run_stages,
    verdict,
)

TARGET_SECONDS = 15.0
TARGET_RATIO = 8.0
TARGET_RSS = 1 * GIB
COUNTY = "140724"


def make_ledger(path: Path, *, persons: int | None, seed: int, regen: bool) -> tuple[int, float]:
    from dixian.registry.demo import generate_ledger, write_ledger

    if path.exists() and not regen:
        import polars as pl

        rows = pl.read_excel(path, engine="calamine", read_options={"header_row": 1}).height
        return rows, 0.0
    t0 = time.perf_counter()
    frame = generate_ledger(county_code=COUNTY, seed=seed, persons=persons)
    write_ledger(frame, path)
    return frame.height, time.perf_counter() - t0


def polars_read(path: Path, *, strings: bool = False, repeat: int = 3) -> tuple[float, int]:
    """Best-of-``repeat`` ``polars.read_excel`` (calamine/fastexcel) of the ledger, header on row 2;
    ``strings=True`` reads every column as text, as the import does."""
    import polars as pl

    options = {"header_row": 1, **({"dtypes": "string"} if strings else {})}
    best, rows = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        frame = pl.read_excel(path, engine="calamine", read_options=options)
        best = min(best, time.perf_counter() - t0)
        rows = frame.height
        del frame
    return best, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--persons", type=int, default=0, help="about N persons (default: the demo county)")
    ap.add_argument("--seed", type=int, default=20231)
    ap.add_argument("--regen", action="store_true", help="write the ledger again even if it exists")
    ap.add_argument("--no-stages", action="store_true", help="skip the per-stage breakdown run")
    args = ap.parse_args()
    persons = args.persons or None
    logging.getLogger("fastexcel").setLevel(logging.ERROR)  # "could not determine dtype" notes

    work = OUT / "county"
    work.mkdir(parents=True, exist_ok=True)
    ledger = work / f"ledger-{COUNTY}-{args.seed}-{persons or 'county'}.xlsx"
    rows, gen_s = make_ledger(ledger, persons=persons, seed=args.seed, regen=args.regen)
    size = ledger.stat().st_size
    print(f"ledger: {ledger.relative_to(OUT.parent.parent)} — {rows:,} rows, {size / 2**20:.1f} MiB", end="")
    print(f" (written in {gen_s:.1f} s)" if gen_s else " (reused; --regen to write again)")

    floor, floor_rows = polars_read(ledger)
    as_text, _ = polars_read(ledger, strings=True)
    print(
        f"floor: polars.read_excel(engine='calamine') {floor:.3f} s for {floor_rows:,} rows (best of 3);"
        f" all columns as text: {as_text:.3f} s"
    )

    data_dir = fresh_dir(work / "data")
    env = dixian_env(data_dir)
    init = run_measured([DIXIAN, "init", "--region", COUNTY], env).check("dixian init")
    print(f"init: dixian init --region {COUNTY} on fresh SQLite {init.seconds:.2f} s")

    first = run_measured([DIXIAN, "ledger", "import", str(ledger)], env).check("first import")
    first_summary = parse_summary(first.stdout)
    print(
        f"import: {first.seconds:.2f} s (CPU {first.cpu:.2f} s), peak RSS {fmt_bytes(first.peak_rss)} — {first_summary}"
    )

    again = run_measured([DIXIAN, "ledger", "import", str(ledger)], env).check("re-import")
    again_summary = parse_summary(again.stdout) or {}
    changed = {
        k: v for k, v in again_summary.items() if k not in ("households_unchanged", "persons_unchanged") and v
    }
    print(
        f"re-import: {again.seconds:.2f} s (CPU {again.cpu:.2f} s), peak RSS {fmt_bytes(again.peak_rss)} — {again_summary}"
    )

    ratio = first.seconds / floor
    print()
    print(f"Results (SQLite; {load_note()})")
    print_table(
        [
            ("import end to end", f"{first.seconds:.2f} s", f"≤ {TARGET_SECONDS:.0f} s",
             f"{first.seconds / TARGET_SECONDS:.2f}", verdict(first.seconds <= TARGET_SECONDS)),
            ("import ÷ polars read", f"{ratio:.1f} ×", f"≤ {TARGET_RATIO:.0f} ×",
             f"{ratio / TARGET_RATIO:.2f}", verdict(ratio <= TARGET_RATIO)),
            ("import peak RSS", fmt_bytes(first.peak_rss), "≤ 1,024 MiB",
             f"{first.peak_rss / TARGET_RSS:.2f}", verdict(first.peak_rss <= TARGET_RSS)),
            ("re-import end to end", f"{again.seconds:.2f} s", f"≤ {TARGET_SECONDS:.0f} s",
             f"{again.seconds / TARGET_SECONDS:.2f}", verdict(again.seconds <= TARGET_SECONDS)),
            ("re-import ÷ polars read", f"{again.seconds / floor:.1f} ×", f"≤ {TARGET_RATIO:.0f} ×",
             f"{again.seconds / floor / TARGET_RATIO:.2f}", verdict(again.seconds / floor <= TARGET_RATIO)),
            ("re-import peak RSS", fmt_bytes(again.peak_rss), "≤ 1,024 MiB",
             f"{again.peak_rss / TARGET_RSS:.2f}", verdict(again.peak_rss <= TARGET_RSS)),
            ("re-import changes", "none" if again_summary and not changed else str(changed or "?"),
             "none", "", verdict(bool(again_summary) and not changed)),
        ],
        ("measure", "value", "target", "value/target", ""),
    )  # fmt: skip

    if not args.no_stages:
        stage_dir = fresh_dir(work / "data-stages")
        stage_env = dixian_env(stage_dir)
        run_measured([DIXIAN, "init", "--region", COUNTY], stage_env).check("dixian init (stages)")
        run, stages = run_stages(ledger, stage_env)
        print()
        print(f"Where the time goes (fresh database, one in-process import: {run.seconds:.2f} s wall)")
        print_table(
            [(k, f"{v:.2f} s", f"{v / floor:.1f} ×", fmt_bytes(peak)) for k, v, peak in stages],
            ("stage", "seconds", "÷ polars read", "peak RSS in stage"),
        )


if __name__ == "__main__":
    main()
