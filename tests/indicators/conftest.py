from __future__ import annotations

import pytest

from dixian.core.audit import Actor
from dixian.monitoring.models import CaseStatus, MonitoringCase
from dixian.registry.models import Household, Person
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv
from testdata import GAOLUO


@pytest.fixture
def county(tmp_path, db):
    """梁家沟村: H001 (lifted, 2), H002 (lifted, 3, monitored since 202305, 因病), H003 (ordinary, 1,
    identified 202203, eliminated 202301); 李夫峪村: H004 (lifted, 1); 皋落镇: G0001 (lifted, 4,
    突发严重困难户 since 202307, 因灾 + 因病)."""
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "ledger.csv"))
    return gaoluo_household()


def gaoluo_household() -> Household:
    from dixian.regions.models import Region

    village = Region.objects.filter(code__startswith=GAOLUO[:9], level="village").order_by("code").first()
    h = Household.objects.create(
        county_code=GAOLUO[:6] + "000000",
        township_code=GAOLUO,
        village_code=village.code,
        household_no="G0001",
        household_type="lifted",
        size=4,
    )
    Person.objects.bulk_create(
        Person(
            household=h,
            county_code=h.county_code,
            township_code=h.township_code,
            village_code=h.village_code,
            position=i,
            active=True,
            name=f"皋落成员{i}",
            id_number=f"GAOLUO{i:03d}",
            relation_to_head="户主" if i == 0 else "之子",
        )
        for i in range(4)
    )
    MonitoringCase.objects.create(
        household=h,
        county_code=h.county_code,
        township_code=h.township_code,
        village_code=h.village_code,
        status=CaseStatus.MONITORED,
        identified_month=202307,
        category="sudden_hardship",
        risks=["disaster", "illness"],
    )
    return h
