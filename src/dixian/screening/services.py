"""Loading departments' data files: read, map headers, validate and normalise set-based in polars,
keep the accepted rows as Parquet, record what was found. Audited; the same file twice is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

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
SAMPLES = 20
_DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"]


def date_expr(col: str) -> pl.Expr:
    """A text column of dates in the usual spellings (or Excel serial numbers) as Date; null if not a date."""
    text = pl.col(col).str.strip_chars()
    serial = text.str.replace(r"\.0+$", "").cast(pl.Int32, strict=False)
    from_serial = (
        pl.when(serial.is_between(20000, 80000))
        .then((pl.lit(date(1899, 12, 30)) + pl.duration(days=serial)).cast(pl.Date))
        .otherwise(None)
    )
    parsed = [text.str.strptime(pl.Date, fmt, strict=False) for fmt in _DATE_FORMATS]
    return pl.coalesce([*parsed, from_serial])


def _read(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame = pl.read_parquet(path)
        return frame.with_columns(pl.all().cast(pl.Utf8))
    if suffix in (".xlsx", ".xls", ".xlsm"):
        import fastexcel

        try:
            return fastexcel.read_excel(str(path)).load_sheet(0, dtypes="string").to_polars()
        except Exception as exc:
            raise ValidationError("无法作为 Excel 读取该文件") from exc
    if suffix in (".csv", ".txt"):
        head = path.open("rb").read(1 << 16)
        try:
            head.decode("utf-8")
            encoding = "utf8"
        except UnicodeDecodeError:
            encoding = "gb18030"
        if encoding == "utf8":
            try:
                return pl.read_csv(path, infer_schema=False, encoding="utf8")
            except pl.exceptions.ComputeError:
                encoding = "gb18030"
        text = path.read_bytes().decode("gb18030")
        return pl.read_csv(text.encode("utf-8"), infer_schema=False)
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
    step("校验和", 0.0)
    sha = file_sha256(path)
    earlier = FeedFile.objects.filter(feed_type=feed_type, sha256=sha).first()
    if earlier is not None:
        raise ValidationError(
            f"这个文件已于{timezone.localtime(earlier.loaded_at):%Y-%m-%d %H:%M}加载过（{earlier.file_name}），不再重复加载"
        )

    step("读取", 0.1)
    frame = _read(path)
    mapping = {}
    stored = HeaderMapping.objects.filter(feed_type=feed_type, department=department).first()
    if stored is not None:
        mapping = stored.mapping
    rename = {}
    for col in frame.columns:
        c = _canonical(col)
        target = c if c in spec.columns else mapping.get(c)
        if target and target not in rename.values():
            rename[col] = target
    frame = frame.rename(rename).select(list(rename.values()))
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"{FeedType(feed_type).label}数据缺少必填列：{'、'.join(missing)}。如果{department}的表头写法不同，"
            "请先设置表头对应（dixian feed map 或网页上的“表头对应”）"
        )
    for c in spec.optional:
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias(c))

    step("校验", 0.3)
    frame = frame.with_columns([pl.col(c).str.strip_chars() for c in spec.columns])
    frame = frame.with_columns(
        [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in spec.columns]
    )
    reasons = []  # (reason, mask)
    for c in spec.required:
        reasons.append((f"{c}为空", pl.col(c).is_null()))
    if spec.id_column:
        frame = idcard.add_id_columns(frame, spec.id_column)
        reasons.append(("证件号码无效", pl.col(spec.id_column).is_not_null() & ~pl.col("id_valid")))
    for c in spec.dates:
        frame = frame.with_columns(date_expr(c).alias(f"_{c}"))
        reasons.append((f"{c}不是日期", pl.col(c).is_not_null() & pl.col(f"_{c}").is_null()))
    for c in spec.money:
        frame = frame.with_columns(parsing.money_expr(c).alias(f"_{c}"))
        reasons.append((f"{c}不是有效金额", pl.col(c).is_not_null() & pl.col(f"_{c}").is_null()))
    frame = frame.with_row_index("_line", offset=2)
    first_reason = pl.lit(None, dtype=pl.Utf8)
    for reason, mask in reversed(reasons):
        first_reason = pl.when(mask).then(pl.lit(reason)).otherwise(first_reason)
    frame = frame.with_columns(first_reason.alias("_refused"))
    refused = frame.filter(pl.col("_refused").is_not_null())
    counts = dict(refused.group_by("_refused").len().iter_rows()) if refused.height else {}
    samples = [
        {"line": r["_line"], "reason": r["_refused"], **{c: r[c] for c in spec.required}}
        for r in refused.head(SAMPLES).iter_rows(named=True)
    ]
    accepted = frame.filter(pl.col("_refused").is_null())
    keep = [pl.col("_line").alias("行号")]
    if spec.id_column:
        keep.append(pl.col("id_number").alias("证件号码_规范"))
    for c in spec.columns:
        keep.append(pl.col(f"_{c}").alias(c) if (c in spec.dates or c in spec.money) else pl.col(c))
    accepted = accepted.select(keep)

    step("比对在册人员", 0.6)
    county = jurisdiction_code()
    registered = _registered_ids()
    if spec.id_column:
        hits = accepted.join(registered, left_on="证件号码_规范", right_on="id_number", how="semi").height
        prefix = county[:6] if county[6:] == "000000" else county.rstrip("0")[:6]
        local = (
            accepted.filter(pl.col("证件号码_规范").str.starts_with(prefix))
            .join(registered, left_on="证件号码_规范", right_on="id_number", how="anti")
            .height
        )
    else:
        keep_len = {"county": 6, "city": 4, "province": 2}
        from dixian.regions.selectors import code_level

        n = keep_len.get(code_level(county), 6)
        hits = accepted.filter(pl.col("区划代码").str.starts_with(county[:n])).height
        local = 0

    step("保存", 0.8)
    out_dir = Path(settings.DATA_DIR) / "feeds" / feed_type
    out_dir.mkdir(parents=True, exist_ok=True)
    stored_path = out_dir / f"{sha[:16]}.parquet"
    accepted.write_parquet(stored_path, compression="zstd")
    import shutil

    original = out_dir / f"{sha[:16]}-original{path.suffix.lower()}"
    shutil.copyfile(path, original)
    with transaction.atomic():
        feed = FeedFile.objects.create(
            county_code=county,
            feed_type=feed_type,
            department=department,
            file_name=file_name,
            sha256=sha,
            stored_path=str(stored_path),
            original_path=str(original),
            rows_read=frame.height,
            rows_refused=refused.height,
            ids_invalid=int(counts.get("证件号码无效", 0)),
            rows_registered=hits,
            rows_unregistered_local=local,
            refusals=counts,
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
            details={"feed_type": feed_type, "rows": frame.height, "refused": refused.height, "sha256": sha},
        )
    step("完成", 1.0)
    return feed


def _registered_ids() -> pl.DataFrame:
    from dixian.registry.models import Person

    rows = Person.objects.filter(active=True).values_list("id_number", flat=True).iterator(chunk_size=50000)
    return pl.DataFrame({"id_number": list(rows)}, schema={"id_number": pl.Utf8})
