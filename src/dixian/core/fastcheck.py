"""Compiled fast paths for checking a department's file cell by cell (numba, no Python per cell).

Each kernel reads an Arrow text column through its buffers (``offsets``, ``data``; no copy) and sorts
every cell into one of four kinds:

* ``FAST`` (0): the usual spelling, read here (an 18-digit ID number, ``2024-05-01``, ``1234.56``);
* ``BLANK`` (1): the empty string;
* ``BAD`` (2): in the usual shape but wrong (an 18-digit ID number whose check digit or birth date is
  wrong): the verdict of :func:`dixian.core.idcard.parse` for it, without its message;
* ``LOWER_X`` (4, ID numbers only): valid, written with a lower-case x as its check character (the
  normalised number has an upper-case X);
* ``ODD`` (3): anything else. These cells go to the full parsers (the polars implementations of
  :mod:`dixian.core.idcard` and :mod:`dixian.core.parsing`), which decide them exactly as before.

So the kernels only ever decide cells whose verdict is plain, and the tests compare them with the
full parsers on generated and edge-case cells. Compiled once and cached next to this file
(``cache=True``); ``nogil=True`` lets the caller run them in threads.
"""

from __future__ import annotations

import datetime as dt

import numba as nb
import numpy as np
import pyarrow as pa

FAST, BLANK, BAD, ODD, LOWER_X = 0, 1, 2, 3, 4
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
# the check character's value (0-9, X = 10) for the weighted sum mod 11 (GB 11643: "10X98765432")
_CHECK = np.array([1, 0, 10, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
MONEY_MAX_FEN = 10**12 * 100  # amounts must be below 1 万亿 元 (parsing.MONEY_MAX)

_jit = nb.njit(cache=True, nogil=True)


def buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets and the bytes of a text array with no nulls (string or large_string), as numpy
    views of its buffers: cell i is ``data[offsets[i]:offsets[i + 1]]``."""
    if arr.null_count:
        raise ValueError("buffers() needs an array without nulls (fill them with '' first)")
    if pa.types.is_string(arr.type) or pa.types.is_binary(arr.type):
        width = np.int32
    elif pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        width = np.int64
    else:
        raise TypeError(f"not a text array: {arr.type}")
    _, off_buf, data_buf = arr.buffers()
    n = len(arr)
    offsets = np.frombuffer(off_buf, dtype=width, count=n + 1, offset=arr.offset * np.dtype(width).itemsize)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


@_jit
def _days(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date, or -2**31 when it is not a real date."""
    if y < 1 or m < 1 or m > 12 or d < 1:
        return -(2**31)
    leap = (y % 4 == 0) and (y % 100 != 0 or y % 400 == 0)
    if m == 2:
        dim = 29 if leap else 28
    elif m == 4 or m == 6 or m == 9 or m == 11:
        dim = 30
    else:
        dim = 31
    if d > dim:
        return -(2**31)
    # days from civil (H. Hinnant)
    yy = y - 1 if m <= 2 else y
    era = yy // 400
    yoe = yy - era * 400
    mp = m + 9 if m <= 2 else m - 3
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@_jit
def _is_space(cp):
    # Rust's char::is_whitespace (what polars' strip_chars() strips)
    return (
        (0x09 <= cp <= 0x0D)
        or cp == 0x20
        or cp == 0x85
        or cp == 0xA0
        or cp == 0x1680
        or (0x2000 <= cp <= 0x200A)
        or cp == 0x2028
        or cp == 0x2029
        or cp == 0x202F
        or cp == 0x205F
        or cp == 0x3000
    )


@_jit
def _first_cp(data, start, end):
    b0 = data[start]
    if b0 < 0x80:
        return np.int64(b0)
    if b0 >= 0xF0 and end - start >= 4:
        return (
            (np.int64(b0 & 0x07) << 18)
            | (np.int64(data[start + 1] & 0x3F) << 12)
            | (np.int64(data[start + 2] & 0x3F) << 6)
            | np.int64(data[start + 3] & 0x3F)
        )
    if b0 >= 0xE0 and end - start >= 3:
        return (
            (np.int64(b0 & 0x0F) << 12)
            | (np.int64(data[start + 1] & 0x3F) << 6)
            | np.int64(data[start + 2] & 0x3F)
        )
    if b0 >= 0xC0 and end - start >= 2:
        return (np.int64(b0 & 0x1F) << 6) | np.int64(data[start + 1] & 0x3F)
    return np.int64(-1)


@_jit
def _last_cp(data, start, end):
    # back to the first byte of the last character (at most 4 bytes)
    i = end - 1
    while i > start and (data[i] & 0xC0) == 0x80 and end - i < 4:
        i -= 1
    return _first_cp(data, i, end)


@_jit
def needs_strip(offsets, data):
    """Whether any cell starts or ends with a whitespace character (as polars' strip_chars sees it)."""
    n = len(offsets) - 1
    for i in range(n):
        s = offsets[i]
        e = offsets[i + 1]
        if e > s and (_is_space(_first_cp(data, s, e)) or _is_space(_last_cp(data, s, e))):
            return True
    return False


@_jit
def _digits(data, start, count):
    """The number written by ``count`` ASCII digits at ``start``, or -1 if one is not a digit."""
    v = 0
    for j in range(start, start + count):
        c = np.int64(data[j]) - 48
        if c < 0 or c > 9:
            return -1
        v = v * 10 + c
    return v


@_jit
def id_numbers(offsets, data, min_ymd, max_ymd):
    """ID numbers of 18 ASCII characters (17 digits, then a digit, X or x): FAST (LOWER_X for an x) when
    valid (birth date a real date in [min_ymd, max_ymd], check character right), BAD when not; BLANK
    for empty cells, ODD for every other cell (15 digits, spaces, full-width digits …).

    Also the number's key, ``first 17 digits × 11 + check value`` (X = 10), for FAST cells: an int64
    that identifies the number (see :func:`id_keys`)."""
    n = len(offsets) - 1
    kind = np.empty(n, dtype=np.int8)
    key = np.zeros(n, dtype=np.int64)
    for i in range(n):
        s = offsets[i]
        e = offsets[i + 1]
        if e == s:
            kind[i] = BLANK
            continue
        if e - s != 18:
            kind[i] = ODD
            continue
        v = np.int64(0)
        total = np.int64(0)
        ok = True
        for j in range(17):
            c = np.int64(data[s + j]) - 48
            if c < 0 or c > 9:
                ok = False
                break
            v = v * 10 + c
            total += c * _WEIGHTS[j]
        if not ok:
            kind[i] = ODD
            continue
        last = data[s + 17]
        if last == 88 or last == 120:  # X, x
            actual = 10
        elif 48 <= last <= 57:
            actual = np.int64(last) - 48
        else:
            kind[i] = ODD
            continue
        ymd = (v // 1000) % 100000000
        y = ymd // 10000
        m = (ymd // 100) % 100
        d = ymd % 100
        if _days(y, m, d) == -(2**31) or ymd < min_ymd or ymd > max_ymd or _CHECK[total % 11] != actual:
            kind[i] = BAD
            continue
        kind[i] = LOWER_X if last == 120 else FAST
        key[i] = v * 11 + actual
    return kind, key


@_jit
def dates(offsets, data):
    """Dates written ``YYYY-MM-DD``, ``YYYY/MM/DD`` or ``YYYYMMDD`` (a real date): FAST with the days
    since 1970-01-01; BLANK for empty cells; ODD for every other cell (other spellings, wrong dates:
    the full parser decides them)."""
    n = len(offsets) - 1
    kind = np.empty(n, dtype=np.int8)
    days = np.zeros(n, dtype=np.int32)
    for i in range(n):
        s = offsets[i]
        e = offsets[i + 1]
        if e == s:
            kind[i] = BLANK
            continue
        value = -(2**31)
        if e - s == 10:
            sep = data[s + 4]
            if (sep == 45 or sep == 47) and data[s + 7] == sep:  # - or /
                y = _digits(data, s, 4)
                m = _digits(data, s + 5, 2)
                d = _digits(data, s + 8, 2)
                if y >= 0 and m >= 0 and d >= 0:
                    value = _days(y, m, d)
        elif e - s == 8:
            y = _digits(data, s, 4)
            m = _digits(data, s + 4, 2)
            d = _digits(data, s + 6, 2)
            if y >= 0 and m >= 0 and d >= 0:
                value = _days(y, m, d)
        if value == -(2**31):
            kind[i] = ODD
        else:
            kind[i] = FAST
            days[i] = value
    return kind, days


@_jit
def money(offsets, data):
    """Amounts written as 1-12 digits with at most 2 decimals (``1234``, ``1234.5``, ``1234.56``):
    FAST with the amount in fen; BLANK for empty cells; ODD for every other cell (separators, signs,
    currency signs, full-width digits …: the full parser decides them)."""
    n = len(offsets) - 1
    kind = np.empty(n, dtype=np.int8)
    fen = np.zeros(n, dtype=np.int64)
    for i in range(n):
        s = offsets[i]
        e = offsets[i + 1]
        if e == s:
            kind[i] = BLANK
            continue
        units = np.int64(0)
        j = s
        while j < e and 48 <= data[j] <= 57:
            units = units * 10 + (np.int64(data[j]) - 48)
            j += 1
        ndigits = j - s
        if ndigits < 1 or ndigits > 12:
            kind[i] = ODD
            continue
        cents = np.int64(0)
        if j < e:
            if data[j] != 46 or e - j - 1 < 1 or e - j - 1 > 2:  # "." then 1 or 2 digits
                kind[i] = ODD
                continue
            c1 = np.int64(data[j + 1]) - 48
            c2 = np.int64(data[j + 2]) - 48 if e - j - 1 == 2 else np.int64(0)
            if c1 < 0 or c1 > 9 or c2 < 0 or c2 > 9:
                kind[i] = ODD
                continue
            cents = c1 * 10 + c2
        kind[i] = FAST
        fen[i] = units * 100 + cents
    return kind, fen


@_jit
def id_keys(offsets, data):
    """The key (see :func:`id_numbers`) of each cell of 17 digits then a digit or X (a normalised ID
    number; its check character is not checked); -1 for any other cell."""
    n = len(offsets) - 1
    key = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        s = offsets[i]
        if offsets[i + 1] - s != 18:
            continue
        v = _digits(data, s, 17)
        if v < 0:
            continue
        last = data[s + 17]
        if last == 88:
            key[i] = v * 11 + 10
        elif 48 <= last <= 57:
            key[i] = v * 11 + (np.int64(last) - 48)
    return key


@_jit
def upper_x(offsets, data, rows):
    """A copy of the bytes with the 18th character of the cells ``rows`` (an x) made an X."""
    out = data.copy()
    for j in range(len(rows)):
        out[offsets[rows[j]] + 17] = 88
    return out


@_jit
def last_record_end(data):
    """Where the last whole CSV record of ``data`` (which starts at a record's start) ends: the index
    after its newline, or -1 if there is none. Quotes are read as Arrow's CSV parser reads them: a
    quote opens quoting only at a field's start, ``""`` inside quotes is a quote, and a newline inside
    quotes belongs to the value."""
    FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED = 0, 1, 2, 3
    state = FIELD_START
    last = -1
    for i in range(len(data)):
        b = data[i]
        if state == QUOTED:
            if b == 34:
                state = QUOTE_IN_QUOTED
        elif state == QUOTE_IN_QUOTED and b == 34:
            state = QUOTED
        elif b == 10:
            last = i
            state = FIELD_START
        elif b == 44:
            state = FIELD_START
        elif state == FIELD_START and b == 34:
            state = QUOTED
        else:
            state = UNQUOTED
    return last + 1 if last >= 0 else -1


def ymd_number(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def epoch_days(day: dt.date) -> int:
    return day.toordinal() - _EPOCH_ORDINAL
