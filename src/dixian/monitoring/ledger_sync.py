"""Monitoring spells from the imported ledger: each household with a 监测对象类别 has its spell as a
MonitoringCase (source "ledger"), so that figures and checks read one table whatever the origin."""

from __future__ import annotations

from django.utils import timezone

from dixian.monitoring.models import CaseStatus, MonitoringCase
from dixian.registry.models import Household

FIELDS = [
    "status",
    "category",
    "risks",
    "channel",
    "identified_month",
    "eliminated_month",
    "elimination_mode",
]


def _status(h: Household) -> str:
    return CaseStatus.ELIMINATED if h.risk_eliminated else CaseStatus.MONITORED


def sync_cases(county_codes: list[str], household_nos: list[str]) -> dict:
    """Create or update the ledger spell of every monitored household of an import (set-based)."""
    households = (
        list(
            Household.objects.filter(county_code__in=county_codes, household_no__in=household_nos)
            .exclude(monitoring_category="")
            .only(
                "id",
                "county_code",
                "township_code",
                "village_code",
                "monitoring_category",
                "risks",
                "channel",
                "identified_month",
                "eliminated_month",
                "elimination_mode",
                "risk_eliminated",
            )
        )
        if len(household_nos) < 30000
        else list(Household.objects.filter(county_code__in=county_codes).exclude(monitoring_category=""))
    )
    latest: dict[int, MonitoringCase] = {}
    for case in (
        MonitoringCase.objects.filter(household_id__in=[h.pk for h in households])
        .exclude(status=CaseStatus.REJECTED)
        .order_by("household_id", "created_at", "id")
    ):
        latest[case.household_id] = case
    new, changed = [], []
    now = timezone.now()
    for h in households:
        want = {
            "status": _status(h),
            "category": h.monitoring_category,
            "risks": h.risks,
            "channel": h.channel,
            "identified_month": h.identified_month,
            "eliminated_month": h.eliminated_month,
            "elimination_mode": h.elimination_mode,
        }
        case = latest.get(h.pk)
        if case is not None and case.identified_month == h.identified_month:
            if case.status in (CaseStatus.REVIEWING, CaseStatus.ELIMINATING):
                continue  # a review in Dixian is under way; the ledger does not overrule it
            if any(getattr(case, f) != v for f, v in want.items()):
                for f, v in want.items():
                    setattr(case, f, v)
                changed.append(case)
        else:
            if case is not None and case.status == CaseStatus.MONITORED:
                case.status = CaseStatus.ELIMINATED  # superseded by a newer spell in the ledger
                changed.append(case)
            new.append(
                MonitoringCase(
                    household=h,
                    source="ledger",
                    created_at=now,
                    county_code=h.county_code,
                    township_code=h.township_code,
                    village_code=h.village_code,
                    **want,
                )
            )
    MonitoringCase.objects.bulk_create(new, batch_size=1000)
    if changed:
        MonitoringCase.objects.bulk_update(changed, FIELDS, batch_size=500)
    return {"cases_added": len(new), "cases_changed": len(changed)}
