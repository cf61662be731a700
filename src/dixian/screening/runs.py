"""Screening runs: all rules in force on a date over the departments' latest files, alerts written with
their evidence, repeats suppressed; and replays of a past date that explain why an alert did or did
not fire."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from dixian.accounts import permissions
from dixian.core import audit
from dixian.core.audit import as_actor
from dixian.core.bulk import ahead, insert_values
from dixian.core.deployment import jurisdiction_code
from dixian.core.errors import ValidationError
from dixian.monitoring.policy import PolicyMissing, policy
from dixian.screening import engine
from dixian.screening.feeds import SPECS, FeedType
from dixian.screening.models import Aggregate, Alert, AlertRule, FeedFile, ScreeningRun, Subject
from dixian.screening.registry_arrow import RegistryRead, can_read_elsewhere
from dixian.screening.rules import ensure_default_rules, rules_in_force

Progress = Callable[[str, float], None]


def county_of_deployment() -> str:
    code = jurisdiction_code()
    return code[:6] + "000000"


def files_for(feed_type: str, county: str, *, loaded_by: datetime | None = None) -> list[FeedFile]:
    """The department's files of a type, newest first (those loaded by a moment, if given)."""
    qs = FeedFile.objects.filter(feed_type=feed_type, county_code__startswith=county[:6])
    if loaded_by is not None:
        qs = qs.filter(loaded_at__lte=loaded_by)
    return list(qs.order_by("-loaded_at", "-id")[:2])


def _resolve_threshold(rule: AlertRule, county: str, as_of: date) -> tuple[list, list[str]]:
    """Policy terms replaced by their value in force for the county in that year; warnings for gaps."""
    terms, warnings = [], []
    for t in rule.threshold:
        of = t.get("of", "")
        if of.startswith("policy:"):
            key = of[7:]
            year = as_of.year + int(t.get("year", 0))
            try:
                value = policy(key, place=county, on=year).value
            except PolicyMissing as exc:
                warnings.append(f"阈值的一项无法计算：{exc.message}")
                continue
            factor = Decimal(t["factor"])
            terms.append({"const": str(factor * value)})
        else:
            terms.append(t)
    if rule.threshold and not terms:
        warnings.append("阈值缺少必要的政策参数，本条规则未运行")
        return [], warnings
    return terms, warnings


def compile_rule(rule: AlertRule, county: str, as_of: date, *, loaded_by: datetime | None = None):
    """(CompiledRule or None, the files used, warnings)."""
    files = files_for(rule.feed_type, county, loaded_by=loaded_by)
    if not files:
        return (
            None,
            [],
            [f"尚未加载{FeedType(rule.feed_type).label}数据（{SPECS[rule.feed_type].department}）"],
        )
    terms, warnings = _resolve_threshold(rule, county, as_of)
    if rule.threshold and not terms:
        return None, files, warnings
    compiled = engine.CompiledRule(
        code=rule.code,
        feed_type=rule.feed_type,
        filters=rule.filters,
        latest_only=rule.latest_only,
        window_months=rule.window_months,
        window_days=rule.window_days,
        subject=rule.subject,
        group_by=rule.group_by,
        aggregate=rule.aggregate,
        measure=rule.measure,
        comparison=rule.comparison,
        threshold=terms,
        population=rule.population,
        files=[files[0].stored_path],
        previous_files=[f.stored_path for f in files[1:]] if rule.aggregate == Aggregate.NEW else [],
    )
    return compiled, files, warnings


@dataclass
class RuleOutcome:
    rule: AlertRule
    hits: list = field(default_factory=list)  # engine.Hit
    suppressed: dict = field(default_factory=dict)  # subject_key -> earlier alert id
    warnings: list[str] = field(default_factory=list)
    files: list = field(default_factory=list)


def _suppressed(
    rule: AlertRule, as_of: date, keys: list[str], *, before_run: int | None = None
) -> dict[str, int]:
    if not keys or not rule.suppress_days:
        return {}
    # the window reaches both ways: a run dated before an alert already raised (a missed day caught
    # up later) repeats it as much as a run after it does
    reach = timedelta(days=rule.suppress_days - 1)
    qs = Alert.objects.filter(rule_code=rule.code, raised_on__gte=as_of - reach, raised_on__lte=as_of + reach)
    if before_run is not None:
        qs = qs.filter(run_id__lt=before_run)
    out = {}
    wanted = set(keys)
    for key, pk in qs.values_list("subject_key", "id").order_by("raised_on", "id").iterator():
        if key in wanted:
            out.setdefault(key, pk)
    return out


def registry_needs(rules: list[AlertRule]) -> frozenset[str]:
    """The registry columns the rules need beyond ID number, household and income."""
    needs = set()
    for r in rules:
        if r.subject in (Subject.SCHOOL_AGE, Subject.WORKING_AGE):
            needs.add("birth_date")
        if r.subject == Subject.ONLY_WORKER:
            needs.add("works")
    return frozenset(needs)


def evaluate(
    *,
    as_of: date,
    county: str,
    codes: list[str] | None = None,
    loaded_by: datetime | None = None,
    subjects: list[str] | None = None,
    with_threshold: bool = True,
    before_run: int | None = None,
    progress: Progress | None = None,
) -> list[RuleOutcome]:
    """Run the rules in force on ``as_of`` over the files loaded by ``loaded_by`` (default: all)."""
    step = progress or (lambda stage, fraction: None)
    if not AlertRule.objects.exists():
        ensure_default_rules()
    rules = [r for r in rules_in_force(as_of) if codes is None or r.code in codes]
    step("读取在册人员", 0.05)
    # the registry is read (by other processes or threads, where it can be) while the rules are prepared
    reading = RegistryRead(county, registry_needs(rules), parallel=can_read_elsewhere())
    compiled = [compile_rule(rule, county, as_of, loaded_by=loaded_by) for rule in rules]
    con = engine.connect()
    outcomes = []
    try:
        registry = reading.result()
        engine.attach_registry(con, registry)
        for i, (rule, (c, files, warnings)) in enumerate(zip(rules, compiled, strict=True)):
            step(f"规则：{rule.name}", 0.2 + 0.7 * i / max(len(rules), 1))
            outcome = RuleOutcome(rule=rule, warnings=warnings, files=files)
            if c is not None:
                outcome.hits = engine.run_rule(
                    con,
                    c,
                    as_of,
                    registry,
                    subjects=subjects,
                    with_threshold=with_threshold,
                )
                fired = [h.subject_key for h in outcome.hits if h.fires]
                outcome.suppressed = _suppressed(rule, as_of, fired, before_run=before_run)
            outcomes.append(outcome)
    finally:
        con.close()
    return outcomes


def _villages_of(outcomes: list[RuleOutcome], county: str) -> set[str]:
    """Which insurance place codes of people not registered are villages of the county."""
    from dixian.regions.models import Region

    places = {
        p
        for o in outcomes
        for h in o.hits
        if h.household_id is None and len(p := (h.place_code or "").strip()) == 12 and p[:6] == county[:6]
    }
    return set(Region.objects.filter(code__in=places, level="village").values_list("code", flat=True))


def _alert_region(hit: engine.Hit, villages: set[str], county: str) -> tuple[str, str, str]:
    """(county, township, village) codes of the alert: its household's (read with the registry: a
    household of the county), else its insurance place's village of the county, else the county alone."""
    if hit.household_id is not None:
        return county, hit.township_code, hit.village_code
    place = (hit.place_code or "").strip()
    if place in villages:
        return county, place[:9] + "000", place
    return county, "", ""


# the alert's fields a run writes, in the order of the rows it builds (the rest take their defaults)
ALERT_COLUMNS = [
    "run_id",
    "rule_id",
    "rule_code",
    "department",
    "household_id",
    "subject_key",
    "id_numbers",
    "names",
    "value",
    "threshold",
    "risk",
    "evidence",
    "evidence_file_id",
    "raised_on",
    "due_on",
    "county_code",
    "township_code",
    "village_code",
]


def _alert_rows(outcomes: list[RuleOutcome], run_id: int, as_of: date, villages: set[str], county: str):
    """The new alerts as rows of ``ALERT_COLUMNS`` (hits not suppressed), computed only (no
    database access): a thread builds them while the rows before them are written."""
    for o in outcomes:
        rule = o.rule
        department = SPECS[rule.feed_type].department
        raised_on, due_on = as_of.isoformat(), (as_of + timedelta(days=rule.deadline_days)).isoformat()
        rule_id, file_id = rule.pk, o.files[0].pk if o.files else None
        for hit in o.hits:
            if hit.subject_key in o.suppressed:
                continue
            c, t, v = _alert_region(hit, villages, county)
            yield (
                run_id,
                rule_id,
                rule.code,
                department,
                hit.household_id,
                hit.subject_key,
                hit.ids_json,
                hit.names_json,
                hit.value,
                hit.threshold,
                rule.risk,
                hit.evidence_json,
                file_id,
                raised_on,
                due_on,
                c,
                t,
                v,
            )


def run_screening(
    *, actor, as_of: date | None = None, codes: list[str] | None = None, progress: Progress | None = None
) -> ScreeningRun:
    """Screen the registry as of a date with every rule then in force; new alerts go to their villages."""
    actor = as_actor(actor)
    permissions.require(actor.user, permissions.RUN_SCREENING)
    today = timezone.localdate()
    as_of = as_of or today
    if as_of > today:
        raise ValidationError("筛查日期不能晚于今天")
    county = county_of_deployment()
    if actor.user is not None and actor.user.region_code and actor.user.region_code[:6] != county[:6]:
        raise ValidationError("只能筛查本县")
    started = time.perf_counter()
    started_at = timezone.now()
    outcomes = evaluate(as_of=as_of, county=county, codes=codes, progress=progress)
    if progress:
        progress("写入预警", 0.92)
    villages = _villages_of(outcomes, county)
    with transaction.atomic():
        run = ScreeningRun.objects.create(
            county_code=county,
            as_of=as_of,
            started_at=started_at,
            started_by=actor.user,
            started_by_name=actor.name,
        )
        results, count = {}, 0
        for o in outcomes:
            new = sum(1 for hit in o.hits if hit.subject_key not in o.suppressed)
            count += new
            results[o.rule.code] = {
                "rule_id": o.rule.pk,
                "name": o.rule.name,
                "hits": len(o.hits),
                "new": new,
                "suppressed": len(o.suppressed),
                "warnings": o.warnings,
                "files": [f.pk for f in o.files],
            }
        rows = _alert_rows(outcomes, run.pk, as_of, villages, county)
        insert_values(Alert, ALERT_COLUMNS, ahead(rows), chunk=5000)
        run.rules = [
            {"code": o.rule.code, "id": o.rule.pk, "effective_from": o.rule.effective_from.isoformat()}
            for o in outcomes
        ]
        run.feeds = {o.rule.feed_type: [f.pk for f in o.files] for o in outcomes if o.files}
        run.results = results
        run.alert_count = count
        run.finished_at = timezone.now()
        run.seconds = round(time.perf_counter() - started, 3)
        run.save()
        audit.record(
            actor=actor,
            action="screen.run",
            object_type="screening_run",
            object_id=run.pk,
            object_label=str(run),
            county_code=county,
            details={"as_of": as_of.isoformat(), "alerts": count, "rules": len(outcomes)},
        )
    if progress:
        progress("完成", 1.0)
    return run


# ---------------------------------------------------------------------------------------------
# Replay


@dataclass
class Explanation:
    rule: AlertRule
    fired: bool
    value: Decimal | None
    threshold: Decimal | None
    suppressed_by: int | None
    reason: str
    evidence: list


def subject_keys_for(household=None, id_number: str = "") -> list[str]:
    keys = []
    if household is not None:
        keys.append(f"household:{household.pk}")
        keys += [
            f"person:{p}" for p in household.members.filter(active=True).values_list("id_number", flat=True)
        ]
    if id_number:
        keys.append(f"person:{id_number}")
    return keys


def replay(
    *, actor, as_of: date, run: ScreeningRun | None = None, household=None, id_number: str = ""
) -> dict:
    """Run again as of a past date, with that date's rules and policy values and the files then loaded
    (those of ``run`` if given); nothing is written but the audit record. With a household or an ID
    number, say for each rule why it did or did not fire for them."""
    actor = as_actor(actor)
    permissions.require(actor.user, permissions.RUN_SCREENING)
    county = county_of_deployment()
    if run is not None:
        as_of = run.as_of
        loaded_by = run.started_at
    else:
        loaded_by = timezone.make_aware(datetime.combine(as_of, datetime.max.time()))
    subjects = subject_keys_for(household, id_number) if (household is not None or id_number) else None
    outcomes = evaluate(
        as_of=as_of,
        county=county,
        loaded_by=loaded_by,
        subjects=subjects,
        with_threshold=subjects is None,
        before_run=run.pk if run is not None else None,
    )
    from dixian.screening.evidence import rows_of  # polars: only for replays

    out = {"as_of": as_of, "rules": []}
    for o in outcomes:
        rule = o.rule
        entry = {"rule": rule, "warnings": o.warnings, "hits": len(o.hits), "explanations": []}
        compiled_cmp = rule.comparison
        for hit in o.hits:
            fired = hit.fires
            value = Decimal(hit.value)
            threshold = None if hit.threshold is None else Decimal(hit.threshold)
            suppressed = o.suppressed.get(hit.subject_key) if fired else None
            if threshold is None:
                reason = "阈值无法计算（缺少该户收入或政策参数），不预警"
            elif not fired:
                reason = (
                    f"数值 {value} 未{'达到' if compiled_cmp == 'ge' else '超过'}阈值 {threshold}，不预警"
                )
            elif suppressed:
                reason = (
                    f"数值 {value} 超过阈值 {threshold}，但抑制期内已有预警（编号 {suppressed}），不重复预警"
                )
            else:
                reason = f"数值 {value} 超过阈值 {threshold}，预警"
            entry["explanations"].append(
                Explanation(
                    rule,
                    fired and not suppressed,
                    value,
                    threshold,
                    suppressed,
                    reason,
                    rows_of(o.files[0], hit.evidence),
                )
            )
        if subjects is not None and not o.hits and not o.warnings:
            entry["explanations"].append(
                Explanation(rule, False, None, None, None, "该数据中没有符合条件的记录，不预警", [])
            )
        out["rules"].append(entry)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="screen.replay",
            object_type="screening_run",
            object_id=run.pk if run else "",
            object_label=f"回放 {as_of:%Y-%m-%d}",
            county_code=county,
            details={"as_of": as_of.isoformat(), "subjects": subjects or []},
        )
    return out
