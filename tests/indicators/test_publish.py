"""封账 (publish_period): the happy path, every refusal (nothing written), the audit record, frozen values,
the page and the command line."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from dixian.cli.main import app
from dixian.core.audit import Actor
from dixian.core.errors import NotFound, PermissionDenied, ValidationError
from dixian.core.models import AuditEvent
from dixian.indicators.compute import compute
from dixian.indicators.models import Publication, PublishedFigures
from dixian.indicators.services import AlreadyPublished, publish_period
from dixian.monitoring.models import CaseStatus, MonitoringCase
from dixian.regions import selectors as regions

from testdata import GAOLUO, LEPING, LIANGJIAGOU, XIYANG, make_user

pytestmark = pytest.mark.django_db

SINCE, AS_OF = date(2023, 1, 1), date(2023, 12, 31)


def nothing_written():
    return (
        not Publication.objects.exists()
        and not PublishedFigures.objects.exists()
        and not (AuditEvent.objects.filter(action="figures.publish").exists())
    )


def test_publish_stores_every_region_and_records_the_audit_event(county, county_admin):
    pub = publish_period(actor=county_admin, region_code=XIYANG, since=SINCE, as_of=AS_OF, note=" 2023年报 ")
    assert (pub.county_code, pub.since, pub.as_of, pub.note) == (XIYANG, SINCE, AS_OF, "2023年报")
    assert (
        pub.published_by == county_admin
        and pub.published_by_name == "admin（admin）"
        or pub.published_by_name
    )
    rows = {f.region_code: f for f in pub.figures.all()}
    townships = [t.code for t in regions.townships_of(XIYANG)]
    villages = [v.code for t in townships for v in regions.villages_of(t)]
    assert set(rows) == {XIYANG, *townships, *villages}
    assert rows[XIYANG].values == compute(region_code=XIYANG, as_of=AS_OF, since=SINCE)
    assert rows[LEPING].values == compute(region_code=LEPING, as_of=AS_OF, since=SINCE)
    assert rows[LIANGJIAGOU].values == compute(region_code=LIANGJIAGOU, as_of=AS_OF, since=SINCE)
    assert (rows[LEPING].county_code, rows[LEPING].township_code, rows[LEPING].village_code) == (
        XIYANG,
        LEPING,
        "",
    )
    assert (rows[XIYANG].township_code, rows[LIANGJIAGOU].village_code) == ("", LIANGJIAGOU)
    event = AuditEvent.objects.get(action="figures.publish")
    assert (
        event.actor == county_admin and event.object_type == "publication" and event.object_id == str(pub.pk)
    )
    assert (
        event.county_code == XIYANG
        and "昔阳县" in event.object_label
        and "2023年1月1日至2023年12月31日" in event.object_label
    )
    assert event.details["since"] == "2023-01-01" and event.details["as_of"] == "2023-12-31"
    assert event.details["regions"] == len(rows) and event.details["values"]["monitored.households"] == 3


def test_published_values_never_change(county, county_admin):
    pub = publish_period(actor=county_admin, region_code=XIYANG, since=SINCE, as_of=AS_OF)
    frozen = {f.region_code: f.values for f in pub.figures.all()}
    MonitoringCase.objects.filter(household__household_no="H002").update(
        status=CaseStatus.ELIMINATED, eliminated_month=202311
    )
    MonitoringCase.objects.filter(household__household_no="G0001").delete()
    assert compute(region_code=XIYANG, as_of=AS_OF, since=SINCE) != frozen[XIYANG]
    assert {f.region_code: f.values for f in Publication.objects.get().figures.all()} == frozen


@pytest.mark.parametrize("role", ["county_staff", "leader"])
def test_refused_for_county_roles_other_than_the_administrator(county, role):
    user = make_user(role, role, XIYANG)
    with pytest.raises(PermissionDenied, match="只有县级管理员可以封账"):
        publish_period(actor=user, region_code=XIYANG, since=SINCE, as_of=AS_OF)
    assert nothing_written()


def test_refused_for_township_and_village_cadres(county, township_cadre, village_cadre):
    for user in (township_cadre, village_cadre):
        with pytest.raises(PermissionDenied):
            publish_period(actor=user, region_code=XIYANG, since=SINCE, as_of=AS_OF)
    assert nothing_written()


def test_refused_for_another_county_as_not_found(county, county_admin):
    with pytest.raises(NotFound):
        publish_period(actor=county_admin, region_code="140721000000", since=SINCE, as_of=AS_OF)
    with pytest.raises(NotFound):
        publish_period(actor=county_admin, region_code="999999000000", since=SINCE, as_of=AS_OF)
    assert nothing_written()


def test_refused_below_the_county(county, county_admin):
    with pytest.raises(ValidationError, match="封账按县进行"):
        publish_period(actor=county_admin, region_code=GAOLUO, since=SINCE, as_of=AS_OF)
    assert nothing_written()


def test_refused_for_wrong_dates(county, county_admin):
    with pytest.raises(ValidationError, match="晚于统计日期"):
        publish_period(actor=county_admin, region_code=XIYANG, since=AS_OF, as_of=SINCE)
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError, match="还没有到，不能封账"):
        publish_period(actor=county_admin, region_code=XIYANG, since=SINCE, as_of=tomorrow)
    with pytest.raises(ValidationError, match="都必须填写"):
        publish_period(actor=county_admin, region_code=XIYANG, since=None, as_of=AS_OF)
    assert nothing_written()


def test_refused_when_the_period_is_already_published(county, county_admin):
    first = publish_period(actor=county_admin, region_code=XIYANG, since=SINCE, as_of=AS_OF)
    count = PublishedFigures.objects.count()
    with pytest.raises(AlreadyPublished, match="已经封账，不能重复封账"):
        publish_period(actor=Actor.cli(), region_code="140724", since=SINCE, as_of=AS_OF)
    assert list(Publication.objects.all()) == [first] and PublishedFigures.objects.count() == count
    assert AuditEvent.objects.filter(action="figures.publish").count() == 1
    # Another period of the same county is a new publication.
    publish_period(actor=county_admin, region_code=XIYANG, since=date(2023, 7, 1), as_of=AS_OF)
    assert Publication.objects.count() == 2


def test_periods_page(client, county, county_admin, township_cadre):
    client.force_login(county_admin)
    page = client.get("/figures/periods/").content.decode()
    assert 'id="publish-form"' in page and "还没有封账的统计期" in page
    r = client.post("/figures/periods/", {"since": "2023-01-01", "as_of": "2023-12-31", "note": "年报"})
    pub = Publication.objects.get()
    assert r.status_code == 302 and r["Location"] == (
        f"/figures/dashboard/?region={XIYANG}&since=2023-01-01&as_of=2023-12-31"
    )
    r = client.post("/figures/periods/", {"since": "2023-01-01", "as_of": "2023-12-31"})
    assert r.status_code == 400 and "不能重复封账" in r.content.decode()
    r = client.post("/figures/periods/", {"since": "2023-01-01", "as_of": "31.12.2023"})
    assert r.status_code == 400 and "统计日期“31.12.2023”无效" in r.content.decode()
    page = client.get("/figures/periods/").content.decode()
    assert "2023年1月1日至2023年12月31日" in page and "年报" in page
    # A township cadre sees the county's periods but cannot publish.
    client.force_login(township_cadre)
    page = client.get("/figures/periods/").content.decode()
    assert 'id="publish-form"' not in page and "年报" in page and "封账由县级管理员进行" not in page
    r = client.post("/figures/periods/", {"since": "2023-02-01", "as_of": "2023-12-31"})
    assert r.status_code == 403 and Publication.objects.count() == 1
    assert pub.figures.count() > 3


def test_periods_page_hides_other_counties(client, county, county_admin, other_township_cadre):
    Publication.objects.create(
        county_code="140721000000", since=SINCE, as_of=AS_OF, published_by_name="榆社县管理员"
    )
    client.force_login(county_admin)
    assert "榆社县管理员" not in client.get("/figures/periods/").content.decode()
    client.force_login(other_township_cadre)
    assert "榆社县管理员" not in client.get("/figures/periods/").content.decode()


def test_publish_at_the_command_line(county):
    r = CliRunner().invoke(
        app, ["figures", "publish", "--region", "140724", "--since", "2023-01-01", "--as-of", "2023-12-31"]
    )
    assert r.exit_code == 0, r.output
    assert "已封账：2023年1月1日至2023年12月31日" in r.output
    assert AuditEvent.objects.get(action="figures.publish").channel == "cli"
    r = CliRunner().invoke(
        app, ["figures", "publish", "--region", "140724", "--since", "2023-01-01", "--as-of", "2023-12-31"]
    )
    assert r.exit_code == 1 and "不能重复封账" in r.output


def test_refresh_at_the_command_line(county, settings):
    r = CliRunner().invoke(app, ["figures", "refresh"])
    assert r.exit_code == 0 and "实时计算" in r.output  # a county deployment needs no precomputing
    r = CliRunner().invoke(app, ["figures", "refresh", "--region", "140724", "--as-of", "2023-12-31"])
    assert r.exit_code == 0, r.output
    from dixian.indicators.models import FigureSnapshot

    snap = FigureSnapshot.objects.get(region_code=XIYANG)
    assert snap.as_of == AS_OF and snap.since == SINCE and snap.payload["values"]["monitored.households"] == 3
