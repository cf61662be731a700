"""Identification in a real browser, across five accounts: a village cadre records a lead for a registered
household and starts identification; each step of the chain is taken by its account (logging in and out
between them); afterwards the figures page counts one more monitored household.

Screenshots of every step go to test-artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from dixian.core.audit import Actor
from dixian.monitoring.models import Attachment, CaseStatus, Lead, MonitoringCase, Review
from dixian.registry.models import Household
from dixian.registry.services import import_ledger

from ledgers import basic_rows, make_id, write_csv
from testdata import make_user

pytestmark = pytest.mark.e2e

PASSWORD = "secret-pass-1"  # tests/testdata.py make_user


@pytest.fixture(autouse=True)
def monitoring_defaults(e2e_db):
    """The channels and policy values migration 0002 ships, put back if an earlier transactional test
    flushed them (as e2e_db does for the regions)."""
    import importlib

    from django.apps import apps

    importlib.import_module("dixian.monitoring.migrations.0002_defaults").forwards(apps, None)


@pytest.fixture
def registry(tmp_path):
    """basic_rows(): H001 万永强 (脱贫户, not monitored), H002 (monitored), H003 (eliminated) in 梁家沟村."""
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "seed.csv"))
    return {h.household_no: h for h in Household.objects.all()}


@pytest.fixture
def people(village_cadre, township_cadre, county_admin):
    """The five accounts of the chain, with names as real accounts have them."""
    names = {village_cadre: "王晓梅", township_cadre: "李建华", county_admin: "赵国强"}
    for user, name in names.items():
        user.full_name = name
        user.save(update_fields=["full_name"])
    staff = make_user("yibao", "county_staff", "140724000000", full_name="孙丽（县医保局）")
    return {"village": village_cadre, "township": township_cadre, "admin": county_admin, "staff": staff}


@pytest.fixture
def shoot(page: Page, shots):
    def shoot(step: str):
        page.screenshot(path=str(shots / f"monitoring-{step}.png"), full_page=True)

    return shoot


def log_in(page: Page, base: str, user) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("header .who")).to_contain_text(user.full_name)


def log_out(page: Page, base: str) -> None:
    page.locator("header").get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{base}/login/")


def monitored_households(page: Page, base: str) -> int:
    page.goto(f"{base}/figures/")
    cell = page.locator('[id="monitored.households"] td.num')
    expect(cell).to_have_count(1)
    return int(cell.inner_text().replace(",", "").strip())


def open_from_inbox(page: Page, base: str, head_name: str, step_label: str, shoot=None) -> None:
    """From the home page's 待办 card to the review, as a cadre would go."""
    page.goto(f"{base}/")
    page.locator("#inbox-counts").get_by_text("待办审核").click()
    expect(page).to_have_url(f"{base}/monitoring/inbox/")
    if shoot:
        shoot()
    group = page.locator(".card", has=page.locator("h2", has_text=step_label))
    group.get_by_role("link", name=f"{head_name}户").click()
    expect(page).to_have_url(re.compile(r"/monitoring/reviews/\d+/$"))
    expect(page.locator("#act h2")).to_have_text(f"当前环节：{step_label}")


def approve(page: Page) -> None:
    page.locator("#step-form").get_by_role("button", name="通过", exact=True).click()
    expect(page.locator(".alert-success")).to_be_visible()


def test_identification_through_the_chain_in_the_browser(
    page: Page, live_server, registry, people, shoot, page_errors, tmp_path
):
    base = live_server.url
    today = timezone.localdate()
    h1 = registry["H001"]

    # The county administrator notes the figure before.
    log_in(page, base, people["admin"])
    before = monitored_households(page, base)
    assert before == 2  # H002 and H003 (monitored households include those whose risk is eliminated)
    shoot("01-figures-before")
    log_out(page, base)

    # --- 村干部: a lead for 万永强户 from the household page, then 发起识别
    log_in(page, base, people["village"])
    shoot("02-village-home")
    page.goto(f"{base}/households/{h1.pk}/")
    expect(page.locator("#monitoring")).to_contain_text("没有监测记录")
    page.get_by_role("link", name="记录风险线索").click()
    expect(page).to_have_url(f"{base}/monitoring/leads/new/?household={h1.pk}")
    form = page.locator("#lead-form")
    expect(form).to_contain_text("万永强户")
    form.locator("#channel").select_option(label="干部日常排查")
    form.locator("#description").fill("户主万永强3月突发脑梗住院，自付医疗费约4万元，家中无其他劳动力。")
    form.get_by_label("因病").check()
    form.get_by_label("缺劳动力").check()
    shoot("03-lead-form")
    form.get_by_role("button", name="记录线索").click()
    expect(page).to_have_url(re.compile(r"/monitoring/leads/\d+/$"))
    expect(page.locator(".alert-success")).to_contain_text("已记录风险线索")
    start = page.locator("#start")
    start.get_by_label("脱贫不稳定户").check()
    expect(start.get_by_label("因病")).to_be_checked()  # carried over from the lead
    expect(start.get_by_label("缺劳动力")).to_be_checked()
    expect(start).not_to_contain_text("绿色通道")
    shoot("04-lead-start")
    start.get_by_role("button", name="发起识别").click()
    expect(page).to_have_url(re.compile(r"/monitoring/reviews/\d+/$"))
    review_url = page.url
    expect(page.locator("#act h2")).to_have_text("当前环节：入户核实")
    expect(page.locator('#progress li[data-step="verify"]')).to_have_class("current")

    # 入户核实 with the signed consent form uploaded
    consent = tmp_path / "万永强-承诺授权书.jpg"
    consent.write_bytes(b"\xff\xd8\xff\xe0 signed consent form")
    act = page.locator("#step-form")
    act.locator("#consent_signed").check()
    act.locator("#consent_file").set_input_files(consent)
    act.locator("#findings").fill(
        "入户核实：户主住院属实，出院后需长期康复；配偶李秀英务农，年收入约6000元。"
    )
    shoot("05-verify-form")
    approve(page)
    expect(page.locator('#progress li[data-step="verify"]')).to_have_class("done")
    expect(page.locator("#timeline")).to_contain_text("承诺授权书")
    expect(page.locator("#timeline")).to_contain_text("已签署")
    with page.expect_download() as info:
        page.locator("#timeline").get_by_role("link", name=re.compile("万永强-承诺授权书")).click()
    assert info.value.suggested_filename == "万永强-承诺授权书.jpg"
    shoot("06-verified")
    log_out(page, base)

    # --- 县直部门: 信息比对
    log_in(page, base, people["staff"])
    expect(page.locator("#inbox-counts")).to_contain_text("待办审核1件")
    open_from_inbox(page, base, "万永强", "信息比对", lambda: shoot("07a-staff-inbox"))
    page.locator("#result").fill("车辆、商品房、工商注册、财政供养人员比对均无；医保报销记录与申报一致。")
    approve(page)
    shoot("07-cross-checked")
    log_out(page, base)

    # --- 村干部: 村级民主评议, then 公示 (dates already past)
    log_in(page, base, people["village"])
    open_from_inbox(page, base, "万永强", "村级民主评议")
    page.locator("#meeting_date").fill((today - timedelta(days=12)).isoformat())
    page.locator("#comment").fill("村民代表会议23人参加，一致同意纳入。")
    approve(page)
    expect(page.locator("#act h2")).to_have_text("当前环节：公示")
    expect(page.locator("#act")).to_contain_text("公示期不少于 5 天")
    page.locator("#pub_start").fill((today - timedelta(days=10)).isoformat())
    page.locator("#pub_end").fill((today - timedelta(days=4)).isoformat())
    expect(page.locator("#act")).to_contain_text("共 7 天")
    shoot("08-publicity-form")
    approve(page)
    expect(page.locator("#timeline")).to_contain_text("（共7天）")
    log_out(page, base)

    # --- 乡镇干部: 乡镇审核
    log_in(page, base, people["township"])
    open_from_inbox(page, base, "万永强", "乡镇审核")
    page.locator("#comment").fill("材料齐全，同意。")
    approve(page)
    log_out(page, base)

    # --- 县级管理员: 县级审定
    log_in(page, base, people["admin"])
    open_from_inbox(page, base, "万永强", "县级审定")
    shoot("09-county-approval")
    page.locator("#comment").fill("同意纳入监测。")
    approve(page)
    expect(page.locator(".alert-success")).to_contain_text("已纳入监测")
    expect(page.locator("main h1")).to_contain_text("已审定")
    expect(page.locator("#progress li.done")).to_have_count(6)
    shoot("10-approved")
    assert page.url == review_url

    review = Review.objects.get()
    assert review.state == Review.State.APPROVED
    assert MonitoringCase.objects.get(household=h1).status == CaseStatus.MONITORED
    assert Lead.objects.get().status == Lead.Status.INCLUDED
    assert Attachment.objects.get().name == "万永强-承诺授权书.jpg"

    # The household page and the figures
    page.goto(f"{base}/households/{h1.pk}/")
    spells = page.locator("#spells")
    expect(spells).to_contain_text("风险未消除")
    expect(spells).to_contain_text("系统审核")
    expect(spells).to_contain_text(f"{today.year}年{today.month}月")
    shoot("11-household")
    after = monitored_households(page, base)
    shoot("12-figures-after")
    assert after == before + 1

    assert page_errors == []


def test_new_household_lead_inbox_policy_and_elimination_checks(
    page: Page, live_server, registry, people, shoot, page_errors
):
    base = live_server.url
    head = make_id(date(1972, 4, 5), 93)
    wife = make_id(date(1974, 9, 10), 84)

    # --- 村干部: a household not in the ledger, entered with its lead
    log_in(page, base, people["village"])
    page.get_by_role("navigation").get_by_role("link", name="风险线索").click()
    page.get_by_role("link", name="记录风险线索").click()
    form = page.locator("#lead-form")
    form.get_by_label("新录入一户（未在台账中）").check()
    form.locator("#village").select_option(label="梁家沟村")
    form.get_by_label("脱贫户", exact=True).check()
    form.locator("input[name=lifted_year]").fill("2019")
    form.get_by_label("第1位成员姓名").fill("高福生")
    form.get_by_label("第1位成员证件号码").fill(head)
    form.get_by_label("第1位成员劳动技能").select_option("普通劳动力")
    form.locator("#add-member").click()
    form.get_by_label("第2位成员姓名").fill("吴桂香")
    form.get_by_label("第2位成员证件号码").fill(wife[:17] + ("0" if wife[17] != "0" else "1"))  # a typo
    form.get_by_label("第2位成员与户主关系").select_option("配偶")
    form.locator("#channel").select_option(label="农户自主申报")
    form.locator("#description").fill("农户自主申报：7月暴雨房屋倒塌，暂住亲戚家。")
    form.get_by_label("因灾").check()
    shoot("21-new-household-form")
    form.get_by_role("button", name="记录线索").click()

    # refused: the message in red, every row as typed
    expect(page.locator("#form-errors")).to_contain_text("吴桂香")
    form = page.locator("#lead-form")
    expect(form.get_by_label("第1位成员姓名")).to_have_value("高福生")
    expect(form.get_by_label("第2位成员姓名")).to_have_value("吴桂香")
    expect(form.get_by_label("第2位成员与户主关系")).to_have_value("配偶")
    expect(form.locator("input[name=lifted_year]")).to_have_value("2019")
    expect(form.get_by_label("因灾")).to_be_checked()
    shoot("22-new-household-refused")
    assert not Lead.objects.exists()
    form.get_by_label("第2位成员证件号码").fill(wife)
    form.get_by_role("button", name="记录线索").click()
    expect(page).to_have_url(re.compile(r"/monitoring/leads/\d+/$"))
    expect(page.locator("main h1")).to_contain_text("高福生户的风险线索")
    household = Household.objects.get(head_name="高福生")
    assert household.size == 2 and household.lifted_year == 2019

    page.get_by_role("navigation").get_by_role("link", name="待办").click()
    expect(page.locator("#new-leads")).to_contain_text("高福生户")
    shoot("23-inbox")

    # help and income for 张建国户 (H002), from its household page
    h2 = registry["H002"]
    page.goto(f"{base}/households/{h2.pk}/")
    page.get_by_role("link", name="录入帮扶措施").click()
    page.locator("#kind").select_option(label="公益岗位")
    page.locator("#content").fill("村级保洁公益岗位，每月600元")
    page.locator("#helper_name").fill("王晓梅")
    page.locator("#amount").fill("7200")
    page.locator("input[name=funding_source]").fill("衔接资金")
    shoot("23a-measure-form")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(f"{base}/households/{h2.pk}/#measures")
    expect(page.locator("#measures")).to_contain_text("村级保洁公益岗位")
    page.get_by_role("link", name="录入收入").click()
    page.locator("#window_end").fill("2026-10")
    page.locator("#wage_income").fill("21000")
    page.locator("#transfer_dibao").fill("2400")
    page.locator("#compliant_out_of_pocket").fill("3000")
    shoot("23b-income-form")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(f"{base}/households/{h2.pk}/#income")
    expect(page.locator("#income")).to_contain_text("2025年11月至2026年10月")
    expect(page.locator("#income")).to_contain_text("7,800.00")  # (21000 + 2400) / 3
    shoot("23c-household-help-income")
    log_out(page, base)

    # --- 县级管理员: policy values, then the elimination checks for 张建国户 (H002, monitored)
    log_in(page, base, people["admin"])
    page.get_by_role("navigation").get_by_role("link", name="政策参数").click()
    year = timezone.localdate().year
    expect(page.locator(".policy-warning").first).to_contain_text(f"{year - 2}年山西省监测线未设置")
    page.locator("#policy_region").select_option(label="山西省")
    page.locator("#policy_year").fill(str(year))
    page.locator("#policy_value").fill("7600")
    page.locator("#policy_source").fill("省乡村振兴局通知")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_contain_text("已保存")
    expect(page.locator("main")).not_to_contain_text(f"{year}年山西省监测线未设置")
    shoot("24-policy")

    case = MonitoringCase.objects.get(household=registry["H002"])
    page.goto(f"{base}/households/{registry['H002'].pk}/")
    page.get_by_role("link", name="申请风险消除").click()
    expect(page).to_have_url(f"{base}/monitoring/cases/{case.pk}/eliminate/")
    criteria = page.locator("#criteria")
    expect(criteria.locator('[data-code="mode"]')).to_have_class("fail")
    page.get_by_label("帮扶消除").check()  # htmx re-renders the criteria
    expect(criteria.locator('[data-code="mode"]')).to_have_count(0)
    expect(criteria.locator('[data-code="measure_for_assisted"]')).to_have_class("ok")
    page.get_by_label("大额刚性支出（医疗、教育等）已稳定解决").check()
    expect(criteria.locator('[data-code="rigid_expense"]')).to_have_class("ok")
    expect(criteria.locator('[data-code="income_above_line"]')).to_have_class("ok")  # 7800 > 7600
    expect(criteria.locator('[data-code="basic_guarantees"]')).to_have_class("fail")
    shoot("25-elimination-live")
    page.get_by_role("button", name="申请风险消除").click()
    expect(page.locator("#form-errors")).to_contain_text("不符合风险消除条件")
    expect(page.locator("#form-errors")).to_contain_text("两不愁三保障")
    expect(page.get_by_label("帮扶消除")).to_be_checked()
    shoot("26-elimination-refused")
    assert not Review.objects.exists()

    assert page_errors == []
