"""Writes of dynamic monitoring: leads, reviews and their decisions, measures, income, policy values.

Every function validates, writes and records an audit event in one transaction; refusals raise a
DixianError with a Chinese message and write nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from dixian.accounts.models import Role
from dixian.accounts.scoping import covers
from dixian.core import audit
from dixian.core.audit import as_actor
from dixian.core.audit import canonical_text as _canon
from dixian.core.errors import NotFound, PermissionDenied, ValidationError
from dixian.monitoring.models import (
    LEDGER_MEASURE_KIND,
    Attachment,
    CaseStatus,
    Channel,
    Decision,
    IncomeSurvey,
    Lead,
    Measure,
    MeasureKind,
    MonitoringCase,
    Objection,
    PolicyKey,
    PolicyValue,
    Review,
    ReviewKind,
)
from dixian.monitoring.policy import PolicyMissing, policy
from dixian.monitoring.workflow import (
    STEP_DEADLINE_KEY,
    STEPS,
    Action,
    Step,
    check_actor,
    move,
    publicity_days,
)
from dixian.registry.choices import EliminationMode, HouseholdType, MonitoringCategory, RiskStatus, RiskType
from dixian.registry.models import Household

OPEN_STATUSES = (CaseStatus.REVIEWING, CaseStatus.MONITORED, CaseStatus.ELIMINATING)
FAST_TRACK_RISKS = {RiskType.DISASTER, RiskType.ILLNESS, RiskType.ACCIDENT}
LABOUR = {"普通劳动力", "技能劳动力", "弱劳动力或半劳动力"}


def month_of(d: date) -> int:
    return d.year * 100 + d.month


def month_label(month: int | None) -> str:
    """202305 -> 2023年5月."""
    return f"{month // 100}年{month % 100}月" if month else ""


def months_between(start_month: int, end_month: int) -> int:
    return (end_month // 100 - start_month // 100) * 12 + (end_month % 100 - start_month % 100)


def _region(h: Household) -> dict:
    return {"county_code": h.county_code, "township_code": h.township_code, "village_code": h.village_code}


def _require_covers(user, household: Household) -> None:
    if user is not None and not covers(user, household.village_code):
        raise NotFound("户不存在或不在您的管辖范围内")


def _require_writer(user) -> None:
    if user is not None and not user.is_superuser and user.role in (Role.LEADER,):
        raise PermissionDenied("领导账户只能查看，不能办理")


# ---------------------------------------------------------------------------------------------
# Categories and risks


def check_category(household_type: str, category: str) -> None:
    if category not in MonitoringCategory.values:
        raise ValidationError("请选择监测对象类别")
    if category == MonitoringCategory.UNSTABLE_LIFTED and household_type != HouseholdType.LIFTED:
        raise ValidationError("脱贫不稳定户只能是脱贫户；一般农户应为边缘易致贫户或突发严重困难户")
    if category == MonitoringCategory.MARGINAL and household_type != HouseholdType.ORDINARY:
        raise ValidationError("边缘易致贫户只能是一般农户；脱贫户应为脱贫不稳定户或突发严重困难户")


def check_risks(risks: list[str]) -> list[str]:
    risks = [r for r in dict.fromkeys(risks or []) if r]
    if not 1 <= len(risks) <= 5:
        raise ValidationError("致贫/返贫风险应选择 1 至 5 项")
    unknown = [r for r in risks if r not in RiskType.values]
    if unknown:
        raise ValidationError(f"无法识别的风险类型：{'、'.join(unknown)}")
    return risks


# ---------------------------------------------------------------------------------------------
# Leads


@transaction.atomic
def record_lead(
    *,
    actor,
    channel: str,
    description: str,
    household: Household | None = None,
    new_household: dict | None = None,
    risks: list[str] | None = None,
    reported_on: date | None = None,
) -> Lead:
    """Record a lead from any channel, for a registered household or one entered on the spot."""
    actor = as_actor(actor)
    user = actor.user
    _require_writer(user)
    ch = (
        Channel.objects.filter(code=channel, active=True).first()
        or Channel.objects.filter(label=channel, active=True).first()
    )
    if ch is None:
        labels = "、".join(Channel.objects.filter(active=True).values_list("label", flat=True))
        raise ValidationError(f"请选择识别途径（{labels}）")
    if not (description or "").strip():
        raise ValidationError("请填写线索内容")
    if (household is None) == (new_household is None):
        raise ValidationError("请选择一户，或录入一户新的农户")
    if new_household is not None:
        from dixian.registry.services import register_household

        household = register_household(actor=actor, **new_household)
    _require_covers(user, household)
    risks = [r for r in (risks or []) if r]
    unknown = [r for r in risks if r not in RiskType.values]
    if unknown:
        raise ValidationError(f"无法识别的风险类型：{'、'.join(unknown)}")
    reported_on = reported_on or timezone.localdate()
    if reported_on > timezone.localdate():
        raise ValidationError("发现日期不能晚于今天")
    lead = Lead.objects.create(
        household=household,
        channel=ch,
        description=description.strip(),
        risks=risks,
        reported_on=reported_on,
        reported_by=user,
        reporter_name=actor.name,
        **_region(household),
    )
    audit.record(
        actor=actor,
        action="lead.record",
        object_type="lead",
        object_id=lead.pk,
        object_label=str(household),
        details={"channel": ch.label, "risks": risks},
        **_region(household),
    )
    return lead


# ---------------------------------------------------------------------------------------------
# Reviews


def _deadline_days(step: str, household: Household, on: date) -> int:
    try:
        return int(policy(STEP_DEADLINE_KEY[step], place=household.village_code, on=on).value)
    except PolicyMissing:
        return 0


ATTACHMENT_TYPES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".heic",
    ".pdf",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
}
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024


def check_attachment(name: str, blob: bytes) -> None:
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in (name or "") else ""
    if suffix not in ATTACHMENT_TYPES:
        raise ValidationError(f"附件“{name}”的类型不支持：请上传照片、PDF、Word 或 Excel 文件")
    if len(blob) > ATTACHMENT_MAX_BYTES:
        raise ValidationError(f"附件“{name}”超过 20MB，请压缩后上传")
    if not blob:
        raise ValidationError(f"附件“{name}”是空文件")


@transaction.atomic
def close_lead(*, actor, lead: Lead, reason: str) -> Lead:
    """After checking, a lead that does not need monitoring is closed as 未纳入, with the reason."""
    actor = as_actor(actor)
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    household = lead.household
    _require_covers(actor.user, household)
    _require_writer(actor.user)
    if lead.status != Lead.Status.NEW:
        raise ValidationError("只有待核实的线索可以直接办结")
    if not (reason or "").strip():
        raise ValidationError("请写明不纳入监测的理由")
    lead.status = Lead.Status.NOT_INCLUDED
    lead.closed_reason = reason.strip()
    lead.save(update_fields=["status", "closed_reason"])
    audit.record(
        actor=actor,
        action="lead.close",
        object_type="lead",
        object_id=lead.pk,
        object_label=str(household),
        details={"reason": reason.strip()},
        changes=[("status", Lead.Status.NEW, Lead.Status.NOT_INCLUDED)],
        **_region(household),
    )
    return lead


def _decide(
    review: Review,
    *,
    actor,
    step: str,
    action: str,
    comment: str = "",
    data: dict | None = None,
    after_the_fact: bool = False,
    files=(),
) -> Decision:
    actor = as_actor(actor)
    decision = Decision.objects.create(
        review=review,
        step=step,
        action=action,
        actor=actor.user,
        actor_name=actor.name,
        comment=comment or "",
        data=data or {},
        after_the_fact=after_the_fact,
    )
    for name, content in files:
        blob = content if isinstance(content, bytes) else content.read()
        check_attachment(name, blob)
        att = Attachment(decision=decision, name=name, sha256=hashlib.sha256(blob).hexdigest())
        att.file.save(name, ContentFile(blob), save=False)
        att.save()
    return decision


@transaction.atomic
def start_identification(
    *,
    actor,
    lead: Lead,
    category: str,
    risks: list[str],
    fast_track: bool = False,
    measures: list[dict] | None = None,
    comment: str = "",
) -> Review:
    """Open the review chain for a lead. Fast track (绿色通道): the county approves at once, help is recorded
    at once, and the remaining steps are tracked as due and completed afterwards."""
    actor = as_actor(actor)
    user = actor.user
    household = Household.objects.select_for_update().get(pk=lead.household_id)
    _require_covers(user, household)
    _require_writer(user)
    if lead.status not in (Lead.Status.NEW,):
        raise ValidationError("该线索已在审核中或已办结")
    if MonitoringCase.objects.filter(household=household, status__in=OPEN_STATUSES).exists():
        raise ValidationError("该户已有正在监测或审核中的记录，不能重复发起识别")
    check_category(household.household_type, category)
    risks = check_risks(risks)
    if fast_track:
        if user is not None and not user.is_superuser and user.role != Role.COUNTY_ADMIN:
            raise PermissionDenied("绿色通道由县级管理员直接审定")
        if not set(risks) & FAST_TRACK_RISKS:
            raise ValidationError("绿色通道只适用于因灾、因病、因意外事故的突发情况")
        if not measures:
            raise ValidationError("绿色通道须同时录入先行落实的帮扶措施")
    today = timezone.localdate()
    case = MonitoringCase.objects.create(
        household=household,
        lead=lead,
        status=CaseStatus.REVIEWING,
        category=category,
        risks=risks,
        channel=lead.channel.label,
        fast_track=fast_track,
        **_region(household),
    )
    review = Review.objects.create(
        case=case,
        kind=ReviewKind.IDENTIFY,
        step=Step.VERIFY,
        fast_track=fast_track,
        proposal={"category": category, "risks": risks},
        started_by=user,
        **_region(household),
    )
    _decide(
        review,
        actor=actor,
        step=Step.VERIFY,
        action=Action.START,
        comment=comment,
        data={"category": category, "risks": risks, "fast_track": fast_track},
    )
    lead.status = Lead.Status.IN_REVIEW
    lead.save(update_fields=["status"])
    if fast_track:
        for m in measures:
            record_measure(actor=actor, household=household, case=case, **m)
        due, pending = today, {}
        for step in STEPS[:-1]:
            due = due + timedelta(days=_deadline_days(step, household, today))
            pending[step] = due.isoformat()
        review.pending_after = pending
        review.step = Step.DONE
        review.state = Review.State.APPROVED
        review.closed_at = timezone.now()
        review.save(update_fields=["pending_after", "step", "state", "closed_at"])
        _decide(
            review,
            actor=actor,
            step=Step.COUNTY_APPROVAL,
            action=Action.COMPLETE,
            comment="绿色通道先行审定",
            data={"fast_track": True},
        )
        changes = _approve_identification(case, household, today)
        lead.status = Lead.Status.INCLUDED
        lead.save(update_fields=["status"])
    audit.record(
        actor=actor,
        changes=changes if fast_track else (),
        action="review.start",
        object_type="review",
        object_id=review.pk,
        object_label=str(household),
        details={"kind": "identify", "category": category, "risks": risks, "fast_track": fast_track},
        **_region(household),
    )
    return review


def _approve_identification(case: MonitoringCase, household: Household, today: date) -> list[tuple]:
    case.status = CaseStatus.MONITORED
    case.identified_on = today
    case.identified_month = month_of(today)
    case.save(update_fields=["status", "identified_on", "identified_month"])
    return _sync_household(household, case)


def _sync_household(household: Household, case: MonitoringCase) -> list[tuple]:
    """The household keeps the latest spell's monitoring columns (as the national ledger does).

    Returns the field changes for the audit event, so they show in the household's history."""
    before = {
        f: getattr(household, f)
        for f in (
            "monitoring_category",
            "risks",
            "identified_month",
            "channel",
            "risk_eliminated",
            "elimination_mode",
            "eliminated_month",
            "risk_status",
        )
    }
    household.monitoring_category = case.category
    household.risks = case.risks
    household.identified_month = case.identified_month
    household.channel = case.channel
    household.risk_eliminated = case.status == CaseStatus.ELIMINATED
    household.elimination_mode = case.elimination_mode
    household.eliminated_month = case.eliminated_month
    household.risk_status = RiskStatus.ELIMINATED if case.status == CaseStatus.ELIMINATED else RiskStatus.OPEN
    household.updated_at = timezone.now()
    household.save()
    return [
        ("household", household.pk, f, _canon(old), _canon(getattr(household, f)))
        for f, old in before.items()
        if _canon(old) != _canon(getattr(household, f))
    ]


@transaction.atomic
def act(
    *,
    actor,
    review: Review,
    action: str,
    comment: str = "",
    data: dict | None = None,
    files=(),
    step: str | None = None,
) -> Review:
    """Take one step of a review: complete it (with what the step records), reject, or return it.

    For a fast-tracked review that is already approved, ``step`` names a step still to be completed
    afterwards; only ``complete`` is possible then.
    """
    actor = as_actor(actor)
    review = Review.objects.select_for_update().get(pk=review.pk)
    case = MonitoringCase.objects.select_for_update().get(pk=review.case_id)
    household = Household.objects.select_for_update().get(pk=case.household_id)
    data = dict(data or {})
    today = timezone.localdate()

    changes: list[tuple] = []
    if review.state != Review.State.OPEN:
        return _act_after_the_fact(actor, review, case, household, action, comment, data, files, step, today)
    if step is not None and step != review.step:
        raise ValidationError(f"当前环节是“{Step(review.step).label}”，不是“{Step(step).label}”")
    current = review.step
    check_actor(actor.user, current, household.village_code)
    m = move(current, action)
    if action in (Action.REJECT, Action.RETURN) and not (comment or "").strip():
        raise ValidationError("不予通过或退回时请写明理由")
    if action == Action.COMPLETE:
        data = _guard(review, case, household, current, data, files, today)
    _decide(review, actor=actor, step=current, action=action, comment=comment, data=data, files=files)

    if m.next_step is None:  # rejected
        review.state = Review.State.REJECTED
        review.step = Step.DONE
        review.closed_at = timezone.now()
        if review.kind == ReviewKind.IDENTIFY:
            case.status = CaseStatus.REJECTED
            if case.lead_id:
                Lead.objects.filter(pk=case.lead_id).update(status=Lead.Status.NOT_INCLUDED)
        else:
            case.status = CaseStatus.MONITORED
        case.save(update_fields=["status"])
    elif m.next_step == Step.DONE:  # approved by the county
        review.state = Review.State.APPROVED
        review.step = Step.DONE
        review.closed_at = timezone.now()
        if review.kind == ReviewKind.IDENTIFY:
            changes = _approve_identification(case, household, today)
            if case.lead_id:
                Lead.objects.filter(pk=case.lead_id).update(status=Lead.Status.INCLUDED)
        else:
            case.status = CaseStatus.ELIMINATED
            case.eliminated_on = today
            case.eliminated_month = month_of(today)
            case.elimination_mode = review.proposal.get("mode", "")
            case.save(update_fields=["status", "eliminated_on", "eliminated_month", "elimination_mode"])
            changes = _sync_household(household, case)
    else:
        review.step = m.next_step
        review.step_started_at = timezone.now()
    review.save()
    audit.record(
        actor=actor,
        action=f"review.{action}",
        object_type="review",
        object_id=review.pk,
        object_label=str(household),
        details={"step": current, "kind": review.kind, "comment": comment},
        changes=changes,
        **_region(household),
    )
    return review


def _act_after_the_fact(actor, review, case, household, action, comment, data, files, step, today) -> Review:
    if not review.pending_after:
        raise ValidationError("该审核已办结，不能再操作")
    if action != Action.COMPLETE:
        raise ValidationError("绿色通道已先行审定，待补环节只能补办完成")
    pending = dict(review.pending_after)
    next_due = next(s for s in STEPS if s in pending)
    step = step or next_due
    if step != next_due:
        raise ValidationError(f"请先补办“{Step(next_due).label}”")
    check_actor(actor.user, step, household.village_code)
    data = _guard(review, case, household, step, data, files, today)
    _decide(
        review,
        actor=actor,
        step=step,
        action=Action.COMPLETE,
        comment=comment,
        data=data,
        files=files,
        after_the_fact=True,
    )
    pending.pop(step)
    review.pending_after = pending
    review.save(update_fields=["pending_after"])
    audit.record(
        actor=actor,
        action="review.complete_after",
        object_type="review",
        object_id=review.pk,
        object_label=str(household),
        details={"step": step},
        **_region(household),
    )
    return review


def _date(value, label: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise ValidationError(f"请填写{label}（年-月-日）") from None


def _guard(review, case, household, step, data, files, today) -> dict:
    """What each step must record before it can be completed. Returns the data to keep."""
    if step == Step.VERIFY:
        if review.kind == ReviewKind.IDENTIFY:
            if not data.get("consent_signed"):
                raise ValidationError("入户核实须记录农户已签署《申请及承诺授权书》（同意查询家庭资产信息）")
            if not files:
                raise ValidationError("请上传已签署的承诺授权书（照片或扫描件）")
        if not (data.get("findings") or "").strip():
            raise ValidationError("请填写入户核实情况")
    elif step == Step.CROSS_CHECK:
        if not (data.get("result") or "").strip():
            raise ValidationError("请填写信息比对结果")
    elif step == Step.VILLAGE_REVIEW:
        data["meeting_date"] = _date(data.get("meeting_date"), "评议日期").isoformat()
    elif step == Step.PUBLICITY:
        start = _date(data.get("start"), "公示开始日期")
        end = _date(data.get("end"), "公示结束日期")
        if end < start:
            raise ValidationError("公示结束日期早于开始日期")
        try:
            min_days = int(policy(PolicyKey.MIN_PUBLICITY_DAYS, place=household.village_code, on=start).value)
        except PolicyMissing as exc:
            raise ValidationError(exc.message) from None
        if publicity_days(start, end) < min_days:
            raise ValidationError(
                f"公示期不少于{min_days}天（{start:%m月%d日}至{end:%m月%d日}只有"
                f"{publicity_days(start, end)}天）"
            )
        if end >= today:
            raise ValidationError(f"公示到{end:%Y年%m月%d日}结束，公示期满后才能办结")
        open_objections = review.objections.filter(answered_at__isnull=True).count()
        if open_objections:
            raise ValidationError(f"还有{open_objections}条公示异议没有答复")
        data.update(start=start.isoformat(), end=end.isoformat())
    elif step == Step.COUNTY_APPROVAL and review.kind == ReviewKind.IDENTIFY:
        check_category(household.household_type, review.proposal.get("category", ""))
        check_risks(review.proposal.get("risks", []))
    elif step == Step.COUNTY_APPROVAL and review.kind == ReviewKind.ELIMINATE:
        failures = [
            c
            for c in elimination_criteria(
                case,
                mode=review.proposal.get("mode", ""),
                checklist=review.proposal.get("checklist", {}),
                on=today,
            )
            if not c.ok
        ]
        if failures:
            raise ValidationError("不符合风险消除条件：" + "；".join(c.message for c in failures))
    return data


@transaction.atomic
def raise_objection(*, actor, review: Review, text: str, raised_by: str = "", raised_on: date | None = None):
    actor = as_actor(actor)
    household = review.case.household
    if review.state != Review.State.OPEN or review.step != Step.PUBLICITY:
        raise ValidationError("只有公示期间可以登记异议")
    check_actor(actor.user, Step.PUBLICITY, household.village_code)
    if not (text or "").strip():
        raise ValidationError("请填写异议内容")
    objection = Objection.objects.create(
        review=review, text=text.strip(), raised_by=raised_by, raised_on=raised_on or timezone.localdate()
    )
    _decide(
        review,
        actor=actor,
        step=Step.PUBLICITY,
        action=Action.OBJECT,
        comment=text.strip(),
        data={"objection": objection.pk, "raised_by": raised_by},
    )
    audit.record(
        actor=actor,
        action="review.object",
        object_type="review",
        object_id=review.pk,
        object_label=str(household),
        details={"objection": objection.pk},
        **_region(household),
    )
    return objection


@transaction.atomic
def answer_objection(*, actor, objection: Objection, answer: str) -> Objection:
    actor = as_actor(actor)
    review = objection.review
    household = review.case.household
    check_actor(actor.user, Step.PUBLICITY, household.village_code)
    if objection.answered_at is not None:
        raise ValidationError("该异议已答复")
    if not (answer or "").strip():
        raise ValidationError("请填写答复内容")
    objection.answer = answer.strip()
    objection.answered_at = timezone.now()
    objection.answered_by = actor.name
    objection.save(update_fields=["answer", "answered_at", "answered_by"])
    _decide(
        review,
        actor=actor,
        step=Step.PUBLICITY,
        action=Action.ANSWER,
        comment=answer.strip(),
        data={"objection": objection.pk},
    )
    audit.record(
        actor=actor,
        action="review.answer",
        object_type="review",
        object_id=review.pk,
        object_label=str(household),
        details={"objection": objection.pk},
        **_region(household),
    )
    return objection


# ---------------------------------------------------------------------------------------------
# Risk elimination


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    ok: bool
    message: str


def latest_income(household: Household):
    """(per-capita net income, source label) from the latest survey, else the ledger's figures."""
    survey = household.income_surveys.order_by("-window_end", "-recorded_at", "-id").first()
    if survey is not None:
        return (
            survey.per_capita_net,
            f"{month_label(survey.window_start)}至{month_label(survey.window_end)}收入调查",
        )
    if household.per_capita_income is not None:
        return household.per_capita_income, "台账收入"
    return None, ""


def household_measures(household: Household) -> list[tuple[str, str]]:
    """(kind, content) of every measure: recorded ones and those of the imported ledger."""
    out = [(m.kind, m.content) for m in household.measure_records.all()]
    out += [
        (LEDGER_MEASURE_KIND[k], v) for k, v in (household.measures or {}).items() if k in LEDGER_MEASURE_KIND
    ]
    return out


def elimination_criteria(case: MonitoringCase, *, mode: str, checklist: dict, on: date) -> list[Criterion]:
    """The policy's criteria for risk elimination, each with its verdict in Chinese (policy-research §6.1)."""
    household = case.household
    out: list[Criterion] = []
    income, source = latest_income(household)
    try:
        line = policy(PolicyKey.MONITORING_LINE, place=household.village_code, on=on)
        if income is None:
            out.append(
                Criterion("income_above_line", "收入稳定高于监测线", False, "没有收入数据，请先录入收入")
            )
        else:
            ok = income > line.value
            out.append(
                Criterion(
                    "income_above_line",
                    "收入稳定高于监测线",
                    ok,
                    f"人均纯收入{income:.2f}元（{source}）{'高于' if ok else '未高于'}"
                    f"{line.year}年监测线{line.value:.0f}元",
                )
            )
    except PolicyMissing as exc:
        out.append(Criterion("income_above_line", "收入稳定高于监测线", False, exc.message))
    try:
        min_months = int(
            policy(PolicyKey.MIN_MONTHS_BEFORE_ELIMINATION, place=household.village_code, on=on).value
        )
        months = months_between(case.identified_month, month_of(on)) if case.identified_month else 0
        ok = months >= min_months
        out.append(
            Criterion(
                "min_months",
                f"识别后监测满{min_months}个月",
                ok,
                f"{month_label(case.identified_month) or '识别时间未知'}识别，至今{months}个月"
                f"{'' if ok else f'，不足{min_months}个月'}",
            )
        )
    except PolicyMissing as exc:
        out.append(Criterion("min_months", "识别后监测时间", False, exc.message))
    out.append(
        Criterion(
            "rigid_expense",
            "大额刚性支出已稳定解决",
            bool(checklist.get("rigid_expense_resolved")),
            "大额刚性支出已稳定解决"
            if checklist.get("rigid_expense_resolved")
            else "尚未确认大额刚性支出（医疗、教育等）已稳定解决",
        )
    )
    out.append(
        Criterion(
            "basic_guarantees",
            "两不愁三保障及饮水安全",
            bool(checklist.get("guarantees_secured")),
            "两不愁三保障及饮水安全持续巩固"
            if checklist.get("guarantees_secured")
            else "尚未确认两不愁三保障及饮水安全有保障",
        )
    )
    measures = household_measures(household)
    if mode == EliminationMode.ASSISTED:
        out.append(
            Criterion(
                "measure_for_assisted",
                "帮扶消除须有帮扶措施",
                bool(measures),
                f"已有{len(measures)}项帮扶措施" if measures else "帮扶消除的户至少要有一项帮扶措施",
            )
        )
    elif mode != EliminationMode.NATURAL:
        out.append(Criterion("mode", "风险消除方式", False, "请选择风险消除方式（帮扶消除或自然消除）"))
    members = list(household.members.filter(active=True).values_list("labour_skill", flat=True))
    # Only a household whose members' labour skills are all known and none is able-bodied counts as
    # without labour; a blank skill is unknown, not "no labour".
    no_labour = bool(members) and all(members) and not any(s in LABOUR for s in members)
    kinds = {k for k, _ in measures}
    safety_net_only = bool(kinds) and kinds <= {MeasureKind.SAFETY_NET}
    ok = not (no_labour and (safety_net_only or not kinds - {MeasureKind.SAFETY_NET}))
    if no_labour:
        out.append(
            Criterion(
                "no_labour_safety_net",
                "无劳动能力户不仅靠兜底",
                ok,
                "无劳动能力、仅靠兜底保障的户，保障到位后继续监测，暂不标注风险消除"
                if not ok
                else "无劳动能力，但有兜底以外的帮扶",
            )
        )
    return out


@transaction.atomic
def propose_elimination(
    *, actor, case: MonitoringCase, mode: str, checklist: dict, comment: str = ""
) -> Review:
    """Propose risk elimination: the criteria are checked first; each failing one is named."""
    actor = as_actor(actor)
    case = MonitoringCase.objects.select_for_update().get(pk=case.pk)
    household = case.household
    _require_covers(actor.user, household)
    _require_writer(actor.user)
    if case.status != CaseStatus.MONITORED:
        raise ValidationError("只有风险未消除的监测对象可以申请风险消除")
    failures = [
        c
        for c in elimination_criteria(case, mode=mode, checklist=checklist, on=timezone.localdate())
        if not c.ok
    ]
    if failures:
        raise ValidationError(
            "不符合风险消除条件：" + "；".join(c.message for c in failures),
            details={"failures": [c.code for c in failures]},
        )
    review = Review.objects.create(
        case=case,
        kind=ReviewKind.ELIMINATE,
        step=Step.VERIFY,
        proposal={"mode": mode, "checklist": checklist},
        started_by=actor.user,
        **_region(household),
    )
    _decide(
        review,
        actor=actor,
        step=Step.VERIFY,
        action=Action.START,
        comment=comment,
        data={"mode": mode, "checklist": checklist},
    )
    case.status = CaseStatus.ELIMINATING
    case.save(update_fields=["status"])
    audit.record(
        actor=actor,
        action="review.start",
        object_type="review",
        object_id=review.pk,
        object_label=str(household),
        details={"kind": "eliminate", "mode": mode},
        **_region(household),
    )
    return review


# ---------------------------------------------------------------------------------------------
# Help and income


def _money(value, label: str, *, required: bool = False) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise ValidationError(f"请填写{label}")
        return None
    try:
        amount = Decimal(str(value).replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationError(f"{label}不是有效的金额") from None
    if amount < 0:
        raise ValidationError(f"{label}不能为负数")
    return amount


@transaction.atomic
def record_measure(
    *,
    actor,
    household: Household,
    kind: str,
    content: str,
    helper_name: str,
    start_date: date | None = None,
    end_date: date | None = None,
    amount=None,
    funding_source: str = "",
    case: MonitoringCase | None = None,
) -> Measure:
    actor = as_actor(actor)
    _require_covers(actor.user, household)
    _require_writer(actor.user)
    if kind not in MeasureKind.values:
        raise ValidationError("请选择帮扶措施类型")
    if not (content or "").strip():
        raise ValidationError("请填写帮扶内容")
    if not (helper_name or "").strip():
        raise ValidationError("请填写帮扶责任人")
    start_date = start_date or timezone.localdate()
    if end_date is not None and end_date < start_date:
        raise ValidationError("结束日期早于开始日期")
    if case is None:
        case = household.cases.filter(status__in=OPEN_STATUSES).first()
    measure = Measure.objects.create(
        household=household,
        case=case,
        kind=kind,
        content=content.strip(),
        amount=_money(amount, "金额"),
        start_date=start_date,
        end_date=end_date,
        funding_source=funding_source,
        helper_name=helper_name.strip(),
        created_by=actor.name,
        **_region(household),
    )
    audit.record(
        actor=actor,
        action="measure.record",
        object_type="measure",
        object_id=measure.pk,
        object_label=str(household),
        details={"kind": kind, "content": content},
        **_region(household),
    )
    return measure


INCOME_FIELDS = [
    "wage_income",
    "business_income",
    "property_income",
    "transfer_family_planning",
    "transfer_dibao",
    "transfer_tekun",
    "transfer_pension",
    "transfer_eco",
    "transfer_other",
    "business_expense",
    "compliant_out_of_pocket",
    "insurance_claims",
]


@transaction.atomic
def record_income(
    *, actor, household: Household, window_end: int, household_size: int | None = None, **amounts
) -> IncomeSurvey:
    """Record a household income survey for the 12 months ending ``window_end`` (YYYYMM)."""
    actor = as_actor(actor)
    household = Household.objects.select_for_update().get(pk=household.pk)
    _require_covers(actor.user, household)
    _require_writer(actor.user)
    unknown = set(amounts) - set(INCOME_FIELDS)
    if unknown:
        raise ValidationError(f"未知的收入项：{'、'.join(sorted(unknown))}")
    try:
        end = int(window_end)
        if not 1 <= end % 100 <= 12 or not 2000 <= end // 100 <= 2100:
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationError("统计截止年月无效（如 202406）") from None
    if end > month_of(timezone.localdate()):
        raise ValidationError("统计截止年月不能晚于本月")
    start_year, start_month = divmod((end // 100) * 12 + (end % 100) - 1 - 11, 12)
    start = start_year * 100 + start_month + 1
    size = household_size or household.members.filter(active=True).count()
    if size < 1:
        raise ValidationError("家庭人数应至少为 1")
    values = {
        f: _money(amounts.get(f), IncomeSurvey._meta.get_field(f).verbose_name) or Decimal(0)
        for f in INCOME_FIELDS
    }
    transfer = sum((values[f] for f in INCOME_FIELDS if f.startswith("transfer_")), Decimal(0))
    net = (
        values["wage_income"]
        + values["business_income"]
        + values["property_income"]
        + transfer
        - values["business_expense"]
    )
    per_capita = (net / size).quantize(Decimal("0.01"))
    survey = IncomeSurvey.objects.create(
        household=household,
        window_start=start,
        window_end=end,
        household_size=size,
        per_capita_net=per_capita,
        recorded_by=actor.name,
        **values,
        **_region(household),
    )
    changes = []
    for field, new in (
        ("wage_income", values["wage_income"]),
        ("business_income", values["business_income"]),
        ("property_income", values["property_income"]),
        ("transfer_income", transfer),
        ("business_expense", values["business_expense"]),
        ("declared_per_capita_income", per_capita),
    ):
        old = getattr(household, field)
        if old != new:
            changes.append(
                ("household", household.pk, field, None if old is None else f"{old:.2f}", f"{new:.2f}")
            )
            setattr(household, field, new)
    household.updated_at = timezone.now()
    household.save()
    audit.record(
        actor=actor,
        action="income.record",
        object_type="household",
        object_id=household.pk,
        object_label=str(household),
        details={"window": f"{start}-{end}", "per_capita": str(per_capita)},
        changes=changes,
        **_region(household),
    )
    return survey


# ---------------------------------------------------------------------------------------------
# Policy values


@transaction.atomic
def set_policy_value(*, actor, key: str, region_code: str, year: int, value, source: str = "") -> PolicyValue:
    """County administrators keep the policy values of their county and province."""
    actor = as_actor(actor)
    user = actor.user
    if user is not None and not user.is_superuser and user.role != Role.COUNTY_ADMIN:
        raise PermissionDenied("只有县级管理员可以修改政策参数")
    if key not in PolicyKey.values:
        raise ValidationError("未知的政策参数")
    from dixian.monitoring.models import NATIONAL

    if user is not None and not user.is_superuser and region_code == NATIONAL:
        raise PermissionDenied("全国通用值只能由系统管理员修改；请为本县或本省设置")
    if user is not None and not user.is_superuser:
        own = user.region_code
        if region_code not in (own, own[:2] + "0" * 10, own[:4] + "0" * 8):
            raise PermissionDenied("只能修改本县、本市或本省的政策参数")
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ValidationError("年度无效") from None
    if not 2014 <= year <= 2100:
        raise ValidationError("年度应在 2014 至 2100 之间")
    amount = _money(value, "数值", required=True)
    row = PolicyValue.objects.filter(key=key, region_code=region_code, year=year).first()
    old = None if row is None else row.value
    if row is None:
        row = PolicyValue(key=key, region_code=region_code, year=year)
    row.value, row.source, row.updated_at, row.updated_by = amount, source, timezone.now(), actor.name
    row.save()
    audit.record(
        actor=actor,
        action="policy.set",
        object_type="policy_value",
        object_id=row.pk,
        object_label=f"{PolicyKey(key).label} {year}",
        county_code=region_code
        if region_code.endswith("000000") and not region_code.endswith("0000000000")
        else "",
        changes=[("value", None if old is None else f"{old:.2f}", f"{amount:.2f}")],
    )
    return row
