"""Generated registries and department files for the screening tests (ORM bulk inserts, CSV files)."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from ledgers import make_id
from testdata import LIANGJIAGOU, LIFUYU, XIYANG

VILLAGES = [LIANGJIAGOU, LIFUYU]


@dataclass
class Member:
    id_number: str
    name: str
    birth: date
    works: bool
    household_no: str


@dataclass
class Family:
    household_no: str
    village: str
    lifted: bool
    monitored: bool
    net_income: Decimal | None  # the ledger's components add up to this (yuan)
    members: list[Member] = field(default_factory=list)


class Ids:
    """Unique valid ID numbers of this county (or another)."""

    def __init__(self, rng: random.Random):
        self.rng, self.seen = rng, set()

    def new(self, birth: date, county: str = "140724") -> str:
        while True:
            n = make_id(birth, self.rng.randint(1, 999), county=county)
            if n not in self.seen:
                self.seen.add(n)
                return n


def random_birth(rng: random.Random, lo: int = 1940, hi: int = 2020) -> date:
    return date(rng.randint(lo, hi), rng.randint(1, 12), rng.randint(1, 28))


def build_registry(n_households: int, *, seed: int = 1, ids: Ids | None = None) -> list[Family]:
    """Households of 1-5 members in two villages of 乐平镇, written with bulk inserts."""
    from dixian.registry.models import Household, Person

    rng = random.Random(seed)
    ids = ids or Ids(rng)
    families = []
    for i in range(n_households):
        lifted = rng.random() < 0.6
        income = None if rng.random() < 0.1 else Decimal(rng.randint(3000, 60000))
        fam = Family(f"T{i:06d}", VILLAGES[i % 2], lifted, rng.random() < 0.2, income)
        for j in range(rng.randint(1, 5)):
            birth = random_birth(rng)
            fam.members.append(
                Member(ids.new(birth), f"成员{i}-{j}", birth, rng.random() < 0.4, fam.household_no)
            )
        families.append(fam)
    households = Household.objects.bulk_create(
        [
            Household(
                county_code=XIYANG,
                township_code=f.village[:9] + "000",
                village_code=f.village,
                household_no=f.household_no,
                household_type="lifted" if f.lifted else "ordinary",
                lifted_year=2019 if f.lifted else None,
                size=len(f.members),
                head_name=f.members[0].name,
                wage_income=f.net_income,
                monitoring_category="marginal" if f.monitored else "",
                risk_status="open" if f.monitored else "none",
            )
            for f in families
        ],
        batch_size=1000,
    )
    by_no = {h.household_no: h for h in households}
    if any(h.pk is None for h in households):
        by_no = {h.household_no: h for h in Household.objects.filter(household_no__startswith="T")}
    Person.objects.bulk_create(
        [
            Person(
                household=by_no[f.household_no],
                county_code=XIYANG,
                township_code=f.village[:9] + "000",
                village_code=f.village,
                position=k,
                name=m.name,
                id_number=m.id_number,
                birth_date=m.birth,
                relation_to_head="户主" if k == 0 else "子",
                work_months=6 if m.works else 0,
            )
            for f in families
            for k, m in enumerate(f.members)
        ],
        batch_size=2000,
    )
    return families


def write_feed(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


MEDICAL_HEAD = ["证件号码", "姓名", "结算日期", "就诊类型", "个人自付", "参保地区划代码"]


def medical_rows(
    families: list[Family], n: int, *, as_of: date, seed: int = 2, ids: Ids | None = None
) -> list[list]:
    """Settlements: half of registered persons, the rest people of this county not registered and
    people of other counties; dates from 15 months before ``as_of`` to a few days after it."""
    rng = random.Random(seed)
    ids = ids or Ids(rng)
    members = [m for f in families for m in f.members]
    strangers = [ids.new(random_birth(rng)) for _ in range(max(n // 20, 5))]
    outsiders = [ids.new(random_birth(rng), county="140702") for _ in range(max(n // 20, 5))]
    rows = []
    for _ in range(n):
        r = rng.random()
        place = "140724"
        if r < 0.5:
            who = rng.choice(members)
            id_number, name = who.id_number, who.name
        elif r < 0.8:
            id_number, name = rng.choice(strangers), "某人"
        else:  # born elsewhere; most insured there, some here (then they count as people of this county)
            id_number, name = rng.choice(outsiders), "外县"
            place = "140724" if rng.random() < 0.2 else "140702"
        if rng.random() < 0.1:
            id_number = id_number.lower() if id_number.endswith("X") else f" {id_number} "
        day = as_of - timedelta(days=rng.randint(-5, 460))
        pay = (
            Decimal(rng.choice([rng.randint(0, 3000), rng.randint(0, 30000)]))
            + Decimal(rng.randint(0, 99)) / 100
        )
        rows.append(
            [
                id_number,
                name,
                day.isoformat(),
                rng.choice(["住院", "门诊慢特病", "普通门诊"]),
                str(pay),
                place,
            ]
        )
    return rows


def make_household(
    no: str,
    members: list[tuple[str, date, bool]],
    *,
    village: str = LIANGJIAGOU,
    ids: Ids,
    lifted: bool = True,
    monitored: bool = False,
    income: Decimal | None = Decimal(20000),
):
    """One household with members (name, birth date, works); returns (household, {name: id_number})."""
    from dixian.registry.models import Household, Person

    h = Household.objects.create(
        county_code=XIYANG,
        township_code=village[:9] + "000",
        village_code=village,
        household_no=no,
        household_type="lifted" if lifted else "ordinary",
        lifted_year=2019 if lifted else None,
        size=len(members),
        head_name=members[0][0],
        wage_income=income,
        monitoring_category="marginal" if monitored else "",
        risk_status="open" if monitored else "none",
    )
    out = {}
    for k, (name, birth, works) in enumerate(members):
        n = ids.new(birth)
        Person.objects.create(
            household=h,
            county_code=XIYANG,
            township_code=h.township_code,
            village_code=village,
            position=k,
            name=name,
            id_number=n,
            birth_date=birth,
            relation_to_head="户主" if k == 0 else "子女",
            work_months=6 if works else 0,
        )
        out[name] = n
    return h, out
