"""Place-name matching: turn what people write (县, 乡镇, 行政村, 区划代码) into a 12-digit village code.

A ``RegionMatcher`` is built once per import (from the database, or from plain rows in tests and
benchmarks) and then answers in microseconds from in-memory dictionaries. ``resolve_many`` resolves a
whole polars frame by resolving only its distinct place combinations and joining the answers back.

Rules (all comparisons after NFKC normalisation, which folds full-width characters, and removal of
all whitespace):

- 区划代码, when given, wins over the names (the ledger format says so); names that contradict it
  are ignored.
- County: official name (昔阳县), name without 县/市/区 (昔阳), optionally prefixed by the province
  and/or city (山西省晋中市昔阳县, 晋中昔阳县). A single-county matcher takes an empty county as its own.
- Township: official name, else the name without 镇/乡/街道/街道办事处 (乐平 → 乐平镇), only when unique.
- Village, first tier that hits wins: official name (梁家沟村村委会); short name (梁家沟村,
  松溪路社区, also reached from other committee spellings such as 梁家沟村民委员会); short name
  without the trailing 村/社区 (梁家沟, 松溪路), only when unique. Several hits in a tier are
  reported as ambiguous, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import polars as pl

from dixian.core.errors import NotFound, RegionMatchError

from .models import Region, RegionLevel
from .selectors import code_level, county_of
from .services import short_name_of

__all__ = ["RegionMatcher", "normalize_name", "normalize_code"]

_SPACES = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_COUNTY_SUFFIX = re.compile(r"(?:自治县|县|市|区|旗)$")
_CITY_SUFFIX = re.compile(r"(?:地区|自治州|盟|市)$")
_PROVINCE_SUFFIX = re.compile(r"(?:壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")
_TOWNSHIP_SUFFIX = re.compile(r"(?:街道办事处|办事处|街道|镇|乡)$")
_VILLAGE_SUFFIX = re.compile(r"(?:社区|村)$")

LEVEL_LABELS = {
    "province": "省",
    "city": "市",
    "county": "县(市、区)",
    "township": "乡(镇)",
    "village": "行政村(社区)",
}

COLUMNS = ("county", "township", "village", "code")


def normalize_name(value: object) -> str:
    """NFKC (full-width → half-width) and no whitespace at all: ``"　梁家沟 村 "`` → ``"梁家沟村"``."""
    if value is None:
        return ""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(value)))


def normalize_code(value: object) -> str:
    """A code cell as text: full-width digits folded, spaces removed, an Excel ``.0`` dropped."""
    text = normalize_name(value)
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text


def _twelve(code: object) -> str:
    """A county code as 12 digits; the 6-digit form (140724) is padded."""
    text = normalize_code(code)
    return text + "000000" if len(text) == 6 and text.isdigit() else text


def _bare(name: str, suffix: re.Pattern[str], keep: int = 2) -> str:
    """The name without its generic suffix, if at least ``keep`` characters remain; else the name."""
    base = suffix.sub("", name, count=1)
    return base if len(base) >= keep else name


class _Region(NamedTuple):
    code: str
    name: str
    short_name: str
    level: str
    parent_code: str
    retired_on: object  # date | None


class _Names:
    """Three tiers of name → codes for the villages of one township (or one county)."""

    __slots__ = ("by_name", "by_short", "by_bare", "shorts")

    def __init__(self) -> None:
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.by_short: dict[str, list[str]] = defaultdict(list)
        self.by_bare: dict[str, list[str]] = defaultdict(list)
        self.shorts: list[tuple[str, str]] = []  # (normalised short name, code) for suggestions

    def add(self, region: _Region) -> None:
        name = normalize_name(region.name)
        short = normalize_name(region.short_name)
        self.by_name[name].append(region.code)
        if short != name:
            self.by_short[short].append(region.code)
        bare = _bare(short, _VILLAGE_SUFFIX)
        if bare != short:
            self.by_bare[bare].append(region.code)
        self.shorts.append((short, region.code))

    def find(self, value: str) -> list[str]:
        """Codes of the first tier that matches ``value`` (already normalised); [] if none."""
        hit = self.by_name.get(value)
        if hit:
            return hit
        short = short_name_of(value, RegionLevel.VILLAGE)
        for key in dict.fromkeys((value, short)):
            hit = self.by_short.get(key) or self.by_name.get(key)
            if hit:
                return hit
        for key in dict.fromkeys((value, _bare(value, _VILLAGE_SUFFIX), _bare(short, _VILLAGE_SUFFIX))):
            hit = self.by_bare.get(key)
            if hit:
                return hit
        return []


class RegionMatcher:
    """Resolves place names and codes to village codes within a fixed set of counties.

    ``rows`` are ``(code, name, level, parent_code)`` tuples, optionally with a fifth element
    ``valid_to`` (a date for retired codes, None for current ones), for the counties in scope, their
    townships and villages, and ideally their city and province (for prefixed county names).
    ``counties`` limits the scope; by default every county row present is in scope.
    """

    def __init__(
        self, rows: Iterable[Sequence], *, counties: Iterable[str] | None = None, scope_label: str = ""
    ):
        self._regions: dict[str, _Region] = {}
        for row in rows:
            code, name, level, parent = (str(row[0]), str(row[1]), str(row[2]), str(row[3] or ""))
            retired_on = row[4] if len(row) > 4 else None
            self._regions[code] = _Region(code, name, short_name_of(name, level), level, parent, retired_on)

        if counties is None:
            county_codes = {r.code for r in self._regions.values() if r.level == RegionLevel.COUNTY}
            if not county_codes:  # synthetic rows without a county row: infer from the codes
                county_codes = {county_of(c) for c in self._regions if county_of(c)}
        else:
            county_codes = set(counties)
        self.county_codes: frozenset[str] = frozenset(county_codes)
        if not self.county_codes:
            raise RegionMatchError("没有可用于匹配的县级区划", details={})

        self._county_keys: dict[str, set[str]] = defaultdict(set)
        self._township_exact: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._township_bare: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._villages_in_township: dict[str, _Names] = defaultdict(_Names)
        self._villages_in_county: dict[str, _Names] = defaultdict(_Names)

        self._county_prefixes: dict[str, list[str]] = {}
        for county in self.county_codes:
            keys = self._county_name_keys(county)
            self._county_prefixes[county] = sorted(keys, key=len, reverse=True)
            for key in keys:
                self._county_keys[key].add(county)
        for region in self._regions.values():
            if region.retired_on is not None:
                continue
            county = county_of(region.code)
            if county not in self.county_codes:
                continue
            if region.level == RegionLevel.TOWNSHIP:
                name = normalize_name(region.name)
                self._township_exact[county][name].append(region.code)
                bare = _bare(name, _TOWNSHIP_SUFFIX)
                self._township_bare[county][bare].append(region.code)
            elif region.level == RegionLevel.VILLAGE:
                self._villages_in_township[region.parent_code].add(region)
                self._villages_in_county[county].add(region)

        self.scope_label = scope_label or self._default_scope_label()
        self._memo: dict[tuple[str, str, str, str], tuple[str, str, dict]] = {}

    # -- construction from the database -----------------------------------------------------

    _FIELDS = ("code", "name", "level", "parent_code", "valid_to")

    @classmethod
    def for_county(cls, county_code: str) -> RegionMatcher:
        """A matcher for one county (its townships and villages, plus its city and province)."""
        county_code = _twelve(county_code)
        if code_level(county_code) != RegionLevel.COUNTY:
            raise RegionMatchError(f"区划代码“{county_code}”不是县级区划代码", details={"code": county_code})
        return cls._from_db([county_code])

    @classmethod
    def for_codes(cls, county_codes: Iterable[str]) -> RegionMatcher:
        """A matcher over several counties; the county column of each row decides."""
        codes = sorted({_twelve(c) for c in county_codes})
        bad = [c for c in codes if code_level(c) != RegionLevel.COUNTY]
        if bad:
            raise RegionMatchError(f"区划代码“{'、'.join(bad)}”不是县级区划代码", details={"codes": bad})
        return cls._from_db(codes)

    @classmethod
    def for_province(cls, code: str) -> RegionMatcher:
        """A matcher over every county of a province (``code`` is any code within it)."""
        prefix = normalize_code(code)[:2]
        counties = list(
            Region.objects.filter(
                code__startswith=prefix, level=RegionLevel.COUNTY, valid_to__isnull=True
            ).values_list("code", flat=True)
        )
        if not counties:
            raise NotFound(f"区划代码“{code}”所在省没有县级区划", details={"code": code})
        rows = Region.objects.filter(code__startswith=prefix).values_list(*cls._FIELDS)
        province = Region.objects.filter(code=prefix + "0" * 10).values_list("name", flat=True).first()
        return cls(list(rows), counties=counties, scope_label=province or "")

    @classmethod
    def for_jurisdiction(cls, code: str) -> RegionMatcher:
        """The matcher for a deployment: its county, or every county of its city or province."""
        code = _twelve(code)
        level = code_level(code)
        if level == RegionLevel.COUNTY:
            return cls.for_county(code)
        if level == RegionLevel.PROVINCE:
            return cls.for_province(code)
        if level == RegionLevel.CITY:
            counties = Region.objects.filter(
                code__startswith=code[:4], level=RegionLevel.COUNTY, valid_to__isnull=True
            ).values_list("code", flat=True)
            return cls.for_codes(list(counties))
        raise RegionMatchError(f"管辖区域“{code}”应为县、市或省级区划", details={"code": code})

    @classmethod
    def _from_db(cls, county_codes: list[str]) -> RegionMatcher:
        known = set(Region.objects.filter(code__in=county_codes).values_list("code", flat=True))
        missing = [c for c in county_codes if c not in known]
        if missing:
            raise NotFound(f"县级区划代码“{'、'.join(missing)}”不存在", details={"codes": missing})
        upper = {c[:4] + "0" * 8 for c in county_codes} | {c[:2] + "0" * 10 for c in county_codes}
        rows = list(Region.objects.filter(county_code__in=county_codes).values_list(*cls._FIELDS))
        rows += list(Region.objects.filter(code__in=upper).values_list(*cls._FIELDS))
        return cls(rows, counties=county_codes)

    # -- helpers ----------------------------------------------------------------------------

    def _county_name_keys(self, county: str) -> set[str]:
        region = self._regions.get(county)
        if region is None:
            return set()
        forms = {normalize_name(region.name), _bare(normalize_name(region.name), _COUNTY_SUFFIX)}
        city = self._regions.get(region.parent_code)
        province = self._regions.get(city.parent_code) if city else self._regions.get(county[:2] + "0" * 10)
        city_forms = (
            {normalize_name(city.name), _bare(normalize_name(city.name), _CITY_SUFFIX)} if city else set()
        )
        province_forms = (
            {normalize_name(province.name), _bare(normalize_name(province.name), _PROVINCE_SUFFIX)}
            if province
            else set()
        )
        prefixes = {""} | city_forms | province_forms | {p + c for p in province_forms for c in city_forms}
        return {prefix + form for prefix in prefixes for form in forms}

    def _default_scope_label(self) -> str:
        if len(self.county_codes) == 1:
            return self.name_of(next(iter(self.county_codes)))
        provinces = {c[:2] for c in self.county_codes}
        if len(provinces) == 1:
            province = self._regions.get(next(iter(provinces)) + "0" * 10)
            if province:
                return province.name
        return "导入范围"

    def name_of(self, code: str) -> str:
        region = self._regions.get(code)
        return region.name if region else code

    def place_of(self, code: str) -> str:
        """A county or township as messages name it: 昔阳县 / 乐平镇 in a one-county matcher; with the
        city or county in front (阳泉市城区, 昔阳县乐平镇) when the matcher spans several counties."""
        region = self._regions.get(code)
        if region is None:
            return code
        if len(self.county_codes) == 1:
            return region.name
        return (
            self.name_of(region.parent_code) + region.name
            if region.parent_code in self._regions
            else region.name
        )

    def label_of(self, code: str) -> str:
        """The short name of a code known to the matcher (梁家沟村), or the code itself."""
        region = self._regions.get(code)
        return region.short_name if region else code

    def _listing(self, codes: Iterable[str]) -> str:
        return "、".join(f"{self.name_of(c)}（{c}）" for c in sorted(set(codes)))

    # -- resolution -------------------------------------------------------------------------

    def resolve_village(
        self,
        *,
        county: str | None,
        township: str | None,
        village: str | None,
        code: str | None = None,
    ) -> str:
        """The 12-digit village code for one row, or ``RegionMatchError`` with a Chinese message.

        The error's ``details`` hold ``column`` (county/township/village/code) and ``value``.
        """
        key = (
            normalize_name(county),
            normalize_name(township),
            normalize_name(village),
            normalize_code(code),
        )
        outcome = self._memo.get(key)
        if outcome is None:
            try:
                outcome = (self._resolve(*key, raw=(county, township, village, code)), "", {})
            except RegionMatchError as exc:
                outcome = ("", exc.message, exc.details)
            self._memo[key] = outcome
        code_found, message, details = outcome
        if code_found:
            return code_found
        raise RegionMatchError(message, details=dict(details))

    def _fail(self, column: str, value: object, message: str, **details: object) -> RegionMatchError:
        text = "" if value is None else str(value).strip()
        return RegionMatchError(message, details={"column": column, "value": text, **details})

    def _resolve(self, county: str, township: str, village: str, code: str, *, raw: tuple) -> str:
        raw_county, raw_township, raw_village, raw_code = raw
        if code:
            return self._resolve_code(code, raw_code)

        county_code = self._resolve_county(county, raw_county)
        county_name = self.place_of(county_code)

        if township:
            township_code = self._resolve_township(county_code, township, raw_township)
            place = self.place_of(township_code)
            names = self._villages_in_township.get(township_code) or _Names()
        else:
            township_code = ""
            place = county_name
            names = self._villages_in_county.get(county_code) or _Names()

        shown = str(raw_village).strip() if raw_village is not None else ""
        if not village:
            raise self._fail(
                "village", raw_village, "行政村未填写", county_code=county_code, township_code=township_code
            )
        hits = list(dict.fromkeys(names.find(village)))
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise self._fail(
                "village",
                raw_village,
                f"行政村“{shown}”在{place}有多个匹配：{self._listing(hits)}",
                candidates=sorted(hits),
            )
        message = f"行政村“{shown}”在{place}找不到"
        suggestions: list[str] = []
        if len(village) >= 2:
            suggestions = sorted({short for short, _ in names.shorts if short[:2] == village[:2]})[:5]
        elsewhere: list[str] = []
        if township_code:
            elsewhere = list(dict.fromkeys(self._villages_in_county[county_code].find(village)))
        if len(elsewhere) == 1:
            other = self._regions[elsewhere[0]]
            message += f"；{county_name}{self.name_of(other.parent_code)}有“{other.short_name}”（{other.code}），请核对乡(镇)"
        elif suggestions:
            message += "，相近的有：" + "、".join(suggestions)
        raise self._fail(
            "village",
            raw_village,
            message,
            county_code=county_code,
            township_code=township_code,
            suggestions=suggestions,
            elsewhere=elsewhere,
        )

    def _resolve_code(self, code: str, raw_code: object) -> str:
        shown = str(raw_code).strip()
        if not code.isdigit() or len(code) != 12:
            raise self._fail("code", raw_code, f"区划代码“{shown}”应为12位数字")
        if county_of(code) not in self.county_codes:
            raise self._fail("code", raw_code, f"区划代码“{code}”不属于{self.scope_label}")
        region = self._regions.get(code)
        if region is None:
            raise self._fail("code", raw_code, f"区划代码“{code}”不存在")
        if region.retired_on is not None:
            raise self._fail(
                "code", raw_code, f"区划代码“{code}”（{region.name}）已于{region.retired_on}停用"
            )
        if region.level != RegionLevel.VILLAGE:
            label = LEVEL_LABELS.get(region.level, region.level)
            raise self._fail(
                "code", raw_code, f"区划代码“{code}”是{label}“{region.name}”的代码，不是行政村(社区)代码"
            )
        return code

    def _resolve_county(self, county: str, raw_county: object) -> str:
        shown = "" if raw_county is None else str(raw_county).strip()
        if not county:
            if len(self.county_codes) == 1:
                return next(iter(self.county_codes))
            raise self._fail("county", raw_county, "县(市、区)未填写")
        hits = self._county_keys.get(county)
        if not hits:
            if len(self.county_codes) == 1:
                raise self._fail("county", raw_county, f"县(市、区)“{shown}”不是{self.scope_label}")
            raise self._fail("county", raw_county, f"县(市、区)“{shown}”在{self.scope_label}找不到")
        if len(hits) > 1:
            listing = "、".join(
                f"{self.name_of(self._regions[c].parent_code)}{self.name_of(c)}（{c}）" for c in sorted(hits)
            )
            raise self._fail(
                "county",
                raw_county,
                f"县(市、区)“{shown}”有多个匹配：{listing}，请写明所属市",
                candidates=sorted(hits),
            )
        return next(iter(hits))

    def _resolve_township(self, county_code: str, township: str, raw_township: object) -> str:
        shown = "" if raw_township is None else str(raw_township).strip()
        exact = self._township_exact.get(county_code, {})
        bare = self._township_bare.get(county_code, {})
        candidates = [township]
        for key in self._county_prefixes.get(county_code, []):
            if key and township.startswith(key) and len(township) > len(key):
                candidates.append(township[len(key) :])  # 昔阳县乐平镇 → 乐平镇
                break
        for value in candidates:
            hits = exact.get(value) or bare.get(_bare(value, _TOWNSHIP_SUFFIX)) or []
            if len(hits) == 1:
                return hits[0]
            if hits:
                raise self._fail(
                    "township",
                    raw_township,
                    f"乡(镇)“{shown}”在{self.place_of(county_code)}有多个匹配：{self._listing(hits)}",
                    candidates=sorted(hits),
                )
        raise self._fail(
            "township",
            raw_township,
            f"乡(镇)“{shown}”在{self.place_of(county_code)}找不到",
            county_code=county_code,
        )

    # -- set-based ------------------------------------------------------------------------------

    def resolve_many(self, frame: pl.DataFrame) -> tuple[pl.Series, list[tuple[int, str, str, str]]]:
        """Resolve every row of ``frame`` (columns county, township, village, code; missing ones count
        as empty) by resolving each distinct combination once.

        Returns the codes as a ``pl.Series`` named ``region_code`` (null where the row failed), and
        the errors as ``(row_index, column, value, message)`` sorted by row (0-based row index).
        """
        columns = []
        for name in COLUMNS:
            if name not in frame.columns:
                columns.append(pl.lit(None, dtype=pl.String).alias(name))
                continue
            col = pl.col(name)
            dtype = frame.schema[name]
            if dtype.is_float():
                col = col.round(0).cast(pl.Int64)
            columns.append(col.cast(pl.String).alias(name))
        data = frame.select(columns)

        distinct = data.unique(maintain_order=False)
        codes: list[str | None] = []
        failures: list[int | None] = []
        problems: list[tuple[str, str, str]] = []
        for row in distinct.iter_rows(named=True):
            try:
                codes.append(self.resolve_village(**row))
                failures.append(None)
            except RegionMatchError as exc:
                column = exc.details.get("column", "")
                value = row.get(column)
                codes.append(None)
                failures.append(len(problems))
                problems.append((column, "" if value is None else str(value).strip(), exc.message))
        answers = distinct.with_columns(
            pl.Series("__code", codes, dtype=pl.String),
            pl.Series("__failure", failures, dtype=pl.Int32),
        )
        joined = data.join(answers, on=list(COLUMNS), how="left", nulls_equal=True, maintain_order="left")
        result = joined["__code"].alias("region_code")
        errors: list[tuple[int, str, str, str]] = []
        if problems:
            failed = joined.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("row"), "__failure").filter(
                pl.col("__failure").is_not_null()
            )
            for row, failure in failed.iter_rows():
                column, value, message = problems[failure]
                errors.append((row, column, value, message))
        return result, errors
