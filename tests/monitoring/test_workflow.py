"""The review chain: happy paths, every refusal with its Chinese message, the record, fast track."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from wf import CONSENT, complete, step_data, walk

from dixian.core.errors import NotFound, PermissionDenied, ValidationError
from dixian.core.models import AuditEvent
from dixian.monitoring import services
from dixian.monitoring.models import CaseStatus, Decision, Lead, Measure, MonitoringCase, Review
from dixian.monitoring.workflow import Action, Step

pytestmark = pytest.mark.django_db


def lead_for(household, user, **kw):
    return services.record_lead(
        actor=user,
        household=household,
        channel="cadre_visit",
        description="户主住院，医疗支出大",
        risks=["illness"],
        **kw,
    )


def test_identification_happy_path(households, actors, village_cadre):
    h1 = households["H001"]
    lead = lead_for(h1, village_cadre)
    assert lead.status == Lead.Status.NEW and lead.village_code == h1.village_code
    review = services.start_identification(
        actor=village_cadre, lead=lead, category="unstable_lifted", risks=["illness", "lack_of_labour"]
    )
    assert review.step == Step.VERIFY and review.case.status == CaseStatus.REVIEWING
    review = walk(review, actors)
    assert review.state == Review.State.APPROVED
    case = MonitoringCase.objects.get(pk=review.case_id)
    today = timezone.localdate()
    assert case.status == CaseStatus.MONITORED and case.identified_month == today.year * 100 + today.month
    h1.refresh_from_db()
    assert h1.monitoring_category == "unstable_lifted" and h1.risk_status == "open"
    assert h1.risks == ["illness", "lack_of_labour"] and h1.channel == "干部日常排查"
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.INCLUDED
    steps = list(Decision.objects.filter(review=review).values_list("step", "action"))
    assert steps == [("verify", "start")] + [
        (s, "complete")
        for s in (
            "verify",
            "cross_check",
            "village_review",
            "publicity",
            "township_review",
            "county_approval",
        )
    ]
    consent = Decision.objects.get(review=review, step="verify", action="complete")
    assert consent.data["consent_signed"] is True and consent.attachments.get().name == "承诺授权书.jpg"
    assert AuditEvent.objects.filter(action="review.complete", object_id=str(review.pk)).count() == 6
    assert AuditEvent.objects.filter(action="lead.record").exists()


def test_reject_and_return_keep_every_decision(households, actors, village_cadre, township_cadre):
    review = services.start_identification(
        actor=village_cadre,
        lead=lead_for(households["H001"], village_cadre),
        category="unstable_lifted",
        risks=["illness"],
    )
    review = walk(review, actors, until=Step.TOWNSHIP_REVIEW)
    review = services.act(actor=township_cadre, review=review, action=Action.RETURN, comment="公示照片不清楚")
    assert review.step == Step.PUBLICITY
    review = complete(actors[Step.PUBLICITY], review)
    review = services.act(actor=township_cadre, review=review, action=Action.REJECT, comment="收入高于监测线")
    assert review.state == Review.State.REJECTED and review.case.status == CaseStatus.REJECTED
    actions = list(Decision.objects.filter(review=review).values_list("step", "action"))
    assert ("township_review", "return") in actions and ("township_review", "reject") in actions
    assert actions.count(("publicity", "complete")) == 2
    with pytest.raises(ValidationError, match="已办结"):
        services.act(actor=township_cadre, review=review, action=Action.COMPLETE)
    # a rejected household can be proposed again from a new lead
    lead2 = lead_for(households["H001"], village_cadre)
    services.start_identification(
        actor=village_cadre, lead=lead2, category="unstable_lifted", risks=["illness"]
    )


@pytest.mark.parametrize(
    ("step", "who", "message"),
    [
        (Step.VERIFY, "township_cadre_other", "不在您的管辖范围内"),
        (Step.VERIFY, "county_admin", "应由村干部（或乡镇干部）办理"),
        (Step.CROSS_CHECK, "village_cadre", "应由县直部门人员或县级管理员办理"),
        (Step.TOWNSHIP_REVIEW, "village_cadre", "应由乡镇干部办理"),
        (Step.COUNTY_APPROVAL, "township_cadre", "应由县级管理员办理"),
        (Step.COUNTY_APPROVAL, "leader", "应由县级管理员办理"),
    ],
)
def test_wrong_role_or_region_is_refused(
    households,
    actors,
    village_cadre,
    township_cadre,
    county_admin,
    leader,
    other_township_cadre,
    step,
    who,
    message,
):
    people = {
        "village_cadre": village_cadre,
        "township_cadre": township_cadre,
        "county_admin": county_admin,
        "leader": leader,
        "township_cadre_other": other_township_cadre,
    }
    review = services.start_identification(
        actor=village_cadre,
        lead=lead_for(households["H001"], village_cadre),
        category="unstable_lifted",
        risks=["illness"],
    )
    review = walk(review, actors, until=step)
    before = Decision.objects.count()
    data, files = step_data(step)
    with pytest.raises(PermissionDenied, match=message):
        services.act(actor=people[who], review=review, action=Action.COMPLETE, data=data, files=files)
    assert Decision.objects.count() == before


def test_step_guards(households, actors, village_cadre, staff):
    review = services.start_identification(
        actor=village_cadre,
        lead=lead_for(households["H001"], village_cadre),
        category="unstable_lifted",
        risks=["illness"],
    )
    with pytest.raises(ValidationError, match="承诺授权书"):
        services.act(actor=village_cadre, review=review, action=Action.COMPLETE, data={"findings": "x"})
    with pytest.raises(ValidationError, match="请上传已签署的承诺授权书"):
        services.act(
            actor=village_cadre,
            review=review,
            action=Action.COMPLETE,
            data={"findings": "x", "consent_signed": True},
        )
    with pytest.raises(ValidationError, match="请填写入户核实情况"):
        services.act(
            actor=village_cadre,
            review=review,
            action=Action.COMPLETE,
            data={"consent_signed": True},
            files=CONSENT,
        )
    with pytest.raises(ValidationError, match="第一个环节，不能退回"):
        services.act(actor=village_cadre, review=review, action=Action.RETURN, comment="x")
    with pytest.raises(ValidationError, match="请写明理由"):
        services.act(actor=village_cadre, review=review, action=Action.REJECT)
    review = complete(village_cadre, review)
    with pytest.raises(ValidationError, match="请填写信息比对结果"):
        services.act(actor=staff, review=review, action=Action.COMPLETE, data={})
    review = complete(staff, review)
    with pytest.raises(ValidationError, match="请填写评议日期"):
        services.act(
            actor=village_cadre, review=review, action=Action.COMPLETE, data={"meeting_date": "昨天"}
        )
    review = complete(village_cadre, review)
    assert review.step == Step.PUBLICITY


def test_publicity_minimum_days_end_and_objections(households, actors, village_cadre):
    review = services.start_identification(
        actor=village_cadre,
        lead=lead_for(households["H001"], village_cadre),
        category="unstable_lifted",
        risks=["illness"],
    )
    review = walk(review, actors, until=Step.PUBLICITY)
    today = timezone.localdate()
    short = {"start": (today - timedelta(days=8)).isoformat(), "end": (today - timedelta(days=5)).isoformat()}
    with pytest.raises(ValidationError, match="公示期不少于5天"):
        services.act(actor=village_cadre, review=review, action=Action.COMPLETE, data=short)
    running = {
        "start": (today - timedelta(days=2)).isoformat(),
        "end": (today + timedelta(days=3)).isoformat(),
    }
    with pytest.raises(ValidationError, match="公示期满后才能办结"):
        services.act(actor=village_cadre, review=review, action=Action.COMPLETE, data=running)
    objection = services.raise_objection(
        actor=village_cadre, review=review, text="该户有一辆货车", raised_by="村民李某"
    )
    data, _ = step_data(Step.PUBLICITY)
    with pytest.raises(ValidationError, match="1条公示异议没有答复"):
        services.act(actor=village_cadre, review=review, action=Action.COMPLETE, data=data)
    with pytest.raises(ValidationError, match="请填写答复内容"):
        services.answer_objection(actor=village_cadre, objection=objection, answer=" ")
    services.answer_objection(
        actor=village_cadre, objection=objection, answer="货车已于2022年出售，有过户凭证"
    )
    with pytest.raises(ValidationError, match="已答复"):
        services.answer_objection(actor=village_cadre, objection=objection, answer="再答")
    review = services.act(actor=village_cadre, review=review, action=Action.COMPLETE, data=data)
    assert review.step == Step.TOWNSHIP_REVIEW
    assert Decision.objects.filter(review=review, action__in=["object", "answer"]).count() == 2


def test_publicity_uses_the_value_in_force(households, actors, village_cadre, county_admin):
    services.set_policy_value(
        actor=county_admin,
        key="min_publicity_days",
        region_code="140724000000",
        year=2021,
        value=8,
        source="县规定",
    )
    review = services.start_identification(
        actor=village_cadre,
        lead=lead_for(households["H001"], village_cadre),
        category="unstable_lifted",
        risks=["illness"],
    )
    review = walk(review, actors, until=Step.PUBLICITY)
    with pytest.raises(ValidationError, match="公示期不少于8天"):
        complete(village_cadre, review)


def test_start_refusals(households, village_cadre, other_village_cadre, leader):
    h1, h3 = households["H001"], households["H003"]
    lead = lead_for(h1, village_cadre)
    with pytest.raises(ValidationError, match="脱贫不稳定户只能是脱贫户"):
        services.start_identification(
            actor=village_cadre,
            lead=lead_for(h3, village_cadre),
            category="unstable_lifted",
            risks=["illness"],
        )
    with pytest.raises(ValidationError, match="边缘易致贫户只能是一般农户"):
        services.start_identification(actor=village_cadre, lead=lead, category="marginal", risks=["illness"])
    with pytest.raises(ValidationError, match="1 至 5 项"):
        services.start_identification(actor=village_cadre, lead=lead, category="unstable_lifted", risks=[])
    with pytest.raises(ValidationError, match="1 至 5 项"):
        services.start_identification(
            actor=village_cadre,
            lead=lead,
            category="unstable_lifted",
            risks=["illness", "disability", "schooling", "disaster", "accident", "other"],
        )
    with pytest.raises(NotFound):
        services.start_identification(
            actor=other_village_cadre, lead=lead, category="unstable_lifted", risks=["illness"]
        )
    with pytest.raises(PermissionDenied, match="只能查看"):
        services.start_identification(actor=leader, lead=lead, category="unstable_lifted", risks=["illness"])
    services.start_identification(
        actor=village_cadre, lead=lead, category="unstable_lifted", risks=["illness"]
    )
    with pytest.raises(ValidationError, match="已在审核中"):
        services.start_identification(
            actor=village_cadre, lead=lead, category="unstable_lifted", risks=["illness"]
        )
    with pytest.raises(ValidationError, match="不能重复发起识别"):
        services.start_identification(
            actor=village_cadre,
            lead=lead_for(h1, village_cadre),
            category="unstable_lifted",
            risks=["illness"],
        )
    # H002 is already monitored through the ledger
    with pytest.raises(ValidationError, match="不能重复发起识别"):
        services.start_identification(
            actor=village_cadre,
            lead=lead_for(households["H002"], village_cadre),
            category="unstable_lifted",
            risks=["illness"],
        )


def test_lead_refusals_and_new_household(households, village_cadre, other_village_cadre):
    with pytest.raises(ValidationError, match="请选择识别途径"):
        services.record_lead(
            actor=village_cadre, household=households["H001"], channel="nope", description="x"
        )
    with pytest.raises(ValidationError, match="请填写线索内容"):
        services.record_lead(
            actor=village_cadre, household=households["H001"], channel="self_report", description=" "
        )
    with pytest.raises(ValidationError, match="请选择一户"):
        services.record_lead(actor=village_cadre, channel="self_report", description="x")
    with pytest.raises(NotFound):
        services.record_lead(
            actor=other_village_cadre, household=households["H001"], channel="self_report", description="x"
        )
    with pytest.raises(ValidationError, match="发现日期不能晚于今天"):
        services.record_lead(
            actor=village_cadre,
            household=households["H001"],
            channel="self_report",
            description="x",
            reported_on=timezone.localdate() + timedelta(days=1),
        )
    from ledgers import make_id

    new = {
        "village_code": "140724100204",
        "household_type": "ordinary",
        "members": [
            {
                "name": "周大山",
                "id_number": make_id(timezone.localdate().replace(year=1970, month=2, day=3), 91),
                "relation_to_head": "户主",
                "labour_skill": "普通劳动力",
            },
            {
                "name": "周小花",
                "id_number": make_id(timezone.localdate().replace(year=1998, month=7, day=8), 82),
                "relation_to_head": "之女",
            },
        ],
    }
    lead = services.record_lead(
        actor=village_cadre,
        new_household=new,
        channel="self_report",
        description="农户自主申报：房屋因暴雨倒塌",
        risks=["disaster"],
    )
    h = lead.household
    assert h.household_type == "ordinary" and h.size == 2 and h.household_no.startswith("DX140724100204")
    assert h.members.get(name="周小花").sex == "女"
    assert AuditEvent.objects.filter(action="household.register", object_id=str(h.pk)).exists()
    bad = dict(new, members=[dict(new["members"][0], id_number="123")])
    with pytest.raises(ValidationError, match="周大山"):
        services.record_lead(actor=village_cadre, new_household=bad, channel="self_report", description="x")
    with pytest.raises(ValidationError, match="已登记在另一户"):
        services.record_lead(actor=village_cadre, new_household=new, channel="self_report", description="x")
    with pytest.raises(ValidationError, match="只有一个户主"):
        services.record_lead(
            actor=village_cadre,
            new_household=dict(new, members=new["members"][1:]),
            channel="self_report",
            description="x",
        )


def test_fast_track(households, county_admin, village_cadre, staff, township_cadre):
    h1 = households["H001"]
    lead = services.record_lead(
        actor=village_cadre,
        household=h1,
        channel="cadre_visit",
        description="房屋被洪水冲毁",
        risks=["disaster"],
    )
    measure = {
        "kind": "housing",
        "content": "临时安置并启动危房重建",
        "helper_name": "王书记",
        "amount": "20000",
    }
    with pytest.raises(PermissionDenied, match="县级管理员"):
        services.start_identification(
            actor=village_cadre,
            lead=lead,
            category="sudden_hardship",
            risks=["disaster"],
            fast_track=True,
            measures=[measure],
        )
    with pytest.raises(ValidationError, match="只适用于因灾、因病、因意外事故"):
        services.start_identification(
            actor=county_admin,
            lead=lead,
            category="sudden_hardship",
            risks=["schooling"],
            fast_track=True,
            measures=[measure],
        )
    with pytest.raises(ValidationError, match="先行落实的帮扶措施"):
        services.start_identification(
            actor=county_admin, lead=lead, category="sudden_hardship", risks=["disaster"], fast_track=True
        )
    assert not MonitoringCase.objects.filter(household=h1).exists()
    review = services.start_identification(
        actor=county_admin,
        lead=lead,
        category="sudden_hardship",
        risks=["disaster"],
        fast_track=True,
        measures=[measure],
    )
    case = review.case
    assert review.state == Review.State.APPROVED and case.status == CaseStatus.MONITORED and case.fast_track
    assert Measure.objects.get(household=h1).amount == Decimal("20000.00")
    assert list(review.pending_after) == [
        "verify",
        "cross_check",
        "village_review",
        "publicity",
        "township_review",
    ]
    with pytest.raises(ValidationError, match="请先补办“入户核实”"):
        services.act(
            actor=staff, review=review, action=Action.COMPLETE, step=Step.CROSS_CHECK, data={"result": "ok"}
        )
    with pytest.raises(ValidationError, match="只能补办完成"):
        services.act(actor=village_cadre, review=review, action=Action.REJECT, comment="x")
    data, files = step_data(Step.VERIFY)
    review = services.act(actor=village_cadre, review=review, action=Action.COMPLETE, data=data, files=files)
    assert "verify" not in review.pending_after
    assert Decision.objects.get(review=review, step="verify", action="complete").after_the_fact


def test_measure_and_income(households, village_cadre, leader):
    h1 = households["H001"]
    with pytest.raises(ValidationError, match="请填写帮扶责任人"):
        services.record_measure(actor=village_cadre, household=h1, kind="health", content="x", helper_name="")
    with pytest.raises(ValidationError, match="请选择帮扶措施类型"):
        services.record_measure(
            actor=village_cadre, household=h1, kind="money", content="x", helper_name="王"
        )
    with pytest.raises(ValidationError, match="金额不能为负数"):
        services.record_measure(
            actor=village_cadre, household=h1, kind="health", content="x", helper_name="王", amount="-5"
        )
    with pytest.raises(PermissionDenied):
        services.record_measure(actor=leader, household=h1, kind="health", content="x", helper_name="王")
    m = services.record_measure(
        actor=village_cadre,
        household=h1,
        kind="health",
        content="慢病签约服务",
        helper_name="王医生",
        funding_source="县财政",
    )
    assert m.county_code == h1.county_code and AuditEvent.objects.filter(action="measure.record").count() == 1

    with pytest.raises(ValidationError, match="统计截止年月无效"):
        services.record_income(actor=village_cadre, household=h1, window_end=202313)
    with pytest.raises(ValidationError, match="不能为负数"):
        services.record_income(actor=village_cadre, household=h1, window_end=202406, wage_income=-1)
    survey = services.record_income(
        actor=village_cadre,
        household=h1,
        window_end=202406,
        wage_income="16000",
        business_income="3000",
        transfer_dibao="2400",
        transfer_pension="1200",
        business_expense="1000",
        compliant_out_of_pocket="5000",
    )
    assert survey.window_start == 202307 and survey.household_size == 2
    assert survey.per_capita_net == Decimal("10800.00")  # (16000+3000+3600-1000)/2
    h1.refresh_from_db()
    assert h1.transfer_income == Decimal("3600.00") and h1.declared_per_capita_income == Decimal("10800.00")
    event = AuditEvent.objects.get(action="income.record")
    assert {c.field for c in event.changes.all()} >= {"wage_income", "transfer_income"}
    # history is kept: a second survey of a later window
    services.record_income(actor=village_cadre, household=h1, window_end=202412, wage_income="20000")
    assert h1.income_surveys.count() == 2


def test_close_lead(households, village_cadre, other_village_cadre, client):
    lead = lead_for(households["H001"], village_cadre)
    with pytest.raises(ValidationError, match="请写明不纳入监测的理由"):
        services.close_lead(actor=village_cadre, lead=lead, reason=" ")
    with pytest.raises(NotFound):
        services.close_lead(actor=other_village_cadre, lead=lead, reason="x")
    client.force_login(village_cadre)
    r = client.post(f"/monitoring/leads/{lead.pk}/", {"close": "1", "reason": "收入高于监测线"}, follow=True)
    assert "线索已办结" in r.content.decode()
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NOT_INCLUDED and lead.closed_reason == "收入高于监测线"
    assert AuditEvent.objects.filter(action="lead.close", object_id=str(lead.pk)).exists()
    with pytest.raises(ValidationError, match="只有待核实的线索"):
        services.close_lead(actor=village_cadre, lead=lead, reason="again")


def test_attachment_limits(households, village_cadre):
    review = services.start_identification(
        actor=village_cadre,
        lead=lead_for(households["H001"], village_cadre),
        category="unstable_lifted",
        risks=["illness"],
    )
    data = {"findings": "x", "consent_signed": True}
    with pytest.raises(ValidationError, match="类型不支持"):
        services.act(
            actor=village_cadre,
            review=review,
            action=Action.COMPLETE,
            data=data,
            files=[("virus.exe", b"MZ")],
        )
    with pytest.raises(ValidationError, match="是空文件"):
        services.act(
            actor=village_cadre, review=review, action=Action.COMPLETE, data=data, files=[("scan.pdf", b"")]
        )
    assert Decision.objects.filter(review=review).count() == 1


def test_national_values_only_by_system_admin(county_admin):
    with pytest.raises(PermissionDenied, match="全国通用值"):
        services.set_policy_value(
            actor=county_admin, key="min_publicity_days", region_code="000000000000", year=2026, value=9
        )
