"""Risk elimination: the criteria with that year's policy values, the chain, a new spell afterwards."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone
from wf import walk

from dixian.core.errors import PermissionDenied, ValidationError
from dixian.core.models import AuditEvent
from dixian.monitoring import services
from dixian.monitoring.models import CaseStatus, MonitoringCase, PolicyValue, Review
from dixian.monitoring.policy import PolicyMissing, policy
from dixian.monitoring.workflow import Action, Step

pytestmark = pytest.mark.django_db
OK = {"rigid_expense_resolved": True, "guarantees_secured": True}


@pytest.fixture
def line_this_year(db):
    year = timezone.localdate().year
    PolicyValue.objects.get_or_create(
        key="monitoring_line", region_code="140000000000", year=year, defaults={"value": 7600}
    )
    return year


def h2_case(households):
    """H002 is monitored (ledger: identified 2023-05, risk 因病, health measure, income 2733/person)."""
    return MonitoringCase.objects.get(household=households["H002"])


def test_policy_lookup_by_year_and_place(line_this_year):
    assert policy("monitoring_line", place="140724100204", on=date(2023, 7, 1)).value == 7100
    assert policy("monitoring_line", place="140724100204", on=date(2021, 7, 1)).value == 6000  # national
    with pytest.raises(PolicyMissing, match="2022年山西省的“监测线（元/人·年）”尚未设置"):
        policy("monitoring_line", place="140724100204", on=date(2022, 7, 1))
    assert policy("min_publicity_days", place="140724100204", on=date(2030, 1, 1)).value == 5  # applies on
    PolicyValue.objects.create(key="min_publicity_days", region_code="140724000000", year=2025, value=7)
    assert policy("min_publicity_days", place="140724100204", on=date(2024, 1, 1)).value == 5
    assert policy("min_publicity_days", place="140724100204", on=date(2026, 1, 1)).value == 7
    assert policy("min_publicity_days", place="140702100001", on=date(2026, 1, 1)).value == 5  # other county


def test_criteria_each_failure_named(households, village_cadre, line_this_year):
    case = h2_case(households)
    failures = {
        c.code: c
        for c in services.elimination_criteria(case, mode="assisted", checklist={}, on=timezone.localdate())
        if not c.ok
    }
    assert "income_above_line" in failures and "未高于" in failures["income_above_line"].message
    assert "rigid_expense" in failures and "basic_guarantees" in failures
    assert "min_months" not in failures and "measure_for_assisted" not in failures
    with pytest.raises(ValidationError) as info:
        services.propose_elimination(actor=village_cadre, case=case, mode="assisted", checklist={})
    assert "不符合风险消除条件" in info.value.message and "人均纯收入" in info.value.message
    assert case.reviews.count() == 0


def test_missing_line_is_a_failure_not_a_default(households, village_cadre):
    case = h2_case(households)
    services.record_income(
        actor=village_cadre, household=case.household, window_end=202406, wage_income="60000"
    )
    year = timezone.localdate().year
    PolicyValue.objects.filter(key="monitoring_line", year=year).delete()
    crit = {
        c.code: c
        for c in services.elimination_criteria(case, mode="assisted", checklist=OK, on=timezone.localdate())
    }
    assert not crit["income_above_line"].ok and "尚未设置" in crit["income_above_line"].message


def test_too_early_and_natural_mode(households, village_cadre, line_this_year):
    case = h2_case(households)
    case.identified_month = timezone.localdate().year * 100 + timezone.localdate().month
    case.save()
    services.record_income(
        actor=village_cadre, household=case.household, window_end=202406, wage_income="60000"
    )
    crit = {
        c.code: c
        for c in services.elimination_criteria(case, mode="natural", checklist=OK, on=timezone.localdate())
    }
    assert not crit["min_months"].ok and "不足6个月" in crit["min_months"].message
    assert "measure_for_assisted" not in crit


def test_no_labour_with_safety_net_only_is_not_eliminated(households, village_cadre, line_this_year):
    case = MonitoringCase.objects.get(household=households["H003"])  # ledger: eliminated already
    case.status = CaseStatus.MONITORED
    case.save()
    h3 = households["H003"]
    h3.members.update(labour_skill="丧失劳动力")
    services.record_income(actor=village_cadre, household=h3, window_end=202406, transfer_dibao="9000")
    crit = {
        c.code: c
        for c in services.elimination_criteria(case, mode="assisted", checklist=OK, on=timezone.localdate())
    }
    assert not crit["no_labour_safety_net"].ok and "暂不标注风险消除" in crit["no_labour_safety_net"].message


def test_elimination_through_the_chain_then_a_new_spell(households, village_cadre, actors, line_this_year):
    case = h2_case(households)
    services.record_income(
        actor=village_cadre,
        household=case.household,
        window_end=202406,
        wage_income="30000",
        transfer_pension="2000",
    )
    review = services.propose_elimination(
        actor=village_cadre, case=case, mode="assisted", checklist=OK, comment="务工收入稳定"
    )
    assert MonitoringCase.objects.get(pk=case.pk).status == CaseStatus.ELIMINATING
    with pytest.raises(ValidationError, match="只有风险未消除"):
        services.propose_elimination(actor=village_cadre, case=case, mode="assisted", checklist=OK)
    review = walk(review, actors, kind="eliminate")
    assert review.state == Review.State.APPROVED
    case.refresh_from_db()
    today = timezone.localdate()
    assert case.status == CaseStatus.ELIMINATED and case.elimination_mode == "assisted"
    assert case.eliminated_month == today.year * 100 + today.month
    h2 = case.household
    h2.refresh_from_db()
    assert h2.risk_status == "eliminated" and h2.risk_eliminated is True
    # identified again: a new spell, both kept
    lead = services.record_lead(
        actor=village_cadre,
        household=h2,
        channel="department_alert",
        description="医保：年度自付超过1万元",
        risks=["illness"],
    )
    review2 = services.start_identification(
        actor=village_cadre, lead=lead, category="unstable_lifted", risks=["illness"]
    )
    walk(review2, actors)
    assert MonitoringCase.objects.filter(household=h2).count() == 2
    assert MonitoringCase.objects.filter(household=h2, status=CaseStatus.MONITORED).count() == 1


def test_elimination_rejected_returns_to_monitored(
    households, village_cadre, township_cadre, actors, line_this_year
):
    case = h2_case(households)
    services.record_income(
        actor=village_cadre, household=case.household, window_end=202406, wage_income="30000"
    )
    review = services.propose_elimination(actor=village_cadre, case=case, mode="assisted", checklist=OK)
    review = walk(review, actors, kind="eliminate", until=Step.TOWNSHIP_REVIEW)
    services.act(actor=township_cadre, review=review, action=Action.REJECT, comment="收入不稳定")
    assert MonitoringCase.objects.get(pk=case.pk).status == CaseStatus.MONITORED


def test_policy_value_service(county_admin, township_cadre):
    row = services.set_policy_value(
        actor=county_admin,
        key="monitoring_line",
        region_code="140000000000",
        year=2024,
        value="7500",
        source="省文件",
    )
    assert row.value == 7500 and row.updated_by.startswith("admin")
    event = AuditEvent.objects.get(action="policy.set")
    assert [(c.old, c.new) for c in event.changes.all()] == [(None, "7500.00")]
    services.set_policy_value(
        actor=county_admin, key="monitoring_line", region_code="140000000000", year=2024, value="7600"
    )
    assert [
        (c.old, c.new) for c in AuditEvent.objects.filter(action="policy.set").latest("id").changes.all()
    ] == [("7500.00", "7600.00")]
    with pytest.raises(PermissionDenied, match="只有县级管理员"):
        services.set_policy_value(
            actor=township_cadre, key="monitoring_line", region_code="140000000000", year=2024, value="1"
        )
    with pytest.raises(PermissionDenied, match="本县、本市或本省"):
        services.set_policy_value(
            actor=county_admin, key="monitoring_line", region_code="130000000000", year=2024, value="1"
        )
    with pytest.raises(ValidationError, match="未知的政策参数"):
        services.set_policy_value(
            actor=county_admin, key="x", region_code="140000000000", year=2024, value="1"
        )
    with pytest.raises(ValidationError, match="不是有效的金额"):
        services.set_policy_value(
            actor=county_admin, key="monitoring_line", region_code="140000000000", year=2024, value="七千"
        )
    with pytest.raises(ValidationError, match="年度应在"):
        services.set_policy_value(
            actor=county_admin, key="monitoring_line", region_code="140000000000", year=1999, value="1"
        )


def test_ledger_spells(tmp_path):
    from dixian.core.audit import Actor
    from dixian.registry.services import import_ledger

    from ledgers import basic_rows, write_csv

    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "a.csv"))
    cases = {c.household.household_no: c for c in MonitoringCase.objects.select_related("household")}
    assert set(cases) == {"H002", "H003"}
    assert cases["H002"].status == CaseStatus.MONITORED and cases["H002"].source == "ledger"
    assert cases["H003"].status == CaseStatus.ELIMINATED and cases["H003"].eliminated_month == 202301
    rows = basic_rows()
    for r in rows:
        if r["户编号"] == "H002":
            r.update({"风险是否已消除": "是", "风险消除方式": "自然消除", "消除监测时间": "202402"})
    outcome = import_ledger(actor=Actor.cli(), path=write_csv(rows, tmp_path / "b.csv"))
    assert outcome.summary["cases_changed"] == 1 and outcome.summary["cases_added"] == 0
    case = MonitoringCase.objects.get(household__household_no="H002")
    assert case.status == CaseStatus.ELIMINATED and case.elimination_mode == "natural"
    # identified again in a later ledger: a new spell next to the old one
    for r in rows:
        if r["户编号"] == "H002":
            r.update(
                {"识别监测时间": "202406", "风险是否已消除": "否", "风险消除方式": "", "消除监测时间": ""}
            )
    import_ledger(actor=Actor.cli(), path=write_csv(rows, tmp_path / "c.csv"))
    assert MonitoringCase.objects.filter(household__household_no="H002").count() == 2


def test_approvals_show_in_the_household_history(households, village_cadre, actors, line_this_year):
    from dixian.core.models import FieldChange

    case = h2_case(households)
    services.record_income(
        actor=village_cadre, household=case.household, window_end=202406, wage_income="30000"
    )
    review = services.propose_elimination(actor=village_cadre, case=case, mode="assisted", checklist=OK)
    walk(review, actors, kind="eliminate")
    changes = {
        (c.field, c.old, c.new)
        for c in FieldChange.objects.filter(
            object_type="household", object_id=str(case.household_id), event__action="review.complete"
        )
    }
    assert ("risk_status", "open", "eliminated") in changes and (
        "elimination_mode",
        "",
        "assisted",
    ) in changes


def test_channels_are_data(tmp_path):
    from dixian.core.audit import Actor
    from dixian.monitoring.models import Channel
    from dixian.registry.services import LedgerRefused, import_ledger

    from ledgers import basic_rows, write_csv

    Channel.objects.create(code="hotline", label="12317热线", order=9)
    rows = basic_rows()
    for r in rows:
        if r["户编号"] == "H002":
            r["识别途径"] = "12317热线"
    import_ledger(actor=Actor.cli(), path=write_csv(rows, tmp_path / "a.csv"))
    Channel.objects.filter(code="hotline").update(active=False)
    with pytest.raises(LedgerRefused) as info:
        import_ledger(actor=Actor.cli(), path=write_csv(rows, tmp_path / "b.csv"))
    assert "无法识别的识别途径" in info.value.problems[0]["message"]


def test_policy_admin_saves_through_the_service(client, county_admin):
    county_admin.is_staff = True
    county_admin.is_superuser = True
    county_admin.save()
    client.force_login(county_admin)
    r = client.post(
        "/admin/monitoring/policyvalue/add/",
        {
            "key": "monitoring_line",
            "region_code": "140000000000",
            "year": 2025,
            "value": "7800",
            "source": "省文件",
        },
    )
    assert r.status_code == 302
    assert PolicyValue.objects.get(key="monitoring_line", year=2025).value == 7800
    assert AuditEvent.objects.filter(action="policy.set", actor=county_admin).exists()


def test_ledger_corrections_supersede_and_moves_follow(tmp_path):
    from dixian.core.audit import Actor
    from dixian.registry.services import import_ledger

    from ledgers import basic_rows, write_csv

    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "a.csv"))
    rows = basic_rows()
    for r in rows:
        if r["户编号"] == "H002":  # 识别监测时间 corrected from 202305 to 202304
            r["识别监测时间"] = "202304"
            r["行政村"] = "李夫峪村"  # and the household moved
    import_ledger(actor=Actor.cli(), path=write_csv(rows, tmp_path / "b.csv"))
    spells = list(MonitoringCase.objects.filter(household__household_no="H002").order_by("id"))
    assert [s.status for s in spells] == [CaseStatus.SUPERSEDED, CaseStatus.MONITORED]
    assert spells[0].eliminated_month is None and spells[1].identified_month == 202304
    assert {s.village_code for s in spells} == {"140724100205"}
    for r in rows:
        if r["户编号"] == "H002":  # no longer a monitoring object in the ledger
            r.update({"监测对象类别": "", "识别监测时间": "", "致贫/返贫风险1": "", "风险是否已消除": ""})
    import_ledger(actor=Actor.cli(), path=write_csv(rows, tmp_path / "c.csv"))
    assert not MonitoringCase.objects.filter(
        household__household_no="H002", status=CaseStatus.MONITORED
    ).exists()
