"""The stored ledger income (``Household.ledger_net_fen``) equals the plain-Python figure, however
the household was written: ORM create and update, and the ledger import's bulk insert."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dixian.core.audit import Actor
from dixian.core.bulk import fast_insert
from dixian.registry.models import Household
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv

pytestmark = pytest.mark.django_db

PARTS = ("wage_income", "business_income", "property_income", "transfer_income", "business_expense")
money = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("999999.99"), places=2),
)


def python_fen(h: Household) -> int | None:
    """Independent of the database: components if any is filled, else per-capita × size."""
    if h.net_income is not None:
        return int(h.net_income * 100)
    n = h.size or h.declared_size
    if h.declared_per_capita_income is None or not n:
        return None
    return int(h.declared_per_capita_income * 100) * n


def stored(pk) -> int | None:
    return Household.objects.values_list("ledger_net_fen", flat=True).get(pk=pk)


def new(no: str, **values) -> Household:
    base = {"county_code": "140826000000", "township_code": "140826100000", "village_code": ""}
    return Household.objects.create(household_no=no, **base, **values)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.tuples(*[money] * 5),
    per_capita=money,
    size=st.integers(0, 12),
    declared=st.one_of(st.none(), st.integers(0, 12)),
)
def test_stored_income_equals_python(parts, per_capita, size, declared):
    Household.objects.filter(household_no="P1").delete()
    h = new(
        "P1",
        size=size,
        declared_size=declared,
        declared_per_capita_income=per_capita,
        **dict(zip(PARTS, parts, strict=True)),
    )
    h.refresh_from_db()
    assert stored(h.pk) == python_fen(h)


def test_update_recomputes():
    h = new("U1", size=3, declared_per_capita_income=Decimal("5000.50"))
    assert stored(h.pk) == 500050 * 3
    h.wage_income = Decimal("12000.01")
    h.business_expense = Decimal("100.02")
    h.save()
    assert stored(h.pk) == 1200001 - 10002
    Household.objects.filter(pk=h.pk).update(wage_income=None, business_expense=None, size=0, declared_size=2)
    assert stored(h.pk) == 500050 * 2
    Household.objects.filter(pk=h.pk).update(declared_per_capita_income=None)
    assert stored(h.pk) is None


def test_bulk_insert_and_import(tmp_path):
    fast_insert(
        Household,
        [
            {
                "county_code": "140826000000",
                "township_code": "140826100000",
                "village_code": "",
                "household_no": "B1",
                "size": 2,
                "transfer_income": Decimal("-3.10"),
                "property_income": Decimal("0.05"),
            },
        ],
    )
    assert Household.objects.get(household_no="B1").ledger_net_fen == -305
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "l.csv"))
    imported = list(Household.objects.exclude(household_no="B1"))
    assert imported
    for h in imported:
        assert h.ledger_net_fen == python_fen(h), h.household_no
    assert any(h.ledger_net_fen is not None for h in imported)
