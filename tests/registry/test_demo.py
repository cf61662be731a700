"""The synthetic ledger generator: format, internal consistency, size, determinism, writing."""

from __future__ import annotations

import datetime as dt

import openpyxl
import polars as pl
import pytest

from dixian.registry.demo import (
    COLUMNS,
    DEFAULT_REGIONS_CSV,
    HOUSEHOLD_COLUMNS,
    MEASURE_COLUMNS,
    RISK_COLUMNS,
    XLSX_MAX_ROWS,
    generate_ledger,
    write_ledger,
)

pytestmark = pytest.mark.skipif(not DEFAULT_REGIONS_CSV.exists(), reason="shipped region file missing")

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
FULL_LABOUR = ["普通劳动力", "技能劳动力"]
MALE_RELATIONS = {"之子", "之女婿", "之孙子", "之外孙子", "之父"}
FEMALE_RELATIONS = {"之女", "之儿媳", "之孙女", "之外孙女", "之母"}


def month_index(col: str) -> pl.Expr:
    m = pl.col(col).cast(pl.Int64)
    return (m // 100) * 12 + m % 100 - 1


@pytest.fixture(scope="module")
def small() -> pl.DataFrame:
    return generate_ledger(persons=3000)


@pytest.fixture(scope="module")
def households(small) -> pl.DataFrame:
    return small.unique("户编号", keep="first", maintain_order=True)


def test_columns_are_the_format_and_all_text(small):
    assert small.columns == COLUMNS
    assert all(dtype == pl.Utf8 for dtype in small.dtypes)
    empty = small.select(pl.any_horizontal(pl.all() == "").sum()).item()
    assert empty == 0, "empty cells must be null, not empty strings"
    assert small["序号"].to_list() == [str(i) for i in range(1, small.height + 1)]


def test_ids_valid_unique_and_consistent_with_sex(small):
    ids = small["证件号码"].to_list()
    assert len(set(ids)) == len(ids)
    assert small["人编号"].n_unique() == small.height
    for id_number, sex in zip(ids, small["性别"].to_list(), strict=True):
        assert len(id_number) == 18 and id_number[:17].isdigit(), id_number
        total = sum(int(c) * w for c, w in zip(id_number[:17], WEIGHTS, strict=True))
        assert id_number[17] == CHECK[total % 11], id_number
        birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        assert dt.date(1920, 1, 1) < birth <= dt.date(2026, 10, 31)
        assert sex == ("男" if int(id_number[16]) % 2 else "女")
    assert (small["证件号码"].str.slice(0, 6) == small["区划代码"].str.slice(0, 6)).all()


def test_household_and_person_numbers(small):
    assert (small["区划代码"].str.len_chars() == 12).all()
    assert small["户编号"].str.starts_with("140724").all()
    assert (small["户编号"].str.slice(0, 12) == small["区划代码"]).all()
    assert small["人编号"].str.starts_with(small["户编号"]).all()
    assert small["户联系电话"].str.contains(r"^1[358][0-9]{9}$").all()


def test_exactly_one_head_and_size_equals_rows(small):
    per_household = small.group_by("户编号").agg(
        (pl.col("与户主关系") == "户主").sum().alias("heads"),
        pl.len().alias("rows"),
        pl.col("人数").first().cast(pl.Int64).alias("size"),
    )
    assert (per_household["heads"] == 1).all()
    assert (per_household["rows"] == per_household["size"]).all()


def test_household_columns_identical_within_household(small):
    columns = [c for c in HOUSEHOLD_COLUMNS if c != "户编号"]
    varying = small.group_by("户编号").agg(pl.col(columns).n_unique())
    bad = varying.filter(pl.any_horizontal(pl.col(columns) > 1))
    assert bad.height == 0, bad.head()


def test_relations_sex_and_age_fit_the_head(small):
    born = small["证件号码"].str.slice(6, 4).cast(pl.Int64)
    df = small.with_columns(born.alias("born"))
    heads = df.filter(pl.col("与户主关系") == "户主").select(
        "户编号", pl.col("性别").alias("head_sex"), pl.col("born").alias("head_born")
    )
    df = df.join(heads, on="户编号")
    assert (
        set(df["与户主关系"].unique())
        <= {"户主", "配偶", "其他", "之兄弟姐妹"} | MALE_RELATIONS | FEMALE_RELATIONS
    )
    assert (df.filter(pl.col("与户主关系").is_in(list(MALE_RELATIONS)))["性别"] == "男").all()
    assert (df.filter(pl.col("与户主关系").is_in(list(FEMALE_RELATIONS)))["性别"] == "女").all()
    spouses = df.filter(pl.col("与户主关系") == "配偶")
    assert (spouses["性别"] != spouses["head_sex"]).all()
    children = df.filter(
        pl.col("与户主关系").is_in(["之子", "之女", "之孙子", "之孙女", "之外孙子", "之外孙女"])
    )
    assert (children["born"] > children["head_born"]).all()
    parents = df.filter(pl.col("与户主关系").is_in(["之父", "之母"]))
    assert (parents["born"] < parents["head_born"]).all()
    young = df.filter(pl.col("born") >= 2012)  # under 15 at the ledger date
    assert (young["劳动技能"] == "无劳动力").all()
    assert young["务工时间（月）"].is_null().all() or (young["务工时间（月）"].drop_nulls() == "0").all()


def test_categories_fit_household_types(households):
    counts = dict(
        households.group_by("户类型", "监测对象类别")
        .len()
        .select(pl.concat_str("户类型", "监测对象类别", separator="/", ignore_nulls=True), "len")
        .iter_rows()
    )
    assert set(counts) == {
        "脱贫户",
        "脱贫户/脱贫不稳定户",
        "脱贫户/突发严重困难户",
        "一般农户/边缘易致贫户",
        "一般农户/突发严重困难户",
    }
    lifted = households.filter(pl.col("户类型") == "脱贫户")
    assert lifted["脱贫年度"].cast(pl.Int64).is_between(2014, 2020).all()
    assert households.filter(pl.col("户类型") == "一般农户")["脱贫年度"].is_null().all()


def test_monitoring_fields(households):
    monitored = households.filter(pl.col("监测对象类别").is_not_null())
    assert (
        monitored["识别途径"]
        .is_in(["农户自主申报", "干部日常排查", "集中排查", "部门筛查预警", "社会监督", "关联监测"])
        .all()
    )
    assert monitored["识别监测时间"].cast(pl.Int64).is_between(202107, 202610).all()
    assert monitored["致贫/返贫风险1"].is_not_null().all()
    n_risks = monitored.select(pl.sum_horizontal(pl.col(RISK_COLUMNS).is_not_null()))
    assert n_risks.to_series().is_between(1, 3).all()
    eliminated = monitored.filter(pl.col("风险是否已消除") == "是")
    assert eliminated["风险消除方式"].is_in(["帮扶消除", "自然消除"]).all()
    gap = eliminated.select(month_index("消除监测时间") - month_index("识别监测时间")).to_series()
    assert (gap >= 6).all()
    assert eliminated["消除监测时间"].cast(pl.Int64).le(202610).all()
    open_cases = monitored.filter(pl.col("风险是否已消除") == "否")
    assert open_cases["风险消除方式"].is_null().all() and open_cases["消除监测时间"].is_null().all()
    assert eliminated.height + open_cases.height == monitored.height
    others = households.filter(pl.col("监测对象类别").is_null())
    fields = ["识别途径", "识别监测时间", *RISK_COLUMNS, "风险是否已消除", "风险消除方式", "消除监测时间"]
    assert others.select(pl.all_horizontal(pl.col(fields).is_null()).all()).item()


def test_per_capita_income_formula(households):
    money = ["工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出", "人均纯收入（元）"]
    for col in money:
        assert households[col].str.contains(r"^[0-9]+\.[0-9]{2}$").all(), col
    h = households.with_columns(pl.col(money).cast(pl.Float64), pl.col("人数").cast(pl.Int64))
    net = (
        pl.col("工资性收入")
        + pl.col("生产经营性收入")
        + pl.col("财产性收入")
        + pl.col("转移性收入")
        - pl.col("生产经营性支出")
    )
    diff = h.select(((net / pl.col("人数")).round(2) - pl.col("人均纯收入（元）")).abs().max()).item()
    assert diff < 0.006
    lifted = h.filter(pl.col("监测对象类别").is_null())
    assert lifted["人均纯收入（元）"].median() > 8000
    open_cases = h.filter(pl.col("风险是否已消除") == "否", pl.col("监测对象类别") != "突发严重困难户")
    assert (open_cases["人均纯收入（元）"] < 7100).mean() > 0.6
    eliminated = h.filter(pl.col("风险是否已消除") == "是")
    assert (eliminated["人均纯收入（元）"] > 7100).all()


def test_risks_are_true_of_the_members(small):
    per_household = small.group_by("户编号").agg(
        pl.concat_list(RISK_COLUMNS).first().alias("risks"),
        pl.col("健康状况").is_in(["患有大病", "长期慢性病"]).any().alias("ill"),
        (pl.col("健康状况") == "残疾").any().alias("disabled"),
        pl.col("劳动技能").is_in(FULL_LABOUR).any().alias("worker"),
        pl.col("在校生状况").is_in(["非在校生", "学前教育"]).not_().any().alias("student"),
    )
    assert per_household.filter(pl.col("risks").list.contains("因病"))["ill"].all()
    assert per_household.filter(pl.col("risks").list.contains("因残"))["disabled"].all()
    assert per_household.filter(pl.col("risks").list.contains("因务工就业不稳"))["worker"].all()
    assert per_household.filter(pl.col("risks").list.contains("因学"))["student"].all()


def test_measures_fit_risks_and_flags(households):
    h = households.with_columns(
        pl.sum_horizontal(pl.col(MEASURE_COLUMNS).is_not_null()).alias("n_measures"),
        pl.concat_list(RISK_COLUMNS).alias("risks"),
    )
    assert h["n_measures"].max() <= 4
    assisted = h.filter(pl.col("风险消除方式") == "帮扶消除")
    assert (assisted["n_measures"] >= 1).all()
    monitored_open = h.filter(pl.col("风险是否已消除") == "否")
    assert (monitored_open["n_measures"] >= 1).all()
    ill = h.filter(pl.col("risks").list.contains("因病"))
    assert (ill["健康帮扶"].is_not_null() | ill["综合保障"].is_not_null()).all()
    assert (h.filter(pl.col("综合保障") == "纳入农村低保")["是否享受低保"] == "是").all()
    assert (h.filter(pl.col("综合保障") == "特困供养")["是否特困供养"] == "是").all()
    assert h.filter((pl.col("是否享受低保") == "是") & (pl.col("是否特困供养") == "是")).height == 0
    helped_by_work = h.filter(pl.col("公益岗位帮扶").is_not_null() | pl.col("就业帮扶").is_not_null())
    assert (helped_by_work["工资性收入"].cast(pl.Float64) > 0).all()


def test_place_names_as_people_write_them(small):
    assert set(small["县(市、区、旗)"].unique()) == {"昔阳县"}
    assert set(small["乡(镇)"].unique()) <= {
        "乐平镇",
        "皋落镇",
        "冶头镇",
        "沾尚镇",
        "大寨镇",
        "李家庄乡",
        "界都乡",
        "三都乡",
        "赵壁乡",
        "孔氏乡",
        "城区",
    }
    assert small["行政村"].str.contains("(村|社区)$").all()
    assert not small["行政村"].str.contains("委员会|村委会").any()


def test_sample_household_wan_yongqiang(small):
    wan = small.filter(pl.col("姓名") == "万永强")
    assert wan.height == 1
    assert wan["与户主关系"].item() == "户主" and wan["性别"].item() == "男"


def test_deterministic_for_a_seed():
    a = generate_ledger(persons=3000, seed=7)
    b = generate_ledger(persons=3000, seed=7)
    c = generate_ledger(persons=3000, seed=8)
    assert a.equals(b)
    assert not a.equals(c)


def test_persons_scales_the_ledger(small):
    assert 2700 <= small.height <= 3300
    lifted = small.filter(pl.col("户类型") == "脱贫户")
    ratio = lifted.height / lifted["户编号"].n_unique()
    assert 1.9 < ratio < 2.5


def test_default_county_has_the_size_of_xiyang():
    df = generate_ledger()
    hh = df.unique("户编号")
    lifted = hh.filter(pl.col("户类型") == "脱贫户").height
    lifted_persons = df.filter(pl.col("户类型") == "脱贫户").height
    monitored = hh.filter(pl.col("监测对象类别").is_not_null())
    assert abs(lifted - 16_800) <= 16_800 * 0.05
    assert abs(lifted_persons - 36_700) <= 36_700 * 0.05
    assert abs(monitored.height - 1_850) <= 1_850 * 0.05
    eliminated = (monitored["风险是否已消除"] == "是").mean()
    assert 0.55 <= eliminated <= 0.65
    assert (monitored["风险消除方式"] == "自然消除").sum() < (monitored["风险消除方式"] == "帮扶消除").sum()
    assert (hh["人数"].cast(pl.Int64) <= 2).mean() > 0.6
    assert (hh["乡(镇)"] == "城区").mean() < 0.02
    assert df.filter(pl.col("姓名") == "万永强").height == 1
    assert df["证件号码"].n_unique() == df.height


def test_province_wide_above_200000_persons():
    df = generate_ledger(persons=210_000, county_code="140724")
    assert 200_000 <= df.height <= 220_000
    assert df["县(市、区、旗)"].n_unique() > 80
    assert (df["证件号码"].str.slice(0, 6) == df["区划代码"].str.slice(0, 6)).all()
    assert df["证件号码"].n_unique() == df.height
    assert df["户编号"].n_unique() == df.filter(pl.col("与户主关系") == "户主").height
    wan = df.filter(pl.col("姓名") == "万永强")
    assert wan.height == 1 and wan["区划代码"].item().startswith("140724")


def test_write_xlsx_reads_back_with_title_and_text_ids(small, tmp_path):
    part = small.head(400)
    path = write_ledger(part, tmp_path / "ledger.xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    assert sheet.cell(1, 1).value == "昔阳县防返贫监测对象及脱贫户台账"
    header = [c.value for c in sheet[2]]
    assert header == COLUMNS
    assert sheet.cell(2, 1).font.bold
    columns = {name: i + 1 for i, name in enumerate(header)}
    for name in ("证件号码", "户编号", "人编号", "户联系电话", "区划代码"):
        cells = [sheet.cell(r, columns[name]) for r in range(3, 3 + part.height)]
        assert all(cell.data_type == "s" for cell in cells), name
        assert [cell.value for cell in cells] == part[name].to_list(), name
    back = pl.read_excel(path, read_options={"header_row": 1}, infer_schema_length=0)
    assert back.height == part.height
    assert back["证件号码"].to_list() == part["证件号码"].to_list()
    assert back["姓名"].to_list() == part["姓名"].to_list()


def test_write_csv_with_bom_reads_back(small, tmp_path):
    path = write_ledger(small, tmp_path / "ledger.csv")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    back = pl.read_csv(path, infer_schema=False, encoding="utf8")
    assert back.columns == COLUMNS
    assert back.equals(small)


def test_xlsx_refuses_too_many_rows(tmp_path):
    big = pl.DataFrame({"序号": pl.repeat("1", XLSX_MAX_ROWS + 1, eager=True)})
    with pytest.raises(ValueError, match=r"\.csv"):
        write_ledger(big, tmp_path / "big.xlsx")
    assert not (tmp_path / "big.xlsx").exists()
