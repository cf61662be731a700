"""Reads of the registry. Every selector takes the user and applies the region scope (rule 2)."""

from __future__ import annotations

import re

from django.db.models import Prefetch, Q, QuerySet

from dixian.accounts.scoping import scope_q
from dixian.core import idcard
from dixian.core.errors import NotFound
from dixian.core.models import AuditEvent, FieldChange
from dixian.registry.models import Household, LedgerImport, Person

SORTS = {
    "household_no": "household_no",
    "-household_no": "-household_no",
    "head_name": "head_name",
    "-head_name": "-head_name",
    "size": "size",
    "-size": "-size",
    "village": "village_code",
    "-village": "-village_code",
    "identified": "identified_month",
    "-identified": "-identified_month",
    "income": "declared_per_capita_income",
    "-income": "-declared_per_capita_income",
}

_ID_LIKE = re.compile(r"^[0-9]{6,17}[0-9Xx]$")


def households(user) -> QuerySet[Household]:
    return Household.objects.filter(scope_q(user))


def persons(user) -> QuerySet[Person]:
    return Person.objects.filter(scope_q(user))


def household_search(
    *,
    user,
    q: str = "",
    township: str = "",
    village: str = "",
    household_type: str = "",
    category: str = "",
    risk_status: str = "",
    sort: str = "",
) -> QuerySet[Household]:
    qs = households(user)
    if township:
        qs = qs.filter(township_code=township)
    if village:
        qs = qs.filter(village_code=village)
    if household_type:
        qs = qs.filter(household_type=household_type)
    if category == "any":
        qs = qs.exclude(monitoring_category="")
    elif category:
        qs = qs.filter(monitoring_category=category)
    if risk_status:
        qs = qs.filter(risk_status=risk_status)
    q = (q or "").strip()
    if q:
        qs = qs.filter(_search_q(q, user))
    return qs.order_by(SORTS.get(sort, "household_no"), "id")


def _search_q(q: str, user) -> Q:
    text = idcard.normalize(q)
    if _ID_LIKE.match(text):
        number = text
        if len(text) == 15:
            try:
                number = idcard.upgrade15(text)
            except Exception:
                number = text
        if len(number) == 18:
            ids = persons(user).filter(id_number=number).values("household_id")
            return Q(pk__in=ids) | Q(household_no=text)
        return Q(household_no__startswith=text)
    if text.isascii() and text.isalpha():
        return Q(search_text__contains=f" {text.lower()}") | Q(household_no=text)
    return Q(search_text__contains=q) | Q(household_no=q)


def matched_members(*, households: list[Household], q: str) -> dict[int, list[Person]]:
    """For a page of search results: which members (other than the head) matched the search."""
    q = (q or "").strip()
    if not q or not households:
        return {}
    text = idcard.normalize(q)
    members = Person.objects.filter(household_id__in=[h.pk for h in households], active=True).exclude(
        relation_to_head="户主"
    )
    if _ID_LIKE.match(text):
        members = members.filter(id_number__startswith=text.upper())
    elif text.isascii() and text.isalpha():
        members = members.filter(name_initials__startswith=text.lower())
    else:
        members = members.filter(name__contains=q)
    out: dict[int, list[Person]] = {}
    for p in members.only("id", "household_id", "name", "relation_to_head"):
        out.setdefault(p.household_id, []).append(p)
    return out


def household_get(*, user, pk: int) -> Household:
    household = households(user).filter(pk=pk).first()
    if household is None:
        raise NotFound("户不存在或不在您的管辖范围内")
    return household


def household_by_no(*, user, household_no: str) -> Household:
    household = households(user).filter(household_no=household_no).first()
    if household is None:
        raise NotFound("户不存在或不在您的管辖范围内")
    return household


def household_members(*, household: Household, include_inactive: bool = False) -> QuerySet[Person]:
    qs = household.members.all()
    if not include_inactive:
        qs = qs.filter(active=True)
    return qs.order_by("position", "id")


def person_get(*, user, pk: int) -> Person:
    person = persons(user).filter(pk=pk).select_related("household").first()
    if person is None:
        raise NotFound("人员不存在或不在您的管辖范围内")
    return person


def _display(field: str, value: str | None) -> str | None:
    """A stored FieldChange value as a person reads it: labels instead of codes, 是/否, 2023年5月."""
    import json

    from dixian.registry.choices import (
        EliminationMode,
        HouseholdType,
        MonitoringCategory,
        RiskStatus,
        RiskType,
    )

    if value is None or value == "":
        return None
    labels = {
        "monitoring_category": dict(MonitoringCategory.choices),
        "household_type": dict(HouseholdType.choices),
        "risk_status": dict(RiskStatus.choices),
        "elimination_mode": dict(EliminationMode.choices),
    }
    if field in labels:
        return labels[field].get(value, value)
    if field in ("risk_eliminated", "active", "medical_insurance", "dibao", "tekun", "id_is_resident"):
        return {"1": "是", "0": "否"}.get(value, value)
    if field in ("identified_month", "eliminated_month") and value.isdigit() and len(value) == 6:
        return f"{value[:4]}年{int(value[4:])}月"
    if field in ("risks", "measures", "flags", "extra"):
        try:
            data = json.loads(value)
        except ValueError:
            return value
        if field == "risks":
            return "、".join(RiskType(r).label if r in RiskType.values else r for r in data) or None
        if isinstance(data, dict):
            return "；".join(f"{k}：{v}" for k, v in data.items()) or None
        return "；".join(map(str, data)) or None
    return value


def household_history(*, household: Household) -> list[dict]:
    """Field changes of the household and its members, newest first, grouped by event."""
    member_ids = [str(i) for i in household.members.values_list("id", flat=True)]
    changes = (
        FieldChange.objects.filter(
            Q(object_type="household", object_id=str(household.pk))
            | Q(object_type="person", object_id__in=member_ids)
        )
        .select_related("event")
        .order_by("-event__at", "-event_id", "id")
    )
    names = dict(household.members.values_list("id", "name"))
    hh_labels = {f.name: f.verbose_name for f in Household._meta.fields}
    p_labels = {f.name: f.verbose_name for f in Person._meta.fields} | {"household_id": "所属户"}
    out: dict[int, dict] = {}
    for c in changes[:2000]:
        entry = out.setdefault(c.event_id, {"event": c.event, "changes": []})
        if c.object_type == "household":
            label = hh_labels.get(c.field, c.field)
            who = "户"
        else:
            label = p_labels.get(c.field, c.field)
            who = names.get(int(c.object_id), "成员")
        entry["changes"].append(
            {"who": who, "field": label, "old": _display(c.field, c.old), "new": _display(c.field, c.new)}
        )
    events = AuditEvent.objects.filter(
        Q(object_type="household", object_id=str(household.pk))
        | Q(object_type="person", object_id__in=member_ids)
    ).exclude(pk__in=list(out))[:200]
    for e in events:
        out.setdefault(e.pk, {"event": e, "changes": []})
    return sorted(out.values(), key=lambda x: (x["event"].at, x["event"].pk), reverse=True)


def audit_events(*, user, action: str = "", actor: str = "", since=None, until=None) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.filter(scope_q(user)).select_related("actor")
    if (
        getattr(user, "region_code", "")
        and getattr(user, "role", "") != "county_admin"
        and not user.is_superuser
    ):
        qs = qs.none()
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor_name__contains=actor)
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs.order_by("-at", "-id")


def ledger_imports(*, user) -> QuerySet[LedgerImport]:
    return LedgerImport.objects.filter(scope_q(user)).order_by("-created_at")


def ledger_import_get(*, user, pk: int) -> LedgerImport:
    li = ledger_imports(user=user).filter(pk=pk).first()
    if li is None or (
        user is not None
        and not user.is_superuser
        and li.created_by_id not in (user.pk, None)
        and user.role != "county_admin"
    ):
        raise NotFound("导入记录不存在或不在您的管辖范围内")
    return li


def export_households(*, user, region_code: str = "") -> QuerySet[Household]:
    qs = households(user)
    if region_code:
        from dixian.regions.selectors import code_level

        level = code_level(region_code)
        field = {"village": "village_code", "township": "township_code", "county": "county_code"}.get(level)
        if field:
            qs = qs.filter(**{field: region_code})
        elif level == "city":
            qs = qs.filter(county_code__startswith=region_code[:4])
    return qs.prefetch_related(
        Prefetch("members", queryset=Person.objects.filter(active=True).order_by("position", "id"))
    ).order_by("village_code", "household_no")
