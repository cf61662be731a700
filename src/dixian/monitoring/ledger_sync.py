"""Monitoring spells from the imported ledger: each household with a 监测对象类别 has its spell as a
MonitoringCase (source "ledger"), so that figures and checks read one table whatever the origin.

The ledger holds each household's latest spell only. So:
- the same 识别监测时间 as the household's latest spell: that spell is updated;
- another 识别监测时间 while the latest spell is still open: the open spell is *superseded* (a correction
  or a newer spell in the national system; not an elimination) and a new spell is added;
- an open ledger spell whose household no longer has a category in the ledger is superseded too;
- a review under way in Dixian is never overruled by a ledger;
- spells follow their household when it moves to another village.
"""

from __future__ import annotations

from django.db.models import F
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
REGION = ["county_code", "township_code", "village_code"]
UNDER_REVIEW = (CaseStatus.REVIEWING, CaseStatus.ELIMINATING)
HOUSEHOLD_FIELDS = (
    "id",
    "household_no",
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


def sync_cases(county_codes: list[str], household_nos: list[str]) -> dict:
    """Create, update or supersede the ledger spells of the households of an import (set-based)."""
    in_file = set(household_nos)
    households = {
        h["id"]: h
        for h in Household.objects.filter(county_code__in=county_codes)
        .exclude(monitoring_category="")
        .values(*HOUSEHOLD_FIELDS)
        .iterator(chunk_size=20000)
        if h["household_no"] in in_file
    }
    latest: dict[int, MonitoringCase] = {}
    for case in (
        (
            MonitoringCase.objects.filter(household_id__in=list(households), county_code__in=county_codes)
            .exclude(status=CaseStatus.REJECTED)
            .order_by("household_id", "created_at", "id")
        )
        if len(households) < 5000
        else (
            MonitoringCase.objects.filter(household__county_code__in=county_codes)
            .exclude(status=CaseStatus.REJECTED)
            .order_by("household_id", "created_at", "id")
            .iterator(chunk_size=20000)
        )
    ):
        if case.household_id in households:
            latest[case.household_id] = case
    new, changed = [], []
    now = timezone.now()
    for h in households.values():
        case = latest.get(h["id"])
        want = {
            "status": CaseStatus.ELIMINATED if h["risk_eliminated"] else CaseStatus.MONITORED,
            "category": h["monitoring_category"],
            "risks": h["risks"],
            "channel": h["channel"],
            "identified_month": h["identified_month"],
            "eliminated_month": h["eliminated_month"],
            "elimination_mode": h["elimination_mode"],
        }
        if case is not None and case.status in UNDER_REVIEW:
            continue  # a review in Dixian is under way; the ledger does not overrule it
        if case is not None and case.identified_month == h["identified_month"]:
            if any(getattr(case, f) != v for f, v in want.items()):
                for f, v in want.items():
                    setattr(case, f, v)
                changed.append(case)
            continue
        if case is not None and case.status == CaseStatus.MONITORED:
            case.status = CaseStatus.SUPERSEDED
            changed.append(case)
        new.append(
            MonitoringCase(
                household_id=h["id"],
                source="ledger",
                created_at=now,
                county_code=h["county_code"],
                township_code=h["township_code"],
                village_code=h["village_code"],
                **want,
            )
        )
    # Open ledger spells of households of the file that no longer have a category.
    cleared = [
        c
        for c in MonitoringCase.objects.filter(
            household__county_code__in=county_codes,
            household__monitoring_category="",
            source="ledger",
            status=CaseStatus.MONITORED,
        )
        .select_related("household")
        .only("id", "status", "household__household_no")
        if c.household.household_no in in_file
    ]
    for c in cleared:
        c.status = CaseStatus.SUPERSEDED
    MonitoringCase.objects.bulk_create(new, batch_size=1000)
    if changed or cleared:
        MonitoringCase.objects.bulk_update(
            changed + cleared, FIELDS if changed else ["status"], batch_size=500
        )
    # Spells follow their household when it moves.
    moved = list(
        MonitoringCase.objects.filter(household__county_code__in=county_codes)
        .exclude(village_code=F("household__village_code"))
        .select_related("household")
        .only("id", "household__county_code", "household__township_code", "household__village_code")
    )
    for c in moved:
        c.county_code, c.township_code, c.village_code = (
            c.household.county_code,
            c.household.township_code,
            c.household.village_code,
        )
    if moved:
        MonitoringCase.objects.bulk_update(moved, REGION, batch_size=500)
    return {"cases_added": len(new), "cases_changed": len(changed) + len(cleared)}
