"""Loading departments' data files: read, map headers, validate and normalise every cell (one pass,
:mod:`dixian.screening.feedpass`), keep the accepted rows as Parquet, record what was found. Audited;
the same file twice is refused."""

from __future__ import annotations

import codecs
import gc
import shutil
import threading
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dixian.accounts import permissions
from dixian.core import audit
from dixian.core.audit import as_actor
from dixian.core.deployment import jurisdiction_code
from dixian.core.errors import ValidationError
from dixian.core.files import csv_header, file_sha256
from dixian.core.text import to_halfwidth
from dixian.screening.feeds import SPECS, FeedType
from dixian.screening.models import FeedFile, HeaderMapping

if TYPE_CHECKING:
    from dixian.screening import feedpass

Progress = Callable[[str, float], None]
TRANSCODE_CHUNK = 1 << 24  # bytes of a GB18030 file decoded at a time
REGISTRY_BATCH = 100_000  # ID numbers fetched from the database at a time


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


def _source(path: Path, scratch: Path, encoding: str) -> tuple[list[str], Callable, int]:
    """The file's column names, a function giving its named columns as batches of text, and about how
    many rows it has (for the progress shown). A GB18030 CSV is transcoded to ``scratch`` first."""
    from dixian.screening import feedpass

    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            lf = pl.scan_parquet(path)
            names = lf.collect_schema().names()
            rows = lf.select(pl.len()).collect().item()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise ValidationError("无法作为 Parquet 读取该文件") from exc
        return names, lambda cols: feedpass.frame_batches(lf.select(cols)), rows
    if suffix in (".xlsx", ".xls", ".xlsm"):
        import fastexcel

        try:
            frame = fastexcel.read_excel(str(path)).load_sheet(0, dtypes="string").to_polars()
        except Exception as exc:
            raise ValidationError("无法作为 Excel 读取该文件") from exc
        return frame.columns, lambda cols: feedpass.frame_batches(frame.lazy().select(cols)), frame.height
    if suffix in (".csv", ".txt"):
        with path.open("rb") as f:
            head = f.read(1 << 20)
        rows = round(path.stat().st_size * head.count(b"\n") / max(len(head), 1))
        if encoding == "gb18030":
            _transcode(path, scratch)
            path = scratch
        return csv_header(path), lambda cols: feedpass.csv_batches(path, cols), rows
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
        return [c for c in csv_header(path) if c.strip()]
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
    from dixian.screening import feedpass  # numba: imported when a file is loaded, not at start-up

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
    registered = _registered_keys() if spec.id_column else np.zeros(0, dtype=np.int64)
    encoding = _csv_encoding(path) if suffix in (".csv", ".txt") else ""
    # The checksum and the copy of the original (both mostly outside Python) run while the file is read.
    # A file already loaded is refused before the pass when a kept original looks the same (same size,
    # same first and last bytes): then its checksum is computed first. Otherwise after the pass.
    if _looks_loaded(feed_type, path):
        _refuse_if_loaded(feed_type, file_sha256(path))
    checksum = _Background(file_sha256, path)
    copy = _Background(shutil.copyfile, path, original_part)
    renamed: list[Path] = []
    sha = ""
    try:
        while True:
            step("读取" if encoding != "gb18030" else "转换编码（GB18030）", 0.0)
            names, batches, expected_rows = _source(path, scratch, encoding)
            present = _present(names, spec, mapping, department, feed_type)
            layout = feedpass.Layout(spec, present, county, date.today(), registered)
            try:
                outcome = _run(layout, batches(list(present.values())), partial, expected_rows, step)
                break
            except feedpass.NotUtf8 as exc:
                # UTF-8 at the start, not further on: read it again as GB18030 (as the whole file is)
                if encoding == "utf8":
                    encoding = "gb18030"
                    continue
                raise ValidationError(f"无法读取该文件：{str(exc).splitlines()[0]}") from exc
        step("校验和", 0.9)
        sha = checksum.result()
        _refuse_if_loaded(feed_type, sha)
        step("保存", 0.95)
        copy.result()
        stored_path = out_dir / f"{sha[:16]}.parquet"
        original = out_dir / f"{sha[:16]}-original{suffix}"
        for done, final in ((partial, stored_path), (original_part, original)):
            done.replace(final)
            renamed.append(final)

        counts = dict(outcome.counts)
        rows_read = sum(counts.values())
        accepted = counts.pop(None, 0)
        refusals = {layout.reasons[code]: counts[code] for code in sorted(counts)}
        samples = [
            {"line": r["_line"], "reason": layout.reasons[r["_refused"]], **{c: r[c] for c in spec.required}}
            for r in outcome.samples
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
                rows_registered=outcome.hits,
                rows_unregistered_local=outcome.local,
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


SAME_BYTES = 1 << 16  # the first and the last bytes compared with a kept original


def _looks_loaded(feed_type: str, path: Path) -> bool:
    """Whether an earlier file of this type, whose original is kept, has this file's size and its first
    and last SAME_BYTES bytes (a quick test, before the checksum tells for certain)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(SAME_BYTES)
        f.seek(max(size - SAME_BYTES, 0))
        tail = f.read(SAME_BYTES)
    for original in FeedFile.objects.filter(feed_type=feed_type).values_list("original_path", flat=True):
        kept = Path(original)
        try:
            if kept.stat().st_size != size:
                continue
            with kept.open("rb") as f:
                if f.read(SAME_BYTES) != head:
                    continue
                f.seek(max(size - SAME_BYTES, 0))
                if f.read(SAME_BYTES) == tail:
                    return True
        except OSError:
            continue
    return False


def _refuse_if_loaded(feed_type: str, sha: str) -> None:
    earlier = FeedFile.objects.filter(feed_type=feed_type, sha256=sha).first()
    if earlier is not None:
        raise ValidationError(
            f"这个文件已于{timezone.localtime(earlier.loaded_at):%Y-%m-%d %H:%M}加载过（{earlier.file_name}），不再重复加载"
        )


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


def _run(
    layout: feedpass.Layout, batches, partial: Path, expected_rows: int, step: Progress
) -> feedpass.Outcome:
    """The pass (feedpass.run) in a thread, so that this one can report progress (the rows checked so far)."""
    from dixian.screening import feedpass

    seen = [0]
    work = _Background(feedpass.run, batches, layout, partial, lambda rows: seen.__setitem__(0, rows))
    # The objects alive now (Django's, this module's) stay out of the garbage collector's sweeps while
    # the pass runs.
    gc.freeze()
    try:
        while not work.wait(0.5):
            step("读取、校验、比对在册人员", 0.9 * min(seen[0] / max(expected_rows, 1), 1.0))
    except BaseException:
        work.wait()  # a pass cannot be stopped: let it end before its files are removed
        raise
    finally:
        gc.unfreeze()
    return work.result()


def _present(
    names: list[str], spec, mapping: dict[str, str], department: str, feed_type: str
) -> dict[str, str]:
    """The contract's columns found in the file (contract column -> the file's column), by name or by
    the department's header mapping. Refuses a file without a required column."""
    present: dict[str, str] = {}
    for col in names:
        c = _canonical(col)
        target = c if c in spec.columns else mapping.get(c)
        if target and target not in present:
            present[target] = col
    missing = [c for c in spec.required if c not in present]
    if missing:
        raise ValidationError(
            f"{FeedType(feed_type).label}数据缺少必填列：{'、'.join(missing)}。如果{department}的表头写法不同，"
            "请先设置表头对应（dixian feed map 或网页上的“表头对应”）"
        )
    return present


def _registered_keys() -> np.ndarray:
    """The keys (feedpass.registered_keys) of the active registered persons' ID numbers, fetched in
    batches (no Python list of all of them)."""
    from django.db import connection

    from dixian.registry.models import Person
    from dixian.screening import feedpass

    sql, params = Person.objects.filter(active=True).values_list("id_number").query.sql_with_params()
    keys = [np.zeros(0, dtype=np.int64)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(REGISTRY_BATCH):
            keys.append(feedpass.registered_keys(pa.array([r[0] for r in rows], type=pa.string())))
    return np.unique(np.concatenate(keys))
