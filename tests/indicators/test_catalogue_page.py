"""The catalogue page and its structured parts (timing, numerator, denominator), and the links from
figures to their definitions."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from dixian.indicators import catalogue, definitions

pytestmark = pytest.mark.django_db


def test_every_ratio_has_its_parts_and_every_part_is_a_catalogue_code():
    for code, (num, den) in definitions.RATIO_PARTS.items():
        assert code in catalogue.BY_CODE and num in catalogue.BY_CODE and den in catalogue.BY_CODE
    percents = {i.code for i in catalogue.CATALOGUE if i.kind == catalogue.PERCENT}
    assert percents == set(definitions.RATIO_PARTS)
    for i in catalogue.CATALOGUE:
        d = definitions.describe(i)
        assert d["timing"] in (
            definitions.AT_DATE,
            definitions.IN_PERIOD,
            definitions.IN_PERIOD_DAYS,
            definitions.CURRENT,
        )
        assert d["numerator"] and d["url"] == f"/figures/catalogue/#{i.code}"
        assert d["unit"] in ("户", "人", "条", "%", "元", "万元", "亿元")
    assert definitions.timing(catalogue.get("identified.households")) == definitions.IN_PERIOD
    assert definitions.timing(catalogue.get("monitored.households")) == definitions.AT_DATE
    assert definitions.timing(catalogue.get("lifted.persons")) == definitions.CURRENT


def test_catalogue_page_lists_every_indicator(client, county_admin):
    assert client.get("/figures/catalogue/").status_code == 302  # login first
    client.force_login(county_admin)
    r = client.get("/figures/catalogue/")
    assert r.status_code == 200
    page = r.content.decode()
    for i in catalogue.CATALOGUE:
        row = page.split(f'<tr id="{i.code}" class="def-row">', 1)[1].split("</tr>", 1)[0]
        assert escape(i.name) in row and escape(i.definition) in row and i.code in row
        assert f"<td>{i.unit}</td>" in row and i.rounding in row
        assert definitions.timing(i) in row
    row = page.split('<tr id="monitoring_ratio"', 1)[1].split("</tr>", 1)[0]
    assert 'href="#monitored.persons"' in row and 'href="#lifted.persons"' in row
    for group in catalogue.GROUPS:
        assert f"<h2>{group}</h2>" in page
    assert 'href="/figures/catalogue/" class="active"' in page


def test_catalogue_is_the_same_for_every_account(client, county_admin, other_village_cadre):
    """No region data on it: another region's account sees the same page."""
    client.force_login(county_admin)
    a = client.get("/figures/catalogue/").content.decode()
    client.force_login(other_village_cadre)
    b = client.get("/figures/catalogue/").content.decode()
    strip = lambda s: s.split("<main>", 1)[1].split("</main>", 1)[0]  # noqa: E731
    assert strip(a) == strip(b)


def test_figures_on_the_home_and_figures_pages_link_to_their_definitions(client, county, county_admin):
    client.force_login(county_admin)
    page = client.get("/figures/", {"as_of": "2023-12-31"}).content.decode()
    for i in catalogue.CATALOGUE:
        assert f'href="/figures/catalogue/#{i.code}"' in page, i.code
    home = client.get("/").content.decode()
    for code in (
        "lifted.households",
        "monitored.households",
        "monitored.open.households",
        "elimination_rate.persons",
    ):
        assert f'href="/figures/catalogue/#{code}"' in home, code
