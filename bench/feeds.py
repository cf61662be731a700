"""Loading a department's data file of tens of millions of rows: a medical feed (医保结算, .csv).

Run: ``.venv/bin/python bench/feeds.py [--rows N]`` (default 30,000,000; try ``--rows 1000000`` first).

1. A registry: ``dixian init --region 140724`` and the demo county ledger (``generate_ledger``, about
   36,700 persons) imported once into ``bench/out/feeds/registry/`` (reused; ``--regen`` rebuilds).
2. The feed ``bench/out/feeds/medical-N-SEED.csv`` (UTF-8, written once, reused), generated
   vectorised (numpy + polars, 1,000,000 rows per chunk): about 30 % of rows are registered persons,
   the rest are people the registry does not know (about a seventh of those in the county, so that
   "本县未在册人员" is exercised), all with valid GB 11643 numbers; one row in 50 carries exactly one
   fault (empty or wrong ID number, empty or unreadable date, empty or unreadable money), so the
   refusal counts the load must find are known exactly.
3. The floor: a bare multi-threaded parse of the file to Arrow with every column as text,
   ``pyarrow.csv.read_csv`` and ``polars.read_csv(infer_schema=False)``, each in its own child
   process (time measured inside it; peak RSS from ``os.wait4``). The faster one is the floor.
4. ``load_feed`` (the service, as ``dixian feed load`` calls it) in a child process on a copy of the
   registry: its time inside the process (after ``django.setup()``), the time per stage of its
   progress callback, the child's peak RSS and CPU time, and its figures checked against the
   generator's.

Targets: load ≤ 3 × the floor, peak RSS ≤ 3 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl

from _common import (
    DIXIAN,
    GIB,
    OUT,
    PYTHON,
    RSS_SAMPLER,
    dixian_env,
    fmt_bytes,
    fresh_dir,
    load_note,
    print_table,
    run_measured,
    verdict,
)

TARGET_RATIO = 3.0
TARGET_RSS = 3 * GIB
COUNTY = "140724"
CHUNK = 1_000_000
GENERATOR_VERSION = 1  # part of the file name: bump when the generated content changes

HEADER = [
    "证件号码",
    "姓名",
    "结算日期",
    "就诊类型",
    "医疗总费用",
    "基本医保支付",
    "大病保险支付",
    "医疗救助支付",
    "个人自付",
    "参保地区划代码",
]
# One fault per faulty row, in the order the load checks them (the first failing check is the reason).
FAULTS = {
    "id_empty": "证件号码为空",
    "date_empty": "结算日期为空",
    "pay_empty": "个人自付为空",
    "id_bad": "证件号码无效",
    "date_bad": "结算日期不是日期",
    "total_bad": "医疗总费用不是有效金额",
    "pay_bad": "个人自付不是有效金额",
}
FAULT_RATE = 0.02
REGISTERED_SHARE = 0.30
LOCAL_SHARE_OF_STRANGERS = 1 / 7
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.array(list("10X98765432"))
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕")
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
]
VISITS = ["住院", "门诊慢特病", "普通门诊"]
BAD_DATES = ["上周", "2026-02-30", "2026-13-01", "待定"]
BAD_MONEY = ["一千", "12..5", "约300", "N/A"]


# --------------------------------------------------------------------------- the feed


def _other_counties(regions_csv: Path) -> np.ndarray:
    regions = pl.read_csv(regions_csv, infer_schema=False)
    codes = regions.filter(pl.col("level") == "county")["code"].str.slice(0, 6).unique().sort()
    return np.array([int(c) for c in codes if c != COUNTY], dtype=np.int64)


def _ids(rng: np.random.Generator, prefixes: np.ndarray) -> pl.Series:
    """Valid 18-character numbers: the given 6-digit region codes, births 1930–2020, random sequence."""
    n = len(prefixes)
    days = rng.integers((np.datetime64("1930-01-01") - np.datetime64("1970-01-01")).astype(int), 18627, n)
    ymd = pl.Series(days, dtype=pl.Int32).cast(pl.Date).dt.strftime("%Y%m%d").cast(pl.Int64).to_numpy()
    first17 = prefixes * 10**11 + ymd * 10**3 + rng.integers(0, 1000, n)
    digits = (first17[:, None] // 10 ** np.arange(16, -1, -1, dtype=np.int64)) % 10
    check = CHECK_CHARS[(digits @ WEIGHTS) % 11]
    return pl.Series(first17).cast(pl.String) + pl.Series(check)


def _money_text(cents: np.ndarray) -> pl.Series:
    s = pl.Series(cents)
    return (s // 100).cast(pl.String) + "." + (s % 100).cast(pl.String).str.zfill(2)


def _chunk(rng, n: int, registry: pl.Series, counties: np.ndarray) -> tuple[pl.DataFrame, dict[str, int]]:
    kind = rng.random(n)
    registered = kind < REGISTERED_SHARE
    local = ~registered & (kind < REGISTERED_SHARE + (1 - REGISTERED_SHARE) * LOCAL_SHARE_OF_STRANGERS)
    prefixes = np.where(local, int(COUNTY), counties[rng.integers(0, len(counties), n)])
    ids = _ids(rng, prefixes)
    # a stranger that happens to have a registered person's number is moved to another county
    clash = ids.is_in(registry.implode()).to_numpy() & ~registered
    if clash.any():
        prefixes = np.where(clash, counties[0], prefixes)
        ids = _ids(rng, prefixes).zip_with(pl.Series(clash), ids)
        local &= ~clash
    picked = registry.gather(rng.integers(0, registry.len(), n))
    ids = picked.zip_with(pl.Series(registered), ids)

    visit = rng.integers(0, len(VISITS), n)
    total = np.round(rng.lognormal(7.5, 1.3, n) * 100).astype(np.int64) + 100 * (visit == 0) * 3000
    basic = total * rng.integers(40, 71, n) // 100
    serious = np.where(total > 1_500_000, (total - basic) // 3, 0)
    aid = np.where(rng.random(n) < 0.1, (total - basic - serious) // 4, 0)
    own = total - basic - serious - aid
    days = rng.integers(
        (np.datetime64("2025-01-01") - np.datetime64("1970-01-01")).astype(int),
        (np.datetime64("2026-07-01") - np.datetime64("1970-01-01")).astype(int),
        n,
    )
    settle = pl.Series(days, dtype=pl.Int32).cast(pl.Date)
    style = rng.random(n)
    dates = (
        pl.DataFrame({"d": settle, "s": style})
        .select(
            pl.when(pl.col("s") < 0.9)
            .then(pl.col("d").dt.strftime("%Y-%m-%d"))
            .when(pl.col("s") < 0.95)
            .then(pl.col("d").dt.strftime("%Y%m%d"))
            .otherwise(pl.col("d").dt.strftime("%Y/%m/%d"))
        )
        .to_series()
    )
    names = pl.Series([s + g for s in SURNAMES for g in GIVEN], dtype=pl.String).gather(
        rng.integers(0, len(SURNAMES) * len(GIVEN), n)
    )
    frame = pl.DataFrame(
        {
            "证件号码": ids,
            "姓名": names,
            "结算日期": dates,
            "就诊类型": pl.Series(VISITS).gather(visit),
            "医疗总费用": _money_text(total),
            "基本医保支付": _money_text(basic),
            "大病保险支付": _money_text(serious),
            "医疗救助支付": _money_text(aid),
            "个人自付": _money_text(own),
            "参保地区划代码": ids.str.slice(0, 6),
        }
    )
    # some IDs ending in X written with a lower-case x (valid: normalised)
    lower = pl.Series(rng.random(n) < 0.3)
    frame = frame.with_columns(
        pl.when(lower & pl.col("证件号码").str.ends_with("X"))
        .then(pl.col("证件号码").str.to_lowercase())
        .otherwise(pl.col("证件号码"))
        .alias("证件号码")
    )

    faulty = rng.random(n) < FAULT_RATE
    fault = np.where(faulty, rng.integers(0, len(FAULTS), n), -1)
    names_of = list(FAULTS)
    bad_date = pl.Series(BAD_DATES).gather(rng.integers(0, len(BAD_DATES), n))
    bad_money = pl.Series(BAD_MONEY).gather(rng.integers(0, len(BAD_MONEY), n))
    f = pl.Series("f", fault)

    def is_(name: str) -> pl.Expr:
        return pl.lit(f) == names_of.index(name)

    # a wrong ID: the check character replaced by another one
    wrong = pl.col("证件号码").str.slice(0, 17) + pl.when(pl.col("证件号码").str.slice(17, 1) == "0").then(
        pl.lit("1")
    ).otherwise(pl.lit("0"))
    frame = frame.with_columns(
        pl.when(is_("id_empty"))
        .then(None)
        .when(is_("id_bad"))
        .then(wrong)
        .otherwise(pl.col("证件号码"))
        .alias("证件号码"),
        pl.when(is_("date_empty"))
        .then(pl.lit(""))
        .when(is_("date_bad"))
        .then(pl.lit(bad_date))
        .otherwise(pl.col("结算日期"))
        .alias("结算日期"),
        pl.when(is_("pay_empty"))
        .then(None)
        .when(is_("pay_bad"))
        .then(pl.lit(bad_money))
        .otherwise(pl.col("个人自付"))
        .alias("个人自付"),
        pl.when(is_("total_bad")).then(pl.lit(bad_money)).otherwise(pl.col("医疗总费用")).alias("医疗总费用"),
    )
    ok = fault < 0
    expected = {FAULTS[k]: int((fault == i).sum()) for i, k in enumerate(names_of)}
    expected["_registered"] = int((registered & ok).sum())
    expected["_local"] = int((local & ok).sum())
    return frame, expected


def make_feed(path: Path, rows: int, registry: pl.Series, counties: np.ndarray, seed: int) -> dict:
    """Write the feed in chunks (bounded memory); return what the load must find."""
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return json.loads(meta_path.read_text())
    rng = np.random.Generator(np.random.PCG64(seed))
    expected: dict[str, int] = {}
    t0 = time.perf_counter()
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as f:
        for start in range(0, rows, CHUNK):
            frame, counts = _chunk(rng, min(CHUNK, rows - start), registry, counties)
            frame.write_csv(f, include_header=start == 0)
            for k, v in counts.items():
                expected[k] = expected.get(k, 0) + v
            print(f"\r  generating: {start + frame.height:,} / {rows:,} rows", end="", flush=True)
    tmp.rename(path)
    print()
    meta = {"rows": rows, "seed": seed, "expected": expected, "seconds": time.perf_counter() - t0}
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    return meta


# --------------------------------------------------------------------------- registry, floor, load


def make_registry(work: Path, regen: bool) -> tuple[Path, pl.Series]:
    """A data directory with the demo county imported (reused); the registered ID numbers."""
    import sqlite3

    reg = work / "registry"
    db = reg / "dixian.sqlite3"
    if regen or not (reg / ".done").exists():
        from dixian.registry.demo import generate_ledger, write_ledger

        fresh_dir(reg)
        env = dixian_env(reg)
        run_measured([DIXIAN, "init", "--region", COUNTY], env).check("dixian init")
        ledger = write_ledger(generate_ledger(county_code=COUNTY), reg / "ledger.csv")
        run = run_measured([DIXIAN, "ledger", "import", str(ledger)], env).check("dixian ledger import")
        print(f"  registry: demo county imported in {run.seconds:.1f} s")
        (reg / ".done").write_text("ok")
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT id_number FROM registry_person WHERE active")]
    return reg, pl.Series("id", ids, dtype=pl.String)


_FLOOR_CODE = r"""
import sys, time
path, how = sys.argv[1], sys.argv[2]
if how == "pyarrow":
    import pyarrow as pa, pyarrow.csv as pc
    with open(path, encoding="utf-8") as f:
        names = f.readline().rstrip("\n").split(",")
    t0, c0 = time.perf_counter(), time.process_time()
    table = pc.read_csv(path, convert_options=pc.ConvertOptions(column_types={n: pa.string() for n in names}))
    rows = table.num_rows
else:
    import polars as pl
    t0, c0 = time.perf_counter(), time.process_time()
    rows = pl.read_csv(path, infer_schema=False).height
print(time.perf_counter() - t0, time.process_time() - c0, rows)
"""

_LOAD_CODE = r"""
import json, os, sys, threading, time
t_start = time.perf_counter()
import django
django.setup()
from dixian.core.audit import Actor
from dixian.screening.services import load_feed
marks = []
t0, c0 = time.perf_counter(), time.process_time()
def step(stage, fraction):
    now = rss()
    marks.append((stage, time.perf_counter() - t0, max(peak[0], now)))
    peak[0] = now
feed = load_feed(actor=Actor.cli(), feed_type="medical", path=sys.argv[1], progress=step)
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
keys = ("rows_read", "rows_refused", "ids_invalid", "rows_registered", "rows_unregistered_local", "refusals")
print(json.dumps({"setup": t0 - t_start, "seconds": seconds, "cpu": cpu, "marks": marks,
                  "parquet_bytes": os.path.getsize(feed.stored_path),
                  **{k: getattr(feed, k) for k in keys}}, ensure_ascii=False))
"""


def floor(path: Path, how: str):
    run = run_measured([PYTHON, "-c", _FLOOR_CODE, str(path), how], dict(os.environ))
    run.check(f"{how} read")
    seconds, cpu, rows = run.stdout.split()
    return float(seconds), float(cpu), int(rows), run


def load(path: Path, registry: Path, work: Path):
    data = fresh_dir(work / "load")
    shutil.copy(registry / "dixian.sqlite3", data / "dixian.sqlite3")
    shutil.copy(registry / "secret_key", data / "secret_key")
    run = run_measured([PYTHON, "-c", RSS_SAMPLER + _LOAD_CODE, str(path)], dixian_env(data)).check(
        "load_feed"
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    shutil.rmtree(data)
    return result, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=30_000_000)
    ap.add_argument("--seed", type=int, default=20261)
    ap.add_argument("--regen", action="store_true", help="rebuild the registry and the feed")
    ap.add_argument("--no-floor", action="store_true", help="skip the bare parse (floor) runs")
    args = ap.parse_args()

    from dixian.registry.demo import DEFAULT_REGIONS_CSV

    work = OUT / "feeds"
    work.mkdir(parents=True, exist_ok=True)
    registry, ids = make_registry(work, args.regen)
    feed = work / f"medical-{args.rows}-{args.seed}-v{GENERATOR_VERSION}.csv"
    if args.regen:
        feed.unlink(missing_ok=True)
    meta = make_feed(feed, args.rows, ids, _other_counties(DEFAULT_REGIONS_CSV), args.seed)
    expected = meta["expected"]
    size = feed.stat().st_size
    print(
        f"feed: {feed.name} — {args.rows:,} rows, {size / 2**20:,.0f} MiB "
        f"(generated in {meta['seconds']:.1f} s); registry {ids.len():,} persons"
    )
    print(f"  {load_note()}; polars thread pool {pl.thread_pool_size()}")

    floors = {}
    if not args.no_floor:
        for how in ("pyarrow", "polars"):
            seconds, cpu, rows, run = floor(feed, how)
            floors[how] = (seconds, cpu)
            print(
                f"  floor {how}: {seconds:.2f} s, CPU {cpu:.1f} s ({rows:,} rows), peak RSS {fmt_bytes(run.peak_rss)}"
            )
    result, run = load(feed, registry, work)
    seconds = result["seconds"]
    print(
        f"  load_feed: {seconds:.2f} s in process (+ {result['setup']:.1f} s start and django.setup()), "
        f"CPU {result['cpu']:.1f} s, peak RSS {fmt_bytes(run.peak_rss)}; {load_note()}"
    )
    print(f"  stored Parquet: {fmt_bytes(result['parquet_bytes'])}")
    stages: dict[str, list] = {}  # the pass reports every 0.5 s under one name: summed
    for (stage, t0, _), (_, t1, peak) in zip(result["marks"], result["marks"][1:], strict=False):
        entry = stages.setdefault(stage, [0.0, 0])
        entry[0] += t1 - t0
        entry[1] = max(entry[1], peak)
    print_table(
        [(stage, f"{seconds:.2f} s", fmt_bytes(peak)) for stage, (seconds, peak) in stages.items()],
        ("stage (progress callback)", "seconds", "peak RSS in stage"),
    )

    refused = sum(v for k, v in expected.items() if not k.startswith("_"))
    want_refusals = {k: v for k, v in expected.items() if not k.startswith("_") and v}
    checks = [
        ("rows read", result["rows_read"], args.rows),
        ("rows refused", result["rows_refused"], refused),
        ("refusals by reason", result["refusals"], want_refusals),
        ("matched registered persons", result["rows_registered"], expected["_registered"]),
        ("in the county, not registered", result["rows_unregistered_local"], expected["_local"]),
    ]
    table = [
        (what, "equal" if isinstance(got, dict) and got == want else f"{got:,}" if isinstance(got, int) else got,
         "generator's count" if isinstance(want, dict) else f"{want:,}", "", verdict(got == want))
        for what, got, want in checks
    ]  # fmt: skip
    print("  refusals:", ", ".join(f"{k} {v:,}" for k, v in result["refusals"].items()))
    table.append(("rows per second", f"{args.rows / seconds:,.0f}", "", "", ""))
    if floors:
        best_how = min(floors, key=lambda h: floors[h][0])
        best, best_cpu = floors[best_how]
        ratio = seconds / best
        table.append(
            (f"load ÷ floor ({best_how} {best:.2f} s)", f"{ratio:.2f} ×", f"≤ {TARGET_RATIO:.0f} ×",
             f"{ratio / TARGET_RATIO:.2f}", verdict(ratio <= TARGET_RATIO))
        )  # fmt: skip
        table.append(
            (f"CPU: load ÷ floor ({best_cpu:.1f} s)", f"{result['cpu'] / best_cpu:.2f} ×", "", "", "")
        )  # fmt: skip
    table.append(
        ("load peak RSS", fmt_bytes(run.peak_rss), "≤ 3,072 MiB", f"{run.peak_rss / TARGET_RSS:.2f}",
         verdict(run.peak_rss <= TARGET_RSS))
    )  # fmt: skip
    print()
    print(f"Results ({args.rows:,} rows; {load_note()})")
    print_table(table, ("measure", "value", "target", "value/target", ""))


if __name__ == "__main__":
    main()
