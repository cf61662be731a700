"""The figures page. Thin: parse the request, call the selectors, render."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from dixian.indicators import catalogue, selectors
from dixian.indicators.compute import default_since
from dixian.regions import selectors as regions


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
