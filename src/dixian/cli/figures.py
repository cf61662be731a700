"""`dixian figures refresh` (precompute the dashboard of large regions) and `dixian figures publish`
(封账 at the command line, as the operator)."""

from __future__ import annotations

import time

import typer

from dixian.cli.main import _fail, _operator, _setup, app, console
from dixian.cli.stats import _day, _region_code

figures_app = typer.Typer(help="驾驶舱数据的预先计算与封账", no_args_is_help=True)
app.add_typer(figures_app, name="figures")


@figures_app.command("refresh")
def refresh(
    region: str = typer.Option(
        "", "--region", help="区划代码；默认本系统的管辖区域及其下属的市（省级部署时）"
    ),
    as_of: str = typer.Option("", "--as-of", help="统计日期 YYYY-MM-DD（默认今天）"),
    since: str = typer.Option("", "--since", help="统计期起始 YYYY-MM-DD（默认统计日期当年 1 月 1 日）"),
):
    """预先计算省、市级驾驶舱的数据（宜每天凌晨及导入台账后运行）。县及以下每次打开时实时计算。"""
    as_of_day, since_day, code = _day(as_of, "统计日期"), _day(since, "起始日期"), _region_code(region)
    _setup()
    from django.utils import timezone

    from dixian.core.deployment import jurisdiction_code
    from dixian.core.errors import DixianError
    from dixian.indicators.compute import default_since
    from dixian.indicators.dashboard import precomputed_levels
    from dixian.indicators.services import refresh_snapshot
    from dixian.regions import selectors as regions
    from dixian.regions.models import Region

    as_of_day = as_of_day or timezone.localdate()
    since_day = since_day or default_since(as_of_day)
    if code:
        targets = [code]
    else:
        root = jurisdiction_code()
        targets = [root]
        if regions.code_level(root) == "province":
            cities = Region.objects.filter(level="city", valid_to__isnull=True, code__startswith=root[:2])
            targets += list(cities.order_by("code").values_list("code", flat=True))
        targets = [c for c in targets if regions.code_level(c) in precomputed_levels()]
        if not targets:
            console.print("本系统的管辖区域是县或县以下，驾驶舱每次打开时实时计算，无需预先计算。")
            return
    for target in targets:
        t0 = time.perf_counter()
        try:
            snap = refresh_snapshot(region_code=target, since=since_day, as_of=as_of_day)
        except DixianError as exc:
            _fail(exc.message)
        console.print(
            f"{regions.name_path(target)}：{since_day}至{as_of_day} 已计算，用时 {time.perf_counter() - t0:.1f} 秒"
            f"（{len(snap.payload.get('parts', []))} 个下级区域）"
        )


@figures_app.command("publish")
def publish(
    region: str = typer.Option(..., "--region", help="县的区划代码（6 或 12 位）"),
    since: str = typer.Option(..., "--since", help="统计期起始 YYYY-MM-DD"),
    as_of: str = typer.Option(..., "--as-of", help="统计日期 YYYY-MM-DD"),
    note: str = typer.Option("", "--note", help="说明"),
):
    """封账：发布一个县一个统计期的全部指标（全县、各乡镇、各村），此后不再改变。"""
    since_day, as_of_day, code = _day(since, "起始日期"), _day(as_of, "统计日期"), _region_code(region)
    _setup()
    from dixian.core.errors import DixianError
    from dixian.indicators.services import publish_period

    try:
        pub = publish_period(actor=_operator(), region_code=code, since=since_day, as_of=as_of_day, note=note)
    except DixianError as exc:
        _fail(exc.message)
    console.print(f"已封账：{pub.period_label}（编号 {pub.pk}，{pub.figures.count()} 个区域）")
