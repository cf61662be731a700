"""Months, money and yes/no: scalar parsers and their polars twins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dixian.core.errors import DixianError, MoneyError, MonthError
from dixian.core.parsing import (
    add_money_columns,
    blank_expr,
    excel_serial_to_date,
    money_expr,
    month_expr,
    parse_bool_zh,
    parse_money,
    parse_month,
)
from dixian.core.text import WHITESPACE_CHARS


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


# --------------------------------------------------------------------------- month


@pytest.mark.parametrize(
    "value",
    [
        202305,
        "202305",
        "2023-05",
        "2023-5",
        "2023/05",
        "2023.05",
        "2023.5",
        "2023年5月",
        "2023年05月",
        " 2023 年 5 月 ",
        "２０２３－０５",
        "2023-05-01",
        "2023-05-31 00:00:00",
        "2023/5/1",
        "2023年5月1日",
        "2023-05-01T08:30",
        dt.date(2023, 5, 9),
        dt.datetime(2023, 5, 1, 23, 59),
        45047,
        45047.0,
        45047.75,
        "45047",
        "45047.0",
        "202305.0",
        202305.0,
        2023.05,
        Decimal("202305"),
    ],
)
def test_parse_month_accepts(value):
    assert parse_month(value) == 202305


@pytest.mark.parametrize(
    "value",
    [
        "202313",
        "2023-13",
        "2023-00",
        "1999-12",
        "2101-01",
        "2023-02-30",
        "hello",
        "五月",
        "2023",
        "20235",
        "2023.1",  # what Excel makes of 2023.10: ambiguous
        2023.1,
        19999,
        80001,
        True,
        float("nan"),
        [2023, 5],
    ],
)
def test_parse_month_rejects(value):
    with pytest.raises(MonthError) as exc:
        parse_month(value)
    assert exc.value.code == "invalid_month"


def test_parse_month_messages_name_the_value():
    with pytest.raises(MonthError, match="「2023-13」中的月份 13 无效"):
        parse_month("2023-13")
    with pytest.raises(MonthError, match="「1999-01」中的年份 1999 超出范围"):
        parse_month("1999-01")
    with pytest.raises(MonthError, match="「下个月」不是有效的月份"):
        parse_month("下个月")
    with pytest.raises(MonthError, match="有歧义"):
        parse_month("2023.1")
    with pytest.raises(MonthError, match="月份为空"):
        parse_month("  ")
    with pytest.raises(MonthError, match="月份为空"):
        parse_month(None)


def test_excel_serial_to_date():
    assert excel_serial_to_date(45047) == dt.date(2023, 5, 1)
    assert excel_serial_to_date(36526) == dt.date(2000, 1, 1)
    assert excel_serial_to_date(45047.99) == dt.date(2023, 5, 1)


@given(st.integers(2000, 2100), st.integers(1, 12))
def test_month_ints_and_texts_agree(year, month):
    assert parse_month(year * 100 + month) == parse_month(str(year * 100 + month)) == year * 100 + month
    assert parse_month(f"{year}-{month}") == parse_month(dt.date(year, month, 1)) == year * 100 + month


@given(st.dates(dt.date(1960, 1, 1), dt.date(2120, 12, 31)))
def test_month_serial_numbers(day):
    serial = (day - dt.date(1899, 12, 30)).days
    expected = day.year * 100 + day.month if 2000 <= day.year <= 2100 else None
    for value in (serial, float(serial), str(serial), f"{serial}.0"):
        try:
            got = parse_month(value)
        except MonthError:
            got = None
        assert got == expected


MONTH_FORMATS = [
    "{y}{m:02d}",
    "{y}-{m:02d}",
    "{y}-{m}",
    "{y}/{m:02d}",
    "{y}.{m:02d}",
    "{y}.{m}",
    "{y}年{m}月",
    "{y} 年 {m:02d} 月份",
    "{y}-{m:02d}-{d:02d}",
    "{y}/{m}/{d}",
    "{y}-{m:02d}-{d:02d} 00:00:00",
    "{y}-{m:02d}-{d:02d}T12:30:45.5",
    "{y}年{m}月{d}日",
    "{y}{m:02d}.0",
]


@st.composite
def month_texts(draw) -> str:
    y = draw(st.integers(1990, 2110))
    m = draw(st.integers(0, 14))
    d = draw(st.integers(0, 32))
    text = draw(st.sampled_from(MONTH_FORMATS)).format(y=y, m=m, d=d)
    if draw(st.booleans()):
        text = _fullwidth(text)
    if draw(st.booleans()):
        text = draw(st.sampled_from(WHITESPACE_CHARS)) + text + draw(st.sampled_from(WHITESPACE_CHARS))
    return text


month_inputs = st.one_of(
    month_texts(),
    st.integers(10000, 90000).map(str),
    st.integers(10000, 90000).map(lambda n: f"{n}.5"),
    st.text(alphabet="0123456789-/.年月日 :T", max_size=20),
    st.text(max_size=12),
    st.none(),
)


def _month_or_none(value):
    try:
        return parse_month(value)
    except MonthError:
        return None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(month_inputs, min_size=1, max_size=40))
def test_month_expr_agrees_with_parse_month(values):
    frame = pl.DataFrame({"m": values}, schema={"m": pl.String})
    got = frame.select(month_expr("m"))["m"].to_list()
    assert got == [_month_or_none(v) for v in values]


def test_month_expr_marks_unparsed_cells():
    frame = pl.DataFrame({"m": ["2023-05", "坏数据", "", None, "45047.0", "2023-05-01 00:00:00"]})
    out = frame.select(month_expr("m").alias("month"), blank_expr("m").alias("blank"))
    assert out.schema["month"] == pl.Int32
    assert out["month"].to_list() == [202305, None, None, None, 202305, 202305]
    bad = out.filter(pl.col("month").is_null() & ~pl.col("blank"))
    assert bad.height == 1


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12,345.60", "12345.60"),
        ("12345.6", "12345.60"),
        ("１２，３４５．６", "12345.60"),
        ("￥1,000", "1000.00"),
        ("¥ 1000", "1000.00"),
        ("500 元", "500.00"),
        ("  88  ", "88.00"),
        ("2.675", "2.68"),
        ("2.665", "2.67"),
        ("0.004", "0.00"),
        ("0.005", "0.01"),
        (".5", "0.50"),
        ("-0", "0.00"),
        (2.675, "2.68"),
        (0.1, "0.10"),
        (1234, "1234.00"),
        (Decimal("1.005"), "1.01"),
        ("1,234,567.891", "1234567.89"),
    ],
)
def test_parse_money_accepts(value, expected):
    result = parse_money(value)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000", float("nan")])
def test_parse_money_empty_is_none(value):
    assert parse_money(value) is None


@pytest.mark.parametrize("value", ["-5", "-0.01", "￥-3", "－12", -1, -0.5])
def test_parse_money_rejects_negative(value):
    with pytest.raises(MoneyError) as exc:
        parse_money(value)
    assert exc.value.message == "金额不能为负数"


@pytest.mark.parametrize(
    "value", ["abc", "12元5角", "1,23", "12,3456", "1.2.3", "元", "1e5", "五百", True, float("inf")]
)
def test_parse_money_rejects_text(value):
    with pytest.raises(MoneyError) as exc:
        parse_money(value)
    assert "不是有效的金额" in exc.value.message


def test_parse_money_rejects_huge():
    with pytest.raises(MoneyError, match="过大"):
        parse_money("1,000,000,000,000")
    assert parse_money("999999999999.99") == Decimal("999999999999.99")


def _group(int_part: str) -> str:
    return f"{int(int_part):,}"


@st.composite
def money_texts(draw) -> str:
    units = draw(st.integers(0, 10**13))
    frac = draw(st.text(alphabet="0123456789", max_size=4))
    int_text = _group(str(units)) if draw(st.booleans()) else str(units)
    text = int_text + ("." + frac if frac or draw(st.booleans()) else "")
    sign = draw(st.sampled_from(["", "", "-", "+", "\u2212"]))
    prefix = draw(st.sampled_from(["", "", "￥", "¥"]))
    suffix = draw(st.sampled_from(["", "", "元", " 元"]))
    text = (sign + prefix + text if draw(st.booleans()) else prefix + sign + text) + suffix
    if draw(st.booleans()):
        text = _fullwidth(text)
    if draw(st.booleans()):
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(WHITESPACE_CHARS)) + text[i:]
    return text


money_inputs = st.one_of(
    money_texts(),
    st.text(alphabet="0123456789,.-+元￥¥ ", max_size=16),
    st.text(max_size=10),
    st.decimals(min_value=-(10**13), max_value=10**13, allow_nan=False, places=3).map(str),
    st.none(),
)


def _money_or_none(value):
    try:
        return parse_money(value)
    except MoneyError:
        return None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(money_inputs, min_size=1, max_size=40))
def test_money_expr_agrees_with_parse_money(values):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    got = frame.select(money_expr("v"))["v"].to_list()
    assert got == [_money_or_none(v) for v in values]


@given(st.floats(min_value=0, max_value=1e11, allow_nan=False))
def test_money_floats_use_their_shortest_text(value):
    text = repr(value)
    if "e" not in text:
        assert parse_money(value) == parse_money(text)


def test_money_expr_marks_unparsed_cells():
    frame = pl.DataFrame({"v": ["1,000.50", "-3", "abc", "", None, "  "]})
    out = frame.select(money_expr("v").alias("amount"), blank_expr("v").alias("blank"))
    assert out["amount"].to_list() == [Decimal("1000.50"), None, None, None, None, None]
    assert out.filter(pl.col("amount").is_null() & ~pl.col("blank"))["amount"].len() == 2


# --------------------------------------------------------------------------- yes / no


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("n", False),
        ("ｙ", True),
        (" 1 ", True),
        ("0", False),
        ("TRUE", True),
        ("false", False),
        (1, True),
        (0, False),
        (1.0, True),
        (True, True),
        (False, False),
        (None, None),
        ("", None),
        ("\u3000", None),
    ],
)
def test_parse_bool_zh(value, expected):
    assert parse_bool_zh(value) is expected


@pytest.mark.parametrize("value", ["也许", "2", 2, "是的吧", "yess"])
def test_parse_bool_zh_rejects(value):
    with pytest.raises(DixianError) as exc:
        parse_bool_zh(value)
    assert exc.value.code == "invalid_bool"
    assert "是/否" in exc.value.message


# Several columns at once: one regex over the row's cells joined by "|" picks the rows whose cells are
# all plain amounts or blank; every other row takes the full parse in all its columns.
MONEY_EDGES = [
    "1234",
    "1234.5",
    "1234.56",
    "1234.565",
    "１２３４.５",  # full-width
    "12,000.00",
    "¥1,000",
    "￥ 5 元",
    "-5",
    "−0",
    "+3",
    "",
    "  ",
    None,
    "abc",
    "5|6",  # a separator inside a cell
    "|",
    "1e3",
    ".5",
    "5.",
    "999999999999.99",
    "1000000000000",
    "0001",
]


def test_add_money_columns_rows_agree_with_parse_money():
    n = len(MONEY_EDGES)
    # every edge beside every other one, and beside plain amounts
    frame = pl.DataFrame(
        {
            "a": [MONEY_EDGES[i % n] for i in range(n * n)],
            "b": [MONEY_EDGES[i // n] for i in range(n * n)],
            "c": ["12.5"] * (n * n),
        },
        schema={"a": pl.String, "b": pl.String, "c": pl.String},
    )
    out = add_money_columns(frame, {"a": "A", "b": "B", "c": "C"})
    for col in "abc":
        assert out[col.upper()].to_list() == [_money_or_none(v) for v in frame[col]]
    single = add_money_columns(frame, {"a": "A"})
    assert single["A"].to_list() == out["A"].to_list()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(money_inputs, money_inputs, money_inputs), min_size=1, max_size=30))
def test_add_money_columns_several_agree_with_parse_money(rows):
    frame = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.String, "c": pl.String}, orient="row")
    out = add_money_columns(frame, {"a": "a", "b": "_b", "c": "c"})
    assert out["a"].to_list() == [_money_or_none(r[0]) for r in rows]
    assert out["_b"].to_list() == [_money_or_none(r[1]) for r in rows]
    assert out["c"].to_list() == [_money_or_none(r[2]) for r in rows]
