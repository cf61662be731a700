"""Chinese resident identity numbers (GB 11643-1999): normalise, parse, upgrade, mask.

Two implementations with identical verdicts:

* :func:`parse` for one value (forms, API), raising :class:`IdNumberError` with a Chinese message;
* :func:`check_ids` / :func:`add_id_columns` for bulk imports, set-based polars expressions.

The checks run in this order, and the first failure is the reported one:

1. empty;
2. a number that went through an Excel numeric cell (a ``float``, ``"1.40724199001011E+17"``,
   ``"140724199001011000.0"``): its last digits are lost, it is refused, never guessed;
3. a character other than the digits and ``X``;
4. length other than 18 (or the legacy 15);
5. ``X`` anywhere but the last position of an 18-digit number;
6. the birth date: a real calendar date, not before 1900-01-01, not after today;
7. the check character (18-digit numbers only; 15-digit ones are upgraded and get theirs computed).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import TypeVar

import polars as pl

from dixian.core.errors import IdNumberError
from dixian.core.text import FULLWIDTH_TABLE, WHITESPACE_CHARS

__all__ = [
    "WEIGHTS",
    "ID_COLUMNS",
    "IdInfo",
    "add_id_columns",
    "check_ids",
    "checksum_char",
    "is_valid",
    "mask",
    "normalize",
    "parse",
    "upgrade15",
]

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
MIN_BIRTH_DATE = dt.date(1900, 1, 1)

MSG_EMPTY = "证件号码为空"
MSG_EXCEL = "证件号码被 Excel 存成了数值，末几位已丢失，请将该列设为文本后重新填写"
MSG_BAD_CHAR = "证件号码含有非法字符「{}」"
MSG_LENGTH = "证件号码应为 18 位（旧版为 15 位），实际为 {} 位"
MSG_X_POSITION = "证件号码中的 X 只能出现在 18 位号码的最后一位"
MSG_DATE_INVALID = "证件号码中的出生日期 {} 不是有效日期"
MSG_DATE_TOO_EARLY = "证件号码中的出生日期 {} 早于 1900 年"
MSG_DATE_FUTURE = "证件号码中的出生日期 {} 晚于今天"
MSG_CHECKSUM = "证件号码最后一位（校验位）应为 {}，现为 {}，请核对"
MSG_TYPE = "证件号码的类型无效：{}"

# Decimal point or exponent: what Excel / a float-typed column turns a long number into.
_EXCEL_PATTERN = r"^[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+$|^[0-9]+\.[0-9]*$"
_EXCEL_RE = re.compile(_EXCEL_PATTERN)
_BAD_CHAR_RE = re.compile(r"[^0-9X]")

# Normalisation as literal replacements, also fed to polars ``str.replace_many``.
_NORMALIZE_TABLE: dict[int, str] = dict(FULLWIDTH_TABLE)
_NORMALIZE_TABLE[0x3000] = ""
_NORMALIZE_TABLE[ord("x")] = "X"
_NORMALIZE_TABLE[0xFF58] = "X"  # full-width ｘ
for _ch in WHITESPACE_CHARS:
    _NORMALIZE_TABLE[ord(_ch)] = ""


@dataclass(frozen=True)
class IdInfo:
    number: str  # always the 18-character form
    birth_date: dt.date
    sex: str  # "男" / "女"
    upgraded: bool  # True when the input was a legacy 15-digit number


def _excel_error(raw: object) -> IdNumberError:
    return IdNumberError(MSG_EXCEL, code="id_excel_number", details={"value": str(raw)})


def normalize(raw: str | int) -> str:
    """Strip every whitespace character, fold full-width characters, upper-case ``x``. No validation.

    A ``float`` is refused (:class:`IdNumberError`): it means the number went through an Excel
    numeric cell and lost its last digits.
    """
    if raw is None:
        return ""
    if isinstance(raw, bool):
        raise IdNumberError(MSG_TYPE.format(raw), code="id_type", details={"value": str(raw)})
    if isinstance(raw, float):
        raise _excel_error(raw)
    if isinstance(raw, int):
        return str(raw)
    if not isinstance(raw, str):
        raise IdNumberError(MSG_TYPE.format(type(raw).__name__), code="id_type", details={"value": str(raw)})
    return raw.translate(_NORMALIZE_TABLE)


def checksum_char(first17: str) -> str:
    """The check character of an 18-digit number from its first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"need 17 ASCII digits, got {first17!r}")
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def upgrade15(n15: str) -> str:
    """Legacy 15-digit number -> 18: insert ``19`` before the 2-digit year, append the check char."""
    if len(n15) != 15 or not n15.isascii() or not n15.isdigit():
        raise ValueError(f"need 15 ASCII digits, got {n15!r}")
    first17 = n15[:6] + "19" + n15[6:]
    return first17 + checksum_char(first17)


def _fail(message: str, code: str, number: str) -> IdNumberError:
    return IdNumberError(message, code=code, details={"value": number})


def parse(raw: str | int | None, *, today: dt.date | None = None) -> IdInfo:
    """Validate one identity number; return the 18-digit form, birth date and sex.

    Raises :class:`IdNumberError` with a Chinese message naming the first problem found.
    ``today`` (default: the current date) bounds the birth date.
    """
    n = normalize(raw)  # raises for floats
    if n == "":
        raise _fail(MSG_EMPTY, "id_empty", n)
    if _EXCEL_RE.match(n):
        raise _excel_error(raw)
    bad = _BAD_CHAR_RE.search(n)
    if bad:
        raise _fail(MSG_BAD_CHAR.format(bad.group()), "id_bad_char", n)
    if len(n) not in (15, 18):
        raise _fail(MSG_LENGTH.format(len(n)), "id_length", n)
    if "X" in n[:17] or (len(n) == 15 and "X" in n):
        raise _fail(MSG_X_POSITION, "id_x_position", n)

    first17 = n[:6] + "19" + n[6:] if len(n) == 15 else n[:17]
    ymd = first17[6:14]
    try:
        birth = dt.date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8]))
    except ValueError:
        raise _fail(MSG_DATE_INVALID.format(ymd), "id_birth_date", n) from None
    if birth < MIN_BIRTH_DATE:
        raise _fail(MSG_DATE_TOO_EARLY.format(ymd), "id_birth_date", n)
    if birth > (today or dt.date.today()):
        raise _fail(MSG_DATE_FUTURE.format(ymd), "id_birth_date", n)

    expected = checksum_char(first17)
    if len(n) == 18 and n[17] != expected:
        raise _fail(MSG_CHECKSUM.format(expected, n[17]), "id_checksum", n)

    sex = "男" if int(first17[16]) % 2 else "女"
    return IdInfo(number=first17 + expected, birth_date=birth, sex=sex, upgraded=len(n) == 15)


def is_valid(raw: str | int | None) -> bool:
    try:
        parse(raw)
    except IdNumberError:
        return False
    return True


def mask(number: str | int | None) -> str:
    """Hide the middle: ``140724********1234`` (first 6 and last 4 kept).

    Values shorter than 11 characters keep about a quarter at each end (at least one character when
    the value has 3 or more), so something is always hidden.
    """
    if number is None:
        return ""
    s = str(number) if not isinstance(number, str) else number
    s = s.strip()
    n = len(s)
    if n >= 11:
        return s[:6] + "*" * (n - 10) + s[-4:]
    if n <= 2:
        return "*" * n
    keep = max(1, n // 4)
    return s[:keep] + "*" * (n - 2 * keep) + s[-keep:]


# --------------------------------------------------------------------------- polars (bulk)

_NORM_PATTERNS = [chr(code) for code in _NORMALIZE_TABLE]
_NORM_REPLACEMENTS = list(_NORMALIZE_TABLE.values())
ID_COLUMNS = ("id_number", "id_valid", "id_error", "birth_date", "sex")

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def _days_from_civil(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 (H. Hinnant's algorithm): integer arithmetic that never fails."""
    y = y - (m <= 2).cast(pl.Int64)
    era = y // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@functools.cache
def _g_table() -> pl.Series:
    """g(x) mod 11 = Σ d_j·2^j mod 11 over the decimal digits d_j of x, for x in 0 … 999,999 (Int16)."""
    x = pl.int_range(10**6, dtype=pl.Int64, eager=True)
    g = pl.select(pl.sum_horizontal([(pl.lit(x) // 10**j) % 10 * 2**j for j in range(6)]) % 11).to_series()
    return g.cast(pl.Int16).rename("g")


def add_id_columns(frame: FrameT, col: str, *, today: dt.date | None = None) -> FrameT:
    """Add ``id_number``, ``id_valid``, ``id_error``, ``birth_date``, ``sex`` computed from ``col``.

    Set-based (a few staged ``with_columns``, no Python per row); the verdicts and messages are those
    of :func:`parse`. ``col`` may be of any type: it is cast to String, so a Float column fails every
    row as an Excel number, exactly as :func:`parse` does for a ``float``. Existing columns with the
    output names are replaced; the helper columns (``_id_*``) are dropped.
    """
    today = today or dt.date.today()
    c = pl.col
    lf = frame.lazy()

    # 1. normalised text. A cell of digits only (nearly all) is normal as it is: the Int64 cast of the
    #    raw text (which takes an optional sign, then digits only) tells those apart without a regex.
    #    The normalisation runs on the other cells (the rest are null there and cost nothing), and so
    #    do the checks that name a character other than 0-9 and X.
    raw = c(col).cast(pl.String)
    lf = lf.with_columns(raw.alias("_id_raw"), raw.cast(pl.Int64, strict=False).alias("_id_w"))
    digits = (
        c("_id_w").is_not_null() & ~c("_id_raw").str.starts_with("+") & ~c("_id_raw").str.starts_with("-")
    )
    lf = lf.with_columns(pl.when(~digits).then(c("_id_raw")).str.contains("[^0-9X]").alias("_id_odd"))
    lf = lf.with_columns(
        pl.coalesce(
            pl.when(c("_id_odd")).then(c("_id_raw")).str.replace_many(_NORM_PATTERNS, _NORM_REPLACEMENTS),
            c("_id_raw"),
        )
        .fill_null("")
        .alias("_id_n")
    )
    n = c("_id_n")
    # 2. length (in bytes where the text is ASCII: the same, for less); the normalised cells that still
    #    hold a character other than 0-9 and X
    lf = lf.with_columns(
        pl.coalesce(pl.when(c("_id_odd")).then(n).str.len_chars(), n.str.len_bytes()).alias("_id_len"),
        pl.when(c("_id_odd")).then(n).alias("_id_odd"),
    )
    lf = lf.with_columns(pl.when(c("_id_odd").str.contains("[^0-9X]")).then(c("_id_odd")).alias("_id_odd"))
    length, odd = c("_id_len"), c("_id_odd")
    # 3. shape checks and the first 17 digits of the 18-digit form as a number. An 18-character cell of
    #    digits is its own number (w: first 17 = w // 10, check digit = w % 10); only the cells with an X
    #    (or odd ones) are sliced. Where no character is odd, a number that does not read holds an X:
    #    in the first 17 of an 18, or anywhere in a 15 (the check of the X's position).
    lf = lf.with_columns(
        odd.str.contains(_EXCEL_PATTERN).fill_null(False).alias("_id_excel"),
        odd.str.extract(r"([^0-9X])", 1).alias("_id_bad"),
        pl.when(length == 18)
        .then(
            pl.coalesce(
                pl.when(digits).then(c("_id_w")), pl.when(~digits).then(n).cast(pl.Int64, strict=False)
            )
        )
        .alias("_id_w18"),
    )
    w18 = c("_id_w18")
    lf = lf.with_columns(
        pl.coalesce(
            w18 // 10,
            pl.when((length == 18) & w18.is_null()).then(n).str.slice(0, 17).cast(pl.Int64, strict=False),
        ).alias("_id_v18"),
        pl.when(length == 15).then(n).cast(pl.Int64, strict=False).alias("_id_v15"),
    )
    v15 = c("_id_v15")
    lf = lf.with_columns(
        pl.coalesce(c("_id_v18"), (v15 // 10**9) * 10**11 + 19 * 10**9 + v15 % 10**9).alias("_id_v")
    )
    v = c("_id_v")
    lf = lf.with_columns(
        (length.is_in([15, 18]) & v.is_null()).alias("_id_xpos"),
        # the check character as written: a digit (0-9), 10 for X, null for anything else
        pl.when(w18.is_not_null())
        .then(w18 % 10)
        .when(pl.when((length == 18) & w18.is_null()).then(n).str.ends_with("X"))
        .then(10)
        .alias("_id_actual"),
    )
    # 4. the birth date (digits 7-14) and the check character. The weight of the digit j places from
    #    the right of the 17 is 2^(j+1) mod 11 (GB 11643), so the weighted sum is 2·g mod 11 with
    #    g = Σ d_j·2^j. g mod 11 is read from a table of 10^6 entries (g of every 6-digit number) for
    #    the digits 0-5, 6-11 and 12-16 (2^6 ≡ 9, 2^12 ≡ 4 mod 11): five integer operations and three
    #    lookups instead of one division per digit.
    table = pl.lit(_g_table())
    lf = lf.with_columns(
        ((v // 1000) % 10**8).alias("_id_ymd8"),
        (
            (table.gather(v % 10**6) + 9 * table.gather((v // 10**6) % 10**6) + 4 * table.gather(v // 10**12))
            * 2
            % 11
        ).alias("_id_e"),
    )
    ymd8, e = c("_id_ymd8"), c("_id_e")
    # CHECK_CHARS[e] as a number: 12 − e mod 11 for the digits, 10 for X (e = 2)
    expected_code = pl.when(e == 2).then(10).otherwise((12 - e) % 11)
    lf = lf.with_columns(
        (ymd8 // 10**4).alias("_id_y"),
        ((ymd8 // 100) % 100).alias("_id_m"),
        (ymd8 % 100).alias("_id_day"),
        (c("_id_actual") == expected_code).alias("_id_check_ok"),
    )
    y, m, d = c("_id_y"), c("_id_m"), c("_id_day")
    leap = ((y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))).cast(pl.Int64)
    days_in_month = pl.when(m == 2).then(28 + leap).when(m.is_in([4, 6, 9, 11])).then(30).otherwise(31)
    lf = lf.with_columns(
        ((y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= days_in_month)).alias("_id_date_ok"),
    )
    # a real date compares as its YYYYMMDD number does
    too_early = ymd8 < int(MIN_BIRTH_DATE.strftime("%Y%m%d"))
    future = ymd8 > int(today.strftime("%Y%m%d"))
    date_ok = c("_id_date_ok")
    # the characters, for the messages and the upgraded numbers only (a query that does not use them
    # does not compute them)
    expected = pl.lit(CHECK_CHARS).str.slice(e, 1)
    actual = n.str.slice(17, 1)
    # 5. the verdict, then the first failure's message in the order of ``parse`` (a query that does not
    #    use the message does not compute it)
    lf = lf.with_columns(
        (
            (length > 0)
            & ~c("_id_excel")
            & c("_id_bad").is_null()
            & length.is_in([15, 18])
            & ~c("_id_xpos")
            & date_ok
            & ~too_early
            & ~future
            & ((length == 15) | c("_id_check_ok"))
        )
        .fill_null(False)
        .alias("id_valid"),
        # the birth date as written, for the messages about it (only where it is wrong)
        pl.when(~date_ok | too_early | future)
        .then(
            pl.when(length == 15)
            .then(pl.concat_str(pl.lit("19"), n.str.slice(6, 6)))
            .otherwise(n.str.slice(6, 8))
        )
        .alias("_id_ymd"),
    )
    ymd = c("_id_ymd")
    lf = lf.with_columns(
        pl.when(c("id_valid"))
        .then(None)
        .when(length == 0)
        .then(pl.lit(MSG_EMPTY))
        .when(c("_id_excel"))
        .then(pl.lit(MSG_EXCEL))
        .when(c("_id_bad").is_not_null())
        .then(pl.format(MSG_BAD_CHAR, c("_id_bad")))
        .when(~length.is_in([15, 18]))
        .then(pl.format(MSG_LENGTH, length))
        .when(c("_id_xpos"))
        .then(pl.lit(MSG_X_POSITION))
        .when(~date_ok)
        .then(pl.format(MSG_DATE_INVALID, ymd))
        .when(too_early)
        .then(pl.format(MSG_DATE_TOO_EARLY, ymd))
        .when(future)
        .then(pl.format(MSG_DATE_FUTURE, ymd))
        .otherwise(pl.format(MSG_CHECKSUM, expected, actual))
        .alias("id_error")
    )
    valid = c("id_valid")
    # only the legacy numbers are rebuilt (with their check character); a valid 18 is itself
    n15 = pl.when(valid & (length == 15)).then(n)
    e15 = pl.when(valid & (length == 15)).then(e)
    # 6. outputs
    lf = lf.with_columns(
        pl.coalesce(
            pl.concat_str(
                n15.str.slice(0, 6), pl.lit("19"), n15.str.slice(6), pl.lit(CHECK_CHARS).str.slice(e15, 1)
            ),
            pl.when(length > 0).then(n),
        ).alias("id_number"),
        pl.when(valid).then(_days_from_civil(y, m, d).cast(pl.Int32).cast(pl.Date)).alias("birth_date"),
        pl.when(valid)
        .then(pl.when(v % 2 == 1).then(pl.lit("男")).otherwise(pl.lit("女")))
        .otherwise(None)
        .alias("sex"),
    )
    lf = lf.select(pl.all().exclude("^_id_.*$").exclude(ID_COLUMNS), *ID_COLUMNS)
    return lf if isinstance(frame, pl.LazyFrame) else lf.collect()


def check_ids(s: pl.Series | list, *, today: dt.date | None = None) -> pl.DataFrame:
    """Check many identity numbers at once; one output row per input value, in input order.

    Columns: ``id_number`` (String: the 18-digit form when valid, the normalised input otherwise,
    null when empty), ``id_valid`` (Boolean), ``id_error`` (String, Chinese, null when valid),
    ``birth_date`` (Date), ``sex`` (String "男"/"女").
    """
    if not isinstance(s, pl.Series):
        s = pl.Series("raw", s, strict=False)
    frame = pl.DataFrame({"_id_raw": s})
    return add_id_columns(frame, "_id_raw", today=today).select(ID_COLUMNS)
