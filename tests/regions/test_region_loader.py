from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from dixian.core.errors import ValidationError
from dixian.regions import selectors
from dixian.regions.models import Region
from dixian.regions.services import DEFAULT_PATH, load_regions, read_region_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_regions():
    """The session loads the regions for every test; these tests start from an empty table."""
    Region.objects.all().delete()
    selectors.clear_cache()


XIYANG = "140724000000"


def test_load_shipped_file():
    counts = load_regions()
    assert counts == {"created": 23380, "updated": 0, "retired": 0, "unchanged": 0, "total": 23380}
    assert Region.objects.count() == 23380
    assert Region.objects.filter(level="township", county_code=XIYANG).count() == 11
    assert selectors.townships_of(XIYANG).count() == 11
    assert selectors.townships_of(XIYANG).last().name == "城区"

    village = Region.objects.get(code="140724100204")
    assert (village.name, village.short_name, village.level) == ("梁家沟村村委会", "梁家沟村", "village")
    assert (village.parent_code, village.county_code, village.township_code) == (
        "140724100000",
        XIYANG,
        "140724100000",
    )
    assert village.label == "梁家沟村"
    assert village.source == "NBS-2023" and village.valid_from is None and village.valid_to is None
    community = Region.objects.get(code="140724400001")
    assert community.short_name == "松溪路社区"
    county = Region.objects.get(code=XIYANG)
    assert (county.county_code, county.township_code, county.short_name) == (XIYANG, "", "昔阳县")
    city = Region.objects.get(code="140700000000")
    assert (city.county_code, city.township_code, city.parent_code) == ("", "", "140000000000")
    assert Region.objects.get(code="140000000000").parent_code == ""


def test_loading_twice_changes_nothing():
    load_regions()
    before = list(Region.objects.values_list().order_by("code"))
    counts = load_regions(source="NBS-2023-again", valid_from=dt.date(2024, 1, 1))
    assert counts == {"created": 0, "updated": 0, "retired": 0, "unchanged": 23380, "total": 23380}
    assert list(Region.objects.values_list().order_by("code")) == before


def _yearly_file(tmp_path: Path) -> Path:
    """A 'next year' file for 昔阳县: one village renamed, one gone, one new."""
    frame = pl.read_csv(DEFAULT_PATH, infer_schema=False).filter(
        pl.col("code").str.starts_with("140724") | pl.col("code").is_in(["140000000000", "140700000000"])
    )
    frame = frame.filter(pl.col("code") != "140724100205")  # 李夫峪村 merged away
    frame = frame.with_columns(
        pl.when(pl.col("code") == "140724100206")
        .then(pl.lit("杏丹峪新村村委会"))
        .otherwise(pl.col("name"))
        .alias("name")
    )
    new = pl.DataFrame(
        {
            "code": ["140724100299"],
            "name": ["新合村村委会"],
            "level": ["village"],
            "parent_code": ["140724100000"],
        }
    )
    path = tmp_path / "regions-2024.csv"
    pl.concat([frame, new]).write_csv(path)
    return path


def test_retire_missing(tmp_path):
    load_regions()
    counts = load_regions(
        path=_yearly_file(tmp_path), valid_from=dt.date(2024, 6, 30), source="NBS-2024", retire_missing=True
    )
    # Every other county of 山西 is missing from this file, so it is retired too.
    assert counts["created"] == 1
    assert counts["updated"] == 1
    # All of 山西 except what the file lists again (昔阳县 without 李夫峪村, 晋中市, 山西省).
    assert counts["retired"] == 23380 - (262 - 1 + 2)
    gone = Region.objects.get(code="140724100205")
    assert gone.valid_to == dt.date(2024, 6, 29)
    assert gone.is_valid_on(dt.date(2024, 6, 29)) and not gone.is_valid_on(dt.date(2024, 6, 30))
    renamed = Region.objects.get(code="140724100206")
    assert (renamed.name, renamed.short_name, renamed.source, renamed.valid_to) == (
        "杏丹峪新村村委会",
        "杏丹峪新村",
        "NBS-2024",
        None,
    )
    created = Region.objects.get(code="140724100299")
    assert (created.valid_from, created.source, created.township_code) == (
        dt.date(2024, 6, 30),
        "NBS-2024",
        "140724100000",
    )
    untouched = Region.objects.get(code="140724100204")
    assert (untouched.source, untouched.valid_to) == ("NBS-2023", None)
    assert [r.code for r in selectors.villages_of("140724100000")].count("140724100205") == 0
    assert "140724100205" in [r.code for r in selectors.villages_of("140724100000", include_retired=True)]

    # Loading the 2023 file again brings the retired codes back.
    again = load_regions(valid_from=dt.date(2025, 1, 1), retire_missing=True)
    assert again["retired"] == 1  # 新合村 is not in the 2023 file
    assert Region.objects.get(code="140724100205").valid_to is None
    assert Region.objects.get(code="140724100205").valid_from == dt.date(2025, 1, 1)
    assert Region.objects.get(code="140724100206").name == "杏丹峪村村委会"


def test_retire_missing_leaves_other_provinces_alone(tmp_path):
    Region.objects.create(code="410000000000", name="河南省", short_name="河南省", level="province")
    load_regions(path=_yearly_file(tmp_path), retire_missing=True)
    assert Region.objects.get(code="410000000000").valid_to is None


def test_bad_file_writes_nothing(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,name,level,parent_code\n"
        "140000000000,山西省,province,\n"
        "14072410020,短代码村委会,village,140724100000\n"
        "140724100204,梁家沟村村委会,township,140724100000\n"
        "140724100204,重复村委会,village,140724100000\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as info:
        load_regions(path=path)
    message = info.value.message
    assert "区划代码应为12位数字" in message and "第3行" in message
    assert "级别与区划代码的位数不符" in message
    assert "区划代码重复" in message
    assert Region.objects.count() == 0


def test_nbs_text_layout(tmp_path):
    path = tmp_path / "nbs.txt"
    text = (
        "140000000000\t山西省\n"
        "140700000000\t晋中市\n"
        "140724000000 昔阳县\n"
        "140724100000,乐平镇\n"
        "140724100204\t122\t梁家沟村村委会\n"
        "140724400001  111  松溪路社区居民委员会\n"
    )
    path.write_bytes(text.encode("gb18030"))
    frame = read_region_file(path)
    assert frame.rows() == [
        ("140000000000", "山西省", "province", ""),
        ("140700000000", "晋中市", "city", "140000000000"),
        ("140724000000", "昔阳县", "county", "140700000000"),
        ("140724100000", "乐平镇", "township", "140724000000"),
        ("140724100204", "梁家沟村村委会", "village", "140724100000"),
        ("140724400001", "松溪路社区居民委员会", "village", "140724400000"),
    ]
    assert load_regions(path=path)["created"] == 6
    assert Region.objects.get(code="140724400001").short_name == "松溪路社区"
