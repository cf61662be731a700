"""The dashboard (驾驶舱): its figures come from the catalogue, its parts add up, its trend points equal
the catalogue's flow figures month by month, it is scoped, large regions read precomputed figures, and
published figures are shown beside current ones where they differ."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import override_settings

from dixian.core.audit import Actor
from dixian.indicators import catalogue, trends
from dixian.indicators.compute import compute
from dixian.indicators.dashboard import build_payload, dashboard_for
from dixian.indicators.models import FigureSnapshot
from dixian.indicators.services import publish_period, refresh_snapshot
from dixian.monitoring.models import CaseStatus, MonitoringCase

from testdata import GAOLUO, LEPING, LIANGJIAGOU, LIFUYU, XIYANG

pytestmark = pytest.mark.django_db

SINCE, AS_OF = date(2023, 1, 1), date(2023, 12, 31)
PERIOD = {"since": "2023-01-01", "as_of": "2023-12-31"}


def chart_data(page: str) -> dict:
    return json.loads(
        page.split('<script id="dash-data" type="application/json">', 1)[1].split("</script>", 1)[0]
    )


def test_months_and_trend_window():
    assert trends.months_between(202511, 202602) == [202511, 202512, 202601, 202602]
    assert trends.trend_window(date(2023, 1, 1), date(2023, 12, 31)) == (202301, 202312)
    assert trends.trend_window(date(2023, 6, 1), date(2023, 8, 15)) == (202209, 202308)  # ≥ 12 months
    assert trends.trend_window(date(2021, 3, 1), date(2023, 2, 1)) == (202103, 202302)


def test_each_trend_point_is_the_catalogue_figure_of_that_month(county):
    data = trends.monthly(region_code=XIYANG, since=date(2022, 1, 1), as_of=AS_OF)
    assert data["alerts"] == {"raised": [0] * len(data["months"]), "closed": [0] * len(data["months"])}
    for n, month in enumerate(data["months"]):
        year, m = divmod(month, 100)
        end = date(year + (m == 12), m % 12 + 1, 1).toordinal() - 1
        values = compute(
            ["identified.households", "identified.persons", "eliminated.households", "eliminated.persons"],
            region_code=XIYANG,
            since=date(year, m, 1),
            as_of=date.fromordinal(end),
        )
        for code, value in values.items():
            assert data[code][n] == value, (month, code)
    months = dict(zip(data["months"], data["identified.households"], strict=True))
    assert months[202203] == 1 and months[202305] == 1 and months[202307] == 1  # H003, H002, G0001
    eliminated = dict(zip(data["months"], data["eliminated.persons"], strict=True))
    assert eliminated[202301] == 1 and sum(eliminated.values()) == 1
    township = trends.monthly(region_code=GAOLUO, since=SINCE, as_of=AS_OF)
    assert sum(township["identified.households"]) == 1 and sum(township["identified.persons"]) == 4


def test_payload_parts_add_up_to_the_region(county):
    payload = build_payload(region_code=XIYANG, since=SINCE, as_of=AS_OF)
    assert payload["values"] == compute(region_code=XIYANG, as_of=AS_OF, since=SINCE)
    for code in catalogue.MAIN_CODES:
        if catalogue.get(code).kind == catalogue.COUNT:
            assert sum(p["values"][code] for p in payload["parts"]) == payload["values"][code], code
    parts = {p["code"]: p for p in payload["parts"]}
    assert parts[LEPING]["name"] == "乐平镇" and parts[LEPING]["values"]["monitored.households"] == 2
    assert parts[GAOLUO]["values"]["monitored.households"] == 1
    json.dumps(payload)  # a snapshot keeps it as JSON


def test_dashboard_page_for_the_county(client, county, county_admin):
    assert client.get("/figures/dashboard/").status_code == 302
    client.force_login(county_admin)
    r = client.get("/figures/dashboard/", PERIOD)
    assert r.status_code == 200
    page = r.content.decode()
    assert "驾驶舱 · 昔阳县" in page and "实时计算" in page and "数据更新于" in page
    assert 'href="/figures/dashboard/" class="active"' in page
    for code in ("lifted.persons", "monitored.households", "identified.households", "eliminated.households"):
        assert f'data-code="{code}"' in page and f'href="/figures/catalogue/#{code}"' in page
    for code in catalogue.MAIN_CODES:
        assert f'href="/figures/catalogue/#{code}"' in page
    data = chart_data(page)
    assert {p["name"] for p in data["parts"]} >= {"乐平镇", "皋落镇"} and data["drill"] is True
    leping = next(p for p in data["parts"] if p["code"] == LEPING)
    assert (leping["open"], leping["eliminated"], leping["identified"]) == (1, 1, 1)
    cats = {c["code"]: c["value"] for c in data["categories"]}
    assert cats == {"unstable_lifted": 1, "marginal": 1, "sudden_hardship": 1}
    assert {r["name"]: r["value"] for r in data["risks"]} == {"因病": 2, "因灾": 1}
    assert data["trend"]["alerts"]["raised"] == [0] * len(data["trend"]["months"])
    assert f'?region={LEPING}&amp;as_of=2023-12-31&amp;since=2023-01-01">乐平镇</a>' in page  # drill-down
    assert "本县还没有封账的统计期" in page and 'href="/figures/periods/">封账</a>' in page


def test_township_cadre_sees_only_the_township(client, county, township_cadre):
    client.force_login(township_cadre)
    page = client.get("/figures/dashboard/", PERIOD).content.decode()
    assert "驾驶舱 · 乐平镇" in page
    data = chart_data(page)
    assert {p["code"] for p in data["parts"]} >= {LIANGJIAGOU, LIFUYU}
    assert all(p["code"].startswith(LEPING[:9]) for p in data["parts"])
    assert "皋落镇" not in page and "昔阳县</option>" not in page
    assert sum(c["value"] for c in data["categories"]) == 2
    for other in (GAOLUO, XIYANG, "140721000000", "not-a-code"):
        assert client.get("/figures/dashboard/", {"region": other, **PERIOD}).status_code == 404
    r = client.get("/figures/dashboard/", {"region": LIANGJIAGOU, **PERIOD})
    assert r.status_code == 200 and "驾驶舱 · 梁家沟村" in r.content.decode()
    assert chart_data(r.content.decode())["parts"] == []


def test_village_cadre_of_another_village_is_refused(client, county, other_village_cadre):
    client.force_login(other_village_cadre)
    assert client.get("/figures/dashboard/", {"region": LIANGJIAGOU}).status_code == 404
    page = client.get("/figures/dashboard/", PERIOD).content.decode()
    assert "驾驶舱 · 李夫峪村" in page and "梁家沟村" not in page


def test_bad_dates_fall_back_with_a_warning(client, county, county_admin):
    client.force_login(county_admin)
    page = client.get("/figures/dashboard/", {"as_of": "2023-02-30", "since": "x"}).content.decode()
    assert "统计日期“2023-02-30”无效" in page and "起始日期“x”无效" in page
    page = client.get("/figures/dashboard/", {"as_of": "2023-06-30", "since": "2023-07-01"}).content.decode()
    assert "晚于统计日期" in page and 'name="since" value="2023-01-01"' in page


@override_settings(DIXIAN_PRECOMPUTED_LEVELS=("county",))
def test_large_regions_read_precomputed_figures_and_show_their_age(client, county, county_admin):
    client.force_login(county_admin)
    assert not FigureSnapshot.objects.exists()
    page = client.get("/figures/dashboard/", PERIOD).content.decode()
    snap = FigureSnapshot.objects.get(
        region_code=XIYANG, since=SINCE, as_of=AS_OF
    )  # kept by the first request
    assert "预先计算" in page and snap.payload["values"]["monitored.households"] == 3
    # An edit is not seen until the figures are computed again; the age says so.
    MonitoringCase.objects.filter(household__household_no="H002").update(
        status=CaseStatus.ELIMINATED, eliminated_month=202311
    )
    board = dashboard_for(user=county_admin, region_code=XIYANG, since=SINCE, as_of=AS_OF)
    assert board.precomputed and board.values["monitored.eliminated.households"] == 1
    refresh_snapshot(region_code=XIYANG, since=SINCE, as_of=AS_OF)
    board = dashboard_for(user=county_admin, region_code=XIYANG, since=SINCE, as_of=AS_OF)
    assert board.values["monitored.eliminated.households"] == 2 and FigureSnapshot.objects.count() == 1
    # Townships stay live.
    assert not dashboard_for(user=county_admin, region_code=LEPING, since=SINCE, as_of=AS_OF).precomputed


def test_published_and_current_side_by_side(
    client, county, county_admin, township_cadre, other_township_cadre
):
    publish_period(actor=county_admin, region_code=XIYANG, since=SINCE, as_of=AS_OF)
    client.force_login(county_admin)
    page = client.get("/figures/dashboard/", PERIOD).content.decode()
    assert "封账对比" in page and "当前数与已发布数一致" in page and 'id="differences"' not in page
    # A later edit: H002 (乐平镇 梁家沟村, 3 persons) eliminated in November 2023.
    MonitoringCase.objects.filter(household__household_no="H002").update(
        status=CaseStatus.ELIMINATED, eliminated_month=202311
    )
    page = client.get("/figures/dashboard/", PERIOD).content.decode()
    table = page.split('id="differences"', 1)[1].split("</table>", 1)[0]
    row = table.split('data-code="monitored.eliminated.persons"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">1</td><td class="num">4</td><td class="num">+3</td>' in row
    row = table.split('data-code="elimination_rate.persons"', 1)[1].split("</tr>", 1)[0]
    assert (
        '<td class="num">12.50</td><td class="num">50.00</td><td class="num">+37.50</td>' in row
    )  # 1/8 → 4/8
    assert 'data-code="lifted.persons"' not in table  # unchanged figures are not repeated
    # The township cadre sees the published figures of the township, and the same difference.
    client.force_login(township_cadre)
    page = client.get("/figures/dashboard/", PERIOD).content.decode()
    assert 'data-code="monitored.eliminated.households"' in page.split('id="differences"', 1)[1]
    # 皋落镇 is unchanged.
    client.force_login(other_township_cadre)
    page = client.get("/figures/dashboard/", PERIOD).content.decode()
    assert "当前数与已发布数一致" in page
    # Another period of the county: no comparison, but a link to the published one.
    client.force_login(county_admin)
    page = client.get("/figures/dashboard/", {"since": "2023-06-01", "as_of": "2023-12-31"}).content.decode()
    assert "本统计期没有封账" in page and "since=2023-01-01&amp;as_of=2023-12-31" in page


def test_publication_values_are_frozen_for_the_dashboard(county, county_admin):
    pub = publish_period(actor=Actor.cli(), region_code=XIYANG, since=SINCE, as_of=AS_OF)
    before = compute(region_code=XIYANG, as_of=AS_OF, since=SINCE)
    MonitoringCase.objects.filter(household__household_no="G0001").delete()
    board = dashboard_for(user=county_admin, region_code=XIYANG, since=SINCE, as_of=AS_OF)
    assert board.publication == pub and board.published == before
    changed = {i.code for i, _, _ in board.differences}
    assert {"monitored.households", "identified.households", "identified.risk.disaster.households"} <= changed
