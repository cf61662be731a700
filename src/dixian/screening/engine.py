"""The screening engine: rules in, hits out (one interface, whatever runs the SQL).

Each rule is compiled to one SQL query over

* the feed's Parquet files (``read_parquet``): the department's latest file, and for the ``new``
  aggregate the one before it;
* the registry, handed over as Arrow tables ``persons`` and ``households`` (:func:`read_registry`).

The SQL runs in DuckDB in process. Nothing is interpreted row by row in Python. Money is compared in
integer fen, with thresholds that are exact decimals (a factor times an income in fen), so a
household right at a threshold cannot flip between runs. The same SQL, apart from ``read_parquet``,
is standard enough to run on Spark SQL (docs/decisions/0007-screening-engine.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from dixian.screening.feeds import SPECS
from dixian.screening.models import Aggregate, Comparison, GroupBy, Population, Subject

EVIDENCE_ROWS = 10

SUBJECT_SQL = {
    Subject.ANY: "TRUE",
    # 义务教育: aged 6 to 15 on the screening date
    Subject.SCHOOL_AGE: "p.birth_date IS NOT NULL AND date_diff('year', p.birth_date, {as_of}) "
    "- CASE WHEN strftime(p.birth_date, '%m-%d') > strftime({as_of}, '%m-%d') THEN 1 ELSE 0 END BETWEEN 6 AND 15",
    # 劳动年龄: 16 to 60 on the screening date
    Subject.WORKING_AGE: "p.birth_date IS NOT NULL AND date_diff('year', p.birth_date, {as_of}) "
    "- CASE WHEN strftime(p.birth_date, '%m-%d') > strftime({as_of}, '%m-%d') THEN 1 ELSE 0 END BETWEEN 16 AND 60",
    # the household's only member with months of work recorded
    Subject.ONLY_WORKER: "p.works AND h.workers = 1",
}


@dataclass
class Registry:
    """The registry as Arrow: who is registered, in which household, and the household figures."""

    persons: pa.Table  # id_number, household_id, birth_date (text), works (0/1)
    households: (
        pa.Table
    )  # household_id, household_no, region codes, type, category, size, ledger income in fen
    surveys: pa.Table  # household_id, window_end, survey_id, per_capita_fen, household_size
    county_prefix: (
        str  # the 6 digits of the county (ID numbers and insurance places starting with them are local)
    )


@dataclass
class CompiledRule:
    """A rule ready for the engine: its fields, the files to read and the resolved policy terms."""

    code: str
    feed_type: str
    filters: list
    latest_only: bool
    window_months: int | None
    window_days: int | None
    subject: str
    group_by: str
    aggregate: str
    measure: str
    comparison: str
    threshold: list  # terms, policy terms already resolved to {"const": …}
    population: str
    files: list[str]  # the latest file
    previous_files: list[str] = field(default_factory=list)  # for ``new``


@dataclass(slots=True)
class Hit:
    """One group over the threshold. Its member lists and evidence come from DuckDB as JSON text
    (written as is into the alert's JSON columns: no Python objects for millions of evidence cells)."""

    subject_key: str
    household_id: int | None
    # the aggregate and the threshold in the rule's unit, as DuckDB's text with two decimals: yuan for
    # money (from the exact fen, rounded half up to the fen), the number itself for counts and days
    value: str
    threshold: str | None  # None: not computable (no income figures, no policy value)
    fires: bool  # the exact value over the exact threshold by the rule's comparison
    place_code: str  # for people not registered: an insurance place code, if any
    township_code: str = ""  # a registered household's (the region of its alert)
    village_code: str = ""
    ids_json: str = "[]"
    names_json: str = "[]"
    evidence_json: str = "[]"

    @property
    def id_numbers(self) -> list[str]:
        return json.loads(self.ids_json)

    @property
    def names(self) -> list[str]:
        return json.loads(self.names_json)

    @property
    def evidence(self) -> list[int]:
        """The row numbers (行号) of up to ``EVIDENCE_ROWS`` of the hit's rows, latest first."""
        return json.loads(self.evidence_json)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value) -> str:
    if isinstance(value, (int, Decimal)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _date_lit(d: date) -> str:
    return f"DATE '{d.isoformat()}'"


def is_money(feed_type: str, column: str) -> bool:
    return column in SPECS[feed_type].money


def _cond_sql(cond: dict, feed_type: str, alias: str = "f") -> str:
    if "any" in cond:
        return "(" + " OR ".join(_cond_sql(c, feed_type, alias) for c in cond["any"]) + ")"
    col = f"{alias}.{_q(cond['column'])}"
    op, value = cond["op"], cond["value"]
    if op in ("in", "not_in"):
        items = ", ".join(_lit(v) for v in value)
        sql = f"{col} IN ({items})"
        return f"({col} IS NOT NULL AND {sql})" if op == "in" else f"({col} IS NULL OR NOT {sql})"
    sym = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
    if op in ("gt", "ge", "lt", "le") or is_money(feed_type, cond["column"]):
        if is_money(feed_type, cond["column"]):
            return f"(CAST({col} AS DECIMAL(18,2)) {sym} CAST({_lit(Decimal(str(value)))} AS DECIMAL(18,2)))"
        return f"(TRY_CAST({col} AS DECIMAL(18,2)) {sym} {_lit(Decimal(str(value)))})"
    if op == "ne":
        return f"({col} IS NULL OR {col} <> {_lit(value)})"
    return f"({col} = {_lit(value)})"


def window_start(rule: CompiledRule, as_of: date) -> date | None:
    """The first day of the rule's window (inclusive); the window ends on the screening date."""
    if rule.window_days:
        return as_of - timedelta(days=rule.window_days - 1)
    if rule.window_months:
        y, m = as_of.year, as_of.month - rule.window_months
        while m <= 0:
            y, m = y - 1, m + 12
        import calendar

        d = min(as_of.day, calendar.monthrange(y, m)[1])
        return date(y, m, d) + timedelta(days=1)
    return None


def stored_rows_sql(files: list[str], spec) -> str:
    """The stored rows of a department's files, as a FROM item. The ID number as written is stored
    only where it differs from the normalised one (decision 0010): it is filled in here, and DuckDB
    computes it only for a query that uses it."""
    source = f"read_parquet([{', '.join(_lit(p) for p in files)}])"
    if not spec.id_column:
        return source
    raw = _q(spec.id_column)
    return f"(SELECT * REPLACE (coalesce({raw}, {_q('证件号码_规范')}) AS {raw}) FROM {source})"


def feed_sql(rule: CompiledRule, as_of: date) -> str:
    """The feed's rows that the rule looks at, with only what the later steps need: ``row_no``,
    ``row_date``, ``v`` (the measure: fen, days or 1), ``id`` (or ``village`` for water), and for people
    not registered ``name`` and ``place``. Needs no registry, so it can run while the registry is read."""
    spec = SPECS[rule.feed_type]
    as_of_sql = _date_lit(as_of)
    date_col = spec.dates[0]
    id_col = "证件号码_规范" if spec.id_column else None
    base = f"SELECT * FROM {stored_rows_sql(rule.files, spec)} WHERE {_q(date_col)} <= {as_of_sql}"
    if rule.latest_only:  # each person's (village's) latest row first, then the filters
        key = _q(id_col) if id_col else _q("区划代码")
        base = (
            f"SELECT * FROM ({base}) QUALIFY row_number() OVER "
            f"(PARTITION BY {key} ORDER BY {_q(date_col)} DESC, {_q('行号')} DESC) = 1"
        )
    where = [_cond_sql(c, rule.feed_type) for c in rule.filters]
    start = window_start(rule, as_of)
    if start is not None:
        where.append(f"f.{_q(date_col)} >= {_date_lit(start)}")
    if rule.aggregate == Aggregate.NEW and rule.previous_files:
        prev = stored_rows_sql(rule.previous_files, spec)
        key_cols = [id_col or "区划代码", date_col] + sorted(
            {c["column"] for c in _flat(rule.filters)} - {id_col or "区划代码", date_col}
        )
        on = " AND ".join(f"o.{_q(c)} IS NOT DISTINCT FROM f.{_q(c)}" for c in key_cols)
        where.append(f"NOT EXISTS (SELECT 1 FROM {prev} o WHERE {on})")
    measure = "1"
    if rule.measure:
        measure = f"CAST(CAST(f.{_q(rule.measure)} AS DECIMAL(18,2)) * 100 AS BIGINT)"
    if rule.aggregate == Aggregate.DAYS:
        end = f"least(coalesce(f.{_q('断水结束日期')}, {as_of_sql}), {as_of_sql})"
        measure = f"date_diff('day', f.{_q('断水开始日期')}, {end})"
    cols = [f"f.{_q('行号')} AS row_no", f"f.{_q(date_col)} AS row_date", f"{measure} AS v"]
    if id_col:
        cols.append(f"f.{_q(id_col)} AS id")
    else:
        cols.append(f"rpad(f.{_q('区划代码')}, 12, '0') AS village")
    if rule.population == Population.UNREGISTERED:
        name_col = _q("姓名") if "姓名" in spec.columns else _q("户主姓名")
        place = f"f.{_q('参保地区划代码')}" if "参保地区划代码" in spec.columns else "NULL::VARCHAR"
        cols += [f"f.{name_col} AS name", f"{place} AS place"]
    return f"SELECT {', '.join(cols)} FROM ({base}) f" + (f" WHERE {' AND '.join(where)}" if where else "")


def compile_sql(
    rule: CompiledRule,
    as_of: date,
    *,
    county_prefix: str,
    with_threshold: bool = True,
    only: str | None = None,
    source: str | None = None,
    matched_table: str | None = None,
) -> tuple[str, str]:
    """(matched rows SQL, hits SQL over those rows) for one rule.

    ``source`` is a table holding the rule's :func:`feed_sql` rows (default: the query itself).
    ``only`` names a table with a column ``k`` (the rule's group keys: household ids or ID numbers):
    the rows are then restricted to those keys early, through the registry tables or the feed's ID.
    ``matched_table``: the hits SQL reads the matched rows from that table (made from the first SQL)
    instead of embedding the query."""
    as_of_sql = _date_lit(as_of)
    src = source or f"({feed_sql(rule, as_of)})"
    persons, households = "persons", "households"
    water = SPECS[rule.feed_type].id_column is None
    if only and rule.population != Population.UNREGISTERED:
        if water:
            households = f"(SELECT * FROM households WHERE household_id IN (SELECT k FROM {only}))"
        elif rule.group_by == GroupBy.PERSON:
            persons = f"(SELECT *, rowid AS pid FROM persons WHERE id_number IN (SELECT k FROM {only}))"
        else:
            persons = f"(SELECT *, rowid AS pid FROM persons WHERE household_id IN (SELECT k FROM {only}))"
    population = {
        Population.LIFTED: "h.lifted",
        Population.MONITORED: "h.monitored",
        Population.REGISTERED: "TRUE",
        Population.UNREGISTERED: "TRUE",
    }
    rows = "f.v, f.row_no, f.row_date"
    if rule.population == Population.UNREGISTERED:
        local = f"(starts_with(f.id, {_lit(county_prefix)}) OR starts_with(coalesce(f.place, ''), {_lit(county_prefix)}))"
        if only:
            local += f" AND f.id IN (SELECT k FROM {only})"
        matched = (
            f"SELECT f.id AS k, f.name, f.place AS place_code, {rows} "
            f"FROM {src} f ANTI JOIN persons p ON p.id_number = f.id WHERE {local}"
        )
    elif water:  # by village, to every registered household of the village
        matched = f"SELECT h.household_id AS k, {rows} FROM {src} f JOIN {households} h ON h.village_code = f.village"
    else:
        subject = SUBJECT_SQL[rule.subject].format(as_of=as_of_sql)
        key = "p.id_number" if rule.group_by == GroupBy.PERSON else "p.household_id"
        # the households are joined after grouping (a million groups, not every matched row), unless
        # the subject needs them on each row
        by_row = (
            "JOIN households h ON h.household_id = p.household_id "
            if rule.subject == Subject.ONLY_WORKER
            else ""
        )
        # the person as the row id of the registry's table (``pid``), not the ID number's text:
        # millions of matched rows stay a few hundred MB, within DuckDB's memory without spilling
        household = ", p.household_id" if rule.group_by == GroupBy.PERSON else ""
        matched = (
            f"SELECT {key} AS k{household}, p.{'rowid' if persons == 'persons' else 'pid'} AS pid, {rows} "
            f"FROM {src} f JOIN {persons} p ON p.id_number = f.id {by_row}WHERE {subject}"
        )

    # 3. group, compare
    agg = {
        Aggregate.SUM: "sum(v)",
        Aggregate.MAX: "max(v)",
        Aggregate.DAYS: "max(v)",
        Aggregate.COUNT: "count(*)",
        Aggregate.EXISTS: "count(*)",
        Aggregate.NEW: "count(*)",
    }[rule.aggregate]
    terms = []
    for t in rule.threshold:
        factor = Decimal(t.get("factor", "1"))
        if "const" in t:
            c = Decimal(t["const"])
            terms.append(_lit(c * 100 if rule.measure else c))
        elif t["of"] == "household_net_income":
            terms.append(f"CAST({_lit(factor)} AS DECIMAL(9,4)) * h.net_income_fen")
    if terms:
        threshold = f"list_min([{', '.join(terms)}])" if len(terms) > 1 else terms[0]
        cmp = ">" if rule.comparison == Comparison.GT else ">="
    else:
        threshold, cmp = "0", ">"
    prefix = "person:" if rule.group_by == GroupBy.PERSON else "household:"
    rows_from = matched_table or f"({matched})"
    if rule.population == Population.UNREGISTERED:
        household, place = "NULL::BIGINT", "any_value(place_code)"
    elif rule.group_by == GroupBy.PERSON and not water:
        household, place = "any_value(household_id)", "NULL::VARCHAR"
    else:
        household, place = "k", "NULL::VARCHAR"
    grouped = f"SELECT k, {household} AS household_id, {place} AS place_code, {agg} AS value FROM {rows_from} m GROUP BY k"
    hits = (
        f"SELECT g.k, g.household_id, g.place_code, g.value, {threshold} AS threshold, "
        "coalesce(h.township_code, '') AS township_code, coalesce(h.village_code, '') AS village_code "
        f"FROM ({grouped}) g "
        f"LEFT JOIN households h ON h.household_id = g.household_id WHERE {population[rule.population]}"
    )
    # whether each hit fires, compared once, exactly (a threshold that cannot be computed never fires)
    hits = f"SELECT *, coalesce(value {cmp} threshold, false) AS fires FROM ({hits})"
    if with_threshold:
        hits = f"SELECT * FROM ({hits}) WHERE fires"
    hits = f"SELECT '{prefix}' || CAST(k AS VARCHAR) AS subject_key, * FROM ({hits})"
    return matched, hits


def _flat(conds: list) -> list:
    out = []
    for c in conds:
        out.extend(_flat(c["any"]) if "any" in c else [c])
    return out


def _units_sql(expr: str, money: bool) -> str:
    """A figure in the rule's unit as text with two decimals: fen to yuan, rounded half away from zero
    to the fen (decimal × 0.01 stays decimal in DuckDB, where ÷ 100 would give a double); other
    figures rounded to two decimals. The same as ``Decimal.quantize(…, ROUND_HALF_UP)``
    (tests/screening/test_engine_units.py)."""
    if money:
        return f"CAST(round({expr}) * 0.01 AS VARCHAR)"
    return f"CAST(CAST(round({expr}, 2) AS DECIMAL(38,2)) AS VARCHAR)"


def _key_type(rule: CompiledRule) -> str:
    return "VARCHAR" if rule.group_by == GroupBy.PERSON else "BIGINT"


def run_rule(
    con,
    rule: CompiledRule,
    as_of: date,
    registry: Registry,
    *,
    subjects: list[str] | None = None,
    with_threshold: bool = True,
    source: str | None = None,
) -> list[Hit]:
    """Run one compiled rule on a connection made by :func:`connect` (``source``: a table of its
    :func:`feed_sql` rows, if made beforehand): the rule's rows joined with the registry are kept in a
    temporary table, the hits grouped from it, then the hits' members and evidence row numbers.
    ``subjects`` (``household:ID`` / ``person:证件号码``) restricts the rows. Each hit of a registered
    household carries the household's township and village (from the registry's tables)."""
    prefix = "person:" if rule.group_by == GroupBy.PERSON else "household:"
    only = None
    if subjects is not None:
        keys = [s[len(prefix) :] for s in subjects if s.startswith(prefix)]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE wanted AS SELECT CAST(unnest(?::VARCHAR[]) AS {_key_type(rule)}) AS k",
            [keys],
        )
        only = "wanted"
    common = {"county_prefix": registry.county_prefix, "source": source}
    # the rule's rows joined with the registry, once: the hits and then their members and evidence
    # come from this table (a second pass over the feed cost more than keeping the matched rows)
    matched, hits = compile_sql(
        rule, as_of, with_threshold=with_threshold, only=only, matched_table="matched", **common
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE matched AS {matched}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE hits AS {hits}")
    if con.execute("SELECT count(*) FROM hits").fetchone()[0] == 0:
        con.execute("DROP TABLE matched")
        return []
    # the hits' ID numbers (through the registry's row numbers, or the feed's own for people not
    # registered), names (people not registered) and evidence row numbers, latest first
    # the top rows by (date descending, row number ascending) as one BIGINT key per row: a top-n
    # aggregate, cheaper than sorting each hit's whole list
    key = "(date_diff('day', DATE '1900-01-01', m.row_date)::BIGINT << 32) + (4294967295 - m.row_no)"
    evidence = f"list_transform(max({key}, {EVIDENCE_ROWS}), lambda x: 4294967295 - (x & 4294967295))"
    if rule.population == Population.UNREGISTERED:
        lists = (
            "SELECT k, list_sort(list_distinct(list(k))) AS ids, list_sort(list_distinct(list(m.name))) AS names, "
            f"{evidence} AS ev FROM matched m SEMI JOIN hits USING (k) GROUP BY k"
        )
    elif SPECS[rule.feed_type].id_column is None:
        lists = f"SELECT k, []::VARCHAR[] AS ids, []::VARCHAR[] AS names, {evidence} AS ev FROM matched m SEMI JOIN hits USING (k) GROUP BY k"
    else:
        lists = (
            "SELECT m.k, list_sort(list_distinct(list(p.id_number))) AS ids, []::VARCHAR[] AS names, "
            f"{evidence} AS ev FROM matched m SEMI JOIN hits USING (k) JOIN persons p ON p.rowid = m.pid GROUP BY m.k"
        )
    sql = (
        # the figures handed over in the rule's unit as text (no Python Decimal per hit: DuckDB's own
        # conversion of HUGEINT and DECIMAL costs more than the rest)
        f"SELECT h.subject_key, h.household_id, h.place_code, {_units_sql('h.value', bool(rule.measure))}, "
        f"{_units_sql('h.threshold', bool(rule.measure))}, h.fires, "
        "h.township_code, h.village_code, to_json(coalesce(l.ids, [])), to_json(coalesce(l.names, [])), to_json(coalesce(l.ev, [])) FROM hits h "
        f"LEFT JOIN ({lists}) l USING (k) ORDER BY h.subject_key"
    )
    rows = con.execute(sql).fetchall()
    con.execute("DROP TABLE matched")
    return [
        Hit(
            subject_key=subject_key,
            household_id=household_id,
            value=value,
            threshold=threshold,
            fires=fires,
            place_code=place or "",
            township_code=township,
            village_code=village,
            ids_json=ids,
            names_json=names,
            evidence_json=evidence,
        )
        for subject_key, household_id, place, value, threshold, fires, township, village, ids, names, evidence in rows
    ]


def connect(*, memory_limit: str = "1200MB", threads: int | None = None):
    """A DuckDB connection for screening: in memory, no extension ever fetched, spilling to the
    system's temp folder."""
    import tempfile

    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = '{Path(tempfile.gettempdir()) / 'dixian-duckdb'}'")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def attach_registry(con, registry: Registry) -> None:
    """The registry's tables on the connection: ``persons`` (a table: with its statistics DuckDB
    builds the join on the registry, not on the feed) and
    ``households`` with each household's township and village, annual net income and number of
    workers."""
    con.register("persons_arrow", registry.persons)
    con.register("households_arrow", registry.households)
    con.register("surveys_arrow", registry.surveys)
    names = registry.persons.schema.names
    birth = "TRY_CAST(birth_date AS DATE)" if "birth_date" in names else "NULL::DATE"
    works = "works = 1" if "works" in names else "FALSE"
    con.execute(
        f"CREATE TEMP TABLE persons AS SELECT id_number, household_id, {birth} AS birth_date, {works} AS works "
        "FROM persons_arrow"
    )
    # the household's annual net income: its latest survey's per-capita net income × the survey's size;
    # else the ledger's (computed in the database query)
    con.execute(
        """
        CREATE TEMP TABLE households AS
        WITH latest AS (
            SELECT * FROM surveys_arrow
            QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY window_end DESC, survey_id DESC) = 1
        ), workers AS (
            SELECT household_id, count(*) AS workers FROM persons WHERE works GROUP BY household_id
        )
        SELECT h.household_id, h.township_code, h.village_code,
               h.lifted = 1 AS lifted,
               h.monitored = 1 AS monitored,
               coalesce(w.workers, 0) AS workers,
               CASE
                 WHEN s.per_capita_fen IS NOT NULL THEN s.per_capita_fen * s.household_size
                 ELSE h.ledger_net_fen
               END AS net_income_fen
        FROM households_arrow h
        LEFT JOIN latest s USING (household_id)
        LEFT JOIN workers w USING (household_id)
        """
    )
    for name in ("persons_arrow", "households_arrow", "surveys_arrow"):
        con.unregister(name)
