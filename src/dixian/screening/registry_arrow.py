"""The registry handed to the screening engine as Arrow: read column-wise from the database in one
pass per table (no model instances), money as integer fen."""

from __future__ import annotations

import pyarrow as pa
from django.db import connection

from dixian.screening.engine import Registry

BATCH = 200_000


def _table(sql: str, params: list, schema: pa.Schema) -> pa.Table:
    batches = []
    with connection.cursor() as cur:
        cur.execute(sql, params)
        while True:
            rows = cur.fetchmany(BATCH)
            if not rows:
                break
            cols = list(zip(*rows, strict=True))
            arrays = [pa.array(c, type=f.type, from_pandas=False) for c, f in zip(cols, schema, strict=True)]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def _fen(col: str) -> str:
    return f"CAST(ROUND({col} * 100) AS BIGINT)"


def read_registry(county_code: str) -> Registry:
    """Active persons, households and income surveys of the county."""
    from dixian.monitoring.models import IncomeSurvey
    from dixian.registry.models import Household, Person

    person_t, household_t, survey_t = (
        Person._meta.db_table,
        Household._meta.db_table,
        IncomeSurvey._meta.db_table,
    )
    persons = _table(
        f"SELECT id_number, household_id, CAST(birth_date AS TEXT), CASE WHEN work_months > 0 THEN 1 ELSE 0 END "
        f"FROM {person_t} WHERE county_code = %s AND active = %s",
        [county_code, True],
        pa.schema(
            [
                ("id_number", pa.string()),
                ("household_id", pa.int64()),
                ("birth_date", pa.string()),
                ("works", pa.int8()),
            ]
        ),
    )
    households = _table(
        f"SELECT id, household_no, county_code, township_code, village_code, household_type, monitoring_category, "
        f"size, declared_size, {_fen('wage_income')}, {_fen('business_income')}, {_fen('property_income')}, "
        f"{_fen('transfer_income')}, {_fen('business_expense')}, {_fen('declared_per_capita_income')} "
        f"FROM {household_t} WHERE county_code = %s",
        [county_code],
        pa.schema(
            [
                ("household_id", pa.int64()),
                ("household_no", pa.string()),
                ("county_code", pa.string()),
                ("township_code", pa.string()),
                ("village_code", pa.string()),
                ("household_type", pa.string()),
                ("monitoring_category", pa.string()),
                ("size", pa.int32()),
                ("declared_size", pa.int32()),
                ("wage_fen", pa.int64()),
                ("business_fen", pa.int64()),
                ("property_fen", pa.int64()),
                ("transfer_fen", pa.int64()),
                ("expense_fen", pa.int64()),
                ("declared_pc_fen", pa.int64()),
            ]
        ),
    )
    surveys = _table(
        f"SELECT household_id, window_end, id, {_fen('per_capita_net')}, household_size "
        f"FROM {survey_t} WHERE county_code = %s",
        [county_code],
        pa.schema(
            [
                ("household_id", pa.int64()),
                ("window_end", pa.int32()),
                ("survey_id", pa.int64()),
                ("per_capita_fen", pa.int64()),
                ("household_size", pa.int32()),
            ]
        ),
    )
    return Registry(persons=persons, households=households, surveys=surveys, county_prefix=county_code[:6])
