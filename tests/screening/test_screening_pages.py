"""The early-warning pages as a user sees them: each renders for the right account, posts go through the
services, refusals show their Chinese message with the input kept and nothing written, and an account
of another region gets 404 (or an empty list)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from gen import Ids, make_household, write_feed

from dixian.core.audit import Actor
from dixian.core.models import AuditEvent
from dixian.monitoring.models import Lead
from dixian.screening.models import Alert, AlertRule, FeedFile, HeaderMapping, ScreeningRun
from dixian.screening.rules import ensure_default_rules
from dixian.screening.runs import run_screening
from dixian.screening.services import load_feed

from testdata import LEPING, LIANGJIAGOU, LIFUYU, make_user

pytestmark = pytest.mark.django_db
CLI = Actor.cli()
TODAY = date.today()
AS_OF = TODAY - timedelta(days=20)  # alerts due 15 days later: 5 days overdue today
DISASTER_HEAD = ["证件号码", "姓名", "受灾日期", "灾种", "直接经济损失", "房屋损毁"]
MEDICAL_HEAD = ["证件号码", "姓名", "结算日期", "就诊类型", "个人自付"]


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def people():
    """V1 甲 (梁家沟村), V2 乙 (梁家沟村, monitored), V3 丙 (李夫峪村) and someone not registered."""
    ensure_default_rules()
    ids = Ids(random.Random(3))
    h1, p1 = make_household("V1", [("甲", date(1970, 1, 1), True)], ids=ids)
    h2, p2 = make_household("V2", [("乙", date(1970, 1, 1), True)], ids=ids, monitored=True)
    h3, p3 = make_household("V3", [("丙", date(1970, 1, 1), True)], ids=ids, village=LIFUYU)
    return {
        "households": {"V1": h1, "V2": h2, "V3": h3},
        "ids": {**p1, **p2, **p3, "某某": ids.new(date(1966, 6, 6))},
    }


@pytest.fixture
def alerts(people, tmp_path):
    """One screening as of AS_OF over a disaster file: an alert for each household and the stranger."""
    ids = people["ids"]
    day = (AS_OF - timedelta(days=5)).isoformat()
    rows = [[ids[n], n, day, "洪涝", "", "倒塌"] for n in ("甲", "乙", "丙", "某某")]
    load_feed(actor=CLI, feed_type="disaster", path=write_feed(tmp_path / "z.csv", DISASTER_HEAD, rows))
    run = run_screening(actor=CLI, as_of=AS_OF)
    by = {a.household.household_no if a.household_id else "new": a for a in Alert.objects.filter(run=run)}
    assert set(by) == {"V1", "V2", "V3", "new"}
    return by


@pytest.fixture
def staff(db):
    return make_user("yibao", "county_staff", "140724000000")


@pytest.fixture
def other_county_admin(db):
    return make_user("yuci", "county_admin", "140702000000")  # 榆次区


def medical_csv(people, name="m.csv", *, headers=MEDICAL_HEAD) -> SimpleUploadedFile:
    ids = people["ids"]
    day = (TODAY - timedelta(days=30)).isoformat()
    lines = [",".join(headers)]
    lines += [
        f"{ids['甲']},甲,{day},住院,12000.50",
        f"{ids['某某']},某某,{day},住院,25000",
        "123,错,x,住院,1",
    ]
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(), content_type="text/csv")


# ---------------------------------------------------------------------------------------------
# Login, navigation


def test_pages_need_login(client):
    for url in (
        "/alerts/",
        "/alerts/1/",
        "/alerts/feeds/",
        "/alerts/feeds/upload/",
        "/alerts/feeds/mapping/",
        "/alerts/feeds/1/",
        "/alerts/rules/",
        "/alerts/rules/edit/",
        "/alerts/runs/",
        "/alerts/runs/replay/",
        "/alerts/closure/",
    ):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), url


def test_nav_shows_early_warning_by_role(client, county_admin, village_cadre):
    client.force_login(county_admin)
    page = text(client.get("/"))
    assert ">预警</div>" in page
    for link in ("/alerts/", "/alerts/closure/", "/alerts/rules/", "/alerts/runs/", "/alerts/feeds/"):
        assert f'href="{link}"' in page
    client.force_login(village_cadre)
    page = text(client.get("/"))
    assert 'href="/alerts/"' in page and 'href="/alerts/rules/"' in page
    assert 'href="/alerts/feeds/"' not in page and 'href="/alerts/runs/"' not in page


# ---------------------------------------------------------------------------------------------
# Feeds


def test_upload_a_feed_and_see_its_validation(client, people, county_admin):
    client.force_login(county_admin)
    assert "加载部门数据" in text(client.get("/alerts/feeds/upload/"))
    r = client.post("/alerts/feeds/upload/", {"feed_type": "medical", "file": medical_csv(people)})
    feed = FeedFile.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/alerts/feeds/{feed.pk}/"
    assert (feed.rows_read, feed.rows_refused, feed.ids_invalid) == (3, 1, 1)
    assert (feed.rows_registered, feed.rows_unregistered_local) == (1, 1)
    assert feed.department == "医保局" and feed.loaded_by == county_admin
    page = text(client.get(r["Location"]))
    assert "证件号码无效" in page and "m.csv" in page and "匹配在册人员" in page
    assert 'id="samples"' in page
    listing = text(client.get("/alerts/feeds/"))
    assert "m.csv" in listing and "医保结算" in listing


def test_upload_by_htmx_redirects(client, people, staff):
    client.force_login(staff)
    r = client.post(
        "/alerts/feeds/upload/", {"feed_type": "medical", "file": medical_csv(people)}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 204 and r["HX-Redirect"].startswith("/alerts/feeds/")


def test_refused_upload_says_why_and_writes_nothing(client, people, county_admin, tmp_path):
    client.force_login(county_admin)
    client.post("/alerts/feeds/upload/", {"feed_type": "medical", "file": medical_csv(people)})
    r = client.post(
        "/alerts/feeds/upload/",
        {"feed_type": "medical", "department": "医保局", "file": medical_csv(people)},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and "加载过" in text(r) and "不再重复加载" in text(r)
    assert FeedFile.objects.count() == 1
    r = client.post(
        "/alerts/feeds/upload/",
        {"feed_type": "medical", "file": SimpleUploadedFile("x.pdf", b"%PDF-1.4")},
    )
    page = text(r)
    assert (
        r.status_code == 200
        and "不支持的文件类型" in page
        and 'value="medical" data-dept="医保局" selected' in page
    )
    r = client.post("/alerts/feeds/upload/", {"feed_type": "medical"})
    assert "请选择要加载的文件" in text(r)
    assert FeedFile.objects.count() == 1


def test_missing_columns_lead_to_the_header_mapping_and_a_second_try(client, people, county_admin):
    client.force_login(county_admin)
    headers = ["身份证号", "姓名", "结算时间", "就诊类型", "个人自付"]
    r = client.post(
        "/alerts/feeds/upload/",
        {"feed_type": "medical", "department": "县医保中心", "file": medical_csv(people, headers=headers)},
        HTTP_HX_REQUEST="true",
    )
    page = text(r)
    assert "缺少必填列：证件号码、结算日期" in page and 'id="go-mapping"' in page
    assert FeedFile.objects.count() == 0
    token = client.session["screening_pending_feed"]["token"]
    url = f"/alerts/feeds/mapping/?feed_type=medical&department=县医保中心&pending={token}"
    page = text(client.get(url))
    assert "身份证号" in page and "结算时间" in page and "尚缺的必填列" in page
    # a wrong target is refused, with nothing saved
    r = client.post(
        "/alerts/feeds/mapping/",
        {
            "feed_type": "medical",
            "department": "县医保中心",
            "pending": token,
            "map_from": ["身份证号"],
            "map_to": ["证件"],
        },
    )
    assert "不是医保结算数据的列" in text(r) and not HeaderMapping.objects.exists()
    r = client.post(
        "/alerts/feeds/mapping/",
        {
            "feed_type": "medical",
            "department": "县医保中心",
            "pending": token,
            "map_from": ["身份证号", "结算时间", ""],
            "map_to": ["证件号码", "结算日期", ""],
        },
    )
    assert r.status_code == 302 and r["Location"] == f"/alerts/feeds/upload/?pending={token}"
    assert HeaderMapping.objects.get().mapping == {"身份证号": "证件号码", "结算时间": "结算日期"}
    page = text(client.get(r["Location"]))
    assert 'id="pending-file"' in page and "县医保中心" in page
    r = client.post(
        "/alerts/feeds/upload/", {"feed_type": "medical", "department": "县医保中心", "pending": token}
    )
    feed = FeedFile.objects.get()
    assert r.status_code == 302 and feed.rows_read == 3 and feed.department == "县医保中心"
    assert "screening_pending_feed" not in client.session


def test_feed_pages_by_role(client, people, village_cadre, township_cadre, leader, other_county_admin):
    load_feed(
        actor=CLI,
        feed_type="medical",
        path=_write(people, "l.csv"),
    )
    feed = FeedFile.objects.get()
    for user in (village_cadre, township_cadre, leader):
        client.force_login(user)
        assert client.get("/alerts/feeds/upload/").status_code == 403
        assert client.post("/alerts/feeds/upload/", {"feed_type": "medical"}).status_code == 403
        assert client.get("/alerts/feeds/mapping/").status_code == 403
    client.force_login(village_cadre)
    assert client.get("/alerts/feeds/").status_code == 403
    assert client.get(f"/alerts/feeds/{feed.pk}/").status_code == 403
    client.force_login(leader)
    page = text(client.get(f"/alerts/feeds/{feed.pk}/"))
    assert "l.csv" in page and "加载部门数据" not in text(client.get("/alerts/feeds/"))
    client.force_login(other_county_admin)
    assert "l.csv" not in text(client.get("/alerts/feeds/"))
    assert client.get(f"/alerts/feeds/{feed.pk}/").status_code == 404


def _write(people, name):
    import tempfile
    from pathlib import Path

    ids = people["ids"]
    day = (TODAY - timedelta(days=30)).isoformat()
    rows = [[ids["甲"], "甲", day, "住院", "12000.50"]]
    return write_feed(Path(tempfile.mkdtemp()) / name, MEDICAL_HEAD, rows)


def test_sample_rows_mask_id_numbers(client, people, county_admin, tmp_path):
    ids = people["ids"]
    path = write_feed(tmp_path / "s.csv", MEDICAL_HEAD, [[ids["甲"], "甲", "坏日期", "住院", "1"]])
    feed = load_feed(actor=CLI, feed_type="medical", path=path)
    client.force_login(county_admin)
    page = text(client.get(f"/alerts/feeds/{feed.pk}/"))
    assert "结算日期不是日期" in page and ids["甲"] not in page and ids["甲"][:6] + "********" in page


# ---------------------------------------------------------------------------------------------
# Rules


def test_rules_page_lists_rules_in_force_with_descriptions(client, village_cadre):
    ensure_default_rules()
    client.force_login(village_cadre)
    page = text(client.get("/alerts/rules/"))
    assert "在册农户医疗自付费用高" in page and "今天有效" in page
    assert "同一户个人自付合计超过10000元" in page
    assert "从某日起修改" not in page
    assert client.get("/alerts/rules/edit/").status_code == 403


def test_county_admin_saves_a_new_version(client, county_admin):
    ensure_default_rules()
    client.force_login(county_admin)
    page = text(client.get("/alerts/rules/edit/?code=medical_registered"))
    assert "在册农户医疗自付费用高" in page and 'id="rule-state"' in page
    from_day = TODAY + timedelta(days=1)
    data = {
        "code": "medical_registered",
        "name": "在册农户住院自付费用高",
        "effective_from": from_day.isoformat(),
        "enabled": "on",
        "feed_type": "medical",
        "filter_join": ["and", "or"],
        "filter_column": ["就诊类型", "医疗总费用"],
        "filter_op": ["in", "gt"],
        "filter_value": ["住院、门诊慢特病", "50000"],
        "window_n": "12",
        "window_unit": "months",
        "subject": "any",
        "group_by": "household",
        "aggregate": "sum",
        "measure": "个人自付",
        "comparison": "gt",
        "term_kind": ["const", "household_net_income", "policy:rural_disposable_income"],
        "term_value": ["8000", "40", "50"],
        "term_year": ["0", "0", "-1"],
        "population": "registered",
        "risk": "illness",
        "deadline_days": "10",
        "suppress_days": "60",
    }
    r = client.post("/alerts/rules/edit/", data)
    assert r.status_code == 302 and r["Location"] == "/alerts/rules/#rule-medical_registered"
    rule = AlertRule.objects.get(code="medical_registered", effective_from=from_day)
    assert rule.filters == [
        {
            "any": [
                {"column": "就诊类型", "op": "in", "value": ["住院", "门诊慢特病"]},
                {"column": "医疗总费用", "op": "gt", "value": "50000"},
            ]
        }
    ]
    assert rule.threshold == [
        {"const": "8000"},
        {"factor": "0.4", "of": "household_net_income"},
        {"factor": "0.5", "of": "policy:rural_disposable_income", "year": -1},
    ]
    assert (rule.deadline_days, rule.suppress_days) == (10, 60) and "admin" in rule.created_by
    page = text(client.get("/alerts/rules/"))
    assert "未来生效" in page and "在册农户住院自付费用高" in page
    # the form shows the new version back as rows
    state = client.get("/alerts/rules/edit/?code=medical_registered").context["state"]
    assert [f["join"] for f in state["filters"]] == ["and", "or"]
    assert [t["value"] for t in state["terms"]] == ["8000", "40", "50"]
    assert AuditEvent.objects.filter(action="rule.save").count() == 1


def test_rule_refusals_keep_the_input(client, county_admin):
    ensure_default_rules()
    client.force_login(county_admin)
    base = {
        "code": "big_bill",
        "name": "单笔自付高",
        "effective_from": TODAY.isoformat(),
        "enabled": "on",
        "feed_type": "medical",
        "window_n": "6",
        "window_unit": "months",
        "subject": "any",
        "group_by": "person",
        "aggregate": "max",
        "measure": "",
        "comparison": "gt",
        "term_kind": ["const"],
        "term_value": ["30000"],
        "term_year": ["0"],
        "population": "registered",
        "risk": "illness",
        "deadline_days": "15",
        "suppress_days": "90",
    }
    r = client.post("/alerts/rules/edit/", base)
    page = text(r)
    assert r.status_code == 200 and "需要选择一个金额列" in page and 'id="form-errors"' in page
    state = r.context["state"]
    assert state["name"] == "单笔自付高" and state["terms"] == [
        {"kind": "const", "value": "30000", "year": "0"}
    ]
    r = client.post("/alerts/rules/edit/", {**base, "measure": "个人自付", "code": "大额"})
    assert "规则代码只能由英文字母" in text(r)
    r = client.post("/alerts/rules/edit/", {**base, "measure": "个人自付", "effective_from": "明天"})
    assert "生效日期" in text(r)
    assert not AlertRule.objects.filter(code__in=["big_bill", "大额"]).exists()
    r = client.post("/alerts/rules/edit/", {**base, "measure": "个人自付"})
    assert r.status_code == 302 and AlertRule.objects.get(code="big_bill").description.startswith("在医保局")


def test_only_the_county_admin_edits_rules(client, staff, township_cadre):
    for user in (staff, township_cadre):
        client.force_login(user)
        assert client.get("/alerts/rules/edit/").status_code == 403
        assert client.post("/alerts/rules/edit/", {"code": "x"}).status_code == 403
    assert not AlertRule.objects.filter(code="x").exists()


# ---------------------------------------------------------------------------------------------
# Runs and replay


def test_run_a_screening_from_the_page(client, people, staff, tmp_path):
    ids = people["ids"]
    day = (TODAY - timedelta(days=3)).isoformat()
    rows = [[ids["甲"], "甲", day, "洪涝", "", "倒塌"]]
    load_feed(actor=CLI, feed_type="disaster", path=write_feed(tmp_path / "d.csv", DISASTER_HEAD, rows))
    client.force_login(staff)
    page = text(client.get("/alerts/runs/"))
    assert 'id="run-button"' in page and "还没有筛查记录" in page
    r = client.post("/alerts/runs/", {"as_of": TODAY.isoformat()}, HTTP_HX_REQUEST="true")
    run = ScreeningRun.objects.get()
    assert r.status_code == 204 and r["HX-Redirect"] == f"/alerts/runs/?run={run.pk}#run-{run.pk}"
    assert run.alert_count == 1 and run.started_by == staff
    page = text(client.get(r["HX-Redirect"]))
    assert "在册农户受灾" in page and "尚未加载医保结算数据" in page
    r = client.post(
        "/alerts/runs/", {"as_of": (TODAY + timedelta(days=1)).isoformat()}, HTTP_HX_REQUEST="true"
    )
    assert "筛查日期不能晚于今天" in text(r) and ScreeningRun.objects.count() == 1


def test_runs_by_role(client, people, leader, village_cadre, other_county_admin):
    run_screening(actor=CLI, as_of=TODAY)
    client.force_login(leader)
    page = text(client.get("/alerts/runs/"))
    assert 'id="run-table"' in page and 'id="run-button"' not in page
    assert client.post("/alerts/runs/", {"as_of": TODAY.isoformat()}).status_code == 403
    assert client.get("/alerts/runs/replay/").status_code == 403
    client.force_login(village_cadre)
    assert client.get("/alerts/runs/").status_code == 403
    client.force_login(other_county_admin)
    assert 'id="run-table"' not in text(client.get("/alerts/runs/"))
    assert ScreeningRun.objects.count() == 1


def test_replay_explains_for_a_household_and_a_person(client, alerts, people, county_admin):
    client.force_login(county_admin)
    # as of the run's date the file was not loaded yet; today it is, and the alert of that run suppresses
    page = text(client.get(f"/alerts/runs/replay/?as_of={AS_OF.isoformat()}&household_no=V1"))
    assert "甲户（V1）" in page and "尚未加载灾情数据" in page
    page = text(client.get(f"/alerts/runs/replay/?as_of={TODAY.isoformat()}&household_no=V1"))
    assert f"抑制期内已有预警（编号 {alerts['V1'].pk}）" in page and "尚未加载医保结算数据" in page
    ident = people["ids"]["某某"]
    page = text(client.get(f"/alerts/runs/replay/?as_of={TODAY.isoformat()}&id_number={ident}"))
    page = page[page.index('id="replay-result"') :]
    assert ident not in page and ident[:6] + "********" + ident[-4:] in page
    assert "未在册农户受灾" in page and f"编号 {alerts['new'].pk}" in page
    # a run replayed with the files it used: the alert fires as it did
    page = text(client.get(f"/alerts/runs/replay/?run={alerts['V1'].run_id}&household_no=V1"))
    assert f"筛查批次 {alerts['V1'].run_id}" in page and "超过阈值 0.00，预警" in page
    page = text(client.get(f"/alerts/runs/replay/?as_of={AS_OF.isoformat()}&household_no=NOPE"))
    assert "户编号“NOPE”不存在" in page
    page = text(client.get(f"/alerts/runs/replay/?as_of={AS_OF.isoformat()}&id_number=1234"))
    assert 'id="form-errors"' in page and 'id="replay-result"' not in page
    page = text(client.get(f"/alerts/runs/replay/?as_of={TODAY.isoformat()}"))
    assert "当天将预警 0 个对象，另有 3 个在抑制期内不重复预警" in page and "另有 1 个" in page
    assert AuditEvent.objects.filter(action="screen.replay").count() == 5


# ---------------------------------------------------------------------------------------------
# Alerts


def test_work_list_is_scoped_and_overdue_stands_out(client, alerts, village_cadre, county_admin):
    client.force_login(village_cadre)
    page = text(client.get("/alerts/"))
    assert "甲户" in page and "乙户" in page and "丙户" not in page and "某某" not in page
    assert "逾期 5 天" in page and 'class="overdue"' in page
    client.force_login(county_admin)
    page = text(client.get("/alerts/"))
    assert "丙户" in page and "未在册" in page and "待分派" in page
    assert people_masked(page, alerts["new"].id_numbers[0])
    page = text(client.get("/alerts/?status=unassigned"))
    assert "某某" in page and "甲户" not in page
    page = text(client.get(f"/alerts/?township={LEPING}&overdue=on"))
    assert "甲户" in page and "某某" not in page
    page = text(client.get("/alerts/?department=医保局"))
    assert "没有符合条件的预警" in page


def people_masked(page: str, number: str) -> bool:
    return number not in page and number[:6] + "********" + number[-4:] in page


def test_alert_page_shows_rule_value_evidence_and_masked_ids(client, alerts, village_cadre):
    alert = alerts["V1"]
    client.force_login(village_cadre)
    page = text(client.get(f"/alerts/{alert.pk}/"))
    assert alert.rule.description in page and "有记录即预警" in page and "逾期 5 天" in page
    assert 'id="evidence"' in page and "倒塌" in page and "z.csv" in page
    assert people_masked(page, alert.id_numbers[0])
    assert f'href="/households/{alert.household_id}/"' in page and 'id="verify"' in page
    r = client.post(f"/alerts/{alert.pk}/reveal/", HTTP_HX_REQUEST="true")
    assert alert.id_numbers[0] in text(r) and 'id="alert-people"' in text(r)
    event = AuditEvent.objects.get(action="alert.reveal_id_number")
    assert event.actor == village_cadre and event.object_id == str(alert.pk)


def test_reveal_needs_the_right(client, alerts, staff, leader):
    alert = alerts["V1"]
    for user in (staff, leader):
        client.force_login(user)
        assert 'id="reveal-ids"' not in text(client.get(f"/alerts/{alert.pk}/"))
        r = client.post(f"/alerts/{alert.pk}/reveal/")
        assert r.status_code == 403 and alert.id_numbers[0] not in text(r)
    assert not AuditEvent.objects.filter(action="alert.reveal_id_number").exists()


def test_included_makes_a_lead_and_links_to_it(client, alerts, village_cadre):
    alert = alerts["V1"]
    client.force_login(village_cadre)
    r = client.post(
        f"/alerts/{alert.pk}/",
        {"outcome": "included", "risks": ["disaster", "illness"], "note": "房屋倒塌", "verified_on": TODAY},
    )
    assert r.status_code == 302
    alert.refresh_from_db()
    lead = Lead.objects.get()
    assert alert.status == "included" and alert.lead == lead and lead.risks == ["disaster", "illness"]
    page = text(client.get(f"/alerts/{alert.pk}/"))
    assert f'href="/monitoring/leads/{lead.pk}/"' in page and "已生成风险线索" in page
    assert "逾期 5 天" in page and 'id="verify"' not in page


def test_verification_refusals_keep_the_input(client, alerts, village_cadre):
    alert = alerts["V1"]
    client.force_login(village_cadre)
    r = client.post(f"/alerts/{alert.pk}/", {"outcome": "not_included", "verified_on": TODAY})
    page = text(r)
    assert (
        r.status_code == 200
        and "请写明不纳入的理由" in page
        and 'value="not_included" x-model="outcome" checked' in page
    )
    r = client.post(f"/alerts/{alert.pk}/", {"outcome": "", "note": "入户看过"})
    assert "请选择核实结论" in text(r) and "入户看过" in text(r)
    r = client.post(
        f"/alerts/{alert.pk}/", {"outcome": "included", "risks": ["disaster"], "verified_on": "2001-01-01"}
    )
    assert "核实日期不能早于预警日期" in text(r)
    alert.refresh_from_db()
    assert alert.status == "open" and not Lead.objects.exists()
    # 乙 is already monitored: 纳入 is refused, 已在监测 accepted
    r = client.post(f"/alerts/{alerts['V2'].pk}/", {"outcome": "included", "risks": ["disaster"]})
    assert "已是监测对象" in text(r)
    r = client.post(f"/alerts/{alerts['V2'].pk}/", {"outcome": "already", "note": "已在监测"})
    assert r.status_code == 302


def test_other_region_gets_404(client, alerts, other_village_cadre, other_township_cadre, other_county_admin):
    alert = alerts["V1"]
    for user in (other_village_cadre, other_township_cadre, other_county_admin):
        client.force_login(user)
        assert client.get(f"/alerts/{alert.pk}/").status_code == 404
        assert client.post(f"/alerts/{alert.pk}/", {"outcome": "already", "note": "x"}).status_code == 404
        assert client.post(f"/alerts/{alert.pk}/reveal/").status_code == 404
        assert client.post(f"/alerts/{alerts['new'].pk}/assign/", {"village": LIANGJIAGOU}).status_code == 404
        assert "甲户" not in text(client.get("/alerts/"))
    alert.refresh_from_db()
    assert alert.status == "open" and alerts["new"].village_code == ""
    client.force_login(other_village_cadre)
    assert "丙户" in text(client.get("/alerts/"))


def test_assign_then_verify_someone_not_registered(client, alerts, staff, village_cadre):
    alert = alerts["new"]
    client.force_login(village_cadre)
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404  # the county's until assigned
    client.force_login(staff)
    page = text(client.get(f"/alerts/{alert.pk}/"))
    assert 'id="assign"' in page and "梁家沟村" in page and 'id="verify"' not in page
    r = client.post(f"/alerts/{alert.pk}/assign/", {"village": ""})
    assert "请选择本县的一个行政村" in text(r) and 'id="assign-errors"' in text(r)
    r = client.post(f"/alerts/{alert.pk}/assign/", {"village": LIANGJIAGOU})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.village_code == LIANGJIAGOU
    client.force_login(village_cadre)
    page = text(client.get(f"/alerts/{alert.pk}/"))
    assert 'id="verify"' in page and "已在监测/已帮扶" not in page.split('id="verify"')[1]
    r = client.post(
        f"/alerts/{alert.pk}/",
        {"outcome": "included", "risks": ["disaster"], "household_type": "ordinary", "verified_on": TODAY},
    )
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.lead.household.head_name == "某某" and alert.household is not None


def test_village_cadre_cannot_assign(client, alerts, village_cadre, leader):
    client.force_login(leader)
    page = text(client.get(f"/alerts/{alerts['new'].pk}/"))
    assert "由县级或乡镇账户分派" in page
    r = client.post(f"/alerts/{alerts['new'].pk}/assign/", {"village": LIANGJIAGOU})
    assert r.status_code == 403 and "您的角色不能分派预警" in text(r)
    r = client.post(f"/alerts/{alerts['V1'].pk}/", {"outcome": "already", "note": "x"})
    assert r.status_code == 403 and "不能核实预警" in text(r)
    assert Alert.objects.get(pk=alerts["new"].pk).village_code == ""
    assert Alert.objects.get(pk=alerts["V1"].pk).status == "open"


# ---------------------------------------------------------------------------------------------
# Closure figures


def test_closure_page_by_township_department_and_rule(
    client, alerts, village_cadre, county_admin, township_cadre
):
    client.force_login(village_cadre)
    client.post(
        f"/alerts/{alerts['V1'].pk}/", {"outcome": "not_included", "note": "已修复", "verified_on": TODAY}
    )
    client.force_login(county_admin)
    page = text(client.get(f"/alerts/closure/?since={AS_OF.isoformat()}&as_of={TODAY.isoformat()}"))
    assert 'href="/figures/#alerts.raised"' in page and 'href="/figures/#alerts.on_time_rate"' in page
    assert "乐平镇" in page and "县级（待分派）" in page and "应急管理局" in page and "在册农户受灾" in page
    assert 'id="closure-chart"' in page and 'id="closure-data"' in page
    cards = page[page.index('id="closure-cards"') :]
    assert '发出预警</div><div class="value">4<small>' in cards
    assert '已核实</div><div class="value">1<small>' in cards and "核实率 25.00%" in cards
    assert '按期核实</div><div class="value">0<small>' in cards
    client.force_login(township_cadre)
    page = text(client.get(f"/alerts/closure/?since={AS_OF.isoformat()}"))
    cards = page[page.index('id="closure-cards"') :]
    assert '发出预警</div><div class="value">3<small>' in cards and "县级（待分派）" not in page
    by_village = page[page.index('id="by-village"') : page.index('id="by-department"')]
    assert "梁家沟村" in by_village and "李夫峪村" in by_village and "各村发出预警" in page
    page = text(client.get("/alerts/closure/?since=2030-01-01&as_of=2029-01-01"))
    assert "晚于统计日期" in page
