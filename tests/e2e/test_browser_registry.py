"""A village cadre at work in a real browser: find a household, reveal an ID, import a ledger.

Screenshots of every step go to test-artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from dixian.core.audit import Actor
from dixian.core.models import AuditEvent
from dixian.registry.models import Household, Person
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv, write_xlsx

pytestmark = pytest.mark.e2e

PASSWORD = "secret-pass-1"  # tests/conftest.py make_user
NOT_FOUND_LOAD = "status of 404"  # chromium's console line for a page answered with 404


def village_rows() -> list[dict]:
    """The rows of basic_rows() in 梁家沟村: H001 (2 people), H002 (3), H003 (1)."""
    return [r for r in basic_rows() if r["行政村"] == "梁家沟村"]


def is_search(response, q: str) -> bool:
    """An htmx request of the household list for ``q`` (typing may send a second, identical one)."""
    url = urlsplit(response.url)
    return (
        url.path == "/households/"
        and response.request.headers.get("hx-request") == "true"
        and parse_qs(url.query).get("q") == [q]
    )


def bad_checksum(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


@pytest.fixture
def registry(tmp_path):
    """basic_rows() imported at the command line: H001–H003 in 梁家沟村, H004 刘福 in 李夫峪村."""
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "seed.csv"))
    return {h.household_no: h for h in Household.objects.all()}


@pytest.fixture
def cadre(village_cadre):
    """The village cadre of 梁家沟村 (tests/conftest.py), with a name as a real account has one."""
    village_cadre.full_name = "王晓梅"
    village_cadre.save(update_fields=["full_name"])
    return village_cadre


@pytest.fixture
def shoot(page: Page, shots, request):
    """``shoot("01-login")`` saves a full-page screenshot named after the test."""
    prefix = request.node.name.removeprefix("test_")

    def shoot(step: str):
        page.screenshot(path=str(shots / f"{prefix}-{step}.png"), full_page=True)

    return shoot


def log_in(page: Page, base: str, user, shoot=None) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    if shoot:
        shoot("01-login")
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("header .who")).to_contain_text(user.full_name)
    expect(page.locator("header .who")).to_contain_text("村干部")


def test_village_cadre_finds_household_reveals_id_and_imports_faulty_ledger(
    page: Page, live_server, cadre, registry, shoot, page_errors, tmp_path
):
    base = live_server.url
    log_in(page, base, cadre, shoot)
    shoot("02-home")

    # Search by pinyin initials; the table updates in place (htmx), not by a page load.
    page.goto(f"{base}/households/")
    table = page.locator("#household-table")
    expect(table).to_contain_text("张建国")
    page.evaluate("window.__sameDocument = true")
    page.locator("#q").press_sequentially("wyq", delay=50)
    expect(page).to_have_url(re.compile(r"/households/\?.*q=wyq"))
    expect(table).to_contain_text("万永强")
    expect(table).not_to_contain_text("张建国")
    assert page.evaluate("window.__sameDocument") is True, "the search reloaded the page"
    shoot("03-search-wyq")

    # The household page and its members.
    table.get_by_role("link", name="万永强").click()
    expect(page).to_have_url(re.compile(rf"/households/{registry['H001'].pk}/$"))
    members = page.locator("#members")
    expect(members).to_contain_text("李秀英")
    full_id = Person.objects.get(name="李秀英").id_number
    row = members.locator("tbody tr", has_text="李秀英")
    expect(row).not_to_contain_text(full_id)
    expect(row).to_contain_text(f"{full_id[:6]}********{full_id[-4:]}")
    shoot("04-household")

    # 查看: an htmx POST replaces the masked number with the full one, and is audited.
    row.get_by_role("button", name="查看").click()
    expect(row.locator(".revealed")).to_have_text(full_id)
    assert re.fullmatch(r"\d{17}[\dX]", full_id)
    shoot("05-id-revealed")
    assert AuditEvent.objects.filter(
        action="person.reveal_id_number", actor=cadre, object_label="李秀英"
    ).exists()

    # 台账导入 with a ledger whose row 4 (title row, header row, then data) has a wrong check digit.
    rows = village_rows()
    wrong = bad_checksum(rows[1]["证件号码"])
    rows[1]["证件号码"] = wrong
    ledger = write_xlsx(rows, tmp_path / "梁家沟村台账.xlsx")
    page.get_by_role("navigation").get_by_role("link", name="台账导入").click()
    expect(page).to_have_url(f"{base}/ledger/import/")
    page.locator("#file").set_input_files(ledger)
    expect(page.locator(".dropzone")).to_contain_text("已选择：梁家沟村台账.xlsx")
    shoot("06-import-form")
    page.get_by_role("button", name="校验并导入").click()

    expect(page).to_have_url(re.compile(r"/ledger/imports/\d+/$"))
    expect(page.locator("#import-result")).to_contain_text("未导入任何数据")
    problem = page.locator("#problems tbody tr", has_text=wrong)
    expect(problem).to_have_count(1)
    expect(problem.locator("td").nth(0)).to_have_text("4")
    expect(problem.locator("td").nth(1)).to_have_text(rows[1]["户编号"])
    expect(problem.locator("td").nth(2)).to_have_text(rows[1]["姓名"])
    expect(problem.locator("td").nth(3)).to_have_text("证件号码")
    expect(problem.locator("td").nth(5)).to_contain_text("校验")
    expect(problem.locator("td").nth(6)).to_have_text("错误")
    shoot("07-import-refused")
    assert Person.objects.get(name="李秀英").id_number == full_id, "a refused ledger writes nothing"

    with page.expect_download() as info:
        page.locator("#download-report").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    report = tmp_path / download.suggested_filename
    download.save_as(report)
    workbook = openpyxl.load_workbook(report)
    assert "问题清单" in workbook.sheetnames
    listed = [row[:5] for row in workbook["问题清单"].iter_rows(values_only=True)]
    assert (4, "证件号码", wrong) in [(r[0], r[1], r[2]) for r in listed], listed

    assert page_errors == []


def test_village_cadre_sees_nothing_of_another_village(
    page: Page, live_server, cadre, registry, shoot, page_errors
):
    base = live_server.url
    log_in(page, base, cadre)
    other = registry["H004"]  # 刘福, 李夫峪村

    response = page.goto(f"{base}/households/{other.pk}/")
    assert response.status == 404
    expect(page.locator("main h1")).to_have_text("未找到")
    expect(page.locator("main")).not_to_contain_text("刘福")
    shoot("01-other-village-404")

    # Nor through the reveal endpoint (a POST with the session's CSRF token).
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    person = Person.objects.get(name="刘福")
    reveal = page.request.post(f"{base}/reveal/person/{person.pk}/", headers={"X-CSRFToken": token})
    assert reveal.status == 404
    assert person.id_number not in reveal.text()

    page.goto(f"{base}/households/")
    table = page.locator("#household-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).to_contain_text("万永强")
    expect(table).not_to_contain_text("刘福")
    expect(table).not_to_contain_text("李夫峪村")
    expect(page.locator(".pager")).to_contain_text("共 3 户")
    shoot("02-list")

    for q in ("刘福", "lf", "H004", person.id_number):
        with page.expect_response(lambda r, q=q: is_search(r, q)) as answer:
            page.locator("#q").fill(q)
            page.locator("#q").press("Enter")
        assert answer.value.ok
        expect(table).to_contain_text("没有符合条件的户")
        expect(table).not_to_contain_text("刘福")
    shoot("03-search-other-village")

    assert [e for e in page_errors if NOT_FOUND_LOAD not in e] == []


def test_successful_import_shows_summary(page: Page, live_server, cadre, shoot, page_errors, tmp_path):
    base = live_server.url
    assert not Household.objects.exists()
    log_in(page, base, cadre)

    ledger = write_xlsx(village_rows(), tmp_path / "梁家沟村-2024年台账.xlsx")
    page.goto(f"{base}/ledger/import/")
    page.locator("#file").set_input_files(ledger)
    page.get_by_role("button", name="校验并导入").click()

    expect(page).to_have_url(re.compile(r"/ledger/imports/\d+/$"))
    expect(page.locator("#import-result")).to_contain_text("导入成功")
    summary = page.locator("#import-summary")
    expect(summary.locator("thead th").nth(1)).to_have_text("新增")
    households = summary.locator("tbody tr", has=page.locator("th", has_text="户"))
    persons = summary.locator("tbody tr", has=page.locator("th", has_text="人"))
    expect(households.locator("td").first).to_have_text("3")  # 新增 户
    expect(persons.locator("td").first).to_have_text("6")  # 新增 人
    expect(page.locator("#download-report")).to_have_count(0)
    shoot("01-import-summary")
    assert Household.objects.count() == 3 and Person.objects.count() == 6

    page.get_by_role("link", name="查看户籍台账").click()
    expect(page.locator("#household-table tbody tr")).to_have_count(3)
    shoot("02-households")

    page.get_by_role("navigation").get_by_role("link", name="台账导入").click()
    expect(page.locator("main table.data").first).to_contain_text("梁家沟村-2024年台账.xlsx")
    expect(page.locator("main table.data").first).to_contain_text("新增 3 户")
    shoot("03-import-history")

    assert page_errors == []
