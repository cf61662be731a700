"""Time ``check_ids`` (set-based polars) and the ``parse`` loop on synthetic identity numbers.

Run: ``.venv/bin/python bench/bench_idcard.py [N]`` (default N = 1,000,000).
The mix: 90% valid 18-digit, 5% legacy 15-digit, 5% corrupted (one digit changed).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time

import polars as pl

from dixian.core.idcard import check_ids, checksum_char, parse


def make_ids(n: int, seed: int = 20240501) -> list[str]:
    rng = random.Random(seed)
    start = dt.date(1930, 1, 1).toordinal()
    span = dt.date(2020, 12, 31).toordinal() - start
    out: list[str] = []
    for i in range(n):
        birth = dt.date.fromordinal(start + rng.randrange(span))
        region = f"{rng.randrange(110000, 659999):06d}"
        seq = f"{rng.randrange(1000):03d}"
        kind = i % 20
        if kind == 0:  # legacy 15-digit
            out.append(f"{region}{birth:%y%m%d}{seq}")
            continue
        first17 = f"{region}{birth:%Y%m%d}{seq}"
        number = first17 + checksum_char(first17)
        if kind == 1:  # one digit changed
            pos = rng.randrange(17)
            number = number[:pos] + str((int(number[pos]) + 1) % 10) + number[pos + 1 :]
        out.append(number)
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    ids = make_ids(n)
    series = pl.Series("id", ids)

    check_ids(series.head(1000))  # warm-up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        result = check_ids(series)
        best = min(best, time.perf_counter() - t0)
    valid = int(result["id_valid"].sum())
    print(
        f"check_ids: {n:,} IDs in {best:.3f} s (best of 3), {valid:,} valid, {pl.thread_pool_size()} threads"
    )

    sample = ids[:100_000]
    t0 = time.perf_counter()
    ok = 0
    for raw in sample:
        try:
            parse(raw)
            ok += 1
        except Exception:
            pass
    per = (time.perf_counter() - t0) / len(sample)
    print(
        f"parse loop: {per * 1e6:.2f} µs per ID (≈ {per * n:.2f} s for {n:,}), {ok:,} valid of {len(sample):,}"
    )


if __name__ == "__main__":
    main()
