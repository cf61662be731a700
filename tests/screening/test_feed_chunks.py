"""A CSV file is cut into chunks at records' ends, so that the chunks can be parsed in parallel: the
rows are those of one parse of the whole file, wherever the cuts fall."""

from __future__ import annotations

import io
import random

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dixian.core import fastcheck as fc
from dixian.screening import feedpass

HEADER = ["证件号码", "姓名", "备注"]


def whole(data: bytes) -> dict:
    """One parse of the whole file by Arrow, as the chunks are parsed."""
    table = pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(HEADER, pa.string()), strings_can_be_null=False
        ),
    )
    return table.to_pydict()


def chunked(path) -> dict:
    out = {c: [] for c in HEADER}
    for task in feedpass.csv_batches(path, HEADER):
        for c, values in task().to_pydict().items():
            out[c] += values
    return out


cells = st.one_of(
    st.text(alphabet="ab张 1", max_size=6),
    st.text(alphabet='ab"\n,', max_size=6).map(lambda t: '"' + t.replace('"', '""') + '"'),  # quoted
    st.sampled_from(['x"y', "", '"a""b"', '"多\n行"', '"x"y']),  # a stray quote; a quote then text
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(cells, min_size=3, max_size=3), max_size=40),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.integers(7, 64),
)
def test_chunks_give_the_rows_of_one_parse(tmp_path_factory, rows, newline, bom, block):
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    data = ("\ufeff" if bom else "").encode() + (newline.join(lines) + newline).encode()
    path = tmp_path_factory.mktemp("c") / "f.csv"
    path.write_bytes(data)
    try:
        expected = whole(data)
    except pa.ArrowInvalid:
        return  # rows Arrow refuses (a field count that differs): the load refuses them too
    feedpass.CSV_BLOCK, saved = block, feedpass.CSV_BLOCK
    try:
        assert chunked(path) == expected
    finally:
        feedpass.CSV_BLOCK = saved


def test_a_quoted_newline_across_a_chunk_boundary(tmp_path, monkeypatch):
    monkeypatch.setattr(feedpass, "CSV_BLOCK", 16)
    rows = [["110", '"第一行\n第二行\n第三行"', "x"], ["111", "b", '"c,d"'], ["112", "", ""]] * 20
    data = (",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in rows) + "\n").encode()
    path = tmp_path / "q.csv"
    path.write_bytes(data)
    assert chunked(path) == whole(data)
    parsed = [task() for task in feedpass.csv_batches(path, HEADER)]  # each chunk parsed: buffer freed
    assert len(parsed) > 10


def test_last_record_end_reads_quotes_as_arrow_does():
    def end(text: str) -> int:
        return fc.last_record_end(np.frombuffer(text.encode(), dtype=np.uint8))

    assert end("a,b\nc,d") == 4
    assert end('a,"b\nc",d\n') == 10
    assert end('a,"b\nc') == -1  # inside quotes: no whole record
    assert end('a,x"y\nb,c') == 6  # a quote inside a field is text
    assert end('a,"x""\ny"\n') == 10  # "" inside quotes is a quote
    assert end("no newline") == -1


def test_a_file_that_ends_without_a_newline_or_with_empty_lines(tmp_path):
    for text in ["a,b,c\n1,2,3", "a,b,c\n1,2,3\n\n\n4,5,6\n\n"]:
        path = tmp_path / "e.csv"
        data = text.replace("a,b,c", ",".join(HEADER)).encode()
        path.write_bytes(data)
        assert chunked(path) == whole(data)


@pytest.mark.parametrize("seed", range(3))
def test_large_random_file_in_small_chunks(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    monkeypatch.setattr(feedpass, "CSV_BLOCK", 1000)
    pieces = ["abc", '"q,\n"', '"x""y"', "张三", "", '"\n"']
    rows = [",".join(rng.choice(pieces) for _ in HEADER) for _ in range(3000)]
    data = (",".join(HEADER) + "\n" + "\n".join(rows) + "\n").encode()
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    assert chunked(path) == whole(data)


@pytest.mark.parametrize("found", [0, 3, 10_000])
def test_chunks_with_many_quotes_are_read_byte_by_byte_alike(tmp_path, monkeypatch, found):
    """Few quotes are settled from their positions, many by reading every byte: the same cuts."""
    monkeypatch.setattr(feedpass, "QUOTES_FOUND", found)
    monkeypatch.setattr(feedpass, "CSV_BLOCK", 300)
    rng = random.Random(found)
    pieces = ['"q,\n"', '"x""y"', 'a"b', '""', '"\n\n"', "z", '"a"b']
    rows = [",".join(rng.choice(pieces) for _ in HEADER) for _ in range(500)]
    data = (",".join(HEADER) + "\n" + "\n".join(rows) + "\n").encode()
    path = tmp_path / "q.csv"
    path.write_bytes(data)
    assert chunked(path) == whole(data)


def test_stored_rows_fill_in_the_id_number_as_written(tmp_path):
    """The stored file keeps the ID number as written only where it differs from the normalised one;
    the engine's FROM item fills it in, so a rule that filters on it sees every row."""
    import duckdb
    import pyarrow.parquet as pq

    from dixian.screening.engine import stored_rows_sql
    from dixian.screening.feeds import SPECS

    path = tmp_path / "s.parquet"
    pq.write_table(
        pa.table(
            {
                "行号": pa.array([2, 3], pa.uint32()),
                "证件号码_规范": ["11010519491231002X", "110105194912310029"],
                "证件号码": [None, " 11010519491231002 9"],
            }
        ),
        path,
    )
    sql = f"SELECT 证件号码 FROM {stored_rows_sql([str(path)], SPECS['medical'])} ORDER BY 行号"
    assert duckdb.sql(sql).fetchall() == [("11010519491231002X",), (" 11010519491231002 9",)]
    water = f"SELECT count(*) FROM {stored_rows_sql([str(path)], SPECS['water'])}"
    assert duckdb.sql(water).fetchall() == [(2,)]
