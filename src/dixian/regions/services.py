"""Writes to the region tree: the set-based loader of NBS statistical division files.

The loader records no audit event itself; the caller (the CLI) records one with the returned counts.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dixian.core.errors import ValidationError

from . import selectors
from .models import Region, RegionLevel
from .names import RESIDENT_SUFFIX, VILLAGE_SUFFIX, short_name_of  # noqa: F401 - re-exported

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "regions-shanxi-2023.csv"
DEFAULT_SOURCE = "NBS-2023"

LEVELS = tuple(RegionLevel.values)

_UPDATE_FIELDS = [
    "name",
    "short_name",
    "level",
    "parent_code",
    "county_code",
    "township_code",
    "valid_from",
    "valid_to",
    "source",
]
_CONTENT = ["name", "short_name", "level", "parent_code", "county_code", "township_code"]
_BATCH = 2000


def short_name_expr(name: pl.Expr, level: pl.Expr) -> pl.Expr:
    """``short_name_of`` as a polars expression (the same rules, vectorised)."""
    v_base = name.str.replace(VILLAGE_SUFFIX, "")
    v_short = (
        pl.when(name.str.contains(VILLAGE_SUFFIX) & (v_base.str.len_chars() > 0))
        .then(pl.when(v_base.str.ends_with("村")).then(v_base).otherwise(v_base + "村"))
        .otherwise(None)
    )
    r_base = name.str.replace(RESIDENT_SUFFIX, "")
    r_ok = (
        name.str.contains(RESIDENT_SUFFIX)
        & (r_base.str.len_chars() > 0)
        & ~(r_base.str.contains("社区", literal=True) & ~r_base.str.ends_with("社区"))
    )
    r_short = (
        pl.when(r_ok)
        .then(pl.when(r_base.str.ends_with("社区")).then(r_base).otherwise(r_base + "社区"))
        .otherwise(None)
    )
    return pl.when(level == RegionLevel.VILLAGE).then(pl.coalesce(v_short, r_short, name)).otherwise(name)


def _level_expr(code: pl.Expr) -> pl.Expr:
    return (
        pl.when(code.str.slice(2) == "0" * 10)
        .then(pl.lit("province"))
        .when(code.str.slice(4) == "0" * 8)
        .then(pl.lit("city"))
        .when(code.str.slice(6) == "0" * 6)
        .then(pl.lit("county"))
        .when(code.str.slice(9) == "000")
        .then(pl.lit("township"))
        .otherwise(pl.lit("village"))
    )


def _parent_expr(code: pl.Expr, level: pl.Expr) -> pl.Expr:
    return (
        pl.when(level == "village")
        .then(code.str.slice(0, 9) + "000")
        .when(level == "township")
        .then(code.str.slice(0, 6) + "000000")
        .when(level == "county")
        .then(code.str.slice(0, 4) + "00000000")
        .when(level == "city")
        .then(code.str.slice(0, 2) + "0000000000")
        .otherwise(pl.lit(""))
    )


# -- reading ---------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError("区划文件编码无法识别（应为 UTF-8 或 GB18030）")


_TEXT_LINE = r"^\s*(\d{12})(?:[\s,，]+(\d{3}))?[\s,，]+(\S.*?)\s*$"


def read_region_file(path: Path) -> pl.DataFrame:
    """Read a region file into columns code, name, level, parent_code (all strings).

    Two layouts: the CSV shipped with Dixian (header ``code,name,level,parent_code``), and the NBS
    yearly text layout, one division per line: ``code [urban-rural code] name`` separated by tabs,
    commas or spaces, without a header. For the latter, level and parent come from the code digits.
    """
    try:
        text = _decode(Path(path).read_bytes())
    except OSError as exc:
        raise ValidationError(f"无法读取区划文件：{path}", details={"path": str(path)}) from exc
    first = next((line for line in text.splitlines() if line.strip()), "")
    header = {c.strip().lower() for c in first.split(",")}
    if {"code", "name"} <= header:
        frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False)
        frame = frame.rename({c: c.strip().lower() for c in frame.columns})
        for column in ("level", "parent_code"):
            if column not in frame.columns:
                frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
        frame = frame.select(
            [pl.col(c).cast(pl.String).str.strip_chars() for c in ("code", "name", "level", "parent_code")]
        )
        derived = _level_expr(pl.col("code"))
        return frame.with_columns(
            pl.when(pl.col("level").is_null() | (pl.col("level") == ""))
            .then(derived)
            .otherwise(pl.col("level"))
            .alias("level")
        ).with_columns(
            pl.when(pl.col("parent_code").is_null())
            .then(_parent_expr(pl.col("code"), pl.col("level")))
            .otherwise(pl.col("parent_code"))
            .alias("parent_code")
        )
    lines = pl.Series("line", text.splitlines(), dtype=pl.String).str.strip_chars()
    lines = lines.filter(lines != "")
    parts = lines.str.extract_groups(_TEXT_LINE).struct.rename_fields(["code", "urban_rural", "name"])
    frame = pl.DataFrame({"line": lines, "parts": parts}).unnest("parts")
    bad = frame.filter(pl.col("code").is_null())
    if bad.height:
        sample = "；".join(bad["line"].head(3).to_list())
        raise ValidationError(
            f"区划文件有 {bad.height} 行无法识别（应为“12位代码 名称”），如：{sample}",
            details={"lines": bad["line"].head(20).to_list()},
        )
    frame = frame.select("code", "name").with_columns(_level_expr(pl.col("code")).alias("level"))
    return frame.with_columns(_parent_expr(pl.col("code"), pl.col("level")).alias("parent_code"))


def _validate(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.with_columns(pl.col("parent_code").fill_null(""), pl.col("name").fill_null(""))
    problems = []
    checks = [
        (~pl.col("code").fill_null("").str.contains(r"^\d{12}$"), "区划代码应为12位数字"),
        (pl.col("name") == "", "名称为空"),
        (
            ~pl.col("level").is_in(list(LEVELS)).fill_null(False),
            "级别应为 province/city/county/township/village",
        ),
        (pl.col("level") != _level_expr(pl.col("code")), "级别与区划代码的位数不符"),
        (
            (pl.col("level") != "province") & ~pl.col("parent_code").str.contains(r"^\d{12}$"),
            "上级区划代码应为12位数字",
        ),
    ]
    for condition, message in checks:
        bad = frame.with_row_index("row", offset=2).filter(condition.fill_null(True))
        if bad.height:
            rows = bad.head(5).select("row", "code", "name").rows()
            sample = "；".join(f"第{r}行 {c} {n}" for r, c, n in rows)
            problems.append(f"{message}（{bad.height} 行，如：{sample}）")
    duplicates = frame.filter(pl.col("code").is_duplicated())["code"].unique().sort()
    if duplicates.len():
        problems.append(
            f"区划代码重复（{duplicates.len()} 个，如：{'、'.join(duplicates.head(5).to_list())}）"
        )
    if frame.height == 0:
        problems.append("区划文件没有数据")
    if problems:
        raise ValidationError("区划文件有误：" + "；".join(problems), details={"problems": problems})
    return frame


def prepare_regions(frame: pl.DataFrame) -> pl.DataFrame:
    """Validate a code/name/level/parent_code frame and add short_name, county_code, township_code."""
    frame = _validate(frame)
    level = pl.col("level")
    code = pl.col("code")
    return frame.select(
        code,
        pl.col("name"),
        short_name_expr(pl.col("name"), level).alias("short_name"),
        level,
        pl.col("parent_code"),
        pl.when(level.is_in(["county", "township", "village"]))
        .then(code.str.slice(0, 6) + "000000")
        .otherwise(pl.lit(""))
        .alias("county_code"),
        pl.when(level.is_in(["township", "village"]))
        .then(code.str.slice(0, 9) + "000")
        .otherwise(pl.lit(""))
        .alias("township_code"),
    )


# -- writing ---------------------------------------------------------------------------------

_OLD_SCHEMA = {
    "code": pl.String,
    "name_old": pl.String,
    "short_name_old": pl.String,
    "level_old": pl.String,
    "parent_code_old": pl.String,
    "county_code_old": pl.String,
    "township_code_old": pl.String,
    "valid_from_old": pl.Date,
    "valid_to_old": pl.Date,
}


def _existing(provinces: list[str]) -> pl.DataFrame:
    """Stored rows under the given 2-digit province prefixes."""
    where = Q()
    for prefix in provinces:
        where |= Q(code__startswith=prefix)
    rows = Region.objects.filter(where).values_list("code", *_CONTENT, "valid_from", "valid_to")
    return pl.DataFrame(list(rows), schema=_OLD_SCHEMA, orient="row")


def load_regions(
    *,
    path: Path | None = None,
    valid_from: dt.date | None = None,
    source: str = DEFAULT_SOURCE,
    retire_missing: bool = False,
) -> dict:
    """Load (upsert) a region file into ``Region``; set-based, one transaction, idempotent.

    - New codes are created with ``valid_from`` (may be None) and ``source``.
    - Known codes whose name, level or parent changed are updated (``source`` set to this file); a
      retired code that reappears is valid again from ``valid_from``. Unchanged rows are not touched,
      so loading the same file twice changes nothing.
    - ``retire_missing=True`` (for a new yearly file): current codes under the file's provinces that
      the file no longer lists get ``valid_to`` = the day before ``valid_from`` (or before today).

    Returns ``{"created": n, "updated": n, "retired": n, "unchanged": n, "total": rows in file}``.
    Raises ``ValidationError`` (nothing written) when the file is unreadable or inconsistent.
    """
    frame = prepare_regions(read_region_file(path or DEFAULT_PATH))
    provinces = sorted(frame["code"].str.slice(0, 2).unique().to_list())
    retire_on = (valid_from or timezone.localdate()) - dt.timedelta(days=1)

    with transaction.atomic():
        old = _existing(provinces)
        joined = frame.join(old, on="code", how="left")
        is_new = pl.col("name_old").is_null()
        changed = pl.any_horizontal([pl.col(c) != pl.col(f"{c}_old") for c in _CONTENT])
        revived = pl.col("valid_to_old").is_not_null()
        writes = joined.filter(is_new | changed | revived).with_columns(
            pl.when(is_new | revived)
            .then(pl.lit(valid_from, dtype=pl.Date))
            .otherwise(pl.col("valid_from_old"))
            .alias("valid_from"),
            pl.lit(None, dtype=pl.Date).alias("valid_to"),
            pl.lit(source).alias("source"),
            is_new.alias("is_new"),
        )
        created = int(writes["is_new"].sum())
        updated = writes.height - created
        if writes.height:
            objs = [Region(**row) for row in writes.select("code", *_UPDATE_FIELDS).iter_rows(named=True)]
            Region.objects.bulk_create(
                objs,
                batch_size=_BATCH,
                update_conflicts=True,
                unique_fields=["code"],
                update_fields=_UPDATE_FIELDS,
            )

        retired = 0
        if retire_missing:
            gone = (
                old.filter(pl.col("valid_to_old").is_null())
                .join(frame.select("code"), on="code", how="anti")["code"]
                .to_list()
            )
            for start in range(0, len(gone), 500):
                retired += Region.objects.filter(
                    code__in=gone[start : start + 500], valid_to__isnull=True
                ).update(valid_to=retire_on)
        transaction.on_commit(selectors.clear_cache)
    selectors.clear_cache()
    return {
        "created": created,
        "updated": updated,
        "retired": retired,
        "unchanged": frame.height - created - updated,
        "total": frame.height,
    }
