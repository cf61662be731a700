"""Pages of dynamic monitoring. Thin: parse the request (forms), call a selector or a service, render.

Refusals of the services (ValidationError, PermissionDenied) are shown in red above the form, with the
user's input kept; objects outside the user's region are not found (404) through the selectors."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dixian.core.errors import NotFound, PermissionDenied, ValidationError
from dixian.monitoring import selectors, services
from dixian.monitoring.forms import (
    CHECKLIST,
    AnswerForm,
    EliminationForm,
    IncomeForm,
    LeadForm,
    MeasureForm,
    ObjectionForm,
    PolicyForm,
    StartForm,
    StepForm,
    form_errors,
)
from dixian.monitoring.models import (
    CaseStatus,
    IncomeSurvey,
    Lead,
    MeasureKind,
    PolicyKey,
    Review,
    ReviewKind,
)
from dixian.monitoring.services import INCOME_FIELDS
from dixian.monitoring.workflow import ROLE_NAMES, STEPS, Action, Step
from dixian.registry import selectors as registry
from dixian.registry.choices import (
    LABOUR_SKILLS,
    RELATIONS,
    EliminationMode,
    HouseholdType,
    MonitoringCategory,
    RiskType,
)

REFUSALS = (ValidationError, PermissionDenied)


def _risk_labels(codes) -> list[str]:
    return [RiskType(r).label if r in RiskType.values else r for r in codes or []]


def _label(choices, value) -> str:
    return dict(choices).get(value, value or "")


def _ymd(value) -> str:
    try:
        d = value if isinstance(value, date) else date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return str(value)
    return f"{d.year}年{d.month}月{d.day}日"


def _ym(month: int) -> str:
    return f"{month // 100}年{month % 100}月"


def _place(household) -> str:
    names = selectors.region_names([household.township_code, household.village_code])
    return " ".join(names.get(c, "") for c in (household.township_code, household.village_code)).strip()


def _village_labels(user, village_codes) -> dict[str, str]:
    """{village code: name}: “梁家沟村” for a village account, “乐平镇 梁家沟村” above it."""
    from dixian.accounts.scoping import user_region
    from dixian.regions.selectors import code_level

    codes = {c for c in village_codes if c}
    own = user_region(user)
    with_township = own is None or code_level(own) not in ("village", "township")
    names = selectors.region_names(codes | ({c[:9] + "000" for c in codes} if with_township else set()))
    return {
        c: (f"{names.get(c[:9] + '000', '')} {names.get(c, c)}".strip() if with_township else names.get(c, c))
        for c in codes
    }


# ---------------------------------------------------------------------------------------------
# 待办


@login_required
def inbox(request):
    box = selectors.inbox(request.user)
    codes = {i.review.village_code for g in box.groups for i in g.items} | {x.village_code for x in box.leads}
    names = _village_labels(request.user, codes)
    for g in box.groups:
        for i in g.items:
            i.village = names.get(i.review.village_code, "")
    return render(
        request,
        "monitoring/inbox.html",
        {
            "box": box,
            "leads": [(x, names.get(x.village_code, "")) for x in box.leads],
            "today": timezone.localdate(),
            "my_steps": [Step(s).label for s in selectors.steps_for(request.user)],
            "can_write": selectors.can_write(request.user),
        },
    )


# ---------------------------------------------------------------------------------------------
# 风险线索


@login_required
def lead_list(request):
    g = request.GET
    status = g.get("status", "") if g.get("status", "") in Lead.Status.values else ""
    qs = selectors.leads(request.user, status=status, channel=g.get("channel", ""))
    page = Paginator(qs, 50).get_page(g.get("page"))
    names = _village_labels(request.user, {x.village_code for x in page})
    rows = [
        {"lead": x, "village": names.get(x.village_code, ""), "risks": _risk_labels(x.risks)} for x in page
    ]
    params = g.copy()
    params.pop("page", None)
    return render(
        request,
        "monitoring/lead_list.html",
        {
            "page": page,
            "rows": rows,
            "filters": g,
            "params": params.urlencode(),
            "statuses": Lead.Status.choices,
            "channels": selectors.channels(),
            "can_write": selectors.can_write(request.user),
        },
    )


def _lead_context(request, form, household, error: list[str]) -> dict:
    members = form.members() if form.is_bound else []
    if not members:
        members = [{"name": "", "id_number": "", "relation_to_head": "户主", "labour_skill": ""}]
    data = form.data if form.is_bound else form.initial
    return {
        "form": form,
        "data": data,
        "alpine": {
            "target": "new" if data.get("target") == "new" else "existing",
            "type": data.get("household_type") if data.get("household_type") in HouseholdType.values else "",
        },
        "household": household,
        "household_place": _place(household) if household is not None else "",
        "errors": error,
        "channels": selectors.channels(),
        "risk_choices": RiskType.choices,
        "checked_risks": form.data.getlist("risks") if form.is_bound else [],
        "villages": selectors.villages_for(request.user),
        "types": HouseholdType.choices,
        "members": members,
        "relations": RELATIONS,
        "labour_skills": LABOUR_SKILLS,
        "today": timezone.localdate().isoformat(),
        "can_write": selectors.can_write(request.user),
    }


@login_required
def lead_new(request):
    household = None
    hid = request.POST.get("household") or request.GET.get("household")
    if hid:
        try:
            household = registry.household_get(user=request.user, pk=int(hid))
        except ValueError:
            raise NotFound("户不存在或不在您的管辖范围内") from None
    if request.method != "POST":
        initial = {"target": "existing", "reported_on": timezone.localdate().isoformat()}
        form = LeadForm(initial=initial)
        return render(request, "monitoring/lead_new.html", _lead_context(request, form, household, []))
    form = LeadForm(request.POST)
    errors = form_errors(form) if not form.is_valid() else []
    if not errors:
        d = form.cleaned_data
        try:
            target, new = None, None
            if d["target"] == "new":
                new = form.new_household()
            elif household is not None:
                target = household
            elif d["household_no"].strip():
                try:
                    target = registry.household_by_no(
                        user=request.user, household_no=d["household_no"].strip()
                    )
                except NotFound:
                    raise ValidationError(
                        f"户编号“{d['household_no'].strip()}”不存在或不在您的管辖范围内"
                    ) from None
            lead = services.record_lead(
                actor=request.user,
                channel=d["channel"],
                description=d["description"],
                household=target,
                new_household=new,
                risks=d["risks"],
                reported_on=d["reported_on"],
            )
        except (*REFUSALS, NotFound) as exc:
            errors = [exc.message]
        else:
            messages.success(request, f"已记录风险线索：{lead.household.head_name}户（{lead.channel.label}）")
            return redirect("monitoring:lead", pk=lead.pk)
    return render(request, "monitoring/lead_new.html", _lead_context(request, form, household, errors))


@login_required
@require_GET
def household_lookup(request):
    """htmx: who a typed 户编号 is, before the lead is recorded."""
    no = request.GET.get("household_no", "").strip()
    if not no:
        return HttpResponse("")
    try:
        h = registry.household_by_no(user=request.user, household_no=no)
    except NotFound:
        return HttpResponse('<span class="err-text">没有找到该户编号（或不在您的管辖范围内）</span>')
    return render(request, "monitoring/_household_found.html", {"h": h, "place": _place(h)})


def _categories_for(household) -> list[tuple[str, str]]:
    allowed = {
        HouseholdType.LIFTED: [MonitoringCategory.UNSTABLE_LIFTED, MonitoringCategory.SUDDEN_HARDSHIP],
        HouseholdType.ORDINARY: [MonitoringCategory.MARGINAL, MonitoringCategory.SUDDEN_HARDSHIP],
    }.get(household.household_type, list(MonitoringCategory))
    return [(c.value, c.label) for c in allowed]


@login_required
def lead_detail(request, pk: int):
    lead = selectors.lead_get(request.user, pk)
    household = lead.household
    errors: list[str] = []
    form = StartForm(initial={"risks": lead.risks})
    if request.method == "POST" and request.POST.get("close") == "1":
        try:
            services.close_lead(actor=request.user, lead=lead, reason=request.POST.get("reason", ""))
        except REFUSALS as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "线索已办结：核实后不纳入监测")
        return redirect("monitoring:lead", pk=lead.pk)
    if request.method == "POST":
        form = StartForm(request.POST)
        errors = form_errors(form) if not form.is_valid() else []
        if not errors:
            d = form.cleaned_data
            try:
                review = services.start_identification(
                    actor=request.user,
                    lead=lead,
                    category=d["category"],
                    risks=d["risks"],
                    fast_track=d["fast_track"],
                    measures=form.measures(),
                    comment=d["comment"],
                )
            except REFUSALS as exc:
                errors = [exc.message]
            else:
                if review.fast_track:
                    messages.success(request, "已通过绿色通道先行审定，纳入监测；其余环节请在时限内补办")
                else:
                    messages.success(request, "已发起识别，进入“入户核实”环节")
                return redirect("monitoring:review", pk=review.pk)
    lead_reviews = [
        {"r": r, "step": Step(r.step).label if r.step in Step.values else r.step}
        for c in lead.cases.prefetch_related("reviews").order_by("created_at")
        for r in c.reviews.all()
    ]
    data = form.data if form.is_bound else {}
    return render(
        request,
        "monitoring/lead_detail.html",
        {
            "lead": lead,
            "h": household,
            "place": _place(household),
            "risks": _risk_labels(lead.risks),
            "reviews": lead_reviews,
            "form": form,
            "data": data,
            "errors": errors,
            "categories": _categories_for(household),
            "risk_choices": RiskType.choices,
            "checked_risks": form.data.getlist("risks") if form.is_bound else list(lead.risks),
            "measure_kinds": MeasureKind.choices,
            "can_start": lead.status == Lead.Status.NEW and selectors.can_write(request.user),
            "can_fast_track": selectors.can_fast_track(request.user),
        },
    )


# ---------------------------------------------------------------------------------------------
# 审核


def describe(data: dict) -> list[tuple[str, str]]:
    """A decision's record in words: 承诺授权书 已签署, 公示日期 …至…（共7天）."""
    d = data or {}
    out = []
    if d.get("category"):
        out.append(("监测对象类别", _label(MonitoringCategory.choices, d["category"])))
    if d.get("risks"):
        out.append(("致贫/返贫风险", "、".join(_risk_labels(d["risks"]))))
    if d.get("mode"):
        out.append(("风险消除方式", _label(EliminationMode.choices, d["mode"])))
    if isinstance(d.get("checklist"), dict):
        for key, label in CHECKLIST:
            out.append((label, "已确认" if d["checklist"].get(key) else "未确认"))
    if "consent_signed" in d:
        out.append(("承诺授权书", "已签署" if d["consent_signed"] else "未签署"))
    if d.get("findings"):
        out.append(("核实情况", d["findings"]))
    if d.get("result"):
        out.append(("比对结果", d["result"]))
    if d.get("meeting_date"):
        out.append(("评议日期", _ymd(d["meeting_date"])))
    if d.get("start") and d.get("end"):
        try:
            days = (date.fromisoformat(d["end"]) - date.fromisoformat(d["start"])).days + 1
            out.append(("公示日期", f"{_ymd(d['start'])}至{_ymd(d['end'])}（共{days}天）"))
        except ValueError:
            out.append(("公示日期", f"{d['start']}至{d['end']}"))
    if d.get("raised_by"):
        out.append(("提出人", d["raised_by"]))
    if d.get("fast_track"):
        out.append(("绿色通道", "是"))
    return out


def _timeline(review: Review, decisions) -> list[dict]:
    out = []
    for d in decisions:
        step = Step(d.step).label if d.step in Step.values else d.step
        action = Action(d.action).label if d.action in Action.values else d.action
        if d.action == Action.START:  # the opening of the review, not a step of it
            step, action = ("发起识别" if review.kind == ReviewKind.IDENTIFY else "申请风险消除"), ""
        out.append(
            {
                "d": d,
                "role": d.actor.role_label if d.actor_id and d.actor else "",
                "step": step,
                "action": action,
                "rows": describe(d.data),
            }
        )
    return out


def _proposal(review: Review) -> list[tuple[str, str]]:
    p = review.proposal or {}
    if review.kind == ReviewKind.IDENTIFY:
        return [
            ("监测对象类别", _label(MonitoringCategory.choices, p.get("category", ""))),
            ("致贫/返贫风险", "、".join(_risk_labels(p.get("risks", [])))),
        ]
    rows = [("风险消除方式", _label(EliminationMode.choices, p.get("mode", "")))]
    for key, label in CHECKLIST:
        rows.append((label, "已确认" if (p.get("checklist") or {}).get(key) else "未确认"))
    return rows


def _review_page(request, review: Review, *, errors=(), form=None, op: str = "") -> HttpResponse:
    case = review.case
    household = case.household
    decisions = selectors.review_decisions(review)
    step = selectors.actionable_step(review)
    can_act = (
        step is not None
        and selectors.can_write(request.user)
        and selectors.may_take(request.user, step, household.village_code)
    )
    publicity_min = None
    if step == Step.PUBLICITY:
        found = selectors.policy_in_force(
            PolicyKey.MIN_PUBLICITY_DAYS, place=household.village_code, on=timezone.localdate()
        )
        if found is not None:
            value, region, year = found
            name = (
                "全国" if region == "000000000000" else selectors.region_names([region]).get(region, region)
            )
            publicity_min = {"days": int(value), "where": name, "year": year}
    criteria = None
    if review.kind == ReviewKind.ELIMINATE and review.state == Review.State.OPEN:
        criteria = services.elimination_criteria(
            case,
            mode=review.proposal.get("mode", ""),
            checklist=review.proposal.get("checklist", {}),
            on=timezone.localdate(),
        )
    objections = selectors.review_objections(review)
    line = selectors.policy_in_force(
        PolicyKey.MONITORING_LINE, place=household.village_code, on=timezone.localdate()
    )
    data = form.data if form is not None and form.is_bound else {}
    return render(
        request,
        "monitoring/review_detail.html",
        {
            "review": review,
            "case": case,
            "h": household,
            "place": _place(household),
            "proposal": _proposal(review),
            "lead": case.lead if case.lead_id else None,
            "line": {"value": line[0], "year": line[2]} if line else None,
            "year": timezone.localdate().year,
            "progress": selectors.review_progress(review, decisions),
            "timeline": _timeline(review, decisions),
            "objections": objections,
            "open_objections": [o for o in objections if o.answered_at is None],
            "step": step,
            "step_label": Step(step).label if step else "",
            "who_acts": ROLE_NAMES.get(step, "") if step else "",
            "after_the_fact": review.state == Review.State.APPROVED,
            "first_step": step == STEPS[0],
            "can_act": can_act,
            "publicity_min": publicity_min,
            "criteria": criteria,
            "errors": list(errors),
            "op": op,
            "data": data,
            "act": data if op == "act" else {},
            "today": timezone.localdate().isoformat(),
        },
    )


@login_required
def review_detail(request, pk: int):
    review = selectors.review_get(request.user, pk)
    if request.method != "POST":
        return _review_page(request, review)
    op = request.POST.get("op", "act")
    if op == "object":
        form = ObjectionForm(request.POST)
    elif op == "answer":
        form = AnswerForm(request.POST)
    else:
        op, form = "act", StepForm(request.POST, request.FILES)
    if not form.is_valid():
        return _review_page(request, review, errors=form_errors(form), form=form, op=op)
    d = form.cleaned_data
    try:
        if op == "object":
            services.raise_objection(
                actor=request.user,
                review=review,
                text=d["text"],
                raised_by=d["raised_by"].strip(),
                raised_on=d["raised_on"],
            )
            done = "已登记公示异议；答复后才能办结公示"
        elif op == "answer":
            objection = review.objections.filter(pk=d["objection"]).first()
            if objection is None:
                raise NotFound("异议不存在")
            services.answer_objection(actor=request.user, objection=objection, answer=d["answer"])
            done = "已答复异议"
        else:
            step = request.POST.get("step", "")
            step = step if step in STEPS else selectors.actionable_step(review)
            data, files = form.step_data(step, review.kind)
            review = services.act(
                actor=request.user,
                review=review,
                action=d["action"],
                comment=d["comment"].strip(),
                data=data,
                files=files,
                step=step,
            )
            done = f"“{Step(step).label}”已办理：{Action(d['action']).label}"
            if (
                review.state == Review.State.APPROVED
                and d["action"] == Action.COMPLETE
                and step == Step.COUNTY_APPROVAL
            ):
                done += "。审核已审定" + (
                    "，已纳入监测" if review.kind == ReviewKind.IDENTIFY else "，风险已消除"
                )
    except REFUSALS as exc:
        return _review_page(request, review, errors=[exc.message], form=form, op=op)
    messages.success(request, done)
    return redirect("monitoring:review", pk=review.pk)


@login_required
def attachment(request, pk: int):
    att = selectors.attachment_get(request.user, pk)
    try:
        handle = att.file.open("rb")
    except FileNotFoundError:
        raise NotFound("附件文件已不存在") from None
    return FileResponse(handle, as_attachment=True, filename=att.name)


# ---------------------------------------------------------------------------------------------
# 风险消除


@login_required
def eliminate(request, pk: int):
    case = selectors.case_get(request.user, pk)
    source = request.POST if request.method == "POST" else request.GET
    form = EliminationForm(source)
    form.is_valid()
    d = getattr(form, "cleaned_data", {})
    mode, checklist = d.get("mode", ""), form.checklist()
    errors: list[str] = []
    if request.method == "POST":
        try:
            review = services.propose_elimination(
                actor=request.user, case=case, mode=mode, checklist=checklist, comment=d.get("comment", "")
            )
        except REFUSALS as exc:
            errors = [exc.message]
        else:
            messages.success(request, "已申请风险消除，进入“入户核实”环节")
            return redirect("monitoring:review", pk=review.pk)
    criteria = services.elimination_criteria(case, mode=mode, checklist=checklist, on=timezone.localdate())
    context = {
        "case": case,
        "h": case.household,
        "criteria": criteria,
        "all_ok": all(c.ok for c in criteria),
        "mode": mode,
        "checklist": checklist,
        "checklist_items": [(k, label, checklist.get(k)) for k, label in CHECKLIST],
        "modes": EliminationMode.choices,
        "comment": d.get("comment", ""),
        "errors": errors,
        "can_propose": case.status == CaseStatus.MONITORED and selectors.can_write(request.user),
        "risks": _risk_labels(case.risks),
        "open_review": case.reviews.filter(state=Review.State.OPEN).first(),
    }
    if request.headers.get("HX-Request"):
        return render(request, "monitoring/_criteria.html", context)
    return render(request, "monitoring/eliminate.html", context)


# ---------------------------------------------------------------------------------------------
# 帮扶措施、收入


@login_required
def measure_new(request, pk: int):
    household = registry.household_get(user=request.user, pk=pk)
    errors: list[str] = []
    form = MeasureForm(initial={"start_date": timezone.localdate().isoformat()})
    if request.method == "POST":
        form = MeasureForm(request.POST)
        errors = form_errors(form) if not form.is_valid() else []
        if not errors:
            d = form.cleaned_data
            try:
                services.record_measure(
                    actor=request.user,
                    household=household,
                    kind=d["kind"],
                    content=d["content"],
                    helper_name=d["helper_name"],
                    start_date=d["start_date"],
                    end_date=d["end_date"],
                    amount=d["amount"] or None,
                    funding_source=d["funding_source"].strip(),
                )
            except REFUSALS as exc:
                errors = [exc.message]
            else:
                messages.success(request, "已录入帮扶措施")
                return redirect(reverse("web:household", args=[household.pk]) + "#measures")
    return render(
        request,
        "monitoring/measure_new.html",
        {
            "h": household,
            "form": form,
            "data": form.data if form.is_bound else form.initial,
            "errors": errors,
            "kinds": MeasureKind.choices,
            "can_write": selectors.can_write(request.user),
        },
    )


INCOME_GROUPS = [
    ("收入", ["wage_income", "business_income", "property_income"]),
    (
        "转移性收入",
        [
            "transfer_family_planning",
            "transfer_dibao",
            "transfer_tekun",
            "transfer_pension",
            "transfer_eco",
            "transfer_other",
        ],
    ),
    ("支出及其他", ["business_expense", "compliant_out_of_pocket", "insurance_claims"]),
]
assert sorted(f for _, fs in INCOME_GROUPS for f in fs) == sorted(INCOME_FIELDS)


@login_required
def income_new(request, pk: int):
    household = registry.household_get(user=request.user, pk=pk)
    today = timezone.localdate()
    last = (today.year * 12 + today.month - 2) // 12, (today.year * 12 + today.month - 2) % 12 + 1
    errors: list[str] = []
    form = IncomeForm(
        initial={
            "window_end": f"{last[0]}-{last[1]:02d}",
            "household_size": household.members.filter(active=True).count() or None,
        }
    )
    if request.method == "POST":
        form = IncomeForm(request.POST)
        errors = form_errors(form) if not form.is_valid() else []
        if not errors:
            try:
                survey = services.record_income(
                    actor=request.user,
                    household=household,
                    window_end=form.window(),
                    household_size=form.cleaned_data["household_size"],
                    **form.amounts(),
                )
            except REFUSALS as exc:
                errors = [exc.message]
            else:
                messages.success(
                    request,
                    f"已录入{_ym(survey.window_start)}至{_ym(survey.window_end)}收入调查："
                    f"人均纯收入{survey.per_capita_net:,.2f}元",
                )
                return redirect(reverse("web:household", args=[household.pk]) + "#income")
    labels = {f: IncomeSurvey._meta.get_field(f).verbose_name for f in INCOME_FIELDS}
    data = form.data if form.is_bound else form.initial
    groups = [(name, [(f, labels[f], data.get(f, "")) for f in fields]) for name, fields in INCOME_GROUPS]
    return render(
        request,
        "monitoring/income_new.html",
        {
            "h": household,
            "form": form,
            "data": data,
            "groups": groups,
            "errors": errors,
            "max_month": f"{today.year}-{today.month:02d}",
            "can_write": selectors.can_write(request.user),
        },
    )


# ---------------------------------------------------------------------------------------------
# 政策参数


@login_required
def policy_page(request):
    user = request.user
    editable = selectors.editable_regions(user)
    errors: list[str] = []
    g = request.GET
    data = {
        "key": g.get("key", PolicyKey.MONITORING_LINE),
        "region_code": g.get("region", editable[-1][0] if editable else ""),
        "year": g.get("year", str(timezone.localdate().year)),
        "value": g.get("value", ""),
        "source": g.get("source", ""),
    }
    if request.method == "POST":
        form = PolicyForm(request.POST)
        data = request.POST
        errors = form_errors(form) if not form.is_valid() else []
        if not errors:
            d = form.cleaned_data
            try:
                row = services.set_policy_value(
                    actor=user,
                    key=d["key"],
                    region_code=d["region_code"],
                    year=d["year"],
                    value=d["value"],
                    source=d["source"].strip(),
                )
            except REFUSALS as exc:
                errors = [exc.message]
            else:
                shown = f"{row.value:.2f}".rstrip("0").rstrip(".")
                messages.success(request, f"已保存：{row.get_key_display()} {row.year}年 {shown}")
                return redirect("monitoring:policy")
    return render(
        request,
        "monitoring/policy.html",
        {
            "rows": selectors.policy_rows(user),
            "warnings": selectors.missing_lines(),
            "editable": editable,
            "keys": PolicyKey.choices,
            "data": data,
            "errors": errors,
        },
    )
