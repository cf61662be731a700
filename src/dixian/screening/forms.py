"""Forms of the early-warning pages: they parse the request into the services' arguments. What a rule
may say, what a verification needs and which file is refused is decided by the services, whose Chinese
messages are shown next to the form with the input kept."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms

from dixian.monitoring.models import PolicyKey
from dixian.registry.choices import HouseholdType, RiskType
from dixian.screening.feeds import SPECS, FeedType
from dixian.screening.models import (
    Aggregate,
    AlertRule,
    AlertStatus,
    Comparison,
    GroupBy,
    Population,
    Subject,
)
from dixian.screening.rules import HOUSEHOLD_FIGURES, OPS


class FeedUploadForm(forms.Form):
    feed_type = forms.ChoiceField(label="数据类型", choices=FeedType.choices)
    department = forms.CharField(label="部门", required=False, max_length=50)
    file = forms.FileField(label="文件", required=False)
    pending = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class AlertFilterForm(forms.Form):
    STATUSES = [
        ("", "全部"),
        ("open", "待核实"),
        ("closed", "已核实"),
        ("unassigned", "待分派"),
        (AlertStatus.INCLUDED, "已核实：纳入"),
        (AlertStatus.NOT_INCLUDED, "已核实：不纳入"),
        (AlertStatus.ALREADY, "已核实：已在监测/已帮扶"),
    ]
    status = forms.ChoiceField(required=False, choices=STATUSES)
    rule = forms.CharField(required=False, max_length=40)
    department = forms.CharField(required=False, max_length=50)
    township = forms.CharField(required=False, max_length=12)
    overdue = forms.BooleanField(required=False)


class VerifyForm(forms.Form):
    outcome = forms.ChoiceField(
        label="核实结论",
        required=False,
        choices=[(s.value, s.label) for s in AlertStatus if s != AlertStatus.OPEN],
    )
    risks = forms.MultipleChoiceField(label="风险类型", required=False, choices=RiskType.choices)
    note = forms.CharField(label="核实情况", required=False, widget=forms.Textarea)
    verified_on = forms.DateField(label="核实日期", required=False)
    household_type = forms.ChoiceField(
        label="户类型", required=False, choices=HouseholdType.choices, initial=HouseholdType.ORDINARY
    )


class AssignForm(forms.Form):
    village = forms.CharField(label="行政村", required=False, max_length=12)


class RunForm(forms.Form):
    as_of = forms.DateField(label="筛查日期", required=False)


class ReplayForm(forms.Form):
    as_of = forms.DateField(label="回放日期", required=False)
    run = forms.IntegerField(label="筛查批次", required=False)
    household_no = forms.CharField(label="户编号", required=False, max_length=40)
    id_number = forms.CharField(label="证件号码", required=False, max_length=40)


class PeriodForm(forms.Form):
    since = forms.DateField(label="起始日期", required=False)
    as_of = forms.DateField(label="统计日期", required=False)


# ---------------------------------------------------------------------------------------------
# Rules: a rule's fields as simple rows (filters, threshold terms), both ways


def term_kinds() -> list[tuple[str, str]]:
    """The kinds of threshold term: a constant, a share of a household figure or of a policy value."""
    out = [("const", "固定值")]
    out += [(k, f"{label}的百分比") for k, label in HOUSEHOLD_FIGURES.items()]
    out += [(f"policy:{k.value}", f"政策参数“{k.label}”的百分比") for k in PolicyKey]
    return out


YEARS = [(0, "当年"), (-1, "上一年"), (-2, "前两年")]
_SPLIT = re.compile(r"[、,，;；\s]+")


def _num(value, times: int = 1) -> str:
    """A stored number as the form shows it: 10000, 0.5 → 50 (percent when ``times`` is 100)."""
    try:
        d = Decimal(str(value)) * times
    except InvalidOperation:
        return str(value)
    return format(d.quantize(Decimal(1)) if d == d.to_integral() else d.normalize(), "f")


def rule_state(rule: AlertRule | None) -> dict:
    """The form's starting values from a rule version (or empty for a new rule)."""
    if rule is None:
        return {
            "code": "",
            "name": "",
            "enabled": True,
            "feed_type": FeedType.MEDICAL.value,
            "filters": [],
            "latest_only": False,
            "window_n": "12",
            "window_unit": "months",
            "subject": Subject.ANY.value,
            "group_by": GroupBy.HOUSEHOLD.value,
            "aggregate": Aggregate.EXISTS.value,
            "measure": "",
            "comparison": Comparison.GT.value,
            "terms": [],
            "population": Population.REGISTERED.value,
            "risk": "",
            "deadline_days": "15",
            "suppress_days": "90",
        }
    filters = []
    for cond in rule.filters or []:
        group = cond.get("any", [cond])
        for i, c in enumerate(group):
            value = c.get("value")
            filters.append(
                {
                    "join": "or" if i else "and",
                    "column": c.get("column", ""),
                    "op": c.get("op", "eq"),
                    "value": "、".join(str(v) for v in value) if isinstance(value, list) else str(value),
                }
            )
    terms = []
    for t in rule.threshold or []:
        if "const" in t:
            terms.append({"kind": "const", "value": _num(t["const"]), "year": "0"})
        else:
            terms.append({"kind": t["of"], "value": _num(t["factor"], 100), "year": str(t.get("year", 0))})
    window_n, unit = "", "months"
    if rule.window_months:
        window_n = str(rule.window_months)
    elif rule.window_days:
        window_n, unit = str(rule.window_days), "days"
    return {
        "code": rule.code,
        "name": rule.name,
        "enabled": rule.enabled,
        "feed_type": rule.feed_type,
        "filters": filters,
        "latest_only": rule.latest_only,
        "window_n": window_n,
        "window_unit": unit,
        "subject": rule.subject,
        "group_by": rule.group_by,
        "aggregate": rule.aggregate,
        "measure": rule.measure,
        "comparison": rule.comparison,
        "terms": terms,
        "population": rule.population,
        "risk": rule.risk,
        "deadline_days": str(rule.deadline_days),
        "suppress_days": str(rule.suppress_days),
    }


def state_from_post(post) -> dict:
    """The form's values as the user sent them (to show them again after a refusal)."""

    def rows(prefix: str, names: tuple[str, ...]) -> list[dict]:
        cols = {n: post.getlist(f"{prefix}_{n}") for n in names}
        n = max((len(v) for v in cols.values()), default=0)
        return [{k: (cols[k][i] if i < len(cols[k]) else "").strip() for k in names} for i in range(n)]

    g = post.get
    return {
        "code": g("code", "").strip(),
        "name": g("name", ""),
        "enabled": g("enabled") == "on",
        "feed_type": g("feed_type", ""),
        "filters": rows("filter", ("join", "column", "op", "value")),
        "latest_only": g("latest_only") == "on",
        "window_n": g("window_n", "").strip(),
        "window_unit": g("window_unit", "months"),
        "subject": g("subject", Subject.ANY),
        "group_by": g("group_by", GroupBy.HOUSEHOLD),
        "aggregate": g("aggregate", Aggregate.EXISTS),
        "measure": g("measure", ""),
        "comparison": g("comparison", Comparison.GT),
        "terms": rows("term", ("kind", "value", "year")),
        "population": g("population", ""),
        "risk": g("risk", ""),
        "deadline_days": g("deadline_days", "").strip(),
        "suppress_days": g("suppress_days", "").strip(),
        "effective_from": g("effective_from", "").strip(),
    }


def rule_fields(state: dict) -> dict:
    """save_rule's keyword arguments from the form's values; the service checks them."""
    filters: list = []
    for row in state["filters"]:
        if not row["column"]:
            continue
        op = row["op"]
        value: object = row["value"]
        if op in ("in", "not_in"):
            value = [v for v in _SPLIT.split(row["value"]) if v]
        cond = {"column": row["column"], "op": op, "value": value}
        if row["join"] == "or" and filters:
            last = filters[-1]
            if "any" in last:
                last["any"].append(cond)
            else:
                filters[-1] = {"any": [last, cond]}
        else:
            filters.append(cond)
    terms = []
    for row in state["terms"]:
        if not row["value"] and row["kind"] == "const":
            continue
        if row["kind"] == "const":
            terms.append({"const": row["value"]})
            continue
        try:
            factor: object = str(Decimal(row["value"]) / 100)
        except InvalidOperation:
            factor = row["value"]
        term = {"factor": factor, "of": row["kind"]}
        if row["kind"].startswith("policy:"):
            try:
                term["year"] = int(row["year"] or 0)
            except ValueError:
                term["year"] = row["year"]
        terms.append(term)
    window_months = window_days = None
    if state["window_n"]:
        if state["window_unit"] == "days":
            window_days = state["window_n"]
        else:
            window_months = state["window_n"]
    return {
        "name": state["name"],
        "enabled": state["enabled"],
        "feed_type": state["feed_type"],
        "filters": filters,
        "latest_only": state["latest_only"],
        "window_months": window_months,
        "window_days": window_days,
        "subject": state["subject"],
        "group_by": state["group_by"],
        "aggregate": state["aggregate"],
        "measure": state["measure"],
        "comparison": state["comparison"],
        "threshold": terms,
        "population": state["population"],
        "risk": state["risk"],
        "deadline_days": state["deadline_days"] or 15,
        "suppress_days": state["suppress_days"] or 0,
    }


def rule_choices() -> dict:
    """Everything the rule form's selects offer, with each feed type's columns and money columns."""
    return {
        "feed_types": FeedType.choices,
        "columns": {t: SPECS[t].columns for t in SPECS},
        "money": {t: SPECS[t].money for t in SPECS},
        "ops": list(OPS.items()),
        "subjects": Subject.choices,
        "group_bys": GroupBy.choices,
        "aggregates": Aggregate.choices,
        "comparisons": Comparison.choices,
        "populations": Population.choices,
        "risks": RiskType.choices,
        "term_kinds": term_kinds(),
        "years": YEARS,
    }
