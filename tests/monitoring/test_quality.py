"""Data-quality checks (policy-research §6.3): each rule on a household built to trigger it and on one
built not to; the JSON of `dixian quality`; the workbook; the page; region scoping."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from dixian.core.audit import Actor
from dixian.core.errors import NotFound, ValidationError
from dixian.core.models import AuditEvent
from dixian.monitoring import services
from dixian.monitoring.models import CaseStatus, MonitoringCase, PolicyKey, PolicyValue
from dixian.monitoring.quality import RULES, quality_page, run_checks, write_quality_xlsx
from dixian.registry.choices import MEASURE_COLUMNS
from dixian.registry.models import Household
from dixian.registry.services import import_ledger

from ledgers import HEADERS, make_id, person, write_csv
from testdata import LIANGJIAGOU, LIFUYU, XIYANG

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 6, 30)
COLUMNS = HEADERS + [c for c in MEASURE_COLUMNS if c not in HEADERS]

ELIMINATED = {
    "监测对象类别": "脱贫不稳定户",
    "识别途径": "干部日常排查",
    "识别监测时间": "202301",
    "致贫/返贫风险1": "因残",
    "风险是否已消除": "是",
    "风险消除方式": "帮扶消除",
    "消除监测时间": "202308",
    "产业帮扶": "发展庭院经济",
    "工资性收入": "30000",
}
OPEN = {
    "监测对象类别": "脱贫不稳定户",
    "识别途径": "干部日常排查",
    "识别监测时间": "202403",
    "致贫/返贫风险1": "因残",
    "风险是否已消除": "否",
    "产业帮扶": "发展庭院经济",
    "工资性收入": "30000",
}
ORDINARY = {"户类型": "一般农户", "脱贫年度": "", "监测对象类别": "边缘易致贫户"}
NO_MEASURE = {"产业帮扶": ""}

# household number -> (columns, labour skill of each member, village)
HOUSEHOLDS = {
    # short_spell: 4 months / exactly the 6 required
    "S1": ({**ELIMINATED, "识别监测时间": "202306", "消除监测时间": "202310"},),
    "S2": ({**ELIMINATED, "识别监测时间": "202303", "消除监测时间": "202309"},),
    # assisted_without_measure: none at all / natural elimination / a recorded Measure row
    "A1": ({**ELIMINATED, **NO_MEASURE},),
    "A2": ({**ELIMINATED, **NO_MEASURE, "风险消除方式": "自然消除"},),
    "A3": ({**ELIMINATED, **NO_MEASURE},),
    # income_below_line (2023 line 7100): ledger 6000 / survey 8000 / survey 5000 / exactly 7100
    "I1": ({**ELIMINATED, "工资性收入": "12000"}, ["普通劳动力", "普通劳动力"]),
    "I2": ({**ELIMINATED, "工资性收入": "12000"}, ["普通劳动力", "普通劳动力"]),
    "I3": ({**ELIMINATED},),
    "I4": ({**ELIMINATED, "工资性收入": "7100"},),
    # eliminated in 2022, when 山西 has no monitoring line: one policy_missing for the year
    "P1": ({**ELIMINATED, "识别监测时间": "202201", "消除监测时间": "202210", "工资性收入": "3000"},),
    "P2": ({**ELIMINATED, "识别监测时间": "202201", "消除监测时间": "202211", "工资性收入": "3000"},),
    # illness: industry only / health column / a recorded social measure
    "H1": ({**ELIMINATED, "致贫/返贫风险1": "因病"},),
    "H2": ({**ELIMINATED, "致贫/返贫风险1": "因病", "健康帮扶": "家庭医生签约服务"},),
    "H3": ({**ELIMINATED, "致贫/返贫风险1": "因病"},),
    # schooling
    "E1": ({**ELIMINATED, "致贫/返贫风险2": "因学"},),
    "E2": ({**ELIMINATED, "致贫/返贫风险2": "因学", "义务教育保障": "控辍保学"},),
    # labour_with_safety_net_only
    "L1": ({**OPEN, **NO_MEASURE, "综合保障": "纳入农村低保"}, ["普通劳动力", "无劳动力"]),
    "L2": ({**OPEN, **NO_MEASURE, "综合保障": "纳入农村低保", "就业帮扶": "公益岗位"}, ["技能劳动力"]),
    "L3": ({**OPEN, **NO_MEASURE, "综合保障": "纳入农村低保"}, ["无劳动力", "丧失劳动力"]),
    "L4": ({**ELIMINATED, **NO_MEASURE, "综合保障": "纳入农村低保"}, ["普通劳动力"]),
    # identified_without_measure
    "N1": ({**OPEN, **NO_MEASURE, "识别监测时间": "202404"},),
    "N2": ({**OPEN, **NO_MEASURE, "识别监测时间": "202406"},),
    "N3": ({**OPEN, **NO_MEASURE, "识别监测时间": "202404"},),
    "N4": (
        {
            **ELIMINATED,
            **NO_MEASURE,
            "识别监测时间": "202310",
            "消除监测时间": "202409",
            "风险消除方式": "自然消除",
        },
    ),
    "N5": ({**OPEN, **NO_MEASURE, "识别监测时间": "202408"},),
    "N6": ({**OPEN, **NO_MEASURE, "识别监测时间": "202405"},),
    # category_type_mismatch (the type is changed after the import, as a later ledger could)
    "C1": ({**OPEN},),
    "C2": ({**OPEN, **ORDINARY},),
    "C3": ({**OPEN, **ORDINARY},),
    # unstable_work_without_labour
    "W1": ({**OPEN, "致贫/返贫风险1": "因务工就业不稳"}, ["无劳动力", "丧失劳动力"]),
    "W2": ({**OPEN, "致贫/返贫风险1": "因务工就业不稳"}, ["普通劳动力", "无劳动力"]),
    # other village (scoping); not monitored; a later rejected spell; an older spell superseded
    "V1": ({**OPEN, **NO_MEASURE}, ["普通劳动力"], "李夫峪村"),
    "Z1": ({"工资性收入": "30000"},),
    "R1": ({**OPEN, "识别监测时间": "202401"},),
    "M1": ({**ELIMINATED, "识别监测时间": "202306", "消除监测时间": "202310"},),
}

# What run_checks finds at AS_OF once the rows of ``built`` are added.
EXPECTED = {
    ("short_spell", "S1"),
    ("assisted_without_measure", "A1"),
    ("income_below_line", "I1"),
    ("income_below_line", "I3"),
    ("illness_without_health_measure", "H1"),
    ("schooling_without_education_measure", "E1"),
    ("labour_with_safety_net_only", "L1"),
    ("identified_without_measure", "N1"),
    ("identified_without_measure", "N4"),
    ("identified_without_measure", "N6"),
    ("identified_without_measure", "V1"),
    ("category_type_mismatch", "C1"),
    ("category_type_mismatch", "C3"),
    ("unstable_work_without_labour", "W1"),
    ("policy_missing", None),
}

# For each rule: households built to trigger it, and households built not to.
CASES = {
    "short_spell": (["S1"], ["S2", "M1", "A1"]),
    "assisted_without_measure": (["A1"], ["A2", "A3", "S1"]),
    "income_below_line": (["I1", "I3"], ["I2", "I4", "P1", "P2", "S1"]),
    "illness_without_health_measure": (["H1"], ["H2", "H3", "S1"]),
    "schooling_without_education_measure": (["E1"], ["E2", "S1"]),
    "labour_with_safety_net_only": (["L1"], ["L2", "L3", "L4", "C1"]),
    "identified_without_measure": (["N1", "N4", "N6"], ["N2", "N3", "N5", "A2", "C1"]),
    "category_type_mismatch": (["C1", "C3"], ["C2", "R1", "S1"]),
    "unstable_work_without_labour": (["W1"], ["W2", "L3"]),
}


def ledger_rows() -> list[dict]:
    n = count(1)
    rows = []
    for no, spec in HOUSEHOLDS.items():
        columns = spec[0]
        skills = spec[1] if len(spec) > 1 else ["普通劳动力"]
        village = spec[2] if len(spec) > 2 else "梁家沟村"
        for i, skill in enumerate(skills):
            k = next(n)
            rows.append(
                person(
                    no,
                    f"{no}成员{i + 1}",
                    make_id(date(1950, 1, 1) + timedelta(days=53 * k), 11),
                    "户主" if i == 0 else "之子",
                    village=village,
                    **{**columns, "劳动技能": skill, "人数": str(len(skills))},
                )
            )
    return rows


def write_ledger(path: Path) -> Path:
    return write_csv(ledger_rows(), path, headers=COLUMNS)


@pytest.fixture
def built(tmp_path):
    """The ledger imported, then what only Dixian records: measures, surveys, spells, a type change."""
    import_ledger(actor=Actor.cli(), path=write_ledger(tmp_path / "quality.csv"))
    h = {x.household_no: x for x in Household.objects.all()}
    actor = Actor.cli()

    def measure(no, kind, start):
        services.record_measure(
            actor=actor, household=h[no], kind=kind, content="帮扶", helper_name="王干部", start_date=start
        )

    measure("A3", "industry", date(2023, 5, 1))
    measure("H3", "social", date(2023, 5, 1))
    measure("N1", "employment", date(2024, 8, 1))  # after the as-of date: not counted
    measure("N3", "employment", date(2024, 5, 10))
    services.record_income(
        actor=actor, household=h["I2"], window_end=202308, household_size=2, wage_income=16000
    )
    services.record_income(
        actor=actor, household=h["I3"], window_end=202308, household_size=1, wage_income=5000
    )
    services.record_income(
        actor=actor, household=h["I3"], window_end=202409, household_size=1, wage_income=9000
    )
    Household.objects.filter(household_no="C1").update(household_type="ordinary")
    Household.objects.filter(household_no="C3").update(household_type="lifted")
    region = {"county_code": XIYANG, "township_code": h["R1"].township_code, "village_code": LIANGJIAGOU}
    MonitoringCase.objects.create(
        household=h["R1"], status=CaseStatus.REJECTED, category="marginal", risks=["illness"],
        identified_month=202405, **region,
    )  # fmt: skip
    MonitoringCase.objects.create(
        household=h["M1"], status=CaseStatus.MONITORED, category="unstable_lifted", risks=["disability"],
        identified_month=202403, **region,
    )  # fmt: skip
    return h


def found(**kw) -> set[tuple[str, str | None]]:
    return {(f.rule, f.household_no) for f in run_checks(**{"region_code": "140724", "as_of": AS_OF, **kw})}


def test_every_rule_and_nothing_else(built):
    assert found() == EXPECTED
    assert set(CASES) | {"policy_missing"} == set(RULES)


@pytest.mark.parametrize("rule", list(CASES))
def test_rule_fires_on_its_household_and_not_on_the_others(built, rule):
    triggers, clean = CASES[rule]
    result = found()
    for no in triggers:
        assert (rule, no) in result, no
    for no in clean:
        assert (rule, no) not in result, no


def by_household(findings):
    return {(f.rule, f.household_no): f for f in findings}


def test_messages_name_the_numbers(built):
    f = by_household(run_checks(region_code="140724", as_of=AS_OF))
    assert f["short_spell", "S1"].message == "2023年6月识别，2023年10月消除，仅4个月（应不少于6个月）"
    assert f["income_below_line", "I1"].message == (
        "2023年8月消除，人均纯收入6000.00元（台账收入）低于2023年监测线7100元"
    )
    assert "5000.00元（202209-202308收入调查）" in f["income_below_line", "I3"].message
    assert f["identified_without_measure", "N1"].message == (
        "2024年4月识别，至2024年6月30日已2个月，仍没有任何帮扶措施"
    )
    assert "现有措施：产业帮扶" in f["illness_without_health_measure", "H1"].message
    assert "家中有1名普通劳动力或技能劳动力" in f["labour_with_safety_net_only", "L1"].message
    assert "户类型为一般农户" in f["category_type_mismatch", "C1"].message
    assert "户类型为脱贫户" in f["category_type_mismatch", "C3"].message
    assert "家中2人均为无劳动力或丧失劳动力" in f["unstable_work_without_labour", "W1"].message
    missing = f["policy_missing", None]
    assert missing.household_id is None and missing.village_code == ""
    assert "2022年山西省" in missing.message and "监测线" in missing.message and "2户" in missing.message
    s1 = f["short_spell", "S1"]
    assert s1.household_id == built["S1"].pk and s1.village_code == LIANGJIAGOU and s1.head_name == "S1成员1"


def test_policy_values_are_data(built):
    PolicyValue.objects.create(
        key=PolicyKey.MONITORING_LINE, region_code="140000000000", year=2022, value=Decimal("6500")
    )
    PolicyValue.objects.create(
        key=PolicyKey.MIN_MONTHS_BEFORE_ELIMINATION, region_code=XIYANG, year=2023, value=Decimal("8")
    )
    f = by_household(run_checks(region_code="140724", as_of=AS_OF))
    assert ("policy_missing", None) not in f
    assert "低于2022年监测线6500元" in f["income_below_line", "P1"].message
    assert ("income_below_line", "P2") in f
    assert f["short_spell", "S2"].message == "2023年3月识别，2023年9月消除，仅6个月（应不少于8个月）"
    assert ("short_spell", "P1") not in f  # eliminated in 2022: the 2023 county value is not yet in force


def test_as_of_date_picks_the_spell_and_the_state_of_that_time(built):
    earlier = found(as_of=date(2024, 1, 31))
    assert ("short_spell", "M1") in earlier  # M1's newer spell was identified in March 2024
    assert ("identified_without_measure", "N1") not in earlier  # not yet identified
    later = found(as_of=date(2024, 10, 1))
    assert ("identified_without_measure", "N4") not in later  # eliminated (naturally) in September
    assert ("identified_without_measure", "N5") in later


def test_scoping_by_user_and_by_region(built, village_cadre, other_village_cadre, township_cadre):
    mine = found(user=village_cadre)
    assert mine == EXPECTED - {("identified_without_measure", "V1")}
    assert found(user=other_village_cadre) == {("identified_without_measure", "V1")}
    assert found(region_code=LIFUYU) == {("identified_without_measure", "V1")}
    assert found(region_code=LIFUYU, user=village_cadre) == set()
    assert found(user=township_cadre) == EXPECTED


def test_bad_region_is_refused_in_chinese(db):
    with pytest.raises(ValidationError, match="无效"):
        run_checks(region_code="abc", as_of=AS_OF)
    with pytest.raises(NotFound, match="不存在"):
        run_checks(region_code="140799", as_of=AS_OF)


def test_queries_do_not_grow_with_households(built):
    with CaptureQueriesContext(connection) as queries:
        run_checks(region_code="140724", as_of=AS_OF)
    assert len(queries.captured_queries) <= 20


def test_workbook_reads_back(built, tmp_path):
    findings = run_checks(region_code="140724", as_of=AS_OF)
    path = write_quality_xlsx(findings, tmp_path / "q.xlsx", title="昔阳县数据质量检查")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["汇总", "问题清单"]
    summary = wb["汇总"]
    assert summary["A1"].value == "昔阳县数据质量检查"
    assert [c.value for c in summary[2]][:3] == ["规则", "名称", "问题数"]
    counts = {r[0]: r[2] for r in summary.iter_rows(min_row=3, values_only=True)}
    assert counts["short_spell"] == 1 and counts["identified_without_measure"] == 4
    assert counts["合计"] == len(findings) == len(EXPECTED)
    assert summary.column_dimensions["D"].width > 50
    detail = wb["问题清单"]
    assert [c.value for c in detail[2]] == ["规则", "户编号", "户主", "乡镇", "村", "问题"]
    rows = list(detail.iter_rows(min_row=3, values_only=True))
    assert len(rows) == len(findings)
    s1 = next(r for r in rows if r[1] == "S1")
    assert s1 == (
        "识别至消除时间过短",
        "S1",
        "S1成员1",
        "乐平镇",
        "梁家沟村",
        "2023年6月识别，2023年10月消除，仅4个月（应不少于6个月）",
    )
    assert detail.column_dimensions["F"].width > 50


def test_page(built, village_cadre, other_village_cadre):
    rf = RequestFactory()
    request = rf.get("/quality/", {"as_of": "2024-06-30"})
    request.user = village_cadre
    page = quality_page(request).content.decode()
    assert f'href="/households/{built["S1"].pk}/"' in page and "S1" in page
    assert RULES["short_spell"][1] in page
    assert "2023年6月识别，2023年10月消除，仅4个月（应不少于6个月）" in page
    assert 'value="2024-06-30"' in page and "format=xlsx" in page
    assert f"/households/{built['V1'].pk}/" not in page  # another village

    request = rf.get("/quality/", {"as_of": "2024-06-30", "rule": "short_spell"})
    request.user = village_cadre
    page = quality_page(request).content.decode()
    assert f"/households/{built['S1'].pk}/" in page and f"/households/{built['A1'].pk}/" not in page

    request = rf.get("/quality/", {"as_of": "2024-06-30"})
    request.user = other_village_cadre
    page = quality_page(request).content.decode()
    assert f"/households/{built['V1'].pk}/" in page and f"/households/{built['S1'].pk}/" not in page

    request = rf.get("/quality/", {"as_of": "2024-06-30", "format": "xlsx"})
    request.user = village_cadre
    response = quality_page(request)
    assert response["Content-Disposition"].startswith("attachment")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    nos = {r[1] for r in wb["问题清单"].iter_rows(min_row=3, values_only=True)}
    assert "S1" in nos and "V1" not in nos
    assert AuditEvent.objects.filter(action="quality.export", actor=village_cadre).exists()

    request = rf.get("/quality/")
    request.user = AnonymousUser()
    assert quality_page(request).status_code == 302


# ---------------------------------------------------------------------------------------------
# The command line, in a subprocess on its own SQLite database (only the ledger: no Dixian records)

DIXIAN = str(Path(sys.executable).with_name("dixian"))
LEDGER_ONLY = EXPECTED - {
    ("income_below_line", "I3"),
    ("category_type_mismatch", "C1"),
    ("category_type_mismatch", "C3"),
} | {
    ("assisted_without_measure", "A3"),
    ("income_below_line", "I2"),
    ("illness_without_health_measure", "H3"),
    ("identified_without_measure", "N3"),
    ("short_spell", "M1"),
}


def run(env, *args, check=True):
    proc = subprocess.run([DIXIAN, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"dixian {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    data = tmp_path_factory.mktemp("quality-cli")
    env = dict(os.environ, DIXIAN_DATA_DIR=str(data), COLUMNS="200", NO_COLOR="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DATABASE_URL"] = f"sqlite:///{data}/cli.sqlite3"
    run(env, "init", "--region", "140724")
    run(env, "ledger", "import", str(write_ledger(data / "quality.csv")))
    return {"env": env, "dir": data}


def test_cli_json(cli):
    proc = run(cli["env"], "quality", "--region", "140724", "--as-of", "2024-06-30", "--json")
    out = json.loads(proc.stdout)
    assert list(out) == ["findings"]
    assert all(list(f) == ["rule", "household_no", "message"] for f in out["findings"])
    assert {(f["rule"], f["household_no"]) for f in out["findings"]} == LEDGER_ONLY
    s1 = next(f for f in out["findings"] if f["household_no"] == "S1")
    assert s1 == {
        "rule": "short_spell",
        "household_no": "S1",
        "message": "2023年6月识别，2023年10月消除，仅4个月（应不少于6个月）",
    }


def test_cli_table_and_workbook(cli):
    xlsx = cli["dir"] / "out.xlsx"
    proc = run(
        cli["env"], "quality", "--region", "140724100204", "--as-of", "2024-06-30", "--xlsx", str(xlsx)
    )
    assert "识别至消除时间过短" in proc.stdout and "合计" in proc.stdout and "梁家沟村" in proc.stdout
    nos = {r[1] for r in openpyxl.load_workbook(xlsx)["问题清单"].iter_rows(min_row=3, values_only=True)}
    assert "S1" in nos and "V1" not in nos


def test_cli_refuses_bad_input_in_chinese(cli):
    proc = run(cli["env"], "quality", "--region", "140724", "--as-of", "2024-02-30", check=False)
    assert proc.returncode != 0 and "日期“2024-02-30”无效" in proc.stderr and not proc.stdout.strip()
    proc = run(cli["env"], "quality", "--region", "140799", "--as-of", "2024-06-30", "--json", check=False)
    assert proc.returncode != 0 and "区划代码“140799000000”不存在" in proc.stderr
    proc = run(cli["env"], "quality", "--region", "xyz", "--json", check=False)
    assert proc.returncode != 0 and "无效" in proc.stderr
