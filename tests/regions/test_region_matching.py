from __future__ import annotations

import random

import polars as pl
import pytest

from dixian.core.errors import RegionMatchError
from dixian.regions.matching import RegionMatcher, normalize_name

XIYANG = "140724000000"
LIANGJIAGOU = "140724100204"
SONGXILU = "140724400001"


@pytest.fixture(scope="module")
def matcher(xiyang_rows) -> RegionMatcher:
    return RegionMatcher(xiyang_rows)


def resolve(matcher, county="昔阳县", township=None, village=None, code=None):
    return matcher.resolve_village(county=county, township=township, village=village, code=code)


def error(matcher, **kwargs) -> RegionMatchError:
    with pytest.raises(RegionMatchError) as info:
        resolve(matcher, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("county", "township", "village", "expected"),
    [
        ("昔阳县", "乐平镇", "梁家沟村", LIANGJIAGOU),
        ("昔阳县", "乐平镇", "梁家沟村村委会", LIANGJIAGOU),
        ("昔阳县", "乐平镇", "梁家沟村村民委员会", LIANGJIAGOU),
        ("昔阳县", "乐平镇", "梁家沟", LIANGJIAGOU),
        ("昔阳", "乐平", "梁家沟", LIANGJIAGOU),
        ("山西省晋中市昔阳县", "昔阳县乐平镇", "梁家沟村", LIANGJIAGOU),
        ("", "乐平镇", "梁家沟村", LIANGJIAGOU),
        (None, None, "梁家沟村", LIANGJIAGOU),  # township empty: unique in the county
        ("昔阳县", "城区", "松溪路社区", SONGXILU),
        ("昔阳县", "城区", "松溪路", SONGXILU),
        ("昔阳县", "城区", "松溪路社区居民委员会", SONGXILU),
        ("昔阳县", "城区", "松溪路社区居委会", SONGXILU),
        ("昔阳县", "大寨镇", "黄岩底社区", "140724104001"),
        ("昔阳县", "大寨镇", "黄岩底", "140724104001"),
        ("昔阳县", "赵壁乡", "陈村", "140724203245"),
        # full-width characters and spaces
        ("　昔阳县 ", " 乐 平 镇", "梁家沟村\u3000", LIANGJIAGOU),
        ("昔阳县", "乐平镇", "\ufeff梁家沟村 ", LIANGJIAGOU),
    ],
)
def test_names(matcher, county, township, village, expected):
    code = resolve(matcher, county=county, township=township, village=village)
    if expected is None:
        assert matcher.name_of(code).startswith(village)
    else:
        assert code == expected


def test_full_width_code(matcher):
    assert resolve(matcher, county=None, code="１４０７２４１００２０４") == LIANGJIAGOU
    assert resolve(matcher, county=None, code=" 140724100204 ") == LIANGJIAGOU
    assert resolve(matcher, county=None, code="140724100204.0") == LIANGJIAGOU


def test_code_wins_over_contradicting_names(matcher):
    assert (
        resolve(matcher, county="和顺县", township="皋落镇", village="不存在村", code=LIANGJIAGOU)
        == LIANGJIAGOU
    )


def test_code_errors(matcher):
    outside = error(matcher, township="乐平镇", village="梁家沟村", code="140723100204")
    assert outside.message == "区划代码“140723100204”不属于昔阳县"
    assert outside.details["column"] == "code"
    assert error(matcher, code="140724100999").message == "区划代码“140724100999”不存在"
    assert "不是行政村(社区)代码" in error(matcher, code="140724100000").message
    assert "乐平镇" in error(matcher, code="140724100000").message
    assert error(matcher, code="1407241002").message == "区划代码“1407241002”应为12位数字"


def test_county_errors(matcher):
    exc = error(matcher, county="和顺县", township="乐平镇", village="梁家沟村")
    assert exc.message == "县(市、区)“和顺县”不是昔阳县"
    assert exc.details == {"column": "county", "value": "和顺县"}


def test_township_not_found(matcher):
    exc = error(matcher, township="外星镇", village="梁家沟村")
    assert exc.message == "乡(镇)“外星镇”在昔阳县找不到"
    assert exc.details["column"] == "township"


def test_unknown_village(matcher):
    exc = error(matcher, township="乐平镇", village="梁家峪村")
    assert exc.message == "行政村“梁家峪村”在乐平镇找不到，相近的有：梁家沟村"
    assert exc.details["column"] == "village" and exc.details["value"] == "梁家峪村"
    nothing_close = error(matcher, township="乐平镇", village="火星村")
    assert nothing_close.message == "行政村“火星村”在乐平镇找不到"


def test_village_in_another_township(matcher):
    exc = error(matcher, township="皋落镇", village="梁家沟村")
    assert "在皋落镇找不到" in exc.message and "乐平镇有“梁家沟村”（140724100204）" in exc.message


def test_empty_village(matcher):
    assert error(matcher, township="乐平镇", village="  ").message == "行政村未填写"


@pytest.fixture()
def synthetic() -> RegionMatcher:
    rows = [
        ("149900000000", "测试市", "city", "140000000000"),
        ("149901000000", "测试县", "county", "149900000000"),
        ("149901100000", "东镇", "township", "149901000000"),
        ("149901101000", "东乡", "township", "149901000000"),
        ("149901100201", "东庄村村委会", "village", "149901100000"),
        ("149901100202", "东庄村委会", "village", "149901100000"),
        ("149901100203", "西庄村委会", "village", "149901100000"),
        ("149901100204", "西庄社区居民委员会", "village", "149901100000"),
        ("149901100205", "北庄村委会", "village", "149901100000", "2024-06-29"),  # retired
    ]
    return RegionMatcher(rows)


def test_ambiguous_short_name(synthetic):
    exc = error(synthetic, county="测试县", township="东镇", village="东庄村")
    assert exc.message == (
        "行政村“东庄村”在东镇有多个匹配：东庄村村委会（149901100201）、东庄村委会（149901100202）"
    )
    assert exc.details["candidates"] == ["149901100201", "149901100202"]
    # The exact official name is not ambiguous.
    assert resolve(synthetic, county="测试县", township="东镇", village="东庄村委会") == "149901100202"


def test_ambiguous_bare_name(synthetic):
    assert resolve(synthetic, county="测试县", township="东镇", village="西庄村") == "149901100203"
    assert resolve(synthetic, county="测试县", township="东镇", village="西庄社区") == "149901100204"
    exc = error(synthetic, county="测试", township="东镇", village="西庄")
    assert exc.message.startswith("行政村“西庄”在东镇有多个匹配：")


def test_ambiguous_township(synthetic):
    exc = error(synthetic, county="测试县", township="东", village="东庄村")
    assert exc.message == "乡(镇)“东”在测试县找不到"  # one character is not a name
    assert resolve(synthetic, county="测试县", township="东镇", village="东庄村村委会") == "149901100201"


def test_retired_code_and_name(synthetic):
    assert "已于2024-06-29停用" in error(synthetic, county="测试县", code="149901100205").message
    assert "找不到" in error(synthetic, county="测试县", township="东镇", village="北庄村").message


@pytest.mark.django_db
def test_for_county_matches_rows(shanxi_db, xiyang_rows):
    from_db = RegionMatcher.for_county(XIYANG)
    from_rows = RegionMatcher(xiyang_rows)
    assert from_db.county_codes == from_rows.county_codes == frozenset({XIYANG})
    for county, township, village in [("昔阳", "乐平", "梁家沟"), ("昔阳县", "城区", "松溪路")]:
        assert resolve(from_db, county=county, township=township, village=village) == resolve(
            from_rows, county=county, township=township, village=village
        )


@pytest.mark.django_db
def test_province_matcher(shanxi_db):
    matcher = RegionMatcher.for_province("140000000000")
    assert resolve(matcher, county="昔阳", township="城区", village="松溪路") == SONGXILU
    assert resolve(matcher, county="晋中市昔阳县", township="乐平镇", village="梁家沟") == LIANGJIAGOU
    exc = error(matcher, county="城区", township="", village="松溪路")
    assert exc.message.startswith("县(市、区)“城区”有多个匹配：阳泉市城区（140302000000）")
    assert error(matcher, county=None, village="梁家沟村").message == "县(市、区)未填写"
    assert "在山西省找不到" in error(matcher, county="火星县", village="梁家沟村").message
    assert error(matcher, county=None, code="410724100204").message == "区划代码“410724100204”不属于山西省"
    several = RegionMatcher.for_codes([XIYANG, "140723000000"])
    assert resolve(several, county="昔阳县", township="乐平镇", village="梁家沟村") == LIANGJIAGOU
    assert resolve(several, county="和顺县", township="", village="", code=LIANGJIAGOU) == LIANGJIAGOU
    with pytest.raises(RegionMatchError):
        RegionMatcher.for_county("140724100000")
    assert RegionMatcher.for_county("140724").county_codes == frozenset({XIYANG})


def _noisy(value: str, rng: random.Random) -> str:
    choice = rng.randrange(4)
    if choice == 0:
        return value
    if choice == 1:
        return f" {value}\u3000"
    if choice == 2:
        return " ".join(value)
    return value.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})


def _frame(matcher_rows, rows: int, seed: int = 7):
    rng = random.Random(seed)
    villages = [r for r in matcher_rows if r[2] == "village"]
    names = {r[0]: r[1] for r in matcher_rows}
    county, township, village, code, expected = [], [], [], [], []
    for i in range(rows):
        v = villages[rng.randrange(len(villages))]
        kind = i % 10
        township_name = names[v[3]]
        short = normalize_name(v[1]).replace("村委会", "").replace("居民委员会", "")
        if kind == 9:  # an unknown village
            (
                county.append("昔阳县"),
                township.append(township_name),
                village.append("无此村"),
                code.append(None),
            )
            expected.append(None)
            continue
        if kind == 8:  # by code only, sometimes full-width
            county.append(None), township.append(None), village.append(None)
            code.append(_noisy(v[0], rng))
        else:
            county.append(rng.choice(["昔阳县", "昔阳", " 昔阳县"]))
            township.append(_noisy(township_name, rng))
            village.append(_noisy(rng.choice([v[1], short]), rng))
            code.append(None)
        expected.append(v[0])
    frame = pl.DataFrame({"county": county, "township": township, "village": village, "code": code})
    return frame, expected


def test_resolve_many(matcher, xiyang_rows):
    frame, expected = _frame(xiyang_rows, 100_000)
    codes, errors = matcher.resolve_many(frame)
    assert codes.len() == 100_000
    assert codes.to_list() == expected
    assert [e[0] for e in errors] == [i for i, code in enumerate(expected) if code is None]
    row, column, value, message = errors[0]
    assert (row, column, value) == (9, "village", "无此村")
    assert message.startswith("行政村“无此村”在") and message.endswith("找不到")


def test_resolve_many_columns_and_types(matcher):
    frame = pl.DataFrame({"code": [140724100204, 140724400001, None], "village": [None, None, "梁家沟"]})
    codes, errors = matcher.resolve_many(frame)
    assert codes.to_list() == [LIANGJIAGOU, SONGXILU, LIANGJIAGOU]
    assert errors == []
    floats = pl.DataFrame(
        {"code": [140724100204.0, None], "county": ["昔阳县", "和顺县"], "village": ["x", "梁家沟村"]}
    )
    codes, errors = matcher.resolve_many(floats)
    assert codes.to_list() == [LIANGJIAGOU, None]
    assert errors == [(1, "county", "和顺县", "县(市、区)“和顺县”不是昔阳县")]


@pytest.mark.slow
def test_resolve_many_million_rows(matcher, xiyang_rows):
    frame, expected = _frame(xiyang_rows, 100_000, seed=11)
    frame = pl.concat([frame] * 10)
    codes, errors = matcher.resolve_many(frame)
    assert codes.len() == 1_000_000 and len(errors) == 100_000
    assert codes.head(100_000).to_list() == expected
