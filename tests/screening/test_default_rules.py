"""Each default rule on hand-made department files: who is alerted and who is not, and why."""

from __future__ import annotations

import random
from datetime import date

import pytest
from gen import Ids, make_household, write_feed

from dixian.core.audit import Actor
from dixian.screening.models import Alert
from dixian.screening.rules import ensure_default_rules
from dixian.screening.runs import run_screening
from dixian.screening.services import load_feed

from testdata import LIANGJIAGOU, LIFUYU

pytestmark = pytest.mark.django_db
CLI = Actor.cli()
AS_OF = date(2026, 6, 30)


@pytest.fixture
def ids():
    ensure_default_rules()
    return Ids(random.Random(11))


def alerted(rule: str, run) -> set[str]:
    out = set()
    for a in Alert.objects.filter(run=run, rule_code=rule).select_related("household"):
        out.add(a.household.household_no if a.household_id else a.id_numbers[0])
    return out


def load(tmp_path, feed_type: str, name: str, header: list[str], rows: list[list]):
    return load_feed(actor=CLI, feed_type=feed_type, path=write_feed(tmp_path / name, header, rows))


def test_disability_severe_only_new_certificates_of_grade_one_or_two(tmp_path, ids):
    h1, p1 = make_household("D1", [("甲", date(1970, 1, 1), True)], ids=ids)
    h2, p2 = make_household("D2", [("乙", date(1970, 1, 1), True)], ids=ids)
    h3, p3 = make_household("D3", [("丙", date(1970, 1, 1), True)], ids=ids)
    h4, p4 = make_household("D4", [("丁", date(1970, 1, 1), True)], ids=ids)
    stranger = ids.new(date(1960, 5, 5))
    head = ["证件号码", "姓名", "残疾类别", "残疾等级", "发证日期"]
    first = [
        [p1["甲"], "甲", "肢体", "一级", "2026-03-01"],  # in the first file: not new later
        [p2["乙"], "乙", "视力", "三级", "2026-03-01"],  # grade 3
        [p3["丙"], "丙", "肢体", "二级", "2024-01-01"],  # outside the 12 months
        [stranger, "某", "肢体", "一级", "2026-03-01"],  # not registered
    ]
    load(tmp_path, "disability", "d1.csv", head, first)
    second = [*first, [p4["丁"], "丁", "精神", "二级", "2026-05-20"]]
    load(tmp_path, "disability", "d2.csv", head, second)
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["disability_severe"])
    assert alerted("disability_severe", run) == {"D4"}
    a = Alert.objects.get(run=run)
    assert (
        a.risk == "disability" and a.id_numbers == [p4["丁"]] and a.evidence_rows()[0]["残疾等级"] == "二级"
    )
    assert a.subject_key == f"person:{p4['丁']}"


def test_disability_first_file_counts_every_certificate_in_the_window(tmp_path, ids):
    h1, p1 = make_household("D1", [("甲", date(1970, 1, 1), True)], ids=ids)
    load(
        tmp_path,
        "disability",
        "d1.csv",
        ["证件号码", "残疾类别", "残疾等级", "发证日期"],
        [[p1["甲"], "肢体", "一级", "2026-03-01"]],
    )
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["disability_severe"])
    assert alerted("disability_severe", run) == {"D1"}


def test_assistance_new_by_household(tmp_path, ids):
    h1, p1 = make_household(
        "A1", [("甲", date(1970, 1, 1), True), ("甲妻", date(1972, 1, 1), False)], ids=ids
    )
    h2, p2 = make_household("A2", [("乙", date(1970, 1, 1), True)], ids=ids)
    h3, p3 = make_household("A3", [("丙", date(1970, 1, 1), True)], ids=ids)
    rows = [
        [p1["甲"], "甲", "低保", "2026-04-01"],
        [p1["甲妻"], "甲妻", "低保", "2026-04-01"],
        [p2["乙"], "乙", "低保边缘", "2026-04-01"],  # not a grant the rule looks for
        [p3["丙"], "丙", "临时救助", "2024-04-01"],  # outside the window
    ]
    load(tmp_path, "assistance", "a.csv", ["证件号码", "姓名", "救助类型", "开始日期"], rows)
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["assistance_new"])
    assert alerted("assistance_new", run) == {"A1"}
    a = Alert.objects.get(run=run)
    assert sorted(a.id_numbers) == sorted([p1["甲"], p1["甲妻"]]) and a.value == 2 and a.risk == ""


def test_dropout_of_compulsory_school_age_with_latest_status(tmp_path, ids):
    h1, p1 = make_household("S1", [("父", date(1980, 1, 1), True), ("子", date(2015, 9, 1), False)], ids=ids)
    h2, p2 = make_household(
        "S2", [("父2", date(1980, 1, 1), True), ("子2", date(2014, 1, 1), False)], ids=ids
    )
    h3, p3 = make_household(
        "S3", [("父3", date(1980, 1, 1), True), ("子3", date(2009, 1, 1), False)], ids=ids
    )
    rows = [
        [p1["子"], "小学", "辍学", "2026-03-01"],  # aged 10: alert
        [p2["子2"], "初中", "辍学", "2026-02-01"],  # dropped out, then back in school
        [p2["子2"], "初中", "在读", "2026-04-01"],
        [p3["子3"], "高中", "辍学", "2026-03-01"],  # aged 17: not compulsory schooling
    ]
    load(tmp_path, "education", "e.csv", ["证件号码", "学段", "状态", "日期"], rows)
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["dropout"])
    assert alerted("dropout", run) == {"S1"}
    assert Alert.objects.get(run=run).risk == "schooling"


def test_housing_latest_rating_c_or_d(tmp_path, ids):
    h1, p1 = make_household("H1", [("甲", date(1960, 1, 1), True)], ids=ids)
    h2, p2 = make_household("H2", [("乙", date(1960, 1, 1), True)], ids=ids)
    rows = [
        [p1["甲"], "C", "2025-10-01"],
        [p2["乙"], "D", "2024-10-01"],  # rated D, repaired and rated B since
        [p2["乙"], "B", "2026-01-01"],
    ]
    load(tmp_path, "housing", "h.csv", ["户主证件号码", "鉴定等级", "鉴定日期"], rows)
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["housing_unsafe"])
    assert alerted("housing_unsafe", run) == {"H1"}


def test_water_cut_over_30_days_reaches_every_household_of_the_village(tmp_path, ids):
    make_household("W1", [("甲", date(1960, 1, 1), True)], ids=ids, village=LIANGJIAGOU)
    make_household("W2", [("乙", date(1960, 1, 1), True)], ids=ids, village=LIANGJIAGOU)
    make_household("W3", [("丙", date(1960, 1, 1), True)], ids=ids, village=LIFUYU)
    rows = [
        [LIANGJIAGOU, "2026-05-20", "", "管道损坏"],  # 41 days and still cut
        [LIFUYU, "2026-06-10", "2026-06-25", "检修"],  # 15 days
    ]
    load(tmp_path, "water", "w.csv", ["区划代码", "断水开始日期", "断水结束日期", "原因"], rows)
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["water_cut"])
    assert alerted("water_cut", run) == {"W1", "W2"}
    a = Alert.objects.filter(run=run).first()
    assert (
        a.value == 41
        and a.threshold == 30
        and a.id_numbers == []
        and a.evidence_rows()[0]["原因"] == "管道损坏"
    )


def test_disaster_registered_and_not_registered(tmp_path, ids):
    h1, p1 = make_household("Z1", [("甲", date(1960, 1, 1), True)], ids=ids)
    h2, p2 = make_household("Z2", [("乙", date(1960, 1, 1), True)], ids=ids)
    h3, p3 = make_household("Z3", [("丙", date(1960, 1, 1), True)], ids=ids)
    stranger = ids.new(date(1958, 3, 3))
    outsider = ids.new(date(1958, 3, 3), county="140702")
    rows = [
        [p1["甲"], "甲", "2026-05-01", "洪涝", "3000", "倒塌"],
        [p2["乙"], "乙", "2026-05-01", "洪涝", "5000", "一般损坏"],  # neither
        [p3["丙"], "丙", "2026-05-01", "风雹", "12000", "一般损坏"],  # loss over 10000
        [stranger, "某", "2026-05-01", "洪涝", "", "严重损坏"],
        [outsider, "外", "2026-05-01", "洪涝", "", "严重损坏"],  # another county
    ]
    load(
        tmp_path,
        "disaster",
        "z.csv",
        ["证件号码", "姓名", "受灾日期", "灾种", "直接经济损失", "房屋损毁"],
        rows,
    )
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["disaster_hit", "disaster_unregistered"])
    assert alerted("disaster_hit", run) == {"Z1", "Z3"}
    assert alerted("disaster_unregistered", run) == {stranger}
    new = Alert.objects.get(run=run, rule_code="disaster_unregistered")
    assert new.household_id is None and new.village_code == "" and new.names == ["某"]


def test_job_lost_only_when_the_only_worker(tmp_path, ids):
    h1, p1 = make_household(
        "J1", [("甲", date(1980, 1, 1), True), ("甲母", date(1950, 1, 1), False)], ids=ids
    )
    h2, p2 = make_household("J2", [("乙", date(1980, 1, 1), True), ("乙妻", date(1982, 1, 1), True)], ids=ids)
    h3, p3 = make_household("J3", [("丙", date(1980, 1, 1), True)], ids=ids)
    rows = [
        [p1["甲"], "失业", "2026-05-01"],
        [p2["乙"], "务工中断", "2026-05-01"],  # his wife still works
        [p3["丙"], "失业", "2026-03-01"],  # back at work since
        [p3["丙"], "就业", "2026-05-01"],
    ]
    load(tmp_path, "employment", "j.csv", ["证件号码", "状态", "日期"], rows)
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["job_lost"])
    assert alerted("job_lost", run) == {"J1"}


def test_death_of_a_working_age_member(tmp_path, ids):
    h1, p1 = make_household(
        "X1", [("甲", date(1985, 1, 1), True), ("甲妻", date(1986, 1, 1), False)], ids=ids
    )
    h2, p2 = make_household(
        "X2", [("乙", date(1940, 1, 1), False), ("乙子", date(1970, 1, 1), True)], ids=ids
    )
    rows = [
        [p1["甲"], "死亡", "2026-04-01"],
        [p2["乙"], "死亡", "2026-04-01"],
        [p2["乙子"], "迁出", "2026-04-01"],
    ]
    load(tmp_path, "civil_registry", "c.csv", ["证件号码", "事件", "日期"], rows)
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["death_breadwinner"])
    assert alerted("death_breadwinner", run) == {"X1"}
    assert Alert.objects.get(run=run).risk == "lack_of_labour"


def test_population_lifted_and_monitored(tmp_path, ids, county_admin):
    from dixian.screening.rules import save_rule

    make_household("P1", [("甲", date(1960, 1, 1), True)], ids=ids, lifted=True)
    make_household("P2", [("乙", date(1960, 1, 1), True)], ids=ids, lifted=False)
    make_household("P3", [("丙", date(1960, 1, 1), True)], ids=ids, lifted=False, monitored=True)
    from dixian.registry.models import Person

    rows = [[p.id_number, "倒塌", "2026-05-01", "洪涝"] for p in Person.objects.all()]
    load(tmp_path, "disaster", "z.csv", ["证件号码", "房屋损毁", "受灾日期", "灾种"], rows)
    for code, population in (("lifted_only", "lifted"), ("monitored_only", "monitored")):
        save_rule(
            actor=county_admin,
            code=code,
            effective_from=date(2026, 1, 1),
            name=code,
            feed_type="disaster",
            filters=[{"column": "房屋损毁", "op": "eq", "value": "倒塌"}],
            population=population,
            group_by="household",
            aggregate="exists",
            risk="disaster",
        )
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["lifted_only", "monitored_only"])
    assert alerted("lifted_only", run) == {"P1"}
    assert alerted("monitored_only", run) == {"P3"}


def test_evidence_is_the_ten_latest_rows_ties_by_row_number(tmp_path, ids):
    """An alert keeps the row numbers (行号) of at most 10 of its rows: the latest settlement first,
    rows of the same day in file order; rows outside the window or of other people never."""
    h1, p1 = make_household("E1", [("甲", date(1970, 1, 1), True), ("乙", date(1972, 1, 1), True)], ids=ids)
    other = make_household("E2", [("丙", date(1970, 1, 1), True)], ids=ids)[1]["丙"]
    head = ["证件号码", "姓名", "结算日期", "就诊类型", "个人自付", "参保地区划代码"]
    days = ["2026-01-05", "2026-03-01", "2026-03-01", "2025-08-01", "2026-06-30", "2026-03-01", "2025-12-31"]
    # 行号 is the line of the file: the header is line 1
    rows = [[other, "丙", "2026-06-29", "住院", "5.00", "140724"]]  # 行号 2: another household
    rows += [[p1["甲"], "甲", d, "住院", "2000.00", "140724"] for d in days]  # 行号 3-9
    rows += [[p1["乙"], "乙", d, "住院", "1000.00", "140724"] for d in ("2026-03-01", "2026-02-01")]  # 10, 11
    rows += [[p1["乙"], "乙", "2024-01-01", "住院", "99999.00", "140724"]]  # 12: outside the 12 months
    rows += [[p1["甲"], "甲", "2026-04-04", "住院", "1.00", "140724"] for _ in range(3)]  # 13-15
    load(tmp_path, "medical", "m.csv", head, rows)
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["medical_registered"])
    a = Alert.objects.get(run=run, household=h1)
    # by date: 6-30 (7); 4-04 (13, 14, 15); 3-01 (4, 5, 8, 10); 2-01 (11); 1-05 (3); cut at 10
    assert a.evidence == [7, 13, 14, 15, 4, 5, 8, 10, 11, 3]
    assert a.value == 2000 * 7 + 1000 * 2 + 3 and sorted(a.id_numbers) == sorted([p1["甲"], p1["乙"]])
