"""`dixian quality`: data-quality findings of a region as of a date (monitoring.quality)."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from dixian.cli.main import _fail, _operator, _setup, app, console, err


@app.command()
def quality(
    region: str = typer.Option("", "--region", help="区划代码（县 6 位或 12 位；默认整个管辖区域）"),
    as_of: str = typer.Option("", "--as-of", help="检查截至日期 YYYY-MM-DD（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出全部问题"),
    xlsx: Path = typer.Option(None, "--xlsx", help="把检查结果写到 Excel 文件（.xlsx）"),
):
    """数据质量检查：识别至消除过短、帮扶消除无措施、消除时收入低于监测线等。"""
    try:
        on = date.fromisoformat(as_of.strip()) if as_of.strip() else None
    except ValueError:
        _fail(f"日期“{as_of}”无效：应为 YYYY-MM-DD，如 2024-06-30")
    if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
        _fail("输出文件应以 .xlsx 结尾")
    _setup()
    from django.utils import timezone

    from dixian.core.deployment import jurisdiction_code
    from dixian.core.errors import DixianError
    from dixian.monitoring.quality import (
        normalise_region,
        record_export,
        run_checks,
        summary,
        write_quality_xlsx,
    )
    from dixian.regions.selectors import region_by_code

    on = on or timezone.localdate()
    t0 = time.perf_counter()
    try:
        code = normalise_region(region) if region.strip() else jurisdiction_code()
        findings = run_checks(region_code=code, as_of=on, user=None)
    except DixianError as exc:
        _fail(exc.message)
    elapsed = time.perf_counter() - t0
    place = region_by_code(code)
    name = place.short_name or place.name
    if xlsx is not None:
        title = f"{name}防返贫监测数据质量检查（截至{on.year}年{on.month}月{on.day}日）"
        try:
            write_quality_xlsx(findings, xlsx, title=title)
        except OSError as exc:
            _fail(f"无法写入 {xlsx}：{exc.strerror or exc}")
        record_export(actor=_operator(), region_code=code, as_of=on, path=xlsx, count=len(findings))
    if as_json:
        out = {
            "findings": [
                {"rule": f.rule, "household_no": f.household_no, "message": f.message} for f in findings
            ]
        }
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        if xlsx is not None:
            err.print(f"已写出 {xlsx}")
        return
    table = Table(title=f"{name} 数据质量检查（截至 {on.isoformat()}）")
    for col, justify in (("规则", "left"), ("名称", "left"), ("问题数", "right")):
        table.add_column(col, justify=justify)
    for row in summary(findings):
        table.add_row(row["rule"], row["name"], str(row["count"]))
    table.add_row("合计", "", str(len(findings)), style="bold")
    console.print(table)
    for f in findings:
        if f.rule == "policy_missing":
            console.print(f"[yellow]提示[/]：{f.message}")
    console.print(f"用时 {elapsed:.2f} 秒。逐户明细请用 --json 或 --xlsx 文件.xlsx")
    if xlsx is not None:
        console.print(f"[green]已写出[/] {xlsx}")
