"""`dixian screen run` / `dixian screen rules` / `dixian screen replay`: early-warning screening."""

from __future__ import annotations

import json

import typer

from dixian.cli.main import _fail, _operator, _progress, _setup, app, console
from dixian.cli.stats import _day

screen_app = typer.Typer(help="部门数据筛查预警", no_args_is_help=True)
app.add_typer(screen_app, name="screen")


def _number(value):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


@screen_app.command("run")
def screen_run(
    as_of: str = typer.Option("", "--as-of", help="筛查日期 YYYY-MM-DD（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出本次新预警（完整证件号码）"),
    rule: list[str] = typer.Option(None, "--rule", help="只运行这些规则（代码，可重复）"),
):
    """按筛查日期生效的全部规则，筛查各部门最新数据；新预警发送到村。"""
    _setup()
    from dixian.core.errors import DixianError
    from dixian.screening.runs import run_screening

    day = _day(as_of, "筛查日期")
    try:
        if as_json:
            run = run_screening(actor=_operator(), as_of=day, codes=rule or None)
        else:
            with _progress() as progress:
                task = progress.add_task("筛查", total=100)
                run = run_screening(
                    actor=_operator(),
                    as_of=day,
                    codes=rule or None,
                    progress=lambda s, f: progress.update(task, description=s, completed=f * 100),
                )
    except DixianError as exc:
        _fail(exc.message, code=2)
    if as_json:
        alerts = [
            {
                "rule": a.rule_code,
                "household_no": a.household.household_no if a.household_id else None,
                "id_numbers": list(a.id_numbers),
                "risk": a.risk or None,
                "value": _number(a.value),
                "threshold": _number(a.threshold),
            }
            for a in run.alerts.select_related("household").order_by("rule_code", "id")
        ]
        typer.echo(json.dumps({"run": run.pk, "alerts": alerts}, ensure_ascii=False))
        return
    console.print(
        f"[green]筛查完成[/]（批次 {run.pk}，筛查日期 {run.as_of}，用时 {run.seconds} 秒）：新预警 {run.alert_count} 条"
    )
    for code, r in run.results.items():
        line = f"  {r['name']}（{code}）：符合 {r['hits']}，新预警 {r['new']}，抑制期内 {r['suppressed']}"
        console.print(line)
        for w in r["warnings"]:
            console.print(f"    [yellow]提示：{w}[/]")


@screen_app.command("rules")
def screen_rules(as_of: str = typer.Option("", "--as-of", help="查看该日生效的规则（默认今天）")):
    """列出某日生效的预警规则及其说明。"""
    _setup()
    from django.utils import timezone

    from dixian.screening.rules import ensure_default_rules, rules_in_force

    ensure_default_rules()
    day = _day(as_of, "日期") or timezone.localdate()
    for r in rules_in_force(day):
        console.print(f"[bold]{r.code}[/] {r.name}（{r.effective_from}起）\n  {r.description}")


@screen_app.command("replay")
def screen_replay(
    as_of: str = typer.Option(..., "--as-of", help="回放的筛查日期 YYYY-MM-DD"),
    run_id: int = typer.Option(0, "--run", help="回放某一批次（用它当时的数据文件）"),
    household_no: str = typer.Option("", "--household", help="解释某户为什么预警或不预警"),
    id_number: str = typer.Option("", "--id", help="解释某人（含未在册人员）"),
):
    """用当日的规则和政策参数重新计算（不生成预警），说明为什么预警或不预警。"""
    _setup()
    from dixian.core.errors import DixianError
    from dixian.registry.models import Household
    from dixian.screening.models import ScreeningRun
    from dixian.screening.runs import replay

    day = _day(as_of, "筛查日期")
    household = None
    if household_no:
        household = Household.objects.filter(household_no=household_no).first()
        if household is None:
            _fail(f"没有户编号为 {household_no} 的农户")
    run = None
    if run_id:
        run = ScreeningRun.objects.filter(pk=run_id).first()
        if run is None:
            _fail(f"没有批次 {run_id}")
    try:
        out = replay(
            actor=_operator(), as_of=day, run=run, household=household, id_number=id_number.strip().upper()
        )
    except DixianError as exc:
        _fail(exc.message, code=2)
    for entry in out["rules"]:
        r = entry["rule"]
        console.print(f"[bold]{r.name}[/]（{r.code}，{r.effective_from}起）：符合 {entry['hits']}")
        for w in entry["warnings"]:
            console.print(f"  [yellow]提示：{w}[/]")
        for e in entry["explanations"]:
            console.print(f"  {e.reason}")
