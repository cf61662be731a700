from __future__ import annotations

import datetime as dt

import pytest

from dixian.core.errors import NotFound
from dixian.regions import selectors
from dixian.regions.models import Region
from dixian.regions.selectors import city_of, code_level, county_of, province_of, township_of


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("140000000000", "province"),
        ("140700000000", "city"),
        ("140724000000", "county"),
        ("140724100000", "township"),
        ("140724400000", "township"),
        ("140724100204", "village"),
        ("140724400001", "village"),
        ("000000000000", ""),
        ("1407241002", ""),
        ("14072410020a", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_code_level(code, level):
    assert code_level(code) == level


def test_code_helpers():
    assert county_of("140724100204") == "140724000000"
    assert township_of("140724100204") == "140724100000"
    assert county_of("140724100000") == "140724000000"
    assert township_of("140724100000") == "140724100000"
    assert county_of("140724000000") == "140724000000"
    assert township_of("140724000000") == ""
    assert county_of("140700000000") == ""
    assert city_of("140724100204") == "140700000000"
    assert province_of("140724100204") == "140000000000"
    assert county_of("bogus") == ""


def test_is_valid_on():
    region = Region(code="140724100204", valid_from=dt.date(2023, 6, 30), valid_to=dt.date(2024, 6, 29))
    assert not region.is_valid_on(dt.date(2023, 6, 29))
    assert region.is_valid_on(dt.date(2023, 6, 30))
    assert region.is_valid_on(dt.date(2024, 6, 29))
    assert not region.is_valid_on(dt.date(2024, 6, 30))
    assert Region(code="1").is_valid_on(dt.date(1990, 1, 1))


@pytest.mark.django_db
def test_selectors(shanxi_db, django_assert_max_num_queries):
    assert selectors.region_by_code("140724100204").name == "梁家沟村村委会"
    with pytest.raises(NotFound):
        selectors.region_by_code("140724999999")
    assert [r.name for r in selectors.children("140724000000")][:2] == ["乐平镇", "皋落镇"]
    assert len(selectors.children("140724000000")) == 11
    assert selectors.villages_of("140724400000")[0].short_name == "松溪路社区"
    assert len(selectors.villages_of("140724400000")) == 18
    assert [r.short_name for r in selectors.ancestors("140724100204")] == [
        "山西省",
        "晋中市",
        "昔阳县",
        "乐平镇",
        "梁家沟村",
    ]
    assert selectors.name_path("140724100204") == "山西省 晋中市 昔阳县 乐平镇 梁家沟村"
    assert (
        selectors.name_path("140724100204", short=False, sep="") == "山西省晋中市昔阳县乐平镇梁家沟村村委会"
    )
    assert selectors.region_level("140724400001") == "village"
    with django_assert_max_num_queries(0):  # cached
        assert selectors.name_path("140724100204") == "山西省 晋中市 昔阳县 乐平镇 梁家沟村"
        assert selectors.region_level("140724100204") == "village"
    with pytest.raises(NotFound):
        selectors.name_path("140724999999")
    with pytest.raises(NotFound):
        selectors.ancestors("140724999999")
