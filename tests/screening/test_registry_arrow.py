"""The registry handed to the engine: every way of reading it gives the same Arrow tables; the income
the engine uses per household follows the latest survey, then the ledger."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from gen import Ids, build_registry, make_household

from dixian.screening import engine
from dixian.screening.registry_arrow import NEEDS, _cursor_table, _queries, read_registry, reader

from testdata import XIYANG


def _sorted(table):
    return table.sort_by([(table.schema.names[0], "ascending"), (table.schema.names[1], "ascending")])


def _same_tables(tmp_path=None):
    build_registry(60, seed=2)
    from dixian.monitoring.models import IncomeSurvey

    h, _ = make_household("N1", [("甲", date(1980, 1, 1), True)], ids=Ids(random.Random(9)), income=None)
    IncomeSurvey.objects.create(
        household=h,
        window_start=202501,
        window_end=202512,
        household_size=1,
        per_capita_net=Decimal("8000.10"),
        county_code=XIYANG,
        township_code=h.township_code,
        village_code=h.village_code,
    )
    readers = [reader()]
    assert readers[0] is not _cursor_table  # SQLite's text path, or PostgreSQL's ADBC outside a transaction
    if tmp_path is not None and connection.vendor == "sqlite":
        # outside a transaction SQLite is read by ADBC in a child process, from the database's file:
        # the test database lives in memory, so copy it to a file first
        import sqlite3

        from dixian.screening.registry_arrow import _sqlite_table, child_reader

        path = tmp_path / "copy.sqlite3"
        target = sqlite3.connect(path)
        connection.ensure_connection()
        connection.connection.backup(target)
        target.close()
        readers = [_sqlite_table, child_reader(str(path))]
    for name, query in _queries(XIYANG, NEEDS).items():
        want = _cursor_table(query)
        for read in readers:
            got = read(query)
            assert want.num_rows > 0 and got.schema == want.schema
            assert _sorted(got).equals(_sorted(want)), (name, read)


@pytest.mark.django_db
def test_readers_agree_inside_a_transaction():
    if connection.vendor == "postgresql":  # inside a transaction PostgreSQL uses the cursor itself
        assert reader() is _cursor_table
        return
    _same_tables()


@pytest.mark.django_db(transaction=True)
def test_readers_agree_outside_a_transaction(tmp_path):
    _same_tables(tmp_path)
    # the tables read at once on connections of their own (threads) are the same
    one, many = read_registry(XIYANG), read_registry(XIYANG, parallel=True)
    for name in ("persons", "households", "surveys"):
        assert _sorted(getattr(many, name)).equals(_sorted(getattr(one, name))), name


@pytest.mark.django_db
def test_household_income_and_workers_as_the_engine_sees_them():
    from dixian.monitoring.models import IncomeSurvey

    ids = Ids(random.Random(1))
    h1, _ = make_household(
        "R1",
        [("甲", date(1980, 1, 1), True), ("乙", date(1981, 1, 1), False)],
        ids=ids,
        income=Decimal("12345.67"),
    )
    h2, _ = make_household("R2", [("丙", date(1980, 1, 1), True)], ids=ids, income=None)
    h3, _ = make_household("R3", [("丁", date(1980, 1, 1), True)], ids=ids, income=Decimal("1"))
    for end, pc in ((202512, "3000"), (202606, "4000.50")):
        IncomeSurvey.objects.create(
            household=h3,
            window_start=end - 100 + 1,
            window_end=end,
            household_size=3,
            per_capita_net=Decimal(pc),
            county_code=XIYANG,
            township_code=h3.township_code,
            village_code=h3.village_code,
        )
    reg = read_registry(XIYANG)
    assert reg.persons.num_rows == 4
    assert set(reg.persons.schema.names) == {"id_number", "household_id", "birth_date", "works"}
    con = engine.connect()
    engine.attach_registry(con, reg)
    income = dict(con.execute("SELECT household_id, net_income_fen FROM households").fetchall())
    workers = dict(con.execute("SELECT household_id, workers FROM households").fetchall())
    assert income == {h1.pk: 1234567, h2.pk: None, h3.pk: 400050 * 3}
    assert workers[h1.pk] == 1
    slim = read_registry(XIYANG, frozenset())
    assert slim.persons.schema.names == ["id_number", "household_id"]


@pytest.mark.django_db
def test_ledger_income_from_its_components_to_the_fen():
    """The ledger's components (two decimals each, stored as SQLite REAL) summed, less the business
    expense, rounded once: the same fen as the exact decimal sum."""
    from dixian.registry.models import Household

    ids = Ids(random.Random(4))
    h, _ = make_household("C1", [("甲", date(1980, 1, 1), True)], ids=ids, income=None)
    parts = {
        "wage_income": Decimal("1000.10"),
        "business_income": Decimal("200.20"),
        "property_income": Decimal("0.05"),
        "transfer_income": Decimal("300.33"),
        "business_expense": Decimal("100.01"),
    }
    Household.objects.filter(pk=h.pk).update(**parts)
    h2, _ = make_household("C2", [("乙", date(1980, 1, 1), True)], ids=ids, income=None)
    Household.objects.filter(pk=h2.pk).update(transfer_income=Decimal("0.07"))
    reg = read_registry(XIYANG)
    got = dict(
        zip(
            reg.households["household_id"].to_pylist(),
            reg.households["ledger_net_fen"].to_pylist(),
            strict=True,
        )
    )
    exact = sum(v for k, v in parts.items() if k != "business_expense") - parts["business_expense"]
    assert got[h.pk] == int(exact * 100) == 140067
    assert got[h2.pk] == 7
