"""One pass over a department's file: read it in batches, check every cell, keep the accepted rows as
Parquet, count the refusals and the registered persons. Used by :func:`services.load_feed`.

How (decision 0010): a CSV file is cut into chunks at records' ends, each parsed by Arrow's CSV reader
in the thread that checks it (an .xlsx or .parquet file is read by polars in batches), all columns as
text. Each batch is checked by the compiled kernels of
:mod:`dixian.core.fastcheck`, which decide the cells in their usual spelling (nearly all of them) and
pass the others to the full parsers (the polars implementations in :mod:`dixian.core.idcard` and
:mod:`dixian.core.parsing`), so every verdict is the one those give. Batches are checked in two threads
(the kernels and Arrow release the GIL) and written in file order; memory stays bounded by a few
batches and one row group.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dixian.core import fastcheck as fc
from dixian.core import idcard, parsing
from dixian.core.bulk import ahead
from dixian.core.errors import ValidationError
from dixian.core.files import csv_header

SAMPLES = 20
CSV_BLOCK = 1 << 26  # bytes of CSV per batch (about 750,000 rows of a medical feed)
ROW_GROUP = 1 << 20  # rows per row group of the stored Parquet
BATCH_ROWS = 200_000  # rows per batch from .xlsx and .parquet files
QUOTES_FOUND = 10_000  # quotes in a chunk found one by one; with more, its every byte is read
PENDING = 3  # batches read or being checked ahead of the one being written
BUFFERS = PENDING + 4  # chunk buffers: queued, being parsed (2), being filled, spare
ACCEPTED = 255  # the refusal code of an accepted row
# The stored Parquet's codec: lz4 costs about a third of zstd's CPU for a file about 1.5 × as large;
# DuckDB reads either (see decision 0010).
PARQUET_COMPRESSION = "lz4"


class NotUtf8(Exception):
    """The CSV file is not UTF-8 after all (raised from the pass; the caller transcodes and retries)."""


# --------------------------------------------------------------------------- reading


def _record_end(data: bytes | bytearray, size: int) -> int:
    """The end of the last whole record in ``data`` (which starts at a record's start): the index
    after its newline, -1 if there is none. Quotes are read as Arrow's CSV parser reads them (see
    fastcheck.last_record_end, which reads every byte: used when a chunk holds many quotes); a chunk
    with few quotes is settled from their positions (found by memchr) alone. Reads ``data[:size]``."""
    cut = data.rfind(b"\n", 0, size)
    if cut < 0:
        return -1
    quotes = []
    at = data.find(b'"', 0, cut)
    while at >= 0:
        quotes.append(at)
        if len(quotes) > QUOTES_FOUND:
            return int(fc.last_record_end(np.frombuffer(data, dtype=np.uint8, count=size)))
        at = data.find(b'"', at + 1, cut)
    # the quoted stretches: a quote opens one at a field's start only; "" inside one is a quote
    stretches = []
    i, opened = 0, -1
    while i < len(quotes):
        q = quotes[i]
        if opened < 0:
            if q == 0 or data[q - 1] in (44, 10):  # after "," or a newline
                opened = q
            i += 1
        elif i + 1 < len(quotes) and quotes[i + 1] == q + 1:
            i += 2
        else:
            stretches.append((opened, q))
            opened, i = -1, i + 1
    if opened >= 0:
        stretches.append((opened, size))
    for start, end in reversed(stretches):  # the last newline outside them
        if end < cut:
            break
        if start < cut:
            cut = data.rfind(b"\n", 0, start)
            if cut < 0:
                return -1
    return cut + 1


def _header_end(data: bytes) -> int:
    """The end of the first record (the header): the index after its newline, -1 if there is none."""
    quoted = False
    for i, b in enumerate(data):
        if b == 34:  # a quote: the header's names are short, and quoted whole if at all
            quoted = not quoted
        elif b == 10 and not quoted:
            return i + 1
    return -1


def csv_batches(path: Path, columns: list[str]) -> Iterator[Callable[[], pa.RecordBatch]]:
    """The named columns of a UTF-8 CSV file as text, a chunk of about CSV_BLOCK bytes at a time: each
    item parses its chunk when called, so that the chunks are parsed in the threads that check them.
    A chunk ends at a record's end (quoted newlines stay inside their record). Empty lines are rows of
    empty cells, so that a row's number is its line in the file (as long as no value holds a newline)."""
    header = csv_header(path)
    parse_options = pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)
    convert_options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()),
        include_columns=columns,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )

    # Chunk buffers are used again once their chunk is parsed (Arrow copies the values out): fresh
    # 32 MiB buffers cost page faults on every chunk.
    free: queue.Queue[bytearray] = queue.Queue()
    made = 0

    def take_buffer(size: int) -> bytearray:
        nonlocal made
        buf = None
        if made >= BUFFERS:
            with contextlib.suppress(queue.Empty):  # a checking thread stopped (the pass failed)
                buf = free.get(timeout=5)
        if buf is None or len(buf) < size:
            made += buf is None
            buf = bytearray(max(size, CSV_BLOCK + (1 << 20)))
        return buf

    def parser(buf: bytearray, size: int) -> Callable[[], pa.RecordBatch]:
        def parse() -> pa.RecordBatch:
            try:
                table = pacsv.read_csv(
                    pa.BufferReader(pa.py_buffer(memoryview(buf)[:size])),
                    # the whole chunk as one block (a block boundary inside a quoted value fails)
                    read_options=pacsv.ReadOptions(
                        column_names=header, use_threads=False, block_size=max(size + 1, 1 << 16)
                    ),
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
            except pa.ArrowInvalid as exc:
                if "UTF8" in str(exc):
                    raise NotUtf8(str(exc)) from exc
                raise ValidationError(f"无法读取该文件：{str(exc).splitlines()[0]}") from exc
            finally:
                free.put(buf)
            return pa.RecordBatch.from_arrays(
                [c.combine_chunks() for c in table.columns], names=table.column_names
            )

        return parse

    with path.open("rb") as f:
        head = f.read(CSV_BLOCK)
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        while (end := _header_end(head)) < 0:
            more = f.read(CSV_BLOCK)
            if not more:
                return
            head += more
        carry = head[end:]
        while True:
            buf = take_buffer(len(carry) + CSV_BLOCK)
            buf[: len(carry)] = carry
            view = memoryview(buf)
            got = f.readinto(view[len(carry) : len(carry) + CSV_BLOCK])
            size = len(carry) + got
            if not got:
                if size:
                    yield parser(buf, size)
                return
            end = _record_end(buf, size)
            carry = bytes(view[max(end, 0) : size])
            del view
            if end < 0:  # no record ends in it (a huge quoted value): read on
                free.put(buf)
                continue
            yield parser(buf, end)


def frame_batches(lf: pl.LazyFrame) -> Iterator[Callable[[], pa.RecordBatch]]:
    """A lazy frame's columns as text, a batch at a time (an .xlsx or .parquet file), in the shape of
    :func:`csv_batches`."""
    text = lf.select(pl.all().cast(pl.Utf8))
    try:
        for frame in text.collect_batches(chunk_size=BATCH_ROWS):
            for batch in frame.to_arrow().to_batches():
                yield lambda batch=batch: batch
    except pl.exceptions.PolarsError as exc:
        raise ValidationError(f"无法读取该文件：{str(exc).splitlines()[0]}") from exc


# --------------------------------------------------------------------------- checking


@dataclass
class Layout:
    """What one load checks: the contract's columns, where they are in the file, and the reasons."""

    spec: object  # feeds.FeedSpec
    present: dict[str, str]  # contract column -> the file's column
    county: str
    today: date
    registered: np.ndarray  # sorted keys of the registered persons' ID numbers (registered_keys)
    reasons: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        spec = self.spec
        self.typed = {*spec.dates, *spec.money}
        self.reasons = [f"{c}为空" for c in spec.required]
        if spec.id_column:
            self.reasons.append("证件号码无效")
        self.reasons += [f"{c}不是日期" for c in spec.dates]
        self.reasons += [f"{c}不是有效金额" for c in spec.money]
        fields = [pa.field("行号", pa.uint32())]
        if spec.id_column:
            fields.append(pa.field("证件号码_规范", pa.string()))
        for c in spec.columns:
            if c in spec.dates:
                fields.append(pa.field(c, pa.date32()))
            elif c in spec.money:
                fields.append(pa.field(c, pa.decimal64(18, 2)))
            else:
                fields.append(pa.field(c, pa.string()))
        self.schema = pa.schema(fields)
        self.min_ymd = fc.ymd_number(idcard.MIN_BIRTH_DATE)
        self.max_ymd = fc.ymd_number(self.today)
        county = self.county
        if spec.id_column:
            # people of the county: their numbers start with its 6 digits (as ever: a city's or a
            # province's code keeps its own first 6, zeros included)
            self.prefix = int(county[:6] if county[6:] == "000000" else county.rstrip("0")[:6])
        else:
            from dixian.regions.selectors import code_level

            self.prefix = county[: {"county": 6, "city": 4, "province": 2}.get(code_level(county), 6)]

    def parquet_options(self) -> dict:
        """How the accepted rows are written. Dictionary pages for the columns of few distinct values
        (dates, types, names), not for ID numbers and amounts, where building one only to give it up
        costs time; the amounts (INT64 decimal(18, 2)) byte-stream-split and the line numbers
        delta-encoded, which lz4 then compresses for less (−20 % CPU, −25 % size); statistics (min/max
        per row group) for the line numbers, which evidence.rows_of uses to skip to a row, and the
        dates, which the rules' windows filter on; not for the text and amounts, where they cost about
        a third of the writing."""
        spec = self.spec
        few = [c for c in spec.columns if c not in spec.money and c != spec.id_column]
        return {
            "compression": PARQUET_COMPRESSION,
            "use_dictionary": few,
            "column_encoding": {
                "行号": "DELTA_BINARY_PACKED",
                **dict.fromkeys(spec.money, "BYTE_STREAM_SPLIT"),
            },
            "write_statistics": ["行号", *spec.dates],
            "store_decimal_as_integer": True,
        }


@dataclass
class Checked:
    """One batch checked: its accepted rows (stored schema), refusal counts, the first refused rows,
    and how many accepted rows are registered persons / people of the county not registered."""

    rows: int
    accepted: pa.RecordBatch
    counts: np.ndarray  # rows by refusal code (index ACCEPTED: accepted)
    samples: list[dict]
    hits: int
    local: int


def _text(arr: pa.Array | None, n: int) -> pa.Array:
    """A text column without nulls (null and missing cells as ''), string or large_string."""
    if arr is None:  # n empty cells
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(np.zeros(n + 1, np.int32)), pa.py_buffer(b"")]
        )
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    return arr


def _strip(arr: pa.Array) -> pa.Array:
    """polars' strip_chars() of every cell (the same characters as before this module)."""
    return _text(pl.Series(arr).str.strip_chars().to_arrow(), len(arr))


def _valid_buffer(valid: np.ndarray) -> pa.Buffer | None:
    return None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))


def _text_out(arr: pa.Array, blank: np.ndarray, keep: pa.Array | None) -> pa.Array:
    """The cells ``keep`` (a mask; all when None) of a text array without nulls, as a string array with
    nulls where ``blank`` (a validity bitmap over the same buffers, then Arrow's filter)."""
    if blank.any():
        valid = ~blank
        if arr.offset:
            valid = np.concatenate([np.ones(arr.offset, dtype=bool), valid])
        _, offsets, data = arr.buffers()
        arr = pa.Array.from_buffers(
            arr.type, len(arr), [_valid_buffer(valid), offsets, data], offset=arr.offset
        )
    if keep is not None:
        arr = arr.filter(keep)
    return arr if arr.type == pa.string() else arr.cast(pa.string())


def _dates_array(days: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(pa.date32(), len(days), [_valid_buffer(valid), pa.py_buffer(days)])


def _money_array(fen: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Amounts in fen as decimal(18, 2): a decimal64's value is its unscaled integer, so no copy."""
    return pa.Array.from_buffers(pa.decimal64(18, 2), len(fen), [_valid_buffer(valid), pa.py_buffer(fen)])


def _fen_of(values: pl.Series) -> np.ndarray:
    """Decimal(18, 2) amounts (no nulls) as integer fen, exactly: Arrow keeps the unscaled integer."""
    arr = values.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.decimal128(18, 2))
    return np.frombuffer(arr.buffers()[1], dtype=np.int64, count=2 * (len(arr) + arr.offset))[
        2 * arr.offset :: 2
    ].copy()


def _full_parse(raw: dict[str, pa.Array], rows: np.ndarray, layout: Layout) -> pl.DataFrame:
    """The full parsers (one polars query) on the given rows of the checked columns: for the ID
    column ``id_valid`` and ``id_number``; for each date and money column ``<c>`` its value (null if it
    did not read) and ``_left_<c>``, what is left of its text where it did not, stripped (null when
    blank). The kernels send only their ODD cells' rows here, so this is small."""
    spec, take = layout.spec, pa.array(rows)
    typed = [*spec.dates, *spec.money]
    cols = ([spec.id_column] if spec.id_column else []) + typed
    lf = pl.DataFrame({c: pl.Series(raw[c].take(take)) for c in cols}).lazy()
    if spec.id_column:
        lf = idcard.add_id_columns(lf, spec.id_column, today=layout.today)
    lf = parsing.add_date_columns(lf, {c: f"_{c}" for c in spec.dates})
    lf = parsing.add_money_columns(lf, {c: f"_{c}" for c in spec.money})
    left = [pl.when(pl.col(f"_{c}").is_null()).then(pl.col(c)).str.strip_chars() for c in typed]
    return lf.select(
        *(["id_valid", "id_number"] if spec.id_column else []),
        *(pl.col(f"_{c}").alias(c) for c in typed),
        *(e.replace("", None).alias(f"_left_{c}") for e, c in zip(left, typed, strict=True)),
    ).collect()


def check_batch(batch: pa.RecordBatch, layout: Layout, want_samples: bool = True) -> Checked:
    """Check one batch. Its rows are numbered from 0 here (行号 and the samples' lines): the caller
    adds the line of its first row (``want_samples``: keep its first refused rows, as the load shows
    the first 20 of the file)."""
    spec, n = layout.spec, batch.num_rows
    names = batch.schema.names
    raw = {
        c: _text(batch.column(names.index(f)) if f in names else None, n) for c, f in layout.present.items()
    }
    for c in spec.columns:
        if c not in raw:
            raw[c] = _text(None, n)
    blank: dict[str, np.ndarray] = {}  # the cell is empty
    bad: dict[str, np.ndarray] = {}  # the cell does not read
    kind: dict[str, np.ndarray] = {}
    value: dict[str, np.ndarray] = {}

    # text columns: stripped (only where a cell needs it), empty cells are null
    for c in spec.columns:
        if c not in layout.typed:
            offsets, data = fc.buffers(raw[c])
            if fc.needs_strip(offsets, data):
                raw[c] = _strip(raw[c])
                offsets, data = fc.buffers(raw[c])
            blank[c] = offsets[1:] == offsets[:-1]

    # the kernels read the cells in their usual spelling; the rows with an ODD cell go to the full
    # parsers (one query)
    if spec.id_column:
        c = spec.id_column
        kind[c], value[c] = fc.id_numbers(*fc.buffers(raw[c]), layout.min_ymd, layout.max_ymd)
    for c in spec.dates:
        kind[c], value[c] = fc.dates(*fc.buffers(raw[c]))
    for c in spec.money:
        kind[c], value[c] = fc.money(*fc.buffers(raw[c]))
    odd = np.zeros(n, dtype=bool)
    for k in kind.values():
        odd |= k == fc.ODD
    rows = np.flatnonzero(odd)
    full = _full_parse(raw, rows, layout) if rows.size else None

    number = None  # the normalised ID numbers
    rewritten = np.zeros(n, dtype=bool)  # valid, and normalised to other text than written
    if spec.id_column:
        c = spec.id_column
        k, key = kind[c], value[c]
        number = raw[c]
        rewritten |= k == fc.LOWER_X
        lower = np.flatnonzero(rewritten)
        if lower.size:
            offsets, data = fc.buffers(number)
            fixed = fc.upper_x(offsets, data, lower)
            number = pa.Array.from_buffers(
                number.type, n, [None, number.buffers()[1], pa.py_buffer(fixed)], offset=number.offset
            )
            k[lower] = fc.FAST
        if full is not None:
            mine = k[rows] == fc.ODD
            at, valid = rows[mine], full["id_valid"].to_numpy()[mine]
            k[at] = np.where(valid, fc.FAST, fc.BAD)
            good = at[valid]
            rewritten[good] = True
            if good.size:
                numbers = _text(
                    full["id_number"].filter(pl.Series(mine) & full["id_valid"]).to_arrow(), good.size
                )
                key[good] = fc.id_keys(*fc.buffers(numbers))
                mask = np.zeros(n, dtype=bool)
                mask[good] = True
                number = pc.replace_with_mask(number, pa.array(mask), numbers.cast(number.type))
        bad["证件号码"] = k == fc.BAD

    for c in [*spec.dates, *spec.money]:
        k, v, is_money = kind[c], value[c], c in spec.money
        if full is not None:
            mine = k[rows] == fc.ODD
            at = rows[mine]
            read = full[c].filter(pl.Series(mine))
            got = read.is_not_null().to_numpy()
            left_blank = full[f"_left_{c}"].filter(pl.Series(mine)).is_null().to_numpy()
            k[at] = np.where(got, fc.FAST, np.where(left_blank, fc.BLANK, fc.BAD))
            if got.any():
                values = read.filter(read.is_not_null())
                v[at[got]] = _fen_of(values) if is_money else values.cast(pl.Int32).to_numpy()
        blank[c] = k == fc.BLANK
        bad[c] = k == fc.BAD

    # the first reason that applies (ACCEPTED where none does), in the order of layout.reasons
    masks = [blank[c] for c in spec.required]
    if spec.id_column:
        masks.append(bad["证件号码"])
    masks += [bad[c] for c in spec.dates] + [bad[c] for c in spec.money]
    code = np.full(n, ACCEPTED, dtype=np.uint8)
    for i in range(len(masks) - 1, -1, -1):
        code[masks[i]] = i
    accepted = code == ACCEPTED
    counts = np.bincount(code, minlength=ACCEPTED + 1)
    keep = None if counts[ACCEPTED] == n else np.flatnonzero(accepted)
    keep_mask = None if keep is None else pa.array(accepted)

    samples = []
    refused = np.flatnonzero(~accepted)[:SAMPLES] if want_samples else np.zeros(0, dtype=np.int64)
    if refused.size:
        take = pa.array(refused)
        shown = {
            c: pl.Series(raw[c].take(take)).str.strip_chars().replace("", None).to_list()
            for c in spec.required
        }
        for j, i in enumerate(refused.tolist()):
            samples.append({"_line": i, "_refused": int(code[i]), **{c: shown[c][j] for c in spec.required}})

    # the accepted rows in the stored schema
    def kept(a: np.ndarray) -> np.ndarray:
        return a if keep is None else a[keep]

    columns = [pa.array(kept(np.arange(n, dtype=np.uint32)))]
    if spec.id_column:
        columns.append(_text_out(number, blank[spec.id_column], keep_mask))
    for c in spec.columns:
        if c in spec.dates:
            columns.append(_dates_array(kept(value[c]), kept(kind[c] == fc.FAST)))
        elif c in spec.money:
            columns.append(_money_array(kept(value[c]), kept(kind[c] == fc.FAST)))
        elif c == spec.id_column:
            # as written, only where that differs from the normalised number (else null: the readers
            # fill it in; writing the same 18 characters twice cost a third of the writing)
            same = (kind[c] == fc.FAST) & ~rewritten
            columns.append(_text_out(raw[c], blank[c] | same, keep_mask))
        else:
            columns.append(_text_out(raw[c], blank[c], keep_mask))
    out = pa.RecordBatch.from_arrays(columns, schema=layout.schema)

    hits = local = 0
    if spec.id_column:
        keys = kept(value[spec.id_column])
        hits_mask = _member(keys, layout.registered)
        hits = int(hits_mask.sum())
        local = int(((keys // 11 // 10**11 == layout.prefix) & ~hits_mask & (keys > 0)).sum())
    else:
        codes = out.column(out.schema.names.index("区划代码"))
        hits = int(pc.sum(pc.starts_with(codes, layout.prefix)).as_py() or 0)
    return Checked(n, out, counts, samples, hits, local)


def _member(keys: np.ndarray, registered: np.ndarray) -> np.ndarray:
    if not len(registered) or not len(keys):
        return np.zeros(len(keys), dtype=bool)
    pos = np.searchsorted(registered, keys)
    return registered[np.minimum(pos, len(registered) - 1)] == keys


def registered_keys(ids: pa.Array) -> np.ndarray:
    """The sorted distinct keys of registered persons' ID numbers (see fastcheck.id_numbers)."""
    keys = fc.id_keys(*fc.buffers(_text(ids, len(ids))))
    return np.unique(keys[keys >= 0])


# --------------------------------------------------------------------------- the pass


@dataclass
class Outcome:
    counts: dict[int | None, int]  # rows by refusal code (None: accepted)
    samples: list[dict]
    hits: int
    local: int


def run(
    tasks: Iterator[Callable[[], pa.RecordBatch]], layout: Layout, out: Path, on_rows: Callable[[int], None]
) -> Outcome:
    """Read and check the batches in two threads, and write the accepted rows to ``out`` in file order
    (this thread). ``tasks`` yields functions that give a batch (a CSV chunk is parsed by its call);
    it is iterated in a thread of its own (core.bulk.ahead; for a CSV file: reading the chunks), at
    most PENDING batches ahead of the writing."""
    counts = np.zeros(ACCEPTED + 1, dtype=np.int64)
    samples: list[dict] = []
    hits = local = rows = 0
    line = 2  # of the next batch's first row (the header is line 1)
    group: list[pa.RecordBatch] = []
    group_rows = 0

    def check(task: Callable[[], pa.RecordBatch], want: bool) -> Checked:
        return check_batch(task(), layout, want)

    with pq.ParquetWriter(out, layout.schema, **layout.parquet_options()) as writer:

        def flush(final: bool = False) -> None:
            # whole row groups of ROW_GROUP rows (the last one may be shorter)
            nonlocal group, group_rows
            if not group:
                return
            table = pa.Table.from_batches(group, schema=layout.schema)
            full = table.num_rows if final else table.num_rows - table.num_rows % ROW_GROUP
            if full:
                writer.write_table(table.slice(0, full), row_group_size=ROW_GROUP)
            rest = table.slice(full)
            group, group_rows = rest.to_batches(), rest.num_rows

        def take(done: Checked) -> None:
            nonlocal hits, local, rows, group_rows, line
            counts[:] += done.counts
            for sample in done.samples[: max(SAMPLES - len(samples), 0)]:
                samples.append({**sample, "_line": sample["_line"] + line})
            hits += done.hits
            local += done.local
            rows += done.rows
            kept = done.accepted
            lines = pc.add(kept.column(0), pa.scalar(line, pa.uint32()))
            group.append(pa.RecordBatch.from_arrays([lines, *kept.columns[1:]], schema=layout.schema))
            group_rows += kept.num_rows
            line += done.rows
            if group_rows >= ROW_GROUP:
                flush()
            on_rows(rows)

        with ThreadPoolExecutor(2, thread_name_prefix="feed-check") as pool:
            # the first batches give the first refused rows
            submitted = (pool.submit(check, task, len(samples) < SAMPLES) for task in tasks)
            # closing(): on a failure the reading thread is stopped before the pool waits for its work
            with contextlib.closing(ahead(submitted, chunk=1, depth=PENDING)) as futures:
                for future in futures:
                    take(future.result())
        flush(final=True)
    by_code: dict[int | None, int] = {
        (None if code == ACCEPTED else code): int(n) for code, n in enumerate(counts) if n
    }
    return Outcome(by_code, samples, hits, local)
