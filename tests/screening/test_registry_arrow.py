"""The registry handed to the engine: ADBC (outside transactions) and the Django cursor give the same
Arrow tables; the income the engine uses per household follows the latest survey, then the ledger."""

from __future__ import annotations

import random
import sqlite3
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from gen import Ids, build_registry, make_household

from dixian.screening import engine
from dixian.screening.registry_arrow import NEEDS, _adbc_reader, _queries, read_registry
from dixian.screening.registry_arrow import _cursor_table as cursor_table

from testdata import XIYANG


def _sorted(table):
    return table.sort_by([(table.schema.names[0], "ascending"), (table.schema.names[1], "ascending")])


@pytest.mark.django_db(transaction=True)
def test_adbc_and_cursor_read_the_same_tables(tmp_path):
    build_registry(60, seed=2)
    queries = _queries(XIYANG, NEEDS)
    want = {name: cursor_table(sql, schema) for name, (sql, schema) in queries.items()}
    assert want["persons"].num_rows > 60
    if connection.vendor == "sqlite":
        # the test database lives in memory: copy it to a file, which ADBC then reads
        path = tmp_path / "copy.sqlite3"
        target = sqlite3.connect(path)
        connection.ensure_connection()
        connection.connection.backup(target)
        target.close()
        import adbc_driver_sqlite.dbapi as adbc

        from dixian.screening.registry_arrow import _conform

        def read(sql, schema):
            with adbc.connect(str(path)) as conn, conn.cursor() as cur:
                cur.execute(sql)
                return _conform(cur.fetch_arrow_table(), schema)
    else:
        read = _adbc_reader()
        assert read is not None
    for name, (sql, schema) in queries.items():
        got = read(sql, schema)
        assert got.schema == want[name].schema
        assert _sorted(got).equals(_sorted(want[name])), name


@pytest.mark.django_db
def test_inside_a_transaction_the_cursor_is_used_and_sees_uncommitted_rows():
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
    assert connection.in_atomic_block and _adbc_reader() is None
    with pytest.raises(RuntimeError):
        read_registry(XIYANG, direct=True)
    reg = read_registry(XIYANG)
    assert reg.persons.num_rows == 4 and set(reg.persons.schema.names) == {
        "id_number",
        "household_id",
        "birth_date",
        "works",
    }
    con = engine.connect(reg)
    income = dict(con.execute("SELECT household_id, net_income_fen FROM households").fetchall())
    workers = dict(con.execute("SELECT household_id, workers FROM households").fetchall())
    assert income == {h1.pk: 1234567, h2.pk: None, h3.pk: 400050 * 3}
    assert workers[h1.pk] == 1
    slim = read_registry(XIYANG, frozenset())
    assert slim.persons.schema.names == ["id_number", "household_id"]
