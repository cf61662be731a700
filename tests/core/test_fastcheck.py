"""The compiled fast paths decide only what the full parsers would decide, the same way.

Every cell a kernel calls FAST (or BAD) is compared with the full parser's verdict and value; the cells
it calls ODD go to the full parser in the load, so nothing is claimed for them here, except that the
usual spellings are never ODD (else the fast path would be no faster)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dixian.core import fastcheck as fc
from dixian.core.errors import IdNumberError, MoneyError
from dixian.core.idcard import checksum_char, parse
from dixian.core.parsing import add_date_columns, parse_money
from dixian.core.text import WHITESPACE_CHARS

TODAY = dt.date(2024, 6, 15)
MIN_YMD, MAX_YMD = 19000101, fc.ymd_number(TODAY)

regions = st.integers(110000, 659999).map(lambda r: f"{r:06d}")


@st.composite
def valid_ids(draw) -> str:
    birth = draw(st.dates(dt.date(1900, 1, 1), TODAY))
    first17 = f"{draw(regions)}{birth:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first17 + checksum_char(first17)


@st.composite
def damaged_ids(draw) -> str:
    """18 characters of the usual shape with a wrong digit, check character or birth date, or a
    character that takes the number out of the usual shape."""
    number = list(draw(valid_ids()))
    i = draw(st.integers(0, 17))
    number[i] = draw(st.sampled_from(list("0123456789Xx ０.E-") + ["张"]))
    if draw(st.booleans()):
        number[6:14] = list(
            draw(st.sampled_from(["18991231", "20240230", "20241301", "20240616", "00000101"]))
        )
    return "".join(number)


id_cells = st.one_of(
    valid_ids(),
    damaged_ids(),
    valid_ids().map(lambda s: s[:6] + s[8:17]),  # legacy 15 digits
    valid_ids().map(str.lower),
    valid_ids().map(lambda s: f" {s}"),
    st.text(max_size=20),
    st.text(alphabet="0123456789X", min_size=17, max_size=19),
)


def kernel(fn, cells: list[str], *args):
    return fn(*fc.buffers(pa.array(cells, type=pa.string())), *args)


def parsed(cell: str):
    try:
        return parse(cell, today=TODAY)
    except IdNumberError:
        return None


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(id_cells, min_size=1, max_size=30))
def test_id_numbers_agree_with_parse(cells):
    kind, key = kernel(fc.id_numbers, cells, MIN_YMD, MAX_YMD)
    for cell, k, v in zip(cells, kind.tolist(), key.tolist(), strict=True):
        info = parsed(cell)
        if cell == "":
            assert k == fc.BLANK
        elif k == fc.FAST:
            assert info is not None and info.number == cell
            assert v == int(cell[:17]) * 11 + (10 if cell[17] == "X" else int(cell[17]))
        elif k == fc.LOWER_X:
            assert cell[17] == "x" and info is not None and info.number == cell.upper()
            assert v == int(cell[:17]) * 11 + 10
        elif k == fc.BAD:
            assert info is None
        else:
            assert k == fc.ODD


@given(st.lists(valid_ids(), min_size=1, max_size=30))
def test_usual_id_numbers_take_the_fast_path(cells):
    kind, key = kernel(fc.id_numbers, cells, MIN_YMD, MAX_YMD)
    assert (kind == fc.FAST).all()
    assert (key == kernel(fc.id_keys, cells)).all()
    # the key tells numbers apart as their text does
    assert len(set(key.tolist())) == len(set(cells))


def test_id_number_edges():
    first17 = "11010519491231002"
    good = first17 + checksum_char(first17)
    wrong = first17 + ("0" if good[-1] != "0" else "1")
    cells = [good, wrong, "", "110105194902300012", "110105189912310012", "110105202406160012", good.lower()]
    kind, _ = kernel(fc.id_numbers, cells, MIN_YMD, MAX_YMD)
    assert good.endswith("X")
    assert kind.tolist() == [fc.FAST, fc.BAD, fc.BLANK, fc.BAD, fc.BAD, fc.BAD, fc.LOWER_X]
    # a birth date of today is valid, tomorrow is not
    born_today = f"110105{TODAY:%Y%m%d}001"
    born_tomorrow = f"110105{TODAY + dt.timedelta(days=1):%Y%m%d}001"
    cells = [born_today + checksum_char(born_today), born_tomorrow + checksum_char(born_tomorrow)]
    assert kernel(fc.id_numbers, cells, MIN_YMD, MAX_YMD)[0].tolist() == [fc.FAST, fc.BAD]
    assert kernel(fc.id_keys, ["11010519491231002X", "abc", ""]).tolist() == [
        11010519491231002 * 11 + 10,
        -1,
        -1,
    ]


date_cells = st.one_of(
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(
        lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    ),
    st.dates(dt.date(1000, 1, 1)).map(lambda d: d.strftime("%Y/%m/%d")),
    st.dates(dt.date(1000, 1, 1)).map(lambda d: d.strftime("%Y%m%d")),
    st.from_regex(r"\A[0-9]{8}\Z"),
    st.from_regex(r"\A[0-9]{4}[/-][0-9]{2}[/-][0-9]{2}\Z"),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
    st.from_regex(r"\A[0-9 ]{4}-[0-9a-z]{1,2}-[0-9]{1,3}\Z"),
    st.text(max_size=12),
    st.just(""),
    st.integers(20000, 80000).map(str),
)


def full_dates(cells: list[str]) -> list[int | None]:
    """The full parser's dates as days since 1970-01-01 (it reads year 0 too, which Python cannot)."""
    frame = pl.DataFrame({"v": pl.Series(cells, dtype=pl.String)})
    return add_date_columns(frame, {"v": "d"})["d"].cast(pl.Int32).to_list()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(date_cells, min_size=1, max_size=30))
def test_dates_agree_with_the_full_parser(cells):
    kind, days = kernel(fc.dates, cells)
    for cell, k, d, full in zip(cells, kind.tolist(), days.tolist(), full_dates(cells), strict=True):
        if cell == "":
            assert k == fc.BLANK
        elif k == fc.FAST:
            assert full is not None and d == full
        else:
            assert k == fc.ODD


@given(
    st.lists(st.dates(dt.date(1000, 1, 1), dt.date(9999, 12, 31)), min_size=1, max_size=30),
    st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]),
)
def test_usual_dates_take_the_fast_path(dates, spelling):
    cells = [d.strftime(spelling) for d in dates]
    kind, days = kernel(fc.dates, cells)
    assert (kind == fc.FAST).all() and days.tolist() == [fc.epoch_days(d) for d in dates]
    assert full_dates(cells) == days.tolist()


money_cells = st.one_of(
    st.from_regex(r"\A[0-9]{1,13}(\.[0-9]{0,3})?\Z"),
    st.decimals(0, 10**12, places=2, allow_nan=False).map(str),
    st.sampled_from(
        ["1,234.50", "￥12", "12元", "-0", "-5", ".5", "5.", " 5", "１２", "1e3", "0012.30", "5|6"]
    ),
    st.text(max_size=10),
)


def full_money(cell: str) -> Decimal | None | str:
    try:
        return parse_money(cell)
    except MoneyError:
        return "error"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(money_cells, min_size=1, max_size=30))
def test_money_agrees_with_parse_money(cells):
    kind, fen = kernel(fc.money, cells)
    for cell, k, f in zip(cells, kind.tolist(), fen.tolist(), strict=True):
        if cell == "":
            assert k == fc.BLANK
        elif k == fc.FAST:
            assert full_money(cell) == Decimal(f) / 100
        else:
            assert k == fc.ODD


@given(
    st.lists(st.decimals(0, Decimal("999999999999.99"), places=2, allow_nan=False), min_size=1, max_size=30)
)
def test_plain_amounts_take_the_fast_path(amounts):
    cells = [str(a) for a in amounts] + [str(int(a)) for a in amounts]
    kind, fen = kernel(fc.money, cells)
    assert (kind == fc.FAST).all()
    assert fen.tolist() == [int(a * 100) for a in amounts] + [int(a) * 100 for a in amounts]


@settings(max_examples=300)
@given(
    st.lists(
        st.text(alphabet=WHITESPACE_CHARS + "\u3000\u00a0\x1c张a1 \t\u200b\ufeff", max_size=6), max_size=20
    )
)
def test_needs_strip_is_what_polars_strips(cells):
    stripped = pl.Series(cells, dtype=pl.String).str.strip_chars().to_list()
    assert fc.needs_strip(*fc.buffers(pa.array(cells, type=pa.string()))) == (stripped != cells)


def test_buffers_of_slices_and_large_strings():
    arr = pa.array(["x", "2024-05-01", "", "abc"], type=pa.large_string()).slice(1, 3)
    kind, days = fc.dates(*fc.buffers(arr))
    assert kind.tolist() == [fc.FAST, fc.BLANK, fc.ODD]
    assert days[0] == fc.epoch_days(dt.date(2024, 5, 1))
    assert fc.buffers(pa.array([], type=pa.string()))[0].tolist() == [0]
    with pytest.raises(ValueError):
        fc.buffers(pa.array(["a", None]))
    with pytest.raises(TypeError):
        fc.buffers(pa.array([1, 2]))
    assert np.array_equal(fc.buffers(pa.array(["ab", "c"]))[0], [0, 2, 3])
