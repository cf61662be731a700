"""The figures, catalogue, dashboard and published-periods pages. Thin: parse the request, call the selectors, render."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from dixian.accounts import permissions
from dixian.core.errors import DixianError, NotFound, PermissionDenied
from dixian.indicators import catalogue, definitions, selectors, services
from dixian.indicators import dashboard as dash
from dixian.indicators.compute import default_since
from dixian.regions import selectors as regions
from dixian.registry.choices import MonitoringCategory, RiskType


def _date(value: str, label: str, errors: list[str]) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{label}“{value}”无效，应为 年-月-日（如 2026-06-30），已改用默认日期")
        return None


@login_required
def figures(request):
    g = request.GET
    errors: list[str] = []
    home = selectors.home_region(request.user)
    code = (g.get("region") or "").strip() or home
    if code.isdigit() and len(code) == 6:
        code = code.ljust(12, "0")
    region = selectors.region_for(user=request.user, region_code=code)  # NotFound → 404
    as_of = _date(g.get("as_of", ""), "统计日期", errors) or timezone.localdate()
    since = _date(g.get("since", ""), "起始日期", errors) or default_since(as_of)
    if since > as_of:
        errors.append(f"起始日期 {since.isoformat()} 晚于统计日期 {as_of.isoformat()}，已改为当年 1 月 1 日")
        since = default_since(as_of)

    values, part_rows = selectors.figures_with_parts_for(
        user=request.user, region_code=region.code, as_of=as_of, since=since
    )
    groups = [
        (name, [(i, i.display(values[i.code])) for i in indicators])
        for name, indicators in catalogue.by_group()
    ]
    main = [catalogue.get(c) for c in catalogue.MAIN_CODES]
    parts = [
        (part_code, name, [(i, i.display(row[i.code])) for i in main]) for part_code, name, row in part_rows
    ]
    total = [(i, i.display(values[i.code])) for i in main]
    part_level = {"county": "乡镇", "township": "村（社区）"}.get(region.level, "县（市、区）")
    path = [r for r in regions.ancestors(region.code) if r.code == home or r.code.startswith(_prefix(home))]
    cards = [
        _card(values, "lifted.persons", "lifted.households"),
        _card(values, "monitored.households", "monitored.persons"),
        _card(values, "monitored.open.households", "monitored.open.persons"),
        _card(values, "elimination_rate.persons", "elimination_rate.households"),
    ]
    return render(
        request,
        "indicators/figures.html",
        {
            "region": region,
            "path": path,
            "as_of": as_of,
            "since": since,
            "errors": errors,
            "groups": groups,
            "cards": cards,
            "main": main,
            "parts": parts,
            "total": total,
            "part_level": part_level,
            "choices": selectors.region_choices(user=request.user, selected=region.code),
        },
    )


def _card(values: dict, code: str, other: str) -> tuple:
    """A stat card: the figure, and a second one under it (``1,234 户`` or ``按户：45.00%``)."""
    i, j = catalogue.get(code), catalogue.get(other)
    shown = j.display(values[other])
    if j.unit in ("户", "人"):
        note = f"{shown} {j.unit}"
    else:
        note = f"{j.name}：{shown}{'' if values[other] is None else j.unit}"
    return i, i.display(values[code]), note


def _prefix(code: str) -> str:
    level = regions.code_level(code)
    return code[: regions.LEVEL_DIGITS.get(level, 12)]


# -- the catalogue ------------------------------------------------------------------------------------


@login_required
def catalogue_page(request):
    """Every indicator: code, name, definition, timing, numerator / denominator, unit, rounding."""
    groups = [
        (name, [definitions.describe(i) for i in indicators]) for name, indicators in catalogue.by_group()
    ]
    return render(
        request,
        "indicators/catalogue.html",
        {
            "groups": groups,
            "count": len(catalogue.CATALOGUE),
            "units": sorted({i.unit for i in catalogue.CATALOGUE}),
        },
    )


# -- the dashboard ------------------------------------------------------------------------------------


def _period(request, errors: list[str]) -> tuple[date, date]:
    g = request.GET
    as_of = _date(g.get("as_of", ""), "统计日期", errors) or timezone.localdate()
    since = _date(g.get("since", ""), "起始日期", errors) or default_since(as_of)
    if since > as_of:
        errors.append(f"起始日期 {since.isoformat()} 晚于统计日期 {as_of.isoformat()}，已改为当年 1 月 1 日")
        since = default_since(as_of)
    return since, as_of


def _region_code(request) -> str:
    code = (request.GET.get("region") or "").strip() or selectors.home_region(request.user)
    if code.isdigit() and len(code) == 6:
        code = code.ljust(12, "0")
    return code


CARD_CODES = (  # (figure, figure under it)
    ("lifted.persons", "lifted.households"),
    ("monitored.households", "monitored.persons"),
    ("monitored.open.households", "monitored.open.persons"),
    ("monitored.eliminated.households", "monitored.eliminated.persons"),
    ("elimination_rate.persons", "elimination_rate.households"),
    ("monitoring_ratio", None),
)
PERIOD_CARD_CODES = (
    ("identified.households", "identified.persons"),
    ("eliminated.households", "eliminated.persons"),
)


def _cards(values: dict, pairs) -> list[dict]:
    out = []
    for code, other in pairs:
        i = catalogue.get(code)
        card = {"i": i, "shown": i.display(values.get(code)), "sub": None}
        if other:
            j = catalogue.get(other)
            shown = j.display(values.get(other))
            card["sub"] = (j, f"{shown} {j.unit}" if j.unit in ("户", "人") else f"{j.name} {shown}{j.unit}")
        out.append(card)
    return out


@login_required
def dashboard(request):
    errors: list[str] = []
    since, as_of = _period(request, errors)
    board = dash.dashboard_for(user=request.user, region_code=_region_code(request), since=since, as_of=as_of)
    region = board.region
    main = [catalogue.get(c) for c in catalogue.MAIN_CODES]
    rows = [
        {
            "code": p["code"],
            "name": p["name"],
            "cells": [(i, p["values"][i.code], i.display(p["values"][i.code])) for i in main],
        }
        for p in board.parts
    ]
    total = [(i, i.display(board.values[i.code])) for i in main]
    values = board.values
    charts = {
        "drill": bool(board.parts) and region.level != "village",
        "parts": [
            {
                "code": p["code"],
                "name": p["name"],
                "open": p["values"]["monitored.open.households"],
                "eliminated": p["values"]["monitored.eliminated.households"],
                "identified": p["values"]["identified.households"],
                "ratio": p["values"]["monitoring_ratio"],
            }
            for p in board.parts
        ],
        "trend": {
            "months": [f"{m // 100}年{m % 100}月" for m in board.trend["months"]],
            "period_start": f"{since.year}年{since.month}月",
            "identified": board.trend["identified.households"],
            "eliminated": board.trend["eliminated.households"],
            "alerts": board.trend.get("alerts"),
        },
        "categories": [
            {"name": c.label, "code": c.value, "value": values[f"monitored.{c.value}.households"]}
            for c in MonitoringCategory
        ],
        "risks": [
            {"name": r.label, "value": values[f"identified.risk.{r.value}.households"]}
            for r in RiskType
            if values[f"identified.risk.{r.value}.households"]
        ],
        "labels": {
            c: catalogue.get(c).name for c in ("monitored.open.households", "monitored.eliminated.households")
        },
    }
    home = selectors.home_region(request.user)
    path = [r for r in regions.ancestors(region.code) if r.code == home or r.code.startswith(_prefix(home))]
    return render(
        request,
        "indicators/dashboard.html",
        {
            "board": board,
            "region": region,
            "path": path,
            "since": since,
            "as_of": as_of,
            "errors": errors,
            "cards": _cards(values, CARD_CODES),
            "period_cards": _cards(values, PERIOD_CARD_CODES),
            "main": main,
            "rows": rows,
            "total": total,
            "charts": charts,
            "choices": selectors.region_choices(user=request.user, selected=region.code),
            "can_publish": permissions.has_perm(request.user, permissions.PUBLISH_FIGURES)
            and region.level == "county",
            "age": timezone.now() - board.computed_at,
            "diffs": [(i, i.display(p), i.display(c), _delta(i, p, c)) for i, p, c in board.differences],
        },
    )


# -- published periods (封账) ----------------------------------------------------------------------------


@login_required
def periods(request):
    """The published periods of the user's county, and (for the county administrator) the form to
    publish one."""
    errors: list[str] = []
    today = timezone.localdate()
    form = {"since": default_since(today).isoformat(), "as_of": today.isoformat(), "note": ""}
    can_publish = permissions.has_perm(request.user, permissions.PUBLISH_FIGURES)
    county = (selectors.home_region(request.user) or "")[:6] + "000000"
    if request.method == "POST":
        permissions.require(request.user, permissions.PUBLISH_FIGURES)
        form = {k: (request.POST.get(k) or "").strip() for k in ("since", "as_of", "note")}
        since = _date(form["since"], "起始日期", errors)
        as_of = _date(form["as_of"], "统计日期", errors)
        if not errors and (since is None or as_of is None):
            errors.append("起始日期和统计日期都必须填写")
        if not errors:
            try:
                pub = services.publish_period(
                    actor=request.user, region_code=county, since=since, as_of=as_of, note=form["note"]
                )
            except (PermissionDenied, NotFound):
                raise  # 403 / 404 by the middleware
            except DixianError as exc:
                errors.append(exc.message)
            else:
                messages.success(request, f"已封账：{pub.period_label}。此后台账变化不影响已发布的数字。")
                return redirect(
                    f"{reverse('indicators:dashboard')}?region={pub.county_code}&since={pub.since:%Y-%m-%d}&as_of={pub.as_of:%Y-%m-%d}"
                )
    pubs = list(dash.publications_for(user=request.user)[:100])
    return render(
        request,
        "indicators/periods.html",
        {"publications": pubs, "errors": errors, "form": form, "can_publish": can_publish, "county": county},
        status=400 if errors else 200,
    )


def _delta(indicator, published, current) -> str:
    if published is None or current is None:
        return "—"
    delta = current - published
    if indicator.kind != "count":
        delta = round(delta, indicator.decimals)
    shown = indicator.display(abs(delta))
    return f"+{shown}" if delta > 0 else f"−{shown}" if delta < 0 else shown
