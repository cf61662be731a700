"""The API's catalogue, figures and published periods: what each account may see (denied = not found)."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from dixian.indicators import catalogue
from dixian.indicators.compute import compute
from dixian.indicators.models import Publication
from dixian.indicators.services import publish_period
from dixian.monitoring.models import MonitoringCase

from testdata import GAOLUO, LEPING, LIANGJIAGOU, LIFUYU, XIYANG

pytestmark = pytest.mark.django_db

SINCE, AS_OF = date(2023, 1, 1), date(2023, 12, 31)
PERIOD = "since=2023-01-01&as_of=2023-12-31"


def basic(user) -> dict:
    token = base64.b64encode(f"{user.username}:secret-pass-1".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def test_catalogue_endpoints(client, village_cadre):
    assert client.get("/api/indicators").status_code == 401
    items = client.get("/api/indicators", **basic(village_cadre)).json()
    assert [i["code"] for i in items] == list(catalogue.CODES)
    ratio = next(i for i in items if i["code"] == "monitoring_ratio")
    assert ratio["unit"] == "%" and ratio["decimals"] == 2 and ratio["numerator_code"] == "monitored.persons"
    assert ratio["url"] == "/figures/catalogue/#monitoring_ratio" and ratio["timing"].startswith("时点")
    one = client.get("/api/indicators/identified.households", **basic(village_cadre)).json()
    assert one["name"] == "新识别监测对象户数" and one["timing"].startswith("时期")
    assert client.get("/api/indicators/nope", **basic(village_cadre)).status_code == 404


def test_figures_for_the_own_region_and_its_parts(client, county, county_admin):
    r = client.get(f"/api/figures?{PERIOD}", **basic(county_admin)).json()
    assert r["region"] == XIYANG and r["region_name"] == "昔阳县" and r["parts"] == []
    assert r["values"] == compute(region_code=XIYANG, as_of=AS_OF, since=SINCE)
    r = client.get(
        f"/api/figures?region=140724&{PERIOD}&parts=true&codes=monitored.households", **basic(county_admin)
    )
    body = r.json()
    assert body["values"] == {"monitored.households": 3}
    parts = {p["code"]: p["values"]["monitored.households"] for p in body["parts"]}
    assert parts[LEPING] == 2 and parts[GAOLUO] == 1
    r = client.get(f"/api/figures?{PERIOD}&codes=nope", **basic(county_admin))
    assert r.status_code == 400 and "未知的指标" in r.json()["detail"]


def test_figures_are_scoped(client, county, township_cadre, village_cadre, other_village_cadre):
    r = client.get(f"/api/figures?{PERIOD}&parts=1", **basic(township_cadre)).json()
    assert r["region"] == LEPING and r["values"]["monitored.households"] == 2
    assert all(p["code"].startswith(LEPING[:9]) for p in r["parts"])
    for other in (GAOLUO, XIYANG, "140721000000", "x"):
        assert client.get(f"/api/figures?region={other}", **basic(township_cadre)).status_code == 404
    assert client.get(f"/api/figures?region={LIANGJIAGOU}", **basic(other_village_cadre)).status_code == 404
    r = client.get(f"/api/figures?{PERIOD}", **basic(other_village_cadre)).json()
    assert r["region"] == LIFUYU and r["values"]["lifted.households"] == 1


def test_published_figures_are_scoped_and_frozen(
    client, county, county_admin, township_cadre, other_township_cadre
):
    pub = publish_period(actor=county_admin, region_code=XIYANG, since=SINCE, as_of=AS_OF)
    Publication.objects.create(county_code="140721000000", since=SINCE, as_of=AS_OF, published_by_name="x")
    MonitoringCase.objects.filter(household__household_no="H002").delete()
    listed = client.get("/api/publications", **basic(township_cadre)).json()
    assert [p["id"] for p in listed] == [pub.pk] and listed[0]["county_code"] == XIYANG
    r = client.get(f"/api/publications/{pub.pk}/figures", **basic(township_cadre)).json()
    assert r["region"] == LEPING and r["values"]["monitored.households"] == 2  # as published, not 1
    r = client.get(f"/api/publications/{pub.pk}/figures?region={LIANGJIAGOU}", **basic(township_cadre))
    assert r.status_code == 200 and r.json()["values"]["monitored.households"] == 2
    for other in (GAOLUO, XIYANG):
        assert (
            client.get(
                f"/api/publications/{pub.pk}/figures?region={other}", **basic(township_cadre)
            ).status_code
            == 404
        )
    assert (
        client.get(
            f"/api/publications/{pub.pk}/figures?region={LEPING}", **basic(other_township_cadre)
        ).status_code
        == 404
    )
    r = client.get(f"/api/publications/{pub.pk}/figures?region={XIYANG}", **basic(county_admin)).json()
    assert r["values"]["monitored.households"] == 3
    assert client.get(f"/api/publications/{pub.pk + 99}/figures", **basic(county_admin)).status_code == 404
