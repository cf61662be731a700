"""Ledger import: the happy path, re-import, later ledgers, and the audit record."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dixian.core.audit import Actor
from dixian.core.models import AuditEvent, FieldChange
from dixian.registry.models import Household, LedgerImport, Person
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv, write_xlsx
from testdata import LIANGJIAGOU, LIFUYU, XIYANG

pytestmark = pytest.mark.django_db
CLI = Actor.cli()


def test_import_creates_households_and_persons(tmp_path):
    path = write_xlsx(basic_rows(), tmp_path / "ledger.xlsx")
    outcome = import_ledger(actor=CLI, path=path)
    s = outcome.summary
    assert (s["households_added"], s["persons_added"]) == (4, 7)
    assert (s["households_changed"], s["persons_changed"], s["persons_removed"]) == (0, 0, 0)
    assert Household.objects.count() == 4 and Person.objects.count() == 7

    h1 = Household.objects.get(household_no="H001")
    assert (h1.county_code, h1.township_code, h1.village_code) == (XIYANG, "140724100000", LIANGJIAGOU)
    assert h1.head_name == "万永强" and h1.size == 2 and h1.declared_size == 2
    assert h1.household_type == "lifted" and h1.lifted_year == 2018
    assert h1.wage_income == Decimal("12000.00") and h1.per_capita_income == Decimal("7500.00")
    assert h1.risk_status == "none" and h1.monitoring_category == ""
    assert " wyq" in h1.search_text

    h2 = Household.objects.get(household_no="H002")
    assert h2.monitoring_category == "unstable_lifted" and h2.identified_month == 202305
    assert h2.risks == ["illness"] and h2.risk_eliminated is False and h2.risk_status == "open"
    assert h2.transfer_income == Decimal("1200.50")
    assert h2.measures == {"健康帮扶": "城乡居民基本医疗保险个人缴费补贴"}

    h3 = Household.objects.get(household_no="H003")
    assert h3.household_type == "ordinary" and h3.monitoring_category == "marginal"
    assert h3.identified_month == 202203 and h3.eliminated_month == 202301
    assert h3.risks == ["disability", "lack_of_labour"] and h3.elimination_mode == "assisted"
    assert h3.risk_status == "eliminated"

    assert Household.objects.get(household_no="H004").village_code == LIFUYU
    son = Person.objects.get(name="张小明")
    assert son.sex == "男" and son.birth_date.isoformat() == "2008-09-01" and son.position == 2
    assert son.name_initials == "zxm"

    li = outcome.ledger_import
    assert li.status == LedgerImport.Status.IMPORTED and li.rows == 7
    event = AuditEvent.objects.get(action="ledger.import")
    assert event.object_id == str(li.pk) and event.details["households_added"] == 4
    assert event.actor is None and event.channel == "cli"


def test_same_file_again_changes_nothing(tmp_path):
    path = write_csv(basic_rows(), tmp_path / "ledger.csv")
    import_ledger(actor=CLI, path=path)
    before = list(Household.objects.values().order_by("pk"))
    outcome = import_ledger(actor=CLI, path=path)
    s = outcome.summary
    assert (s["households_added"], s["households_changed"], s["households_unchanged"]) == (0, 0, 4)
    assert (s["persons_added"], s["persons_changed"], s["persons_unchanged"]) == (0, 0, 7)
    after = list(Household.objects.values().order_by("pk"))
    assert after == before
    assert FieldChange.objects.count() == 0


def test_later_ledger_updates_and_keeps_history(tmp_path):
    import_ledger(actor=CLI, path=write_csv(basic_rows(), tmp_path / "v1.csv"))
    rows = basic_rows()
    # H002: risk eliminated; the son leaves; H001: wage income changes; a new household H005.
    for r in rows:
        if r["户编号"] == "H002":
            r.update(
                {"风险是否已消除": "是", "风险消除方式": "帮扶消除", "消除监测时间": "202312", "人数": "2"}
            )
        if r["户编号"] == "H001":
            r["工资性收入"] = "15000.00"
    rows = [r for r in rows if r["姓名"] != "张小明"]
    new = dict(rows[-1])
    new.update({"户编号": "H005", "姓名": "孙强", "证件号码": "14072419700101003X", "行政村": "李夫峪村"})
    from datetime import date

    from ledgers import make_id

    new["证件号码"] = make_id(date(1970, 1, 1), 3)
    rows.append(new)
    outcome = import_ledger(actor=CLI, path=write_csv(rows, tmp_path / "v2.csv"))
    s = outcome.summary
    assert s["households_added"] == 1
    assert s["households_changed"] == 2 and s["households_unchanged"] == 2
    assert s["persons_added"] == 1 and s["persons_removed"] == 1

    h2 = Household.objects.get(household_no="H002")
    assert h2.risk_status == "eliminated" and h2.eliminated_month == 202312 and h2.size == 2
    son = Person.objects.get(name="张小明")
    assert son.active is False
    changes = {
        (c.field, c.old, c.new)
        for c in FieldChange.objects.filter(object_type="household", object_id=str(h2.pk))
    }
    assert ("risk_status", "open", "eliminated") in changes
    assert ("eliminated_month", None, "202312") in changes
    h1 = Household.objects.get(household_no="H001")
    assert ("wage_income", "12000.00", "15000.00") in {
        (c.field, c.old, c.new)
        for c in FieldChange.objects.filter(object_type="household", object_id=str(h1.pk))
    }
    assert FieldChange.objects.filter(object_type="person", object_id=str(son.pk), field="active").exists()
    # every change hangs on the audited import event
    assert set(FieldChange.objects.values_list("event__action", flat=True)) == {"ledger.import"}


def test_title_rows_notes_and_noise_are_taken_in_stride(tmp_path):
    rows = basic_rows()
    rows[0]["姓名"] = " 万永强 "
    rows[0]["证件号码"] = rows[0]["证件号码"].replace("1", "１", 2)  # full-width digits
    rows[2]["证件号码"] = rows[2]["证件号码"].lower()
    rows[1]["工资性收入"] = " 12,000.00 "
    rows[0]["工资性收入"] = "12,000"
    path = write_xlsx(
        rows,
        tmp_path / "noisy.xlsx",
        title="昔阳县2024年防返贫监测台账",
        notes="填表说明：以上数据截至2024年6月",
    )
    outcome = import_ledger(actor=CLI, path=path)
    assert outcome.summary["persons_added"] == 7
    assert Person.objects.filter(name="万永强").exists()


def test_gb18030_csv(tmp_path):
    path = write_csv(basic_rows(), tmp_path / "gbk.csv", encoding="gb18030")
    assert import_ledger(actor=CLI, path=path).summary["persons_added"] == 7


def test_unknown_columns_are_kept(tmp_path):
    from ledgers import HEADERS

    rows = basic_rows()
    for r in rows:
        r["备注"] = f"备注-{r['姓名']}"
    import_ledger(actor=CLI, path=write_csv(rows, tmp_path / "extra.csv", headers=[*HEADERS, "备注"]))
    assert Person.objects.get(name="赵丽").extra == {"备注": "备注-赵丽"}


def test_warnings_do_not_block(tmp_path):
    rows = basic_rows()
    for r in rows:
        if r["户编号"] == "H001":
            r["人数"] = "3"  # two rows present
            r["人均纯收入（元）"] = "9999"
    rows[0]["性别"] = "女"  # ID says 男
    outcome = import_ledger(actor=CLI, path=write_csv(rows, tmp_path / "warn.csv"))
    messages = [w["message"] for w in outcome.warnings]
    assert any("人数为3，但表中该户有2行" in m for m in messages)
    assert any("人均纯收入与各项收入不符" in m for m in messages)
    assert any("性别与证件号码不符" in m for m in messages)
    h1 = Household.objects.get(household_no="H001")
    assert h1.flags, "warnings stay visible on the household"
