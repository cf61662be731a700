"""A generated demo county imported through the ordinary import, and an independent count of it in
plain Python over the generated ledger frame (not the application's compute module)."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

COUNTY = "140724"
CATEGORY = {
    "脱贫不稳定户": "unstable_lifted",
    "边缘易致贫户": "marginal",
    "突发严重困难户": "sudden_hardship",
}
MODE = {"帮扶消除": "assisted", "自然消除": "natural"}
MONEY = {
    "工资性收入": "wage",
    "生产经营性收入": "business",
    "财产性收入": "property",
    "转移性收入": "transfer",
    "生产经营性支出": "expense",
}


def households_of(frame) -> list[dict]:
    out: dict[str, dict] = {}
    for row in frame.iter_rows(named=True):
        h = out.get(row["户编号"])
        if h is None:
            code = row["区划代码"]
            risks = {row[f"致贫/返贫风险{i}"] for i in range(1, 6)} - {None, ""}
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
                "disaster": "因灾" in risks,
                "risks": risks,
                "money": {k: Decimal(row[k]) if row[k] else None for k in MONEY},
            }
        h["persons"] += 1
    return list(out.values())


def count(households: list[dict], as_of_month: int, since_month: int) -> dict:
    """Figures by hand: the keys are plain words, not catalogue codes, on purpose."""
    c: dict = defaultdict(int)
    money: dict = defaultdict(Decimal)

    def add(key, h):
        c[f"{key} hh"] += 1
        c[f"{key} p"] += h["persons"]

    for h in households:
        if h["lifted"]:
            add("lifted", h)
            if any(v is not None for v in h["money"].values()) and h["persons"]:
                add("with income", h)
                for k, v in h["money"].items():
                    money[MONEY[k]] += v or Decimal(0)
        if not h["category"] or not h["identified"]:
            continue
        if h["identified"] <= as_of_month:
            add("monitored", h)
            add(h["category"], h)
            done = h["eliminated"] and h["eliminated_month"] and h["eliminated_month"] <= as_of_month
            add("eliminated so far" if done else "at risk", h)
            for r in h["risks"]:
                add(f"risk {r}", h)
        if since_month <= h["identified"] <= as_of_month:
            add("new", h)
            add(f"new {h['category']}", h)
            if h["disaster"]:
                add("new disaster", h)
        if h["eliminated"] and h["eliminated_month"] and since_month <= h["eliminated_month"] <= as_of_month:
            add("eliminated in period", h)
            if h["mode"]:
                add(f"eliminated {h['mode']}", h)
    out = dict(c)
    out["money"] = dict(money)
    out["net"] = (
        sum((money[k] for k in ("wage", "business", "property", "transfer")), Decimal(0)) - money["expense"]
    )
    return out


def pct(num: int, den: int) -> str:
    return f"{(Decimal(num) * 100 / Decimal(den)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"
