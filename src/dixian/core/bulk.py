"""Writing many rows at once without a model instance per row (imports, screening runs)."""

from __future__ import annotations

import json


def _json_text(value) -> str:
    """JSON text of a field value; the many empty lists and dicts without calling the encoder."""
    if isinstance(value, list) and not value:
        return "[]"
    if isinstance(value, dict) and not value:
        return "{}"
    return json.dumps(value, ensure_ascii=False)


def written_fields(model) -> list:
    """The columns an insert writes: all but the id and the generated ones (the database's to
    compute; writing one is an error)."""
    return [
        f for f in model._meta.concrete_fields if not f.primary_key and not getattr(f, "generated", False)
    ]


def fast_insert(model, rows: list[dict], chunk: int = 5000) -> None:
    """INSERT plain rows (dicts of field attnames) without model instances: each column converted once
    per value by a converter chosen per field type (JSON, datetime go through the field; the rest as
    is); fields a row does not give take their default."""
    if not rows:
        return
    import operator

    from django.db import connection
    from django.db import models as m

    fields = [f for f in written_fields(model) if f.attname in rows[0]]
    names = [f.attname for f in fields]
    getter = operator.itemgetter(*names)
    convs = []
    for i, f in enumerate(fields):
        if isinstance(f, m.JSONField):
            convs.append((i, _json_text))
        elif isinstance(f, m.DateTimeField) and connection.vendor != "postgresql":
            cache: dict = {}

            def conv(v, f=f, cache=cache):
                key = id(v)
                if key not in cache:
                    cache[key] = (v, f.get_db_prep_save(v, connection))
                return cache[key][1]

            convs.append((i, conv))

    def values():
        for r in rows:
            t = list(getter(r))
            for i, fn in convs:
                t[i] = fn(t[i])
            yield t

    insert_values(model, names, values(), chunk=chunk)


def insert_values(model, columns: list[str], rows, chunk: int = 5000) -> None:
    """INSERT rows given as sequences of database-ready values (JSON as text, dates as ISO text or
    dates, decimals) for the fields named in ``columns`` (attnames); every other field takes its
    default. PostgreSQL: COPY; SQLite: ``executemany`` in chunks."""
    import itertools

    from django.db import connection
    from django.db import models as m

    by_name = {f.attname: f for f in written_fields(model)}
    missing = [f for n, f in by_name.items() if n not in columns]
    tail = []
    for f in missing:
        default = f.get_default()
        if isinstance(f, m.JSONField):
            default = _json_text(default)
        elif default is not None:
            default = f.get_db_prep_save(default, connection)
        tail.append(default)
    tail = tuple(tail)
    table = connection.ops.quote_name(model._meta.db_table)
    names = [by_name[n].column for n in columns] + [f.column for f in missing]
    cols = ", ".join(connection.ops.quote_name(c) for c in names)
    rows = iter(rows)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((*r, *tail))
            return
        # many rows per INSERT statement: SQLite's work per statement (reset, AUTOINCREMENT's
        # sqlite_sequence, foreign-key counters) is paid once per statement, not once per row as with
        # ``executemany`` (50,795 alerts: 1.4 s against 1.8 s). The statements are written with
        # SQLite's own ``?`` and run by the sqlite3 cursor's own ``execute``: Django's wrapper would
        # rewrite every ``%s`` of a 12,500-placeholder text with a regular expression on each call
        # (0.27 s for the 102 statements of 50,795 alerts)
        import sqlite3

        one = f"({', '.join(['?'] * len(names))})"

        def statement(n: int) -> str:
            return f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * n)}"

        per = max(1, min(chunk, ROWS_PER_STATEMENT, _sqlite_variables(connection) // len(names)))
        full = statement(per)
        raw = cur.cursor  # Django's SQLiteCursorWrapper, a sqlite3.Cursor
        while batch := list(itertools.islice(rows, per)):
            sql = full if len(batch) == per else statement(len(batch))
            sqlite3.Cursor.execute(raw, sql, [v for r in batch for v in (*r, *tail)])


ROWS_PER_STATEMENT = 500


def _sqlite_variables(connection) -> int:
    """How many ``?`` one SQLite statement may have (999 in SQLite before 3.32, 32,766 since)."""
    import sqlite3

    connection.ensure_connection()
    return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def ahead(rows, chunk: int = 2000, depth: int = 8):
    """The items of ``rows`` (an iterable that only computes: no database access), produced by a
    thread ahead of the consumer, at most ``depth`` chunks of ``chunk`` items ahead: building the rows
    in Python then overlaps a bulk insert, whose database work runs with Python's lock released.
    Exceptions of the producer reach the consumer."""
    import itertools
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            it = iter(rows)
            while not stop.is_set() and (batch := list(itertools.islice(it, chunk))):
                q.put(batch)
            q.put(done)
        except BaseException as exc:  # handed over to the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="dixian-rows", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)
