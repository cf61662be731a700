"""Pages as a user sees them: login, lists, filters, the household page, import, export, audit."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dixian.core.audit import Actor
from dixian.core.models import AuditEvent
from dixian.registry.models import Household, LedgerImport, Person
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv, write_xlsx
from testdata import LEPING, LIANGJIAGOU

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(tmp_path):
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "l.csv"))


def test_login_page_is_chinese_and_refuses_bad_password(client, village_cadre):
    page = client.get("/login/").content.decode()
    assert "用户名" in page and "密码" in page and "登录" in page
    r = client.post("/login/", {"username": village_cadre.username, "password": "wrong"})
    assert "用户名或密码不正确" in r.content.decode()
    r = client.post("/login/", {"username": village_cadre.username, "password": "secret-pass-1"})
    assert r.status_code == 302 and r["Location"] == "/"


def test_pages_need_login(client):
    for url in ("/", "/households/", "/ledger/import/", "/ledger/export/", "/audit/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), url


def test_home_counts(client, registry, village_cadre):
    client.force_login(village_cadre)
    page = client.get("/").content.decode()
    assert "梁家沟村" in page
    # 梁家沟村: 脱贫户 H001 (2) + H002 (3); monitored H002 (open) + H003 (eliminated)
    assert '<div class="value">2<small>户</small></div><div class="muted">5 人</div>' in page
    assert '<div class="value">2<small>户</small></div><div class="muted">4 人</div>' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=wyq", {"H001"}),
        ("q=万永强", {"H001"}),
        ("q=李秀", {"H001"}),
        ("q=H002", {"H002"}),
        ("type=ordinary", {"H003"}),
        ("category=unstable_lifted", {"H002"}),
        ("category=any", {"H002", "H003"}),
        ("risk=eliminated", {"H003"}),
        ("risk=open", {"H002"}),
        (f"township={LEPING}&village={LIANGJIAGOU}", {"H001", "H002", "H003"}),
        ("village=140724100205", {"H004"}),
    ],
)
def test_household_list_filters_and_search(client, registry, county_admin, query, expected):
    client.force_login(county_admin)
    r = client.get(f"/households/?{query}")
    shown = {h.household_no for h in r.context["page"].object_list}
    assert shown == expected


def test_search_shows_which_member_matched(client, registry, county_admin):
    client.force_login(county_admin)
    page = client.get("/households/?q=lxy").content.decode()
    assert "匹配：李秀英（配偶）" in page


def test_search_by_id_number_in_any_spelling(client, registry, county_admin):
    client.force_login(county_admin)
    number = Person.objects.get(name="王桂兰").id_number
    for q in (number, number.lower(), " ".join(number[i : i + 6] for i in range(0, 18, 6))):
        r = client.get("/households/", {"q": q})
        assert {h.household_no for h in r.context["page"].object_list} == {"H002"}, q


def test_list_sorting_pagination_and_htmx_partial(client, registry, county_admin):
    client.force_login(county_admin)
    r = client.get("/households/?sort=-size&size=20")
    assert [h.household_no for h in r.context["page"].object_list][0] == "H002"
    r = client.get("/households/?sort=head_name")
    names = [h.head_name for h in r.context["page"].object_list]
    assert names == sorted(names)
    partial = client.get("/households/?q=wyq", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    body = partial.content.decode()
    assert "<html" not in body and "household-table" in body


def test_list_query_count_does_not_grow_with_page_size(client, tmp_path, county_admin):
    from dixian.registry.demo import generate_ledger, write_ledger

    path = tmp_path / "demo.csv"
    write_ledger(generate_ledger(county_code="140724", seed=3, persons=800), path)
    import_ledger(actor=Actor.cli(), path=path)
    client.force_login(county_admin)
    counts = {}
    for size in (20, 50, 100):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/households/?size={size}&q=w").status_code == 200
        counts[size] = len(ctx.captured_queries)
    assert counts[20] == counts[50] == counts[100], counts


def test_household_page(client, registry, village_cadre):
    client.force_login(village_cadre)
    h2 = Household.objects.get(household_no="H002")
    page = client.get(f"/households/{h2.pk}/").content.decode()
    for text in (
        "张建国户",
        "王桂兰",
        "张小明",
        "之子",
        "脱贫不稳定户",
        "因病",
        "2023年5月",
        "健康帮扶",
        "城乡居民基本医疗保险个人缴费补贴",
        "1,200.50",
        "变更记录",
    ):
        assert text in page, text
    full_id = Person.objects.get(name="王桂兰").id_number
    assert full_id not in page and full_id[:6] + "********" + full_id[-4:] in page


def test_reveal_is_audited(client, registry, village_cadre, leader):
    person = Person.objects.get(name="王桂兰")
    client.force_login(village_cadre)
    r = client.post(f"/reveal/person/{person.pk}/")
    assert person.id_number in r.content.decode()
    event = AuditEvent.objects.get(action="person.reveal_id_number")
    assert event.actor == village_cadre and event.object_id == str(person.pk)
    h = person.household
    assert "13912345678" in client.post(f"/reveal/household/{h.pk}/").content.decode()
    assert AuditEvent.objects.filter(action="household.reveal_phone", actor=village_cadre).count() == 1
    client.force_login(leader)
    r = client.post(f"/reveal/person/{person.pk}/")
    assert r.status_code == 403 and "不能查看完整证件号码" in r.content.decode()
    assert AuditEvent.objects.filter(action="person.reveal_id_number").count() == 1


def test_household_history_shows_field_changes(client, tmp_path, county_admin):
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "a.csv"))
    rows = basic_rows()
    for r in rows:
        if r["户编号"] == "H001":
            r["工资性收入"] = "15000.00"
    import_ledger(actor=Actor.cli(), path=write_csv(rows, tmp_path / "b.csv"))
    client.force_login(county_admin)
    h1 = Household.objects.get(household_no="H001")
    page = client.get(f"/households/{h1.pk}/").content.decode()
    assert "工资性收入" in page and "12000.00" in page and "15000.00" in page and "导入台账" in page


def test_web_import_success_and_refusal(client, tmp_path, village_cadre):
    client.force_login(village_cadre)
    rows = [r for r in basic_rows() if r["行政村"] == "梁家沟村"]
    good = write_xlsx(rows, tmp_path / "good.xlsx")
    with open(good, "rb") as f:
        r = client.post("/ledger/import/", {"file": f}, follow=True)
    page = r.content.decode()
    assert "导入成功" in page and Household.objects.count() == 3
    bad_rows = [dict(r) for r in rows]
    bad_rows[0]["证件号码"] = "1234"
    with open(write_xlsx(bad_rows, tmp_path / "bad.xlsx"), "rb") as f:
        r = client.post("/ledger/import/", {"file": f}, follow=True)
    page = r.content.decode()
    assert "未导入任何数据" in page and "证件号码" in page
    li = LedgerImport.objects.filter(status="refused").get()
    report = client.get(f"/ledger/imports/{li.pk}/report.xlsx")
    assert report.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(report.streaming_content)))
    assert wb["问题清单"]["A3"].value == 3 and wb["问题清单"]["B3"].value == "证件号码"


def test_web_import_htmx_redirects(client, tmp_path, village_cadre):
    client.force_login(village_cadre)
    rows = [r for r in basic_rows() if r["行政村"] == "梁家沟村"]
    with open(write_csv(rows, tmp_path / "g.csv"), "rb") as f:
        r = client.post("/ledger/import/", {"file": f}, HTTP_HX_REQUEST="true")
    assert r.status_code == 204 and r["HX-Redirect"].startswith("/ledger/imports/")


def test_web_import_of_something_unreadable(client, tmp_path, village_cadre):
    client.force_login(village_cadre)
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF-1.4")
    with open(path, "rb") as f:
        r = client.post("/ledger/import/", {"file": f}, follow=True)
    assert "不支持的文件类型" in r.content.decode()
    r = client.post("/ledger/import/", {}, follow=True)
    assert "请选择要导入的台账文件" in r.content.decode()


def test_leader_cannot_import(client, leader):
    client.force_login(leader)
    r = client.get("/ledger/import/")
    assert r.status_code == 403 and "不能导入台账" in r.content.decode()


def test_export_page_downloads(client, registry, township_cadre):
    client.force_login(township_cadre)
    page = client.get("/ledger/export/").content.decode()
    assert "乐平镇" in page and "梁家沟村" in page
    r = client.post("/ledger/export/", {"region": LEPING, "format": "xlsx"})
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    assert wb.active.max_row == 1 + 7


def test_audit_page_only_for_county_admin(client, registry, county_admin, township_cadre):
    client.force_login(township_cadre)
    assert client.get("/audit/").status_code == 403
    client.force_login(county_admin)
    page = client.get("/audit/").content.decode()
    assert "导入台账" in page and "命令行操作员" in page


def test_unknown_address_says_so_in_chinese(client, county_admin):
    client.force_login(county_admin)
    r = client.get("/alerts/no-such-page/")
    assert r.status_code == 404
    page = r.content.decode()
    assert "您要找的页面不存在" in page and "Resolver404" not in page


def test_api_docs_served_locally(client, county_admin):
    client.force_login(county_admin)
    r = client.get("/api/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "https://" not in html
    assert client.get("/api/openapi.json").json()["info"]["title"].startswith("底线")


def test_history_shows_labels_not_codes(client, tmp_path, county_admin):
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "a.csv"))
    rows = basic_rows()
    for r in rows:
        if r["户编号"] == "H002":
            r.update({"风险是否已消除": "是", "风险消除方式": "自然消除", "消除监测时间": "202402"})
    import_ledger(actor=Actor.cli(), path=write_csv(rows, tmp_path / "b.csv"))
    client.force_login(county_admin)
    h2 = Household.objects.get(household_no="H002")
    page = client.get(f"/households/{h2.pk}/").content.decode()
    assert "<del>风险未消除</del> → 风险已消除" in page and "2024年2月" in page and "自然消除" in page
    assert "<del>否</del> → 是" in page
