"""Working the alerts: the county assigns an alert about someone not registered to a village; the
village verifies each alert: 纳入 (a lead in the monitoring chain, channel 部门筛查预警), 不纳入 with
a reason, or 已在监测/已帮扶."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from dixian.accounts import permissions
from dixian.accounts.scoping import covers
from dixian.core import audit
from dixian.core.audit import as_actor
from dixian.core.errors import NotFound, ValidationError
from dixian.registry.choices import HouseholdType, RiskStatus, RiskType
from dixian.screening.models import Alert, AlertStatus

ALERT_CHANNEL = "department_alert"  # 部门筛查预警 (monitoring/migrations/0002_defaults.py)


def _region(alert: Alert) -> dict:
    return {
        "county_code": alert.county_code,
        "township_code": alert.township_code,
        "village_code": alert.village_code,
    }


def _place(alert: Alert) -> str:
    return alert.village_code or alert.township_code or alert.county_code


def _lock(alert: Alert, user) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if not covers(user, _place(alert)):
        raise NotFound("没有找到这条预警")
    return alert


@transaction.atomic
def assign_alert(*, actor, alert: Alert, village_code: str) -> Alert:
    """Send an alert that has no village yet (someone not registered) to the village where they live."""
    from dixian.regions.models import Region

    actor = as_actor(actor)
    permissions.require(actor.user, permissions.ASSIGN_ALERT)
    alert = _lock(alert, actor.user)
    if alert.status != AlertStatus.OPEN:
        raise ValidationError("这条预警已核实办结，不能再分派")
    region = Region.objects.filter(code=village_code, level="village").first()
    if region is None or village_code[:6] != alert.county_code[:6]:
        raise ValidationError("请选择本县的一个行政村")
    if not covers(actor.user, village_code):
        raise NotFound("该村不在您的管辖范围内")
    old = alert.village_code
    alert.township_code, alert.village_code = village_code[:9] + "000", village_code
    alert.save(update_fields=["township_code", "village_code"])
    audit.record(
        actor=actor,
        action="alert.assign",
        object_type="alert",
        object_id=alert.pk,
        object_label=str(alert),
        changes=[("village_code", old, village_code)],
        **_region(alert),
    )
    return alert


def _already_followed(household) -> str:
    """Why a household is already followed (monitored with open risk, in review, or an open lead), or ''."""
    from dixian.monitoring.models import CaseStatus, Lead

    if household.risk_status == RiskStatus.OPEN:
        return "该户已是监测对象（风险未消除）"
    if household.cases.filter(status=CaseStatus.REVIEWING).exists():
        return "该户正在识别审核中"
    if household.leads.filter(status__in=[Lead.Status.NEW, Lead.Status.IN_REVIEW]).exists():
        return "该户已有待核实的风险线索"
    return ""


@transaction.atomic
def verify_alert(
    *,
    actor,
    alert: Alert,
    outcome: str,
    note: str = "",
    risks: list[str] | None = None,
    verified_on: date | None = None,
    household_type: str = HouseholdType.ORDINARY,
) -> Alert:
    """Record the village's verification. 纳入 creates a lead (channel 部门筛查预警) with the alert's risk
    (or those chosen); for someone not registered it enters their household with them as its head."""
    from dixian.monitoring.services import record_lead

    actor = as_actor(actor)
    permissions.require(actor.user, permissions.VERIFY_ALERT)
    alert = _lock(alert, actor.user)
    if alert.status != AlertStatus.OPEN:
        raise ValidationError(f"这条预警已于{alert.verified_on:%Y-%m-%d}核实（{alert.get_status_display()}）")
    if outcome not in AlertStatus.values or outcome == AlertStatus.OPEN:
        raise ValidationError("请选择核实结论：纳入、不纳入，或已在监测/已帮扶")
    today = timezone.localdate()
    verified_on = verified_on or today
    if verified_on > today:
        raise ValidationError("核实日期不能晚于今天")
    if verified_on < alert.raised_on:
        raise ValidationError("核实日期不能早于预警日期")
    note = (note or "").strip()
    if outcome == AlertStatus.NOT_INCLUDED and not note:
        raise ValidationError("请写明不纳入的理由")
    if outcome == AlertStatus.ALREADY and alert.household_id is None:
        raise ValidationError("未在册人员不能选“已在监测/已帮扶”；请选择纳入或不纳入")
    lead = None
    if outcome == AlertStatus.INCLUDED:
        risks = [r for r in (risks or ([alert.risk] if alert.risk else [])) if r]
        if not risks:
            raise ValidationError("请选择核实后的风险类型")
        unknown = [r for r in risks if r not in RiskType.values]
        if unknown:
            raise ValidationError(f"无法识别的风险类型：{'、'.join(unknown)}")
        description = f"部门筛查预警：{alert.rule.name}（{alert.department}，预警编号 {alert.pk}）"
        if note:
            description += f"。核实情况：{note}"
        if alert.household_id is not None:
            household = alert.household
            why = _already_followed(household)
            if why:
                raise ValidationError(f"{why}，请选择“已在监测/已帮扶”")
            lead = record_lead(
                actor=actor,
                channel=ALERT_CHANNEL,
                description=description,
                household=household,
                risks=risks,
                reported_on=verified_on,
            )
        else:
            if not alert.village_code:
                raise ValidationError("这条预警还没有分派到村，请先分派")
            if not alert.id_numbers:
                raise ValidationError("预警中没有证件号码，无法建档")
            name = alert.names[0] if alert.names else ""
            if not name:
                raise ValidationError("预警中没有姓名，无法建档")
            lead = record_lead(
                actor=actor,
                channel=ALERT_CHANNEL,
                description=description,
                new_household={
                    "village_code": alert.village_code,
                    "household_type": household_type,
                    "members": [{"name": name, "id_number": alert.id_numbers[0], "relation_to_head": "户主"}],
                },
                risks=risks,
                reported_on=verified_on,
            )
            alert.household = lead.household
    old = alert.status
    alert.status = outcome
    alert.note = note
    alert.verified_on = verified_on
    alert.verified_by = actor.user
    alert.verifier_name = actor.name
    alert.lead = lead
    alert.save()
    audit.record(
        actor=actor,
        action="alert.verify",
        object_type="alert",
        object_id=alert.pk,
        object_label=str(alert),
        changes=[("status", old, outcome)],
        details={
            "outcome": AlertStatus(outcome).label,
            "note": note,
            "lead": lead.pk if lead else None,
            "on_time": verified_on <= alert.due_on,
        },
        **_region(alert),
    )
    return alert


def reveal_alert_ids(*, actor, alert: Alert) -> list[str]:
    """The full ID numbers of an alert (and its evidence rows) for a role that may see them; the look is
    an audited event, as for a person of the registry."""
    actor = as_actor(actor)
    permissions.require(actor.user, permissions.REVEAL_PERSONAL)
    if not covers(actor.user, _place(alert)):
        raise NotFound("没有找到这条预警")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="alert.reveal_id_number",
            object_type="alert",
            object_id=alert.pk,
            object_label=str(alert),
            details={"field": "id_number"},
            **_region(alert),
        )
    return list(alert.id_numbers)
