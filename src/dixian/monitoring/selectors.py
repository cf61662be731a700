"""Reads of dynamic monitoring. Every selector takes the user and applies the region scope (rule 2):
another region's rows are not found (404) or simply absent from lists."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from dixian.accounts.models import Role
from dixian.accounts.scoping import covers, scope_q, user_region
from dixian.core.errors import NotFound
from dixian.monitoring.models import (
    NATIONAL,
    PER_YEAR_KEYS,
    Attachment,
    CaseStatus,
    Channel,
    Decision,
    IncomeSurvey,
    Lead,
    Measure,
    MonitoringCase,
    Objection,
    PolicyKey,
    PolicyValue,
    Review,
)
from dixian.monitoring.policy import region_chain
from dixian.monitoring.workflow import STEP_DEADLINE_KEY, STEP_ROLES, STEPS, Step
from dixian.registry.models import Household

# ---------------------------------------------------------------------------------------------
# Who may do what (read-side mirrors of the services' checks, to show or hide forms)


def can_write(user) -> bool:
    """Leaders only look; every other account may record leads, measures and income in its region."""
    if user is None or user.is_superuser:
        return True
    return user.is_authenticated and user.role != Role.LEADER


def can_fast_track(user) -> bool:
    return user is not None and (user.is_superuser or user.role == Role.COUNTY_ADMIN)


def can_edit_policy(user) -> bool:
    return user is not None and (user.is_superuser or user.role == Role.COUNTY_ADMIN)


def steps_for(user) -> list[str]:
    """The review steps this account's role takes."""
    if user is None or user.is_superuser:
        return list(STEPS)
    return [s for s in STEPS if user.role in STEP_ROLES[s]]


def may_take(user, step: str, village_code: str) -> bool:
    """Whether the user may take ``step`` for a household of ``village_code`` (workflow.check_actor)."""
    if user is None or step not in STEP_ROLES:
        return False
    return step in steps_for(user) and covers(user, village_code)


# ---------------------------------------------------------------------------------------------
# Leads, cases, reviews


def leads(user, *, status: str = "", channel: str = "") -> QuerySet[Lead]:
    qs = Lead.objects.filter(scope_q(user)).select_related("household", "channel")
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel__code=channel)
    return qs.order_by("-reported_on", "-id")


def lead_get(user, pk: int) -> Lead:
    lead = leads(user).filter(pk=pk).first()
    if lead is None:
        raise NotFound("线索不存在或不在您的管辖范围内")
    return lead


def channels() -> QuerySet[Channel]:
    return Channel.objects.filter(active=True).order_by("order", "id")


def cases(user, *, status: str = "") -> QuerySet[MonitoringCase]:
    qs = MonitoringCase.objects.filter(scope_q(user)).select_related("household")
    if status:
        qs = qs.filter(status=status)
    return qs


def case_get(user, pk: int) -> MonitoringCase:
    case = cases(user).filter(pk=pk).first()
    if case is None:
        raise NotFound("监测记录不存在或不在您的管辖范围内")
    return case


def reviews(user) -> QuerySet[Review]:
    return Review.objects.filter(scope_q(user)).select_related("case", "case__household", "started_by")


def review_get(user, pk: int) -> Review:
    review = reviews(user).filter(pk=pk).first()
    if review is None:
        raise NotFound("审核不存在或不在您的管辖范围内")
    return review


def review_decisions(review: Review) -> list[Decision]:
    return list(review.decisions.select_related("actor").prefetch_related("attachments").order_by("at", "id"))


def review_objections(review: Review) -> list[Objection]:
    return list(review.objections.order_by("raised_on", "id"))


def attachment_get(user, pk: int) -> Attachment:
    att = (
        Attachment.objects.filter(scope_q(user, prefix="decision__review__"), pk=pk)
        .select_related("decision__review")
        .first()
    )
    if att is None:
        raise NotFound("附件不存在或不在您的管辖范围内")
    return att


def household_cases(household: Household) -> list[MonitoringCase]:
    """Every monitoring spell of a household, newest first, with its reviews (and their decisions)."""
    return list(
        household.cases.prefetch_related(
            Prefetch(
                "reviews",
                queryset=Review.objects.order_by("started_at", "id").prefetch_related(
                    Prefetch("decisions", queryset=Decision.objects.order_by("at", "id"))
                ),
            )
        ).order_by("-created_at", "-id")
    )


def household_leads(household: Household) -> list[Lead]:
    return list(household.leads.select_related("channel").order_by("-reported_on", "-id"))


def household_measures(household: Household) -> list[Measure]:
    return list(household.measure_records.order_by("-start_date", "-id"))


def household_income(household: Household) -> list[IncomeSurvey]:
    return list(household.income_surveys.order_by("-window_end", "-recorded_at", "-id"))


def monitored_case(household: Household, cases_: list[MonitoringCase] | None = None) -> MonitoringCase | None:
    """The spell of the household that may be proposed for risk elimination (风险未消除)."""
    for case in cases_ if cases_ is not None else household_cases(household):
        if case.status == CaseStatus.MONITORED:
            return case
    return None


def villages_for(user) -> list[tuple[str, list]]:
    """(township name, [villages]) of the user's scope, for the new-household form."""
    from dixian.core.deployment import jurisdiction_code
    from dixian.regions import selectors as regions

    code = user_region(user) or jurisdiction_code()
    level = regions.code_level(code)
    if level == "village":
        township = regions.region_info(regions.township_of(code))
        return [(township.label if township else "", [regions.region_by_code(code)])]
    if level == "township":
        townships = [regions.region_by_code(code)]
    elif level == "county":
        townships = list(regions.townships_of(code))
    else:
        return []
    by_township: dict[str, list] = defaultdict(list)
    from dixian.regions.models import Region, RegionLevel

    for v in Region.objects.filter(
        township_code__in=[t.code for t in townships], level=RegionLevel.VILLAGE, valid_to__isnull=True
    ).order_by("code"):
        by_township[v.township_code].append(v)
    return [(t.short_name or t.name, by_township[t.code]) for t in townships if by_township[t.code]]


# ---------------------------------------------------------------------------------------------
# Policy values, read many at once


class PolicyTable:
    """Policy values of some keys loaded in one query, resolved like ``policy.policy`` (the most specific
    region with a value wins; per-year keys need that very year). One per request: the inbox and the
    home page look up deadlines for many reviews without a query each."""

    def __init__(self, keys):
        self.rows: dict[str, dict[str, list[tuple[int, Decimal]]]] = defaultdict(lambda: defaultdict(list))
        for key, region, year, value in PolicyValue.objects.filter(key__in=list(keys)).values_list(
            "key", "region_code", "year", "value"
        ):
            self.rows[key][region].append((year, value))
        self._cache: dict[tuple, tuple | None] = {}

    def lookup(self, key: str, *, place: str, on: date | int) -> tuple[Decimal, str, int] | None:
        """(value, region code, year) in force, or None when missing."""
        year = on if isinstance(on, int) else on.year
        memo = (key, place, year)
        if memo in self._cache:
            return self._cache[memo]
        found = None
        by_region = self.rows.get(key, {})
        for region in region_chain(place):
            mine = [r for r in by_region.get(region, ()) if r[0] <= year]
            if key in PER_YEAR_KEYS:
                mine = [r for r in mine if r[0] == year]
            if mine:
                best = max(mine, key=lambda r: r[0])
                found = (best[1], region, best[0])
                break
        self._cache[memo] = found
        return found

    def value(self, key: str, *, place: str, on: date | int) -> Decimal | None:
        found = self.lookup(key, place=place, on=on)
        return None if found is None else found[0]


def deadline_table() -> PolicyTable:
    return PolicyTable(STEP_DEADLINE_KEY.values())


def step_due(table: PolicyTable, step: str, village_code: str, started) -> date | None:
    """Due date of a step started at ``started`` (aware datetime): start date + the days in force then;
    None when no deadline is set."""
    if step not in STEP_DEADLINE_KEY or started is None:
        return None
    day = timezone.localdate(started) if hasattr(started, "tzinfo") else started
    days = table.value(STEP_DEADLINE_KEY[step], place=village_code, on=day)
    if days is None:
        return None
    return day + timedelta(days=int(days))


# ---------------------------------------------------------------------------------------------
# The inbox (待办)


@dataclass
class InboxItem:
    review: Review
    step: str
    due: date | None
    overdue: bool
    after_the_fact: bool  # a fast-track step to complete afterwards (待补办)
    village: str = ""  # the village's name, filled in by the page

    @property
    def step_label(self) -> str:
        return Step(self.step).label

    @property
    def household(self) -> Household:
        return self.review.case.household


@dataclass
class InboxGroup:
    step: str
    label: str
    items: list[InboxItem] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(1 for i in self.items if i.overdue)


def _next_pending(pending: dict) -> str | None:
    return next((s for s in STEPS if s in (pending or {})), None)


def _parse_day(value) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def _waiting_rows(user, *, fields: tuple[str, ...] | None = None, related: bool = False):
    """Open reviews at one of the user's steps, and fast-track reviews whose next step still to be
    completed afterwards is one of them; both within the user's region."""
    steps = steps_for(user)
    if not steps or not can_write(user):
        return Review.objects.none(), Review.objects.none()
    base = Review.objects.filter(scope_q(user))
    open_qs = base.filter(state=Review.State.OPEN, step__in=steps)
    after_qs = base.filter(state=Review.State.APPROVED, fast_track=True).exclude(pending_after={})
    if related:
        open_qs = open_qs.select_related("case__household")
        after_qs = after_qs.select_related("case__household")
    if fields:
        open_qs = open_qs.only(*fields)
        after_qs = after_qs.only(*fields)
    return open_qs, after_qs


def _items(user, open_qs, after_qs, table: PolicyTable, today: date) -> list[InboxItem]:
    steps = set(steps_for(user))
    items = []
    for r in open_qs:
        due = step_due(table, r.step, r.village_code, r.step_started_at)
        items.append(InboxItem(r, r.step, due, due is not None and today > due, False))
    for r in after_qs:
        step = _next_pending(r.pending_after)
        if step is None or step not in steps:
            continue
        due = _parse_day(r.pending_after.get(step))
        items.append(InboxItem(r, step, due, due is not None and today > due, True))
    return items


def new_leads(user) -> QuerySet[Lead]:
    """Leads not yet taken up (待核实), to start identification; none for read-only accounts."""
    if not can_write(user):
        return Lead.objects.none()
    return leads(user, status=Lead.Status.NEW)


@dataclass
class Inbox:
    groups: list[InboxGroup]
    leads: list[Lead]

    @property
    def waiting(self) -> int:
        return sum(len(g.items) for g in self.groups)

    @property
    def overdue(self) -> int:
        return sum(g.overdue for g in self.groups)


def inbox(user, *, today: date | None = None) -> Inbox:
    """The reviews waiting for this account, grouped by step in chain order, overdue first (then by due
    date), and the new leads of its region."""
    today = today or timezone.localdate()
    open_qs, after_qs = _waiting_rows(user, related=True)
    table = deadline_table()
    items = _items(user, open_qs, after_qs, table, today)
    groups = {s: InboxGroup(s, Step(s).label) for s in STEPS}
    for item in items:
        groups[item.step].items.append(item)
    for g in groups.values():
        g.items.sort(key=lambda i: (not i.overdue, i.due or date.max, i.review.pk))
    return Inbox(
        groups=[g for g in groups.values() if g.items],
        leads=list(new_leads(user)[:200]),
    )


def inbox_counts(user, *, today: date | None = None) -> dict[str, int]:
    """{"waiting", "overdue", "new_leads"} for the home page: four queries whatever the numbers."""
    today = today or timezone.localdate()
    open_qs, after_qs = _waiting_rows(
        user, fields=("id", "step", "village_code", "step_started_at", "pending_after", "fast_track")
    )
    table = deadline_table()
    items = _items(user, open_qs, after_qs, table, today)
    return {
        "waiting": len(items),
        "overdue": sum(1 for i in items if i.overdue),
        "new_leads": new_leads(user).count(),
    }


# ---------------------------------------------------------------------------------------------
# Review progress


@dataclass
class StepState:
    step: str
    label: str
    state: str  # done / current / pending / after (待补办) / rejected
    due: date | None = None
    overdue: bool = False
    done_by: str = ""
    done_at: object = None
    after_the_fact: bool = False

    @property
    def state_label(self) -> str:
        return {
            "done": "已完成",
            "current": "办理中",
            "pending": "未开始",
            "after": "待补办",
            "rejected": "不予通过",
        }[self.state]


def review_progress(
    review: Review, decisions: list[Decision], *, today: date | None = None
) -> list[StepState]:
    """The six steps with their state: done / current / pending; for a fast-tracked review the steps
    still to be completed afterwards are 待补办 with their due dates."""
    today = today or timezone.localdate()
    last_done: dict[str, Decision] = {}
    rejected_at = None
    for d in decisions:
        if d.action == "complete":
            last_done[d.step] = d
        elif d.action == "reject":
            rejected_at = d.step
    out = []
    current_index = STEPS.index(review.step) if review.step in STEPS else len(STEPS)
    pending = review.pending_after or {}
    table = None
    for i, step in enumerate(STEPS):
        s = StepState(step, Step(step).label, "pending")
        done = last_done.get(step)
        if review.state == Review.State.OPEN:
            if i < current_index:
                s.state = "done"
            elif i == current_index:
                s.state = "current"
                table = table or deadline_table()
                s.due = step_due(table, step, review.village_code, review.step_started_at)
                s.overdue = s.due is not None and today > s.due
        elif review.state == Review.State.REJECTED:
            if step == rejected_at:
                s.state = "rejected"
            elif done is not None and (rejected_at is None or i < STEPS.index(rejected_at)):
                s.state = "done"
        else:  # approved
            if step in pending:
                s.state = "after"
                s.due = _parse_day(pending[step])
                s.overdue = s.due is not None and today > s.due
            else:
                s.state = "done"
        if s.state == "done" and done is not None:
            s.done_by, s.done_at, s.after_the_fact = done.actor_name, done.at, done.after_the_fact
        out.append(s)
    return out


def actionable_step(review: Review) -> str | None:
    """The step that can be taken now: the current step of an open review, or the next step still to be
    completed afterwards of a fast-tracked one."""
    if review.state == Review.State.OPEN and review.step in STEPS:
        return review.step
    if review.state == Review.State.APPROVED and review.pending_after:
        return _next_pending(review.pending_after)
    return None


# ---------------------------------------------------------------------------------------------
# Policy page


@dataclass
class PolicyRow:
    row: PolicyValue
    region_name: str
    editable: bool


def policy_rows(user) -> list[PolicyRow]:
    """The policy values that apply to the user's region (its chain up to 全国) or to places inside it."""
    from dixian.core.deployment import jurisdiction_code
    from dixian.regions import selectors as regions

    own = user_region(user) or jurisdiction_code()
    chain = set(region_chain(own))
    rows = [
        r
        for r in PolicyValue.objects.order_by("key", "region_code", "year")
        if r.region_code in chain or (r.region_code != NATIONAL and covers(user, r.region_code))
    ]
    names = regions.names_for({r.region_code for r in rows if r.region_code != NATIONAL})
    editable = editable_regions(user)
    codes = {c for c, _ in editable}
    order = {k: i for i, k in enumerate(PolicyKey.values)}
    rows.sort(key=lambda r: (order.get(r.key, 99), len(r.region_code.rstrip("0")), r.region_code, r.year))
    return [
        PolicyRow(
            r,
            "全国" if r.region_code == NATIONAL else names.get(r.region_code, r.region_code),
            r.region_code in codes,
        )
        for r in rows
    ]


def editable_regions(user) -> list[tuple[str, str]]:
    """(code, name) of the regions whose values this account may set: county, city, province (and 全国
    for the system administrator)."""
    if not can_edit_policy(user):
        return []
    from dixian.core.deployment import jurisdiction_code
    from dixian.regions import selectors as regions

    own = user_region(user) or jurisdiction_code()
    codes = [own]
    if regions.code_level(own) in ("county", "township", "village"):
        codes = [regions.county_of(own), own[:4] + "0" * 8, own[:2] + "0" * 10]
    codes = list(dict.fromkeys(codes))
    names = regions.names_for(codes)
    out = [(c, names.get(c, c)) for c in codes]
    if user.is_superuser:
        out.append((NATIONAL, "全国"))
    return out


def missing_lines(*, today: date | None = None) -> list[str]:
    """Warnings for the current year and the three before it when the deployment's monitoring line
    (per year, no carrying over) is not set: "2024年山西省监测线未设置"."""
    from dixian.core.deployment import jurisdiction_code
    from dixian.regions import selectors as regions

    today = today or timezone.localdate()
    place = jurisdiction_code()
    province = regions.province_of(place)
    info = regions.region_info(province) if province else None
    name = info.label if info else "本省"
    table = PolicyTable([PolicyKey.MONITORING_LINE])
    return [
        f"{year}年{name}监测线未设置"
        for year in range(today.year - 3, today.year + 1)
        if table.lookup(PolicyKey.MONITORING_LINE, place=place, on=year) is None
    ]


def policy_in_force(key: str, *, place: str, on: date) -> tuple[Decimal, str, int] | None:
    return PolicyTable([key]).lookup(key, place=place, on=on)


def region_names(codes) -> dict[str, str]:
    from dixian.regions import selectors as regions

    return regions.names_for(codes)


# ---------------------------------------------------------------------------------------------
# The household page's monitoring sections


SOURCE_LABELS = {"ledger": "台账导入", "workflow": "系统审核"}


def household_monitoring(user, household: Household) -> dict:
    """监测记录, 帮扶措施 (recorded and from the ledger), 收入调查 of a household the user may see."""
    from dixian.monitoring.models import LEDGER_MEASURE_KIND
    from dixian.registry.choices import MonitoringCategory, RiskType

    spells = household_cases(household)
    rows = []
    for case in spells:
        rows.append(
            {
                "case": case,
                "category": MonitoringCategory(case.category).label
                if case.category in MonitoringCategory.values
                else case.category,
                "risks": [RiskType(r).label if r in RiskType.values else r for r in case.risks or []],
                "source": SOURCE_LABELS.get(case.source, case.source),
                "reviews": list(case.reviews.all()),
            }
        )
    # one vocabulary for both: the ledger's measure columns (健康帮扶, 公益岗位帮扶, 住房安全保障 …)
    column_of = {kind: column for column, kind in LEDGER_MEASURE_KIND.items()}
    measures = [
        {
            "kind": column_of.get(m.kind, m.get_kind_display()),
            "content": m.content,
            "amount": m.amount,
            "start": m.start_date,
            "end": m.end_date,
            "funding": m.funding_source,
            "helper": m.helper_name,
            "ledger": False,
        }
        for m in household_measures(household)
    ]
    for column, content in (household.measures or {}).items():
        measures.append(
            {
                "kind": column,
                "content": content,
                "amount": None,
                "start": None,
                "end": None,
                "funding": "",
                "helper": "",
                "ledger": True,
            }
        )
    return {
        "spells": rows,
        "monitored_case": monitored_case(household, spells),
        "measure_rows": measures,
        "surveys": household_income(household),
        "leads": household_leads(household),
        "can_write": can_write(user),
    }
