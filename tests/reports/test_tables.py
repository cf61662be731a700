"""The statistical tables: read the .xlsx back with openpyxl and check every cell against a count done
by hand over the generated ledger; the total row is the sum of the rows; the layout (title, unit line,
merged two-level headers) is what county offices use."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from handcount import count

from dixian.core.audit import Actor
from dixian.core.models import AuditEvent
from dixian.indicators import catalogue
from dixian.reports import services, tables

from testdata import LEPING, XIYANG

pytestmark = pytest.mark.django_db

AS_OF, SINCE = date(2026, 10, 31), date(2025, 7, 1)


def read(path):
    """{sheet: (title, unit line, {row name: {(group, header): value}}, merged ranges)}"""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        if ws.title == "指标口径":
            continue
        rows = list(ws.iter_rows(values_only=True))
        groups, heads = rows[2], rows[3]
        keys, current = [], None
        for n in range(2, len(heads)):
            current = groups[n] or current
            keys.append((current, heads[n] or current))
        data = {}
        for row in rows[4:]:
            if row[1] is None:
                break
            data[row[1]] = {k: row[2 + n] for n, k in enumerate(keys)}
        out[ws.title] = (rows[0][0], rows[1], data, {str(r) for r in ws.merged_cells.ranges})
    return out


def expected_cells(c: dict) -> dict:
    """The hand count in the tables' own headers."""
    g = lambda k: c.get(k, 0)  # noqa: E731
    cells = {
        "监测对象": {
            ("监测对象", "户数"): g("monitored hh"),
            ("监测对象", "人数"): g("monitored p"),
            ("脱贫不稳定户", "户数"): g("unstable_lifted hh"),
            ("边缘易致贫户", "人数"): g("marginal p"),
            ("突发严重困难户", "户数"): g("sudden_hardship hh"),
            ("风险未消除", "户数"): g("at risk hh"),
            ("风险已消除", "人数"): g("eliminated so far p"),
            ("致贫/返贫风险（户数）", "因病"): g("risk 因病 hh"),
            ("致贫/返贫风险（户数）", "因灾"): g("risk 因灾 hh"),
        },
        "识别与消除": {
            ("新识别监测对象", "户数"): g("new hh"),
            ("新识别监测对象", "人数"): g("new p"),
            ("其中：按类别（户数）", "边缘易致贫户"): g("new marginal hh"),
            ("其中：因灾", "户数"): g("new disaster hh"),
            ("其中：因灾", "人数"): g("new disaster p"),
            ("风险消除", "户数"): g("eliminated in period hh"),
            ("风险消除", "人数"): g("eliminated in period p"),
            ("其中：按消除方式（户数）", "帮扶消除"): g("eliminated assisted hh"),
        },
        "脱贫人口收入": {
            ("脱贫户", "户数"): g("lifted hh"),
            ("有收入数据的脱贫户", "人数"): g("with income p"),
        },
    }
    if g("with income hh"):
        money = c["money"]
        cells["脱贫人口收入"][("收入总额（元）", "工资性收入")] = float(money["wage"])
        cells["脱贫人口收入"][("收入总额（元）", "纯收入")] = float(c["net"])
        per = (c["net"] / g("with income p")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        cells["脱贫人口收入"][("人均（元）", "人均纯收入")] = float(per)
    if g("monitored p"):
        rate = Decimal(g("eliminated so far p")) * 100 / Decimal(g("monitored p"))
        key = ("风险消除率（按人，%）", "风险消除率（按人，%）")
        cells["监测对象"][key] = float(rate.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))
    return cells


def test_tables_agree_with_a_count_by_hand_and_add_up(demo, tmp_path):
    out = tmp_path / "t.xlsx"
    built = services.export_tables(actor=Actor.cli(), region_code=XIYANG, as_of=AS_OF, since=SINCE, out=out)
    got = read(out)
    assert set(got) == {"监测对象", "识别与消除", "脱贫人口收入", "部门筛查预警"}
    month, since_month = 202610, 202507
    whole = count(demo, month, since_month)
    townships = {h["township"] for h in demo}
    names = {code: name for code, name, _ in built.rows}
    assert set(names) >= townships and len(names) == 11  # every township of 昔阳县, even without rows
    assert whole["new hh"] > 0 and whole["eliminated in period hh"] > 0 and whole["new disaster hh"] >= 0
    for sheet, (title, unit_line, data, merged) in got.items():
        table = next(t for t in tables.TABLES if t.sheet == sheet)
        assert title == f"昔阳县{table.title}"
        assert f"单位：{table.units}" in unit_line
        assert "A1:" in " ".join(merged)  # the title is merged over the width
        assert {"A3:A4", "B3:B4"} <= merged  # 序号 and 乡镇 span both header rows
        assert "合计" in data and len(data) == 12
        for key, want in expected_cells(whole).get(sheet, {}).items():
            assert data["合计"][key] == want, (sheet, key)
        for code in townships:
            mine = count([h for h in demo if h["township"] == code], month, since_month)
            for key, want in expected_cells(mine).get(sheet, {}).items():
                assert data[names[code]][key] == want, (sheet, names[code], key)
        # The total row is the sum of the rows, for every count and every sum of money.
        additive = {(g.title, c.header): c.additive for g in table.groups for c in g.columns}
        for key, is_additive in additive.items():
            if not is_additive:
                continue
            parts = [row[key] for name, row in data.items() if name != "合计"]
            total = sum(Decimal(str(v)) for v in parts if v != "—")
            assert Decimal(str(data["合计"][key])) == total, (sheet, key)
    event = AuditEvent.objects.get(action="tables.export")
    assert event.details["region"] == XIYANG and event.details["rows"] == 11


def test_a_township_has_a_row_per_village_and_definitions_sheet(demo, tmp_path):
    out = tmp_path / "t.xlsx"
    built = services.export_tables(actor=Actor.cli(), region_code=LEPING, as_of=AS_OF, since=SINCE, out=out)
    assert built.part_level == "村（社区）" and built.region_name == "乐平镇"
    wb = openpyxl.load_workbook(out)
    ws = wb["监测对象"]
    assert ws["B3"].value == "村（社区）"
    village_rows = [r for r in ws.iter_rows(min_row=6, values_only=True) if isinstance(r[0], int)]
    assert len(village_rows) == len(built.rows) > 5
    defs = list(wb["指标口径"].iter_rows(values_only=True))
    codes = {row[2] for row in defs[1:]}
    assert codes == {c for t in tables.TABLES for c in t.codes}
    for row in defs[1:]:
        assert row[6] == catalogue.get(row[2]).definition


def test_every_column_is_a_catalogue_indicator():
    for t in tables.TABLES:
        assert t.columns and len(set(t.codes)) == len(t.codes)
        for c in t.columns:
            assert c.code in catalogue.BY_CODE
