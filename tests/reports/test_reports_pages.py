"""The 报表 page and its downloads: region scope (another region gets not-found), audit of downloads."""

from __future__ import annotations

import io
import re

import docx
import openpyxl
import pytest

from dixian.core.audit import Actor
from dixian.core.models import AuditEvent
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv
from testdata import GAOLUO, LEPING, LIANGJIAGOU, LIFUYU, XIYANG

pytestmark = pytest.mark.django_db
PERIOD = {"since": "2023-01-01", "as_of": "2023-12-31"}


def plain(page: str) -> str:
    return re.sub(r"<[^>]+>", "", page)


@pytest.fixture
def registry(tmp_path):
    """梁家沟村: H001 (lifted, 2), H002 (lifted, 3, open since 202305), H003 (ordinary, 1, eliminated
    202301); 李夫峪村: H004 (lifted, 1)."""
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "l.csv"))


def test_page_needs_login(client):
    assert client.get("/reports/")["Location"].startswith("/login/")
    assert client.post("/reports/briefing.docx", PERIOD).status_code == 302


def test_county_page_previews_the_briefing_with_its_check(client, registry, county_admin):
    client.force_login(county_admin)
    r = client.get("/reports/", PERIOD)
    assert r.status_code == 200
    page = r.content.decode()
    assert "报表 · 昔阳县" in page and 'href="/reports/" class="active"' in page
    assert 'id="check-ok"' in page and "数字核对通过" in page
    assert "昔阳县新识别监测对象" in page and "累计纳入监测对象" in page
    assert 'title="监测对象户数（monitored.households）">2</span>户' in page
    assert not AuditEvent.objects.filter(action="briefing.generate").exists()


def test_downloads_are_files_and_the_briefing_is_audited(client, registry, county_admin):
    client.force_login(county_admin)
    r = client.post("/reports/briefing.docx", {"region": XIYANG, **PERIOD})
    assert r.status_code == 200 and r["X-Dixian-Check"] == "ok"
    assert "filename*=UTF-8''" in r["Content-Disposition"]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs)
    assert "累计纳入监测对象2户4人" in text
    event = AuditEvent.objects.get(action="briefing.generate")
    assert event.actor == county_admin and event.details["region"] == XIYANG
    r = client.post("/reports/tables.xlsx", {"region": LEPING, **PERIOD})
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    ws = wb["监测对象"]
    assert ws["A1"].value == "乐平镇防止返贫致贫监测对象情况统计表（按类别和风险）"
    assert AuditEvent.objects.filter(action="tables.export", actor=county_admin).count() == 1
    r = client.get("/reports/template.docx")
    assert r.status_code == 200 and "{{ monitored_households }}" in "\n".join(
        p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs
    )


def test_another_region_gets_not_found_everywhere(client, registry, other_township_cadre, village_cadre):
    client.force_login(other_township_cadre)
    for region in (LEPING, LIANGJIAGOU, XIYANG, "999999999999", "abc"):
        assert client.get("/reports/", {"region": region}).status_code == 404, region
        for url in ("/reports/briefing.docx", "/reports/tables.xlsx"):
            r = client.post(url, {"region": region, **PERIOD})
            assert r.status_code == 404, (url, region)
            assert "梁家沟村" not in r.content.decode("utf-8", "replace")
    assert not AuditEvent.objects.filter(action__in=["briefing.generate", "tables.export"]).exists()
    page = plain(client.get("/reports/", PERIOD).content.decode())  # its own township: nothing of 乐平镇
    assert "报表 · 皋落镇" in page and "共有脱贫户0户0人" in page
    assert client.post("/reports/briefing.docx", {"region": GAOLUO, **PERIOD}).status_code == 200
    client.force_login(village_cadre)
    assert client.get("/reports/", {"region": LIFUYU}).status_code == 404
    assert client.post("/reports/tables.xlsx", {"region": LEPING, **PERIOD}).status_code == 404
    page = plain(client.get("/reports/", PERIOD).content.decode())
    assert "报表 · 梁家沟村" in page and "梁家沟村共有脱贫户2户5人" in page


def test_the_county_template_is_used_and_a_failed_check_is_shown(client, registry, county_admin, settings):
    from dixian.reports.briefing import county_template_path

    d = docx.Document()
    d.add_paragraph("{{ region_name }}：监测对象{{ monitored_households }}户，上月为3户。")
    county_template_path().parent.mkdir(parents=True)
    d.save(str(county_template_path()))
    client.force_login(county_admin)
    page = client.get("/reports/", PERIOD).content.decode()
    assert "模板：本县模板" in page and 'id="check-failed"' in page
    assert "【数字核对未通过：有无法核对的数字】" in page and "“3户”不是由占位符生成的" in page
    assert 'class="bp finding"' in page
    r = client.post("/reports/briefing.docx", {"region": XIYANG, **PERIOD})
    assert r["X-Dixian-Check"] == "findings"
    first = docx.Document(io.BytesIO(r.content)).paragraphs[0].text
    assert first.startswith("【数字核对未通过：有无法核对的数字】0 处与指标目录不一致，1 处数字无法核对")
    assert AuditEvent.objects.get(action="briefing.generate").details["unverified"] == 1
