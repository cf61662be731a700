"""Every refusal of the ledger import: a clear Chinese message at the right row and column, and
nothing written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from dixian.core.audit import Actor
from dixian.core.errors import PermissionDenied, ValidationError
from dixian.core.models import AuditEvent
from dixian.registry.models import Household, LedgerImport, Person
from dixian.registry.services import LedgerRefused, import_ledger

from ledgers import HEADERS, basic_rows, make_id, write_csv, write_xlsx
from testdata import make_user

pytestmark = pytest.mark.django_db
CLI = Actor.cli()


def refused(path, actor=CLI) -> LedgerRefused:
    before = (Household.objects.count(), Person.objects.count())
    with pytest.raises(LedgerRefused) as info:
        import_ledger(actor=actor, path=path)
    assert (Household.objects.count(), Person.objects.count()) == before, "nothing may be written"
    return info.value


def has(exc: LedgerRefused, row: int, column: str, text: str) -> bool:
    return any(
        p["row"] == row and p["column"] == column and text in p["message"] and p["level"] == "error"
        for p in exc.problems
    )


def rows_with(**changes_by_index) -> list[dict]:
    rows = basic_rows()
    for key, change in changes_by_index.items():
        rows[int(key[1:])].update(change)
    return rows


def test_missing_required_column(tmp_path):
    headers = [h for h in HEADERS if h != "与户主关系"]
    exc = refused(write_csv(basic_rows(), tmp_path / "a.csv", headers=headers))
    assert has(exc, 1, "与户主关系", "缺少必填列“与户主关系”")


def test_invalid_id_checksum(tmp_path):
    bad = basic_rows()[0]["证件号码"][:17] + ("0" if basic_rows()[0]["证件号码"][17] != "0" else "1")
    exc = refused(write_csv(rows_with(r0={"证件号码": bad}), tmp_path / "a.csv"))
    assert has(exc, 2, "证件号码", "校验")


def test_id_stored_as_excel_number(tmp_path):
    exc = refused(write_xlsx(basic_rows(), tmp_path / "a.xlsx", numeric_ids={1}))
    # title row 1, header row 2, data from row 3: the second person is Excel row 4
    assert has(exc, 4, "证件号码", "被 Excel 存成了数值")
    assert sum(1 for p in exc.problems if p["level"] == "error") == 1


def test_same_id_twice_in_file(tmp_path):
    rows = basic_rows()
    rows[4]["证件号码"] = rows[3]["证件号码"]
    exc = refused(write_csv(rows, tmp_path / "a.csv"))
    assert has(exc, 6, "证件号码", "证件号码与第5行重复")


def test_id_already_in_another_household(tmp_path):
    import_ledger(actor=CLI, path=write_csv(basic_rows(), tmp_path / "first.csv"))
    taken = basic_rows()[0]["证件号码"]  # 万永强 in H001
    newcomer = dict(basic_rows()[6], **{"户编号": "H009", "姓名": "冒名", "证件号码": taken})
    exc = refused(write_csv([newcomer], tmp_path / "a.csv"))
    assert has(exc, 2, "证件号码", "已登记在另一户（户编号 H001）")


def test_household_without_head_and_with_two_heads(tmp_path):
    rows = basic_rows()
    rows[0]["与户主关系"] = "之子"  # H001 has no head now
    rows[3]["与户主关系"] = "户主"  # H002 has two heads
    exc = refused(write_csv(rows, tmp_path / "a.csv"))
    assert has(exc, 2, "与户主关系", "该户没有户主")
    assert has(exc, 4, "与户主关系", "该户有2个户主")


def test_household_fields_disagree_between_rows(tmp_path):
    exc = refused(write_csv(rows_with(r1={"户类型": "一般农户", "脱贫年度": ""}), tmp_path / "a.csv"))
    assert has(exc, 3, "户类型", "同一户各行的“户类型”应相同（第2行为“脱贫户”）")


@pytest.mark.parametrize(
    ("change", "column", "text"),
    [
        ({"行政村": "不存在村"}, "行政村", "找不到"),
        ({"乡(镇)": "火星镇"}, "乡(镇)", "找不到"),
        ({"县(市、区、旗)": "平遥县"}, "县(市、区、旗)", ""),
    ],
)
def test_unknown_places(tmp_path, change, column, text):
    exc = refused(write_csv(rows_with(r6=change), tmp_path / "a.csv"))
    assert any(p["row"] == 8 and p["column"] == column and text in p["message"] for p in exc.problems), (
        exc.problems
    )


@pytest.mark.parametrize("value", ["2023-13", "去年五月", "20235"])
def test_month_that_is_not_a_month(tmp_path, value):
    exc = refused(write_csv(rows_with(r5={"识别监测时间": value}), tmp_path / "a.csv"))
    assert has(exc, 7, "识别监测时间", "不是有效的年月")


def test_negative_and_non_numeric_money(tmp_path):
    rows = basic_rows()
    rows[6]["工资性收入"] = "-100"
    rows[5]["财产性收入"] = "一千元"
    exc = refused(write_csv(rows, tmp_path / "a.csv"))
    assert has(exc, 8, "工资性收入", "金额不能为负数")
    assert has(exc, 7, "财产性收入", "不是有效的金额")


def test_category_that_does_not_fit_household_type(tmp_path):
    lifted_marginal = {
        "监测对象类别": "边缘易致贫户",
        "识别监测时间": "202301",
        "致贫/返贫风险1": "因病",
        "风险是否已消除": "否",
    }
    ordinary_unstable = {"监测对象类别": "脱贫不稳定户"}
    exc = refused(write_csv(rows_with(r6=lifted_marginal, r5=ordinary_unstable), tmp_path / "a.csv"))
    assert has(exc, 8, "监测对象类别", "边缘易致贫户只能是一般农户")
    assert has(exc, 7, "监测对象类别", "脱贫不稳定户只能是脱贫户")


def test_eliminated_without_month_or_mode(tmp_path):
    exc = refused(write_csv(rows_with(r5={"风险消除方式": "", "消除监测时间": ""}), tmp_path / "a.csv"))
    assert has(exc, 7, "消除监测时间", "必须填写消除监测时间")
    assert has(exc, 7, "风险消除方式", "必须填写风险消除方式")


def test_category_without_its_required_fields(tmp_path):
    exc = refused(write_csv(rows_with(r6={"监测对象类别": "突发严重困难户"}), tmp_path / "a.csv"))
    assert has(exc, 8, "识别监测时间", "必须填写识别监测时间")
    assert has(exc, 8, "致贫/返贫风险1", "必须填写致贫/返贫风险1")


def test_not_a_spreadsheet(tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(ValidationError, match="不是表格"):
        import_ledger(actor=CLI, path=path)
    other = tmp_path / "notes.docx"
    other.write_bytes(b"PK")
    with pytest.raises(ValidationError, match="不支持的文件类型"):
        import_ledger(actor=CLI, path=other)


def test_no_header_row(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("姓名,身份\n万永强,户主\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="找不到表头行"):
        import_ledger(actor=CLI, path=path)


def test_empty_sheet_and_header_only(tmp_path):
    import xlsxwriter

    empty = tmp_path / "empty.xlsx"
    wb = xlsxwriter.Workbook(str(empty))
    wb.add_worksheet()
    wb.close()
    with pytest.raises(ValidationError, match="空"):
        import_ledger(actor=CLI, path=empty)
    header_only = write_csv([], tmp_path / "h.csv")
    exc = refused(header_only)
    assert any("没有数据行" in p["message"] for p in exc.problems)


def test_ten_thousand_bad_rows_are_all_reported(tmp_path):
    rows = []
    for i in range(10_000):
        rows.append(
            {
                "县(市、区、旗)": "昔阳县",
                "乡(镇)": "乐平镇",
                "行政村": "梁家沟村",
                "户编号": f"B{i}",
                "姓名": "某",
                "证件号码": f"14072419800101{i:04d}",
                "与户主关系": "户主",
                "户类型": "脱贫户",
            }
        )
    exc = refused(write_csv(rows, tmp_path / "bad.csv"))
    id_errors = [p for p in exc.problems if p["column"] == "证件号码"]
    assert len(id_errors) >= 9000  # about 1 in 11 random checksums happens to be right
    li = exc.ledger_import
    assert li.status == "refused" and li.error_count == len(
        exc.errors if hasattr(exc, "errors") else [p for p in exc.problems if p["level"] == "error"]
    )
    assert len(li.problems) == 2000  # stored for display; the full list is in the report
    wb = openpyxl.load_workbook(li.report_path, read_only=True)
    assert wb["问题清单"].max_row == 2 + len(exc.problems)


def test_refusal_is_audited_and_report_marks_bad_cells(tmp_path):
    rows = basic_rows()
    rows[2]["证件号码"] = "123"
    path = write_xlsx(rows, tmp_path / "a.xlsx")
    exc = refused(path)
    li = exc.ledger_import
    assert LedgerImport.objects.get(pk=li.pk).status == "refused"
    event = AuditEvent.objects.get(action="ledger.import_refused")
    assert event.object_id == str(li.pk) and event.details["errors"] == li.error_count
    wb = openpyxl.load_workbook(li.report_path)
    sheet = wb["原表（已标出问题）"]
    id_col = [c.value for c in sheet[2]].index("证件号码") + 1
    cell = sheet.cell(row=5, column=id_col)  # person 3 is Excel row 5 in the user's file
    assert cell.value == "123"
    assert cell.fill.fgColor.rgb.endswith("F8B4B4")
    listing = list(wb["问题清单"].iter_rows(min_row=3, values_only=True))
    assert listing[0][:3] == (5, "证件号码", "123")


def test_account_outside_the_rows_region(tmp_path):
    other = make_user("lifuyu", "village_cadre", "140724100205")  # 李夫峪村
    exc = refused(write_csv(basic_rows(), tmp_path / "a.csv"), actor=other)
    assert has(exc, 2, "行政村", "不在您的管辖范围内")
    assert not has(exc, 8, "行政村", "不在您的管辖范围内")  # H004 is in 李夫峪村


def test_roles_that_may_not_import(tmp_path):
    leader = make_user("boss", "leader", "140724000000")
    with pytest.raises(PermissionDenied, match="不能导入台账"):
        import_ledger(actor=leader, path=write_csv(basic_rows(), tmp_path / "a.csv"))


def test_fifteen_digit_id_is_upgraded(tmp_path):
    rows = basic_rows()[6:]
    rows[0]["证件号码"] = "140724500606711"  # 1950-06-06, legacy 15 digits
    import_ledger(actor=CLI, path=write_csv(rows, tmp_path / "a.csv"))
    person = Person.objects.get(name="刘福")
    assert len(person.id_number) == 18 and person.birth_date == date(1950, 6, 6)


def test_disability_certificate_is_kept_and_flagged(tmp_path):
    rows = basic_rows()[6:]
    rows[0]["证件号码"] = make_id(date(1950, 6, 6), 71) + "42"
    import_ledger(actor=CLI, path=write_csv(rows, tmp_path / "a.csv"))
    assert Person.objects.get(name="刘福").id_is_resident is False


def test_unreadable_path(tmp_path):
    with pytest.raises(ValidationError, match="找不到文件"):
        import_ledger(actor=CLI, path=Path(tmp_path / "nope.xlsx"))


def test_row_numbers_count_empty_rows_and_columns_above_and_left(tmp_path):
    rows = basic_rows()
    rows[2]["证件号码"] = "123"
    path = write_xlsx(rows, tmp_path / "gap.xlsx", blank_rows=3, blank_cols=2, numeric_ids={4})
    exc = refused(path)
    # 3 empty rows, title (row 4), header (row 5): person 3 is Excel row 8, person 5 row 10
    assert has(exc, 8, "证件号码", "位数") or has(exc, 8, "证件号码", "18")
    assert has(exc, 10, "证件号码", "被 Excel 存成了数值")
