"""The early-warning table and briefing section against a count by hand of generated alerts."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import docx
import openpyxl
import pytest

from dixian.core.audit import Actor
from dixian.reports import briefing, services
from dixian.screening.models import Alert, AlertRule, ScreeningRun
from dixian.screening.rules import ensure_default_rules

from testdata import XIYANG

pytestmark = pytest.mark.django_db
AS_OF, SINCE = date(2026, 6, 30), date(2026, 1, 1)


@pytest.fixture
def alerts():
    from dixian.regions.models import Region
    from dixian.registry.models import Household

    ensure_default_rules()
    rules = list(AlertRule.objects.filter(code__in=["medical_registered", "disaster_hit", "housing_unsafe"]))
    villages = list(Region.objects.filter(level="village", code__startswith="140724").order_by("code")[:40])
    run = ScreeningRun.objects.create(county_code=XIYANG, as_of=AS_OF)
    rng = random.Random(4)
    made = []
    for i in range(90):
        v = rng.choice(villages).code
        h = Household.objects.create(
            county_code=XIYANG,
            township_code=v[:9] + "000",
            village_code=v,
            household_no=f"AL{i}",
            household_type="lifted",
            size=1,
        )
        rule = rules[i % 3]
        raised = SINCE + timedelta(days=rng.randint(-20, 185))
        status = rng.choice(["open", "included", "not_included", "already"])
        verified = None if status == "open" else raised + timedelta(days=rng.randint(0, 30))
        if verified and verified > AS_OF:
            verified = AS_OF
        made.append(
            Alert.objects.create(
                run=run,
                rule=rule,
                rule_code=rule.code,
                department="x",
                household=h,
                subject_key=f"household:{h.pk}",
                value=1,
                threshold=0,
                raised_on=raised,
                due_on=raised + timedelta(days=15),
                status=status,
                verified_on=verified,
                county_code=XIYANG,
                township_code=h.township_code,
                village_code=v,
            )
        )
    return made


def hand_count(alerts, township=None):
    mine = [
        a
        for a in alerts
        if SINCE <= a.raised_on <= AS_OF and (township is None or a.township_code == township)
    ]
    c = {"raised": len(mine)}
    for s in ("included", "not_included", "already", "open"):
        c[s] = sum(a.status == s for a in mine)
    c["on_time"] = sum(a.status != "open" and a.verified_on <= a.due_on for a in mine)
    c["overdue"] = sum(a.status == "open" and a.due_on < AS_OF for a in mine)
    c["medical"] = sum(a.rule.feed_type == "medical" for a in mine)
    c["housing"] = sum(a.rule.feed_type == "housing" for a in mine)
    verified = c["raised"] - c["open"]
    c["rate"] = float((Decimal(verified) * 100 / c["raised"]).quantize(Decimal("0.01"), ROUND_HALF_UP))
    return c


def test_alerts_table_by_department_and_outcome(alerts, tmp_path):
    out = tmp_path / "t.xlsx"
    services.export_tables(actor=Actor.cli(), region_code=XIYANG, as_of=AS_OF, since=SINCE, out=out)
    ws = openpyxl.load_workbook(out)["部门筛查预警"]
    rows = list(ws.iter_rows(values_only=True))
    groups, heads = rows[2], rows[3]
    keys, current = [], None
    for n in range(2, len(heads)):
        current = groups[n] or current
        keys.append((current, heads[n] or current))
    data = {}
    for row in rows[4:]:
        if row[1] is None:
            break
        data[row[1]] = dict(zip(keys, row[2:], strict=False))
    want = hand_count(alerts)
    total = data["合计"]
    assert total[("发出预警", "发出预警")] == want["raised"] > 20
    assert total[("其中：按部门", "医保局")] == want["medical"]
    assert total[("其中：按部门", "住建局")] == want["housing"]
    assert total[("核实结论", "纳入")] == want["included"]
    assert total[("核实结论", "尚未核实")] == want["open"]
    assert total[("其中", "按期核实")] == want["on_time"]
    assert total[("其中", "逾期未核实")] == want["overdue"]
    assert total[("核实率（%）", "核实率（%）")] == want["rate"]
    parts = [r for name, r in data.items() if name != "合计"]
    for key in keys:
        if "率" in key[0]:
            continue
        assert sum(r[key] for r in parts) == total[key], key
    leping = hand_count(alerts, "140724100000")
    assert data["乐平镇"][("发出预警", "发出预警")] == leping["raised"]


def test_briefing_alerts_section_and_its_check(alerts):
    b = briefing.render(region_code=XIYANG, as_of=AS_OF, since=SINCE)
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(b.docx)).paragraphs)
    want = hand_count(alerts)
    assert "二、部门筛查预警" in text
    assert f"共发出预警{want['raised']}条" in text
    assert f"核实后纳入监测{want['included']}条，不纳入{want['not_included']}条" in text
    assert f"核实率{want['rate']:.2f}%" in text
    assert f"尚未核实{want['open']}条，其中逾期{want['overdue']}条" in text
    assert b.check.ok, [f.message for f in b.check.findings]
