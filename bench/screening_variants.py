"""Two ways of running ``medical_registered`` that the engine does not use, measured on the M data of
``bench_screening.py`` (build it first: ``bench_screening.py --size M``), to decide whether either is
worth building:

1. **An integer key for the ID number** instead of its 18 characters, on both sides of the join
   (``证件键`` = the 17 digits × 11 + the check character, X = 10: the key ``fastcheck.id_keys``
   already computes during a feed load). The bare script's query, once joining on the text and once
   on the key, over copies of the files that carry both.
2. **No matched-rows table**: the hits grouped in one pipeline like the bare script, then a second
   pass over the feed for the hits' members and evidence only; against the engine's way (the matched
   rows kept in a temporary table, the hits and the lists from it).

    .venv/bin/python bench/screening_variants.py            # --rounds N (default 2), --db pg

Prints each statement's wall time per round. In process, DuckDB only (no database, no Django).
"""

from __future__ import annotations

import argparse
import time

import duckdb

from _common import OUT

AS_OF, START = "2026-06-30", "2025-07-01"


def key_sql(col: str) -> str:
    check = f"CASE WHEN substr({col}, 18, 1) = 'X' THEN 10 ELSE CAST(substr({col}, 18, 1) AS BIGINT) END"
    return f"(CAST(substr({col}, 1, 17) AS BIGINT) * 11 + {check})"


def timed(con, label: str, sql: str) -> None:
    start = time.perf_counter()
    rows = con.execute(sql).fetchall()
    size = rows[0][0] if len(rows) == 1 else len(rows)
    print(f"  {label:<44} {time.perf_counter() - start:6.2f} s  ({size:,} rows)", flush=True)


def integer_key(con, data, scratch, rounds: int) -> None:
    med, per = scratch / "medical_key.parquet", scratch / "persons_key.parquet"
    if not med.exists():
        con.execute(
            f"COPY (SELECT *, {key_sql('证件号码_规范')} AS 证件键 FROM read_parquet('{data / 'medical.parquet'}')) "
            f"TO '{med}' (FORMAT parquet, COMPRESSION lz4)"
        )
        con.execute(
            f"COPY (SELECT *, {key_sql('id_number')} AS id_key FROM read_parquet('{data / 'persons.parquet'}')) "
            f"TO '{per}' (FORMAT parquet)"
        )
    query = f"""
        WITH f AS (SELECT {{fid}} AS id, CAST("个人自付" * 100 AS BIGINT) AS fen FROM read_parquet('{med}')
                   WHERE "结算日期" BETWEEN DATE '{START}' AND DATE '{AS_OF}'),
             h AS (SELECT household_id, ledger_net_fen AS net_fen FROM read_parquet('{data / "households.parquet"}'))
        SELECT p.household_id FROM f JOIN read_parquet('{per}') p ON p.{{pid}} = f.id JOIN h USING (household_id)
        GROUP BY p.household_id HAVING sum(f.fen) > least(1000000, 0.5 * any_value(h.net_fen))"""
    print("1. the bare script's query, joined on the ID number's text and on an integer key")
    for _ in range(rounds):
        timed(con, "text (证件号码_规范 = id_number)", query.format(fid='"证件号码_规范"', pid="id_number"))
        timed(con, "integer key (证件键 = id_key)", query.format(fid='"证件键"', pid="id_key"))


def second_pass(con, data, rounds: int) -> None:
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE persons AS SELECT id_number, household_id FROM read_parquet('{data / 'persons.parquet'}')"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE households AS SELECT household_id, ledger_net_fen AS net_income_fen "
        f"FROM read_parquet('{data / 'households.parquet'}')"
    )
    feed = (
        '(SELECT "行号" AS row_no, "结算日期" AS row_date, '
        'CAST(CAST("个人自付" AS DECIMAL(18,2)) * 100 AS BIGINT) AS v, "证件号码_规范" AS id '
        f"FROM read_parquet('{data / 'medical.parquet'}') "
        f"WHERE \"结算日期\" <= DATE '{AS_OF}' AND \"结算日期\" >= DATE '{START}')"
    )
    over = "JOIN households h ON h.household_id = g.k WHERE value > least(1000000, 0.5 * h.net_income_fen)"
    key = "(date_diff('day', DATE '1900-01-01', m.row_date)::BIGINT << 32) + (4294967295 - m.row_no)"
    print("2. the engine's matched-rows table against one pipeline and a second pass")
    for _ in range(rounds):
        timed(
            con,
            "engine: matched rows into a table",
            "CREATE OR REPLACE TEMP TABLE matched AS SELECT p.household_id AS k, p.rowid AS pid, f.v, "
            f"f.row_no, f.row_date FROM {feed} f JOIN persons p ON p.id_number = f.id",
        )
        timed(
            con,
            "engine: hits from them",
            "CREATE OR REPLACE TEMP TABLE hits AS SELECT g.k, g.value FROM "
            f"(SELECT k, sum(v) AS value FROM matched GROUP BY k) g {over}",
        )
        timed(
            con,
            "engine: members and evidence from them",
            f"SELECT m.k, list_sort(list_distinct(list(p.id_number))), max({key}, 10) FROM matched m "
            "SEMI JOIN hits USING (k) JOIN persons p ON p.rowid = m.pid GROUP BY m.k",
        )
        timed(
            con,
            "pipeline: hits grouped on the fly",
            "CREATE OR REPLACE TEMP TABLE hits AS SELECT g.k, g.value FROM (SELECT p.household_id AS k, "
            f"sum(f.v) AS value FROM {feed} f JOIN persons p ON p.id_number = f.id GROUP BY k) g {over}",
        )
        timed(
            con,
            "pipeline: second pass for members and evidence",
            f"SELECT p.household_id, list_sort(list_distinct(list(p.id_number))), max({key}, 10) FROM {feed} m "
            "JOIN (SELECT * FROM persons SEMI JOIN hits ON hits.k = persons.household_id) p "
            "ON p.id_number = m.id GROUP BY p.household_id",
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    data = OUT / f"screening-M-{args.db}"
    if not (data / "built.json").exists():
        raise SystemExit(f"no M data under {data}: run bench/bench_screening.py --size M first")
    scratch = OUT / "screening-variants"
    scratch.mkdir(exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    for setting in (
        "enable_progress_bar = false",
        "preserve_insertion_order = false",
        "memory_limit = '1200MB'",
    ):
        con.execute(f"SET {setting}")
    integer_key(con, data, scratch, args.rounds)
    second_pass(con, data, args.rounds)


if __name__ == "__main__":
    main()
