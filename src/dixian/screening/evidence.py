"""An alert's evidence: the department's rows behind it, read back from the file Dixian keeps.

Alerts keep the row numbers (行号) of up to ten rows and the file they come from (``Alert.evidence``,
``Alert.evidence_file``); the file's normalised Parquet is kept for as long as the alert (it is never
rewritten: a file is stored under its checksum). Reading ten rows of a 30M-row file takes a few
milliseconds: the rows are in 行号 order, so Parquet's row-group statistics skip the rest.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dixian.screening.feeds import SPECS


def rows_of(feed_file, row_numbers: list[int]) -> list[dict]:
    """The rows, in the given order, as text (dates ISO, money as written with two decimals)."""
    if not row_numbers or feed_file is None or not Path(feed_file.stored_path).exists():
        return []
    spec = SPECS[feed_file.feed_type]
    cols = ["行号", *spec.columns]
    rows = pl.scan_parquet(feed_file.stored_path).filter(pl.col("行号").is_in([int(n) for n in row_numbers]))
    if spec.id_column:  # stored only where it differs from the normalised number (decision 0010)
        rows = rows.with_columns(pl.coalesce(spec.id_column, "证件号码_规范").alias(spec.id_column))
    frame = rows.select([pl.col(c).cast(pl.Utf8) for c in cols]).collect()
    by_row = {r["行号"]: r for r in frame.iter_rows(named=True)}
    out = []
    for n in row_numbers:
        row = by_row.get(str(n))
        if row is not None:
            out.append({"文件": feed_file.file_name, **row})
    return out
