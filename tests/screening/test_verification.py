"""The village verifies alerts: 纳入 makes a lead (部门筛查预警), 不纳入 needs a reason, 已在监测/已帮扶;
alerts about people not registered are assigned to a village first. Refusals and audit records."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from gen import Ids, make_household, write_feed

from dixian.core.audit import Actor
from dixian.core.errors import NotFound, PermissionDenied, ValidationError
from dixian.core.models import AuditEvent
from dixian.monitoring.models import Lead
from dixian.screening.models import Alert
from dixian.screening.rules import ensure_default_rules
from dixian.screening.runs import run_screening
from dixian.screening.services import load_feed
from dixian.screening.verification import assign_alert, verify_alert

from testdata import LIANGJIAGOU, LIFUYU, make_user

pytestmark = pytest.mark.django_db
CLI = Actor.cli()
AS_OF = date.today() - timedelta(days=20)


@pytest.fixture
def alerts(tmp_path):
    ensure_default_rules()
    ids = Ids(random.Random(3))
    _h1, p1 = make_household("V1", [("甲", date(1970, 1, 1), True)], ids=ids)
    _h2, p2 = make_household("V2", [("乙", date(1970, 1, 1), True)], ids=ids, monitored=True)
    _h3, p3 = make_household("V3", [("丙", date(1970, 1, 1), True)], ids=ids, village=LIFUYU)
    stranger = ids.new(date(1966, 6, 6))
    day = (AS_OF - timedelta(days=5)).isoformat()
    rows = [
        [p1["甲"], "甲", day, "洪涝", "", "倒塌"],
        [p2["乙"], "乙", day, "洪涝", "", "倒塌"],
        [p3["丙"], "丙", day, "洪涝", "", "倒塌"],
        [stranger, "某某", day, "洪涝", "", "倒塌"],
    ]
    path = write_feed(
        tmp_path / "z.csv", ["证件号码", "姓名", "受灾日期", "灾种", "直接经济损失", "房屋损毁"], rows
    )
    load_feed(actor=CLI, feed_type="disaster", path=path)
    run = run_screening(actor=CLI, as_of=AS_OF)
    by = {a.household.household_no if a.household_id else "new": a for a in Alert.objects.filter(run=run)}
    assert set(by) == {"V1", "V2", "V3", "new"}
    return by


def test_included_makes_a_lead_in_the_monitoring_chain(alerts, village_cadre):
    alert = verify_alert(
        actor=village_cadre, alert=alerts["V1"], outcome="included", note="房屋倒塌，借住亲戚家"
    )
    assert alert.status == "included" and alert.verified_on == date.today()
    lead = alert.lead
    assert lead.channel.code == "department_alert" and lead.risks == ["disaster"]
    assert lead.status == Lead.Status.NEW and lead.household == alert.household
    assert "部门筛查预警" in lead.description and "借住亲戚家" in lead.description
    event = AuditEvent.objects.get(action="alert.verify")
    assert (
        event.actor == village_cadre
        and event.details["lead"] == lead.pk
        and event.details["on_time"] is False
    )
    assert AuditEvent.objects.filter(action="lead.record", object_id=str(lead.pk)).exists()


def test_not_included_needs_a_reason(alerts, village_cadre):
    with pytest.raises(ValidationError, match="理由"):
        verify_alert(actor=village_cadre, alert=alerts["V1"], outcome="not_included")
    alert = verify_alert(
        actor=village_cadre,
        alert=alerts["V1"],
        outcome="not_included",
        note="已获保险理赔，房屋已修复",
        verified_on=AS_OF,
    )
    assert alert.status == "not_included" and alert.lead is None and not Lead.objects.exists()
    assert not alert.overdue(date.today())  # verified on the day it was raised


def test_already_monitored_household_is_not_included_again(alerts, village_cadre):
    with pytest.raises(ValidationError, match="已在监测"):
        verify_alert(actor=village_cadre, alert=alerts["V2"], outcome="included")
    alert = verify_alert(actor=village_cadre, alert=alerts["V2"], outcome="already", note="已落实住房保障")
    assert alert.status == "already"


def test_verify_refusals(alerts, village_cadre, other_village_cadre, leader):
    with pytest.raises(NotFound):
        verify_alert(actor=other_village_cadre, alert=alerts["V1"], outcome="already")
    with pytest.raises(PermissionDenied):
        verify_alert(actor=leader, alert=alerts["V1"], outcome="already")
    with pytest.raises(ValidationError, match="核实结论"):
        verify_alert(actor=village_cadre, alert=alerts["V1"], outcome="open")
    with pytest.raises(ValidationError, match="晚于今天"):
        verify_alert(
            actor=village_cadre,
            alert=alerts["V1"],
            outcome="already",
            verified_on=date.today() + timedelta(1),
        )
    with pytest.raises(ValidationError, match="早于预警日期"):
        verify_alert(
            actor=village_cadre, alert=alerts["V1"], outcome="already", verified_on=AS_OF - timedelta(1)
        )
    assert not AuditEvent.objects.filter(action="alert.verify").exists()
    verify_alert(actor=village_cadre, alert=alerts["V1"], outcome="already")
    with pytest.raises(ValidationError, match="已于"):
        verify_alert(actor=village_cadre, alert=alerts["V1"], outcome="included")


def test_someone_not_registered_is_assigned_then_entered_with_the_lead(alerts, village_cadre, county_admin):
    alert = alerts["new"]
    with pytest.raises(NotFound):  # no village yet: only the county sees it
        verify_alert(actor=village_cadre, alert=alert, outcome="included")
    with pytest.raises(ValidationError, match="先分派"):
        verify_alert(actor=county_admin, alert=alert, outcome="included")
    with pytest.raises(ValidationError, match="已在监测"):
        verify_alert(actor=county_admin, alert=alert, outcome="already")
    with pytest.raises(PermissionDenied):
        assign_alert(actor=village_cadre, alert=alert, village_code=LIANGJIAGOU)
    with pytest.raises(ValidationError, match="行政村"):
        assign_alert(actor=county_admin, alert=alert, village_code="140724100000")
    alert = assign_alert(actor=county_admin, alert=alert, village_code=LIANGJIAGOU)
    assert alert.township_code == "140724100000"
    assert AuditEvent.objects.get(action="alert.assign").object_id == str(alert.pk)
    alert = verify_alert(actor=village_cadre, alert=alert, outcome="included")
    household = alert.household
    assert household is not None and household.village_code == LIANGJIAGOU
    assert household.members.get().id_number == alert.id_numbers[0] and household.head_name == "某某"
    assert alert.lead.household == household and alert.lead.risks == ["disaster"]


def test_township_cadre_assigns_only_within_the_township(alerts, township_cadre):
    other = make_user("gaoluo-c", "township_cadre", "140724101000")
    with pytest.raises(NotFound):
        assign_alert(actor=other, alert=alerts["new"], village_code=LIANGJIAGOU)
    with pytest.raises(NotFound):  # the county-level alert is not in a township's region yet
        assign_alert(actor=township_cadre, alert=alerts["new"], village_code=LIANGJIAGOU)


def test_overdue():
    a = Alert(raised_on=date(2026, 1, 1), due_on=date(2026, 1, 16), status="open")
    assert not a.overdue(date(2026, 1, 16)) and a.overdue(date(2026, 1, 17))
    a.status, a.verified_on = "already", date(2026, 1, 20)
    assert a.overdue(date(2026, 1, 21))
    a.verified_on = date(2026, 1, 10)
    assert not a.overdue(date(2026, 2, 1))
