"""The household ledger exchange format: its columns, reading a file, and whole-file validation.

Nothing here touches the database except through the arguments it is given (existing IDs, a region
matcher). ``read_ledger`` turns a file into a frame of strings with the Excel row number of each row;
``validate_ledger`` returns the normalised household and person frames plus every problem found.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dixian.core import idcard, parsing
from dixian.core.errors import ValidationError
from dixian.core.text import pinyin_full, pinyin_initials_many, to_halfwidth
from dixian.registry.choices import (
    DEFAULT_CHANNELS,
    LABOUR_SKILLS,
    MEASURE_COLUMNS,
    RELATIONS,
    RISK_ALIASES,
    EliminationMode,
    HouseholdType,
    MonitoringCategory,
    RiskStatus,
    RiskType,
)

# ---------------------------------------------------------------------------------------------
# Columns: (ledger header, internal name, level). Level "h" = household (repeats on every row).

RISK_COLUMNS = [f"致贫/返贫风险{i}" for i in range(1, 6)]
MONEY_COLUMNS = {
    "工资性收入": "wage_income",
    "生产经营性收入": "business_income",
    "财产性收入": "property_income",
    "转移性收入": "transfer_income",
    "生产经营性支出": "business_expense",
    "人均纯收入（元）": "declared_per_capita_income",
}

COLUMNS: list[tuple[str, str, str]] = [
    ("序号", "seq", "-"),
    ("县(市、区、旗)", "county", "h"),
    ("乡(镇)", "township", "h"),
    ("行政村", "village", "h"),
    ("自然村", "hamlet", "h"),
    ("区划代码", "region_code", "h"),
    ("户编号", "household_no", "h"),
    ("人编号", "person_no", "p"),
    ("姓名", "name", "p"),
    ("证件号码", "id_number", "p"),
    ("人数", "declared_size", "h"),
    ("与户主关系", "relation_to_head", "p"),
    ("性别", "sex", "p"),
    ("民族", "ethnicity", "p"),
    ("文化程度", "education", "p"),
    ("在校生状况", "student_status", "p"),
    ("健康状况", "health", "p"),
    ("劳动技能", "labour_skill", "p"),
    ("务工时间（月）", "work_months", "p"),
    ("是否参加城乡居民基本医疗保险", "medical_insurance", "p"),
    ("是否享受低保", "dibao", "p"),
    ("是否特困供养", "tekun", "p"),
    ("户联系电话", "phone", "h"),
    ("户类型", "household_type", "h"),
    ("脱贫年度", "lifted_year", "h"),
    ("监测对象类别", "monitoring_category", "h"),
    ("识别途径", "channel", "h"),
    ("识别监测时间", "identified_month", "h"),
    *[(c, f"risk{i}", "h") for i, c in enumerate(RISK_COLUMNS, start=1)],
    ("风险是否已消除", "risk_eliminated", "h"),
    ("风险消除方式", "elimination_mode", "h"),
    ("消除监测时间", "eliminated_month", "h"),
    *[(c, f, "h") for c, f in MONEY_COLUMNS.items()],
    *[(c, f"measure{i}", "h") for i, c in enumerate(MEASURE_COLUMNS)],
]
HEADER_TO_NAME = {h: n for h, n, _ in COLUMNS}
NAME_TO_HEADER = {n: h for h, n, _ in COLUMNS}
HOUSEHOLD_FIELDS = [n for _, n, lvl in COLUMNS if lvl == "h" and n not in ("county", "township", "village")]
REQUIRED = ["户编号", "姓名", "证件号码", "与户主关系", "户类型"]
PLACE_HEADERS = ["县(市、区、旗)", "乡(镇)", "行政村"]
EXPORT_HEADERS = [h for h, _, _ in COLUMNS]

MAX_LISTED_PROBLEMS = 2000


def _norm_header(value: str | None) -> str:
    if value is None:
        return ""
    text = to_halfwidth(str(value)).strip().replace(" ", "").replace("\n", "")
    return text


# Header variants seen in real files -> canonical header.
_HEADER_ALIASES = {
    "县(市、区)": "县(市、区、旗)",
    "县": "县(市、区、旗)",
    "乡镇": "乡(镇)",
    "乡(镇、街道)": "乡(镇)",
    "身份证号": "证件号码",
    "身份证号码": "证件号码",
    "务工时间(月)": "务工时间（月）",
    "人均纯收入(元)": "人均纯收入（元）",
    "人均纯收入": "人均纯收入（元）",
    "公益性岗位帮扶": "公益岗位帮扶",
    "易返贫致贫户(监测对象)类型": "监测对象类别",
    "风险是否消除": "风险是否已消除",
    "是否参加大病保险": "是否参加城乡居民基本医疗保险",
}
_CANON = {_norm_header(h): h for h in EXPORT_HEADERS}
_CANON.update({_norm_header(k): v for k, v in _HEADER_ALIASES.items()})


def canonical_header(value) -> str | None:
    return _CANON.get(_norm_header(value))


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass
class RawLedger:
    """A ledger file as strings. ``frame`` has one column per header plus ``_row`` (Excel row number)."""

    frame: pl.DataFrame
    header_row: int  # 1-based row number of the header in the file
    columns: list[str]  # canonical or original header text, in file order
    numeric_id_rows: set[int] = field(default_factory=set)  # Excel rows whose ID cell was a number
    lost_id_rows: set[int] = field(default_factory=set)  # ...of more than 15 digits (lost digits)
    file_problems: list[dict] = field(default_factory=list)
    pending: object | None = None  # a Future of (numeric_id_rows, lost_id_rows) still being read

    def numeric_ids(self) -> set[int]:
        """Rows whose ID lost digits in Excel; waits for the background read of cell types if any."""
        if self.pending is not None:
            self.numeric_id_rows, self.lost_id_rows = self.pending.result()
            self.pending = None
        return self.lost_id_rows


def _problem(row, column, value, message, level="error") -> dict:
    return {
        "row": row,
        "column": column or "",
        "value": "" if value is None else str(value),
        "message": message,
        "level": level,
    }


def _find_header(rows: list[list]) -> int | None:
    for i, row in enumerate(rows[:30]):
        names = {canonical_header(c) for c in row if c is not None}
        if "证件号码" in names and "户编号" in names:
            return i
    return None


def _decode_csv(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValidationError("无法识别 CSV 文件的编码（应为 UTF-8 或 GB18030）")


def _read_csv(path: Path) -> tuple[pl.DataFrame, int]:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise ValidationError("文件不是表格：无法作为 Excel 或 CSV 读取")
    try:
        data.decode("utf-8")  # validates without keeping a copy
        utf8 = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    except UnicodeDecodeError:
        utf8 = _decode_csv(data).encode("utf-8")
    del data
    # Find the header line among the first lines, then let polars parse the rest.
    offsets, pos = [], 0
    while len(offsets) < 31 and pos < len(utf8):
        end = utf8.find(b"\n", pos)
        end = len(utf8) if end < 0 else end + 1
        offsets.append((pos, end))
        pos = end
    head_lines = [utf8[a:b].decode("utf-8").rstrip("\r\n") for a, b in offsets[:30]]
    head_rows = list(csv.reader(head_lines))
    h = _find_header(head_rows)
    if h is None:
        return pl.DataFrame(), -1
    header = [c.strip() for c in head_rows[h]]
    rest = utf8[offsets[h][1] :] if h < len(offsets) else b""
    if not rest.strip():  # header only
        frame = pl.DataFrame({f"c{i}": pl.Series([], dtype=pl.Utf8) for i in range(len(header))})
        frame = frame.with_row_index("_row", offset=h + 2)
        return _rename_columns(frame, {f"c{i}": name for i, name in enumerate(header)}), h + 1
    frame = pl.read_csv(
        rest,
        has_header=False,
        infer_schema=False,
        new_columns=[f"c{i}" for i in range(len(header))],
        truncate_ragged_lines=True,
        quote_char='"',
    )
    del rest, utf8
    # Excel-style row numbers: header is line h+1, first data row h+2.
    frame = frame.with_row_index("_row", offset=h + 2)
    rename = {f"c{i}": name for i, name in enumerate(header)}
    frame = _rename_columns(frame, rename)
    return frame, h + 1


def _rename_columns(frame: pl.DataFrame, rename: dict[str, str]) -> pl.DataFrame:
    """Rename positional columns to their headers; blank or repeated headers get a suffix."""
    seen: dict[str, int] = {}
    mapping = {}
    for col, name in rename.items():
        if col not in frame.columns:
            continue
        label = canonical_header(name) or (name or "").strip()
        if not label:
            label = f"未命名列{col[1:]}"
        if label in seen:
            seen[label] += 1
            label = f"{label}#{seen[label]}"
        else:
            seen[label] = 1
        mapping[col] = label
    return frame.rename(mapping)


def _read_excel(path: Path, sheet: str | int | None) -> RawLedger:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # calamine says why in English; the user needs Chinese
        raise ValidationError("文件不是表格：无法作为 Excel 读取（请确认是 .xlsx 或 .xls 文件）") from exc
    names = reader.sheet_names
    if not names:
        raise ValidationError("文件中没有工作表")
    target = sheet if sheet is not None else 0
    if isinstance(target, str) and target not in names:
        raise ValidationError(f"文件中没有名为“{target}”的工作表（有：{'、'.join(names)}）")
    try:
        # skip_rows=0: keep the empty rows above the data, so that row i of the frame is Excel row i+1
        full = reader.load_sheet(target, header_row=None, dtypes="string", skip_rows=0).to_polars()
    except Exception as exc:
        if "empty" in str(exc).lower() or "no rows" in str(exc).lower():
            raise ValidationError("工作表是空的") from exc
        raise ValidationError("无法读取工作表内容") from exc
    if full.height == 0:
        raise ValidationError("工作表是空的")
    h = _find_header([list(r) for r in full.head(30).rows()])
    if h is None:
        return RawLedger(pl.DataFrame(), -1, [])
    header = list(full.row(h))
    frame = full.slice(h + 1).with_row_index("_row", offset=h + 2)
    rename = {col: header[i] for i, col in enumerate(full.columns)}
    frame = frame.rename({c: f"c{i}" for i, c in enumerate(full.columns)})
    frame = _rename_columns(frame, {f"c{i}": rename[c] for i, c in enumerate(full.columns)})
    raw = RawLedger(frame, h + 1, [c for c in frame.columns if c != "_row"])
    # Which ID cells were stored as numbers? A strict probe of that column says whether any is; only
    # then are the cells' types read one by one (calamine) to say which.
    id_idx = next((i for i, c in enumerate(header) if canonical_header(c) == "证件号码"), None)
    if id_idx is not None:
        # The cell types of the ID column are read again in a second thread (calamine releases the
        # GIL) while validation starts; validation waits for them before it judges the ID numbers.
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=1)
        raw.pending = pool.submit(_numeric_id_cells, path, target, full.columns[id_idx], id_idx, h)
        pool.shutdown(wait=False)
    return raw


def _numeric_id_cells(path: Path, sheet, name: str, col: int, header_idx: int) -> tuple[set[int], set[int]]:
    if not _ids_mixed(path, sheet, name):
        return set(), set()
    return _numeric_cells(path, sheet, col, header_idx)


def _ids_mixed(path: Path, sheet: str | int, col: str) -> bool:
    """Whether the ID column holds any number at all (a strict typed read fails on a mix). ``col`` is
    fastexcel's name of the column (``__UNNAMED__n``, counted from the sheet's first used column; its
    integer indexes count from column A instead)."""
    import fastexcel

    try:
        probe = fastexcel.read_excel(str(path)).load_sheet(
            sheet, header_row=None, use_columns=[col], schema_sample_rows=None, dtype_coercion="strict"
        )
        return probe.to_polars().dtypes[0] != pl.Utf8
    except Exception:
        return True


def _numeric_cells(path: Path, sheet: str | int, col: int, header_idx: int) -> tuple[set[int], set[int]]:
    """Excel rows (1-based) whose cell in ``col`` is a number, and those of more than 15 digits.
    ``col`` counts from the sheet's first used column, ``header_idx`` from its first row."""
    import python_calamine

    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    sh = wb.get_sheet_by_index(sheet) if isinstance(sheet, int) else wb.get_sheet_by_name(sheet)
    numeric, lost = set(), set()
    # iter_rows pads the empty rows above the range (rows count from the top of the sheet) while
    # columns count from the range's first column, as in fastexcel.
    for i, row in enumerate(sh.iter_rows()):
        if i <= header_idx or col >= len(row):
            continue
        value = row[col]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numeric.add(i + 1)
            if abs(value) >= 1e15:
                lost.add(i + 1)
    return numeric, lost


def read_ledger(path: Path | str, *, sheet: str | int | None = None) -> RawLedger:
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise ValidationError(f"找不到文件：{path}")
    if path.stat().st_size == 0:
        raise ValidationError("文件是空的")
    if suffix in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        raw = _read_excel(path, sheet)
    elif suffix in (".csv", ".txt"):
        frame, header_row = _read_csv(path)
        raw = RawLedger(frame, header_row, [c for c in frame.columns if c != "_row"])
    else:
        raise ValidationError(f"不支持的文件类型“{suffix or '无扩展名'}”：请上传 .xlsx、.xls 或 .csv 台账")
    if raw.header_row < 0:
        raise ValidationError("找不到表头行：台账的表头应含“证件号码”和“户编号”两列（前 30 行内）")
    return raw


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass
class ValidatedLedger:
    households: pl.DataFrame  # one row per household, canonical values
    persons: pl.DataFrame  # one row per person
    problems: list[dict]  # every error and warning: row, column, value, message, level
    data_rows: int
    extra_columns: list[str]

    @property
    def errors(self) -> list[dict]:
        return [p for p in self.problems if p["level"] == "error"]

    @property
    def warnings(self) -> list[dict]:
        return [p for p in self.problems if p["level"] == "warning"]


_TYPE_VALUES = {
    "脱贫户": HouseholdType.LIFTED.value,
    "一般农户": HouseholdType.ORDINARY.value,
    "普通农户": HouseholdType.ORDINARY.value,
}
_CATEGORY_VALUES = {c.label: c.value for c in MonitoringCategory}
_RISK_VALUES = {r.label: r.value for r in RiskType} | {k: v.value for k, v in RISK_ALIASES.items()}
_MODE_VALUES = {m.label: m.value for m in EliminationMode}
_BOOL_VALUES = {
    "是": True,
    "否": False,
    "Y": True,
    "N": False,
    "1": True,
    "0": False,
    "TRUE": True,
    "FALSE": False,
    "true": True,
    "false": False,
}


def _issues(
    frame: pl.DataFrame, mask: pl.Expr, column: str, value: pl.Expr, message, level="error"
) -> pl.DataFrame:
    """Problems as a frame: every row where ``mask`` holds."""
    msg = message if isinstance(message, pl.Expr) else pl.lit(message)
    return frame.filter(mask).select(
        pl.col("_row").cast(pl.Int64).alias("row"),
        pl.lit(column).alias("column"),
        value.cast(pl.Utf8).fill_null("").alias("value"),
        msg.cast(pl.Utf8).alias("message"),
        pl.lit(level).alias("level"),
    )


def _clean_frame(raw: RawLedger) -> pl.DataFrame:
    """Trim every cell (also full-width spaces) and make empty cells null. Takes the frame out of
    ``raw`` (the caller keeps no reference to the file's text).

    Column by column in small batches, rebinding the frame each time, so that the file's text and its
    cleaned copy never both exist in full (each batch's old columns are freed as it is replaced)."""
    frame, raw.frame = raw.frame, None
    cols = [c for c in frame.columns if c != "_row"]
    for start in range(0, len(cols), 6):
        batch = cols[start : start + 6]
        cleaned = [
            pl.col(c)
            .cast(pl.Utf8)
            .str.strip_chars()
            .str.replace_all("\u3000", "", literal=True)
            .str.strip_chars()
            for c in batch
        ]
        frame = frame.with_columns(cleaned)  # each cleaned column computed once, then blanks to null
        frame = frame.with_columns(
            [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in batch]
        )
    return frame


def _data_rows(frame: pl.DataFrame, keep: pl.Expr) -> pl.DataFrame:
    """The rows where ``keep`` holds; a slice (no copy) when the others are only above or below."""
    mask = frame.select(keep.alias("k"))["k"]
    if mask.all():
        return frame
    kept = mask.arg_true()
    first, last = kept.min(), kept.max()
    if first is not None and last - first + 1 == kept.len():
        return frame.slice(first, last - first + 1)
    return frame.filter(mask)


def validate_ledger(
    raw: RawLedger,
    *,
    resolve_places,
    existing_ids: pl.DataFrame | None = None,
    in_scope=None,
    channels: list[str] | None = None,
) -> ValidatedLedger:
    """Check the whole file before anything is written.

    ``resolve_places(frame)`` takes a frame with ``county, township, village, code`` columns and returns
    ``(codes Series, problems [(index, column, value, message)])`` (the region matcher).
    ``existing_ids``: frame ``id_number, household_no`` of persons already registered.
    ``in_scope(code) -> bool`` says whether the importing account may write a village.
    """
    channels = channels or DEFAULT_CHANNELS
    problems: list[pl.DataFrame] = []
    listed: list[dict] = list(raw.file_problems)

    # Required columns (or 区划代码 instead of the place names).
    present = set(raw.columns)
    missing = [c for c in REQUIRED if c not in present]
    if "区划代码" not in present:
        missing += [c for c in PLACE_HEADERS if c not in present]
    if missing:
        for c in missing:
            listed.append(_problem(raw.header_row, c, "", f"缺少必填列“{c}”"))
        return ValidatedLedger(pl.DataFrame(), pl.DataFrame(), listed, 0, [])

    # The cleaned text of the data rows replaces the file's text (the problem report shows it): one
    # copy, not two. Blank rows and notes rows (no ID, no 户编号, no name) are not data.
    key_cols = ["证件号码", "户编号", "姓名"]
    raw.frame = _data_rows(_clean_frame(raw), pl.any_horizontal([pl.col(c).is_not_null() for c in key_cols]))
    df = raw.frame
    for h in EXPORT_HEADERS:
        if h not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias(h))
    extra_columns = [c for c in raw.columns if c not in HEADER_TO_NAME and not c.startswith("未命名列")]

    # Blank rows and notes rows (no ID, no 户编号, no name) are not data (filtered above).
    if df.height == 0:
        listed.append(_problem(raw.header_row, "", "", "表中没有数据行"))
        return ValidatedLedger(pl.DataFrame(), pl.DataFrame(), listed, 0, extra_columns)

    # Required cells.
    for c in REQUIRED:
        problems.append(_issues(df, pl.col(c).is_null(), c, pl.col(c), f"“{c}”为必填项"))

    # ID numbers: normalise, check, and refuse numbers that Excel stored as numeric cells.
    ids = idcard.check_ids(df["证件号码"])
    df = df.with_columns(
        ids["id_number"].alias("_id"),
        ids["id_valid"].alias("_id_valid"),
        ids["id_error"].alias("_id_error"),
        ids["birth_date"].alias("_birth"),
        ids["sex"].alias("_id_sex"),
    )
    # A 20-character disability certificate (ID + category + grade) is kept but flagged.
    df = df.with_columns(
        (~pl.col("_id_valid") & (pl.col("_id").str.len_chars() == 20)).alias("_cert"),
    )
    if df.filter(pl.col("_cert")).height:
        cert_ids = idcard.check_ids(df.filter(pl.col("_cert"))["_id"].str.slice(0, 18))
        cert = (
            df.filter(pl.col("_cert"))
            .select("_row")
            .with_columns(
                cert_ids["id_valid"].alias("_cv"),
                cert_ids["birth_date"].alias("_cb"),
                cert_ids["sex"].alias("_cs"),
            )
        )
        df = (
            df.join(cert, on="_row", how="left")
            .with_columns(
                pl.col("_cert") & pl.col("_cv").fill_null(False),
                pl.coalesce("_birth", "_cb").alias("_birth"),
                pl.coalesce("_id_sex", "_cs").alias("_id_sex"),
            )
            .drop("_cv", "_cb", "_cs")
        )
    # ID cells that Excel stored as numbers are judged at the end (their cell types are still being
    # read in a second thread); the other ID problems now.
    masked = pl.col("证件号码").str.contains("*", literal=True)
    problems.append(
        _issues(
            df,
            masked,
            "证件号码",
            pl.col("证件号码"),
            "证件号码已脱敏（含*），不能导入：请导出含完整证件号码的台账后再导入",
        )
    )
    problems.append(
        _issues(
            df,
            ~masked & pl.col("证件号码").is_not_null() & ~pl.col("_id_valid") & ~pl.col("_cert"),
            "证件号码",
            pl.col("证件号码"),
            pl.col("_id_error"),
        )
    )

    # The same ID twice in the file.
    dup = (
        df.filter(pl.col("_id").is_not_null())
        .group_by("_id")
        .agg(pl.col("_row").min().alias("_first"), pl.len().alias("_n"))
        .filter(pl.col("_n") > 1)
    )
    if dup.height:
        d = df.join(dup, on="_id").filter(pl.col("_row") != pl.col("_first"))
        problems.append(
            _issues(
                d,
                pl.lit(True),
                "证件号码",
                pl.col("证件号码"),
                pl.format("证件号码与第{}行重复", pl.col("_first")),
            )
        )

    # Already registered in a household that this file does not contain.
    if existing_ids is not None and existing_ids.height:
        file_households = df["户编号"].drop_nulls().unique()
        clash = (
            df.select("_row", "_id", "户编号", "证件号码")
            .join(existing_ids.rename({"household_no": "_other"}), left_on="_id", right_on="id_number")
            .filter(
                (pl.col("_other") != pl.col("户编号")) & ~pl.col("_other").is_in(file_households.implode())
            )
        )
        problems.append(
            _issues(
                clash,
                pl.lit(True),
                "证件号码",
                pl.col("证件号码"),
                pl.format("此人已登记在另一户（户编号 {}），同一人不能属于两户", pl.col("_other")),
            )
        )

    # Places.
    place_in = df.select(
        pl.col("县(市、区、旗)").alias("county"),
        pl.col("乡(镇)").alias("township"),
        pl.col("行政村").alias("village"),
        pl.col("区划代码").alias("code"),
    )
    codes, place_problems = resolve_places(place_in)
    df = df.with_columns(pl.Series("_village", codes, dtype=pl.Utf8))
    rows_list = df["_row"].to_list()
    place_headers = {
        "county": "县(市、区、旗)",
        "township": "乡(镇)",
        "village": "行政村",
        "code": "区划代码",
    }
    for idx, column, value, message in place_problems:
        listed.append(_problem(rows_list[idx], place_headers.get(column, column), value, message))
    if in_scope is not None:
        villages = df["_village"].drop_nulls().unique().to_list()
        outside = [v for v in villages if not in_scope(v)]
        if outside:
            problems.append(
                _issues(
                    df,
                    pl.col("_village").is_in(outside),
                    "行政村",
                    pl.coalesce("行政村", "区划代码"),
                    "该户所在村不在您的管辖范围内，不能导入",
                )
            )

    # Enumerations.
    def enum_check(col: str, allowed: dict | list, message: str, level="error"):
        keys = list(allowed.keys()) if isinstance(allowed, dict) else list(allowed)
        problems.append(
            _issues(
                df, pl.col(col).is_not_null() & ~pl.col(col).is_in(keys), col, pl.col(col), message, level
            )
        )

    enum_check("户类型", _TYPE_VALUES, "户类型只能是“脱贫户”或“一般农户”")
    enum_check(
        "监测对象类别", _CATEGORY_VALUES, "监测对象类别只能是脱贫不稳定户、边缘易致贫户、突发严重困难户或留空"
    )
    for c in RISK_COLUMNS:
        enum_check(c, _RISK_VALUES, f"无法识别的风险类型（可填：{'、'.join(r.label for r in RiskType)}）")
    enum_check("风险消除方式", _MODE_VALUES, "风险消除方式只能是“帮扶消除”或“自然消除”")
    enum_check("识别途径", channels, f"无法识别的识别途径（可填：{'、'.join(channels)}）")
    for c in ("风险是否已消除", "是否参加城乡居民基本医疗保险", "是否享受低保", "是否特困供养"):
        enum_check(c, _BOOL_VALUES, "只能填“是”或“否”")
    enum_check("性别", ["男", "女"], "性别只能是“男”或“女”")
    enum_check("与户主关系", RELATIONS, "与户主关系不在常用称谓中，请核对", "warning")
    enum_check(
        "劳动技能", LABOUR_SKILLS, f"劳动技能不在国家标准取值中（{'、'.join(LABOUR_SKILLS)}）", "warning"
    )

    # Numbers, months and money.
    df = df.with_columns(
        pl.col("务工时间（月）").str.replace(r"\.0+$", "").cast(pl.Int32, strict=False).alias("_work"),
        pl.col("人数").str.replace(r"\.0+$", "").cast(pl.Int32, strict=False).alias("_size"),
        pl.col("脱贫年度").str.replace(r"\.0+$", "").cast(pl.Int32, strict=False).alias("_lifted_year"),
        parsing.month_expr("识别监测时间").alias("_identified"),
        parsing.month_expr("消除监测时间").alias("_eliminated"),
    )
    problems.append(
        _issues(
            df,
            pl.col("务工时间（月）").is_not_null()
            & (pl.col("_work").is_null() | ~pl.col("_work").is_between(0, 12)),
            "务工时间（月）",
            pl.col("务工时间（月）"),
            "务工时间应为 0 到 12 的整数（月）",
        )
    )
    problems.append(
        _issues(
            df,
            pl.col("人数").is_not_null() & (pl.col("_size").is_null() | (pl.col("_size") < 1)),
            "人数",
            pl.col("人数"),
            "人数应为正整数",
        )
    )
    problems.append(
        _issues(
            df,
            pl.col("脱贫年度").is_not_null()
            & (pl.col("_lifted_year").is_null() | ~pl.col("_lifted_year").is_between(2013, 2021)),
            "脱贫年度",
            pl.col("脱贫年度"),
            "脱贫年度应为 2014 至 2020 年之间的年份",
        )
    )
    for col, alias in (("识别监测时间", "_identified"), ("消除监测时间", "_eliminated")):
        problems.append(
            _issues(
                df,
                pl.col(col).is_not_null() & pl.col(alias).is_null(),
                col,
                pl.col(col),
                "不是有效的年月（可写 202305、2023-05 或 2023年5月）",
            )
        )
    df = df.with_columns([parsing.money_expr(col).alias(f"_{name}") for col, name in MONEY_COLUMNS.items()])
    for col, name in MONEY_COLUMNS.items():
        negative = pl.col(col).str.contains(r"^[\s(（]*[-−－]\s*[0-9０-９]")
        problems.append(
            _issues(
                df,
                pl.col(col).is_not_null() & pl.col(f"_{name}").is_null() & ~negative,
                col,
                pl.col(col),
                "不是有效的金额",
            )
        )
        problems.append(_issues(df, negative, col, pl.col(col), "金额不能为负数"))

    # Household-level rules (row-wise, each row carries its household's values).
    lifted = pl.col("户类型") == "脱贫户"
    ordinary = pl.col("户类型").is_in(["一般农户", "普通农户"])
    cat = pl.col("监测对象类别")
    problems.append(
        _issues(
            df,
            (cat == "脱贫不稳定户") & ordinary,
            "监测对象类别",
            cat,
            "脱贫不稳定户只能是脱贫户；一般农户应为边缘易致贫户或突发严重困难户",
        )
    )
    problems.append(
        _issues(
            df,
            (cat == "边缘易致贫户") & lifted,
            "监测对象类别",
            cat,
            "边缘易致贫户只能是一般农户；脱贫户应为脱贫不稳定户或突发严重困难户",
        )
    )
    has_cat = cat.is_not_null()
    problems.append(
        _issues(
            df,
            has_cat & pl.col("识别监测时间").is_null(),
            "识别监测时间",
            pl.col("识别监测时间"),
            "有监测对象类别时必须填写识别监测时间",
        )
    )
    problems.append(
        _issues(
            df,
            has_cat & pl.col("致贫/返贫风险1").is_null(),
            "致贫/返贫风险1",
            pl.col("致贫/返贫风险1"),
            "有监测对象类别时必须填写致贫/返贫风险1",
        )
    )
    problems.append(
        _issues(
            df,
            has_cat & pl.col("风险是否已消除").is_null(),
            "风险是否已消除",
            pl.col("风险是否已消除"),
            "有监测对象类别时必须填写风险是否已消除",
        )
    )
    eliminated = pl.col("风险是否已消除").is_in(["是", "Y", "1", "TRUE", "true"])
    problems.append(
        _issues(
            df,
            eliminated & pl.col("消除监测时间").is_null(),
            "消除监测时间",
            pl.col("消除监测时间"),
            "风险已消除的户必须填写消除监测时间",
        )
    )
    problems.append(
        _issues(
            df,
            eliminated & pl.col("风险消除方式").is_null(),
            "风险消除方式",
            pl.col("风险消除方式"),
            "风险已消除的户必须填写风险消除方式",
        )
    )
    problems.append(_issues(df, eliminated & ~has_cat, "监测对象类别", cat, "非监测对象不能标为风险已消除"))
    problems.append(
        _issues(
            df,
            pl.col("_eliminated").is_not_null()
            & pl.col("_identified").is_not_null()
            & (pl.col("_eliminated") < pl.col("_identified")),
            "消除监测时间",
            pl.col("消除监测时间"),
            "消除监测时间早于识别监测时间",
        )
    )
    problems.append(
        _issues(
            df,
            pl.col("脱贫年度").is_not_null() & ordinary,
            "脱贫年度",
            pl.col("脱贫年度"),
            "一般农户不应有脱贫年度",
            "warning",
        )
    )
    problems.append(
        _issues(
            df,
            pl.col("性别").is_not_null()
            & pl.col("_id_sex").is_not_null()
            & (pl.col("性别") != pl.col("_id_sex"))
            & pl.col("性别").is_in(["男", "女"]),
            "性别",
            pl.col("性别"),
            pl.format("性别与证件号码不符（证件号码为{}）", pl.col("_id_sex")),
            "warning",
        )
    )

    # Household consistency: household columns must agree between its rows.
    hh = df.filter(pl.col("户编号").is_not_null())
    house_cols = [h for h, n, lvl in COLUMNS if lvl == "h" and h != "户编号"]
    # Compare what the cells mean, not how they are written (12,000 and 12000.00 agree).
    parsed = {c: f"_{n}" for c, n in MONEY_COLUMNS.items()} | {
        "识别监测时间": "_identified",
        "消除监测时间": "_eliminated",
        "人数": "_size",
        "脱贫年度": "_lifted_year",
    }
    cmp_expr = {
        c: pl.coalesce(pl.col(parsed[c]).cast(pl.Utf8), pl.col(c)) if c in parsed else pl.col(c)
        for c in house_cols
    }
    # One narrow pass: how many distinct values each household has per column (null counts as one).
    # Only households and columns with more than one get the per-row messages below.
    hh = hh.sort("_row")
    distinct = hh.group_by("户编号").agg([e.n_unique().alias(c) for c, e in cmp_expr.items()])
    bad_cols = [c for c in house_cols if distinct.height and (distinct[c].max() or 0) > 1]
    if bad_cols:
        bad_hh = distinct.filter(pl.any_horizontal([pl.col(c) > 1 for c in bad_cols]))["户编号"]
        sub = hh.filter(pl.col("户编号").is_in(bad_hh.implode()))
        for c in bad_cols:
            one = sub.select("户编号", "_row", c, cmp_expr[c].alias("_cmp")).with_columns(
                pl.col("_row").first().over("户编号").alias("_first_row"),
                pl.col(c).first().over("户编号").alias("_ref"),
                pl.col("_cmp").first().over("户编号").alias("_refcmp"),
            )
            problems.append(
                _issues(
                    one,
                    (pl.col("_row") != pl.col("_first_row")) & pl.col("_cmp").ne_missing(pl.col("_refcmp")),
                    c,
                    pl.col(c),
                    pl.format(
                        "同一户各行的“{}”应相同（第{}行为“{}”）",
                        pl.lit(c),
                        pl.col("_first_row"),
                        pl.col("_ref").fill_null("空"),
                    ),
                )
            )

    # Exactly one 户主 per household.
    heads = hh.group_by("户编号").agg(
        (pl.col("与户主关系") == "户主").sum().alias("_heads"),
        pl.col("_row").min().alias("_r"),
        pl.len().alias("_n"),
    )
    bad_heads = heads.filter(pl.col("_heads") != 1)
    for r in bad_heads.iter_rows(named=True):
        msg = "该户没有户主" if r["_heads"] == 0 else f"该户有{r['_heads']}个户主，每户只能有一个户主"
        listed.append(_problem(r["_r"], "与户主关系", r["户编号"], msg))
    size_warn = (
        hh.select("户编号", "_row", "_size", "人数")
        .join(heads.select("户编号", "_n"), on="户编号")
        .filter(
            pl.col("_size").is_not_null()
            & (pl.col("_size") != pl.col("_n"))
            & (pl.col("_row") == pl.col("_row").min().over("户编号"))
        )
    )
    problems.append(
        _issues(
            size_warn,
            pl.lit(True),
            "人数",
            pl.col("人数"),
            pl.format("人数为{}，但表中该户有{}行", pl.col("_size"), pl.col("_n")),
            "warning",
        )
    )

    # Per-capita income against its components (warning over 1 yuan).
    net = pl.sum_horizontal(
        [
            pl.col(f"_{n}").fill_null(0)
            for c, n in MONEY_COLUMNS.items()
            if n not in ("business_expense", "declared_per_capita_income")
        ]
    ) - pl.col("_business_expense").fill_null(0)
    money_cols = [f"_{n}" for n in MONEY_COLUMNS.values()]
    pci = (
        hh.select("户编号", "_row", "人均纯收入（元）", *money_cols)
        .join(heads.select("户编号", "_n"), on="户编号")
        .with_columns((net / pl.col("_n")).round(2).alias("_pci"))
    )
    pci = pci.filter(
        (pl.col("_row") == pl.col("_row").min().over("户编号"))
        & pl.col("_declared_per_capita_income").is_not_null()
        & ((pl.col("_pci") - pl.col("_declared_per_capita_income")).abs() > 1)
    )
    problems.append(
        _issues(
            pci,
            pl.lit(True),
            "人均纯收入（元）",
            pl.col("人均纯收入（元）"),
            pl.format("人均纯收入与各项收入不符（按各项收入和在册人数计算应为{}元）", pl.col("_pci")),
            "warning",
        )
    )

    lost_rows = raw.numeric_ids()
    if lost_rows:
        # A number of more than 15 digits lost its last digits in Excel: that, not the checksum, is
        # what the user must hear about those cells.
        problems = [
            p.filter(~((pl.col("column") == "证件号码") & pl.col("row").is_in(list(lost_rows))))
            for p in problems
        ]
        problems.append(
            _issues(
                df,
                pl.col("_row").is_in(list(lost_rows)) & pl.col("证件号码").is_not_null(),
                "证件号码",
                pl.col("证件号码"),
                "证件号码被 Excel 存成了数值，末几位已丢失：请把该列设为“文本”并重新填写原号码",
            )
        )
        listed = [p for p in listed if not (p["column"] == "证件号码" and p["row"] in lost_rows)]

    found = (
        pl.concat([p for p in problems if p.height], how="vertical")
        if any(p.height for p in problems)
        else None
    )
    all_problems = listed + (found.to_dicts() if found is not None else [])
    all_problems.sort(key=lambda p: (p["row"], p["level"] != "error", p["column"]))
    # Name the household and the person of each row, to help find it.
    rows_hit = {p["row"] for p in all_problems}
    who = {
        r: (no, name)
        for r, no, name in df.filter(pl.col("_row").is_in(list(rows_hit)))
        .select("_row", "户编号", "姓名")
        .iter_rows()
    }
    for p in all_problems:
        no, name = who.get(p["row"], (None, None))
        p["household_no"], p["name"] = no or "", name or ""
    if any(p["level"] == "error" for p in all_problems):
        return ValidatedLedger(pl.DataFrame(), pl.DataFrame(), all_problems, df.height, extra_columns)

    households, persons = _build_frames(df, extra_columns, all_problems)
    return ValidatedLedger(households, persons, all_problems, df.height, extra_columns)


def _bool_expr(col: str) -> pl.Expr:
    return pl.col(col).replace_strict(_BOOL_VALUES, default=None, return_dtype=pl.Boolean)


def _build_frames(df: pl.DataFrame, extra_columns: list[str], problems: list[dict]):
    """Canonical household and person frames from a validated ledger frame."""
    warnings_by_row: dict[int, list[str]] = {}
    for p in problems:
        if p["level"] == "warning":
            warnings_by_row.setdefault(p["row"], []).append(f"{p['column']}：{p['message']}")

    # df is in file order already (reading and filtering keep the order of the rows).
    # Pinyin of each distinct name once (names repeat a lot), mapped back by name: new columns only,
    # no copy of the frame.
    names = df["姓名"].unique().drop_nulls().to_list()
    initials = pinyin_initials_many(names)
    full = [pinyin_full(n) for n in names]
    df = df.with_columns(
        pl.col("姓名").replace_strict(names, initials, default=None, return_dtype=pl.Utf8).alias("_initials"),
        pl.col("姓名").replace_strict(names, full, default=None, return_dtype=pl.Utf8).alias("_pinyin"),
        pl.col("_row")
        .map_elements(
            lambda r: json.dumps(warnings_by_row.get(r, []), ensure_ascii=False), return_dtype=pl.Utf8
        )
        .alias("_flags")
        if warnings_by_row
        else pl.lit("[]").alias("_flags"),
    )
    risk_list = pl.concat_list(
        [pl.col(c).replace_strict(_RISK_VALUES, default=None) for c in RISK_COLUMNS]
    ).list.drop_nulls()
    measures = pl.struct([pl.col(c) for c in MEASURE_COLUMNS])
    elim = _bool_expr("风险是否已消除")
    cat = pl.col("监测对象类别").replace_strict(_CATEGORY_VALUES, default="")
    # Only the household's columns of its first row (a narrow copy: half a million rows at most).
    person_only = (
        {h for h, _, lvl in COLUMNS if lvl == "p"}
        | set(extra_columns)
        | {
            "_id",
            "_id_valid",
            "_id_error",
            "_birth",
            "_id_sex",
            "_cert",
            "_work",
            "_initials",
            "_pinyin",
            "_flags",
        }
    )
    first_rows = df.select([c for c in df.columns if c not in person_only]).filter(
        pl.col("_row") == pl.col("_row").min().over("户编号")
    )
    agg = (
        df.lazy()
        .select("户编号", "姓名", "_initials", "与户主关系", "_flags")
        .group_by("户编号")
        .agg(
            pl.len().alias("size"),
            pl.col("姓名").filter(pl.col("与户主关系") == "户主").first().alias("head_name"),
            (pl.col("姓名") + " " + pl.col("_initials")).str.join(" ").alias("search_text"),
            pl.col("_flags").filter(pl.col("_flags") != "[]").alias("_hh_flags"),
        )
        .collect()
    )
    households = (
        first_rows.lazy()
        .join(agg.lazy(), on="户编号")
        .select(
            pl.col("户编号").alias("household_no"),
            pl.col("_village").str.slice(0, 6).add("000000").alias("county_code"),
            pl.col("_village").str.slice(0, 9).add("000").alias("township_code"),
            pl.col("_village").alias("village_code"),
            pl.col("自然村").fill_null("").alias("hamlet"),
            pl.col("户类型").replace_strict(_TYPE_VALUES).alias("household_type"),
            pl.col("_lifted_year").alias("lifted_year"),
            pl.col("户联系电话").fill_null("").alias("phone"),
            "head_name",
            "size",
            pl.col("_size").alias("declared_size"),
            pl.col("search_text"),
            cat.alias("monitoring_category"),
            pl.col("识别途径").fill_null("").alias("channel"),
            pl.col("_identified").alias("identified_month"),
            risk_list.alias("risks"),
            pl.when(cat == "").then(None).otherwise(elim).alias("risk_eliminated"),
            pl.col("风险消除方式").replace_strict(_MODE_VALUES, default="").alias("elimination_mode"),
            pl.col("_eliminated").alias("eliminated_month"),
            pl.when(cat == "")
            .then(pl.lit(RiskStatus.NONE.value))
            .when(elim)
            .then(pl.lit(RiskStatus.ELIMINATED.value))
            .otherwise(pl.lit(RiskStatus.OPEN.value))
            .alias("risk_status"),
            *[pl.col(f"_{n}").alias(n) for n in MONEY_COLUMNS.values()],
            measures.alias("measures"),
            pl.col("_hh_flags").alias("flags"),
        )
        .collect()
    )
    del first_rows, agg
    person_cols = [
        pl.col("户编号").alias("household_no"),
        pl.col("_row").alias("row"),
        pl.col("人编号").fill_null("").alias("person_no"),
        pl.col("姓名").alias("name"),
        pl.col("_pinyin").alias("name_pinyin"),
        pl.col("_initials").alias("name_initials"),
        pl.col("_id").alias("id_number"),
        (~pl.col("_cert")).alias("id_is_resident"),
        pl.coalesce(
            pl.col("性别").filter(pl.col("性别").is_in(["男", "女"])) if False else pl.col("性别"),
            pl.col("_id_sex"),
        )
        .fill_null("")
        .alias("sex"),
        pl.col("_birth").alias("birth_date"),
        pl.col("与户主关系").alias("relation_to_head"),
        *[
            pl.col(h).fill_null("").alias(n)
            for h, n in (
                ("民族", "ethnicity"),
                ("文化程度", "education"),
                ("在校生状况", "student_status"),
                ("健康状况", "health"),
                ("劳动技能", "labour_skill"),
            )
        ],
        pl.col("_work").alias("work_months"),
        _bool_expr("是否参加城乡居民基本医疗保险").alias("medical_insurance"),
        _bool_expr("是否享受低保").alias("dibao"),
        _bool_expr("是否特困供养").alias("tekun"),
        pl.col("_flags").alias("flags"),
        (pl.struct([pl.col(c) for c in extra_columns]) if extra_columns else pl.lit(None)).alias("extra"),
    ]
    persons = df.select(person_cols).with_columns(
        pl.col("row").rank("ordinal").over("household_no").cast(pl.Int32).sub(1).alias("position")
    )
    return households, persons
