"""Export -> import into an empty Dixian -> export gives the same rows."""

from __future__ import annotations

import openpyxl
import pytest

from dixian.core.audit import Actor
from dixian.core.models import AuditEvent
from dixian.registry.exports import export_ledger
from dixian.registry.models import Household, LedgerImport, Person
from dixian.registry.services import import_ledger

from ledgers import HEADERS, basic_rows, write_csv

pytestmark = pytest.mark.django_db
CLI = Actor.cli()


def sheet_rows(path):
    ws = openpyxl.load_workbook(path, read_only=True).active
    rows = [tuple("" if v is None else v for v in r) for r in ws.iter_rows(values_only=True)]
    return rows[0], sorted(rows[1:])


def empty_registry():
    from dixian.monitoring.models import MonitoringCase

    MonitoringCase.objects.all().delete()
    Person.objects.all().delete()
    Household.objects.all().delete()
    LedgerImport.objects.all().delete()


def test_round_trip_is_cell_for_cell(tmp_path):
    rows = basic_rows()
    for r in rows:
        r["备注"] = "自有列"
    import_ledger(actor=CLI, path=write_csv(rows, tmp_path / "in.csv", headers=[*HEADERS, "备注"]))
    first = tmp_path / "first.xlsx"
    export_ledger(actor=CLI, path=first, full_ids=True)
    empty_registry()
    assert Household.objects.count() == 0
    import_ledger(actor=CLI, path=first)
    second = tmp_path / "second.xlsx"
    export_ledger(actor=CLI, path=second, full_ids=True)
    h1, r1 = sheet_rows(first)
    h2, r2 = sheet_rows(second)
    assert h1 == h2 and "备注" in h1 and "区划代码" in h1
    assert r1 == r2 and len(r1) == 7
    # what the export holds: the names people write, codes filled in, months and money as written
    header = list(h1)
    wan = next(r for r in r1 if "万永强" in r)
    assert wan[header.index("行政村")] == "梁家沟村" and wan[header.index("区划代码")] == "140724100204"
    assert wan[header.index("工资性收入")] == "12000.00" and wan[header.index("备注")] == "自有列"


def test_round_trip_of_demo_county_sample(tmp_path):
    from dixian.registry.demo import generate_ledger, write_ledger

    frame = generate_ledger(county_code="140724", seed=7, persons=1500)
    source = tmp_path / "demo.xlsx"
    write_ledger(frame, source)
    import_ledger(actor=CLI, path=source)
    first = tmp_path / "first.csv"
    export_ledger(actor=CLI, path=first, full_ids=True)
    empty_registry()
    import_ledger(actor=CLI, path=first)
    second = tmp_path / "second.csv"
    export_ledger(actor=CLI, path=second, full_ids=True)
    a = first.read_text(encoding="utf-8-sig").splitlines()
    b = second.read_text(encoding="utf-8-sig").splitlines()
    assert a[0] == b[0]
    assert sorted(a[1:]) == sorted(b[1:]) and len(a) - 1 == frame.height


def test_masked_export_and_its_audit(tmp_path, village_cadre):
    import_ledger(actor=CLI, path=write_csv(basic_rows(), tmp_path / "in.csv"))
    out = tmp_path / "masked.xlsx"
    result = export_ledger(actor=village_cadre, path=out)
    header, rows = sheet_rows(out)
    ids = [r[list(header).index("证件号码")] for r in rows]
    assert all("********" in i for i in ids)
    phones = [r[list(header).index("户联系电话")] for r in rows]
    assert all("****" in p for p in phones)
    event = AuditEvent.objects.filter(action="ledger.export").latest("at")
    assert event.actor == village_cadre and event.details == {
        "rows": result["rows"],
        "full_ids": False,
        "format": "xlsx",
    }


def test_full_ids_need_the_right_role(tmp_path, village_cadre, county_admin):
    from dixian.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="完整证件号码"):
        export_ledger(actor=village_cadre, path=tmp_path / "x.xlsx", full_ids=True)
    import_ledger(actor=CLI, path=write_csv(basic_rows(), tmp_path / "in.csv"))
    export_ledger(actor=county_admin, path=tmp_path / "full.xlsx", full_ids=True)
    assert AuditEvent.objects.filter(
        action="ledger.export", details__full_ids=True, actor=county_admin
    ).exists()


def test_export_refusals(tmp_path, county_admin):
    from dixian.core.errors import ValidationError

    with pytest.raises(ValidationError, match=".xlsx 或 .csv"):
        export_ledger(actor=county_admin, path=tmp_path / "x.pdf")
    with pytest.raises(ValidationError, match="不存在"):
        export_ledger(actor=county_admin, path=tmp_path / "x.xlsx", region_code="149999999999")


def test_masked_export_cannot_be_imported_and_says_why(tmp_path):
    from dixian.registry.services import LedgerRefused

    import_ledger(actor=CLI, path=write_csv(basic_rows(), tmp_path / "in.csv"))
    masked = tmp_path / "masked.xlsx"
    export_ledger(actor=CLI, path=masked)
    empty_registry()
    with pytest.raises(LedgerRefused) as info:
        import_ledger(actor=CLI, path=masked)
    assert "已脱敏" in info.value.problems[0]["message"]
