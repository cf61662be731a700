"""Ledger export: the same columns the import reads, for any region the user may see."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from django.db import transaction

from dixian.accounts import permissions
from dixian.accounts.scoping import covers
from dixian.core import audit, idcard
from dixian.core.audit import as_actor
from dixian.core.errors import NotFound, ValidationError
from dixian.regions.models import Region
from dixian.registry.choices import (
    MEASURE_COLUMNS,
    EliminationMode,
    HouseholdType,
    MonitoringCategory,
    RiskType,
)
from dixian.registry.ledger import EXPORT_HEADERS, RISK_COLUMNS
from dixian.registry.selectors import export_households

XLSX_MAX_ROWS = 1_048_000
_TYPE = dict(HouseholdType.choices)
_CAT = dict(MonitoringCategory.choices)
_RISK = dict(RiskType.choices)
_MODE = dict(EliminationMode.choices)


def _yn(v):
    return "" if v is None else ("是" if v else "否")


def _money(v: Decimal | None) -> str:
    return "" if v is None else f"{v:.2f}"


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def ledger_rows(*, user, region_code: str = "", full_ids: bool = False):
    """Yield (headers, rows...) of the ledger for the user's region; IDs and phones masked unless asked."""
    qs = export_households(user=user, region_code=region_code)
    households = list(qs)
    codes = (
        {h.county_code for h in households}
        | {h.township_code for h in households}
        | {h.village_code for h in households}
    )
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "short_name"))
    extra_cols: list[str] = []
    seen = set()
    for h in households:
        for p in h.members.all():
            for k in p.extra:
                if k not in seen:
                    seen.add(k)
                    extra_cols.append(k)
    headers = EXPORT_HEADERS + extra_cols
    yield headers
    seq = 0
    for h in households:
        risks = [_RISK.get(r, r) for r in h.risks] + [""] * 5
        house = {
            "县(市、区、旗)": names.get(h.county_code, ""),
            "乡(镇)": names.get(h.township_code, ""),
            "行政村": names.get(h.village_code, ""),
            "自然村": h.hamlet,
            "区划代码": h.village_code,
            "户编号": h.household_no,
            "人数": str(h.declared_size if h.declared_size is not None else h.size),
            "户联系电话": h.phone if full_ids else mask_phone(h.phone),
            "户类型": _TYPE.get(h.household_type, ""),
            "脱贫年度": "" if h.lifted_year is None else str(h.lifted_year),
            "监测对象类别": _CAT.get(h.monitoring_category, ""),
            "识别途径": h.channel,
            "识别监测时间": "" if h.identified_month is None else str(h.identified_month),
            **{c: risks[i] for i, c in enumerate(RISK_COLUMNS)},
            "风险是否已消除": _yn(h.risk_eliminated),
            "风险消除方式": _MODE.get(h.elimination_mode, ""),
            "消除监测时间": "" if h.eliminated_month is None else str(h.eliminated_month),
            "工资性收入": _money(h.wage_income),
            "生产经营性收入": _money(h.business_income),
            "财产性收入": _money(h.property_income),
            "转移性收入": _money(h.transfer_income),
            "生产经营性支出": _money(h.business_expense),
            "人均纯收入（元）": _money(h.declared_per_capita_income),
            **{c: h.measures.get(c, "") for c in MEASURE_COLUMNS},
        }
        for p in h.members.all():
            seq += 1
            row = dict(house)
            row.update(
                {
                    "序号": str(seq),
                    "人编号": p.person_no,
                    "姓名": p.name,
                    "证件号码": p.id_number if full_ids else idcard.mask(p.id_number),
                    "与户主关系": p.relation_to_head,
                    "性别": p.sex,
                    "民族": p.ethnicity,
                    "文化程度": p.education,
                    "在校生状况": p.student_status,
                    "健康状况": p.health,
                    "劳动技能": p.labour_skill,
                    "务工时间（月）": "" if p.work_months is None else str(p.work_months),
                    "是否参加城乡居民基本医疗保险": _yn(p.medical_insurance),
                    "是否享受低保": _yn(p.dibao),
                    "是否特困供养": _yn(p.tekun),
                }
            )
            row.update({k: str(v) for k, v in p.extra.items()})
            yield [row.get(c, "") for c in headers]


def export_ledger(*, actor, path: Path | str, region_code: str = "", full_ids: bool = False) -> dict:
    """Write the ledger of a region to .xlsx or .csv; audited (what, which region, masked or not)."""
    actor = as_actor(actor)
    user = actor.user
    permissions.require(user, permissions.EXPORT_LEDGER)
    if full_ids:
        permissions.require(user, permissions.EXPORT_FULL_ID)
    if region_code:
        if not Region.objects.filter(code=region_code).exists():
            raise ValidationError(f"区划代码 {region_code} 不存在")
        if not covers(user, region_code):
            raise NotFound("该区域不在您的管辖范围内")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValidationError("导出文件应以 .xlsx 或 .csv 结尾")
    rows = ledger_rows(user=user, region_code=region_code, full_ids=full_ids)
    headers = next(rows)
    count = 0
    if suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8-sig") as f:
            writer = csv.writer(f)
            writer.writerow(headers)
            for row in rows:
                writer.writerow(row)
                count += 1
    else:
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
        ws = wb.add_worksheet("台账")
        bold = wb.add_format({"bold": True, "bg_color": "#E5E7EB", "border": 1})
        for c, h in enumerate(headers):
            ws.write_string(0, c, h, bold)
        ws.freeze_panes(1, 0)
        for r, row in enumerate(rows, start=1):
            if r > XLSX_MAX_ROWS:
                wb.close()
                path.unlink(missing_ok=True)
                raise ValidationError("超过 Excel 的行数上限，请导出为 .csv")
            for c, value in enumerate(row):
                if value != "":
                    ws.write_string(r, c, value)
            count = r
        wb.close()
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="ledger.export",
            object_type="region",
            object_id=region_code or "",
            object_label=path.name,
            county_code=(region_code[:6] + "000000") if region_code else "",
            details={"rows": count, "full_ids": full_ids, "format": suffix[1:]},
        )
    return {"rows": count, "path": str(path), "full_ids": full_ids}
