"""The figures page and the scoped selectors: what each account may see, and what the page shows."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone
from django.utils.html import escape

from dixian.core.audit import Actor
from dixian.core.errors import NotFound
from dixian.indicators import catalogue, selectors
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv
from testdata import GAOLUO, LEPING, LIANGJIAGOU, LIFUYU, XIYANG

pytestmark = pytest.mark.django_db

AS_OF = date(2023, 12, 31)


@pytest.fixture
def registry(tmp_path):
    """梁家沟村: H001 (lifted, 2), H002 (lifted, 3, open since 202305), H003 (ordinary, 1, eliminated
    202301); 李夫峪村: H004 (lifted, 1)."""
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "l.csv"))


def test_page_needs_login(client):
    r = client.get("/figures/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_page_shows_every_indicator_with_its_definition(client, registry, county_admin):
    client.force_login(county_admin)
    r = client.get("/figures/", {"as_of": "2023-12-31", "since": "2023-01-01"})
    assert r.status_code == 200
    page = r.content.decode()
    for i in catalogue.CATALOGUE:
        assert escape(i.name) in page, i.code
        assert escape(i.definition) in page, i.code
        assert f'id="{i.code}"' in page
    for group in catalogue.GROUPS:
        assert f"<h2>{group}</h2>" in page
    assert "昔阳县" in page and "分乡镇主要数据" in page and "乐平镇" in page and "皋落镇" in page
    assert 'href="/figures/" class="active"' in page
    values = selectors.figures_for(user=county_admin, region_code=XIYANG, as_of=AS_OF, since=date(2023, 1, 1))
    assert values["lifted.persons"] == 6 and values["monitored.households"] == 2
    assert values["income.lifted.per_capita"] == 4240.10  # (15000 + 6200.50) / 5
    row = page.split('id="monitored.persons"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num" style="font-size:15px;font-weight:600">4</td>' in row


def test_page_defaults_and_bad_dates(client, registry, township_cadre):
    client.force_login(township_cadre)
    r = client.get("/figures/")
    assert r.status_code == 200
    page = r.content.decode()
    today = timezone.localdate()
    assert f'name="as_of" value="{today:%Y-%m-%d}"' in page
    assert f'name="since" value="{today.year}-01-01"' in page
    assert "分村（社区）主要数据" in page and "梁家沟村" in page and "李夫峪村" in page
    r = client.get("/figures/", {"as_of": "2023-13-01", "since": "2024-05-01"})
    assert r.status_code == 200
    page = r.content.decode()
    assert "统计日期“2023-13-01”无效" in page and "晚于统计日期" not in page
    r = client.get("/figures/", {"as_of": "2023-06-30", "since": "2023-07-01"})
    assert "晚于统计日期" in r.content.decode()


def test_region_picker_and_drill_down(client, registry, county_admin):
    client.force_login(county_admin)
    page = client.get("/figures/", {"region": LIANGJIAGOU, "as_of": "2023-12-31"}).content.decode()
    assert "监测数据 · 梁家沟村" in page and "主要数据" not in page
    assert f'<option value="{LIANGJIAGOU}" selected>' in page  # villages of the chosen township listed
    assert f'value="{GAOLUO}"' in page and f'value="{XIYANG}"' in page
    page = client.get("/figures/", {"region": "140724", "as_of": "2023-12-31"}).content.decode()
    assert "监测数据 · 昔阳县" in page


def test_another_township_gets_404_and_nothing_from_the_selectors(client, registry, other_township_cadre):
    client.force_login(other_township_cadre)
    for region in (LEPING, LIANGJIAGOU, XIYANG, "140700000000", "999999999999", "abc"):
        r = client.get("/figures/", {"region": region})
        assert r.status_code == 404, region
        assert "梁家沟村" not in r.content.decode()
    for call in (selectors.figures_for, selectors.breakdown_for):
        for region in (LEPING, LIANGJIAGOU, XIYANG):
            with pytest.raises(NotFound):
                call(user=other_township_cadre, region_code=region, as_of=AS_OF)
    # Its own township: the page works, and none of 乐平镇's households is in its figures.
    assert client.get("/figures/").status_code == 200
    values = selectors.figures_for(user=other_township_cadre, region_code=GAOLUO, as_of=AS_OF)
    assert values["lifted.households"] == 0 and values["monitored.households"] == 0
    options = selectors.region_choices(user=other_township_cadre, selected=GAOLUO)
    assert options[0][0] == GAOLUO and all(code.startswith(GAOLUO[:9]) for code, _, _ in options)


def test_village_and_township_scopes(client, registry, village_cadre, township_cadre):
    client.force_login(village_cadre)
    assert client.get("/figures/", {"region": LEPING}).status_code == 404
    assert client.get("/figures/", {"region": LIFUYU}).status_code == 404
    r = client.get("/figures/", {"as_of": "2023-12-31"})
    assert r.status_code == 200 and "监测数据 · 梁家沟村" in r.content.decode()
    values = selectors.figures_for(user=village_cadre, region_code=LIANGJIAGOU, as_of=AS_OF)
    assert values["lifted.persons"] == 5 and values["monitored.persons"] == 4
    assert selectors.breakdown_for(user=village_cadre, region_code=LIANGJIAGOU, as_of=AS_OF) == []
    client.force_login(township_cadre)
    assert client.get("/figures/", {"region": LIFUYU}).status_code == 200
    assert client.get("/figures/", {"region": GAOLUO}).status_code == 404
    rows = selectors.breakdown_for(user=township_cadre, region_code=LEPING, as_of=AS_OF)
    by_code = {code: values for code, _, values in rows}
    assert by_code[LIANGJIAGOU]["lifted.persons"] == 5 and by_code[LIFUYU]["lifted.persons"] == 1
    total = selectors.figures_for(user=township_cadre, region_code=LEPING, as_of=AS_OF)
    for code in ("lifted.persons", "monitored.households", "monitored.persons", "identified.households"):
        assert sum(v[code] for v in by_code.values()) == total[code]
