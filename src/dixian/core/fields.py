"""Model fields of our own."""

from __future__ import annotations

from django.db import models


class WrittenJSONField(models.JSONField):
    """A JSON field whose values only Dixian's own serialisers write (json.dumps, DuckDB's to_json):
    without the ``CHECK (JSON_VALID(…))`` that Django adds on SQLite, which parses every value again on
    insert (for a screening run's 50,795 alerts with three such columns: 0.7 s of a 1.6 s insert).
    Reading and writing are those of ``JSONField``; on PostgreSQL it is ``jsonb`` as before."""

    def db_check(self, connection):
        return None
