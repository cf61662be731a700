"""An account of another region gets nothing: selectors, pages, API and exports."""

from __future__ import annotations

import base64

import openpyxl
import pytest

from dixian.core.audit import Actor
from dixian.core.errors import NotFound
from dixian.registry import selectors
from dixian.registry.exports import export_ledger
from dixian.registry.models import Household, Person
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv
from testdata import LIANGJIAGOU, LIFUYU

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(tmp_path):
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "l.csv"))
    return {h.household_no: h for h in Household.objects.all()}


def basic(user):
    token = base64.b64encode(f"{user.username}:secret-pass-1".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def test_selectors_scope(
    registry, county_admin, township_cadre, village_cadre, other_village_cadre, other_township_cadre
):
    def nos(user):
        return set(selectors.household_search(user=user).values_list("household_no", flat=True))

    assert nos(county_admin) == {"H001", "H002", "H003", "H004"}
    assert nos(township_cadre) == {"H001", "H002", "H003", "H004"}  # both villages are in 乐平镇
    assert nos(village_cadre) == {"H001", "H002", "H003"}
    assert nos(other_village_cadre) == {"H004"}
    assert nos(other_township_cadre) == set()
    with pytest.raises(NotFound):
        selectors.household_get(user=other_village_cadre, pk=registry["H001"].pk)
    person = Person.objects.get(name="万永强")
    with pytest.raises(NotFound):
        selectors.person_get(user=other_township_cadre, pk=person.pk)
    # searching by a full ID number of someone outside the region finds nothing either
    assert not selectors.household_search(user=other_village_cadre, q=person.id_number).exists()


def test_pages_scope(client, registry, village_cadre, other_village_cadre):
    h1 = registry["H001"]
    client.force_login(other_village_cadre)
    assert client.get(f"/households/{h1.pk}/").status_code == 404
    page = client.get("/households/?q=万永强")
    assert page.status_code == 200 and f"/households/{h1.pk}/" not in page.content.decode()
    assert "共 0 户" in page.content.decode()
    person = Person.objects.get(name="万永强")
    assert client.post(f"/reveal/person/{person.pk}/").status_code == 404
    assert client.post(f"/reveal/household/{h1.pk}/").status_code == 404
    client.force_login(village_cadre)
    assert client.get(f"/households/{h1.pk}/").status_code == 200
    assert "万永强" in client.get("/households/?q=wyq").content.decode()


def test_api_scope(client, registry, village_cadre, other_village_cadre):
    h1 = registry["H001"]
    r = client.get("/api/households", **basic(other_village_cadre))
    assert r.status_code == 200
    assert {i["household_no"] for i in r.json()["items"]} == {"H004"}
    assert client.get(f"/api/households/{h1.pk}", **basic(other_village_cadre)).status_code == 404
    person = Person.objects.get(name="万永强")
    assert client.get(f"/api/persons/{person.pk}", **basic(other_village_cadre)).status_code == 404
    found = client.get(f"/api/persons?id_number={person.id_number}", **basic(other_village_cadre)).json()
    assert found["count"] == 0
    mine = client.get(f"/api/households/{h1.pk}", **basic(village_cadre)).json()
    assert mine["household_no"] == "H001" and len(mine["members"]) == 2
    assert "*" in mine["members"][0]["id_number_masked"] and "*" in mine["phone_masked"]
    assert client.get("/api/households").status_code == 401


def test_export_scope(tmp_path, registry, other_village_cadre, village_cadre):
    out = tmp_path / "o.xlsx"
    export_ledger(actor=other_village_cadre, path=out)
    rows = list(openpyxl.load_workbook(out).active.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1 and "刘福" in rows[0]
    with pytest.raises(NotFound):
        export_ledger(actor=other_village_cadre, path=tmp_path / "x.xlsx", region_code=LIANGJIAGOU)
    export_ledger(actor=village_cadre, path=out, region_code=LIANGJIAGOU)
    assert len(list(openpyxl.load_workbook(out).active.iter_rows(min_row=2))) == 6
    # the export page refuses too
    from django.test import Client

    c = Client()
    c.force_login(other_village_cadre)
    r = c.post("/ledger/export/", {"region": LIANGJIAGOU, "format": "xlsx"}, follow=True)
    assert "不在您的管辖范围内" in r.content.decode()
    assert LIFUYU  # noqa: B018 - the other village of the fixture


def test_import_report_of_another_account(client, tmp_path, village_cadre, other_township_cadre):
    from dixian.registry.services import LedgerRefused

    rows = basic_rows()[:2]
    rows[0]["证件号码"] = "123"
    with pytest.raises(LedgerRefused) as info:
        import_ledger(actor=village_cadre, path=write_csv(rows, tmp_path / "bad.csv"))
    li = info.value.ledger_import
    client.force_login(other_township_cadre)
    assert client.get(f"/ledger/imports/{li.pk}/").status_code == 404
    assert client.get(f"/ledger/imports/{li.pk}/report.xlsx").status_code == 404
