"""The closure figures of the indicator catalogue (alerts.*) against an independent count of generated
alerts, for the county and by township, and the screening page's breakdown by department and rule."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from gen import Ids, make_household

from dixian.indicators.compute import compute, compute_with_breakdown
from dixian.monitoring.models import Channel, Lead, MonitoringCase
from dixian.screening.models import Alert, AlertRule, ScreeningRun
from dixian.screening.rules import ensure_default_rules
from dixian.screening.selectors import closure_table

from testdata import GAOLUO, LIANGJIAGOU, LIFUYU, XIYANG

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)
SINCE = date(2026, 1, 1)
GAOLUO_VILLAGE = "140724101200"


def pct(a, b):
    if not b:
        return None
    return float((Decimal(a) * 100 / Decimal(b)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def expected(scenarios):
    c = dict.fromkeys(
        ["raised", "verified", "on_time", "overdue", "included", "became_monitored", "closed"], 0
    )
    for s in scenarios:
        if s["verified"] is not None and SINCE <= s["verified"] <= AS_OF:
            c["closed"] += 1
        if not SINCE <= s["raised"] <= AS_OF:
            continue
        c["raised"] += 1
        done = s["verified"] is not None and s["verified"] <= AS_OF
        if done:
            c["verified"] += 1
            c["on_time"] += s["verified"] <= s["due"]
            if s["outcome"] == "included":
                c["included"] += 1
                c["became_monitored"] += bool(s["case_month"] and s["case_month"] <= 202606)
        elif s["due"] < AS_OF:
            c["overdue"] += 1
    out = {f"alerts.{k}": v for k, v in c.items()}
    out["alerts.verification_rate"] = pct(c["verified"], c["raised"])
    out["alerts.on_time_rate"] = pct(c["on_time"], c["raised"])
    return out


@pytest.fixture
def scenarios():
    from dixian.regions.models import Region

    ensure_default_rules()
    gaoluo_village = Region.objects.filter(level="village", code__startswith=GAOLUO[:9]).first().code
    rng = random.Random(5)
    ids = Ids(rng)
    rules = list(AlertRule.objects.filter(code__in=["medical_registered", "disaster_hit", "dropout"]))
    run = ScreenRunFactory.make()
    channel = Channel.objects.get(code="department_alert")
    out = []
    for i in range(80):
        village = [LIANGJIAGOU, LIFUYU, gaoluo_village][i % 3]
        h, _ = make_household(f"C{i}", [("某", date(1970, 1, 1), True)], ids=ids, village=village)
        rule = rules[i % 3]
        raised = SINCE + timedelta(days=rng.randint(-40, 200))
        due = raised + timedelta(days=15)
        outcome = rng.choice(["open", "included", "not_included", "already"])
        verified = None if outcome == "open" else raised + timedelta(days=rng.randint(0, 40))
        lead, case_month = None, None
        if outcome == "included":
            lead = Lead.objects.create(
                household=h,
                channel=channel,
                description="x",
                county_code=XIYANG,
                township_code=h.township_code,
                village_code=village,
            )
            if rng.random() < 0.6:
                case_month = rng.choice([202603, 202606, 202608])
                MonitoringCase.objects.create(
                    household=h,
                    lead=lead,
                    status=rng.choice(["monitored", "reviewing"]),
                    category="marginal",
                    identified_month=case_month,
                    county_code=XIYANG,
                    township_code=h.township_code,
                    village_code=village,
                )
                case = MonitoringCase.objects.get(lead=lead)
                if case.status == "reviewing":
                    case_month = None
        Alert.objects.create(
            run=run,
            rule=rule,
            rule_code=rule.code,
            department={"medical": "医保局", "disaster": "应急管理局", "education": "教育局"}[rule.feed_type],
            household=h,
            subject_key=f"household:{h.pk}",
            value=1,
            threshold=0,
            raised_on=raised,
            due_on=due,
            status=outcome,
            verified_on=verified,
            lead=lead,
            county_code=XIYANG,
            township_code=h.township_code,
            village_code=village,
        )
        out.append(
            {
                "raised": raised,
                "due": due,
                "verified": verified,
                "outcome": outcome,
                "case_month": case_month,
                "township": h.township_code,
                "rule": rule.code,
                "department": Alert.objects.latest("id").department,
            }
        )
    return out


class ScreenRunFactory:
    @staticmethod
    def make():
        return ScreeningRun.objects.create(county_code=XIYANG, as_of=AS_OF)


def test_catalogue_alert_figures_equal_an_independent_count(scenarios):
    codes = [c for c in expected([])]
    got = compute(codes, region_code=XIYANG, as_of=AS_OF, since=SINCE)
    assert got == expected(scenarios)
    assert got["alerts.raised"] > 10 and got["alerts.overdue"] > 0 and got["alerts.became_monitored"] > 0
    townships = sorted({s["township"] for s in scenarios})
    whole, parts = compute_with_breakdown(
        codes, region_code=XIYANG, as_of=AS_OF, since=SINCE, parts=townships
    )
    assert whole == got
    for t in townships:
        assert parts[t] == expected([s for s in scenarios if s["township"] == t])
    assert compute(codes, region_code=GAOLUO, as_of=AS_OF, since=SINCE) == parts[GAOLUO]


def test_closure_table_by_department_and_rule(scenarios, county_admin, township_cadre):
    rows = closure_table(user=county_admin, since=SINCE, as_of=AS_OF, by="rule")
    by_rule = {r["key"]: r for r in rows}
    for code in ("medical_registered", "disaster_hit", "dropout"):
        want = expected([s for s in scenarios if s["rule"] == code])
        assert {k: by_rule[code][k] for k in want} == want
    rows = closure_table(user=county_admin, since=SINCE, as_of=AS_OF, by="department")
    assert {r["key"] for r in rows} == {"医保局", "应急管理局", "教育局"}
    # a township cadre's table counts only the township's alerts
    mine = closure_table(user=township_cadre, since=SINCE, as_of=AS_OF, by="department")
    leping = [s for s in scenarios if s["township"] == "140724100000"]
    assert sum(r["alerts.raised"] for r in mine) == expected(leping)["alerts.raised"]
    by_town = closure_table(user=county_admin, since=SINCE, as_of=AS_OF, by="township")
    assert sum(r["alerts.raised"] for r in by_town) == expected(scenarios)["alerts.raised"]
    assert {r["label"] for r in by_town} >= {"乐平镇", "皋落镇"}


def test_dashboard_trend_of_alerts_raised_and_closed_per_month(scenarios):
    from dixian.indicators.trends import alert_series

    months = [202601, 202602, 202603, 202604, 202605, 202606]
    got = alert_series(region_code=XIYANG, months=months)
    month = lambda d: d.year * 100 + d.month  # noqa: E731
    assert got["raised"] == [sum(month(s["raised"]) == m for s in scenarios) for m in months]
    assert got["closed"] == [
        sum(s["verified"] is not None and month(s["verified"]) == m for s in scenarios) for m in months
    ]
    assert sum(got["raised"]) > 0 and sum(got["closed"]) > 0
    for m in months:  # each point is the catalogue's figure with the window set to that month
        start = date(m // 100, m % 100, 1)
        end = date(m // 100 + (m % 100 == 12), m % 100 % 12 + 1, 1) - timedelta(days=1)
        values = compute(["alerts.raised", "alerts.closed"], region_code=XIYANG, as_of=end, since=start)
        i = months.index(m)
        assert (values["alerts.raised"], values["alerts.closed"]) == (got["raised"][i], got["closed"][i])
