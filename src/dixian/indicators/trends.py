"""Month-by-month series for the dashboard: each month's value of a flow indicator of the catalogue,
computed with the window set to that one month (so a month's point is exactly what
``compute(["identified.households"], since=<1st of month>, as_of=<end of month>)`` gives).

Two grouped queries (one per family member: identified, eliminated), whatever the number of months.

Alerts raised and closed (部门筛查预警, ``alerts.raised`` / ``alerts.closed``): ``alert_series``.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Q

from dixian.indicators.compute import COUNTED_STATUSES, county_q, month_of, region_q
from dixian.monitoring.models import CaseStatus, MonitoringCase

MIN_MONTHS = 12  # a trend shows at least the 12 months up to the as-of month


def months_between(start: int, end: int) -> list[int]:
    """``202511, 202602`` → ``[202511, 202512, 202601, 202602]``."""
    out = []
    year, month = divmod(start, 100)
    while year * 100 + month <= end:
        out.append(year * 100 + month)
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def trend_window(since: date, as_of: date) -> tuple[int, int]:
    """The months a trend shows: the period, extended back to at least ``MIN_MONTHS`` months."""
    end = month_of(as_of)
    year, month = as_of.year, as_of.month - (MIN_MONTHS - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return min(month_of(since), year * 100 + month), end


def _per_month(qs, month_field: str, start: int, end: int) -> dict[int, tuple[int, int]]:
    rows = (
        qs.filter(**{f"{month_field}__gte": start, f"{month_field}__lte": end})
        .values(month_field)
        .annotate(
            households=Count("household_id", distinct=True),
            persons=Count("household__members", distinct=True, filter=Q(household__members__active=True)),
        )
        .order_by()
    )
    return {r[month_field]: (r["households"], r["persons"]) for r in rows}


def monthly(*, region_code: str, since: date, as_of: date) -> dict:
    """``{"months": [YYYYMM…], "identified.households": […], "identified.persons": […],
    "eliminated.households": […], "eliminated.persons": […], "alerts": None | {...}}`` for a region
    (no user: callers apply the scope)."""
    start, end = trend_window(since, as_of)
    spells = MonitoringCase.objects.filter(
        county_q(region_code),
        region_q(region_code, "household__", with_county=False),
        status__in=COUNTED_STATUSES,
    )
    identified = _per_month(spells, "identified_month", start, end)
    eliminated = _per_month(spells.filter(status=CaseStatus.ELIMINATED), "eliminated_month", start, end)
    months = months_between(start, end)
    out: dict = {"months": months}
    for key, rows in (("identified", identified), ("eliminated", eliminated)):
        out[f"{key}.households"] = [rows.get(m, (0, 0))[0] for m in months]
        out[f"{key}.persons"] = [rows.get(m, (0, 0))[1] for m in months]
    out["alerts"] = alert_series(region_code=region_code, months=months)
    return out


def alert_series(*, region_code: str, months: list[int]) -> dict:
    """Alerts raised and closed per month (部门筛查预警): each month's ``alerts.raised`` and
    ``alerts.closed`` of the catalogue with the window set to that month, from two grouped queries over
    ``Alert`` and its own region columns."""
    from django.db.models.functions import ExtractMonth, ExtractYear

    from dixian.screening.models import Alert, AlertStatus

    if not months:
        return {"raised": [], "closed": []}
    first = date(months[0] // 100, months[0] % 100, 1)
    last_y, last_m = divmod(months[-1], 100)
    end = date(last_y + (last_m == 12), last_m % 12 + 1, 1)
    alerts = Alert.objects.filter(county_q(region_code), region_q(region_code, with_county=False))

    def per_month(qs, field: str) -> dict[int, int]:
        rows = (
            qs.filter(**{f"{field}__gte": first, f"{field}__lt": end})
            .annotate(_y=ExtractYear(field), _m=ExtractMonth(field))
            .values("_y", "_m")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {r["_y"] * 100 + r["_m"]: r["n"] for r in rows}

    raised = per_month(alerts, "raised_on")
    closed = per_month(alerts.exclude(status=AlertStatus.OPEN), "verified_on")
    return {"raised": [raised.get(m, 0) for m in months], "closed": [closed.get(m, 0) for m in months]}
