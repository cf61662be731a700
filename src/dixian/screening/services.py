"""Loading departments' data files: read, map headers, validate and normalise set-based in polars,
keep the accepted rows as Parquet, record what was found. Audited; the same file twice is refused."""

from __future__ import annotations

import codecs
import gc
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import polars as pl
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dixian.accounts import permissions
from dixian.core import audit, idcard, parsing
from dixian.core.audit import as_actor
from dixian.core.deployment import jurisdiction_code
from dixian.core.errors import ValidationError
from dixian.core.files import file_sha256
from dixian.core.text import to_halfwidth
from dixian.screening.feeds import SPECS, FeedType
from dixian.screening.models import FeedFile, HeaderMapping

Progress = Callable[[str, float], None]
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
SAMPLES = 20
_DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"]
TRANSCODE_CHUNK = 1 << 24  # bytes of a GB18030 file decoded at a time
REGISTRY_BATCH = 100_000  # ID numbers fetched from the database at a time
# The stored Parquet's codec: lz4 costs about a third of zstd's CPU (the pass is CPU-bound on 2 cores)
# for a file about 1.5 × as large; DuckDB reads either (see decision 0010).
PARQUET_COMPRESSION = "lz4"


def date_expr(col: str) -> pl.Expr:
    """A text column of dates in the usual spellings (or Excel serial numbers) as Date; null if not a date."""
    return pl.col(col).map_batches(_date_column, return_dtype=pl.Date, is_elementwise=True).alias(col)


def _date_column(series: pl.Series) -> pl.Series:
    return add_date_columns(series.to_frame("v"), {"v": "v"}).to_series().alias(series.name)


def add_date_columns(frame: FrameT, columns: dict[str, str]) -> FrameT:
    """Add Date columns read as by :func:`date_expr` (``{text column: output column}``).

    The first spelling (2024-05-01, what most files hold) is tried on every cell, the others only on
    the cells it did not read (the others are null for them, which costs little). In stages of
    ``with_columns`` so that each intermediate is computed once; no Python: a lazy frame keeps streaming.
    """
    lf = frame.lazy()
    first = {src: f"_date_first_{i}" for i, src in enumerate(columns)}
    rest = {src: f"_date_rest_{i}" for i, src in enumerate(columns)}
    lf = lf.with_columns(
        pl.col(src).cast(pl.String).str.strip_chars().alias(rest[src]) for src in columns
    ).with_columns(
        pl.col(rest[src]).str.strptime(pl.Date, _DATE_FORMATS[0], strict=False, cache=False).alias(first[src])
        for src in columns
    )
    lf = lf.with_columns(
        pl.when(pl.col(first[src]).is_null()).then(pl.col(rest[src])).alias(rest[src]) for src in columns
    )

    def later(text: pl.Expr) -> list[pl.Expr]:
        # an Excel serial number, "45413" or "45413.0" (extract, not replace: it costs less on the
        # many null cells)
        serial = text.str.extract(r"(?s)^(.*?)(?:\.0+)?$", 1).cast(pl.Int32, strict=False)
        from_serial = (
            pl.when(serial.is_between(20000, 80000))
            .then((pl.lit(date(1899, 12, 30)) + pl.duration(days=serial)).cast(pl.Date))
            .otherwise(None)
        )
        return [
            *(text.str.strptime(pl.Date, fmt, strict=False, cache=False) for fmt in _DATE_FORMATS[1:]),
            from_serial,
        ]

    lf = lf.with_columns(
        pl.coalesce(pl.col(first[src]), *later(pl.col(rest[src]))).alias(out) for src, out in columns.items()
    ).drop(*first.values(), *rest.values())
    return lf if isinstance(frame, pl.LazyFrame) else lf.collect()


def _csv_encoding(path: Path) -> str:
    """UTF-8 ("utf8") when the first 64 KiB read as UTF-8 (a character cut at 64 KiB is fine), else
    "gb18030". A file that is UTF-8 there but not further on is read again as GB18030 (see load_feed)."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf8"


def _transcode(path: Path, dest: Path) -> None:
    """GB18030 → UTF-8, chunk by chunk (an incremental decoder carries a character cut between chunks)."""
    decoder = codecs.getincrementaldecoder("gb18030")()
    try:
        with path.open("rb") as src, dest.open("wb") as out:
            while chunk := src.read(TRANSCODE_CHUNK):
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValidationError("无法识别文件的编码：请将 CSV 文件保存为 UTF-8 或 GB18030（GBK）编码") from exc


def _scan(path: Path, scratch: Path, encoding: str) -> tuple[pl.LazyFrame, int]:
    """The file as a lazy frame of text columns, and about how many rows it has (for the progress
    shown). A GB18030 CSV is transcoded to ``scratch`` first."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            lf = pl.scan_parquet(path)
            rows = lf.select(pl.len()).collect().item()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise ValidationError("无法作为 Parquet 读取该文件") from exc
        return lf.select(pl.all().cast(pl.Utf8)), rows
    if suffix in (".xlsx", ".xls", ".xlsm"):
        import fastexcel

        try:
            frame = fastexcel.read_excel(str(path)).load_sheet(0, dtypes="string").to_polars()
        except Exception as exc:
            raise ValidationError("无法作为 Excel 读取该文件") from exc
        return frame.lazy(), frame.height
    if suffix in (".csv", ".txt"):
        with path.open("rb") as f:
            head = f.read(1 << 20)
        rows = round(path.stat().st_size * head.count(b"\n") / max(len(head), 1))
        if encoding == "gb18030":
            _transcode(path, scratch)
            path = scratch
        return pl.scan_csv(path, infer_schema=False, encoding="utf8"), rows
    raise ValidationError(f"不支持的文件类型“{suffix or '无扩展名'}”：请提供 .csv、.xlsx 或 .parquet 文件")


def read_headers(path: Path | str) -> list[str]:
    """The header row of a department's file (for the header-mapping form), without reading the rows."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return list(pl.read_parquet_schema(path))
    if suffix in (".xlsx", ".xls", ".xlsm"):
        import fastexcel

        try:
            sheet = fastexcel.read_excel(str(path)).load_sheet(0, n_rows=1, dtypes="string")
        except Exception as exc:
            raise ValidationError("无法作为 Excel 读取该文件") from exc
        return [str(c) for c in sheet.to_polars().columns]
    if suffix in (".csv", ".txt"):
        import csv
        import io

        head = path.open("rb").read(1 << 16)
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = head.decode("gb18030", errors="ignore")
        first = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
        return [c for c in first if c.strip()]
    raise ValidationError(f"不支持的文件类型“{suffix or '无扩展名'}”：请提供 .csv、.xlsx 或 .parquet 文件")


def _canonical(name: str) -> str:
    return to_halfwidth(str(name or "")).strip().replace(" ", "").lstrip("\ufeff")


@transaction.atomic
def save_mapping(*, actor, feed_type: str, department: str, mapping: dict[str, str]) -> HeaderMapping:
    """Keep a department's header mapping (its header → the contract's column)."""
    actor = as_actor(actor)
    permissions.require(actor.user, permissions.LOAD_FEED)
    spec = SPECS.get(feed_type)
    if spec is None:
        raise ValidationError("未知的数据类型")
    unknown = [v for v in mapping.values() if v not in spec.columns]
    if unknown:
        raise ValidationError(f"“{'、'.join(unknown)}”不是{FeedType(feed_type).label}数据的列")
    row, _ = HeaderMapping.objects.get_or_create(feed_type=feed_type, department=department)
    old = dict(row.mapping)
    row.mapping = {**old, **{_canonical(k): v for k, v in mapping.items()}}
    row.updated_at, row.updated_by = timezone.now(), actor.name
    row.save()
    audit.record(
        actor=actor,
        action="feed.mapping",
        object_type="header_mapping",
        object_id=row.pk,
        object_label=str(row),
        changes=[("mapping", old, row.mapping)],
    )
    return row


def load_feed(
    *,
    actor,
    feed_type: str,
    path: Path | str,
    department: str = "",
    file_name: str | None = None,
    progress: Progress | None = None,
) -> FeedFile:
    """Load a department's file. Refuses (ValidationError) an unknown type, an unreadable file, missing
    required columns and a file already loaded; rows that cannot be used are counted with reasons."""
    actor = as_actor(actor)
    permissions.require(actor.user, permissions.LOAD_FEED)
    step = progress or (lambda stage, fraction: None)
    spec = SPECS.get(feed_type)
    if spec is None:
        raise ValidationError(
            f"未知的数据类型“{feed_type}”（可选：{'、'.join(f'{t.value}（{t.label}）' for t in FeedType)}）"
        )
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise ValidationError(f"文件不存在或是空的：{path}")
    department = department or spec.department
    file_name = file_name or path.name
    out_dir = Path(settings.DATA_DIR) / "feeds" / feed_type
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    # This load's own scratch names (two loads of one file at once must not share them); the outputs
    # get their names from the checksum once it is known.
    tag = f".{uuid.uuid4().hex[:12]}"
    partial = out_dir / f"{tag}.parquet.part"
    original_part = out_dir / f"{tag}-original{suffix}.part"
    scratch = out_dir / f"{tag}.utf8.csv.part"  # a GB18030 CSV transcoded
    mapping = {}
    stored = HeaderMapping.objects.filter(feed_type=feed_type, department=department).first()
    if stored is not None:
        mapping = stored.mapping
    county = jurisdiction_code()
    registered = _registered_ids() if spec.id_column else None
    encoding = _csv_encoding(path) if suffix in (".csv", ".txt") else ""
    # The checksum and the copy of the original (both mostly outside Python) run while the file is read.
    # A file already loaded is therefore refused after the pass, not before it.
    checksum = _Background(file_sha256, path)
    copy = _Background(shutil.copyfile, path, original_part)
    renamed: list[Path] = []
    sha = ""
    try:
        while True:
            step("读取" if encoding != "gb18030" else "转换编码（GB18030）", 0.0)
            source, expected_rows = _scan(path, scratch, encoding)
            plan = _plan(source, spec, mapping, department, feed_type, county, registered)
            try:
                _, counts, refused_rows, (hits, local) = _run(plan, partial, expected_rows, step)
                break
            except pl.exceptions.ComputeError as exc:
                # UTF-8 at the start, not further on: read it again as GB18030 (as the whole file is)
                if encoding == "utf8" and "utf-8" in str(exc).lower():
                    encoding = "gb18030"
                    continue
                raise ValidationError(f"无法读取该文件：{str(exc).splitlines()[0]}") from exc
        step("校验和", 0.9)
        sha = checksum.result()
        earlier = FeedFile.objects.filter(feed_type=feed_type, sha256=sha).first()
        if earlier is not None:
            raise ValidationError(
                f"这个文件已于{timezone.localtime(earlier.loaded_at):%Y-%m-%d %H:%M}加载过（{earlier.file_name}），不再重复加载"
            )
        step("保存", 0.95)
        copy.result()
        stored_path = out_dir / f"{sha[:16]}.parquet"
        original = out_dir / f"{sha[:16]}-original{suffix}"
        for done, final in ((partial, stored_path), (original_part, original)):
            done.replace(final)
            renamed.append(final)

        counts = {code: n for code, n in counts.iter_rows()}
        rows_read = sum(counts.values())
        accepted = counts.pop(None, 0)
        refusals = {plan.reasons[code]: counts[code] for code in sorted(counts)}
        samples = [
            {"line": r["_line"], "reason": plan.reasons[r["_refused"]], **{c: r[c] for c in spec.required}}
            for r in refused_rows.sort("_line").iter_rows(named=True)
        ]
        with transaction.atomic():
            feed = FeedFile.objects.create(
                county_code=county,
                feed_type=feed_type,
                department=department,
                file_name=file_name,
                sha256=sha,
                stored_path=str(stored_path),
                original_path=str(original),
                rows_read=rows_read,
                rows_refused=rows_read - accepted,
                ids_invalid=int(refusals.get("证件号码无效", 0)),
                rows_registered=int(hits.item()),
                rows_unregistered_local=int(local.item()),
                refusals=refusals,
                samples=samples,
                loaded_by=actor.user,
                loaded_by_name=actor.name,
            )
            audit.record(
                actor=actor,
                action="feed.load",
                object_type="feed_file",
                object_id=feed.pk,
                object_label=file_name,
                county_code=county if county.endswith("000000") and not county.endswith("0000000000") else "",
                details={
                    "feed_type": feed_type,
                    "rows": rows_read,
                    "refused": rows_read - accepted,
                    "sha256": sha,
                },
            )
    except BaseException:
        checksum.wait()
        copy.wait()
        # files renamed into place are removed unless the same file was loaded meanwhile (same names)
        if renamed and not FeedFile.objects.filter(feed_type=feed_type, sha256=sha).exists():
            for final in renamed:
                final.unlink(missing_ok=True)
        raise
    finally:
        for part in (partial, original_part, scratch):
            part.unlink(missing_ok=True)
    step("完成", 1.0)
    return feed


class _Background:
    """``fn(*args)`` in a thread; ``result()`` waits for it and raises what it raised."""

    def __init__(self, fn, *args):
        self._outcome: dict = {}
        self._thread = threading.Thread(target=self._work, args=(fn, *args), daemon=True)
        self._thread.start()

    def _work(self, fn, *args) -> None:
        try:
            self._outcome["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller by result()
            self._outcome["error"] = exc

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def result(self):
        self.wait()
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome.get("value")


def _run(plan: _Plan, partial: Path, expected_rows: int, step: Progress) -> list:
    """One streaming pass: the accepted rows into ``partial`` (Parquet), and the figures. It runs in a
    thread so that this one can report progress (the rows seen so far by the pass) meanwhile."""
    sink = plan.accepted.sink_parquet(partial, compression=PARQUET_COMPRESSION, lazy=True)
    work = _Background(lambda: pl.collect_all([sink, *plan.figures], engine="streaming"))
    # The objects alive now (Django's, this module's) stay out of the garbage collector's sweeps while
    # the pass runs: the per-batch calls of the row counter allocate, and each full sweep of them cost
    # about 1 % of the pass.
    gc.freeze()
    try:
        while not work.wait(0.5):
            step("读取、校验、比对在册人员", 0.9 * min(plan.rows_seen() / max(expected_rows, 1), 1.0))
    except BaseException:
        work.wait()  # a pass cannot be stopped: let it end before its files are removed
        raise
    finally:
        gc.unfreeze()
    return work.result()


@dataclass
class _Plan:
    accepted: pl.LazyFrame  # the rows kept, in the stored schema
    figures: list[pl.LazyFrame]  # refusal counts by reason (null: accepted), sample rows, registry figures
    reasons: list[str]
    counter: _RowCounter

    def rows_seen(self) -> int:
        return self.counter.rows


class _RowCounter:
    """The identity on the row numbers, remembering the highest seen: how far a pass has got."""

    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, lines: pl.Series) -> pl.Series:
        if lines.len():
            self.rows = max(self.rows, int(lines.max()) - 1)  # line numbers start at 2
        return lines


def _plan(
    source: pl.LazyFrame,
    spec,
    mapping: dict[str, str],
    department: str,
    feed_type: str,
    county: str,
    registered: pl.DataFrame | None,
) -> _Plan:
    """The lazy queries of one load: they share the scan and the validation, and run in one pass."""
    rename = {}
    for col in source.collect_schema().names():
        c = _canonical(col)
        target = c if c in spec.columns else mapping.get(c)
        if target and target not in rename.values():
            rename[col] = target
    missing = [c for c in spec.required if c not in rename.values()]
    if missing:
        raise ValidationError(
            f"{FeedType(feed_type).label}数据缺少必填列：{'、'.join(missing)}。如果{department}的表头写法不同，"
            "请先设置表头对应（dixian feed map 或网页上的“表头对应”）"
        )
    present = {target: col for col, target in rename.items()}
    typed = [*spec.dates, *spec.money]  # kept as Date / Decimal: their text is not stored
    text = [c for c in spec.columns if c not in typed]

    def blank_to_null(col: str) -> pl.Expr:
        return pl.when(pl.col(col) == "").then(None).otherwise(pl.col(col)).alias(col)

    lf = source.select(
        (pl.col(present[c]) if c in present else pl.lit(None, dtype=pl.Utf8)).alias(c) for c in spec.columns
    ).with_row_index("_line", offset=2)
    counter = _RowCounter()
    lf = lf.with_columns(
        pl.col("_line").map_batches(counter, return_dtype=lf.collect_schema()["_line"], is_elementwise=True)
    )
    lf = lf.with_columns(pl.col(c).str.strip_chars() for c in text).with_columns(
        blank_to_null(c) for c in text
    )
    if spec.id_column:
        lf = idcard.add_id_columns(lf, spec.id_column)
    lf = add_date_columns(lf, {c: f"_{c}" for c in spec.dates})
    lf = parsing.add_money_columns(lf, {c: f"_{c}" for c in spec.money})
    # What is left of a date or money cell that did not read, stripped (null when blank). Only those
    # cells are stripped: the others are null here, and a blank cell never reads as a value.
    lf = lf.with_columns(
        pl.when(pl.col(f"_{c}").is_null()).then(pl.col(c)).alias(f"_left_{c}") for c in typed
    )
    lf = lf.with_columns(pl.col(f"_left_{c}").str.strip_chars() for c in typed)
    lf = lf.with_columns(blank_to_null(f"_left_{c}") for c in typed)

    reasons = []  # (reason, mask), in the order they are checked: the first that applies is the one
    for c in spec.required:
        empty = (
            pl.col(f"_{c}").is_null() & pl.col(f"_left_{c}").is_null() if c in typed else pl.col(c).is_null()
        )
        reasons.append((f"{c}为空", empty))
    if spec.id_column:
        reasons.append(("证件号码无效", pl.col(spec.id_column).is_not_null() & ~pl.col("id_valid")))
    for c in spec.dates:
        reasons.append((f"{c}不是日期", pl.col(f"_left_{c}").is_not_null()))
    for c in spec.money:
        reasons.append((f"{c}不是有效金额", pl.col(f"_left_{c}").is_not_null()))
    # the first reason that applies, as its index in ``reasons`` (null: accepted)
    first_reason = pl.lit(None, dtype=pl.UInt8)
    for i, (_, mask) in reversed(list(enumerate(reasons))):
        first_reason = pl.when(mask).then(pl.lit(i, dtype=pl.UInt8)).otherwise(first_reason)
    # cache(): the sink and the figures below share this one pass over the file (without it each of
    # them would read and validate the file again)
    lf = lf.with_columns(first_reason.alias("_refused")).cache()

    keep = [pl.col("_line").alias("行号")]
    if spec.id_column:
        keep.append(pl.col("id_number").alias("证件号码_规范"))
    for c in spec.columns:
        keep.append(pl.col(f"_{c}").alias(c) if (c in spec.dates or c in spec.money) else pl.col(c))
    accepted = lf.filter(pl.col("_refused").is_null()).select(keep)
    counts = lf.group_by("_refused").agg(pl.len())
    samples = (
        lf.filter(pl.col("_refused").is_not_null())
        .bottom_k(SAMPLES, by="_line")
        .select("_line", "_refused", *[pl.col(c).str.strip_chars() for c in spec.required])
        .with_columns(blank_to_null(c) for c in spec.required)
    )
    if spec.id_column:
        prefix = county[:6] if county[6:] == "000000" else county.rstrip("0")[:6]
        matched = accepted.select(pl.col("证件号码_规范").alias("id_number")).join(
            registered.lazy().with_columns(pl.lit(True).alias("_registered")), on="id_number", how="left"
        )
        registered_flag = pl.col("_registered").fill_null(False)
        match = matched.select(
            registered_flag.sum().alias("hits"),
            (pl.col("id_number").str.starts_with(prefix) & ~registered_flag).sum().alias("local"),
        )
    else:
        from dixian.regions.selectors import code_level

        n = {"county": 6, "city": 4, "province": 2}.get(code_level(county), 6)
        match = accepted.select(
            pl.col("区划代码").str.starts_with(county[:n]).sum().alias("hits"), pl.lit(0).alias("local")
        )
    return _Plan(accepted, [counts, samples, match], [r for r, _ in reasons], counter)


def _registered_ids() -> pl.DataFrame:
    """The distinct ID numbers of the active registered persons, fetched in batches straight into
    polars (no Python list of all of them)."""
    from django.db import connection

    from dixian.registry.models import Person

    sql, params = Person.objects.filter(active=True).values_list("id_number").query.sql_with_params()
    batches = [pl.Series("id_number", [], dtype=pl.Utf8)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(REGISTRY_BATCH):
            batches.append(pl.Series("id_number", [r[0] for r in rows], dtype=pl.Utf8))
    return pl.concat(batches).drop_nulls().unique().to_frame()
