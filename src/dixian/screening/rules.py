"""Screening rules as data: the default rules, the check of a rule's fields, its plain-language
description, the versions in force on a date, and the service that keeps a new version."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from dixian.accounts import permissions
from dixian.core import audit
from dixian.core.audit import as_actor
from dixian.core.errors import ValidationError
from dixian.monitoring.models import PolicyKey
from dixian.registry.choices import RiskType
from dixian.screening.feeds import SPECS, FeedType
from dixian.screening.models import (
    Aggregate,
    AlertRule,
    Comparison,
    GroupBy,
    Population,
    Subject,
)

OPS = {
    "in": "属于",
    "not_in": "不属于",
    "eq": "等于",
    "ne": "不等于",
    "gt": "大于",
    "ge": "不小于",
    "lt": "小于",
    "le": "不大于",
}
HOUSEHOLD_FIGURES = {
    "household_net_income": "该户年纯收入（最新人均纯收入×人数）",
}
DEFAULT_EFFECTIVE_FROM = date(2021, 1, 1)

RULE_FIELDS = [
    "name",
    "enabled",
    "feed_type",
    "filters",
    "latest_only",
    "window_months",
    "window_days",
    "subject",
    "group_by",
    "aggregate",
    "measure",
    "comparison",
    "threshold",
    "population",
    "risk",
    "deadline_days",
    "suppress_days",
]

_SEVERE_DAMAGE = {"column": "房屋损毁", "op": "in", "value": ["严重损坏", "倒塌"]}
_BIG_LOSS = {"column": "直接经济损失", "op": "gt", "value": "10000"}

# The defaults shipped for every feed type (issue 4; policy-research §3 and §14). All are data: the
# county administrator keeps new versions from a date on.
DEFAULT_RULES: list[dict] = [
    {
        "code": "medical_registered",
        "name": "在册农户医疗自付费用高",
        "feed_type": FeedType.MEDICAL,
        "window_months": 12,
        "group_by": GroupBy.HOUSEHOLD,
        "aggregate": Aggregate.SUM,
        "measure": "个人自付",
        "threshold": [{"const": "10000"}, {"factor": "0.5", "of": "household_net_income"}],
        "population": Population.REGISTERED,
        "risk": RiskType.ILLNESS,
    },
    {
        "code": "medical_unregistered",
        "name": "未在册人员医疗自付费用高",
        "feed_type": FeedType.MEDICAL,
        "window_months": 12,
        "group_by": GroupBy.PERSON,
        "aggregate": Aggregate.SUM,
        "measure": "个人自付",
        "threshold": [{"const": "20000"}],
        "population": Population.UNREGISTERED,
        "risk": RiskType.ILLNESS,
    },
    {
        "code": "disability_severe",
        "name": "在册人员新办一级、二级残疾人证",
        "feed_type": FeedType.DISABILITY,
        "filters": [{"column": "残疾等级", "op": "in", "value": ["一级", "二级"]}],
        "window_months": 12,
        "group_by": GroupBy.PERSON,
        "aggregate": Aggregate.NEW,
        "population": Population.REGISTERED,
        "risk": RiskType.DISABILITY,
        "suppress_days": 365,
    },
    {
        "code": "assistance_new",
        "name": "在册农户新纳入低保、特困或获临时救助",
        "feed_type": FeedType.ASSISTANCE,
        "filters": [{"column": "救助类型", "op": "in", "value": ["低保", "特困", "临时救助"]}],
        "window_months": 12,
        "group_by": GroupBy.HOUSEHOLD,
        "aggregate": Aggregate.NEW,
        "population": Population.REGISTERED,
        "risk": "",
        "suppress_days": 180,
    },
    {
        "code": "dropout",
        "name": "义务教育阶段在册学生辍学",
        "feed_type": FeedType.EDUCATION,
        "latest_only": True,
        "filters": [{"column": "状态", "op": "eq", "value": "辍学"}],
        "window_months": 12,
        "subject": Subject.SCHOOL_AGE,
        "group_by": GroupBy.PERSON,
        "aggregate": Aggregate.EXISTS,
        "population": Population.REGISTERED,
        "risk": RiskType.SCHOOLING,
    },
    {
        "code": "housing_unsafe",
        "name": "在册农户住房鉴定为C级或D级",
        "feed_type": FeedType.HOUSING,
        "latest_only": True,
        "filters": [{"column": "鉴定等级", "op": "in", "value": ["C", "D"]}],
        "group_by": GroupBy.HOUSEHOLD,
        "aggregate": Aggregate.EXISTS,
        "population": Population.REGISTERED,
        "risk": RiskType.HOUSING,
        "suppress_days": 365,
    },
    {
        "code": "water_cut",
        "name": "所在村断水超过30天",
        "feed_type": FeedType.WATER,
        "window_months": 12,
        "group_by": GroupBy.HOUSEHOLD,
        "aggregate": Aggregate.DAYS,
        "threshold": [{"const": "30"}],
        "population": Population.REGISTERED,
        "risk": RiskType.WATER,
    },
    {
        "code": "disaster_hit",
        "name": "在册农户受灾（房屋严重损坏、倒塌或损失超过1万元）",
        "feed_type": FeedType.DISASTER,
        "filters": [{"any": [_SEVERE_DAMAGE, _BIG_LOSS]}],
        "window_months": 12,
        "group_by": GroupBy.HOUSEHOLD,
        "aggregate": Aggregate.EXISTS,
        "population": Population.REGISTERED,
        "risk": RiskType.DISASTER,
        "suppress_days": 180,
    },
    {
        "code": "disaster_unregistered",
        "name": "未在册农户受灾（房屋严重损坏、倒塌或损失超过1万元）",
        "feed_type": FeedType.DISASTER,
        "filters": [{"any": [_SEVERE_DAMAGE, _BIG_LOSS]}],
        "window_months": 12,
        "group_by": GroupBy.PERSON,
        "aggregate": Aggregate.EXISTS,
        "population": Population.UNREGISTERED,
        "risk": RiskType.DISASTER,
        "suppress_days": 180,
    },
    {
        "code": "job_lost",
        "name": "在册农户唯一务工人员失业或务工中断",
        "feed_type": FeedType.EMPLOYMENT,
        "latest_only": True,
        "filters": [{"column": "状态", "op": "in", "value": ["失业", "务工中断"]}],
        "window_months": 6,
        "subject": Subject.ONLY_WORKER,
        "group_by": GroupBy.HOUSEHOLD,
        "aggregate": Aggregate.EXISTS,
        "population": Population.REGISTERED,
        "risk": RiskType.UNSTABLE_WORK,
    },
    {
        "code": "death_breadwinner",
        "name": "在册农户劳动年龄成员死亡",
        "feed_type": FeedType.CIVIL_REGISTRY,
        "filters": [{"column": "事件", "op": "eq", "value": "死亡"}],
        "window_months": 12,
        "subject": Subject.WORKING_AGE,
        "group_by": GroupBy.HOUSEHOLD,
        "aggregate": Aggregate.EXISTS,
        "population": Population.REGISTERED,
        "risk": RiskType.LACK_OF_LABOUR,
        "suppress_days": 365,
    },
]


# ---------------------------------------------------------------------------------------------
# Checking a rule


def _decimal(value, what: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{what}“{value}”不是数字") from None
    if not d.is_finite() or d < 0:
        raise ValidationError(f"{what}“{value}”不是有效的数字")
    return d


def _check_condition(cond, columns: list[str], depth: int = 0) -> None:
    if not isinstance(cond, dict):
        raise ValidationError("筛选条件的格式不对")
    if "any" in cond:
        if depth > 0 or not isinstance(cond["any"], list) or not cond["any"]:
            raise ValidationError("“或者”条件只能有一层，且至少包含一个条件")
        for c in cond["any"]:
            _check_condition(c, columns, depth + 1)
        return
    column, op, value = cond.get("column"), cond.get("op"), cond.get("value")
    if column not in columns:
        raise ValidationError(f"筛选条件中的列“{column}”不在该类数据中（可选：{'、'.join(columns)}）")
    if op not in OPS:
        raise ValidationError(f"筛选条件的比较方式“{op}”无法识别")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ValidationError(f"筛选条件“{column}{OPS[op]}”需要至少一个取值")
    elif op in ("gt", "ge", "lt", "le"):
        _decimal(value, f"筛选条件“{column}”的取值")
    elif value in (None, ""):
        raise ValidationError(f"筛选条件“{column}{OPS[op]}”需要一个取值")


def check_rule(data: dict) -> dict:
    """A rule's fields checked and normalised; ValidationError (in Chinese) for the first problem."""
    out = {k: data.get(k) for k in RULE_FIELDS if k in data}
    feed_type = out.get("feed_type")
    spec = SPECS.get(feed_type)
    if spec is None:
        raise ValidationError("请选择规则使用的数据类型")
    if not (out.get("name") or "").strip():
        raise ValidationError("请填写规则名称")
    out["name"] = out["name"].strip()
    columns = spec.columns
    filters = out.get("filters") or []
    if not isinstance(filters, list):
        raise ValidationError("筛选条件的格式不对")
    for cond in filters:
        _check_condition(cond, columns)
    out["filters"] = filters
    for key in ("window_months", "window_days"):
        v = out.get(key)
        if v in ("", None):
            out[key] = None
        else:
            try:
                out[key] = int(v)
            except (TypeError, ValueError):
                raise ValidationError("时间窗口必须是整数") from None
            if out[key] <= 0 or out[key] > 3660:
                raise ValidationError("时间窗口必须大于零")
    if out.get("window_months") and out.get("window_days"):
        raise ValidationError("时间窗口请按月或按天填写其一")
    for key, choices, label in (
        ("subject", Subject, "对象"),
        ("group_by", GroupBy, "汇总单位"),
        ("aggregate", Aggregate, "汇总方式"),
        ("comparison", Comparison, "比较方式"),
        ("population", Population, "适用人群"),
    ):
        if key in out and out[key] not in choices.values:
            raise ValidationError(f"{label}“{out[key]}”无法识别")
    if "population" not in out:
        raise ValidationError("请选择适用人群")
    aggregate = out.get("aggregate", Aggregate.EXISTS)
    measure = (out.get("measure") or "").strip()
    if aggregate in (Aggregate.SUM, Aggregate.MAX):
        if measure not in spec.money:
            raise ValidationError(
                f"“{Aggregate(aggregate).label}”需要选择一个金额列（{'、'.join(spec.money) or '该类数据没有金额列'}）"
            )
    else:
        measure = ""
    out["measure"] = measure
    if aggregate == Aggregate.DAYS and feed_type != FeedType.WATER:
        raise ValidationError("“持续天数”只适用于农村供水数据")
    if feed_type == FeedType.WATER and aggregate != Aggregate.DAYS:
        raise ValidationError("农村供水数据按断水持续天数筛查")
    if feed_type == FeedType.WATER and out.get("group_by") != GroupBy.HOUSEHOLD:
        raise ValidationError("农村供水数据按村提示到户，汇总单位请选“按户”")
    if out["population"] == Population.UNREGISTERED:
        if out.get("group_by") != GroupBy.PERSON:
            raise ValidationError("未在册人员只能按人汇总")
        if out.get("subject", Subject.ANY) != Subject.ANY:
            raise ValidationError("未在册人员没有户籍台账信息，对象只能是“任何人”")
        if feed_type == FeedType.WATER:
            raise ValidationError("农村供水数据不能用于未在册人员")
    terms = out.get("threshold") or []
    if not isinstance(terms, list):
        raise ValidationError("阈值的格式不对")
    clean = []
    for t in terms:
        if not isinstance(t, dict):
            raise ValidationError("阈值的格式不对")
        if "const" in t:
            clean.append({"const": str(_decimal(t["const"], "阈值"))})
            continue
        factor = str(_decimal(t.get("factor"), "阈值比例"))
        of = t.get("of") or ""
        if of in HOUSEHOLD_FIGURES:
            if out.get("group_by") != GroupBy.HOUSEHOLD or out["population"] == Population.UNREGISTERED:
                raise ValidationError("按户收入计算的阈值只适用于按户汇总的在册农户")
            clean.append({"factor": factor, "of": of})
        elif of.startswith("policy:") and of[7:] in PolicyKey.values:
            year = int(t.get("year", 0) or 0)
            if year not in (0, -1, -2):
                raise ValidationError("政策参数的年度只能是当年（0）或前一、两年（-1、-2）")
            clean.append({"factor": factor, "of": of, "year": year})
        else:
            raise ValidationError(f"阈值公式中的“{of}”无法识别")
    if aggregate in (Aggregate.SUM, Aggregate.MAX, Aggregate.COUNT, Aggregate.DAYS) and not clean:
        raise ValidationError(f"“{Aggregate(aggregate).label}”需要阈值")
    out["threshold"] = clean
    risk = out.get("risk") or ""
    if risk and risk not in RiskType.values:
        raise ValidationError(f"风险类型“{risk}”无法识别")
    out["risk"] = risk
    for key, label, lo, hi in (("deadline_days", "核实期限", 1, 365), ("suppress_days", "抑制期", 0, 3650)):
        if key in out:
            try:
                out[key] = int(out[key])
            except (TypeError, ValueError):
                raise ValidationError(f"{label}必须是整数天数") from None
            if not lo <= out[key] <= hi:
                raise ValidationError(f"{label}应在{lo}到{hi}天之间")
    return out


# ---------------------------------------------------------------------------------------------
# Plain-language description


def _fmt(value) -> str:
    d = Decimal(str(value))
    return format(d.quantize(Decimal(1)) if d == d.to_integral() else d.normalize(), "f")


def _describe_condition(cond) -> str:
    if "any" in cond:
        return "（" + "，或".join(_describe_condition(c) for c in cond["any"]) + "）"
    value = cond["value"]
    if isinstance(value, list):
        value = "、".join(str(v) for v in value)
    return f"{cond['column']}{OPS[cond['op']]}{value}"


def describe(rule) -> str:
    """The rule in one Chinese sentence a cadre can check, generated from its fields."""
    get = (lambda k: rule.get(k)) if isinstance(rule, dict) else (lambda k: getattr(rule, k))
    feed = FeedType(get("feed_type")).label
    parts = [f"在{SPECS[get('feed_type')].department}的{feed}数据中"]
    if get("window_months"):
        parts.append(f"筛查日前{get('window_months')}个月内")
    elif get("window_days"):
        parts.append(f"筛查日前{get('window_days')}天内")
    if get("latest_only"):
        parts.append("只看每人最新一条记录")
    filters = get("filters") or []
    if filters:
        parts.append("，".join(_describe_condition(c) for c in filters) + "的记录")
    population = Population(get("population")).label
    subject = get("subject") or Subject.ANY
    who = population if subject == Subject.ANY else f"{population}中{Subject(subject).label}的成员"
    unit = "同一人" if get("group_by") == GroupBy.PERSON else "同一户"
    aggregate = get("aggregate")
    terms = []
    for t in get("threshold") or []:
        if "const" in t:
            terms.append(
                f"{_fmt(t['const'])}{'天' if aggregate == Aggregate.DAYS else ('元' if get('measure') else '')}"
            )
        elif t["of"] in HOUSEHOLD_FIGURES:
            terms.append(f"{HOUSEHOLD_FIGURES[t['of']]}的{_fmt(Decimal(t['factor']) * 100)}%")
        else:
            key = t["of"][7:]
            year = {0: "当年", -1: "上一年", -2: "前两年"}[t.get("year", 0)]
            terms.append(f"{year}“{PolicyKey(key).label}”的{_fmt(Decimal(t['factor']) * 100)}%")
    cmp = Comparison(get("comparison") or Comparison.GT).label
    bound = f"{cmp}" + "，或".join(terms) if terms else ""
    if aggregate == Aggregate.SUM:
        what = f"{unit}{get('measure')}合计{bound}"
    elif aggregate == Aggregate.MAX:
        what = f"{unit}单笔{get('measure')}最高{bound}"
    elif aggregate == Aggregate.COUNT:
        what = f"{unit}记录条数{bound}"
    elif aggregate == Aggregate.NEW:
        what = f"{who}出现上一份文件中没有的记录"
    elif aggregate == Aggregate.DAYS:
        what = f"村断水持续天数{bound}，该村{who}"
    else:
        what = f"{who}有这样的记录"
    if aggregate in (Aggregate.SUM, Aggregate.MAX, Aggregate.COUNT):
        what = f"{who}，{what}"
    parts.append(what)
    risk = get("risk")
    tail = f"即预警，提示“{RiskType(risk).label}”风险" if risk else "即预警，风险类型由核实确定"
    if get("population") == Population.UNREGISTERED:
        tail += "（作为新农户的线索）"
    text = "，".join(parts) + f"，{tail}；{get('deadline_days') or 15}天内入户核实"
    if get("suppress_days"):
        text += (
            f"；同一{'人' if get('group_by') == GroupBy.PERSON else '户'}{get('suppress_days')}天内不重复预警"
        )
    return text + "。"


# ---------------------------------------------------------------------------------------------
# Versions in force


def rules_in_force(on: date) -> list[AlertRule]:
    """For each rule code, the version in force on ``on`` (the latest effective_from ≤ on), if enabled."""
    out = {}
    for rule in AlertRule.objects.filter(effective_from__lte=on).order_by("code", "-effective_from", "-id"):
        out.setdefault(rule.code, rule)
    return [r for r in out.values() if r.enabled]


def ensure_default_rules() -> int:
    """Create the default rules that do not exist yet (by code); returns how many were created."""
    have = set(AlertRule.objects.values_list("code", flat=True))
    made = 0
    for d in DEFAULT_RULES:
        if d["code"] in have:
            continue
        fields = check_rule({"comparison": Comparison.GT, "deadline_days": 15, "suppress_days": 90, **d})
        rule = AlertRule(
            code=d["code"], effective_from=DEFAULT_EFFECTIVE_FROM, created_by="系统默认", **fields
        )
        rule.description = describe(rule)
        rule.save()
        made += 1
    return made


@transaction.atomic
def save_rule(*, actor, code: str, effective_from: date, **fields) -> AlertRule:
    """Keep a new version of rule ``code`` in force from ``effective_from`` (county administrator).

    Versions are never edited: a change is a new version from a date, so a replay of a past date uses
    the rules then in force. A version for a date that already has one is refused.
    """
    actor = as_actor(actor)
    permissions.require(actor.user, permissions.MANAGE_RULES)
    code = (code or "").strip()
    if not code or not code.replace("_", "").isalnum() or not code.isascii():
        raise ValidationError("规则代码只能由英文字母、数字和下划线组成")
    if not isinstance(effective_from, date):
        raise ValidationError("请填写生效日期")
    previous = AlertRule.objects.filter(code=code).order_by("-effective_from").first()
    base = {k: getattr(previous, k) for k in RULE_FIELDS} if previous else {}
    data = check_rule(
        {"comparison": Comparison.GT, "deadline_days": 15, "suppress_days": 90, **base, **fields}
    )
    if AlertRule.objects.filter(code=code, effective_from=effective_from).exists():
        raise ValidationError(f"规则“{code}”在{effective_from:%Y-%m-%d}已有一个版本；请换一个生效日期")
    if previous and previous.feed_type != data["feed_type"]:
        raise ValidationError("规则的数据类型不能改变；请新建一条规则")
    rule = AlertRule(
        code=code,
        effective_from=effective_from,
        created_by=actor.name,
        created_at=timezone.now(),
        **data,
    )
    rule.description = describe(rule)
    rule.save()
    changes = [(k, base.get(k), data.get(k)) for k in RULE_FIELDS if base.get(k) != data.get(k)]
    audit.record(
        actor=actor,
        action="rule.save",
        object_type="alert_rule",
        object_id=rule.pk,
        object_label=f"{rule.name}（{effective_from:%Y-%m-%d}起）",
        changes=changes,
        details={"code": code, "effective_from": effective_from.isoformat()},
    )
    return rule
