"""The registry handed to the screening engine as Arrow: only the columns the rules need, money as
integer fen, read column-wise from the database without a Python object per row where possible:

* SQLite outside a transaction, for a big registry: ADBC in two child processes started at once
  (:class:`ChildRead`), Arrow files mapped back; otherwise, on Django's own connection, a million
  rows at a time joined into one text by SQLite and parsed by Arrow's CSV reader (``_sqlite_table``);
* PostgreSQL outside a transaction: ADBC (binary COPY into Arrow, a second connection);
* otherwise (PostgreSQL inside a transaction, whose uncommitted rows a second connection would not
  see): the Django cursor, in batches.

All give the same tables (tests/screening/test_registry_arrow.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
from django.db import connection

from dixian.screening.engine import Registry

BATCH = 200_000
NEEDS = frozenset({"birth_date", "works"})


def _fen(col: str) -> str:
    return f"CAST(ROUND({col} * 100) AS BIGINT)"


def _queries(county_code: str, needs: frozenset[str]) -> dict[str, Query]:
    from dixian.monitoring.models import IncomeSurvey
    from dixian.registry.models import Household, Person

    if not (county_code.isdigit() and len(county_code) == 12):
        raise ValueError(county_code)
    person_t, household_t = Person._meta.db_table, Household._meta.db_table
    survey_t = IncomeSurvey._meta.db_table
    county = f"'{county_code}'"
    p_cols = ["id_number", "household_id"]
    p_fields = [("id_number", pa.string()), ("household_id", pa.int64())]
    if "birth_date" in needs:
        p_cols.append("CAST(birth_date AS TEXT)")
        p_fields.append(("birth_date", pa.string()))
    if "works" in needs:
        p_cols.append("CASE WHEN work_months > 0 THEN 1 ELSE 0 END")
        p_fields.append(("works", pa.int64()))
    h_cols = [
        "id",
        "CASE WHEN household_type = 'lifted' THEN 1 ELSE 0 END",
        "CASE WHEN monitoring_category <> '' THEN 1 ELSE 0 END",
        # the ledger's annual net income in fen, computed and stored by the database when written
        # (``Household.ledger_net_fen``; the survey, if any, takes precedence in the engine)
        "ledger_net_fen",
    ]
    # the township and village: the region of the household's alerts (and the water rule's villages)
    h_cols += ["township_code", "village_code"]
    h_fields = [
        ("household_id", pa.int64()),
        ("lifted", pa.int64()),
        ("monitored", pa.int64()),
        ("ledger_net_fen", pa.int64()),
        ("township_code", pa.string()),
        ("village_code", pa.string()),
    ]
    survey_cols = ["household_id", "window_end", "id", _fen("per_capita_net"), "household_size"]
    survey_fields = [
        ("household_id", pa.int64()),
        ("window_end", pa.int64()),
        ("survey_id", pa.int64()),
        ("per_capita_fen", pa.int64()),
        ("household_size", pa.int64()),
    ]
    return {
        "persons": Query(
            p_cols, person_t, f"county_code = {county} AND active = TRUE", pa.schema(p_fields), 2
        ),
        "households": Query(h_cols, household_t, f"county_code = {county}", pa.schema(h_fields), 3),
        "surveys": Query(survey_cols, survey_t, f"county_code = {county}", pa.schema(survey_fields), 3),
    }


@dataclass
class Query:
    columns: list[str]  # SQL expressions
    table: str
    where: str
    schema: pa.Schema
    not_null: int = 0  # the first columns never NULL (no COALESCE needed when joined into text)

    @property
    def sql(self) -> str:
        cols = ", ".join(f"{c} AS c{i}" for i, c in enumerate(self.columns))
        return f"SELECT {cols} FROM {self.table} WHERE {self.where}"


def _cursor_table(query: Query) -> pa.Table:
    """Any database, on Django's connection: rows fetched in batches into Arrow."""
    schema = query.schema
    batches = []
    with connection.cursor() as cur:
        cur.execute(query.sql)
        while True:
            rows = cur.fetchmany(BATCH)
            if not rows:
                break
            cols = list(zip(*rows, strict=True))
            arrays = [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """ADBC infers SQLite's types from the values: give every column the type the engine expects.
    The schemas' integers are all int64, SQLite's own, so that ADBC's tables need no cast here (a
    cast costs 0.1 s for a million households, most of it importing ``pyarrow.compute``)."""
    table = table.rename_columns(schema.names)
    return table.cast(schema, safe=False) if table.schema != schema else table


def sqlite_file(settings_dict: dict) -> str | None:
    """The SQLite database's file, or None for an in-memory database (the test suite's)."""
    name = str(settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return name


CHILD_FROM_ROWS = 300_000
SEP, CHUNK = "\x1f", 1_000_000


def _sqlite_table(query: Query) -> pa.Table:
    """SQLite, on Django's connection (so inside a transaction too): SQLite joins each chunk of a
    million rows into one text (``group_concat`` in C) that Arrow's CSV reader parses, instead of a
    Python tuple per row (3-4× faster for millions of persons). A second SQLite library in the same
    process (ADBC's, or DuckDB's scanner) is not an option: closing its file handle drops this
    process's locks on the database and it may truncate the shared WAL index under Django's
    connection (SIGBUS seen here)."""
    import pyarrow.csv as pcsv

    cols = " || char(31) || ".join(
        f"c{i}" if i < query.not_null else f"COALESCE(CAST(c{i} AS TEXT), '')"
        for i in range(len(query.columns))
    )
    parts = []
    with connection.cursor() as cur:
        cur.execute(f"SELECT MIN(id), MAX(id) FROM {query.table} WHERE {query.where}")
        low, high = cur.fetchone()
        if low is None:
            return query.schema.empty_table()
        for start in range(low - 1, high, CHUNK):
            inner = query.sql
            cur.execute(
                f"SELECT group_concat({cols}, char(10)) FROM ({inner} AND id > %s AND id <= %s)",
                [start, start + CHUNK],
            )
            (text,) = cur.fetchone()
            if not text:
                continue
            names = [f.name for f in query.schema]
            parts.append(
                pcsv.read_csv(
                    io.BytesIO(text.encode("utf-8")),
                    read_options=pcsv.ReadOptions(column_names=names),
                    parse_options=pcsv.ParseOptions(delimiter=SEP, quote_char=False, escape_char=False),
                    convert_options=pcsv.ConvertOptions(
                        column_types={f.name: f.type for f in query.schema}, strings_can_be_null=False
                    ),
                )
            )
    return pa.concat_tables(parts) if parts else query.schema.empty_table()


def _postgres_adbc() -> Callable[[Query], pa.Table] | None:
    """PostgreSQL outside a transaction: ADBC's binary COPY straight into Arrow (a second connection,
    which inside a transaction would not see its uncommitted rows)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    import adbc_driver_postgresql.dbapi as adbc
    from psycopg.conninfo import make_conninfo

    params = connection.get_connection_params()
    keep = {k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname") and v}
    uri = make_conninfo(**{k: str(v) for k, v in keep.items()})

    def read(query: Query) -> pa.Table:
        with adbc.connect(uri) as conn, conn.cursor() as cur:
            cur.execute(query.sql)
            return _conform(cur.fetch_arrow_table(), query.schema)

    return read


_CHILD = r"""
import sys
import adbc_driver_manager as m
import adbc_driver_sqlite
import pyarrow as pa
path, folder = sys.argv[1], sys.argv[2]
for name, sql in zip(sys.argv[3::2], sys.argv[4::2]):
    db = adbc_driver_sqlite.connect(path)
    conn = m.AdbcConnection(db)
    stmt = m.AdbcStatement(conn)
    stmt.set_sql_query(sql)
    stmt.set_options(**{"adbc.sqlite.query.batch_rows": "16384"})  # not 1,024: 3M persons 0.6 s, not 0.75
    stream, _ = stmt.execute_query()
    reader = pa.RecordBatchReader._import_from_c(stream.address)
    with pa.OSFile(f"{folder}/{name}.arrow", "wb") as f, pa.ipc.new_file(f, reader.schema) as out:
        for batch in reader:
            out.write_batch(batch)
    reader.close()
    stmt.close()
    conn.close()
    db.close()
"""


class ChildRead:
    """Tables read by ADBC in child processes (one per group of queries, all started at once), each
    written as an Arrow file that this process maps into memory without copying. Never ADBC in this
    process: it brings its own SQLite library, and two SQLite libraries in one process break each
    other's locks (SIGBUS seen here). The children start when this is made; :meth:`result` waits."""

    def __init__(self, path: str, groups: list[dict[str, Query]]) -> None:
        import subprocess
        import sys
        import tempfile

        self.folder = tempfile.mkdtemp(prefix="dixian-registry-")
        self.schemas = {name: q.schema for group in groups for name, q in group.items()}
        self.procs = []
        for group in groups:
            args = [a for name, q in group.items() for a in (name, q.sql)]
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", _CHILD, path, self.folder, *args],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )

    def result(self) -> dict[str, pa.Table]:
        import shutil
        from pathlib import Path

        try:
            errors = []
            for proc in self.procs:
                _, err = proc.communicate(timeout=600)
                if proc.returncode != 0:
                    errors.append(err.decode(errors="replace")[-2000:])
            if errors:
                raise RuntimeError("registry reader failed: " + "\n".join(errors))
            tables = {}
            for name, schema in self.schemas.items():
                with pa.memory_map(str(Path(self.folder) / f"{name}.arrow")) as source:
                    tables[name] = _conform(pa.ipc.open_file(source).read_all(), schema)
            return tables  # the maps outlive the files' names (removed below)
        finally:
            for proc in self.procs:
                if proc.poll() is None:
                    proc.kill()
            shutil.rmtree(self.folder, ignore_errors=True)


def can_read_elsewhere() -> bool:
    """Whether the registry's tables may be read on other connections (threads, child processes):
    another connection sees the same data only outside a transaction, and an in-memory SQLite
    database (the test suite's) not at all."""
    if connection.in_atomic_block:
        return False
    return connection.vendor != "sqlite" or sqlite_file(connection.settings_dict) is not None


def _sqlite_child_path() -> str | None:
    """The database file, when SQLite is read by children: where other connections may read it, and
    only for registries where the children's start (about 0.3 s) pays off."""
    if connection.vendor != "sqlite" or not can_read_elsewhere():
        return None
    path = sqlite_file(connection.settings_dict)
    from dixian.registry.models import Person

    with connection.cursor() as cur:
        cur.execute(f"SELECT MAX(id) FROM {Person._meta.db_table}")
        (largest,) = cur.fetchone()
    return path if (largest or 0) > CHILD_FROM_ROWS else None


def child_reader(path: str) -> Callable[[Query], pa.Table]:
    """One query in one child (the tests compare it with the other readers)."""

    def read(query: Query) -> pa.Table:
        return ChildRead(path, [{"t": query}]).result()["t"]

    return read


def reader() -> Callable[[Query], pa.Table]:
    """How the registry is read in this process, on this connection (when not by children)."""
    if connection.vendor == "sqlite":
        return _sqlite_table
    return _postgres_adbc() or _cursor_table


class RegistryRead:
    """The registry being read: started when made (children or threads, where the database allows
    reading on other connections), so the caller can prepare the rules meanwhile; :meth:`result`
    gives the :class:`Registry`."""

    def __init__(self, county_code: str, needs: frozenset[str] = NEEDS, *, parallel: bool = False) -> None:
        self.county_code = county_code
        self.queries = _queries(county_code, needs)
        self.children = self.pool = self.futures = None
        path = _sqlite_child_path() if parallel else None
        if path is not None:  # the persons in one child, the households and surveys in another
            persons = {"persons": self.queries["persons"]}
            rest = {k: q for k, q in self.queries.items() if k != "persons"}
            self.children = ChildRead(path, [persons, rest])
        elif parallel:
            from concurrent.futures import ThreadPoolExecutor

            from django.db import connections

            read = reader()

            def in_thread(query: Query) -> pa.Table:
                try:
                    return read(query)
                finally:
                    connections.close_all()

            self.pool = ThreadPoolExecutor(max_workers=len(self.queries))
            self.futures = {name: self.pool.submit(in_thread, q) for name, q in self.queries.items()}

    def result(self) -> Registry:
        if self.children is not None:
            tables = self.children.result()
        elif self.futures is not None:
            try:
                tables = {name: f.result() for name, f in self.futures.items()}
            finally:
                self.pool.shutdown()
        else:
            read = reader()
            tables = {name: read(query) for name, query in self.queries.items()}
        return Registry(county_prefix=self.county_code[:6], **tables)


def read_registry(county_code: str, needs: frozenset[str] = NEEDS, *, parallel: bool = False) -> Registry:
    """Active persons, households and income surveys of the county, with the columns in ``needs``
    (``birth_date``, ``works``). ``parallel``: read the tables at once on connections of
    their own (children for a big SQLite registry, else threads; the database does the work with
    Python's lock released) — only outside a transaction, where other connections see the same rows."""
    return RegistryRead(county_code, needs, parallel=parallel).result()
