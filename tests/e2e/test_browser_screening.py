"""Early warning in a real browser: the county administrator uploads a medical file (the upload's
progress bar, then the server's load), runs a screening; the village cadre opens the alert in the work
list and records 纳入, which makes a lead in the monitoring chain.

Screenshots of every step go to test-artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from dixian.core import idcard
from dixian.monitoring.models import Lead
from dixian.screening.models import Alert, FeedFile, ScreeningRun

pytestmark = pytest.mark.e2e

PASSWORD = "secret-pass-1"  # tests/testdata.py make_user


@pytest.fixture(autouse=True)
def monitoring_defaults(e2e_db):
    """The channels (部门筛查预警 among them) that migration 0002 ships, put back after a flush."""
    import importlib

    from django.apps import apps

    importlib.import_module("dixian.monitoring.migrations.0002_defaults").forwards(apps, None)


@pytest.fixture
def household(e2e_db):
    """梁家沟村 V1: 甲 (head, born 1970) and 乙; returns (household, {name: ID number})."""
    from screening.gen import Ids, make_household

    return make_household(
        "V1", [("甲", date(1970, 1, 1), True), ("乙", date(1972, 5, 5), True)], ids=Ids(random.Random(7))
    )


@pytest.fixture
def medical_file(tmp_path, household):
    _h, ids = household
    day = (date.today() - timedelta(days=30)).isoformat()
    lines = [
        "证件号码,姓名,结算日期,就诊类型,个人自付",
        f"{ids['甲']},甲,{day},住院,9000.00",
        f"{ids['乙']},乙,{day},门诊慢特病,6500.50",
        "1234,错号,2026-01-01,住院,10",
    ]
    path = tmp_path / "医保结算-2026年.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def log_in(page: Page, base: str, user) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")


def log_out(page: Page, base: str) -> None:
    page.locator("header").get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{base}/login/")


def test_upload_run_and_verify(
    page: Page, live_server, county_admin, village_cadre, household, medical_file, shots, page_errors
):
    base = live_server.url
    shoot = lambda step: page.screenshot(path=str(shots / f"screening-{step}.png"), full_page=True)  # noqa: E731

    # 1. The county administrator uploads the medical file; the POST is held until the bar shows.
    log_in(page, base, county_admin)
    page.get_by_role("link", name="部门数据").click()
    page.get_by_role("link", name="加载部门数据").click()
    expect(page.locator("h1")).to_have_text("加载部门数据")
    page.locator("#id_feed_type").select_option("medical")
    page.locator("#file").set_input_files(str(medical_file))
    expect(page.locator(".dropzone")).to_contain_text("已选择：医保结算-2026年.csv")
    held = []

    def hold(route):
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page.route("**/alerts/feeds/upload/", hold)
    page.locator("#feed-form button[type=submit]").click()
    expect(page.locator("#upload-progress")).to_be_visible()
    expect(page.locator("#upload-progress .progress")).to_be_visible()
    expect(page.locator("#feed-form button[type=submit]")).to_be_disabled()
    shoot("01-upload-progress")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    held[0].continue_()
    page.unroute("**/alerts/feeds/upload/")
    expect(page).to_have_url(re.compile(r"/alerts/feeds/\d+/$"))
    expect(page.locator(".alert-success")).to_contain_text("读取 3 行，拒收 1 行")
    expect(page.locator("#feed-figures")).to_contain_text("匹配在册人员")
    expect(page.locator("#samples")).to_contain_text("证件号码无效")
    shoot("02-feed-loaded")
    feed = FeedFile.objects.get()
    assert (feed.rows_read, feed.rows_refused, feed.rows_registered) == (3, 1, 2)

    # 2. A screening now: the medical bills of 甲 and 乙 add up to 15 500.50 yuan (> 10 000).
    page.get_by_role("link", name="筛查批次").click()
    page.locator("#run-button").click()
    expect(page).to_have_url(re.compile(r"/alerts/runs/\?run=\d+"), timeout=60_000)
    expect(page.locator(".alert-success")).to_contain_text("新预警 1 条")
    expect(page.locator("#run-table")).to_contain_text("在册农户医疗自付费用高")
    shoot("03-run-done")
    assert ScreeningRun.objects.get().alert_count == 1
    log_out(page, base)

    # 3. The village cadre opens the alert from the work list and records 纳入.
    log_in(page, base, village_cadre)
    page.get_by_role("link", name="预警核实").click()
    row = page.locator("#alert-table tbody tr", has_text="甲户")
    expect(row).to_contain_text("15,500.50 元")
    shoot("04-work-list")
    row.get_by_role("link", name="核实").click()
    expect(page.locator("h1")).to_contain_text("在册农户医疗自付费用高")
    expect(page.locator("#alert-value")).to_have_text("15,500.50 元")
    expect(page.locator("#evidence")).to_contain_text("门诊慢特病")
    _h, ids = household
    for name in ("甲", "乙"):  # each name next to its own (masked) number
        expect(page.locator("#alert-people")).to_contain_text(f"{name} {idcard.mask(ids[name])}")
    verify = page.locator("#verify")
    verify.get_by_label("纳入", exact=True).check()
    expect(verify.locator('input[name=risks][value="illness"]')).to_be_checked()
    verify.locator("textarea[name=note]").fill("甲住院两次，自付较多，家中劳力减少")
    shoot("05-verify-form")
    verify.get_by_role("button", name="保存核实结论").click()
    expect(page.locator(".alert-success")).to_contain_text("已记录核实结论：纳入")
    expect(page.locator("#verification")).to_contain_text("按期")
    shoot("06-included")
    alert = Alert.objects.get()
    lead = Lead.objects.get()
    assert alert.status == "included" and alert.lead == lead and lead.channel.code == "department_alert"
    page.locator("#lead-link").click()
    expect(page).to_have_url(f"{base}/monitoring/leads/{lead.pk}/")
    expect(page.locator("body")).to_contain_text("部门筛查预警")
    shoot("07-lead")
    assert page_errors == []
