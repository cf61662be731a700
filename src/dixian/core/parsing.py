"""Lenient parsing of what people type into forms and spreadsheets: months, money, yes/no.

Each scalar parser has a polars twin for bulk imports (``month_expr``, ``money_expr``) that gives the
same value for the same string, or null where the scalar parser raises. A null output for a
non-blank input (see :func:`blank_expr`) therefore marks a cell that did not parse; run the scalar
parser on those few cells to get the Chinese message.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar

import polars as pl

from dixian.core.errors import DixianError, MoneyError, MonthError
from dixian.core.text import FULLWIDTH_TABLE, WHITESPACE_CHARS

__all__ = [
    "MONEY_MAX",
    "add_money_columns",
    "MONTH_MAX_YEAR",
    "MONTH_MIN_YEAR",
    "blank_expr",
    "excel_serial_to_date",
    "money_expr",
    "month_expr",
    "parse_bool_zh",
    "parse_money",
    "parse_month",
]

MONTH_MIN_YEAR = 2000
MONTH_MAX_YEAR = 2100
EXCEL_SERIAL_MIN = 20000
EXCEL_SERIAL_MAX = 80000
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 0 (Excel's 1900 leap-year bug makes it the 30th)
_EXCEL_EPOCH_UNIX_DAYS = (EXCEL_EPOCH - dt.date(1970, 1, 1)).days  # -25569
MONEY_MAX = Decimal(10) ** 12  # amounts must be below 1 万亿 元
_CENT = Decimal("0.01")

_W = "[" + WHITESPACE_CHARS + "]"
_STRIP_PATTERN = f"^{_W}+|{_W}+$"
_STRIP_RE = re.compile(_STRIP_PATTERN)
_ALL_WS_RE = re.compile(_W)

# Month patterns, applied to the half-width, stripped text. ``[0-9]`` (not ``\d``) everywhere: both
# regex engines would otherwise accept other scripts' digits.
_M_YYYYMM = r"^([0-9]{4})([0-9]{2})(?:\.0+)?$"  # 202305, "202305.0" from a float cell
_M_YM = rf"^([0-9]{{4}}){_W}*(?:[-/]|年){_W}*([0-9]{{1,2}}){_W}*(?:月份?)?$"  # 2023-05, 2023/5, 2023年5月
_M_DOT = r"^([0-9]{4})\.([0-9]{2}|[02-9])$"  # 2023.05, 2023.5 ("2023.1" is ambiguous: 2023.10?)
_M_DOT_AMBIGUOUS = r"^[0-9]{4}\.1$"
_M_DATE = (
    rf"^([0-9]{{4}}){_W}*[-/.年]{_W}*([0-9]{{1,2}}){_W}*[-/.月]{_W}*([0-9]{{1,2}}){_W}*日?"
    rf"(?:(?:{_W}+|T)[0-9]{{1,2}}:[0-9]{{2}}(?::[0-9]{{2}}(?:\.[0-9]+)?)?)?$"
)  # 2023-05-01, 2023/5/1, "2023-05-01 00:00:00", 2023年5月1日
_M_SERIAL = r"^([0-9]{5})(?:\.[0-9]*)?$"  # Excel serial date as text: "45047", "45047.0"

_M_YYYYMM_RE = re.compile(_M_YYYYMM)
_M_YM_RE = re.compile(_M_YM)
_M_DOT_RE = re.compile(_M_DOT)
_M_DOT_AMBIGUOUS_RE = re.compile(_M_DOT_AMBIGUOUS)
_M_DATE_RE = re.compile(_M_DATE)
_M_SERIAL_RE = re.compile(_M_SERIAL)

# Money, applied to the half-width text with every blank removed:
# sign, optional ¥/￥, sign, number with optional thousands separators, optional 元.
_MONEY = (
    r"^([-+\u2212]?)[\u00a5\uffe5]?([-+\u2212]?)"
    r"(?:([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]*))?|\.([0-9]+))元?$"
)
_MONEY_RE = re.compile(_MONEY)
_MINUS = ("-", "\u2212")

_TRUE = frozenset({"是", "y", "yes", "1", "1.0", "true", "t"})
_FALSE = frozenset({"否", "n", "no", "0", "0.0", "false", "f"})


def _text(value: str) -> str:
    return _STRIP_RE.sub("", value.translate(FULLWIDTH_TABLE))


def _is_blank_text(value: str) -> bool:
    return _text(value) == ""


def excel_serial_to_date(serial: float) -> dt.date:
    """Excel (1900 system) serial day number -> date; the fraction (time of day) is dropped."""
    return EXCEL_EPOCH + dt.timedelta(days=math.floor(serial))


# --------------------------------------------------------------------------- month


def _month_error(value: object) -> MonthError:
    return MonthError(f"「{value}」不是有效的月份，请填写如 2023-05 或 202305", details={"value": str(value)})


def _checked_month(value: object, year: int, month: int) -> int:
    if not 1 <= month <= 12:
        raise MonthError(f"「{value}」中的月份 {month} 无效，应为 1–12", details={"value": str(value)})
    if not MONTH_MIN_YEAR <= year <= MONTH_MAX_YEAR:
        raise MonthError(
            f"「{value}」中的年份 {year} 超出范围（{MONTH_MIN_YEAR}–{MONTH_MAX_YEAR}）",
            details={"value": str(value)},
        )
    return year * 100 + month


def _month_from_number(value: object, number: float | int) -> int:
    if EXCEL_SERIAL_MIN <= number <= EXCEL_SERIAL_MAX:
        day = excel_serial_to_date(number)
        return _checked_month(value, day.year, day.month)
    if number == int(number) and 100000 <= number <= 999999:
        number = int(number)
        return _checked_month(value, number // 100, number % 100)
    raise _month_error(value)


def parse_month(value: object) -> int:
    """Return the month as ``YYYYMM`` (an int), or raise :class:`MonthError`.

    Accepts 202305 (int or text), "2023-05", "2023-5", "2023/05", "2023.05", "2023年5月", date and
    datetime objects, date texts ("2023-05-01", "2023-05-01 00:00:00") and Excel serial dates
    (numbers 20000–80000, also as text "45047" / "45047.0"). Years 2000–2100 only.
    "2023.1" is refused as ambiguous: it is what Excel makes of the number 2023.10.
    """
    if value is None:
        raise MonthError("月份为空", code="month_empty")
    if isinstance(value, bool):
        raise _month_error(value)
    if isinstance(value, dt.date):  # datetime is a date too
        return _checked_month(value, value.year, value.month)
    if isinstance(value, int):
        return _month_from_number(value, value)
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            raise _month_error(value)
        if EXCEL_SERIAL_MIN <= value <= EXCEL_SERIAL_MAX or value == int(value):
            return _month_from_number(value, value)
        return _parse_month_text(str(value), value)  # 2023.05 typed as a number
    if isinstance(value, str):
        return _parse_month_text(value, value)
    raise _month_error(value)


def _parse_month_text(text: str, original: object) -> int:
    s = _text(text)
    if s == "":
        raise MonthError("月份为空", code="month_empty")
    for regex in (_M_YYYYMM_RE, _M_YM_RE, _M_DOT_RE):
        match = regex.match(s)
        if match:
            return _checked_month(original, int(match.group(1)), int(match.group(2)))
    if _M_DOT_AMBIGUOUS_RE.match(s):
        year = s[:4]
        raise MonthError(
            f"「{original}」有歧义（可能是 Excel 把 {year}.10 存成了数值），请写成 {year}-01 或 {year}-10",
            details={"value": str(original)},
        )
    match = _M_DATE_RE.match(s)
    if match:
        year, month, day = (int(g) for g in match.groups())
        if 1 <= month <= 12:
            try:
                dt.date(year, month, day)
            except ValueError:
                raise MonthError(f"「{original}」不是有效的日期", details={"value": str(original)}) from None
        return _checked_month(original, year, month)
    match = _M_SERIAL_RE.match(s)
    if match:
        return _month_from_number(original, int(match.group(1)))
    raise _month_error(original)


# --------------------------------------------------------------------------- money


def _money_check(value: object, amount: Decimal, negative: bool) -> Decimal:
    if abs(amount) >= MONEY_MAX:
        raise MoneyError(f"金额「{value}」过大", code="money_too_large", details={"value": str(value)})
    rounded = abs(amount).quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded >= MONEY_MAX:
        raise MoneyError(f"金额「{value}」过大", code="money_too_large", details={"value": str(value)})
    if negative and rounded != 0:
        raise MoneyError("金额不能为负数", code="money_negative", details={"value": str(value)})
    return rounded


def parse_money(value: object) -> Decimal | None:
    """Parse an amount in 元 to a ``Decimal`` with 2 places (ROUND_HALF_UP); ``None`` for empty.

    Accepts numbers and texts such as "12,345.60", "￥1,000", "500 元", full-width digits.
    Raises :class:`MoneyError` for negative amounts, amounts of 1 万亿 or more, and non-numeric text.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise MoneyError(f"「{value}」不是有效的金额", details={"value": str(value)})
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise MoneyError(f"「{value}」不是有效的金额", details={"value": str(value)})
        amount = Decimal(repr(value))  # the shortest repr: 0.1 stays 0.1, 2.675 stays 2.675
        return _money_check(value, amount, amount < 0)
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
        if not amount.is_finite():
            if amount.is_nan():
                return None
            raise MoneyError(f"「{value}」不是有效的金额", details={"value": str(value)})
        return _money_check(value, amount, amount < 0)
    if not isinstance(value, str):
        raise MoneyError(f"「{value}」不是有效的金额", details={"value": str(value)})

    s = _ALL_WS_RE.sub("", value.translate(FULLWIDTH_TABLE))
    if s == "":
        return None
    match = _MONEY_RE.match(s)
    if not match:
        raise MoneyError(f"「{value.strip()}」不是有效的金额", details={"value": value})
    sign1, sign2, int_part, frac, frac_only = match.groups()
    int_part = (int_part or "0").replace(",", "")
    frac = frac_only if frac_only is not None else (frac or "")
    try:
        amount = Decimal(f"{int_part}.{frac or '0'}")
    except InvalidOperation:  # pragma: no cover - the regex only lets digits through
        raise MoneyError(f"「{value.strip()}」不是有效的金额", details={"value": value}) from None
    return _money_check(value, amount, sign1 in _MINUS or sign2 in _MINUS)


# --------------------------------------------------------------------------- yes / no


def parse_bool_zh(value: object) -> bool | None:
    """是/否, Y/N, yes/no, 1/0, true/false (any case, full-width too); ``None`` for empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, int | float | Decimal) and value in (0, 1):
        return bool(value)
    s = _text(str(value)).lower()
    if s == "":
        return None
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise DixianError(
        f"「{value}」不是有效的是/否值，请填写“是”或“否”", code="invalid_bool", details={"value": str(value)}
    )


# --------------------------------------------------------------------------- polars twins

_HALF_PATTERNS = [chr(code) for code in FULLWIDTH_TABLE]
_HALF_REPLACEMENTS = list(FULLWIDTH_TABLE.values())


def _text_expr(col: str) -> pl.Expr:
    return (
        pl.col(col)
        .cast(pl.String)
        .str.replace_many(_HALF_PATTERNS, _HALF_REPLACEMENTS)
        .str.replace_all(_STRIP_PATTERN, "")
    )


def blank_expr(col: str) -> pl.Expr:
    """True where the cell is null or only blanks (what the scalar parsers treat as empty)."""
    return _text_expr(col).fill_null("") == ""


def _valid_day(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    days = (
        pl.when(m == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(m.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    return (d >= 1) & (d <= days)


def month_expr(col: str) -> pl.Expr:
    """Vectorised :func:`parse_month` for a text column: Int32 ``YYYYMM``, null where it would raise."""
    s = _text_expr(col)

    def part(pattern: str, group: int) -> pl.Expr:
        return s.str.extract(pattern, group).cast(pl.Int32)

    date_y, date_m, date_d = part(_M_DATE, 1), part(_M_DATE, 2), part(_M_DATE, 3)
    serial = part(_M_SERIAL, 1)
    serial_date = (serial + _EXCEL_EPOCH_UNIX_DAYS).cast(pl.Date)
    serial_ok = (serial >= EXCEL_SERIAL_MIN) & (serial <= EXCEL_SERIAL_MAX)
    date_ok = ~date_m.is_between(1, 12) | _valid_day(date_y, date_m, date_d)

    year = pl.coalesce(
        part(_M_YYYYMM, 1),
        part(_M_YM, 1),
        part(_M_DOT, 1),
        pl.when(date_ok).then(date_y),
        pl.when(serial_ok).then(serial_date.dt.year().cast(pl.Int32)),
    )
    month = pl.coalesce(
        part(_M_YYYYMM, 2),
        part(_M_YM, 2),
        part(_M_DOT, 2),
        pl.when(date_ok).then(date_m),
        pl.when(serial_ok).then(serial_date.dt.month().cast(pl.Int32)),
    )
    ok = year.is_between(MONTH_MIN_YEAR, MONTH_MAX_YEAR) & month.is_between(1, 12)
    return pl.when(ok).then(year * 100 + month).otherwise(None).cast(pl.Int32)


def money_expr(col: str) -> pl.Expr:
    """Vectorised :func:`parse_money` for a text column: Decimal(18, 2), null where empty or invalid.

    Rounding is ROUND_HALF_UP on the decimal digits as written (done on the text, never through a
    binary float), so the result equals :func:`parse_money` exactly. Evaluated on the Series by
    :func:`add_money_columns` (``map_batches``), in stages so that every intermediate is computed
    once: as one expression tree the shared parts (the regex extractions, ``cents``) were evaluated
    again for every use. On a lazy frame that streams, prefer :func:`add_money_columns` itself (no
    Python per batch).
    """
    return (
        pl.col(col).map_batches(_money_column, return_dtype=pl.Decimal(18, 2), is_elementwise=True).alias(col)
    )


def _money_column(series: pl.Series) -> pl.Series:
    return add_money_columns(series.to_frame("v"), {"v": "v"}).to_series().alias(series.name)


FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

# Digits only, below MONEY_MAX, at most 2 decimals: the cast to Decimal(18, 2) is then exact and equals
# parse_money's value (nothing to round, no sign, no separators).
_MONEY_PLAIN_CELL = r"[0-9]{1,12}(?:\.[0-9]{1,2})?"
_MONEY_PLAIN = f"^{_MONEY_PLAIN_CELL}$"
_CENT_LIT = pl.lit(_CENT, dtype=pl.Decimal(3, 2))  # cents × 0.01: exact, no text in between
# Full-width → half-width and every whitespace character removed, in one pass of single characters
# (the same as the two steps of parse_money; a replace_many costs much less than a regex replace).
_MONEY_CLEAN = {
    **{chr(k): ("" if v in WHITESPACE_CHARS else v) for k, v in FULLWIDTH_TABLE.items()},
    **dict.fromkeys(WHITESPACE_CHARS, ""),
}
_MONEY_CLEAN_PATTERNS = list(_MONEY_CLEAN)
_MONEY_CLEAN_REPLACEMENTS = list(_MONEY_CLEAN.values())


def add_money_columns(frame: FrameT, columns: dict[str, str]) -> FrameT:
    """Add Decimal(18, 2) columns parsed as by :func:`parse_money` (``{text column: output column}``).

    Plain amounts (``1234``, ``1234.5``, ``1234.56``: what most files hold) are cast directly. The full
    parse (its regex with groups costs about 10 × the plain path) runs on a copy of the text where the
    plain cells are null, which costs little (nothing when a batch has no other cell). In stages of
    ``with_columns`` so that each intermediate is computed once, all in polars expressions: a lazy
    frame keeps streaming. Outputs replace columns of the same name; the helper columns
    (``_money_*``) are dropped.
    """
    c = pl.col
    names = {src: f"_money_{i}_" for i, src in enumerate(columns)}  # prefix of each column's helpers

    def each(build) -> list[pl.Expr]:
        return [e for src, p in names.items() for e in build(src, lambda k, p=p: c(p + k), p)]

    lf = frame.lazy()
    if len(columns) > 1:
        # One regex over the row's amounts joined by "|" instead of one per column (a row holds plain
        # amounts or blanks in every column, or its cells all take the full parse, which gives the same
        # value for a plain cell). A "|" in a cell adds a separator, so such a row never matches.
        joined = pl.concat_str([c(src).cast(pl.String).fill_null("") for src in columns], separator="|")
        cell = f"(?:{_MONEY_PLAIN_CELL})?"
        lf = lf.with_columns(
            joined.str.contains(f"^{cell}(?:\\|{cell}){{{len(columns) - 1}}}$").alias("_money_row")
        )

    def plain(src: str) -> pl.Expr:
        if len(columns) > 1:
            return c("_money_row")
        return c(src).cast(pl.String).str.contains(_MONEY_PLAIN).fill_null(False)

    lf = lf.with_columns(
        each(lambda src, h, p: [c(src).cast(pl.String).alias(p + "text"), plain(src).alias(p + "plain")])
    )
    lf = lf.with_columns(
        each(
            lambda src, h, p: [
                pl.when(h("plain").not_())
                .then(h("text"))
                .str.replace_many(_MONEY_CLEAN_PATTERNS, _MONEY_CLEAN_REPLACEMENTS)
                .str.extract_groups(_MONEY)
                .alias(p + "g")
            ]
        )
    )
    lf = lf.with_columns(
        each(
            lambda src, h, p: [
                h("g").struct.field("1").alias(p + "sign1"),
                h("g").struct.field("2").alias(p + "sign2"),
                h("g").struct.field("3").str.replace_many([","], [""]).alias(p + "int"),
                pl.coalesce(h("g").struct.field("5"), h("g").struct.field("4")).alias(p + "frac"),
            ]
        )
    )
    # Null stays null here (a plain cell, no match): parsing "0" or "" for every such cell would cost
    # as much as the plain path. A match without whole units (".5") has 0 units, without a fraction 0.
    lf = lf.with_columns(
        each(
            lambda src, h, p: [
                pl.when(h("sign1").is_null())
                .then(None)
                .when(h("int").is_null())
                .then(pl.lit(0, dtype=pl.Int64))
                .otherwise(h("int").cast(pl.Int64, strict=False))
                .alias(p + "units")
            ]
        )
    )
    lf = lf.with_columns(
        each(lambda src, h, p: [pl.when(h("units") < int(MONEY_MAX)).then(h("units")).alias(p + "units")])
    )
    lf = lf.with_columns(
        each(
            lambda src, h, p: [
                (
                    h("units") * 100
                    + h("frac").str.slice(0, 2).str.pad_end(2, "0").cast(pl.Int64).fill_null(0)
                    + (h("frac").str.slice(2, 1) >= "5").fill_null(False).cast(pl.Int64)
                ).alias(p + "cents"),
                (h("sign1").is_in(list(_MINUS)) | h("sign2").is_in(list(_MINUS))).alias(p + "negative"),
            ]
        )
    )
    lf = lf.with_columns(
        each(
            lambda src, h, p: [
                (
                    h("sign1").is_not_null()
                    & h("cents").is_not_null()
                    & (h("cents") < int(MONEY_MAX) * 100)
                    & ~(h("negative") & (h("cents") > 0))
                ).alias(p + "ok")
            ]
        )
    )
    lf = lf.with_columns(
        pl.when(c(p + "plain"))
        .then(c(p + "text").cast(pl.Decimal(18, 2), strict=False))
        .when(c(p + "ok"))
        .then((c(p + "cents").cast(pl.Decimal(18, 0)) * _CENT_LIT).cast(pl.Decimal(18, 2)))
        .otherwise(None)
        .alias(out)
        for (src, out), p in zip(columns.items(), names.values(), strict=True)
    )
    lf = lf.drop(pl.selectors.starts_with("_money_"))
    return lf if isinstance(frame, pl.LazyFrame) else lf.collect()


# --------------------------------------------------------------------------- dates (bulk)

_DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"]


def date_expr(col: str) -> pl.Expr:
    """A text column of dates in the usual spellings (or Excel serial numbers) as Date; null if not a date."""
    return pl.col(col).map_batches(_date_column, return_dtype=pl.Date, is_elementwise=True).alias(col)


def _date_column(series: pl.Series) -> pl.Series:
    return add_date_columns(series.to_frame("v"), {"v": "v"}).to_series().alias(series.name)


def add_date_columns(frame: FrameT, columns: dict[str, str]) -> FrameT:
    """Add Date columns read as by :func:`date_expr` (``{text column: output column}``).

    The first spelling (2024-05-01, what most files hold) is tried on every cell, the others only on
    the cells it did not read (the others are null for them, which costs little). In stages of
    ``with_columns`` so that each intermediate is computed once; no Python: a lazy frame keeps streaming.
    """
    lf = frame.lazy()
    first = {src: f"_date_first_{i}" for i, src in enumerate(columns)}
    rest = {src: f"_date_rest_{i}" for i, src in enumerate(columns)}
    lf = lf.with_columns(
        pl.col(src).cast(pl.String).str.strip_chars().alias(rest[src]) for src in columns
    ).with_columns(
        pl.col(rest[src]).str.strptime(pl.Date, _DATE_FORMATS[0], strict=False, cache=False).alias(first[src])
        for src in columns
    )
    lf = lf.with_columns(
        pl.when(pl.col(first[src]).is_null()).then(pl.col(rest[src])).alias(rest[src]) for src in columns
    )

    def later(text: pl.Expr) -> list[pl.Expr]:
        # an Excel serial number, "45413" or "45413.0" (extract, not replace: it costs less on the
        # many null cells)
        serial = text.str.extract(r"(?s)^(.*?)(?:\.0+)?$", 1).cast(pl.Int32, strict=False)
        from_serial = (
            pl.when(serial.is_between(20000, 80000))
            .then((pl.lit(dt.date(1899, 12, 30)) + pl.duration(days=serial)).cast(pl.Date))
            .otherwise(None)
        )
        return [
            *(text.str.strptime(pl.Date, fmt, strict=False, cache=False) for fmt in _DATE_FORMATS[1:]),
            from_serial,
        ]

    lf = lf.with_columns(
        pl.coalesce(pl.col(first[src]), *later(pl.col(rest[src]))).alias(out) for src, out in columns.items()
    ).drop(*first.values(), *rest.values())
    return lf if isinstance(frame, pl.LazyFrame) else lf.collect()
