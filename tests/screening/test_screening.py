"""Screening runs: the rules' results against an independent count, suppression, replay, the run's
record and audit, and the command line."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from gen import MEDICAL_HEAD, Ids, build_registry, medical_rows, write_feed
from typer.testing import CliRunner

from dixian.core.audit import Actor
from dixian.core.errors import PermissionDenied, ValidationError
from dixian.core.models import AuditEvent
from dixian.screening.models import Alert, AlertRule, ScreeningRun
from dixian.screening.rules import ensure_default_rules, save_rule
from dixian.screening.runs import replay, run_screening
from dixian.screening.services import load_feed

pytestmark = pytest.mark.django_db
CLI = Actor.cli()
AS_OF = date(2026, 6, 30)


def window_start(as_of: date, months: int) -> date:
    y, m = as_of.year, as_of.month - months
    while m <= 0:
        y, m = y - 1, m + 12
    return date(y, m, as_of.day) + timedelta(days=1)


def independent_medical(families, rows, as_of):
    """medical_registered and medical_unregistered by hand: plain Python over the generated rows."""
    member_of = {m.id_number: f for f in families for m in f.members}
    start = window_start(as_of, 12)
    per_household, per_stranger = defaultdict(Decimal), defaultdict(Decimal)
    for id_number, _name, day, _kind, pay, place in rows:
        n = id_number.strip().upper()
        d = date.fromisoformat(day)
        if not start <= d <= as_of:
            continue
        if n in member_of:
            per_household[member_of[n].household_no] += Decimal(pay)
        elif n.startswith("140724") or place.startswith("140724"):
            per_stranger[n] += Decimal(pay)
    registered = set()
    for f in families:
        total = per_household.get(f.household_no)
        if total is None:
            continue
        bounds = [Decimal(10000)]
        if f.net_income is not None:
            bounds.append(f.net_income * Decimal("0.5"))
        if total > min(bounds):
            registered.add(f.household_no)
    strangers = {n for n, total in per_stranger.items() if total > 20000}
    return registered, strangers, per_household


@pytest.fixture
def county(tmp_path):
    ids = Ids(__import__("random").Random(7))
    families = build_registry(120, seed=3, ids=ids)
    rows = medical_rows(families, 3000, as_of=AS_OF, seed=4, ids=ids)
    path = write_feed(tmp_path / "medical.csv", MEDICAL_HEAD, rows)
    load_feed(actor=CLI, feed_type="medical", path=path)
    ensure_default_rules()
    return families, rows


def test_medical_rules_equal_an_independent_count(county):
    families, rows = county
    registered, strangers, totals = independent_medical(families, rows, AS_OF)
    assert registered and strangers  # the generated data exercises both rules
    run = run_screening(actor=CLI, as_of=AS_OF)
    got = Alert.objects.filter(run=run)
    reg = {a.household.household_no for a in got.filter(rule_code="medical_registered")}
    unreg = {a.id_numbers[0] for a in got.filter(rule_code="medical_unregistered")}
    assert reg == registered
    assert unreg == strangers
    one = got.filter(rule_code="medical_registered").first()
    assert one.value == totals[one.household.household_no]
    assert one.risk == "illness" and one.due_on == AS_OF + timedelta(days=15)
    # every alert of a registered household goes to that household's township and village
    placed = got.exclude(household=None).select_related("household")
    for a in placed:
        h = a.household
        assert (a.county_code, a.township_code, a.village_code) == (
            h.county_code,
            h.township_code,
            h.village_code,
        )
    assert len({a.village_code for a in placed}) > 1  # the generated households are in several villages
    rows = one.evidence_rows()
    assert rows and all("个人自付" in e and e["文件"] == "medical.csv" for e in rows)
    # the latest rows first, each one of this household's members in the window
    assert [r["结算日期"] for r in rows] == sorted((r["结算日期"] for r in rows), reverse=True)
    assert {r["证件号码"].strip().upper() for r in rows} <= {m.id_number for f in families for m in f.members}
    assert run.results["medical_registered"]["new"] == len(registered)
    assert "尚未加载" in run.results["dropout"]["warnings"][0]


def test_threshold_is_exact_at_the_boundary(tmp_path):
    ids = Ids(__import__("random").Random(1))
    fams = build_registry(3, seed=9, ids=ids)
    # household 0: exactly 10000.00 (not more); household 1: 10000.01
    rows = []
    for fam, pay in ((fams[0], "10000.00"), (fams[1], "10000.01")):
        rows.append([fam.members[0].id_number, "x", "2026-06-01", "住院", pay, "140724"])
    from dixian.registry.models import Household

    Household.objects.filter(household_no__in=[fams[0].household_no, fams[1].household_no]).update(
        wage_income=Decimal("100000")
    )
    load_feed(actor=CLI, feed_type="medical", path=write_feed(tmp_path / "m.csv", MEDICAL_HEAD, rows))
    run = run_screening(actor=CLI, as_of=AS_OF)
    got = [a.household.household_no for a in Alert.objects.filter(run=run, rule_code="medical_registered")]
    assert got == [fams[1].household_no]
    # half of the household's net income: 0.5 × 20000.01 = 10000.005 < 10000.01 fires; × 20000.02 does not
    Household.objects.filter(household_no=fams[0].household_no).update(wage_income=Decimal("19999.99"))
    rerun = run_screening(actor=CLI, as_of=AS_OF, codes=["medical_registered"])
    assert [a.household.household_no for a in Alert.objects.filter(run=rerun)] == [fams[0].household_no]
    alert = Alert.objects.get(run=rerun)
    assert alert.threshold == Decimal("10000.00") and alert.value == Decimal("10000.00")


def test_repeats_within_the_suppression_window_make_no_new_alerts(county):
    first = run_screening(actor=CLI, as_of=AS_OF)
    assert first.alert_count > 0
    first_subjects = set(Alert.objects.filter(run=first).values_list("rule_code", "subject_key"))
    again = run_screening(actor=CLI, as_of=AS_OF + timedelta(days=10))
    again_subjects = set(Alert.objects.filter(run=again).values_list("rule_code", "subject_key"))
    assert not (first_subjects & again_subjects)
    med = again.results["medical_registered"]
    assert med["suppressed"] > 0 and med["new"] == med["hits"] - med["suppressed"]
    # once the rule's window has passed since the first alert, the same households alert again
    days = AlertRule.objects.get(code="medical_registered").suppress_days
    later = run_screening(actor=CLI, as_of=AS_OF + timedelta(days=days), codes=["medical_registered"])
    later_subjects = {k for _c, k in Alert.objects.filter(run=later).values_list("rule_code", "subject_key")}
    assert later_subjects & {k for c, k in first_subjects if c == "medical_registered"}


def test_a_run_dated_before_an_alert_already_raised_does_not_repeat_it(county):
    # a missed day caught up later: the run of the day before the first alert repeats it all the same
    first = run_screening(actor=CLI, as_of=AS_OF, codes=["medical_registered"])
    first_subjects = set(Alert.objects.filter(run=first).values_list("subject_key", flat=True))
    assert first_subjects
    earlier = run_screening(actor=CLI, as_of=AS_OF - timedelta(days=1), codes=["medical_registered"])
    med = earlier.results["medical_registered"]
    assert med["suppressed"] > 0 and med["new"] == med["hits"] - med["suppressed"]
    earlier_subjects = set(Alert.objects.filter(run=earlier).values_list("subject_key", flat=True))
    assert not (first_subjects & earlier_subjects)


def test_run_is_recorded_and_audited(county):
    run = run_screening(actor=CLI, as_of=AS_OF)
    assert run.finished_at and run.seconds >= 0
    assert {r["code"] for r in run.rules} == set(AlertRule.objects.values_list("code", flat=True))
    assert "medical" in run.feeds
    event = AuditEvent.objects.get(action="screen.run")
    assert event.object_id == str(run.pk) and event.details["alerts"] == run.alert_count


def test_run_refusals(county, village_cadre, county_admin):
    with pytest.raises(PermissionDenied):
        run_screening(actor=village_cadre, as_of=AS_OF)
    with pytest.raises(ValidationError, match="晚于今天"):
        run_screening(actor=county_admin, as_of=date.today() + timedelta(days=1))
    assert not ScreeningRun.objects.exists() and not AuditEvent.objects.filter(action="screen.run").exists()


def test_replay_explains_why_an_alert_did_or_did_not_fire(county):
    families, rows = county
    registered, _strangers, totals = independent_medical(families, rows, AS_OF)
    run = run_screening(actor=CLI, as_of=AS_OF)
    from dixian.registry.models import Household

    fired = Household.objects.get(household_no=sorted(registered)[0])
    quiet_no = next(no for no in totals if no not in registered)
    quiet = Household.objects.get(household_no=quiet_no)
    out = replay(actor=CLI, as_of=AS_OF, run=run, household=fired)
    med = next(r for r in out["rules"] if r["rule"].code == "medical_registered")
    assert med["explanations"][0].fired and "预警" in med["explanations"][0].reason
    assert med["explanations"][0].value == totals[fired.household_no]
    out = replay(actor=CLI, as_of=AS_OF, run=run, household=quiet)
    med = next(r for r in out["rules"] if r["rule"].code == "medical_registered")
    assert not med["explanations"][0].fired and "未超过阈值" in med["explanations"][0].reason
    # a later run does not alert again; its replay says the repeat is suppressed by the first alert
    later = run_screening(actor=CLI, as_of=AS_OF + timedelta(days=3))
    assert not Alert.objects.filter(run=later, household=fired, rule_code="medical_registered").exists()
    out = replay(actor=CLI, as_of=later.as_of, run=later, household=fired)
    med = next(r for r in out["rules"] if r["rule"].code == "medical_registered")
    assert "抑制期" in med["explanations"][0].reason
    assert AuditEvent.objects.filter(action="screen.replay").count() == 3


def test_replay_uses_the_rule_version_in_force_on_that_date(county, county_admin):
    families, rows = county
    registered, _s, totals = independent_medical(families, rows, AS_OF)
    no = sorted(registered)[0]
    save_rule(
        actor=county_admin,
        code="medical_registered",
        effective_from=AS_OF + timedelta(days=1),
        threshold=[{"const": "999999"}],
    )
    from dixian.registry.models import Household

    h = Household.objects.get(household_no=no)
    run1 = run_screening(actor=CLI, as_of=AS_OF)
    run2 = run_screening(actor=CLI, as_of=AS_OF + timedelta(days=1))
    before = replay(actor=CLI, as_of=AS_OF, run=run1, household=h)
    after = replay(actor=CLI, as_of=run2.as_of, run=run2, household=h)

    def pick(out):
        return next(r for r in out["rules"] if r["rule"].code == "medical_registered")["explanations"][0]

    assert pick(before).fired and not pick(after).fired
    assert pick(after).threshold == Decimal("999999.00")


def test_cli_screen_run_json(county):
    from dixian.cli.main import app

    families, rows = county
    registered, strangers, totals = independent_medical(families, rows, AS_OF)
    result = CliRunner().invoke(app, ["screen", "run", "--as-of", AS_OF.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"run", "alerts"}
    run = ScreeningRun.objects.get(pk=data["run"])
    assert len(data["alerts"]) == run.alert_count
    med = [a for a in data["alerts"] if a["rule"] == "medical_registered"]
    assert {a["household_no"] for a in med} == registered
    a = med[0]
    assert set(a) == {"rule", "household_no", "id_numbers", "risk", "value", "threshold"}
    assert a["risk"] == "illness" and a["value"] == float(totals[a["household_no"]])
    assert all(len(i) == 18 and "*" not in i for i in a["id_numbers"])
    unreg = [a for a in data["alerts"] if a["rule"] == "medical_unregistered"]
    assert unreg and all(a["household_no"] is None for a in unreg)


def test_alerts_written_many_rows_to_a_statement_read_back_whole(county, monkeypatch):
    """The run's alerts go to SQLite several hundred rows to an INSERT (a few to a statement here, so
    that full and partial statements both run): every alert is written once, its JSON columns read
    back as lists (on PostgreSQL a ``json`` column, which psycopg parses itself)."""
    import dixian.core.bulk as bulk

    monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 9)
    families, rows = county
    registered, strangers, _ = independent_medical(families, rows, AS_OF)
    assert (len(registered) + len(strangers)) % 9  # a partial last statement
    run = run_screening(actor=CLI, as_of=AS_OF, codes=["medical_registered", "medical_unregistered"])
    got = list(Alert.objects.filter(run=run).order_by("id"))
    assert len(got) == run.alert_count == len(registered) + len(strangers)
    assert len({a.subject_key for a in got}) == len(got)
    for a in got:
        assert isinstance(a.id_numbers, list) and a.id_numbers
        assert isinstance(a.evidence, list) and all(isinstance(n, int) for n in a.evidence)
        assert isinstance(a.names, list)
    a = got[0]
    a.note, a.evidence = "核实", [1, 2]
    a.save()
    a.refresh_from_db()
    assert a.evidence == [1, 2] and a.id_numbers == got[0].id_numbers


def test_alerts_protect_their_household_rule_and_run(county):
    """The alert's run, rule, household and file have no foreign-key constraint in the database
    (decision 0007), but Django still refuses to delete one that alerts point to."""
    from django.db.models import ProtectedError

    run = run_screening(actor=CLI, as_of=AS_OF, codes=["medical_registered"])
    alert = Alert.objects.filter(run=run).select_related("household", "rule", "evidence_file").first()
    for obj in (alert.household, alert.rule, run, alert.evidence_file):
        with pytest.raises(ProtectedError):
            obj.delete()
    assert Alert.objects.filter(pk=alert.pk).exists()
