"""Excel files the registry writes: the import problem report and the ledger export."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from dixian.registry.ledger import RawLedger

LEVEL_LABEL = {"error": "错误", "warning": "提示"}


def write_problem_report(
    *, path: Path, raw: RawLedger, problems: list[dict], out: Path, file_name: str = ""
) -> Path:
    """The user's own sheet with every bad cell marked (red: error, yellow: warning), plus a list.

    Rows keep the numbers they have in the user's file, so 第N行 means the same row in both.
    """
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_numbers": False})
    red = wb.add_format({"bg_color": "#F8B4B4", "border": 1, "border_color": "#C81E1E"})
    yellow = wb.add_format({"bg_color": "#FDF6B2"})
    bold = wb.add_format({"bold": True, "bg_color": "#E5E7EB"})
    title = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})

    summary = wb.add_worksheet("问题清单")
    errors = sum(1 for p in problems if p["level"] == "error")
    summary.write(
        0,
        0,
        f"台账导入问题报告：{file_name or path.name}（错误 {errors} 处，提示 {len(problems) - errors} 处；有错误时未导入任何数据）",
        title,
    )
    for c, h in enumerate(["行号", "列", "单元格内容", "问题", "级别", "户编号", "姓名"]):
        summary.write(1, c, h, bold)
    summary.set_column(0, 0, 8)
    summary.set_column(1, 1, 22)
    summary.set_column(2, 2, 26)
    summary.set_column(3, 3, 70)
    summary.set_column(4, 4, 8)
    summary.set_column(5, 5, 20)
    summary.set_column(6, 6, 10)
    for i, p in enumerate(problems, start=2):
        summary.write_number(i, 0, p["row"]) if p["row"] else summary.write_string(i, 0, "")
        summary.write_string(i, 1, p["column"])
        summary.write_string(i, 2, p["value"])
        summary.write_string(i, 3, p["message"], wrap)
        summary.write_string(i, 4, LEVEL_LABEL.get(p["level"], p["level"]))
        summary.write_string(i, 5, p.get("household_no", ""))
        summary.write_string(i, 6, p.get("name", ""))
    summary.freeze_panes(2, 0)

    sheet = wb.add_worksheet("原表（已标出问题）")
    columns = [c for c in raw.frame.columns if c != "_row"]
    marks: dict[tuple[int, str], str] = {}
    for p in problems:
        key = (p["row"], p["column"])
        if marks.get(key) != "error":
            marks[key] = p["level"]
    bad_rows = {p["row"] for p in problems}
    header_row = max(raw.header_row, 1)
    if header_row > 1:
        sheet.write_string(0, 0, "（表头以上的标题行未复制）")
    for c, name in enumerate(columns):
        fmt = red if marks.get((header_row, name)) == "error" else bold
        sheet.write_string(header_row - 1, c, name, fmt)
    if raw.frame.height:
        for record in raw.frame.iter_rows(named=True):
            r = record["_row"]
            row_marked = r in bad_rows
            for c, name in enumerate(columns):
                value = record[name]
                fmt = None
                if row_marked:
                    level = marks.get((r, name))
                    fmt = red if level == "error" else yellow if level == "warning" else None
                if value is None:
                    if fmt is not None:
                        sheet.write_blank(r - 1, c, None, fmt)
                else:
                    sheet.write_string(r - 1, c, str(value), fmt) if fmt else sheet.write_string(
                        r - 1, c, str(value)
                    )
    sheet.freeze_panes(header_row, 0)
    wb.close()
    return out
