"""The `dixian` command line (typer + rich). Runs as the operator; every write is audited."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    help="底线 Dixian：防止返贫致贫动态监测帮扶系统", no_args_is_help=True, add_completion=False
)
ledger_app = typer.Typer(help="户籍台账的导入与导出", no_args_is_help=True)
user_app = typer.Typer(help="账户管理", no_args_is_help=True)
regions_app = typer.Typer(help="行政区划代码", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(user_app, name="user")
app.add_typer(regions_app, name="regions")

console = Console()
err = Console(stderr=True)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dixian.settings")
    import django

    django.setup()


def _fail(message: str, code: int = 1):
    err.print(f"[bold red]错误：[/]{message}")
    raise typer.Exit(code)


def _operator():
    from dixian.core.audit import Actor

    return Actor.cli()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _migrate(verbose: bool = False) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if verbose else 0)


@app.command()
def init(
    region: str = typer.Option(..., "--region", help="管辖区划代码，如 140724（昔阳县）或 12 位代码"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
):
    """创建或升级数据库、加载区划代码、设置本系统的管辖区域。"""
    _setup()
    from django.db import connection

    from dixian.core.deployment import set_jurisdiction
    from dixian.core.errors import DixianError
    from dixian.regions.models import Region
    from dixian.regions.services import load_regions

    code = region.strip()
    if not code.isdigit() or len(code) not in (2, 4, 6, 9, 12):
        _fail(f"区划代码“{region}”无效：应为 6 位（县）或 12 位数字")
    code = code.ljust(12, "0")
    t0 = time.perf_counter()
    console.print(f"数据库：{connection.vendor} {connection.settings_dict.get('NAME')}")
    _migrate(verbose)
    if not Region.objects.exists():
        with console.status("加载区划代码…"):
            counts = load_regions()
        console.print(f"区划代码：新增 {counts.get('created', 0)} 条")
    try:
        from django.db import transaction

        with transaction.atomic():
            dep = set_jurisdiction(actor=_operator(), code=code)
    except DixianError as exc:
        _fail(exc.message)
    from dixian.screening.rules import ensure_default_rules

    made = ensure_default_rules()
    if made:
        console.print(f"预警规则：新建默认规则 {made} 条")
    console.print(
        f"[green]就绪[/]：管辖区域 {dep.name}（{dep.jurisdiction_code}），用时 {time.perf_counter() - t0:.1f} 秒"
    )


@app.command()
def demo(
    seed: int = typer.Option(20231, help="随机种子（相同种子生成相同数据）"),
    persons: int = typer.Option(0, "--persons", help="生成约 N 人的台账（默认按昔阳县规模）"),
    out: Path = typer.Option(None, "--out", help="只把生成的台账写到文件（.xlsx 或 .csv），不导入"),
    force: bool = typer.Option(False, "--force", help="已有数据时仍然导入"),
):
    """加载演示县：按昔阳县真实区划生成合成台账，经正常导入流程写入，并建立演示账户。"""
    _setup()
    from dixian.cli.demo import load_demo, write_demo

    if out is not None:
        n = write_demo(out=out, seed=seed, persons=persons or None)
        console.print(f"已写出 {n} 行到 {out}")
        return
    try:
        result = load_demo(
            seed=seed, persons=persons or None, force=force, console=console, progress=_progress
        )
    except Exception as exc:  # noqa: BLE001 - show Chinese message, keep the trace for operators
        from dixian.core.errors import DixianError

        if isinstance(exc, DixianError):
            _fail(exc.message)
        raise
    _print_accounts(result["accounts"])


def _print_accounts(accounts: list[dict]) -> None:
    if not accounts:
        return
    table = Table(title="演示账户（用户名 / 密码）")
    for col in ("角色", "区域", "用户名", "密码"):
        table.add_column(col)
    for a in accounts:
        table.add_row(a["role"], a["region"], a["username"], a["password"])
    console.print(table)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="端口"),
    threads: int = typer.Option(8, help="工作线程数"),
):
    """启动网页服务（waitress）。"""
    _setup()
    from waitress import serve as waitress_serve

    from dixian.wsgi import application

    console.print(f"底线已启动：[bold]http://{host}:{port}/[/]（Ctrl+C 停止）")
    waitress_serve(
        application,
        host=host,
        port=port,
        threads=threads,
        ident="dixian",
        channel_timeout=300,
        max_request_body_size=512 * 1024 * 1024,
    )


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def manage(args: list[str] = typer.Argument(None, help="Django 管理命令及参数")):
    """运行 Django 管理命令（如 migrate、createsuperuser）。"""
    _setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["dixian", *(args or ["help"])])


@ledger_app.command("import")
def ledger_import(
    path: Path = typer.Argument(..., help="台账文件（.xlsx / .xls / .csv）"),
    report: Path = typer.Option(None, "--report", help="有错误时把问题报告（.xlsx）另存到此处"),
    sheet: str = typer.Option(None, "--sheet", help="工作表名称（默认第一个）"),
):
    """导入户籍台账：整文件校验，有错误则不导入并列出每处问题（退出码非 0）。"""
    _setup()
    import shutil

    from dixian.core.errors import DixianError
    from dixian.registry.services import LedgerRefused, import_ledger

    with _progress() as progress:
        task = progress.add_task("导入", total=100)

        def step(stage: str, fraction: float):
            progress.update(task, description=stage, completed=fraction * 100)

        try:
            outcome = import_ledger(actor=_operator(), path=path, sheet=sheet, progress=step)
        except LedgerRefused as exc:
            progress.stop()
            li = exc.ledger_import
            errors = [p for p in exc.problems if p["level"] == "error"]
            for p in errors[:200]:
                err.print(f"第{p['row']}行 [{p['column']}] “{p['value']}”：{p['message']}")
            if len(errors) > 200:
                err.print(f"……另有 {len(errors) - 200} 处错误，见问题报告")
            if report is not None and li.report_path:
                shutil.copyfile(li.report_path, report)
                err.print(f"问题报告：{report}")
            elif li.report_path:
                err.print(f"问题报告：{li.report_path}")
            _fail(exc.message, code=2)
        except DixianError as exc:
            progress.stop()
            _fail(exc.message, code=2)
    s = outcome.summary
    console.print(
        f"[green]导入成功[/]：户 新增 {s['households_added']}、变更 {s['households_changed']}、未变 "
        f"{s['households_unchanged']}；人 新增 {s['persons_added']}、变更 {s['persons_changed']}、未变 "
        f"{s['persons_unchanged']}、移出 {s['persons_removed']}"
    )
    if outcome.warnings:
        console.print(f"[yellow]提示 {len(outcome.warnings)} 条[/]（不影响导入），例如：")
        for p in outcome.warnings[:10]:
            console.print(f"  第{p['row']}行 [{p['column']}]：{p['message']}")


@ledger_app.command("export")
def ledger_export(
    path: Path = typer.Argument(..., help="输出文件（.xlsx 或 .csv）"),
    region: str = typer.Option("", "--region", help="区划代码（默认整个管辖区域）"),
    mask: bool = typer.Option(False, "--mask", help="证件号码和电话脱敏"),
):
    """导出户籍台账（与导入相同的列）。"""
    _setup()
    from dixian.core.errors import DixianError
    from dixian.registry.exports import export_ledger

    code = region.strip().ljust(12, "0") if region.strip() else ""
    try:
        with console.status("导出中…"):
            result = export_ledger(actor=_operator(), path=path, region_code=code, full_ids=not mask)
    except DixianError as exc:
        _fail(exc.message)
    console.print(f"[green]已导出[/] {result['rows']} 行到 {path}")


@user_app.command("add")
def user_add(
    username: str = typer.Argument(...),
    role: str = typer.Option(
        ..., "--role", help="county_admin / county_staff / township_cadre / village_cadre / leader"
    ),
    region: str = typer.Option(..., "--region", help="所属区划代码（县 6 位或 12 位；乡镇、村 12 位）"),
    name: str = typer.Option("", "--name", help="姓名"),
    password: str = typer.Option(None, "--password", help="密码（不填则随机生成并显示）"),
    department: str = typer.Option("", "--department", help="部门"),
):
    """新建账户（绑定一个区域和一个角色）。"""
    _setup()
    from dixian.accounts.services import user_create
    from dixian.core.errors import DixianError

    try:
        from django.db import transaction

        with transaction.atomic():
            user, pw = user_create(
                actor=_operator(),
                username=username,
                role=role,
                region_code=region.strip().ljust(12, "0"),
                password=password,
                full_name=name,
                department=department,
            )
    except DixianError as exc:
        _fail(exc.message)
    console.print(f"[green]已创建[/] {user.username}（{user.role_label}，{user.region_code}），密码：{pw}")


@user_app.command("list")
def user_list():
    """列出账户。"""
    _setup()
    from dixian.accounts.models import User

    table = Table()
    for col in ("用户名", "姓名", "角色", "区划代码", "状态"):
        table.add_column(col)
    for u in User.objects.order_by("role", "region_code", "username"):
        table.add_row(u.username, u.full_name, u.role_label, u.region_code, "启用" if u.is_active else "停用")
    console.print(table)


@regions_app.command("load")
def regions_load(
    path: Path = typer.Argument(
        None, help="区划代码文件（code,name,level,parent_code）；默认随附的山西省数据"
    ),
    retire_missing: bool = typer.Option(False, "--retire-missing", help="新年度文件中没有的代码标为失效"),
):
    """加载或更新区划代码。"""
    _setup()
    from django.db import transaction

    from dixian.core import audit
    from dixian.regions.services import load_regions

    _migrate()
    with transaction.atomic():
        counts = load_regions(path=path, retire_missing=retire_missing)
        audit.record(
            actor=_operator(),
            action="regions.load",
            object_type="regions",
            object_label=str(path or "随附数据"),
            details=counts,
        )
    console.print(f"区划代码：{counts}")


# Commands kept in their own modules register themselves on ``app``.
from dixian.cli import feeds as _feeds  # noqa: E402,F401
from dixian.cli import figures as _figures  # noqa: E402,F401
from dixian.cli import quality as _quality  # noqa: E402,F401
from dixian.cli import reports as _reports  # noqa: E402,F401
from dixian.cli import screen as _screen  # noqa: E402,F401
from dixian.cli import stats as _stats  # noqa: E402,F401


def main():  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
