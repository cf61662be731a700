"""`dixian feed load` / `dixian feed map`: departments' data files."""

from __future__ import annotations

from pathlib import Path

import typer

from dixian.cli.main import _fail, _operator, _progress, _setup, app, console

feed_app = typer.Typer(
    help="部门数据（医保、民政、残联、教育、住建、水利、应急、人社、公安）", no_args_is_help=True
)
app.add_typer(feed_app, name="feed")


@feed_app.command("load")
def feed_load(
    path: Path = typer.Argument(..., help="部门数据文件（.csv / .xlsx / .parquet）"),
    feed_type: str = typer.Option(
        ...,
        "--type",
        help="medical / disability / assistance / education / housing / "
        "water / disaster / employment / civil_registry",
    ),
    department: str = typer.Option("", "--department", help="部门名称（默认按数据类型）"),
):
    """加载部门数据：校验、规范证件号码、保存；同一文件不重复加载（退出码非 0）。"""
    _setup()
    from dixian.core.errors import DixianError
    from dixian.screening.services import load_feed

    try:
        with _progress() as progress:
            task = progress.add_task("加载", total=100)
            feed = load_feed(
                actor=_operator(),
                feed_type=feed_type,
                path=path,
                department=department,
                progress=lambda s, f: progress.update(task, description=s, completed=f * 100),
            )
    except DixianError as exc:
        _fail(exc.message, code=2)
    console.print(
        f"[green]已加载[/] {feed.get_feed_type_display()}（{feed.department}）：读取 {feed.rows_read} 行，"
        f"拒收 {feed.rows_refused} 行（证件号码无效 {feed.ids_invalid}），匹配在册人员 {feed.rows_registered} 行，"
        f"本县未在册人员 {feed.rows_unregistered_local} 行"
    )
    for reason, n in feed.refusals.items():
        console.print(f"  拒收：{reason} {n} 行")


@feed_app.command("map")
def feed_map(
    feed_type: str = typer.Option(..., "--type"),
    department: str = typer.Option(..., "--department"),
    pairs: list[str] = typer.Argument(..., help="部门表头=标准列名，如 身份证号=证件号码"),
):
    """保存某部门的表头对应（一次设置，以后加载时自动使用）。"""
    _setup()
    from dixian.core.errors import DixianError
    from dixian.screening.services import save_mapping

    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            _fail(f"“{pair}”应写成 部门表头=标准列名")
        k, v = pair.split("=", 1)
        mapping[k.strip()] = v.strip()
    try:
        from django.db import transaction

        with transaction.atomic():
            row = save_mapping(actor=_operator(), feed_type=feed_type, department=department, mapping=mapping)
    except DixianError as exc:
        _fail(exc.message)
    console.print(f"[green]已保存[/] {row}：{row.mapping}")
