"""The monitoring pages as a user sees them: each renders for the right account, posts go through the
services, refusals show their Chinese message with the input kept and nothing written, and an account
of another region gets 404 (or an empty list)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from wf import walk

from dixian.monitoring import services
from dixian.monitoring.models import (
    Attachment,
    CaseStatus,
    Decision,
    IncomeSurvey,
    Lead,
    Measure,
    MonitoringCase,
    Objection,
    PolicyValue,
    Review,
)
from dixian.monitoring.workflow import Step
from dixian.registry.models import Household

from ledgers import make_id
from testdata import LIANGJIAGOU

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture
def line_this_year(db):
    PolicyValue.objects.get_or_create(
        key="monitoring_line", region_code="140000000000", year=TODAY().year, defaults={"value": 7600}
    )


def as_user(client, user):
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def new_lead(household, user, risks=("illness",)):
    return services.record_lead(
        actor=user,
        household=household,
        channel="cadre_visit",
        description="户主住院，医疗支出大",
        risks=list(risks),
    )


def started(household, user):
    return services.start_identification(
        actor=user, lead=new_lead(household, user), category="unstable_lifted", risks=["illness"]
    )


# ---------------------------------------------------------------------------------------------
# Login, navigation, home


def test_pages_need_login(client, households):
    h = households["H001"]
    for url in (
        "/monitoring/inbox/",
        "/monitoring/leads/",
        "/monitoring/leads/new/",
        "/monitoring/leads/1/",
        "/monitoring/reviews/1/",
        "/monitoring/attachments/1/",
        "/monitoring/cases/1/eliminate/",
        f"/monitoring/households/{h.pk}/measures/new/",
        f"/monitoring/households/{h.pk}/income/new/",
        "/monitoring/policy/",
        "/monitoring/quality/",
    ):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), url


def test_nav_links_and_home_counts(client, households, village_cadre, other_village_cadre):
    started(households["H001"], village_cadre)
    new_lead(households["H003"], village_cadre)
    page = text(as_user(client, village_cadre).get("/"))
    for link in ("/monitoring/inbox/", "/monitoring/leads/", "/monitoring/policy/", "/monitoring/quality/"):
        assert f'href="{link}"' in page
    counts = page[page.index('id="inbox-counts"') :]
    assert '待办审核</div><div class="value">1<small>件</small>' in counts
    assert '逾期</div><div class="value">0<small>件</small>' in counts
    assert '新线索</div><div class="value">1<small>条</small>' in counts
    other = text(as_user(client, other_village_cadre).get("/"))
    assert '待办审核</div><div class="value">0<small>件</small>' in other
    assert '新线索</div><div class="value">0<small>条</small>' in other


def test_home_shows_overdue_in_red(client, households, village_cadre):
    review = started(households["H001"], village_cadre)
    Review.objects.filter(pk=review.pk).update(step_started_at=timezone.now() - timedelta(days=10))
    page = text(as_user(client, village_cadre).get("/"))
    assert '<div class="value" style="color:var(--err)">1<small>件</small>' in page


def test_quality_page_is_wired(client, households, county_admin):
    r = as_user(client, county_admin).get("/monitoring/quality/")
    assert r.status_code == 200 and "数据质量" in text(r)


# ---------------------------------------------------------------------------------------------
# 待办


def test_inbox_lists_waiting_reviews_and_new_leads(
    client, households, village_cadre, other_village_cadre, staff
):
    review = started(households["H001"], village_cadre)
    lead = new_lead(households["H003"], village_cadre)
    page = text(as_user(client, village_cadre).get("/monitoring/inbox/"))
    assert "待办" in page and 'id="step-verify"' in page and "入户核实" in page
    assert f'href="/monitoring/reviews/{review.pk}/"' in page and "万永强户" in page
    assert f'href="/monitoring/leads/{lead.pk}/#start"' in page and "发起识别" in page
    # county staff take cross checks only: nothing yet
    page = text(as_user(client, staff).get("/monitoring/inbox/"))
    assert f"/monitoring/reviews/{review.pk}/" not in page and "没有等待您办理的审核" in page
    # another village: nothing at all
    page = text(as_user(client, other_village_cadre).get("/monitoring/inbox/"))
    assert "万永强" not in page and "没有等待您办理的审核" in page and "赵丽" not in page


def test_inbox_overdue_first_and_red(client, households, village_cadre):
    fresh = started(households["H001"], village_cadre)
    late = services.start_identification(
        actor=village_cadre,
        lead=new_lead(households["H003"], village_cadre),
        category="marginal",
        risks=["illness"],
    )
    Review.objects.filter(pk=late.pk).update(step_started_at=timezone.now() - timedelta(days=10))
    page = text(as_user(client, village_cadre).get("/monitoring/inbox/"))
    assert page.index(f"/monitoring/reviews/{late.pk}/") < page.index(f"/monitoring/reviews/{fresh.pk}/")
    row = page[page.rindex("<tr", 0, page.index(f"/monitoring/reviews/{late.pk}/")) :]
    assert row.startswith('<tr class="overdue">') and "已逾期" in row[: row.index("</tr>")]


# ---------------------------------------------------------------------------------------------
# 风险线索


def test_lead_list_filters_and_scope(client, households, village_cadre, other_village_cadre, county_admin):
    a = new_lead(households["H001"], village_cadre)
    b = services.record_lead(
        actor=village_cadre, household=households["H003"], channel="self_report", description="房屋漏雨"
    )
    started_lead = new_lead(households["H002"], village_cadre)
    Lead.objects.filter(pk=started_lead.pk).update(status=Lead.Status.IN_REVIEW)
    c = as_user(client, county_admin)
    page = text(c.get("/monitoring/leads/"))
    assert "风险线索" in page and "万永强" in page and "赵丽" in page and "张建国" in page
    page = text(c.get("/monitoring/leads/?channel=self_report"))
    assert "赵丽" in page and "万永强" not in page
    page = text(c.get("/monitoring/leads/?status=in_review"))
    assert "张建国" in page and "万永强" not in page and "赵丽" not in page
    assert {x["lead"].pk for x in c.get("/monitoring/leads/").context["rows"]} == {
        a.pk,
        b.pk,
        started_lead.pk,
    }
    r = as_user(client, other_village_cadre).get("/monitoring/leads/")
    assert r.status_code == 200 and r.context["rows"] == [] and "没有符合条件的线索" in text(r)
    assert client.get(f"/monitoring/leads/{a.pk}/").status_code == 404


def test_record_lead_for_a_registered_household(client, households, village_cadre):
    c = as_user(client, village_cadre)
    page = text(c.get("/monitoring/leads/new/"))
    assert "记录风险线索" in page and "干部日常排查" in page and "因病" in page and "梁家沟村" in page
    assert "添加成员" in page
    h1 = households["H001"]
    found = text(c.get("/monitoring/leads/lookup/", {"household_no": "H001"}))
    assert "万永强户" in found
    assert "没有找到" in text(c.get("/monitoring/leads/lookup/", {"household_no": "H004"}))  # 李夫峪村
    r = c.post(
        "/monitoring/leads/new/",
        {
            "target": "existing",
            "household_no": "H001",
            "channel": "cadre_visit",
            "description": "户主3月住院，自付4万元",
            "risks": ["illness", "lack_of_labour"],
            "reported_on": TODAY().isoformat(),
        },
    )
    lead = Lead.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/monitoring/leads/{lead.pk}/"
    assert lead.household == h1 and lead.risks == ["illness", "lack_of_labour"]
    assert lead.channel.code == "cadre_visit" and lead.reporter_name.startswith("liangjiagou")
    page = text(c.get(r["Location"]))
    assert "已记录风险线索" in page and "户主3月住院" in page and "发起识别" in page
    assert "脱贫不稳定户" in page and "边缘易致贫户" not in page  # a lifted household
    assert "绿色通道" not in page  # only county admins


def test_record_lead_from_the_household_page(client, households, village_cadre, other_village_cadre):
    h1 = households["H001"]
    c = as_user(client, village_cadre)
    page = text(c.get(f"/monitoring/leads/new/?household={h1.pk}"))
    assert "万永强户" in page and f'name="household" value="{h1.pk}"' in page
    r = c.post(
        f"/monitoring/leads/new/?household={h1.pk}",
        {
            "target": "existing",
            "household": h1.pk,
            "channel": "self_report",
            "description": "农户自主申报：务工收入中断",
            "risks": ["unstable_work"],
            "reported_on": TODAY().isoformat(),
        },
    )
    assert r.status_code == 302 and Lead.objects.get().household == h1
    other = as_user(client, other_village_cadre)
    assert other.get(f"/monitoring/leads/new/?household={h1.pk}").status_code == 404
    r = other.post(
        "/monitoring/leads/new/",
        {"target": "existing", "household": h1.pk, "channel": "self_report", "description": "x"},
    )
    assert r.status_code == 404 and Lead.objects.count() == 1


def test_record_lead_with_a_new_household(client, households, village_cadre):
    head = make_id(TODAY().replace(year=1970, month=2, day=3), 91)
    child = make_id(TODAY().replace(year=1998, month=7, day=8), 82)
    r = as_user(client, village_cadre).post(
        "/monitoring/leads/new/",
        {
            "target": "new",
            "village": LIANGJIAGOU,
            "household_type": "ordinary",
            "phone": "13800001111",
            "member_name": ["周大山", "周小花", ""],
            "member_id_number": [head, child, ""],
            "member_relation_to_head": ["户主", "之女", "之子"],
            "member_labour_skill": ["普通劳动力", "", ""],
            "channel": "self_report",
            "description": "农户自主申报：房屋因暴雨倒塌",
            "risks": ["disaster", "housing"],
            "reported_on": TODAY().isoformat(),
        },
    )
    assert r.status_code == 302
    lead = Lead.objects.get()
    h = lead.household
    assert h.head_name == "周大山" and h.size == 2 and h.household_type == "ordinary"
    assert h.members.get(name="周大山").labour_skill == "普通劳动力"
    assert h.members.get(name="周小花").relation_to_head == "之女"
    page = text(client.get(r["Location"]))
    assert "边缘易致贫户" in page and "脱贫不稳定户" not in page  # an ordinary household


def test_record_lead_refusals_keep_the_input(client, households, village_cadre):
    c = as_user(client, village_cadre)
    before = Household.objects.count()
    r = c.post(
        "/monitoring/leads/new/",
        {
            "target": "existing",
            "household_no": "H001",
            "channel": "cadre_visit",
            "description": " ",
            "risks": ["illness"],
        },
    )
    page = text(r)
    assert r.status_code == 200 and "请填写线索内容" in page and 'class="alert alert-error"' in page
    assert 'value="H001"' in page and 'value="illness" checked' in page
    r = c.post(
        "/monitoring/leads/new/",
        {"target": "existing", "household_no": "H404", "channel": "cadre_visit", "description": "x"},
    )
    assert "户编号“H404”不存在或不在您的管辖范围内" in text(r)
    # a new household with a bad ID number: the member rows come back as they were typed
    r = c.post(
        "/monitoring/leads/new/",
        {
            "target": "new",
            "village": LIANGJIAGOU,
            "household_type": "lifted",
            "lifted_year": "2018",
            "member_name": ["周大山"],
            "member_id_number": ["123"],
            "member_relation_to_head": ["户主"],
            "member_labour_skill": [""],
            "channel": "self_report",
            "description": "房屋倒塌",
        },
    )
    page = text(r)
    assert "周大山" in page and '"id_number": "123"' in page and "leadForm('new', 'lifted')" in page
    assert 'class="alert alert-error"' in page
    r = c.post(
        "/monitoring/leads/new/",
        {"target": "existing", "household_no": "H001", "channel": "cadre_visit", "description": "x",
         "reported_on": (TODAY() + timedelta(days=2)).isoformat()},
    )  # fmt: skip
    assert "发现日期不能晚于今天" in text(r)
    assert Lead.objects.count() == 0 and Household.objects.count() == before


def test_leader_cannot_record(client, households, leader):
    c = as_user(client, leader)
    assert "领导账户只能查看" in text(c.get("/monitoring/leads/new/"))
    r = c.post(
        "/monitoring/leads/new/",
        {"target": "existing", "household_no": "H001", "channel": "cadre_visit", "description": "x"},
    )
    assert "领导账户只能查看" in text(r) and Lead.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# 发起识别


def test_start_identification_from_the_lead_page(client, households, village_cadre, other_village_cadre):
    lead = new_lead(households["H001"], village_cadre)
    c = as_user(client, village_cadre)
    r = c.post(f"/monitoring/leads/{lead.pk}/", {"category": "marginal", "risks": ["illness"]})
    page = text(r)
    assert r.status_code == 200 and "边缘易致贫户只能是一般农户" in page
    assert not Review.objects.exists() and Lead.objects.get().status == Lead.Status.NEW
    r = c.post(f"/monitoring/leads/{lead.pk}/", {"category": "unstable_lifted", "risks": []})
    assert "1 至 5 项" in text(r)
    assert as_user(client, other_village_cadre).get(f"/monitoring/leads/{lead.pk}/").status_code == 404
    r = as_user(client, other_village_cadre).post(
        f"/monitoring/leads/{lead.pk}/", {"category": "unstable_lifted", "risks": ["illness"]}
    )
    assert r.status_code == 404 and not Review.objects.exists()
    c = as_user(client, village_cadre)
    r = c.post(
        f"/monitoring/leads/{lead.pk}/",
        {"category": "unstable_lifted", "risks": ["illness", "lack_of_labour"], "comment": "先核实"},
    )
    review = Review.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/monitoring/reviews/{review.pk}/"
    assert review.proposal == {"category": "unstable_lifted", "risks": ["illness", "lack_of_labour"]}
    page = text(c.get(r["Location"]))
    assert "已发起识别" in page and "入户核实" in page and "上传已签署的授权书" in page
    page = text(c.get(f"/monitoring/leads/{lead.pk}/"))
    assert "审核中" in page and 'id="start"' not in page


def test_fast_track_only_for_county_admin(client, households, village_cadre, county_admin):
    lead = new_lead(households["H001"], village_cadre, risks=("disaster",))
    c = as_user(client, village_cadre)
    r = c.post(
        f"/monitoring/leads/{lead.pk}/",
        {"category": "sudden_hardship", "risks": ["disaster"], "fast_track": "on",
         "measure_kind": "housing", "measure_content": "临时安置", "measure_helper": "王书记"},
    )  # fmt: skip
    assert "绿色通道由县级管理员直接审定" in text(r) and not Review.objects.exists()
    c = as_user(client, county_admin)
    page = text(c.get(f"/monitoring/leads/{lead.pk}/"))
    assert "绿色通道" in page and 'name="measure_content"' in page
    r = c.post(
        f"/monitoring/leads/{lead.pk}/",
        {"category": "sudden_hardship", "risks": ["disaster"], "fast_track": "on"},
    )
    assert "先行落实的帮扶措施" in text(r) and not Review.objects.exists()
    r = c.post(
        f"/monitoring/leads/{lead.pk}/",
        {"category": "sudden_hardship", "risks": ["disaster"], "fast_track": "on",
         "measure_kind": "housing", "measure_content": "临时安置并启动危房重建",
         "measure_helper": "王书记", "measure_amount": "20000"},
    )  # fmt: skip
    review = Review.objects.get()
    assert r.status_code == 302 and review.state == Review.State.APPROVED and review.fast_track
    assert Measure.objects.get().content == "临时安置并启动危房重建"
    page = text(c.get(r["Location"]))
    assert "绿色通道先行审定" in page and page.count("待补办") >= 5
    assert "绿色通道事后补办" not in page
    # the village cadre completes 入户核实 afterwards
    v = as_user(client, village_cadre)
    page = text(v.get(r["Location"]))
    assert "补办：入户核实" in page and "补办完成" in page and "不予通过" not in page
    r = v.post(
        r["Location"],
        {"op": "act", "step": "verify", "action": "complete", "consent_signed": "on",
         "findings": "房屋倒塌属实", "consent_file": SimpleUploadedFile("授权书.jpg", b"\xff\xd8x")},
    )  # fmt: skip
    assert r.status_code == 302
    review.refresh_from_db()
    assert "verify" not in review.pending_after
    assert "绿色通道事后补办" in text(v.get(r["Location"]))


# ---------------------------------------------------------------------------------------------
# The review page, step by step


def post_step(client, review, action="complete", **data):
    return client.post(
        f"/monitoring/reviews/{review.pk}/", {"op": "act", "step": review.step, "action": action, **data}
    )


def test_each_step_through_the_review_page(
    client, households, village_cadre, township_cadre, county_admin, staff, other_village_cadre
):
    review = started(households["H001"], village_cadre)
    url = f"/monitoring/reviews/{review.pk}/"
    v = as_user(client, village_cadre)
    page = text(v.get(url))
    assert "识别纳入审核" in page and "进行中" in page and 'class="current" data-step="verify"' in page
    assert "已签署《申请及承诺授权书》" in page and "退回修改" not in page  # the first step
    r = post_step(
        v,
        review,
        consent_signed="on",
        findings="户主因病住院，家庭收入下降",
        consent_file=SimpleUploadedFile("承诺授权书.jpg", b"\xff\xd8signed"),
    )
    assert r.status_code == 302 and r["Location"] == url
    review.refresh_from_db()
    assert review.step == Step.CROSS_CHECK
    att = Attachment.objects.get()
    assert att.name == "承诺授权书.jpg"
    page = text(v.get(url))
    assert "“入户核实”已办理：通过" in page and "已签署" in page and "户主因病住院" in page
    assert f'href="/monitoring/attachments/{att.pk}/"' in page
    assert "本环节由县直部门人员或县级管理员办理" in page and 'id="step-form"' not in page
    download = v.get(f"/monitoring/attachments/{att.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"\xff\xd8signed"
    assert "attachment" in download["Content-Disposition"]

    s = as_user(client, staff)
    assert "信息比对结果" in text(s.get(url))
    assert post_step(s, review, result="无车辆、无商品房、无工商注册").status_code == 302
    review.refresh_from_db()

    v = as_user(client, village_cadre)
    assert "民主评议日期" in text(v.get(url))
    meeting = (TODAY() - timedelta(days=12)).isoformat()
    assert post_step(v, review, meeting_date=meeting, comment="参会23人，一致同意").status_code == 302
    review.refresh_from_db()
    assert review.step == Step.PUBLICITY

    page = text(v.get(url))
    assert "公示期不少于 <strong>5</strong> 天" in page and "登记异议" in page
    r = v.post(url, {"op": "object", "text": "该户有一辆货车", "raised_by": "村民李某"})
    assert r.status_code == 302
    objection = Objection.objects.get()
    start, end = (TODAY() - timedelta(days=10)).isoformat(), (TODAY() - timedelta(days=4)).isoformat()
    r = post_step(v, review, start=start, end=end)
    assert "1条公示异议没有答复" in text(r) and f'value="{start}"' in text(r)
    assert Review.objects.get(pk=review.pk).step == Step.PUBLICITY
    r = v.post(url, {"op": "answer", "objection": objection.pk, "answer": " "})
    assert "请填写答复内容" in text(r)
    r = v.post(url, {"op": "answer", "objection": objection.pk, "answer": "货车已于2022年出售"})
    assert r.status_code == 302 and Objection.objects.get().answer == "货车已于2022年出售"
    assert post_step(v, review, start=start, end=end).status_code == 302
    review.refresh_from_db()
    page = text(v.get(url))
    assert (
        "公示日期" in page
        and "（共7天）" in page
        and "该户有一辆货车" in page
        and "货车已于2022年出售" in page
    )

    t = as_user(client, township_cadre)
    assert post_step(t, review, comment="同意").status_code == 302
    review.refresh_from_db()
    a = as_user(client, county_admin)
    r = post_step(a, review, comment="同意纳入")
    assert r.status_code == 302
    review.refresh_from_db()
    assert review.state == Review.State.APPROVED
    assert MonitoringCase.objects.get(pk=review.case_id).status == CaseStatus.MONITORED
    page = text(a.get(url))
    assert "审核已审定，已纳入监测" in page and "已审定" in page and "县级管理员" in page
    assert page.count('class="done"') == 6
    assert Decision.objects.filter(review=review, action="complete").count() == 6

    # another village: neither the review nor its attachment
    o = as_user(client, other_village_cadre)
    assert o.get(url).status_code == 404
    assert o.get(f"/monitoring/attachments/{att.pk}/").status_code == 404
    assert o.post(url, {"op": "act", "action": "complete"}).status_code == 404


def test_step_refusals_show_the_message_and_write_nothing(
    client, households, village_cadre, township_cadre, staff
):
    review = started(households["H001"], village_cadre)
    url = f"/monitoring/reviews/{review.pk}/"
    v = as_user(client, village_cadre)
    r = post_step(v, review, findings="核实：家中仅两位老人")
    page = text(r)
    assert r.status_code == 200 and "须记录农户已签署《申请及承诺授权书》" in page
    assert "核实：家中仅两位老人</textarea>" in page  # input kept
    r = post_step(v, review, consent_signed="on", findings="x")
    assert "请上传已签署的承诺授权书" in text(r)
    r = post_step(v, review, action="reject")
    assert "请写明理由" in text(r)
    assert Decision.objects.filter(review=review).count() == 1  # only the start
    # the wrong role: refused with the message
    r = post_step(as_user(client, staff), review, result="x")
    assert "应由村干部（或乡镇干部）办理" in text(r)
    assert Review.objects.get(pk=review.pk).step == Step.VERIFY and not Attachment.objects.exists()
    # rejection with a reason ends the review
    r = post_step(as_user(client, township_cadre), review, action="reject", comment="收入高于监测线")
    assert r.status_code == 302
    page = text(client.get(url))
    assert "不予通过" in page and "理由：收入高于监测线" in page and 'class="rejected"' in page
    assert Lead.objects.get().status == Lead.Status.NOT_INCLUDED


def test_return_goes_back_one_step(client, households, village_cadre, township_cadre, actors):
    review = walk(started(households["H001"], village_cadre), actors, until=Step.TOWNSHIP_REVIEW)
    r = post_step(as_user(client, township_cadre), review, action="return", comment="公示照片不清楚")
    assert r.status_code == 302
    assert Review.objects.get(pk=review.pk).step == Step.PUBLICITY
    page = text(client.get(f"/monitoring/reviews/{review.pk}/"))
    assert "退回修改" in page and "理由：公示照片不清楚" in page


# ---------------------------------------------------------------------------------------------
# Household page: monitoring sections, measures, income


def test_household_page_sections(client, households, village_cadre, other_village_cadre):
    h2 = households["H002"]
    c = as_user(client, village_cadre)
    page = text(c.get(f"/households/{h2.pk}/"))
    assert "监测记录" in page and "台账导入" in page and "风险未消除" in page and "2023年5月" in page
    case = MonitoringCase.objects.get(household=h2)
    assert f"/monitoring/cases/{case.pk}/eliminate/" in page and "申请风险消除" in page
    assert f"/monitoring/leads/new/?household={h2.pk}" in page
    assert f"/monitoring/households/{h2.pk}/measures/new/" in page
    assert f"/monitoring/households/{h2.pk}/income/new/" in page
    measures = page[page.index('id="measures"') :]
    assert "城乡居民基本医疗保险个人缴费补贴" in measures and "台账" in measures
    page = text(c.get(f"/households/{households['H001'].pk}/"))
    assert "没有监测记录" in page and "申请风险消除" not in page


def test_record_measure_page(client, households, village_cadre, other_village_cadre, leader):
    h2 = households["H002"]
    url = f"/monitoring/households/{h2.pk}/measures/new/"
    c = as_user(client, village_cadre)
    assert "录入帮扶措施" in text(c.get(url))
    r = c.post(url, {"kind": "welfare_post", "content": "村级保洁公益岗位", "amount": "7200"})
    assert "请填写帮扶责任人" in text(r) and "村级保洁公益岗位" in text(r) and not Measure.objects.exists()
    r = c.post(
        url,
        {"kind": "welfare_post", "content": "村级保洁公益岗位", "amount": "7,200", "helper_name": "王晓梅",
         "funding_source": "衔接资金", "start_date": "2026-03-01"},
    )  # fmt: skip
    assert r.status_code == 302 and r["Location"] == f"/households/{h2.pk}/#measures"
    m = Measure.objects.get()
    assert m.case == MonitoringCase.objects.get(household=h2) and m.amount == 7200
    page = text(c.get(f"/households/{h2.pk}/"))
    measures = page[page.index('id="measures"') :]
    assert "村级保洁公益岗位" in measures and "7,200.00" in measures and "衔接资金" in measures
    assert "王晓梅" in measures and "系统录入" in measures
    assert as_user(client, other_village_cadre).get(url).status_code == 404
    assert client.post(url, {"kind": "health", "content": "x", "helper_name": "y"}).status_code == 404
    r = as_user(client, leader).post(url, {"kind": "health", "content": "x", "helper_name": "y"})
    assert "领导账户只能查看" in text(r) and Measure.objects.count() == 1


def test_record_income_page(client, households, village_cadre, other_village_cadre):
    h1 = households["H001"]
    url = f"/monitoring/households/{h1.pk}/income/new/"
    c = as_user(client, village_cadre)
    page = text(c.get(url))
    assert "录入收入调查" in page and "低保金" in page and 'name="household_size"' in page
    r = c.post(url, {"window_end": "2024-13", "household_size": "2", "wage_income": "16000"})
    assert "统计截止年月无效" in text(r) and 'value="16000"' in text(r)
    r = c.post(url, {"window_end": "2024-06", "household_size": "2", "wage_income": "-1"})
    assert "不能为负数" in text(r) and not IncomeSurvey.objects.exists()
    r = c.post(
        url,
        {"window_end": "2024-06", "household_size": "2", "wage_income": "16000", "business_income": "3000",
         "transfer_dibao": "2400", "transfer_pension": "1200", "business_expense": "1000",
         "compliant_out_of_pocket": "5000"},
    )  # fmt: skip
    assert r.status_code == 302 and r["Location"] == f"/households/{h1.pk}/#income"
    survey = IncomeSurvey.objects.get()
    assert survey.window_start == 202307 and survey.per_capita_net == 10800
    page = text(c.get(f"/households/{h1.pk}/"))
    income = page[page.index('id="income"') :]
    assert "2023年7月至2024年6月" in income and "10,800.00" in income and "低保金 2,400.00" in income
    assert "5,000.00" in income
    assert as_user(client, other_village_cadre).get(url).status_code == 404


# ---------------------------------------------------------------------------------------------
# 风险消除


def test_elimination_page_live_criteria_and_refusal(client, households, village_cadre, line_this_year):
    case = MonitoringCase.objects.get(household=households["H002"])
    url = f"/monitoring/cases/{case.pk}/eliminate/"
    c = as_user(client, village_cadre)
    page = text(c.get(url))
    assert "申请风险消除" in page and "收入稳定高于监测线" in page and "请选择风险消除方式" in page
    assert 'hx-get="/monitoring/cases/' in page
    part = c.get(url, {"mode": "assisted", "rigid_expense_resolved": "on"}, headers={"HX-Request": "true"})
    fragment = text(part)
    assert fragment.startswith('<div id="criteria">') and "<html" not in fragment
    assert 'class="ok" data-code="rigid_expense"' in fragment
    assert 'class="fail" data-code="basic_guarantees"' in fragment
    assert 'class="fail" data-code="income_above_line"' in fragment and "未高于" in fragment
    r = c.post(url, {"mode": "assisted", "rigid_expense_resolved": "on", "guarantees_secured": "on"})
    page = text(r)
    assert r.status_code == 200 and "不符合风险消除条件" in page and "人均纯收入" in page
    assert 'class="fail" data-code="income_above_line"' in page
    assert 'value="assisted" checked' in page and 'name="guarantees_secured" value="on" checked' in page
    assert not Review.objects.exists() and MonitoringCase.objects.get(pk=case.pk).status == "monitored"
    services.record_income(
        actor=village_cadre, household=case.household, window_end=202406, wage_income="30000"
    )
    r = c.post(
        url,
        {
            "mode": "assisted",
            "rigid_expense_resolved": "on",
            "guarantees_secured": "on",
            "comment": "务工稳定",
        },
    )
    review = Review.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/monitoring/reviews/{review.pk}/"
    page = text(c.get(r["Location"]))
    assert "风险消除审核" in page and "帮扶消除" in page and "风险消除条件（按今天核对）" in page
    page = text(c.get(url))
    assert "只有风险未消除的监测对象可以申请风险消除" in page


def test_elimination_page_other_region(client, households, other_village_cadre):
    case = MonitoringCase.objects.get(household=households["H002"])
    c = as_user(client, other_village_cadre)
    assert c.get(f"/monitoring/cases/{case.pk}/eliminate/").status_code == 404
    r = c.post(f"/monitoring/cases/{case.pk}/eliminate/", {"mode": "natural"})
    assert r.status_code == 404 and not Review.objects.exists()


# ---------------------------------------------------------------------------------------------
# 政策参数


def test_policy_page_warnings_and_edit(client, households, county_admin, township_cadre):
    year = TODAY().year
    c = as_user(client, county_admin)
    page = text(c.get("/monitoring/policy/"))
    assert "政策参数" in page and "监测线（元/人·年）" in page and "7100" in page
    for y in range(year - 3, year + 1):
        if y != 2023:
            assert f"{y}年山西省监测线未设置" in page
    assert "2023年山西省监测线未设置" not in page
    assert 'id="policy-edit"' in page and "晋中市" in page
    r = c.post(
        "/monitoring/policy/",
        {"key": "monitoring_line", "region_code": "140000000000", "year": str(year - 2), "value": "7600",
         "source": "晋乡振发〔2024〕1号"},
    )  # fmt: skip
    assert r.status_code == 302
    row = PolicyValue.objects.get(key="monitoring_line", region_code="140000000000", year=year - 2)
    assert row.value == 7600 and row.source == "晋乡振发〔2024〕1号"
    page = text(c.get("/monitoring/policy/"))
    assert f"{year - 2}年山西省监测线未设置" not in page and f"{year - 1}年山西省监测线未设置" in page
    r = c.post(
        "/monitoring/policy/",
        {"key": "monitoring_line", "region_code": "130000000000", "year": str(year), "value": "1"},
    )
    assert "只能修改本县、本市或本省的政策参数" in text(r)
    r = c.post(
        "/monitoring/policy/",
        {"key": "min_publicity_days", "region_code": "140724000000", "year": str(year), "value": "七"},
    )
    assert "不是有效的金额" in text(r) and 'value="七"' in text(r)
    t = as_user(client, township_cadre)
    page = text(t.get("/monitoring/policy/"))
    assert "7100" in page and 'id="policy-edit"' not in page and "请县级管理员填写" in page
    r = t.post(
        "/monitoring/policy/",
        {"key": "monitoring_line", "region_code": "140000000000", "year": str(year), "value": "9999"},
    )
    assert "只有县级管理员可以修改政策参数" in text(r)
    assert not PolicyValue.objects.filter(value=9999).exists()


def test_policy_page_hides_other_counties_values(client, county_admin):
    PolicyValue.objects.create(key="deadline.verify", region_code="140702000000", year=2024, value=9)
    PolicyValue.objects.create(key="deadline.verify", region_code="140724000000", year=2024, value=4)
    rows = as_user(client, county_admin).get("/monitoring/policy/").context["rows"]
    codes = {p.row.region_code for p in rows}
    assert "140724000000" in codes and "140702000000" not in codes and "000000000000" in codes
