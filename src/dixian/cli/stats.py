"""`dixian stats`: figures from the indicator catalogue for a region at a date."""

from __future__ import annotations

import json
import sys
from datetime import date

import typer
from rich.table import Table

from dixian.cli.main import _fail, _setup, app, console


def _day(value: str, label: str, *, required: bool = False) -> date | None:
    """A YYYY-MM-DD option as a date (None when empty and not required); a clear error otherwise."""
    value = (value or "").strip()
    if not value and not required:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{label}“{value}”无效：应为 YYYY-MM-DD（如 2026-06-30）")


def _region_code(value: str, *, required: bool = False) -> str:
    """A --region option (6 digits for a county, or 12) as a 12-digit code; "" when empty and not required."""
    code = (value or "").strip()
    if not code and not required:
        return ""
    if not code.isdigit() or len(code) not in (6, 12):
        _fail(f"区划代码“{value}”无效：应为 6 位（县）或 12 位数字")
    return code.ljust(12, "0")


@app.command()
def stats(
    region: str = typer.Option("", "--region", help="区划代码：6 位（县）或 12 位；默认本系统的管辖区域"),
    as_of: str = typer.Option("", "--as-of", help="统计日期 YYYY-MM-DD（默认今天）"),
    since: str = typer.Option("", "--since", help="统计期起始日期 YYYY-MM-DD（默认统计日期当年 1 月 1 日）"),
    as_json: bool = typer.Option(False, "--json", help='输出一个 JSON 对象 {"indicators": {代码: 数值}}'),
):
    """按指标目录计算一个区域截至某日的监测数据（每个数字的口径见网页“监测数据”）。"""
    as_of_day = _day(as_of, "统计日期")
    since_day = _day(since, "起始日期")
    code = _region_code(region)
    _setup()
    from django.utils import timezone

    from dixian.core.errors import DixianError
    from dixian.indicators import catalogue
    from dixian.indicators.compute import default_since
    from dixian.indicators.selectors import figures_for, home_region, region_for

    try:
        code = code or home_region(None)
        target = region_for(user=None, region_code=code)
        as_of_day = as_of_day or timezone.localdate()
        since_day = since_day or default_since(as_of_day)
        values = figures_for(user=None, region_code=target.code, as_of=as_of_day, since=since_day)
    except DixianError as exc:
        _fail(exc.message)
    if as_json:
        sys.stdout.write(json.dumps({"indicators": values}, ensure_ascii=False) + "\n")
        return
    table = Table(
        title=f"{target.name}（{target.code}）截至 {as_of_day.isoformat()}，统计期自 {since_day.isoformat()}"
    )
    for col, justify in (
        ("分组", "left"),
        ("指标", "left"),
        ("数值", "right"),
        ("单位", "left"),
        ("代码", "left"),
    ):
        table.add_column(col, justify=justify)
    for group, indicators in catalogue.by_group():
        for n, indicator in enumerate(indicators):
            table.add_row(
                group if n == 0 else "",
                indicator.name,
                indicator.display(values[indicator.code]),
                indicator.unit,
                indicator.code,
            )
        table.add_section()
    console.print(table)
    console.print("口径：每个指标的定义见网页“监测数据”页面，或 dixian.indicators.catalogue。", style="dim")
