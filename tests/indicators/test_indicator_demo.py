"""Figures over a generated demo sample agree with a count done independently, in plain Python over
the generated ledger frame (not the application's code: its own label maps, its own month logic)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from dixian.core.audit import Actor
from dixian.indicators.catalogue import CODES
from dixian.indicators.compute import compute, compute_with_breakdown
from dixian.registry.demo import generate_ledger, write_ledger
from dixian.registry.services import import_ledger

pytestmark = pytest.mark.django_db

COUNTY = "140724"
CATEGORY = {
    "脱贫不稳定户": "unstable_lifted",
    "边缘易致贫户": "marginal",
    "突发严重困难户": "sudden_hardship",
}
RISK = {
    "因病": "illness",
    "因残": "disability",
    "因学": "schooling",
    "因灾": "disaster",
    "因意外事故": "accident",
    "因产业项目失败": "industry_failure",
    "因务工就业不稳": "unstable_work",
    "缺劳动力": "lack_of_labour",
    "住房出现安全问题": "housing",
    "饮水安全问题": "water",
    "其他": "other",
}
INCOME = {
    "工资性收入": "wage",
    "生产经营性收入": "business",
    "财产性收入": "property",
    "转移性收入": "transfer",
}
EXPENSE = "生产经营性支出"
MODE = {"帮扶消除": "assisted", "自然消除": "natural"}

# (as_of, since): the ledger's month, a mid-point, the first months, and before anything.
DATES = [
    (date(2026, 10, 31), date(2026, 1, 1)),
    (date(2024, 6, 30), date(2023, 7, 1)),
    (date(2022, 3, 15), date(2021, 1, 1)),
    (date(2021, 6, 30), date(2021, 1, 1)),
]


def _month(day: date) -> int:
    return day.year * 100 + day.month


def _households(frame) -> list[dict]:
    """One dict per household, built by walking the person rows."""
    out: dict[str, dict] = {}
    for row in frame.iter_rows(named=True):
        h = out.get(row["户编号"])
        if h is None:
            code = row["区划代码"]
            h = out[row["户编号"]] = {
                "village": code,
                "township": code[:9] + "000",
                "lifted": row["户类型"] == "脱贫户",
                "persons": 0,
                "category": CATEGORY.get(row["监测对象类别"] or ""),
                "identified": int(row["识别监测时间"]) if row["识别监测时间"] else None,
                "eliminated": row["风险是否已消除"] == "是",
                "eliminated_month": int(row["消除监测时间"]) if row["消除监测时间"] else None,
                "mode": MODE.get(row["风险消除方式"] or ""),
                "risks": {RISK[row[f"致贫/返贫风险{i}"]] for i in range(1, 6) if row[f"致贫/返贫风险{i}"]},
                "money": {k: Decimal(row[k]) if row[k] else None for k in (*INCOME, EXPENSE)},
            }
        h["persons"] += 1
    return list(out.values())


def _pct(num: int, den: int):
    if den == 0:
        return None
    return float((Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _yuan(total: Decimal, persons: int):
    if persons == 0:
        return None
    return float((total / persons).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def expected(households: list[dict], as_of: date, since: date) -> dict:
    m, ms = _month(as_of), _month(since)
    c: dict = defaultdict(int)

    def add(key: str, h: dict) -> None:
        c[f"{key}.households"] += 1
        c[f"{key}.persons"] += h["persons"]

    income_households, income_persons, totals = 0, 0, defaultdict(Decimal)
    for h in households:
        if h["lifted"]:
            add("lifted", h)
            money = h["money"]
            if any(v is not None for v in money.values()) and h["persons"] > 0:
                income_households += 1
                income_persons += h["persons"]
                for k, v in money.items():
                    totals[k] += v or Decimal(0)
        if h["category"] is None or h["identified"] is None:
            continue
        if h["identified"] <= m:
            add("monitored", h)
            add(f"monitored.{h['category']}", h)
            done = h["eliminated"] and h["eliminated_month"] is not None and h["eliminated_month"] <= m
            add("monitored.eliminated" if done else "monitored.open", h)
            for r in h["risks"]:
                add(f"monitored.risk.{r}", h)
        if ms <= h["identified"] <= m:
            add("identified", h)
            add(f"identified.{h['category']}", h)
            for r in h["risks"]:
                add(f"identified.risk.{r}", h)
        if h["eliminated"] and h["eliminated_month"] and ms <= h["eliminated_month"] <= m:
            add("eliminated", h)
            if h["mode"]:
                add(f"eliminated.{h['mode']}", h)
    out = {code: c[code] for code in CODES if code.endswith((".households", ".persons"))}
    out["monitoring_ratio"] = _pct(c["monitored.persons"], c["lifted.persons"])
    for unit in ("households", "persons"):
        out[f"elimination_rate.{unit}"] = _pct(c[f"monitored.eliminated.{unit}"], c[f"monitored.{unit}"])
    net = sum((totals[k] for k in INCOME), Decimal(0)) - totals[EXPENSE]
    out["income.lifted.per_capita"] = _yuan(net, income_persons)
    for k, key in INCOME.items():
        out[f"income.lifted.{key}.per_capita"] = _yuan(totals[k], income_persons)
    out["income.lifted.households"], out["income.lifted.persons"] = income_households, income_persons

    def _sum(total: Decimal):
        return float(total) if income_households else None

    out["income.lifted.total"] = _sum(net)
    for k, key in {**INCOME, EXPENSE: "expense"}.items():
        out[f"income.lifted.{key}.total"] = _sum(totals[k])
    # no early-warning alerts in a ledger (tests/screening/test_closure_figures.py counts them)
    for code in CODES:
        if code.startswith("alerts."):
            out[code] = None if code.endswith("_rate") else 0
    return out


@pytest.fixture(scope="module", params=[(11, 2000), (2024, 3000)], ids=["seed11", "seed2024"])
def sample(request, tmp_path_factory):
    seed, persons = request.param
    frame = generate_ledger(county_code=COUNTY, seed=seed, persons=persons)
    path = write_ledger(frame, tmp_path_factory.mktemp("demo") / f"demo-{seed}.csv")
    return frame, path


def test_figures_agree_with_an_independent_count(sample):
    frame, path = sample
    import_ledger(actor=Actor.cli(), path=path)
    households = _households(frame)
    assert any(h["category"] for h in households) and any(h["eliminated"] for h in households)
    county = COUNTY + "000000"
    townships = sorted({h["township"] for h in households})
    village = max(
        {h["village"] for h in households}, key=lambda v: sum(h["village"] == v for h in households)
    )
    for as_of, since in DATES:
        want = expected(households, as_of, since)
        got = compute(region_code=county, as_of=as_of, since=since)
        assert list(got) == list(CODES)
        assert got == want, (as_of, {k: (got[k], want[k]) for k in got if got[k] != want[k]})
        whole, parts = compute_with_breakdown(region_code=county, as_of=as_of, since=since, parts=townships)
        assert whole == got  # the sum of the parts is the whole
        assert set(parts) == set(townships)
        for township in townships:
            mine = [h for h in households if h["township"] == township]
            assert parts[township] == expected(mine, as_of, since), (as_of, township)
        one = compute(region_code=townships[0], as_of=as_of, since=since)
        assert one == parts[townships[0]]
        mine = [h for h in households if h["village"] == village]
        assert compute(region_code=village, as_of=as_of, since=since) == expected(mine, as_of, since)
    # The city and the province contain the county and nothing else here.
    whole = compute(region_code=county, as_of=DATES[0][0], since=DATES[0][1])
    for code in ("140700000000", "140000000000"):
        assert compute(region_code=code, as_of=DATES[0][0], since=DATES[0][1]) == whole
    assert compute(region_code="140100000000", as_of=DATES[0][0])["lifted.households"] == 0
