"""Data-quality checks over the monitoring records of a region, as of a date (policy-research §6.3).

Each rule looks at the latest monitoring spell of every household as of the date (the spell with the
latest 识别监测时间 not after that month, leaving out spells still in identification review and those
not included), together with the household's measures, income and members. The checks are set-based:
a handful of queries for the whole region, whatever its size, then plain Python over the values.

Policy is data: the minimum months before elimination and the monitoring line are read from the
policy table for the year of each elimination. A year without a monitoring line is reported once as
``policy_missing`` instead of being guessed.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Q
from django.http import FileResponse
from django.shortcuts import render
from django.utils import timezone

from dixian.accounts.scoping import covers, scope_q, user_region
from dixian.core import audit
from dixian.core.deployment import jurisdiction_code
from dixian.core.errors import ValidationError
from dixian.monitoring.models import (
    DEVELOPMENT_KINDS,
    LEDGER_MEASURE_KIND,
    CaseStatus,
    IncomeSurvey,
    Measure,
    MeasureKind,
    MonitoringCase,
    PolicyKey,
    PolicyValue,
)
from dixian.monitoring.policy import PolicyMissing, policy, region_chain
from dixian.monitoring.services import month_of, months_between
from dixian.regions import selectors as regions
from dixian.registry.choices import EliminationMode, HouseholdType, MonitoringCategory, RiskType
from dixian.registry.models import Household, Person

# code -> (name, description). The order is the order of the summary.
RULES: dict[str, tuple[str, str]] = {
    "short_spell": (
        "识别至消除时间过短",
        "风险消除时距识别监测时间不足规定月数（政策参数“识别后至少监测月数”，取消除当年的值）",
    ),
    "assisted_without_measure": (
        "帮扶消除但无帮扶措施",
        "风险消除方式为帮扶消除，但既没有录入的帮扶措施，台账帮扶措施各列也为空",
    ),
    "income_below_line": (
        "消除时收入低于监测线",
        "风险已消除，但人均纯收入（最近一次收入调查，没有调查时按台账收入计算）低于消除当年的监测线",
    ),
    "illness_without_health_measure": (
        "因病消除但无健康类帮扶",
        "致贫/返贫风险含因病且风险已消除，但没有健康帮扶、社会帮扶或综合保障措施",
    ),
    "schooling_without_education_measure": (
        "因学消除但无教育类帮扶",
        "致贫/返贫风险含因学且风险已消除，但没有教育帮扶、义务教育保障或社会帮扶措施",
    ),
    "labour_with_safety_net_only": (
        "有劳动力但只有兜底保障",
        "风险未消除的监测户有普通劳动力或技能劳动力，已落实综合保障，但没有产业、就业、公益岗位、金融等开发式帮扶",
    ),
    "identified_without_measure": (
        "识别满一个月仍无帮扶措施",
        "风险未消除的监测户识别监测已满一个月，但没有任何帮扶措施",
    ),
    "category_type_mismatch": (
        "监测对象类别与户类型不符",
        "脱贫不稳定户只能是脱贫户，边缘易致贫户只能是一般农户",
    ),
    "unstable_work_without_labour": (
        "务工就业不稳但无劳动力",
        "致贫/返贫风险含因务工就业不稳，但家庭成员全部为无劳动力或丧失劳动力",
    ),
    "policy_missing": (
        "政策参数未设置",
        "检查所需的政策参数（如当年的监测线）尚未设置，相关户未作该项检查；请县级管理员在“政策参数”中填写",
    ),
}

LABOUR = ("普通劳动力", "技能劳动力")
NO_LABOUR = ("无劳动力", "丧失劳动力")
HEALTH_KINDS = {MeasureKind.HEALTH.value, MeasureKind.SOCIAL.value, MeasureKind.SAFETY_NET.value}
EDUCATION_KINDS = {
    MeasureKind.EDUCATION.value,
    MeasureKind.COMPULSORY_EDUCATION.value,
    MeasureKind.SOCIAL.value,
}
DEVELOPMENT = {k.value for k in DEVELOPMENT_KINDS}
# A kind is named as the ledger's column (健康帮扶, 综合保障 …), in ledger order.
KIND_LABELS = {kind.value: column for column, kind in LEDGER_MEASURE_KIND.items()}
SPELL_STATUSES_LEFT_OUT = (CaseStatus.REVIEWING, CaseStatus.REJECTED, CaseStatus.SUPERSEDED)
INCOME_FIELDS = (
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "business_expense",
    "size",
    "declared_size",
)


@dataclass(frozen=True)
class Finding:
    """One problem found. ``household_id`` and ``household_no`` are None for ``policy_missing``."""

    rule: str
    household_id: int | None
    household_no: str | None
    village_code: str
    message: str
    township_code: str = ""
    head_name: str = ""

    @property
    def rule_name(self) -> str:
        return RULES[self.rule][0]


def _ym(month: int | None) -> str:
    """202306 -> 2023年6月."""
    return f"{month // 100}年{month % 100}月" if month else "（未填）"


def _ymd(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _yuan(value: Decimal) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value == value.to_integral_value() else f"{value:.2f}"


def normalise_region(code: str) -> str:
    """A region code as given by a user (6-digit county or 12 digits) -> the 12-digit code, checked."""
    code = (code or "").strip()
    if not code.isdigit() or len(code) not in (2, 4, 6, 9, 12):
        raise ValidationError(f"区划代码“{code}”无效：应为 6 位（县）或 12 位数字")
    code = code.ljust(12, "0")
    regions.region_level(code)  # NotFound with a Chinese message for an unknown code
    return code


def _region_q(code: str, prefix: str = "") -> Q:
    level = regions.code_level(code)
    field = {
        "village": "village_code",
        "township": "township_code",
        "county": "county_code",
    }.get(level)
    if field:
        return Q(**{f"{prefix}{field}": code})
    keep = {"city": 4, "province": 2}.get(level)
    if keep:
        return Q(**{f"{prefix}county_code__startswith": code[:keep]})
    return Q(pk__in=[])


class _PolicyTable:
    """Policy values for many (place, year) pairs with few queries: ``policy()`` is asked once per
    distinct set of regions that hold a value for the key, which is usually once per year."""

    def __init__(self, key: str):
        self.key = key
        self.coded = set(PolicyValue.objects.filter(key=key).values_list("region_code", flat=True).distinct())
        self._cache: dict[tuple, object] = {}

    def get(self, place: str, year: int):
        """The Policy in force, or the PolicyMissing error."""
        sig = (place[:2], tuple(c for c in region_chain(place) if c in self.coded), year)
        if sig not in self._cache:
            try:
                self._cache[sig] = policy(self.key, place=place, on=year)
            except PolicyMissing as exc:
                self._cache[sig] = exc
        return self._cache[sig]


def _latest_spells(base: Q, as_of_month: int) -> dict[int, dict]:
    spells: dict[int, dict] = {}
    rows = (
        MonitoringCase.objects.filter(base, identified_month__lte=as_of_month)
        .exclude(status__in=SPELL_STATUSES_LEFT_OUT)
        .order_by("household_id", "identified_month", "created_at", "id")
        .values(
            "id",
            "household_id",
            "status",
            "category",
            "risks",
            "identified_month",
            "eliminated_month",
            "elimination_mode",
        )
    )
    for row in rows:
        spells[row["household_id"]] = row  # the last one of each household wins
    return spells


def run_checks(*, region_code: str, as_of: date, user=None) -> list[Finding]:
    """Every finding of every rule in ``RULES`` for the households of a region, as of a date.

    With a user, only households in the user's region are checked (denied means not found: a region
    outside the user's gives no findings).
    """
    code = normalise_region(region_code)
    as_of_month = month_of(as_of)
    base = _region_q(code, "household__") & scope_q(user, "household__")
    spells = _latest_spells(base, as_of_month)
    if not spells:
        return []
    household_ids = (
        MonitoringCase.objects.filter(base, identified_month__lte=as_of_month)
        .exclude(status__in=SPELL_STATUSES_LEFT_OUT)
        .order_by()
        .values("household_id")
    )
    households = {
        h["id"]: h
        for h in Household.objects.filter(pk__in=household_ids).values(
            "id", "household_no", "head_name", "village_code", "township_code", "household_type", "measures"
        )
    }
    # The ledger's income figures are needed only where a spell is eliminated.
    ledger_income = {
        row["id"]: row
        for row in Household.objects.filter(
            pk__in=MonitoringCase.objects.filter(
                base, identified_month__lte=as_of_month, status=CaseStatus.ELIMINATED
            )
            .order_by()
            .values("household_id")
        ).values("id", *INCOME_FIELDS)
    }
    kinds: dict[int, set[str]] = defaultdict(set)
    for hid, kind in (
        Measure.objects.filter(household_id__in=household_ids, start_date__lte=as_of)
        .order_by()
        .values_list("household_id", "kind")
        .distinct()
    ):
        kinds[hid].add(kind)
    for hid, h in households.items():
        for column, text in (h["measures"] or {}).items():
            if column in LEDGER_MEASURE_KIND and text is not None and str(text).strip():
                kinds[hid].add(LEDGER_MEASURE_KIND[column].value)
    members = {
        row["household_id"]: row
        for row in Person.objects.filter(household_id__in=household_ids, active=True)
        .order_by()
        .values("household_id")
        .annotate(
            total=Count("id"),
            labour=Count("id", filter=Q(labour_skill__in=LABOUR)),
            no_labour=Count("id", filter=Q(labour_skill__in=NO_LABOUR)),
        )
    }
    surveys: dict[int, dict] = {}
    for row in (
        IncomeSurvey.objects.filter(household_id__in=household_ids, window_end__lte=as_of_month)
        .order_by("household_id", "window_end", "recorded_at", "id")
        .values("household_id", "window_start", "window_end", "per_capita_net")
    ):
        surveys[row["household_id"]] = row  # the latest wins, as in services.latest_income
    min_months = _PolicyTable(PolicyKey.MIN_MONTHS_BEFORE_ELIMINATION)
    line = _PolicyTable(PolicyKey.MONITORING_LINE)
    missing: dict[tuple[str, int], dict] = {}

    findings: list[Finding] = []

    def add(rule: str, h: dict, message: str) -> None:
        findings.append(
            Finding(
                rule=rule,
                household_id=h["id"],
                household_no=h["household_no"],
                village_code=h["village_code"],
                message=message,
                township_code=h["township_code"],
                head_name=h["head_name"],
            )
        )

    def lacking(key: str, year: int, exc: PolicyMissing, what: str) -> None:
        entry = missing.setdefault((key, year), {"message": exc.message, "what": what, "households": 0})
        entry["households"] += 1

    for hid, spell in spells.items():
        h = households.get(hid)
        if h is None:
            continue
        have = kinds.get(hid, set())
        risks = set(spell["risks"] or [])
        ident, elim = spell["identified_month"], spell["eliminated_month"]
        eliminated = spell["status"] == CaseStatus.ELIMINATED and (elim is None or elim <= as_of_month)
        people = members.get(hid, {"total": 0, "labour": 0, "no_labour": 0})

        # Category and household type, on any spell.
        category, htype = spell["category"], h["household_type"]
        if category == MonitoringCategory.UNSTABLE_LIFTED and htype != HouseholdType.LIFTED:
            add(
                "category_type_mismatch",
                h,
                f"监测对象类别为脱贫不稳定户，但户类型为{_type_label(htype)}（脱贫不稳定户只能是脱贫户）",
            )
        elif category == MonitoringCategory.MARGINAL and htype != HouseholdType.ORDINARY:
            add(
                "category_type_mismatch",
                h,
                f"监测对象类别为边缘易致贫户，但户类型为{_type_label(htype)}（边缘易致贫户只能是一般农户）",
            )
        if (
            RiskType.UNSTABLE_WORK.value in risks
            and people["total"]
            and people["no_labour"] == people["total"]
        ):
            add(
                "unstable_work_without_labour",
                h,
                f"致贫/返贫风险为因务工就业不稳，但家中{people['total']}人均为无劳动力或丧失劳动力",
            )

        if eliminated:
            when = f"{_ym(elim)}消除" if elim else "风险已消除"
            if elim and ident:
                year = elim // 100
                got = min_months.get(h["village_code"], year)
                if isinstance(got, PolicyMissing):
                    lacking(PolicyKey.MIN_MONTHS_BEFORE_ELIMINATION, year, got, "识别至消除的月数")
                else:
                    months, need = months_between(ident, elim), int(got.value)
                    if months < need:
                        add(
                            "short_spell",
                            h,
                            f"{_ym(ident)}识别，{_ym(elim)}消除，仅{months}个月（应不少于{need}个月）",
                        )
            if spell["elimination_mode"] == EliminationMode.ASSISTED and not have:
                add(
                    "assisted_without_measure",
                    h,
                    f"{_ym(elim)}帮扶消除，但没有任何帮扶措施（录入的措施和台账帮扶措施列均为空）",
                )
            if elim:
                year = elim // 100
                income, source = _income(ledger_income.get(hid), surveys.get(hid))
                if income is not None:
                    got = line.get(h["village_code"], year)
                    if isinstance(got, PolicyMissing):
                        lacking(PolicyKey.MONITORING_LINE, year, got, "人均纯收入是否低于监测线")
                    elif income < got.value:
                        add(
                            "income_below_line",
                            h,
                            f"{_ym(elim)}消除，人均纯收入{income:.2f}元（{source}）低于"
                            f"{year}年监测线{_yuan(got.value)}元",
                        )
            if RiskType.ILLNESS.value in risks and not have & HEALTH_KINDS:
                add(
                    "illness_without_health_measure",
                    h,
                    f"致贫/返贫风险含因病，{when}，但没有健康帮扶、社会帮扶或综合保障措施（{_having(have)}）",
                )
            if RiskType.SCHOOLING.value in risks and not have & EDUCATION_KINDS:
                add(
                    "schooling_without_education_measure",
                    h,
                    f"致贫/返贫风险含因学，{when}，但没有教育帮扶、义务教育保障或社会帮扶措施"
                    f"（{_having(have)}）",
                )
        else:
            if people["labour"] and MeasureKind.SAFETY_NET.value in have and not have & DEVELOPMENT:
                add(
                    "labour_with_safety_net_only",
                    h,
                    f"风险未消除，家中有{people['labour']}名普通劳动力或技能劳动力，帮扶措施只有"
                    f"{_kinds_text(have)}，没有产业、就业、公益岗位、金融等开发式帮扶",
                )
            if ident and not have:
                months = months_between(ident, as_of_month)
                if months >= 1:
                    add(
                        "identified_without_measure",
                        h,
                        f"{_ym(ident)}识别，至{_ymd(as_of)}已{months}个月，仍没有任何帮扶措施",
                    )

    for (_key, year), entry in sorted(missing.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        findings.append(
            Finding(
                rule="policy_missing",
                household_id=None,
                household_no=None,
                village_code="",
                message=f"{entry['message']}；{year}年风险消除的{entry['households']}户未检查{entry['what']}",
            )
        )
    order = {rule: i for i, rule in enumerate(RULES)}
    findings.sort(key=lambda f: (order[f.rule], f.village_code, f.household_no or ""))
    return findings


TYPE_LABELS = dict(HouseholdType.choices)


def _type_label(value: str) -> str:
    return TYPE_LABELS.get(value) or value or "（未填）"


def _kinds_text(kinds: set[str]) -> str:
    """健康帮扶、综合保障 (the kinds a household has, in ledger order)."""
    return "、".join(label for kind, label in KIND_LABELS.items() if kind in kinds)


def _having(kinds: set[str]) -> str:
    return f"现有措施：{_kinds_text(kinds)}" if kinds else "没有任何帮扶措施"


def _income(h: dict | None, survey: dict | None) -> tuple[Decimal | None, str]:
    """The definition of services.latest_income over values: the latest survey, else the ledger."""
    if survey is not None:
        return survey["per_capita_net"], f"{survey['window_start']}-{survey['window_end']}收入调查"
    if h is None:
        return None, ""
    value = Household(**{f: h[f] for f in INCOME_FIELDS}).per_capita_income
    return (value, "台账收入") if value is not None else (None, "")


def summary(findings: list[Finding]) -> list[dict]:
    """Counts per rule, every rule listed: [{rule, name, description, count}]."""
    counts: dict[str, int] = defaultdict(int)
    for f in findings:
        counts[f.rule] += 1
    return [
        {"rule": rule, "name": name, "description": description, "count": counts.get(rule, 0)}
        for rule, (name, description) in RULES.items()
    ]


# ---------------------------------------------------------------------------------------------
# Excel


def write_quality_xlsx(findings: list[Finding], path, *, title: str | None = None) -> Path:
    """A workbook in Chinese: 汇总 (rule, name, count) and 问题清单 (one row per finding)."""
    path = Path(path)
    title = title or "防返贫监测数据质量检查"
    names = regions.names_for(
        {f.village_code for f in findings if f.village_code}
        | {f.township_code for f in findings if f.township_code}
    )
    wb = xlsxwriter.Workbook(str(path))
    head = wb.add_format({"bold": True, "font_size": 14})
    bold = wb.add_format({"bold": True, "bg_color": "#F3F4F6", "border": 1, "valign": "vcenter"})
    cell = wb.add_format({"border": 1, "valign": "top"})
    wrap = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    number = wb.add_format({"border": 1, "valign": "top", "num_format": "0"})

    ws = wb.add_worksheet("汇总")
    ws.merge_range(0, 0, 0, 3, title, head)
    for c, label in enumerate(("规则", "名称", "问题数", "说明")):
        ws.write_string(1, c, label, bold)
    rows = summary(findings)
    for r, row in enumerate(rows, start=2):
        ws.write_string(r, 0, row["rule"], cell)
        ws.write_string(r, 1, row["name"], cell)
        ws.write_number(r, 2, row["count"], number)
        ws.write_string(r, 3, row["description"], wrap)
    total = len(rows) + 2
    ws.write_string(total, 0, "合计", bold)
    ws.write_string(total, 1, "", bold)
    ws.write_number(total, 2, len(findings), bold)
    ws.write_string(total, 3, "", bold)
    ws.set_column(0, 0, 36)
    ws.set_column(1, 1, 26)
    ws.set_column(2, 2, 9)
    ws.set_column(3, 3, 80)
    ws.freeze_panes(2, 0)

    ws = wb.add_worksheet("问题清单")
    ws.merge_range(0, 0, 0, 5, title, head)
    for c, label in enumerate(("规则", "户编号", "户主", "乡镇", "村", "问题")):
        ws.write_string(1, c, label, bold)
    for r, f in enumerate(findings, start=2):
        ws.write_string(r, 0, f.rule_name, cell)
        ws.write_string(r, 1, f.household_no or "", cell)
        ws.write_string(r, 2, f.head_name, cell)
        ws.write_string(r, 3, names.get(f.township_code, f.township_code), cell)
        ws.write_string(r, 4, names.get(f.village_code, f.village_code), cell)
        ws.write_string(r, 5, f.message, wrap)
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 22)
    ws.set_column(2, 2, 10)
    ws.set_column(3, 4, 14)
    ws.set_column(5, 5, 90)
    ws.freeze_panes(2, 0)
    if findings:
        ws.autofilter(1, 0, len(findings) + 1, 5)
    wb.close()
    return path


def record_export(*, actor, region_code: str, as_of: date, path, count: int) -> None:
    """The export of findings (names of household heads) is recorded like the ledger export."""
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="quality.export",
            object_type="region",
            object_id=region_code,
            object_label=Path(path).name,
            county_code=region_code[:6] + "000000" if regions.code_level(region_code) else "",
            details={"as_of": as_of.isoformat(), "findings": count},
        )


# ---------------------------------------------------------------------------------------------
# Page (the URL is wired in monitoring/urls.py)


@login_required
def quality_page(request):
    """数据质量检查: counts per rule and the findings, as of a date; ``?format=xlsx`` downloads them."""
    user = request.user
    own = user_region(user) or jurisdiction_code()
    region_code = request.GET.get("region", "").strip() or own
    if region_code != own:
        region_code = normalise_region(region_code)
        if not covers(user, region_code):
            region_code = own
    today = timezone.localdate()
    error = ""
    raw = request.GET.get("as_of", "").strip()
    try:
        as_of = date.fromisoformat(raw) if raw else today
    except ValueError:
        as_of, error = today, f"日期“{raw}”无效，已按今天检查"
    findings = run_checks(region_code=region_code, as_of=as_of, user=user)
    region = regions.region_by_code(region_code)
    title = f"{region.short_name or region.name}防返贫监测数据质量检查（截至{_ymd(as_of)}）"
    if request.GET.get("format") == "xlsx":
        tmp = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
        tmp.close()
        write_quality_xlsx(findings, tmp.name, title=title)
        record_export(actor=user, region_code=region_code, as_of=as_of, path=tmp.name, count=len(findings))
        response = FileResponse(
            open(tmp.name, "rb"),
            as_attachment=True,
            filename=f"{region.short_name or region.name}-数据质量-{as_of:%Y%m%d}.xlsx",
        )
        Path(tmp.name).unlink(missing_ok=True)  # the open handle keeps the data until sent
        return response
    rule = request.GET.get("rule", "")
    shown = [f for f in findings if f.rule == rule] if rule in RULES else findings
    limit = 1000
    names = regions.names_for(
        {f.village_code for f in shown[:limit]} | {f.township_code for f in shown[:limit]}
    )
    rows = [
        {
            "f": f,
            "name": f.rule_name,
            "township": names.get(f.township_code, ""),
            "village": names.get(f.village_code, ""),
        }
        for f in shown[:limit]
    ]
    return render(
        request,
        "monitoring/quality.html",
        {
            "region": region,
            "region_code": region_code,
            "as_of": as_of,
            "error": error,
            "rules": summary(findings),
            "total": len(findings),
            "rule": rule if rule in RULES else "",
            "rows": rows,
            "shown": len(shown),
            "limit": limit,
        },
    )
