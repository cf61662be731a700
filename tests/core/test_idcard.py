"""Identity numbers: scalar parser, properties of the check character, and the polars twin."""

from __future__ import annotations

import datetime as dt
import inspect

import polars as pl
import pytest
from faker import Faker
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dixian.core import idcard
from dixian.core.errors import IdNumberError
from dixian.core.idcard import (
    IdInfo,
    add_id_columns,
    check_ids,
    checksum_char,
    is_valid,
    mask,
    normalize,
    parse,
    upgrade15,
)
from dixian.core.text import WHITESPACE_CHARS

TODAY = dt.date(2024, 6, 15)

# --------------------------------------------------------------------------- strategies

regions = st.integers(110000, 659999).map(lambda r: f"{r:06d}")
sequences = st.integers(0, 999).map(lambda s: f"{s:03d}")
births18 = st.dates(dt.date(1900, 1, 1), TODAY)
births15 = st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31))


@st.composite
def valid_ids(draw) -> str:
    first17 = f"{draw(regions)}{draw(births18):%Y%m%d}{draw(sequences)}"
    return first17 + checksum_char(first17)


@st.composite
def legacy_ids(draw) -> str:
    return f"{draw(regions)}{draw(births15):%y%m%d}{draw(sequences)}"


def _fullwidth(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@st.composite
def disguised(draw, base: st.SearchStrategy[str]) -> str:
    """The same number as people paste it: full-width characters, lower-case x, stray blanks."""
    number = draw(base)
    out = []
    for ch in number:
        if ch == "X" and draw(st.booleans()):
            ch = "x"
        if draw(st.integers(0, 3)) == 0:
            ch = _fullwidth(ch)
        out.append(ch)
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from(WHITESPACE_CHARS)))
    prefix = draw(st.text(alphabet=WHITESPACE_CHARS, max_size=2))
    suffix = draw(st.text(alphabet=WHITESPACE_CHARS, max_size=2))
    return prefix + "".join(out) + suffix


noise_chars = st.sampled_from(list("0123456789X0123456789xXAa.-+eE ０１Ｘｘ　\u200b张"))


@st.composite
def corrupted(draw) -> str:
    """A valid (or legacy) number damaged in one of the ways that happen in spreadsheets."""
    number = list(draw(st.one_of(valid_ids(), legacy_ids())))
    kind = draw(st.sampled_from(["replace", "delete", "insert", "swap", "date", "excel", "x"]))
    if kind == "replace":
        i = draw(st.integers(0, len(number) - 1))
        number[i] = draw(noise_chars)
    elif kind == "delete":
        del number[draw(st.integers(0, len(number) - 1))]
    elif kind == "insert":
        number.insert(draw(st.integers(0, len(number))), draw(noise_chars))
    elif kind == "swap":
        i = draw(st.integers(0, len(number) - 2))
        number[i], number[i + 1] = number[i + 1], number[i]
    elif kind == "date":  # impossible or out-of-range birth dates
        y = draw(st.sampled_from(["1899", "1900", "2024", "2025", "2999", "0000", "1996"]))
        md = draw(st.sampled_from(["0229", "0230", "1301", "0001", "0100", "1231", "0615", "0616", "0431"]))
        if len(number) == 18:
            number[6:14] = list(y + md)
        else:  # 15 digits: YYMMDD at 6..11
            number[6:10] = list(y[2:] + md[:2])
            number[10:12] = list(md[2:])
    elif kind == "excel":
        digits = "".join(ch if ch.isdigit() else "0" for ch in number)
        number = list(
            draw(
                st.sampled_from(
                    [f"{float(digits):.14E}", str(float(digits)), digits + ".0", digits[:15] + "E+17"]
                )
            )
        )
    else:  # "x": an X in a wrong place
        number[draw(st.integers(0, len(number) - 2))] = "X"
    return "".join(number)


any_input = st.one_of(
    valid_ids(),
    legacy_ids(),
    disguised(valid_ids()),
    disguised(legacy_ids()),
    corrupted(),
    disguised(corrupted()),
    st.text(max_size=20),
    st.text(alphabet="0123456789X .", max_size=20),
)


# --------------------------------------------------------------------------- examples


def test_parse_known_number():
    info = parse("11010519491231002X")
    assert info == IdInfo("11010519491231002X", dt.date(1949, 12, 31), "女", upgraded=False)


def test_parse_legacy_number_is_upgraded():
    info = parse("110105491231002")
    assert info.number == "11010519491231002X"
    assert info.upgraded is True
    assert info.birth_date == dt.date(1949, 12, 31)


def test_int_inputs_are_exact():
    assert parse(110105491231002).number == "11010519491231002X"
    assert parse(110105194912310038).upgraded is False  # an 18-digit int is exact in Python
    assert parse(110105194912310038).sex == "男"


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("", "id_empty", "证件号码为空"),
        ("  \u3000 ", "id_empty", "证件号码为空"),
        (None, "id_empty", "证件号码为空"),
        ("1101051949123100", "id_length", "证件号码应为 18 位（旧版为 15 位），实际为 16 位"),
        ("11010519491231002Y", "id_bad_char", "证件号码含有非法字符「Y」"),
        ("张三", "id_bad_char", "证件号码含有非法字符「张」"),
        ("110105X94912310021", "id_x_position", "证件号码中的 X 只能出现在 18 位号码的最后一位"),
        ("11010549123100X", "id_x_position", "证件号码中的 X 只能出现在 18 位号码的最后一位"),
        ("110105194902290020", "id_birth_date", "证件号码中的出生日期 19490229 不是有效日期"),
        ("110105189912310020", "id_birth_date", "证件号码中的出生日期 18991231 早于 1900 年"),
        ("110105209912310020", "id_birth_date", "证件号码中的出生日期 20991231 晚于今天"),
        ("110105491331002", "id_birth_date", "证件号码中的出生日期 19491331 不是有效日期"),
        ("110105194912310021", "id_checksum", "证件号码最后一位（校验位）应为 X，现为 1，请核对"),
    ],
)
def test_parse_failures_have_specific_messages(raw, code, message):
    with pytest.raises(IdNumberError) as exc:
        parse(raw)
    assert exc.value.code == code
    assert exc.value.message == message


EXCEL_MESSAGE = "证件号码被 Excel 存成了数值，末几位已丢失，请将该列设为文本后重新填写"


@pytest.mark.parametrize(
    "raw",
    [1.40724199001011e17, "1.40724199001011E+17", "1.40724199001011e+17", "140724199001011000.0", 1.1e14],
)
def test_excel_numbers_are_refused(raw):
    with pytest.raises(IdNumberError) as exc:
        parse(raw)
    assert exc.value.message == EXCEL_MESSAGE
    assert not is_valid(raw)


def test_leap_day_and_today_bounds():
    first17 = "11010520000229001"
    assert parse(first17 + checksum_char(first17)).birth_date == dt.date(2000, 2, 29)
    born_today = f"110105{TODAY:%Y%m%d}001"
    assert parse(born_today + checksum_char(born_today), today=TODAY).birth_date == TODAY
    tomorrow = f"110105{TODAY + dt.timedelta(days=1):%Y%m%d}001"
    with pytest.raises(IdNumberError, match="晚于今天"):
        parse(tomorrow + checksum_char(tomorrow), today=TODAY)


def test_normalize():
    assert normalize(" １１０１０５ 1949\u30001231\u200b002ｘ\n") == "11010519491231002X"
    assert normalize(110105491231002) == "110105491231002"
    assert normalize("abc") == "abc"  # no validation
    with pytest.raises(IdNumberError):
        normalize(1.5e17)


def test_checksum_and_upgrade_reject_bad_shapes():
    with pytest.raises(ValueError):
        checksum_char("123")
    with pytest.raises(ValueError):
        upgrade15("11010519491231002X")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("140724199001011234", "140724********1234"),
        ("140724900101123", "140724*****1123"),
        ("12345678901", "123456*8901"),
        ("1234567890", "12******90"),
        ("12345", "1***5"),
        ("123", "1*3"),
        ("12", "**"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask(value, masked):
    assert mask(value) == masked


def test_faker_numbers_are_valid():
    fake = Faker("zh_CN")
    fake.seed_instance(20240615)
    numbers = [fake.ssn() for _ in range(500)]
    for number in numbers:
        info = parse(number)
        assert info.number == number
        assert info.birth_date.strftime("%Y%m%d") == number[6:14]
    frame = check_ids(pl.Series(numbers))
    assert frame["id_valid"].all()
    assert frame["id_number"].to_list() == numbers


# --------------------------------------------------------------------------- properties


@given(valid_ids())
def test_valid_ids_parse_and_round_trip(number):
    info = parse(number)
    assert info.number == number
    assert info.upgraded is False
    assert info.birth_date == dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert info.sex == ("男" if int(number[16]) % 2 else "女")
    assert parse(info.number) == info
    assert is_valid(number)


@given(valid_ids(), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(number, position, delta):
    changed17 = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 : 17]
    assert checksum_char(changed17) != number[17]  # MOD 11-2 catches every single substitution
    assert not is_valid(changed17 + number[17])


@given(valid_ids(), st.integers(0, 15))
def test_adjacent_transposition_is_caught(number, position):
    a, b = number[position], number[position + 1]
    assume(a != b)
    swapped17 = number[:position] + b + a + number[position + 2 : 17]
    assert checksum_char(swapped17) != number[17]


@given(legacy_ids())
def test_upgrade_keeps_birth_date_and_sex(n15):
    n18 = upgrade15(n15)
    info15, info18 = parse(n15), parse(n18)
    assert info15.upgraded is True and info18.upgraded is False
    assert info15.number == info18.number == n18
    assert info15.birth_date == info18.birth_date == dt.datetime.strptime("19" + n15[6:12], "%Y%m%d").date()
    assert info15.sex == info18.sex == ("男" if int(n15[14]) % 2 else "女")


@given(st.one_of(valid_ids(), legacy_ids()), st.data())
def test_disguised_variants_parse_the_same(number, data):
    variant = data.draw(disguised(st.just(number)))
    assert normalize(variant) == number
    assert parse(variant) == parse(number)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_refused(value):
    with pytest.raises(IdNumberError) as exc:
        parse(value)
    assert exc.value.message == EXCEL_MESSAGE


@given(st.floats(min_value=1e14, max_value=1e18))
def test_floats_as_text_are_refused(value):
    with pytest.raises(IdNumberError) as exc:
        parse(str(value))
    assert exc.value.message == EXCEL_MESSAGE


# --------------------------------------------------------------------------- polars twin


def _scalar_row(raw: str) -> dict:
    try:
        info = parse(raw, today=TODAY)
    except IdNumberError as exc:
        return {
            "id_number": normalize(raw) or None,
            "id_valid": False,
            "id_error": exc.message,
            "birth_date": None,
            "sex": None,
        }
    return {
        "id_number": info.number,
        "id_valid": True,
        "id_error": None,
        "birth_date": info.birth_date,
        "sex": info.sex,
    }


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.one_of(any_input, st.none()), min_size=1, max_size=40))
def test_check_ids_agrees_with_parse(raws):
    expected = [_scalar_row(raw) for raw in raws]
    assert check_ids(pl.Series("raw", raws, dtype=pl.String), today=TODAY).to_dicts() == expected


def test_check_ids_schema_and_order():
    frame = check_ids(["11010519491231002X", None, "bad"], today=TODAY)
    assert frame.columns == ["id_number", "id_valid", "id_error", "birth_date", "sex"]
    assert frame.schema["birth_date"] == pl.Date
    assert frame["id_valid"].to_list() == [True, False, False]


def test_check_ids_numeric_columns():
    floats = check_ids(pl.Series([1.40724199001011e17, 110105491231002.0, None]))
    assert floats["id_error"].to_list() == [EXCEL_MESSAGE, EXCEL_MESSAGE, "证件号码为空"]
    ints = check_ids(pl.Series([110105491231002, 110105194912310038]))
    assert ints["id_number"].to_list() == ["11010519491231002X", "110105194912310038"]
    assert ints["id_valid"].all()


def test_add_id_columns_keeps_other_columns_and_laziness():
    frame = pl.DataFrame({"name": ["甲", "乙"], "sfz": ["110105491231002", "x"]})
    out = add_id_columns(frame, "sfz")
    assert out.columns == ["name", "sfz", "id_number", "id_valid", "id_error", "birth_date", "sex"]
    lazy = add_id_columns(frame.lazy(), "sfz")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().equals(out)


def test_polars_path_is_set_based():
    source = inspect.getsource(idcard)
    assert "map_elements" not in source
    assert "map_batches" not in source


# The bulk path reads a cell of digits only through an Int64 cast (which also takes a sign), the check
# character as a number and the check sum from a table: the cells where those shortcuts could go wrong.
SHORTCUT_EDGES = [
    "11010519491231002X",
    "11010519491231002x",
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and X
    "11010519491231002ｘ",
    " 110105194912310038\t",
    "110105194912310038",
    "110105194912310037",  # wrong check digit
    "110105194912310030",
    "+10105194912310038",  # a sign is a bad character, never a number
    "-10105194912310038",
    "+110105194912310038",
    "1101051949123100380",  # 19 digits
    "9999999999999999999999",  # beyond Int64
    "000000190001010010",
    "000000189912310013",  # before 1900
    "110105202612310011",  # after TODAY
    "110105194902300016",  # 30 February
    "1101X5194912310038",  # X inside
    "X10105194912310038",
    "11010519491231003X",  # X where a digit is due
    "110105491231002",  # legacy 15
    "11010549123100X",  # legacy with an X
    "110105491231002 ",
    "1.10105194912310E+17",
    "110105194912310038.0",
    "",
    "  ",
    "X",
    "0",
]


@pytest.mark.parametrize("raw", SHORTCUT_EDGES)
def test_check_ids_shortcuts_agree_with_parse(raw):
    assert check_ids(pl.Series("raw", [raw], dtype=pl.String), today=TODAY).to_dicts() == [_scalar_row(raw)]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.text(alphabet="0123456789Xx+-.E １２ｘ", min_size=14, max_size=20), min_size=1, max_size=40)
)
def test_check_ids_digit_strings_agree_with_parse(raws):
    assert check_ids(pl.Series("raw", raws, dtype=pl.String), today=TODAY).to_dicts() == [
        _scalar_row(raw) for raw in raws
    ]
