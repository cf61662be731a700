"""Reads of the figures, scoped to the user's region (rule 2: denied means not found)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from dixian.accounts.scoping import covers, user_region
from dixian.core.errors import NotFound
from dixian.indicators.compute import CHILD_LEVEL, compute, compute_with_breakdown
from dixian.regions import selectors as regions
from dixian.regions.models import Region


def home_region(user) -> str:
    """The region a user sees by default: their own; the deployment's for the operator / superuser."""
    from dixian.core.deployment import jurisdiction_code

    return user_region(user) or jurisdiction_code()


def region_for(*, user, region_code: str) -> Region:
    """The region, if it exists and lies in the user's scope; ``NotFound`` otherwise (same message for
    both, so that an account cannot probe other regions)."""
    code = (region_code or "").strip()
    region = None
    if regions.code_level(code):
        region = Region.objects.filter(code=code).first()
    if region is None or not covers(user, code):
        raise NotFound(f"区划代码“{code}”不存在或不在您的管辖范围内", details={"code": code})
    return region


def figures_for(
    *,
    user,
    region_code: str,
    as_of: date,
    since: date | None = None,
    codes: Iterable[str] | None = None,
) -> dict[str, int | float | None]:
    """``{code: value}`` of the catalogue for a region in the user's scope (``NotFound`` otherwise)."""
    region = region_for(user=user, region_code=region_code)
    return compute(codes, region_code=region.code, as_of=as_of, since=since)


def breakdown_for(
    *,
    user,
    region_code: str,
    as_of: date,
    since: date | None = None,
    codes: Iterable[str] | None = None,
) -> list[tuple[str, str, dict[str, int | float | None]]]:
    """``[(part_code, part_name, {code: value})]`` for the parts of a region one level down (townships
    of a county, villages of a township, counties of a city or province); empty for a village."""
    return figures_with_parts_for(user=user, region_code=region_code, as_of=as_of, since=since, codes=codes)[
        1
    ]


def figures_with_parts_for(
    *,
    user,
    region_code: str,
    as_of: date,
    since: date | None = None,
    codes: Iterable[str] | None = None,
) -> tuple[dict[str, int | float | None], list[tuple[str, str, dict[str, int | float | None]]]]:
    """``figures_for`` and ``breakdown_for`` together, from the same grouped queries (what the page
    shows: the region's figures and a row per part that add up to them)."""
    region = region_for(user=user, region_code=region_code)
    level = CHILD_LEVEL.get(regions.code_level(region.code))
    parts = list(parts_of(region.code, level)) if level else []
    whole, values = compute_with_breakdown(
        codes, region_code=region.code, as_of=as_of, since=since, parts=[p.code for p in parts]
    )
    names = {p.code: p.label for p in parts}
    missing = [c for c in values if c not in names]
    if missing:
        names.update(regions.names_for(missing))
    return whole, [(code, names.get(code) or code or "（未填区划）", row) for code, row in values.items()]


def parts_of(code: str, level: str):
    """The current regions of ``level`` directly inside ``code``, in code order."""
    if level == "township":
        return regions.townships_of(code)
    if level == "village":
        return regions.villages_of(code)
    qs = Region.objects.filter(level="county", valid_to__isnull=True)
    keep = 4 if regions.code_level(code) == "city" else 2
    return qs.filter(code__startswith=code[:keep]).order_by("code")


def region_choices(*, user, selected: str) -> list[tuple[str, str, int]]:
    """Options of the region picker: ``(code, label, depth)`` for the user's own region, the parts one
    level down, and the villages of the selected township when it is one of those parts."""
    top = region_for(user=user, region_code=home_region(user))
    out = [(top.code, top.label, 0)]
    level = CHILD_LEVEL.get(regions.code_level(top.code))
    if level is None:
        return out
    sub_level = CHILD_LEVEL.get(level)
    chosen = regions.township_of(selected) if level == "township" else ""
    for part in parts_of(top.code, level):
        out.append((part.code, part.label, 1))
        if sub_level == "village" and part.code == chosen:
            out.extend((v.code, v.label, 2) for v in regions.villages_of(part.code))
    return out
