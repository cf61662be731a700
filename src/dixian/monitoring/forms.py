"""Forms of the monitoring pages: they parse the request into the services' arguments. The rules (what
is required, what is allowed) live in the services, whose Chinese messages are shown on the page."""

from __future__ import annotations

import re

from django import forms

from dixian.monitoring.models import MeasureKind, PolicyKey
from dixian.monitoring.services import INCOME_FIELDS
from dixian.monitoring.workflow import Action, Step
from dixian.registry.choices import EliminationMode, HouseholdType, MonitoringCategory, RiskType


def form_errors(form: forms.Form) -> list[str]:
    """Django's parse errors as plain sentences: “发现日期：请输入有效的日期”."""
    out = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for e in errors:
            out.append(f"{label}：{e}" if label else str(e))
    return out


class LeadForm(forms.Form):
    target = forms.ChoiceField(
        label="户", choices=[("existing", "已登记的户"), ("new", "新录入一户")], initial="existing"
    )
    household = forms.IntegerField(label="户", required=False, widget=forms.HiddenInput)
    household_no = forms.CharField(label="户编号", required=False, max_length=40)
    village = forms.CharField(label="行政村", required=False, max_length=12)
    household_type = forms.ChoiceField(
        label="户类型", required=False, choices=[("", "")] + HouseholdType.choices
    )
    lifted_year = forms.IntegerField(label="脱贫年度", required=False, min_value=2013, max_value=2030)
    phone = forms.CharField(label="户联系电话", required=False, max_length=40)
    hamlet = forms.CharField(label="自然村", required=False, max_length=60)
    channel = forms.CharField(label="识别途径", required=False, max_length=30)
    description = forms.CharField(label="线索内容", required=False, widget=forms.Textarea)
    risks = forms.MultipleChoiceField(label="可能的风险", required=False, choices=RiskType.choices)
    reported_on = forms.DateField(label="发现日期", required=False)

    MEMBER_FIELDS = ("name", "id_number", "relation_to_head", "labour_skill")

    def members(self) -> list[dict]:
        """The member rows of the new household (Alpine sends them as parallel lists); rows without a name
        and an ID number are dropped."""
        cols = {f: self.data.getlist(f"member_{f}") for f in self.MEMBER_FIELDS}
        n = max((len(v) for v in cols.values()), default=0)
        rows = []
        for i in range(n):
            row = {f: (cols[f][i] if i < len(cols[f]) else "").strip() for f in self.MEMBER_FIELDS}
            if row["name"] or row["id_number"]:  # the selects always carry a value
                rows.append(row)
        return rows

    def new_household(self) -> dict:
        d = self.cleaned_data
        return {
            "village_code": d["village"],
            "household_type": d["household_type"],
            "lifted_year": d["lifted_year"] if d["household_type"] == HouseholdType.LIFTED else None,
            "phone": d["phone"].strip(),
            "hamlet": d["hamlet"].strip(),
            "members": self.members(),
        }


class StartForm(forms.Form):
    category = forms.ChoiceField(label="监测对象类别", required=False, choices=MonitoringCategory.choices)
    risks = forms.MultipleChoiceField(label="致贫/返贫风险", required=False, choices=RiskType.choices)
    comment = forms.CharField(label="说明", required=False, widget=forms.Textarea)
    fast_track = forms.BooleanField(label="绿色通道", required=False)
    measure_kind = forms.ChoiceField(
        label="措施类型", required=False, choices=[("", "")] + MeasureKind.choices
    )
    measure_content = forms.CharField(label="措施内容", required=False, max_length=300)
    measure_helper = forms.CharField(label="帮扶责任人", required=False, max_length=60)
    measure_amount = forms.CharField(label="金额", required=False, max_length=20)

    def measures(self) -> list[dict] | None:
        d = self.cleaned_data
        if not d["fast_track"]:
            return None
        if not any(d[f] for f in ("measure_kind", "measure_content", "measure_helper", "measure_amount")):
            return []
        return [
            {
                "kind": d["measure_kind"],
                "content": d["measure_content"],
                "helper_name": d["measure_helper"],
                "amount": d["measure_amount"] or None,
            }
        ]


class StepForm(forms.Form):
    action = forms.ChoiceField(
        label="操作", choices=[(a, a.label) for a in (Action.COMPLETE, Action.RETURN, Action.REJECT)]
    )
    comment = forms.CharField(label="意见", required=False, widget=forms.Textarea)
    consent_signed = forms.BooleanField(label="已签署承诺授权书", required=False)
    consent_file = forms.FileField(label="承诺授权书", required=False)
    findings = forms.CharField(label="核实情况", required=False, widget=forms.Textarea)
    result = forms.CharField(label="比对结果", required=False, widget=forms.Textarea)
    meeting_date = forms.CharField(label="评议日期", required=False, max_length=20)
    start = forms.CharField(label="公示开始日期", required=False, max_length=20)
    end = forms.CharField(label="公示结束日期", required=False, max_length=20)

    def step_data(self, step: str, kind: str) -> tuple[dict, list]:
        """What the step records, and the uploaded files as (name, file) pairs."""
        d = self.cleaned_data
        if d["action"] != Action.COMPLETE:
            return {}, []
        if step == Step.VERIFY:
            data = {"findings": d["findings"].strip()}
            files = []
            if kind == "identify":
                data["consent_signed"] = d["consent_signed"]
                if d["consent_file"] is not None:
                    files = [(d["consent_file"].name, d["consent_file"])]
            return data, files
        if step == Step.CROSS_CHECK:
            return {"result": d["result"].strip()}, []
        if step == Step.VILLAGE_REVIEW:
            return {"meeting_date": d["meeting_date"].strip()}, []
        if step == Step.PUBLICITY:
            return {"start": d["start"].strip(), "end": d["end"].strip()}, []
        return {}, []


class ObjectionForm(forms.Form):
    text = forms.CharField(label="异议内容", required=False, widget=forms.Textarea)
    raised_by = forms.CharField(label="提出人", required=False, max_length=100)
    raised_on = forms.DateField(label="提出日期", required=False)


class AnswerForm(forms.Form):
    objection = forms.IntegerField(label="异议")
    answer = forms.CharField(label="答复", required=False, widget=forms.Textarea)


class MeasureForm(forms.Form):
    kind = forms.ChoiceField(label="措施类型", required=False, choices=[("", "")] + MeasureKind.choices)
    content = forms.CharField(label="帮扶内容", required=False, max_length=300)
    amount = forms.CharField(label="金额（元）", required=False, max_length=20)
    start_date = forms.DateField(label="开始日期", required=False)
    end_date = forms.DateField(label="结束日期", required=False)
    funding_source = forms.CharField(label="资金来源", required=False, max_length=100)
    helper_name = forms.CharField(label="帮扶责任人", required=False, max_length=60)


_MONTH = re.compile(r"^(\d{4})-?(\d{1,2})$")


class IncomeForm(forms.Form):
    window_end = forms.CharField(label="统计截止年月", required=False, max_length=10)
    household_size = forms.IntegerField(label="家庭人数", required=False, min_value=1, max_value=99)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from dixian.monitoring.models import IncomeSurvey

        for name in INCOME_FIELDS:
            self.fields[name] = forms.CharField(
                label=IncomeSurvey._meta.get_field(name).verbose_name, required=False, max_length=20
            )

    def window(self) -> str:
        """“2024-06” (the month input) or “202406” → “202406”; anything else goes to the service as is."""
        raw = (self.cleaned_data["window_end"] or "").strip()
        m = _MONTH.match(raw)
        return f"{m.group(1)}{int(m.group(2)):02d}" if m else raw

    def amounts(self) -> dict:
        return {f: self.cleaned_data[f] for f in INCOME_FIELDS if (self.cleaned_data[f] or "").strip()}


CHECKLIST = [
    ("rigid_expense_resolved", "大额刚性支出（医疗、教育等）已稳定解决"),
    ("guarantees_secured", "“两不愁三保障”及饮水安全持续巩固"),
]


class EliminationForm(forms.Form):
    mode = forms.ChoiceField(
        label="风险消除方式", required=False, choices=[("", "")] + EliminationMode.choices
    )
    rigid_expense_resolved = forms.BooleanField(label=CHECKLIST[0][1], required=False)
    guarantees_secured = forms.BooleanField(label=CHECKLIST[1][1], required=False)
    comment = forms.CharField(label="说明", required=False, widget=forms.Textarea)

    def checklist(self) -> dict:
        return {k: bool(self.cleaned_data.get(k)) for k, _ in CHECKLIST}


class PolicyForm(forms.Form):
    key = forms.ChoiceField(label="参数", choices=PolicyKey.choices)
    region_code = forms.CharField(label="适用区域", max_length=12)
    year = forms.CharField(label="年度", max_length=4)
    value = forms.CharField(label="数值", max_length=20, required=False)
    source = forms.CharField(label="依据", max_length=200, required=False)
