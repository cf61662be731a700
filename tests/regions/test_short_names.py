from __future__ import annotations

import re

import polars as pl
import pytest

from dixian.regions.services import short_name_expr, short_name_of


@pytest.mark.parametrize(
    ("name", "level", "short"),
    [
        ("梁家沟村村委会", "village", "梁家沟村"),
        ("松溪路社区居民委员会", "village", "松溪路社区"),
        ("陈村村委会", "village", "陈村"),
        ("白村村委会", "village", "白村"),
        ("南庄村委会", "village", "南庄村"),
        ("岔口村村民委员会", "village", "岔口村"),
        ("马庄村民委员会", "village", "马庄村"),
        ("东南村村委", "village", "东南村"),
        ("岚峪村村民委员", "village", "岚峪村"),
        ("岳南村村民委会", "village", "岳南村"),
        ("崇串村村委员会", "village", "崇串村"),
        ("郝开村民员委会", "village", "郝开村"),
        ("安居村委会", "village", "安居村"),
        ("迎泽社区居委会", "village", "迎泽社区"),
        ("西街居委会", "village", "西街社区"),
        ("穆村居委会", "village", "穆村社区"),
        ("曙光社区第一居民委员会", "village", "曙光社区第一居民委员会"),
        ("山西铝厂虚拟社区", "village", "山西铝厂虚拟社区"),
        ("原平农场虚拟生活区", "village", "原平农场虚拟生活区"),
        ("村委会", "village", "村委会"),
        ("乐平镇", "township", "乐平镇"),
        ("城区", "township", "城区"),
        ("乐平镇人民政府村委会", "township", "乐平镇人民政府村委会"),
        ("昔阳县", "county", "昔阳县"),
        (" 梁家沟村村委会 ", "village", "梁家沟村"),
    ],
)
def test_short_name_of(name, level, short):
    assert short_name_of(name, level) == short


def test_every_xiyang_name(shanxi_frame):
    xiyang = shanxi_frame.filter(pl.col("code").str.starts_with("140724"))
    assert xiyang.height == 262
    villages = 0
    for code, name, level, _parent in xiyang.rows():
        short = short_name_of(name, level)
        if level != "village":
            assert short == name, code
            continue
        villages += 1
        if name.endswith("村委会"):
            assert short.endswith("村") and name in (short + "村委会", short[:-1] + "村委会"), (
                code,
                name,
                short,
            )
        else:
            assert name.endswith("社区居民委员会"), (code, name)
            assert short == name.removesuffix("居民委员会"), (code, name, short)
    assert villages == 250
    assert short_name_of("梁家沟村村委会", "village") == "梁家沟村"
    assert short_name_of("黄岩底社区居民委员会", "village") == "黄岩底社区"


def test_vectorised_equals_scalar_over_the_whole_file(shanxi_frame):
    vectorised = shanxi_frame.select(short_name_expr(pl.col("name"), pl.col("level")))["name"].to_list()
    scalar = [short_name_of(n, lv) for n, lv in shanxi_frame.select("name", "level").rows()]
    assert vectorised == scalar
    villages = shanxi_frame.with_columns(pl.Series("short", scalar)).filter(pl.col("level") == "village")
    # Every committee name got shorter; what stays is a name without a committee suffix.
    unchanged = villages.filter(pl.col("short") == pl.col("name"))["name"].to_list()
    assert unchanged
    assert not [n for n in unchanged if re.search(r"(委员会|委会|村委|委员)$", n) and "社区第" not in n]
