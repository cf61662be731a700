"""Rules as data: versions by date, checks with Chinese refusals, descriptions, policy thresholds, audit."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from gen import MEDICAL_HEAD, Ids, make_household, write_feed

from dixian.core.audit import Actor
from dixian.core.errors import PermissionDenied, ValidationError
from dixian.core.models import AuditEvent
from dixian.monitoring.models import PolicyValue
from dixian.screening.models import Alert, AlertRule
from dixian.screening.rules import DEFAULT_RULES, describe, ensure_default_rules, rules_in_force, save_rule
from dixian.screening.runs import run_screening
from dixian.screening.services import load_feed

pytestmark = pytest.mark.django_db
CLI = Actor.cli()


def test_defaults_cover_every_feed_type_and_read_as_sentences():
    from dixian.screening.feeds import FeedType

    assert ensure_default_rules() == len(DEFAULT_RULES)
    assert ensure_default_rules() == 0
    assert {r.feed_type for r in AlertRule.objects.all()} == set(FeedType.values)
    med = AlertRule.objects.get(code="medical_registered")
    assert med.description == (
        "在医保局的医保结算数据中，筛查日前12个月内，所有在册农户，同一户个人自付合计超过10000元，"
        "或该户年纯收入（最新人均纯收入×人数）的50%，即预警，提示“因病”风险；15天内入户核实；同一户90天内不重复预警。"
    )
    assert (
        "（房屋损毁属于严重损坏、倒塌，或直接经济损失大于10000）"
        in AlertRule.objects.get(code="disaster_hit").description
    )


def test_a_new_version_applies_from_its_date(county_admin):
    ensure_default_rules()
    v2 = save_rule(
        actor=county_admin,
        code="medical_registered",
        effective_from=date(2026, 7, 1),
        threshold=[{"const": "15000"}],
        deadline_days=10,
    )
    assert v2.feed_type == "medical" and v2.measure == "个人自付"  # the rest is carried over
    assert "超过15000元" in v2.description and "10天内" in v2.description
    pick = lambda d: next(r for r in rules_in_force(d) if r.code == "medical_registered")  # noqa: E731
    assert pick(date(2026, 6, 30)).threshold[0] == {"const": "10000"}
    assert pick(date(2026, 7, 1)) == v2
    event = AuditEvent.objects.get(action="rule.save")
    assert event.actor == county_admin and event.details["code"] == "medical_registered"
    assert {c.field for c in event.changes.all()} == {"threshold", "deadline_days"}


def test_a_disabled_version_stops_the_rule(county_admin):
    ensure_default_rules()
    save_rule(actor=county_admin, code="water_cut", effective_from=date(2026, 1, 1), enabled=False)
    assert "water_cut" in {r.code for r in rules_in_force(date(2025, 12, 31))}
    assert "water_cut" not in {r.code for r in rules_in_force(date(2026, 1, 1))}


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"filters": [{"column": "血型", "op": "eq", "value": "A"}]}, "不在该类数据中"),
        ({"filters": [{"column": "就诊类型", "op": "in", "value": []}]}, "至少一个取值"),
        ({"filters": [{"column": "个人自付", "op": "gt", "value": "很多"}]}, "不是数字"),
        ({"aggregate": "sum", "measure": "姓名"}, "金额列"),
        ({"threshold": [{"factor": "0.5", "of": "村集体收入"}]}, "无法识别"),
        ({"threshold": []}, "需要阈值"),
        ({"population": "unregistered", "group_by": "household"}, "只能按人汇总"),
        ({"risk": "bad_luck"}, "风险类型"),
        ({"deadline_days": 0}, "核实期限"),
        ({"window_months": 12, "window_days": 30}, "其一"),
    ],
)
def test_rule_refusals(county_admin, fields, message):
    ensure_default_rules()
    with pytest.raises(ValidationError, match=message):
        save_rule(actor=county_admin, code="medical_registered", effective_from=date(2026, 7, 1), **fields)
    assert not AuditEvent.objects.filter(action="rule.save").exists()
    assert AlertRule.objects.filter(code="medical_registered").count() == 1


def test_rule_refusals_other(county_admin, township_cadre):
    ensure_default_rules()
    with pytest.raises(PermissionDenied):
        save_rule(actor=township_cadre, code="medical_registered", effective_from=date(2026, 7, 1))
    with pytest.raises(ValidationError, match="已有一个版本"):
        save_rule(actor=county_admin, code="medical_registered", effective_from=date(2021, 1, 1))
    with pytest.raises(ValidationError, match="规则代码"):
        save_rule(actor=county_admin, code="医保", effective_from=date(2026, 1, 1), feed_type="medical")
    with pytest.raises(ValidationError, match="数据类型不能改变"):
        save_rule(
            actor=county_admin,
            code="medical_registered",
            effective_from=date(2026, 7, 1),
            feed_type="disaster",
            aggregate="exists",
            measure="",
            threshold=[],
        )


def test_threshold_from_the_province_rural_income_of_the_year_before(tmp_path, county_admin):
    ids = Ids(random.Random(5))
    h, people = make_household("M1", [("甲", date(1970, 1, 1), True)], ids=ids)
    rows = [[people["甲"], "甲", "2026-03-01", "住院", "9000", "140724"]]
    load_feed(actor=CLI, feed_type="medical", path=write_feed(tmp_path / "m.csv", MEDICAL_HEAD, rows))
    save_rule(
        actor=county_admin,
        code="medical_half_income",
        effective_from=date(2026, 1, 1),
        name="医疗自付超过上年农村居民人均可支配收入的一半",
        feed_type="medical",
        window_months=12,
        group_by="person",
        aggregate="sum",
        measure="个人自付",
        threshold=[{"factor": "0.5", "of": "policy:rural_disposable_income", "year": -1}],
        population="registered",
        risk="illness",
    )
    rule = AlertRule.objects.get(code="medical_half_income")
    assert "上一年“农村居民人均可支配收入" in rule.description
    run = run_screening(actor=CLI, as_of=date(2026, 6, 30), codes=["medical_half_income"])
    assert run.alert_count == 0 and "2025年" in run.results["medical_half_income"]["warnings"][0]
    PolicyValue.objects.create(
        key="rural_disposable_income", region_code="140000000000", year=2025, value=Decimal("17000")
    )
    run = run_screening(actor=CLI, as_of=date(2026, 7, 1), codes=["medical_half_income"])
    alert = Alert.objects.get(run=run)
    assert alert.threshold == Decimal("8500.00") and alert.value == Decimal("9000.00")


def test_describe_is_generated_from_the_fields():
    d = dict(DEFAULT_RULES[0], comparison="gt", deadline_days=15, suppress_days=0)
    assert "不重复" not in describe(d)
    d["window_months"] = 3
    assert "筛查日前3个月内" in describe(d)
