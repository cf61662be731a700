"""Policy values by region and year (rule 4: policy is data). A past period uses its own year's values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dixian.core.errors import DixianError
from dixian.monitoring.models import NATIONAL, PER_YEAR_KEYS, PolicyKey, PolicyValue


class PolicyMissing(DixianError):
    """No value in force: shown to the user as a warning, never replaced by a default."""

    code = "policy_missing"


@dataclass(frozen=True)
class Policy:
    key: str
    value: Decimal
    region_code: str
    year: int

    @property
    def label(self) -> str:
        return PolicyKey(self.key).label


def region_chain(code: str) -> list[str]:
    """The region and its ancestors up to the nation: county, city, province, 全国."""
    code = (code or "").ljust(12, "0")[:12]
    chain = []
    for keep in (12, 9, 6, 4, 2):
        c = code[:keep].ljust(12, "0")
        if c not in chain and c != NATIONAL:
            chain.append(c)
    chain.append(NATIONAL)
    return chain


def _region_name(code: str) -> str:
    if code == NATIONAL:
        return "全国"
    from dixian.regions.models import Region

    return Region.objects.filter(code=code).values_list("name", flat=True).first() or code


def policy(key: str, *, place: str, on: date | int) -> Policy:
    """The value of ``key`` in force at ``place`` (any 12-digit code) on a date (or in a year).

    The most specific region that has a value wins. Per-year keys (the monitoring line) need a row for
    that very year; the others apply from their year on until a later row replaces them.
    """
    year = on if isinstance(on, int) else on.year
    chain = region_chain(place)
    rows = list(
        PolicyValue.objects.filter(key=key, region_code__in=chain, year__lte=year).values_list(
            "region_code", "year", "value"
        )
    )
    for region in chain:
        mine = [r for r in rows if r[0] == region]
        if key in PER_YEAR_KEYS:
            mine = [r for r in mine if r[1] == year]
        if mine:
            best = max(mine, key=lambda r: r[1])
            return Policy(key=key, value=best[2], region_code=region, year=best[1])
    where = _region_name(next((c for c in chain if c.endswith("0000000000") and c != NATIONAL), NATIONAL))
    label = PolicyKey(key).label if key in PolicyKey.values else key
    raise PolicyMissing(
        f"{year}年{where}的“{label}”尚未设置，请县级管理员在“政策参数”中填写",
        details={"key": key, "year": year, "place": place},
    )


def policy_or_none(key: str, *, place: str, on: date | int) -> Policy | None:
    try:
        return policy(key, place=place, on=on)
    except PolicyMissing:
        return None
