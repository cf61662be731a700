"""Reads over the region tree, and pure helpers on 12-digit codes.

Regions are public reference data (no personal data), so these selectors take no user; scoping of
people's data uses the pure helpers below (``code_level``, ``county_of``, ``township_of``).

Names, levels and parents are cached in-process (``functools.lru_cache``); ``load_regions`` clears
the cache. Another process keeps its cache until it restarts, which is fine for data that changes
once a year.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from django.db.models import QuerySet

from dixian.core.errors import NotFound

from .models import Region, RegionLevel

_CODE_RE = re.compile(r"\d{12}")

LEVEL_DIGITS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}


# -- pure helpers on codes ------------------------------------------------------------------


def code_level(code: str) -> str:
    """The level a 12-digit statistical code denotes, from its digits alone.

    ``140000000000`` province, ``140700000000`` city, ``140724000000`` county, ``140724100000``
    township, ``140724100204`` village. Returns ``""`` for anything that is not a region code
    (wrong length, non-digits, province ``00``), so callers can fall through to "no region".
    """
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code) or code[:2] == "00":
        return ""
    if code[2:] == "0000000000":
        return "province"
    if code[4:] == "00000000":
        return "city"
    if code[6:] == "000000":
        return "county"
    if code[9:] == "000":
        return "township"
    return "village"


def _ancestor_at(code: str, level: str) -> str:
    own = code_level(code)
    if not own or LEVEL_DIGITS[own] < LEVEL_DIGITS[level]:
        return ""
    keep = LEVEL_DIGITS[level]
    return code[:keep] + "0" * (12 - keep)


def province_of(code: str) -> str:
    """The 12-digit province code of any code (``""`` if not a region code)."""
    return _ancestor_at(code, "province")


def city_of(code: str) -> str:
    """The 12-digit city code of a city or anything below it, else ``""``."""
    return _ancestor_at(code, "city")


def county_of(code: str) -> str:
    """The 12-digit county code of a county, township or village (``140724100204`` → ``140724000000``);
    ``""`` for a province, a city or a non-code."""
    return _ancestor_at(code, "county")


def township_of(code: str) -> str:
    """The 12-digit township code of a township or village (``140724100204`` → ``140724100000``);
    ``""`` above the township level or for a non-code."""
    return _ancestor_at(code, "township")


# -- cached lookups -------------------------------------------------------------------------


class RegionInfo(NamedTuple):
    code: str
    name: str
    short_name: str
    level: str
    parent_code: str
    valid_to: object  # date | None

    @property
    def label(self) -> str:
        return self.short_name or self.name


_INFO_FIELDS = ("code", "name", "short_name", "level", "parent_code", "valid_to")


@lru_cache(maxsize=65536)
def region_info(code: str) -> RegionInfo | None:
    """Name, level and parent of one code, cached in-process; None if unknown."""
    row = Region.objects.filter(code=code).values_list(*_INFO_FIELDS).first()
    return RegionInfo(*row) if row else None


@lru_cache(maxsize=4096)
def _chain(code: str) -> tuple[RegionInfo, ...]:
    """Root → self along parent_code. One query for the usual case (parents follow the digits)."""
    if not code:
        return ()
    level = code_level(code)
    guesses = {code}
    if level:
        guesses |= {_ancestor_at(code, lv) for lv in LEVEL_DIGITS if LEVEL_DIGITS[lv] <= LEVEL_DIGITS[level]}
    rows = {r[0]: RegionInfo(*r) for r in Region.objects.filter(code__in=guesses).values_list(*_INFO_FIELDS)}
    chain: list[RegionInfo] = []
    seen: set[str] = set()
    current = code
    while current and current not in seen:
        seen.add(current)
        info = rows.get(current) or region_info(current)
        if info is None:
            break
        chain.append(info)
        current = info.parent_code
    return tuple(reversed(chain))


def clear_cache() -> None:
    """Forget cached names and chains (called by ``load_regions``)."""
    region_info.cache_clear()
    _chain.cache_clear()


# -- selectors ------------------------------------------------------------------------------


def region_by_code(code: str) -> Region:
    """The region with this code; raises ``NotFound`` for an unknown code."""
    try:
        return Region.objects.get(code=code)
    except Region.DoesNotExist:
        raise NotFound(f"区划代码“{code}”不存在", details={"code": code}) from None


def region_level(code: str) -> str:
    """The stored level of a code (``"village"`` …); raises ``NotFound`` for an unknown code."""
    chain = _chain(code)
    if not chain or chain[-1].code != code:
        raise NotFound(f"区划代码“{code}”不存在", details={"code": code})
    return chain[-1].level


def _current(qs: QuerySet[Region], include_retired: bool) -> QuerySet[Region]:
    return qs if include_retired else qs.filter(valid_to__isnull=True)


def children(code: str, *, include_retired: bool = False) -> QuerySet[Region]:
    """Direct children of a region, in code order (current codes only unless asked)."""
    return _current(Region.objects.filter(parent_code=code), include_retired).order_by("code")


def townships_of(county_code: str, *, include_retired: bool = False) -> QuerySet[Region]:
    """The townships (乡镇、街道) of a county, in code order."""
    qs = Region.objects.filter(county_code=county_code, level=RegionLevel.TOWNSHIP)
    return _current(qs, include_retired).order_by("code")


def villages_of(township_code: str, *, include_retired: bool = False) -> QuerySet[Region]:
    """The villages and communities (行政村、社区) of a township, in code order."""
    qs = Region.objects.filter(township_code=township_code, level=RegionLevel.VILLAGE)
    return _current(qs, include_retired).order_by("code")


def ancestors(code: str) -> list[Region]:
    """The regions from the root down to ``code`` itself (``[山西省, 晋中市, 昔阳县, 乐平镇, 梁家沟村村委会]``).

    Raises ``NotFound`` for an unknown code.
    """
    chain = _chain(code)
    if not chain or chain[-1].code != code:
        raise NotFound(f"区划代码“{code}”不存在", details={"code": code})
    by_code = Region.objects.in_bulk([info.code for info in chain])
    return [by_code[info.code] for info in chain if info.code in by_code]


def name_path(code: str, *, sep: str = " ", short: bool = True) -> str:
    """``"山西省 晋中市 昔阳县 乐平镇 梁家沟村"`` (short names; ``short=False`` for official names).

    Raises ``NotFound`` for an unknown code.
    """
    chain = _chain(code)
    if not chain or chain[-1].code != code:
        raise NotFound(f"区划代码“{code}”不存在", details={"code": code})
    return sep.join(info.label if short else info.name for info in chain)


def names_for(codes) -> dict[str, str]:
    """Short names of many codes in one query: ``{code: short_name}``."""
    wanted = [c for c in set(codes) if c]
    if not wanted:
        return {}
    return dict(Region.objects.filter(code__in=wanted).values_list("code", "short_name"))
