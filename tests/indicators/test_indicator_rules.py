"""The counting rules on hand-built rows: several spells of one household, statuses, window and month
boundaries, income, rounding, empty regions, bad arguments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dixian.core.errors import ValidationError
from dixian.indicators import catalogue
from dixian.indicators.compute import compute, compute_breakdown, latest_spells
from dixian.monitoring.models import CaseStatus, MonitoringCase
from dixian.registry.models import Household, Person

from testdata import GAOLUO, LEPING, LIANGJIAGOU, LIFUYU, XIYANG

pytestmark = pytest.mark.django_db

_seq = iter(range(1, 10_000))


def household(village: str, *, lifted=True, persons=3, inactive=0, **columns) -> Household:
    n = next(_seq)
    h = Household.objects.create(
        county_code=village[:6] + "000000",
        township_code=village[:9] + "000",
        village_code=village,
        household_no=f"T{n:05d}",
        household_type="lifted" if lifted else "ordinary",
        size=persons,
        **columns,
    )
    Person.objects.bulk_create(
        Person(
            household=h,
            county_code=h.county_code,
            township_code=h.township_code,
            village_code=h.village_code,
            position=i,
            active=i < persons,
            name=f"成员{n}-{i}",
            id_number=f"ID{n:05d}{i:03d}",
            relation_to_head="户主" if i == 0 else "之子",
        )
        for i in range(persons + inactive)
    )
    return h


def spell(h: Household, status: str, identified: int | None, eliminated: int | None = None, **kw):
    return MonitoringCase.objects.create(
        household=h,
        county_code=h.county_code,
        township_code=h.township_code,
        village_code=h.village_code,
        status=status,
        identified_month=identified,
        eliminated_month=eliminated,
        category=kw.pop("category", "unstable_lifted"),
        risks=kw.pop("risks", ["illness"]),
        **kw,
    )


def at(region: str, as_of: date, since: date | None = None, codes=None) -> dict:
    return compute(codes, region_code=region, as_of=as_of, since=since)


def test_a_household_with_two_spells_counts_once_by_its_latest():
    h = household(LIANGJIAGOU, persons=3, inactive=1)
    first = spell(h, CaseStatus.ELIMINATED, 202203, 202209, category="unstable_lifted", risks=["illness"])
    second = spell(
        h, CaseStatus.MONITORED, 202401, category="sudden_hardship", risks=["disaster", "accident"]
    )
    spell(h, CaseStatus.REJECTED, 202405, category="marginal", risks=["other"])
    spell(h, CaseStatus.REVIEWING, None, category="marginal", risks=["other"])
    assert list(latest_spells(region_code=LIANGJIAGOU, as_of=date(2023, 12, 31))) == [first]
    assert list(latest_spells(region_code=XIYANG, as_of=date(2024, 6, 30))) == [second]
    assert not latest_spells(region_code=LIFUYU, as_of=date(2024, 6, 30)).exists()
    assert not latest_spells(region_code=LIANGJIAGOU, as_of=date(2022, 2, 28)).exists()

    v = at(LIANGJIAGOU, date(2022, 6, 30))
    assert (v["monitored.households"], v["monitored.persons"]) == (1, 3)  # the inactive member is not counted
    assert v["monitored.unstable_lifted.households"] == 1 and v["monitored.open.households"] == 1
    assert v["monitored.eliminated.households"] == 0 and v["elimination_rate.persons"] == 0.0

    for as_of in (date(2022, 9, 1), date(2023, 12, 31)):
        v = at(LIANGJIAGOU, as_of)
        assert v["monitored.households"] == 1 and v["monitored.eliminated.persons"] == 3
        assert v["monitored.open.households"] == 0
        assert v["elimination_rate.households"] == v["elimination_rate.persons"] == 100.0

    for as_of in (date(2024, 1, 1), date(2024, 12, 31)):  # the later spell replaces the earlier one
        v = at(LIANGJIAGOU, as_of)
        assert v["monitored.households"] == 1 and v["monitored.persons"] == 3
        assert v["monitored.sudden_hardship.households"] == 1
        assert v["monitored.unstable_lifted.households"] == v["monitored.marginal.households"] == 0
        assert v["monitored.open.persons"] == 3 and v["elimination_rate.persons"] == 0.0
        assert v["monitoring_ratio"] == 100.0  # 3 monitored of 3 lifted persons

    v = at(LIANGJIAGOU, date(2024, 12, 31), since=date(2022, 1, 1))
    assert (v["identified.households"], v["identified.persons"]) == (1, 3)  # two spells, one household
    assert v["identified.risk.illness.households"] == v["identified.risk.disaster.households"] == 1
    assert v["identified.risk.accident.persons"] == 3 and v["identified.risk.other.households"] == 0
    assert (v["eliminated.households"], v["eliminated.persons"]) == (1, 3)
    assert v["identified.unstable_lifted.households"] == v["identified.sudden_hardship.households"] == 1
    assert v["identified.marginal.households"] == 0
    assert v["monitored.risk.disaster.households"] == v["monitored.risk.accident.persons"] // 3 == 1
    assert v["monitored.risk.illness.households"] == 0  # the latest spell's risks only
    v = at(LIANGJIAGOU, date(2024, 12, 31), since=date(2023, 1, 1))
    assert v["identified.households"] == 1 and v["identified.risk.illness.households"] == 0
    assert v["eliminated.households"] == 0


def test_status_rules_and_ties():
    a = household(LIANGJIAGOU, persons=2)
    # Under elimination review: still at risk, whatever month is filled in.
    spell(a, CaseStatus.ELIMINATING, 202301, 202306)
    b = household(LIANGJIAGOU, lifted=False, persons=4)
    # Two spells in the same month: the one recorded last counts.
    spell(b, CaseStatus.ELIMINATED, 202302, 202308, category="marginal")
    spell(b, CaseStatus.MONITORED, 202302, category="sudden_hardship")
    c = household(LIANGJIAGOU, persons=1)
    spell(c, CaseStatus.REJECTED, 202301)  # never counted
    v = at(LIANGJIAGOU, date(2023, 12, 31), since=date(2023, 1, 1))
    assert v["monitored.households"] == 2 and v["monitored.persons"] == 6
    assert v["monitored.open.households"] == 2 and v["monitored.eliminated.households"] == 0
    assert v["monitored.sudden_hardship.persons"] == 4 and v["monitored.marginal.households"] == 0
    assert v["identified.households"] == 2 and v["identified.persons"] == 6
    assert v["eliminated.households"] == 1  # b's first spell was eliminated in the window
    assert v["lifted.households"] == 2 and v["lifted.persons"] == 3
    assert v["monitoring_ratio"] == 200.0  # ordinary households' members are in the numerator


def test_window_and_month_boundaries():
    h = household(LIFUYU, persons=2)
    spell(h, CaseStatus.ELIMINATED, 202401, 202406)
    codes = [
        "identified.households",
        "eliminated.households",
        "monitored.households",
        "monitored.open.households",
    ]

    def v(as_of, since):
        got = at(LIFUYU, as_of, since, codes)
        return [got[c] for c in codes]

    assert v(date(2023, 12, 31), date(2023, 1, 1)) == [0, 0, 0, 0]
    assert v(date(2024, 1, 1), date(2024, 1, 1)) == [1, 0, 1, 1]  # any day of the month is the month
    assert v(date(2024, 1, 31), date(2024, 1, 31)) == [1, 0, 1, 1]
    assert v(date(2024, 5, 31), date(2024, 2, 1)) == [0, 0, 1, 1]
    assert v(date(2024, 6, 1), date(2024, 6, 1)) == [0, 1, 1, 0]  # eliminated in the as-of month
    assert v(date(2024, 6, 30), date(2024, 1, 31)) == [1, 1, 1, 0]
    assert v(date(2024, 12, 31), date(2024, 7, 1)) == [0, 0, 1, 0]
    # Without since: 1 January of the as-of year.
    assert v(date(2024, 12, 31), None) == [1, 1, 1, 0]
    assert v(date(2025, 3, 1), None) == [0, 0, 1, 0]


def test_regions_and_breakdown():
    household(LIANGJIAGOU, persons=2)
    household(LIFUYU, persons=3)
    g = household(GAOLUO[:9] + "201", persons=5)
    spell(g, CaseStatus.MONITORED, 202301)
    day = date(2024, 1, 1)
    assert at(LIANGJIAGOU, day)["lifted.persons"] == 2
    assert at(LEPING, day)["lifted.persons"] == 5
    assert at(GAOLUO, day)["lifted.persons"] == 5 and at(GAOLUO, day)["monitored.households"] == 1
    assert at(XIYANG, day)["lifted.persons"] == 10
    parts = compute_breakdown(["lifted.persons", "monitored.persons"], region_code=LEPING, as_of=day)
    assert parts == {
        LIANGJIAGOU: {"lifted.persons": 2, "monitored.persons": 0},
        LIFUYU: {"lifted.persons": 3, "monitored.persons": 0},
    }
    parts = compute_breakdown(
        ["lifted.persons", "monitoring_ratio"], region_code=XIYANG, as_of=day, parts=[LEPING, "140724102000"]
    )
    assert parts[LEPING] == {"lifted.persons": 5, "monitoring_ratio": 0.0}
    assert parts["140724102000"] == {"lifted.persons": 0, "monitoring_ratio": None}
    assert parts[GAOLUO] == {"lifted.persons": 5, "monitoring_ratio": 100.0}  # has rows, so added
    assert compute_breakdown(region_code=LIANGJIAGOU, as_of=day) == {}


def test_income_per_capita():
    money = Decimal
    household(  # net 10000 + 5000 + 2000.01 − 1000 = 16000.01
        LIANGJIAGOU,
        persons=3,
        wage_income=money("10000.00"),
        business_income=money("5000.00"),
        transfer_income=money("2000.01"),
        business_expense=money("1000.00"),
    )
    household(LIANGJIAGOU, persons=2, wage_income=money("3000.02"))  # net 3000.02
    household(LIANGJIAGOU, persons=4)  # no income at all: not in the denominator either
    household(LIANGJIAGOU, persons=0, inactive=1, wage_income=money("99999"))  # nobody on the register
    household(LIANGJIAGOU, lifted=False, persons=1, wage_income=money("50000"))  # not lifted
    v = at(LIANGJIAGOU, date(2024, 1, 1))
    assert v["income.lifted.per_capita"] == 3800.01  # 19000.03 / 5 = 3800.006
    assert v["income.lifted.wage.per_capita"] == 2600.00  # 13000.02 / 5 = 2600.004
    assert v["income.lifted.business.per_capita"] == 1000.00
    assert v["income.lifted.property.per_capita"] == 0.0
    assert v["income.lifted.transfer.per_capita"] == 400.00
    # The sums behind them, for the tables: the same households, in yuan to the fen.
    assert (v["income.lifted.households"], v["income.lifted.persons"]) == (2, 5)
    assert v["income.lifted.total"] == 19000.03 and v["income.lifted.wage.total"] == 13000.02
    assert v["income.lifted.business.total"] == 5000.0 and v["income.lifted.expense.total"] == 1000.0
    assert v["income.lifted.property.total"] == 0.0 and v["income.lifted.transfer.total"] == 2000.01
    # Half a fen rounds up: 1000.01 / 2 = 500.005.
    household(LIFUYU, persons=2, wage_income=money("1000.01"))
    assert at(LIFUYU, date(2024, 1, 1))["income.lifted.per_capita"] == 500.01
    # Negative net income is kept as it is.
    household(GAOLUO[:9] + "201", persons=1, business_expense=money("120.50"))
    assert at(GAOLUO, date(2024, 1, 1))["income.lifted.per_capita"] == -120.5


def test_empty_region_has_zero_counts_and_no_rates():
    v = at(LIFUYU, date(2024, 1, 1))
    assert all(v[c] == 0 for c in catalogue.CODES if catalogue.get(c).kind == catalogue.COUNT)
    assert all(v[c] is None for c in catalogue.CODES if catalogue.get(c).kind != catalogue.COUNT)
    assert all(type(v[c]) is int for c in catalogue.CODES if catalogue.get(c).kind == catalogue.COUNT)


def test_rounding_is_half_up():
    ratio = catalogue.get("monitoring_ratio")
    assert ratio.round(Decimal(1) * 100 / Decimal(32)) == 3.13  # 3.125
    assert ratio.round(Decimal("2.675")) == 2.68  # a float would give 2.67
    assert ratio.round(Decimal(2) * 100 / Decimal(3)) == 66.67
    assert ratio.round(None) is None
    assert catalogue.get("income.lifted.per_capita").round(Decimal("0.005")) == 0.01
    assert catalogue.get("lifted.persons").round(12) == 12
    assert ratio.display(3.1) == "3.10" and catalogue.get("lifted.persons").display(12345) == "12,345"
    assert ratio.display(None) == "—"


def test_percentages_on_data_round_half_up():
    # 1 monitored person of 8 lifted → 12.5; of 32 lifted would be 3.125 → 3.13.
    household(LIANGJIAGOU, persons=31)
    m = household(LIANGJIAGOU, persons=1)
    spell(m, CaseStatus.MONITORED, 202301)
    assert at(LIANGJIAGOU, date(2024, 1, 1))["monitoring_ratio"] == 3.13


def test_codes_subset_in_catalogue_order_and_refusals():
    v = at(
        LIANGJIAGOU, date(2024, 1, 1), codes=["monitoring_ratio", "lifted.households", "lifted.households"]
    )
    assert list(v) == ["lifted.households", "monitoring_ratio"]
    assert at(LIANGJIAGOU, date(2024, 1, 1), codes=[]) == {}
    with pytest.raises(ValidationError, match="未知的指标"):
        at(LIANGJIAGOU, date(2024, 1, 1), codes=["lifted.household"])
    with pytest.raises(ValidationError, match="晚于统计日期"):
        at(LIANGJIAGOU, date(2024, 1, 1), since=date(2024, 2, 1))
    for bad in ("140724", "14072410000X", "000000000000", ""):
        with pytest.raises(ValidationError, match="区划代码"):
            at(bad, date(2024, 1, 1))


def test_catalogue_is_complete_and_says_what_each_figure_is():
    codes = set(catalogue.CODES)
    required = {
        "lifted.households",
        "lifted.persons",
        "monitored.households",
        "monitored.persons",
        "monitoring_ratio",
        "elimination_rate.households",
        "elimination_rate.persons",
        "income.lifted.per_capita",
        "identified.households",
        "identified.persons",
        "eliminated.households",
        "eliminated.persons",
    }
    for part in ("unstable_lifted", "marginal", "sudden_hardship", "open", "eliminated"):
        required |= {f"monitored.{part}.households", f"monitored.{part}.persons"}
    for risk in [
        "illness",
        "disability",
        "schooling",
        "disaster",
        "accident",
        "industry_failure",
        "unstable_work",
        "lack_of_labour",
        "housing",
        "water",
        "other",
    ]:
        required |= {f"identified.risk.{risk}.households", f"identified.risk.{risk}.persons"}
        required |= {f"monitored.risk.{risk}.households", f"monitored.risk.{risk}.persons"}
    for part in ("unstable_lifted", "marginal", "sudden_hardship"):
        required |= {f"identified.{part}.households", f"identified.{part}.persons"}
    for mode in ("assisted", "natural"):
        required |= {f"eliminated.{mode}.households", f"eliminated.{mode}.persons"}
    for c in ("wage", "business", "property", "transfer"):
        required.add(f"income.lifted.{c}.per_capita")
    for c in (
        "raised",
        "verified",
        "on_time",
        "overdue",
        "included",
        "became_monitored",
        "closed",
        "not_included",
        "already",
        "open",
        *(
            f"raised.{f}"
            for f in (
                "medical",
                "disability",
                "assistance",
                "education",
                "housing",
                "water",
                "disaster",
                "employment",
                "civil_registry",
            )
        ),
    ):
        required.add(f"alerts.{c}")
    required |= {"alerts.verification_rate", "alerts.on_time_rate"}
    for c in ("wage", "business", "property", "transfer", "expense"):
        required.add(f"income.lifted.{c}.total")
    required |= {"income.lifted.total", "income.lifted.households", "income.lifted.persons"}
    assert codes == required
    for i in catalogue.CATALOGUE:
        assert i.name and i.group in catalogue.GROUPS and len(i.definition) > 20
        if i.kind == catalogue.COUNT:
            unit = "条" if i.code.startswith("alerts.") else ("人" if i.code.endswith(".persons") else "户")
            assert i.unit == unit and i.rounding == "整数"
        else:
            assert i.unit == {"percent": "%", "yuan": "元"}[i.kind] and i.decimals == 2
    assert catalogue.get("elimination_rate.persons").primary
    assert "÷" in catalogue.get("monitoring_ratio").definition
