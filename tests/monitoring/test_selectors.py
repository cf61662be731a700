"""The inbox (待办): what waits for whom by role and region, due dates from the deadline policy values in
force, fast-track steps to complete afterwards, and a query count that does not grow with the reviews."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wf import complete, step_data, walk

from dixian.core.audit import Actor
from dixian.monitoring import selectors, services
from dixian.monitoring.models import PolicyValue, Review
from dixian.monitoring.workflow import Step
from dixian.registry.services import register_household

from ledgers import make_id
from testdata import GAOLUO, LIANGJIAGOU, LIFUYU, make_user

pytestmark = pytest.mark.django_db


def start(household, user, category="unstable_lifted", risks=("illness",)):
    lead = services.record_lead(
        actor=user, household=household, channel="cadre_visit", description="住院", risks=list(risks)
    )
    return services.start_identification(actor=user, lead=lead, category=category, risks=list(risks))


def waiting(user) -> dict[int, selectors.InboxItem]:
    return {i.review.pk: i for g in selectors.inbox(user).groups for i in g.items}


def age(review, days: int) -> None:
    Review.objects.filter(pk=review.pk).update(step_started_at=timezone.now() - timedelta(days=days))


def test_waiting_by_role_and_region(
    households, actors, village_cadre, other_village_cadre, township_cadre, other_township_cadre, staff,
    county_admin, leader,
):  # fmt: skip
    review = start(households["H001"], village_cadre)
    # 入户核实: village cadres (and township cadres) covering the household
    assert set(waiting(village_cadre)) == {review.pk}
    assert set(waiting(township_cadre)) == {review.pk}
    for nobody in (other_village_cadre, other_township_cadre, staff, county_admin, leader):
        assert waiting(nobody) == {}, nobody
    review = walk(review, actors, until=Step.CROSS_CHECK)
    assert set(waiting(staff)) == {review.pk} and set(waiting(county_admin)) == {review.pk}
    assert waiting(village_cadre) == {} and waiting(township_cadre) == {}
    review = walk(review, actors, until=Step.TOWNSHIP_REVIEW)
    assert set(waiting(township_cadre)) == {review.pk} and waiting(village_cadre) == {}
    assert waiting(other_township_cadre) == {}
    review = walk(review, actors, until=Step.COUNTY_APPROVAL)
    assert set(waiting(county_admin)) == {review.pk} and waiting(staff) == {}
    walk(review, actors)
    assert all(waiting(u) == {} for u in actors.values())
    assert selectors.inbox_counts(county_admin) == {"waiting": 0, "overdue": 0, "new_leads": 0}


def test_groups_in_chain_order_overdue_first(households, village_cadre, township_cadre, actors):
    a = start(households["H001"], village_cadre)
    b = start(households["H003"], village_cadre, category="marginal")
    age(b, 10)
    walk(a, actors, until=Step.VILLAGE_REVIEW)
    c = start(households["H004"], make_user("lf", "village_cadre", LIFUYU))
    age(c, 4)
    box = selectors.inbox(township_cadre)  # covers 梁家沟村 and 李夫峪村; takes 入户核实 only
    assert [g.step for g in box.groups] == [Step.VERIFY]
    assert [i.review.pk for i in box.groups[0].items] == [b.pk, c.pk]
    box = selectors.inbox(village_cadre)
    assert [g.step for g in box.groups] == [Step.VERIFY, Step.VILLAGE_REVIEW]
    assert box.waiting == 2 and box.overdue == 1


def test_due_dates_from_the_deadline_in_force(households, village_cadre, county_admin):
    review = start(households["H001"], village_cadre)
    started = timezone.localdate(Review.objects.get(pk=review.pk).step_started_at)
    item = waiting(village_cadre)[review.pk]
    assert item.due == started + timedelta(days=3) and not item.overdue  # national default: 3 days
    age(review, 4)
    item = waiting(village_cadre)[review.pk]
    assert item.overdue and item.due == timezone.localdate() - timedelta(days=1)
    assert selectors.inbox_counts(village_cadre) == {"waiting": 1, "overdue": 1, "new_leads": 0}
    # the county's own time limit overrides the national one
    services.set_policy_value(
        actor=county_admin, key="deadline.verify", region_code="140724000000", year=2021, value=10
    )
    item = waiting(village_cadre)[review.pk]
    assert not item.overdue and item.due == timezone.localdate() + timedelta(days=6)
    # no value anywhere: no deadline, never overdue
    PolicyValue.objects.filter(key="deadline.verify").delete()
    age(review, 400)
    item = waiting(village_cadre)[review.pk]
    assert item.due is None and not item.overdue
    assert selectors.inbox_counts(village_cadre)["overdue"] == 0


def test_a_later_year_value_applies_from_its_year(households, village_cadre):
    review = start(households["H001"], village_cadre)
    year = timezone.localdate().year
    PolicyValue.objects.create(key="deadline.verify", region_code="140000000000", year=year + 1, value=30)
    age(review, 5)
    assert waiting(village_cadre)[review.pk].overdue  # next year's 30 days do not apply yet
    PolicyValue.objects.create(key="deadline.verify", region_code="140000000000", year=year - 1, value=30)
    assert not waiting(village_cadre)[review.pk].overdue


def test_fast_track_steps_pending_afterwards(households, village_cadre, county_admin, staff):
    lead = services.record_lead(
        actor=village_cadre,
        household=households["H001"],
        channel="cadre_visit",
        description="洪水冲毁房屋",
        risks=["disaster"],
    )
    review = services.start_identification(
        actor=county_admin,
        lead=lead,
        category="sudden_hardship",
        risks=["disaster"],
        fast_track=True,
        measures=[{"kind": "housing", "content": "临时安置", "helper_name": "王书记"}],
    )
    assert review.state == Review.State.APPROVED
    item = waiting(village_cadre)[review.pk]
    assert item.after_the_fact and item.step == Step.VERIFY
    assert item.due == date.fromisoformat(review.pending_after["verify"]) and not item.overdue
    assert waiting(staff) == {}  # 信息比对 comes after 入户核实
    Review.objects.filter(pk=review.pk).update(
        pending_after={
            **review.pending_after,
            "verify": (timezone.localdate() - timedelta(days=1)).isoformat(),
        }
    )
    assert waiting(village_cadre)[review.pk].overdue
    assert selectors.inbox_counts(village_cadre) == {"waiting": 1, "overdue": 1, "new_leads": 0}
    data, files = step_data(Step.VERIFY)
    services.act(actor=village_cadre, review=review, action="complete", data=data, files=files)
    assert waiting(village_cadre) == {}
    item = waiting(staff)[review.pk]
    assert item.after_the_fact and item.step == Step.CROSS_CHECK


def test_new_leads_by_region(households, village_cadre, other_village_cadre, county_admin, leader):
    services.record_lead(
        actor=village_cadre, household=households["H001"], channel="self_report", description="x"
    )
    start(households["H003"], village_cadre, category="marginal")  # in review: not new
    assert [x.household.household_no for x in selectors.inbox(village_cadre).leads] == ["H001"]
    assert selectors.inbox(other_village_cadre).leads == []
    assert selectors.inbox_counts(county_admin)["new_leads"] == 1
    assert selectors.inbox_counts(leader) == {"waiting": 0, "overdue": 0, "new_leads": 0}


def _households(n: int) -> list:
    """n lifted households spread over two townships' villages."""
    out = []
    for i in range(n):
        village = (LIANGJIAGOU, LIFUYU, GAOLUO[:9] + "201")[i % 3]
        out.append(
            register_household(
                actor=Actor.cli(),
                village_code=village,
                household_type="lifted",
                lifted_year=2018,
                members=[
                    {
                        "name": f"测试{i}",
                        "id_number": make_id(date(1960, 1, 1) + timedelta(days=i), 100 + i),
                        "relation_to_head": "户主",
                    }
                ],
            )
        )
    return out


def test_inbox_queries_do_not_grow_with_reviews(client, db, county_admin):
    from dixian.regions.models import Region

    assert Region.objects.filter(code=GAOLUO[:9] + "201").exists()
    hh = _households(12)
    cadre = make_user("county_cadre", "county_staff", "140724000000")
    admin = county_admin

    def measure(user) -> tuple[int, int]:
        client.force_login(user)
        with CaptureQueriesContext(connection) as page:
            r = client.get("/monitoring/inbox/")
        assert r.status_code == 200
        with CaptureQueriesContext(connection) as home:
            assert client.get("/").status_code == 200
        return len(page), len(home)

    def review(h):
        lead = services.record_lead(actor=admin, household=h, channel="screening", description="x")
        return services.start_identification(
            actor=admin, lead=lead, category="unstable_lifted", risks=["illness"]
        )

    first = review(hh[0])
    complete(make_user("v0", "township_cadre", hh[0].township_code), first)  # now at 信息比对
    services.record_lead(actor=admin, household=hh[1], channel="screening", description="新线索")
    few = measure(cadre)
    assert "测试0" in client.get("/monitoring/inbox/").content.decode()
    verifiers = {}
    for h in hh[2:]:
        r = review(h)
        if h.township_code not in verifiers:
            verifiers[h.township_code] = make_user(f"t{h.township_code}", "township_cadre", h.township_code)
        complete(verifiers[h.township_code], r)
        services.record_lead(actor=admin, household=h, channel="screening", description="又一条")
    age(first, 30)
    many = measure(cadre)
    page = client.get("/monitoring/inbox/").content.decode()
    assert page.count("/monitoring/reviews/") >= 11 and "逾期" in page
    assert many == few, (few, many)


def test_policy_table_agrees_with_policy_lookup(county_admin):
    """The inbox resolves deadlines from one loaded table; it must answer as policy.policy does."""
    from dixian.monitoring.policy import policy_or_none

    PolicyValue.objects.create(key="deadline.verify", region_code="140724000000", year=2024, value=7)
    PolicyValue.objects.create(key="deadline.verify", region_code="140724100000", year=2025, value=2)
    PolicyValue.objects.create(key="monitoring_line", region_code="140724000000", year=2025, value=7700)
    keys = ["deadline.verify", "deadline.publicity", "monitoring_line", "min_publicity_days"]
    table = selectors.PolicyTable(keys)
    for key in keys:
        for place in (LIANGJIAGOU, LIFUYU, GAOLUO[:9] + "201", "140702100001"):
            for year in range(2020, 2028):
                want = policy_or_none(key, place=place, on=year)
                got = table.lookup(key, place=place, on=year)
                assert (got and (got[0], got[1], got[2])) == (
                    want and (want.value, want.region_code, want.year)
                ), (key, place, year)
