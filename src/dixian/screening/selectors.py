"""Reads for the early-warning pages, scoped to the user's region (rule 2): alerts, closure figures by
department, rule and township (the catalogue's alerts.* definitions), runs, rules and feed files."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, F, Q, QuerySet

from dixian.accounts.scoping import scope_q, user_region
from dixian.core.errors import NotFound
from dixian.indicators.catalogue import BY_CODE
from dixian.indicators.compute import alert_aggregates
from dixian.screening.models import Alert, AlertRule, AlertStatus, FeedFile, ScreeningRun

ALERT_CODES = [
    "alerts.raised",
    "alerts.closed",
    "alerts.verified",
    "alerts.on_time",
    "alerts.overdue",
    "alerts.included",
    "alerts.became_monitored",
    "alerts.verification_rate",
    "alerts.on_time_rate",
]


def alerts_for(user) -> QuerySet[Alert]:
    """Alerts in the user's region; alerts not yet assigned to a village are the county's."""
    return Alert.objects.filter(scope_q(user)).select_related("rule", "household", "lead")


def alert_for(user, pk: int) -> Alert:
    alert = alerts_for(user).filter(pk=pk).first()
    if alert is None:
        raise NotFound("没有找到这条预警")
    return alert


def filtered_alerts(
    user,
    *,
    status: str = "",
    rule: str = "",
    department: str = "",
    township: str = "",
    overdue: bool = False,
    today: date,
) -> QuerySet[Alert]:
    qs = alerts_for(user)
    if status == "open":
        qs = qs.filter(status=AlertStatus.OPEN)
    elif status == "closed":
        qs = qs.exclude(status=AlertStatus.OPEN)
    elif status == "unassigned":
        qs = qs.filter(village_code="")
    elif status in AlertStatus.values:
        qs = qs.filter(status=status)
    if rule:
        qs = qs.filter(rule_code=rule)
    if department:
        qs = qs.filter(department=department)
    if township:
        qs = qs.filter(township_code=township)
    if overdue:
        qs = qs.filter(status=AlertStatus.OPEN, due_on__lt=today)
    return qs.order_by(F("verified_on").asc(nulls_first=True), "due_on", "id")


def _finish(row: dict) -> dict:
    raised = int(row.get("alerts.raised") or 0)
    out = {c: int(row.get(c) or 0) for c in ALERT_CODES if not c.endswith("_rate")}
    for code, num in (
        ("alerts.verification_rate", "alerts.verified"),
        ("alerts.on_time_rate", "alerts.on_time"),
    ):
        value = None if not raised else out[num] * 100 / raised
        out[code] = BY_CODE[code].round(value)
    return out


def _closed(user, since: date, as_of: date) -> QuerySet[Alert]:
    """Alerts verified within the period (the catalogue's alerts.closed), in the user's region."""
    return Alert.objects.filter(scope_q(user), verified_on__gte=since, verified_on__lte=as_of).exclude(
        status=AlertStatus.OPEN
    )


def closure_table(user, *, since: date, as_of: date, by: str) -> list[dict]:
    """Rows of the closure figures (the catalogue's alerts.* codes) grouped by department, rule,
    township or village, for alerts raised from ``since`` to ``as_of`` in the user's region."""
    column = {
        "department": "department",
        "rule": "rule_code",
        "township": "township_code",
        "village": "village_code",
    }[by]
    qs = Alert.objects.filter(scope_q(user), raised_on__gte=since, raised_on__lte=as_of)
    rows = list(qs.values(_key=F(column)).annotate(**alert_aggregates(as_of)).order_by("_key"))
    closed = dict(_closed(user, since, as_of).values_list(column).annotate(n=Count("id")).order_by())
    keys = {r["_key"] for r in rows}
    rows += [{"_key": k} for k in sorted(k for k in closed if k not in keys)]
    for r in rows:
        r["alerts.closed"] = closed.get(r["_key"], 0)
    labels: dict[str, str] = {}
    if by == "rule":
        for code, name in AlertRule.objects.order_by("code", "effective_from").values_list("code", "name"):
            labels[code] = name
    elif by in ("township", "village"):
        from dixian.regions import selectors as regions

        labels = regions.names_for([r["_key"] for r in rows if r["_key"]])
    unassigned = {"township": "县级（待分派）", "village": "未分派到村"}
    out = []
    for row in rows:
        key = row.pop("_key")
        label = labels.get(key) or unassigned[by] if by in unassigned else labels.get(key, key)
        out.append({"key": key, "label": label or key, **_finish(row)})
    return out


def closure_total(user, *, since: date, as_of: date) -> dict:
    qs = Alert.objects.filter(scope_q(user), raised_on__gte=since, raised_on__lte=as_of)
    row = qs.aggregate(**alert_aggregates(as_of))
    row["alerts.closed"] = _closed(user, since, as_of).count()
    return _finish(row)


def runs_for(user) -> QuerySet[ScreeningRun]:
    code = user_region(user)
    qs = ScreeningRun.objects.filter(replay=False)
    if code is not None:
        qs = qs.filter(county_code=code[:6] + "000000")
    return qs


def feeds_for(user) -> QuerySet[FeedFile]:
    code = user_region(user)
    qs = FeedFile.objects.all()
    if code is not None:
        qs = qs.filter(Q(county_code=code[:6] + "000000"))
    return qs


def rule_versions() -> dict[str, list[AlertRule]]:
    out: dict[str, list[AlertRule]] = {}
    for r in AlertRule.objects.order_by("code", "-effective_from", "-id"):
        out.setdefault(r.code, []).append(r)
    return out
