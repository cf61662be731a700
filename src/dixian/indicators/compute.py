"""Compute the catalogue's figures for a region at a date: aggregate SQL through the ORM, no loop over
households in Python (rule 7). The same expressions serve one region (``compute``) and a breakdown by
township, village or county (``compute_with_breakdown``), so that the parts and the whole agree.

Four families of queries, each run only when an asked-for indicator needs it:

* ``lifted``: households of type 脱贫户 and their active persons (current registry);
* ``stock``: each household's latest monitoring spell as of the as-of month (one query: the spells
  whose id is the latest of their household, from a grouped subquery, left-joined to the active
  persons);
* ``flow``: spells identified / eliminated within the window (one query, distinct households and
  persons);
* ``income``: sums over lifted households' income columns, in fen (exact on SQLite too);
* ``alerts``: early-warning alerts raised in the window and what became of them (``alert_counts``,
  shared with the screening pages' breakdowns by department and rule).

No user here: callers go through ``selectors`` (region scope) or are the command-line operator.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db.models import (
    BigIntegerField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from dixian.core.errors import ValidationError
from dixian.indicators.catalogue import BY_CODE, CODES
from dixian.monitoring.models import CaseStatus, MonitoringCase
from dixian.regions.selectors import code_level
from dixian.registry.choices import EliminationMode, HouseholdType, MonitoringCategory, RiskType
from dixian.registry.models import EXPENSE_PART, INCOME_PARTS, Household, Person, fen_of

# Spells that count at all: identified and approved (not under identification review, not rejected).
COUNTED_STATUSES = (CaseStatus.MONITORED, CaseStatus.ELIMINATING, CaseStatus.ELIMINATED)
SPELL_KEY = 10**10  # identified_month * SPELL_KEY + id orders a household's spells (ids < 10^10)
INCOME_COLUMNS, EXPENSE_COLUMN = INCOME_PARTS, EXPENSE_PART
_INCOME_KEY = {
    "wage_income": "wage",
    "business_income": "business",
    "property_income": "property",
    "transfer_income": "transfer",
}

# Group-by levels of a breakdown: the household column holding the part's code.
BREAKDOWN_COLUMN = {"county": "county_code", "township": "township_code", "village": "village_code"}
CHILD_LEVEL = {"province": "county", "city": "county", "county": "township", "township": "village"}


def month_of(day: date) -> int:
    """``date(2026, 10, 31)`` → ``202610`` (the YYYYMM of the national system)."""
    return day.year * 100 + day.month


def default_since(as_of: date) -> date:
    """The start of the window when none is given: 1 January of the as-of year."""
    return date(as_of.year, 1, 1)


def region_q(region_code: str, prefix: str = "", *, with_county: bool = True) -> Q:
    """Rows of households in a region, by the household's region columns (rule 3: equality columns).

    A township or a village also carries its county's ``county_code``: redundant for the answer, but
    it lets the planner use the ``(county_code, household_type, …)`` index (SQLite without ANALYZE
    otherwise picks the ``household_type`` index for a township and scans every 脱贫户 of the
    registry), and a sharded PostgreSQL route the query to one shard. A city or a province is a range
    over ``county_code`` (the code prefix), which can use the index too.
    """
    level = code_level(region_code)
    if level == "county":
        return Q(**{f"{prefix}county_code": region_code})
    if level in ("village", "township"):
        if not with_county:
            return Q(**{f"{prefix}{level}_code": region_code})
        county = region_code[:6] + "000000"
        return Q(**{f"{prefix}county_code": county, f"{prefix}{level}_code": region_code})
    if level in ("city", "province"):
        return county_q(region_code, prefix)
    raise ValidationError(
        f"区划代码“{region_code}”无效：应为 12 位统计用区划代码", details={"code": region_code}
    )


def county_q(region_code: str, prefix: str = "") -> Q:
    """The county (or the counties of a city or province) of a region, on a row's own
    ``county_code``. A spell always lies in its household's county (a household is unique per county),
    so this filter on the spell is safe, and lets the ``(county_code, status)`` index work."""
    level = code_level(region_code)
    if level in ("city", "province"):
        keep = 4 if level == "city" else 2
        head = region_code[:keep]
        return Q(**{f"{prefix}county_code__range": (head + "0" * (12 - keep), head + "9" * (12 - keep))})
    return Q(**{f"{prefix}county_code": region_code[:6] + "000000"})


# -- which query families each indicator needs ------------------------------------------------------


def _families(code: str) -> set[str]:
    if code.startswith("lifted."):
        return {"lifted"}
    if code.startswith("monitored.") or code.startswith("elimination_rate."):
        return {"stock"}
    if code.startswith("identified.") or code.startswith("eliminated."):
        return {"flow"}
    if code == "monitoring_ratio":
        return {"stock", "lifted"}
    if code.startswith("income."):
        return {"income"}
    if code.startswith("alerts."):
        return {"alerts"}
    raise AssertionError(f"no query family for {code}")  # pragma: no cover - catalogue and compute disagree


def _checked(codes: Iterable[str] | None, region_code: str, as_of: date, since: date | None):
    if codes is None:
        wanted = list(CODES)
    else:
        wanted = list(dict.fromkeys(codes))
        unknown = [c for c in wanted if c not in BY_CODE]
        if unknown:
            raise ValidationError(f"未知的指标：{'、'.join(unknown)}", details={"codes": unknown})
    if not isinstance(as_of, date):
        raise ValidationError("统计日期无效")
    since = since or default_since(as_of)
    if since > as_of:
        raise ValidationError(
            f"起始日期 {since.isoformat()} 晚于统计日期 {as_of.isoformat()}",
            details={"since": since.isoformat(), "as_of": as_of.isoformat()},
        )
    region_q(region_code)  # raises for a non-code
    order = {c: n for n, c in enumerate(CODES)}
    wanted.sort(key=order.__getitem__)
    return wanted, since


# -- the queries --------------------------------------------------------------------------------------


def _run(qs, aggregates: dict, group: str | None) -> dict:
    """``{None: row}`` for a whole region, ``{part_code: row}`` grouped by a household column."""
    if group is None:
        return {None: qs.aggregate(**aggregates)}
    return {row.pop("_part"): row for row in qs.values(_part=F(group)).annotate(**aggregates).order_by()}


def _lifted(region: Q, hh_region: Q, group: str | None) -> dict:
    households = Household.objects.filter(hh_region, household_type=HouseholdType.LIFTED)
    persons = Person.objects.filter(region, active=True, household__household_type=HouseholdType.LIFTED)
    out: dict = {}
    for part, row in _run(households, {"lifted.households": Count("id")}, group).items():
        out.setdefault(part, {}).update(row)
    person_group = f"household__{group}" if group else None
    for part, row in _run(persons, {"lifted.persons": Count("id")}, person_group).items():
        out.setdefault(part, {}).update(row)
    return out


def _latest_ids(county: Q, month: int) -> Subquery:
    """Ids of each household's latest counted spell as of ``month`` (see ``latest_spells``).

    An uncorrelated grouped subquery (per household, the greatest ``identified_month * 10^10 + id``,
    whose remainder is the spell's id) that callers match with ``id IN (…)``: a hash semi-join on
    PostgreSQL and an ephemeral index on SQLite, whatever the planner's statistics. (A correlated NOT
    EXISTS anti-join took 34 s on PostgreSQL without statistics, which ANDed the status and month
    indexes into each of 48,000 probes.)
    """
    spell_key = ExpressionWrapper(
        F("identified_month") * Value(SPELL_KEY) + F("id"), output_field=BigIntegerField()
    )
    return Subquery(
        MonitoringCase.objects.filter(county, status__in=COUNTED_STATUSES, identified_month__lte=month)
        .order_by()
        .values("household_id")
        .annotate(_key=Max(spell_key))
        .values(_latest=F("_key") % Value(SPELL_KEY))
    )


def latest_spells(*, region_code: str, as_of: date):
    """The monitoring spells that count "as of" a date, one per household: identified in or before
    that month, not under identification review nor rejected, the latest by 识别监测时间 (ties: the one
    recorded last). The one definition for figures and anything else that needs it (quality checks).
    Not scoped to a user: callers apply the region scope."""
    region_q(region_code)  # raises for a non-code
    county = county_q(region_code)
    return MonitoringCase.objects.filter(
        county,
        region_q(region_code, "household__", with_county=False),
        id__in=_latest_ids(county, month_of(as_of)),
    )


def _stock(county: Q, households: Q, month: int, group: str | None) -> dict:
    """Each household's latest counted spell as of ``month``, with its active persons joined."""
    spells = MonitoringCase.objects.filter(county, households, id__in=_latest_ids(county, month))
    eliminated = Q(status=CaseStatus.ELIMINATED, eliminated_month__lte=month)
    still_open = (
        ~Q(status=CaseStatus.ELIMINATED) | Q(eliminated_month__isnull=True) | Q(eliminated_month__gt=month)
    )
    parts = {"monitored": Q(), "monitored.open": still_open, "monitored.eliminated": eliminated}
    for category in MonitoringCategory:
        parts[f"monitored.{category.value}"] = Q(category=category.value)
    for risk in RiskType:
        parts[f"monitored.risk.{risk.value}"] = _has_risk(risk)
    active = Q(household__members__active=True)
    aggregates = {}
    for key, cond in parts.items():
        # One row per (spell, active person): households by distinct spell, persons by person rows
        # (each household has one latest spell, so a person appears once).
        aggregates[f"{key}.households"] = Count("id", distinct=True, filter=cond)
        aggregates[f"{key}.persons"] = Count("household__members", filter=cond & active)
    return _run(spells, aggregates, f"household__{group}" if group else None)


def _has_risk(risk: RiskType) -> Q:
    """``risks`` is a JSON list of codes: match the quoted code in its text (works on SQLite's JSON text
    and PostgreSQL's jsonb::text alike; no code is part of another quoted code)."""
    return Q(risks__icontains=f'"{risk.value}"')


def _flow(case_region: Q, start: int, end: int, group: str | None) -> dict:
    """Spells identified, and spells eliminated, within the months ``start``..``end``."""
    identified = Q(identified_month__gte=start, identified_month__lte=end)
    eliminated = Q(status=CaseStatus.ELIMINATED, eliminated_month__gte=start, eliminated_month__lte=end)
    spells = MonitoringCase.objects.filter(case_region, status__in=COUNTED_STATUSES).filter(
        identified | eliminated
    )
    parts = {"identified": identified, "eliminated": eliminated}
    for risk in RiskType:
        parts[f"identified.risk.{risk.value}"] = identified & _has_risk(risk)
    for category in MonitoringCategory:
        parts[f"identified.{category.value}"] = identified & Q(category=category.value)
    for mode in EliminationMode:
        parts[f"eliminated.{mode.value}"] = eliminated & Q(elimination_mode=mode.value)
    active = Q(household__members__active=True)
    aggregates = {}
    for key, cond in parts.items():
        aggregates[f"{key}.households"] = Count("household_id", distinct=True, filter=cond)
        aggregates[f"{key}.persons"] = Count("household__members", distinct=True, filter=cond & active)
    return _run(spells, aggregates, f"household__{group}" if group else None)


def _fen(column: str):
    """Σ of a money column in fen (integer): exact on SQLite, whose decimals are stored as REAL."""
    money = Coalesce(F(column), Value(Decimal(0)), output_field=DecimalField(max_digits=14, decimal_places=2))
    return Sum(fen_of(money))


def _income(hh_region: Q, group: str | None) -> dict:
    known = Q()
    for column in (*INCOME_COLUMNS, EXPENSE_COLUMN):
        known |= Q(**{f"{column}__isnull": False})
    households = Household.objects.filter(hh_region, known, household_type=HouseholdType.LIFTED, size__gt=0)
    aggregates = {"_income.persons": Sum("size"), "_income.households": Count("id")}
    for column in (*INCOME_COLUMNS, EXPENSE_COLUMN):
        aggregates[f"_income.{column}"] = _fen(column)
    return _run(households, aggregates, group)


ALERT_COUNTS = ("raised", "verified", "on_time", "overdue", "included", "became_monitored")


def alert_aggregates(as_of: date) -> dict:
    """The alert counts of the catalogue (``alerts.*``) as aggregates over ``Alert`` rows."""
    from dixian.screening.models import AlertStatus

    month = month_of(as_of)
    verified = Q(verified_on__isnull=False, verified_on__lte=as_of) & ~Q(status=AlertStatus.OPEN)
    became = Q(
        lead__cases__status__in=COUNTED_STATUSES,
        lead__cases__identified_month__lte=month,
    )
    conds = {
        "raised": Q(),
        "verified": verified,
        "on_time": verified & Q(verified_on__lte=F("due_on")),
        "overdue": ~verified & Q(due_on__lt=as_of),
        "included": verified & Q(status=AlertStatus.INCLUDED),
        "became_monitored": verified & Q(status=AlertStatus.INCLUDED) & became,
        "not_included": verified & Q(status=AlertStatus.NOT_INCLUDED),
        "already": verified & Q(status=AlertStatus.ALREADY),
        "open": ~verified,
    }
    from dixian.screening.feeds import FeedType

    for feed in FeedType:
        conds[f"raised.{feed.value}"] = Q(rule__feed_type=feed.value)
    return {f"alerts.{k}": Count("id", distinct=True, filter=c) for k, c in conds.items()}


def _alerts(region: Q, since: date, as_of: date, group: str | None) -> dict:
    from dixian.screening.models import Alert, AlertStatus

    alerts = Alert.objects.filter(region, raised_on__gte=since, raised_on__lte=as_of)
    out = _run(alerts, alert_aggregates(as_of), group)
    closed = Alert.objects.filter(region, verified_on__gte=since, verified_on__lte=as_of).exclude(
        status=AlertStatus.OPEN
    )
    for part, row in _run(closed, {"alerts.closed": Count("id")}, group).items():
        out.setdefault(part, {}).update(row)
    return out


def _raw(families: set[str], region_code: str, as_of: date, since: date, group: str | None) -> dict:
    hh_region = region_q(region_code)
    via_household = region_q(region_code, "household__")
    # Spells: their own county_code (the index), and their household's township or village only (the
    # household's county_code as well made PostgreSQL without statistics re-scan the township's
    # households for every spell: 1 s instead of 10 ms).
    county = county_q(region_code)
    spell_households = region_q(region_code, "household__", with_county=False)
    out: dict = {}

    def merge(rows: dict) -> None:
        for part, row in rows.items():
            out.setdefault(part, {}).update(row)

    if "lifted" in families:
        merge(_lifted(via_household, hh_region, group))
    if "stock" in families:
        merge(_stock(county, spell_households, month_of(as_of), group))
    if "flow" in families:
        merge(_flow(county & spell_households, month_of(since), month_of(as_of), group))
    if "income" in families:
        merge(_income(hh_region, group))
    if "alerts" in families:
        merge(_alerts(hh_region, since, as_of, group))
    return out


# -- from raw sums to published values ---------------------------------------------------------------


def _ratio(numerator, denominator, scale: int = 100) -> Decimal | None:
    if not denominator:
        return None
    return Decimal(int(numerator or 0)) * scale / Decimal(int(denominator))


def _finish(raw: dict, codes: list[str]) -> dict:
    def n(key: str) -> int:
        return int(raw.get(key) or 0)

    fen = {c: n(f"_income.{c}") for c in (*INCOME_COLUMNS, EXPENSE_COLUMN)}
    income_persons = n("_income.persons")
    out = {}
    for code in codes:
        indicator = BY_CODE[code]
        if code == "monitoring_ratio":
            value = _ratio(n("monitored.persons"), n("lifted.persons"))
        elif code.startswith("elimination_rate."):
            unit = code.rsplit(".", 1)[1]
            value = _ratio(n(f"monitored.eliminated.{unit}"), n(f"monitored.{unit}"))
        elif code in ("income.lifted.households", "income.lifted.persons"):
            value = n(f"_income.{code.rsplit('.', 1)[1]}")
        elif code.startswith("income.lifted.") and code.endswith(".total"):
            # A sum over no household is no value (like the per-capita figures), not 0.
            if code == "income.lifted.total":
                total = sum(fen[c] for c in INCOME_COLUMNS) - fen[EXPENSE_COLUMN]
            elif code == "income.lifted.expense.total":
                total = fen[EXPENSE_COLUMN]
            else:
                total = fen[next(c for c, k in _INCOME_KEY.items() if code == f"income.lifted.{k}.total")]
            value = Decimal(total) / 100 if n("_income.households") else None
        elif code == "income.lifted.per_capita":
            net = sum(fen[c] for c in INCOME_COLUMNS) - fen[EXPENSE_COLUMN]
            value = _ratio(net, income_persons * 100, scale=1)
        elif code == "alerts.verification_rate":
            value = _ratio(n("alerts.verified"), n("alerts.raised"))
        elif code == "alerts.on_time_rate":
            value = _ratio(n("alerts.on_time"), n("alerts.raised"))
        elif code.startswith("income.lifted."):
            column = next(c for c, k in _INCOME_KEY.items() if code == f"income.lifted.{k}.per_capita")
            value = _ratio(fen[column], income_persons * 100, scale=1)
        else:
            value = n(code)
        out[code] = indicator.round(value)
    return out


# -- public -----------------------------------------------------------------------------------------


def compute(
    codes: Iterable[str] | None = None, *, region_code: str, as_of: date, since: date | None = None
) -> dict[str, int | float | None]:
    """``{code: value}`` for a region (12-digit code of a province, city, county, township or village)
    as of a date; ``since`` opens the window of the flow indicators (default 1 January of the as-of
    year). Counts are ints, % and yuan floats rounded half up; None where a denominator is 0.
    Codes come back in catalogue order. Raises ``ValidationError`` for bad arguments."""
    wanted, since = _checked(codes, region_code, as_of, since)
    families = set().union(*(_families(c) for c in wanted)) if wanted else set()
    raw = _raw(families, region_code, as_of, since, None).get(None, {})
    return _finish(raw, wanted)


def compute_with_breakdown(
    codes: Iterable[str] | None = None,
    *,
    region_code: str,
    as_of: date,
    since: date | None = None,
    parts: Iterable[str] = (),
) -> tuple[dict[str, int | float | None], dict[str, dict[str, int | float | None]]]:
    """``(whole, {part_code: values})``: the figures of a region and of each of its parts one level
    down (county → townships, township → villages, city or province → counties), from one grouped
    query per family. The whole is the sum of the parts' counts and sums (every household lies in
    exactly one part), its ratios computed from those sums, so it equals ``compute()``.

    Every code in ``parts`` is present (zeros / None when it has no rows); parts with rows but not
    listed (say a retired code still on households) are added, so the parts always add up. A village
    has no parts: ``(compute(...), {})``.
    """
    wanted, since = _checked(codes, region_code, as_of, since)
    level = CHILD_LEVEL.get(code_level(region_code))
    families = set().union(*(_families(c) for c in wanted)) if wanted else set()
    if level is None:
        return _finish(_raw(families, region_code, as_of, since, None).get(None, {}), wanted), {}
    raw = _raw(families, region_code, as_of, since, BREAKDOWN_COLUMN[level])
    total: dict[str, int] = {}
    for row in raw.values():
        for key, value in row.items():
            total[key] = total.get(key, 0) + int(value or 0)
    out = {part: _finish(raw.get(part, {}), wanted) for part in parts}
    for part in sorted(p for p in raw if p not in out):
        out[part] = _finish(raw[part], wanted)
    return _finish(total, wanted), out


def compute_breakdown(
    codes: Iterable[str] | None = None,
    *,
    region_code: str,
    as_of: date,
    since: date | None = None,
    parts: Iterable[str] = (),
) -> dict[str, dict[str, int | float | None]]:
    """Only the parts of ``compute_with_breakdown``: ``{part_code: {code: value}}`` (``{}`` for a
    village)."""
    return compute_with_breakdown(codes, region_code=region_code, as_of=as_of, since=since, parts=parts)[1]
