"""`dixian tables` and `dixian briefing`: the statistical tables (.xlsx) and the work briefing (.docx)
of a region and a period, every figure from the indicator catalogue. Both are audited."""

from __future__ import annotations

from pathlib import Path

import typer

from dixian.cli.main import _fail, _operator, _setup, app, console, err
from dixian.cli.stats import _day, _region_code


def _check_out(out: Path, suffix: str) -> None:
    if out.suffix.lower() != suffix:
        _fail(f"输出文件应以 {suffix} 结尾：{out}")
    if not out.parent.exists():
        _fail(f"输出目录不存在：{out.parent}")


@app.command()
def tables(
    region: str = typer.Option(..., "--region", help="区划代码：6 位（县）或 12 位"),
    since: str = typer.Option(..., "--since", help="统计期起始日期 YYYY-MM-DD"),
    as_of: str = typer.Option(..., "--as-of", help="统计日期 YYYY-MM-DD"),
    out: Path = typer.Option(..., "--out", help="输出文件（.xlsx）"),
):
    """生成统计报表（.xlsx）：监测对象按类别和风险、识别与风险消除、脱贫人口收入，每个乡镇（村）一行并有合计行。"""
    code, since_day, as_of_day = (
        _region_code(region, required=True),
        _day(since, "起始日期", required=True),
        _day(as_of, "统计日期", required=True),
    )
    _check_out(out, ".xlsx")
    _setup()
    from dixian.core.errors import DixianError
    from dixian.reports.services import export_tables

    try:
        built = export_tables(actor=_operator(), region_code=code, as_of=as_of_day, since=since_day, out=out)
    except DixianError as exc:
        _fail(exc.message)
    console.print(
        f"[green]已生成[/] {out}：{built.region_name} {len(built.tables)} 张表，"
        f"每张 {len(built.rows)} 个{built.part_level}和合计行"
    )


@app.command()
def briefing(
    region: str = typer.Option("", "--region", help="区划代码：6 位（县）或 12 位"),
    since: str = typer.Option("", "--since", help="统计期起始日期 YYYY-MM-DD"),
    as_of: str = typer.Option("", "--as-of", help="统计日期 YYYY-MM-DD"),
    out: Path = typer.Option(..., "--out", help="输出文件（.docx）"),
    template: Path = typer.Option(
        None,
        "--template",
        help="用这个 .docx 模板（默认：数据目录 templates/briefing.docx，没有则用内置模板）",
    ),
    write_template: bool = typer.Option(
        False, "--write-template", help="不生成简报，只把内置模板写到 --out，供本县修改"
    ),
):
    """生成工作信息（.docx），并核对其中每个数字；核对未通过时文件中有标记，退出码为 3。"""
    _check_out(out, ".docx")
    if write_template:
        _setup()
        from dixian.reports.briefing import default_template

        out.write_bytes(default_template())
        console.print(f"[green]已写出内置模板[/] {out}（占位符见用户手册“工作信息模板”）")
        return
    code, since_day, as_of_day = (
        _region_code(region, required=True),
        _day(since, "起始日期", required=True),
        _day(as_of, "统计日期", required=True),
    )
    _setup()
    from dixian.core.errors import DixianError
    from dixian.reports.services import generate_briefing

    try:
        b = generate_briefing(
            actor=_operator(), region_code=code, as_of=as_of_day, since=since_day, template=template
        )
    except DixianError as exc:
        _fail(exc.message)
    out.write_bytes(b.docx)
    console.print(f"[green]已生成[/] {out}（{b.template_source}）")
    if b.check.ok:
        console.print(f"[green]{b.check.summary}[/]")
        return
    err.print(f"[bold red]{b.check.summary}[/]")
    for f in b.check.findings:
        err.print(f"  【{f.level_label}】第{f.paragraph}段“{f.excerpt}”：{f.message}")
    raise typer.Exit(3)
