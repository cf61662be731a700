"""The engine hands each hit's figures over in the rule's unit as DuckDB's text: the same digits as
Python's exact decimal arithmetic (fen ÷ 100, rounded half up to the fen), for every value the
aggregates and thresholds can take."""

from decimal import ROUND_HALF_UP, Decimal

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from dixian.screening.engine import _units_sql

CENT = Decimal("0.01")


def expected(figure: Decimal, money: bool) -> str:
    if money:
        figure = figure.scaleb(-2)
    figure = figure.quantize(CENT, rounding=ROUND_HALF_UP)
    # a figure that rounds to zero is 0.00, not Decimal's "-0.00" (-0.3 fen: DuckDB writes 0.00,
    # the same number in the alert's numeric column)
    return str(abs(figure) if figure == 0 else figure)


CON = duckdb.connect()


@settings(max_examples=300, deadline=None)
@given(fen=st.integers(min_value=-(10**15), max_value=10**15), money=st.booleans())
def test_sums_of_fen(fen, money):
    """Sums and counts (HUGEINT in DuckDB)."""
    (got,) = CON.execute(
        f"SELECT {_units_sql('x', money)} FROM (SELECT CAST(? AS HUGEINT) AS x)", [fen]
    ).fetchone()
    assert got == expected(Decimal(fen), money)


@settings(max_examples=300, deadline=None)
@given(
    income=st.integers(min_value=-(10**12), max_value=10**12),
    factor=st.sampled_from(["0.5", "0.3", "1", "0.25", "0.125", "0.3333"]),
    money=st.booleans(),
)
def test_thresholds_with_fractions_of_a_fen(income, factor, money):
    """A factor × a household's income in fen (the engine's DECIMAL(9,4) × BIGINT), halves included."""
    (got,) = CON.execute(
        f"SELECT {_units_sql('x', money)} FROM (SELECT CAST({factor} AS DECIMAL(9,4)) * CAST(? AS BIGINT) AS x)",
        [income],
    ).fetchone()
    assert got == expected(Decimal(factor) * income, money)


def test_halves_round_away_from_zero_and_null_stays_null():
    rows = CON.execute(
        f"SELECT {_units_sql('x', True)} FROM (SELECT unnest([0.5, 1.5, -0.5, 2.4999, NULL]::DECIMAL(38,4)[]) AS x)"
    ).fetchall()
    assert [r[0] for r in rows] == ["0.01", "0.02", "-0.01", "0.02", None]
