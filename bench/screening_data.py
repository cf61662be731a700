"""Data for bench_screening.py: a registry written straight into the database (vectorised, COPY on
PostgreSQL, executemany on SQLite) and departments' files in the form ``load_feed`` keeps them
(Parquet), registered as loaded. Not a benchmark itself; runs inside a configured Django process.

Sizes: S = 40,000 registered persons and a 400,000-row medical file, plus a file of every other
type; M = 3,000,000 registered persons and a 30,000,000-row medical file. In the medical file 30% of
rows belong to registered persons and 70% to people not registered (a quarter of them born in the
county). Money is Decimal(18, 2) as ``load_feed`` stores it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

COUNTY = "140724"
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.array(list("10X98765432"))
EPOCH = date(1940, 1, 1)
DAYS = (date(2020, 12, 31) - EPOCH).days


def id_numbers(n: int, rng: np.random.Generator, prefix: str = COUNTY, exclude: int = 0) -> np.ndarray:
    """``n`` distinct valid ID numbers of a county: birth date and sequence from distinct integers."""
    picks = rng.choice(DAYS * 999 - exclude, size=n, replace=False) + exclude
    day, seq = picks // 999, picks % 999 + 1
    births = np.datetime64(EPOCH.isoformat()) + day.astype("timedelta64[D]")
    ymd = births.astype("datetime64[D]").astype(str).astype("U10")
    body = np.char.add(np.char.add(prefix, np.char.replace(ymd, "-", "")), np.char.zfill(seq.astype(str), 3))
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17) - 48
    check = CHECK[(digits.astype(np.int64) @ WEIGHTS) % 11]
    return np.char.add(body, check)


def _villages() -> list[str]:
    from dixian.regions.models import Region

    return list(
        Region.objects.filter(level="village", code__startswith=COUNTY)
        .order_by("code")
        .values_list("code", flat=True)
    )


def _rows(model, frame: pl.DataFrame) -> tuple[list[str], list[tuple]]:
    """Every column an insert writes (``written_fields``): from ``frame`` or the field's default."""
    from django.db import models

    from dixian.core.bulk import written_fields

    names, fill = [], {}
    for f in written_fields(model):
        col = f.column
        names.append(col)
        if col in frame.columns:
            continue
        default = f.get_default()
        if isinstance(f, models.JSONField):
            default = json.dumps(default)
        elif hasattr(default, "isoformat"):
            default = default.isoformat()
        fill[col] = default
    frame = frame.with_columns([pl.lit(v).alias(k) for k, v in fill.items()]).select(names)
    return names, frame.rows()


def insert(model, frame: pl.DataFrame) -> None:
    from django.db import connection, transaction

    names, rows = _rows(model, frame)
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(names))
            for i in range(0, len(rows), 100_000):
                cur.executemany(
                    f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows[i : i + 100_000]
                )


def build_registry(persons: int, seed: int = 1) -> dict:
    """Households of 1-5 (mean 3) in the county's villages; returns the arrays the feeds are made from."""
    from django.db import connection

    from dixian.registry.models import Household, Person

    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=persons // 3 + 1)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), persons) + 1]
    sizes[-1] -= int(sizes.sum() - persons)
    sizes = sizes[sizes > 0]
    n_hh = len(sizes)
    villages = np.array(_villages())
    hv = villages[rng.integers(0, len(villages), size=n_hh)]
    net = rng.integers(15_000, 80_000, size=n_hh).astype(np.float64)
    hh = pl.DataFrame(
        {
            "county_code": np.full(n_hh, COUNTY + "000000"),
            "township_code": [v[:9] + "000" for v in hv],
            "village_code": hv,
            "household_no": [f"B{i:08d}" for i in range(n_hh)],
            "household_type": np.where(rng.random(n_hh) < 0.6, "lifted", "ordinary"),
            "size": sizes,
            "wage_income": net,
            "head_name": np.full(n_hh, "户主"),
        }
    )
    insert(Household, hh)
    first_id = Household.objects.order_by("id").values_list("id", flat=True).first()
    hh_ids = np.arange(first_id, first_id + n_hh)
    ids = id_numbers(persons, rng)
    owner = np.repeat(np.arange(n_hh), sizes)
    position = np.arange(persons) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    births = np.array([f"{s[6:10]}-{s[10:12]}-{s[12:14]}" for s in ids])
    ps = pl.DataFrame(
        {
            "household_id": hh_ids[owner],
            "county_code": np.full(persons, COUNTY + "000000"),
            "township_code": hh["township_code"].to_numpy()[owner],
            "village_code": hv[owner],
            "position": position,
            "name": np.full(persons, "成员"),
            "id_number": ids,
            "birth_date": births,
            "relation_to_head": np.where(position == 0, "户主", "子女"),
            "work_months": np.where(rng.random(persons) < 0.4, 6, 0),
        }
    )
    insert(Person, ps)
    with connection.cursor() as cur:  # as the ledger import does after a large import
        if connection.vendor == "postgresql":
            cur.execute("VACUUM (ANALYZE) registry_household, registry_person")
        else:  # SQLite's planner then scans the county's households instead of going through an index
            cur.execute("ANALYZE registry_household")
            cur.execute("ANALYZE registry_person")
    return {"ids": ids, "owner": owner, "villages": villages}


def _frame_to_parquet(frame: pl.DataFrame, path: Path | None, feed_type: str, first_row: int = 2):
    from dixian.screening.feeds import SPECS

    spec = SPECS[feed_type]
    cols = [pl.int_range(first_row, first_row + frame.height, dtype=pl.UInt32).alias("行号")]
    if spec.id_column:
        cols.append(pl.col(spec.id_column).alias("证件号码_规范"))
    for c in spec.columns:
        if c not in frame.columns:
            cols.append(
                pl.lit(
                    None,
                    dtype=pl.Decimal(18, 2) if c in spec.money else (pl.Date if c in spec.dates else pl.Utf8),
                ).alias(c)
            )
        elif c in spec.money:
            cols.append(pl.col(c).cast(pl.Decimal(18, 2)))
        else:
            cols.append(pl.col(c))
    out = frame.select(cols)
    if path is None:
        return out
    out.write_parquet(path, compression="zstd", row_group_size=1_000_000)
    return None


def medical(rows: int, reg: dict, as_of: date, path: Path, seed: int = 2, chunk: int = 3_000_000) -> None:
    """Written in chunks (a 30M-row frame of ID strings would take several GiB at once)."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    strangers = max(rows // 10, 100)
    local = id_numbers(strangers // 4, rng)
    local = local[~np.isin(local, reg["ids"])]
    other = id_numbers(strangers - strangers // 4, rng, prefix="140702")
    pool = np.concatenate([local, other])
    writer = None
    done = 0
    while done < rows:
        n = min(chunk, rows - done)
        n_reg = int(n * 0.3)
        ids = np.concatenate(
            [
                reg["ids"][rng.integers(0, len(reg["ids"]), size=n_reg)],
                pool[rng.integers(0, len(pool), size=n - n_reg)],
            ]
        )
        rng.shuffle(ids)
        days = rng.integers(-5, 460, size=n)
        cents = np.round(rng.lognormal(np.log(300), 1.1, size=n) * 100).astype(np.int64)
        frame = pl.DataFrame(
            {
                "证件号码": ids,
                "姓名": np.full(n, "某"),
                "结算日期": pl.Series(np.datetime64(as_of.isoformat()) - days.astype("timedelta64[D]")).cast(
                    pl.Date
                ),
                "就诊类型": np.array(["住院", "门诊慢特病", "普通门诊"])[rng.integers(0, 3, size=n)],
                "个人自付": pl.Series(cents).cast(pl.Decimal(18, 0)) / 100,
                "参保地区划代码": np.where(np.char.startswith(ids, COUNTY), COUNTY, "140702"),
            }
        )
        del ids
        table = _frame_to_parquet(frame, None, "medical", first_row=2 + done).to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=1_000_000)
        done += n
    writer.close()


def small_feeds(reg: dict, as_of: date, out: Path, seed: int = 3) -> dict[str, Path]:
    """One file of every other type, about 1% of the registry each plus as many strangers."""
    rng = np.random.default_rng(seed)
    n = max(len(reg["ids"]) // 100, 50)
    ids = reg["ids"][rng.integers(0, len(reg["ids"]), size=n)]
    strangers = id_numbers(n, rng, prefix="140702")
    both = np.concatenate([ids, strangers])
    rng.shuffle(both)
    m = len(both)

    def days(lo=0, hi=400):
        return pl.Series(
            np.datetime64(as_of.isoformat()) - rng.integers(lo, hi, size=m).astype("timedelta64[D]")
        ).cast(pl.Date)

    pick = lambda options: np.array(options)[rng.integers(0, len(options), size=m)]  # noqa: E731
    frames = {
        "disability": pl.DataFrame(
            {
                "证件号码": both,
                "残疾类别": pick(["肢体", "视力"]),
                "残疾等级": pick(["一级", "二级", "三级", "四级"]),
                "发证日期": days(),
            }
        ),
        "assistance": pl.DataFrame(
            {"证件号码": both, "救助类型": pick(["低保", "特困", "低保边缘", "临时救助"]), "开始日期": days()}
        ),
        "education": pl.DataFrame(
            {"证件号码": both, "学段": pick(["小学", "初中"]), "状态": pick(["在读", "辍学"]), "日期": days()}
        ),
        "housing": pl.DataFrame(
            {"户主证件号码": both, "鉴定等级": pick(["A", "B", "C", "D"]), "鉴定日期": days()}
        ),
        "disaster": pl.DataFrame(
            {
                "证件号码": both,
                "受灾日期": days(),
                "灾种": pick(["洪涝", "风雹"]),
                "直接经济损失": rng.integers(0, 20000, size=m).astype(np.float64),
                "房屋损毁": pick(["无", "一般损坏", "严重损坏", "倒塌"]),
            }
        ),
        "employment": pl.DataFrame(
            {"证件号码": both, "状态": pick(["就业", "失业", "务工中断"]), "日期": days(0, 150)}
        ),
        "civil_registry": pl.DataFrame(
            {"证件号码": both, "事件": pick(["死亡", "迁出", "迁入"]), "日期": days()}
        ),
    }
    villages = reg["villages"]
    k = max(len(villages) // 10, 1)
    frames["water"] = pl.DataFrame(
        {
            "区划代码": villages[:k],
            "断水开始日期": pl.Series([as_of - timedelta(days=int(d)) for d in rng.integers(5, 60, size=k)]),
        }
    )
    paths = {}
    for feed_type, frame in frames.items():
        paths[feed_type] = out / f"{feed_type}.parquet"
        _frame_to_parquet(frame, paths[feed_type], feed_type)
    return paths


def register_feed(feed_type: str, path: Path) -> None:
    """Record a file as loaded (the load itself is measured by bench_feeds.py)."""
    from dixian.screening.feeds import SPECS
    from dixian.screening.models import FeedFile

    FeedFile.objects.create(
        county_code=COUNTY + "000000",
        feed_type=feed_type,
        department=SPECS[feed_type].department,
        file_name=path.name,
        sha256=f"bench-{feed_type}-{path.stat().st_size}",
        stored_path=str(path),
        rows_read=pl.scan_parquet(path).select(pl.len()).collect().item(),
    )


def export_registry(path_persons: Path, path_households: Path) -> None:
    """The registry as Parquet for the bare DuckDB script (the floor reads files, not the database)."""
    import pyarrow.parquet as pq

    from dixian.screening.registry_arrow import read_registry

    reg = read_registry(COUNTY + "000000")
    pq.write_table(reg.persons, path_persons)
    pq.write_table(reg.households, path_households)
