"""Demo departments' files for the demo county: one file of every type, made from the registry (and
from people not registered), so that a first screening has alerts for the villages to verify."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from dixian.core.idcard import checksum_char

HEADERS = {
    "medical": ["证件号码", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付", "参保地区划代码"],
    "disability": ["证件号码", "姓名", "残疾类别", "残疾等级", "发证日期"],
    "assistance": ["证件号码", "姓名", "救助类型", "开始日期", "金额"],
    "education": ["证件号码", "姓名", "学段", "学校", "状态", "日期"],
    "housing": ["户主证件号码", "户主姓名", "鉴定等级", "鉴定日期"],
    "water": ["区划代码", "断水开始日期", "断水结束日期", "原因"],
    "disaster": ["证件号码", "姓名", "受灾日期", "灾种", "直接经济损失", "房屋损毁"],
    "employment": ["证件号码", "姓名", "状态", "日期", "务工地"],
    "civil_registry": ["证件号码", "姓名", "事件", "日期"],
}


def _stranger(rng: random.Random, county: str) -> str:
    body = f"{county[:6]}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(900, 999)}"
    return body + checksum_char(body)


def write_demo_feeds(out_dir: Path, *, county: str, as_of: date, seed: int = 7) -> dict[str, Path]:
    """CSV files in the exchange format (../shared/formats/department-feeds.md), one per type."""
    from dixian.registry.models import Person

    rng = random.Random(seed)
    people = list(
        Person.objects.filter(active=True, county_code=county)
        .order_by("id")
        .values_list(
            "id_number", "name", "birth_date", "household__head_name", "village_code", "relation_to_head"
        )
    )
    if not people:
        return {}
    day = lambda lo, hi: (as_of - timedelta(days=rng.randint(lo, hi))).isoformat()  # noqa: E731
    sample = lambda k: rng.sample(people, min(k, len(people)))  # noqa: E731
    rows: dict[str, list[list]] = {k: [] for k in HEADERS}
    for n, name, *_ in sample(len(people) // 8):
        for _ in range(rng.randint(1, 4)):
            pay = round(rng.lognormvariate(5.6, 1.2), 2)
            rows["medical"].append(
                [
                    n,
                    name,
                    day(0, 420),
                    rng.choice(["住院", "门诊慢特病", "普通门诊"]),
                    round(pay * 3, 2),
                    pay,
                    county[:6],
                ]
            )
    for _ in range(60):
        s = _stranger(rng, county)
        for _ in range(rng.randint(1, 3)):
            rows["medical"].append(
                [s, "未在册人员", day(0, 300), "住院", 40000, round(rng.uniform(3000, 15000), 2), county[:6]]
            )
    for n, name, *_ in sample(len(people) // 200):
        rows["disability"].append(
            [
                n,
                name,
                rng.choice(["肢体", "视力", "听力", "精神"]),
                rng.choice(["一级", "二级", "三级", "四级"]),
                day(0, 700),
            ]
        )
    for n, name, *_ in sample(len(people) // 400):
        rows["assistance"].append(
            [
                n,
                name,
                rng.choice(["低保", "特困", "低保边缘", "临时救助"]),
                day(0, 500),
                rng.randint(500, 5000),
            ]
        )
    children = [p for p in people if p[2] and 6 <= (as_of - p[2]).days // 365 <= 17]
    for n, name, *_ in rng.sample(children, min(len(children), len(people) // 40)):
        status = "辍学" if rng.random() < 0.03 else "在读"
        rows["education"].append(
            [n, name, rng.choice(["小学", "初中", "高中"]), "县第一中学", status, day(0, 300)]
        )
    heads = [p for p in people if p[5] == "户主"]
    for n, name, *_ in rng.sample(heads, min(len(heads), len(heads) // 100)):
        rows["housing"].append([n, name, rng.choice(["A", "B", "B", "C", "D"]), day(0, 700)])
    villages = sorted({p[4] for p in people})
    for v in rng.sample(villages, min(len(villages), 3)):
        start = as_of - timedelta(days=rng.randint(10, 60))
        end = "" if rng.random() < 0.5 else (start + timedelta(days=rng.randint(3, 40))).isoformat()
        rows["water"].append([v, start.isoformat(), end, rng.choice(["管道损坏", "水源不足", "检修"])])
    for n, name, *_ in rng.sample(heads, min(len(heads), len(heads) // 200)):
        rows["disaster"].append(
            [
                n,
                name,
                day(0, 300),
                rng.choice(["洪涝", "风雹", "干旱"]),
                rng.randint(0, 20000),
                rng.choice(["无", "一般损坏", "一般损坏", "严重损坏", "倒塌"]),
            ]
        )
    for _ in range(8):
        rows["disaster"].append(
            [_stranger(rng, county), "未在册户主", day(0, 200), "洪涝", rng.randint(12000, 30000), "倒塌"]
        )
    adults = [p for p in people if p[2] and 18 <= (as_of - p[2]).days // 365 <= 55]
    for n, name, *_ in rng.sample(adults, min(len(adults), len(people) // 120)):
        rows["employment"].append(
            [
                n,
                name,
                rng.choice(["就业", "就业", "失业", "务工中断"]),
                day(0, 150),
                rng.choice(["太原", "北京", "本县"]),
            ]
        )
    for n, name, *_ in rng.sample(people, min(len(people), len(people) // 400)):
        rows["civil_registry"].append([n, name, rng.choice(["死亡", "迁出", "出生"]), day(0, 300)])
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for feed_type, data in rows.items():
        path = out_dir / f"demo-{feed_type}-{as_of:%Y%m%d}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(HEADERS[feed_type])
            w.writerows(data)
        paths[feed_type] = path
    return paths


def load_demo_feeds(*, actor, out_dir: Path, county: str, as_of: date) -> int:
    """Load the demo files (those not loaded yet) and screen once; returns the number of new alerts."""
    from dixian.core.errors import ValidationError
    from dixian.screening.runs import run_screening
    from dixian.screening.services import load_feed

    for feed_type, path in write_demo_feeds(out_dir, county=county, as_of=as_of).items():
        try:
            load_feed(actor=actor, feed_type=feed_type, path=path)
        except ValidationError:  # already loaded (same file): keep going
            continue
    return run_screening(actor=actor, as_of=as_of).alert_count
