"""The dashboard (驾驶舱): what it shows for a region and a period, read through the user's scope.

Everything on it is a catalogue figure: the region's values, one row per part one level down (the
same grouped queries, so the rows add up to the region), the month-by-month flows (``trends``), and
the published values of the period (封账) where they differ from the current ones.

Regions at the levels in ``PRECOMPUTED_LEVELS`` (a province or a city: a registry of a million persons
takes seconds to compute) are read from a ``FigureSnapshot`` computed ahead by
``dixian figures refresh`` (or by the first request for that period, which then keeps it); the page
shows when it was computed. Counties and below are computed on each request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dixian.accounts.scoping import scope_q, user_region
from dixian.indicators import catalogue, trends
from dixian.indicators.catalogue import Indicator
from dixian.indicators.compute import CHILD_LEVEL, compute_with_breakdown
from dixian.indicators.models import FigureSnapshot, Publication, PublishedFigures
from dixian.indicators.selectors import parts_of, region_for
from dixian.regions import selectors as regions
from dixian.regions.models import Region

PART_LEVEL_LABEL = {"county": "乡镇", "township": "村（社区）"}


def precomputed_levels() -> tuple[str, ...]:
    return tuple(getattr(settings, "DIXIAN_PRECOMPUTED_LEVELS", ("province", "city")))


@dataclass
class Dashboard:
    region: Region
    since: date
    as_of: date
    values: dict
    parts: list[dict]
    trend: dict
    computed_at: datetime
    precomputed: bool
    seconds: float | None = None
    publication: Publication | None = None
    published: dict | None = None
    differences: list[tuple[Indicator, object, object]] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)

    @property
    def part_level(self) -> str:
        return PART_LEVEL_LABEL.get(self.region.level, "县（市、区）")


def build_payload(*, region_code: str, since: date, as_of: date) -> dict:
    """The figures of the dashboard as plain JSON data (what a snapshot keeps). No user: callers apply
    the scope (``dashboard_for``) or are the operator."""
    level = CHILD_LEVEL.get(regions.code_level(region_code))
    part_regions = list(parts_of(region_code, level)) if level else []
    whole, by_part = compute_with_breakdown(
        region_code=region_code, as_of=as_of, since=since, parts=[p.code for p in part_regions]
    )
    names = {p.code: p.label for p in part_regions}
    missing = [c for c in by_part if c not in names and c]
    if missing:
        names.update(regions.names_for(missing))
    parts = [
        {
            "code": code,
            "name": names.get(code) or code or "（未填区划）",
            "values": {c: row[c] for c in catalogue.MAIN_CODES},
        }
        for code, row in by_part.items()
    ]
    return {
        "values": whole,
        "parts": parts,
        "trend": trends.monthly(region_code=region_code, since=since, as_of=as_of),
    }


def dashboard_for(*, user, region_code: str, since: date, as_of: date) -> Dashboard:
    """The dashboard of a region in the user's scope (``NotFound`` otherwise)."""
    region = region_for(user=user, region_code=region_code)
    precomputed = region.level in precomputed_levels()
    seconds = None
    if precomputed:
        snapshot = FigureSnapshot.objects.filter(region_code=region.code, since=since, as_of=as_of).first()
        if snapshot is None:
            from dixian.indicators.services import refresh_snapshot

            snapshot = refresh_snapshot(region_code=region.code, since=since, as_of=as_of)
        payload, computed_at, seconds = snapshot.payload, snapshot.computed_at, snapshot.seconds
    else:
        payload, computed_at = (
            build_payload(region_code=region.code, since=since, as_of=as_of),
            timezone.now(),
        )
    board = Dashboard(
        region=region,
        since=since,
        as_of=as_of,
        values=payload["values"],
        parts=payload["parts"],
        trend=payload["trend"],
        computed_at=computed_at,
        precomputed=precomputed,
        seconds=seconds,
    )
    _compare_with_published(board, user)
    return board


def _compare_with_published(board: Dashboard, user) -> None:
    """The period's published figures of this region, if the county published them, and the figures
    whose current value differs; and the county's other published periods (links)."""
    if board.region.level not in ("county", "township", "village"):
        return
    county = board.region.code[:6] + "000000"
    board.publications = list(Publication.objects.filter(county_code=county)[:24])
    publication = next(
        (p for p in board.publications if (p.since, p.as_of) == (board.since, board.as_of)), None
    )
    if publication is None:
        return
    row = (
        PublishedFigures.objects.filter(scope_q(user), publication=publication, region_code=board.region.code)
        .values_list("values", flat=True)
        .first()
    )
    if row is None:  # a region created after the publication
        return
    board.publication, board.published = publication, row
    board.differences = [
        (i, row.get(i.code), board.values.get(i.code))
        for i in catalogue.CATALOGUE
        if i.code in row and row.get(i.code) != board.values.get(i.code)
    ]


def published_for(*, user, publication_id: int, region_code: str) -> tuple[Publication, dict]:
    """The frozen values of one region of a publication, if the user may see that region."""
    from dixian.core.errors import NotFound

    region = region_for(user=user, region_code=region_code)
    row = (
        PublishedFigures.objects.filter(scope_q(user), publication_id=publication_id, region_code=region.code)
        .select_related("publication")
        .first()
    )
    if row is None:
        raise NotFound("没有这次封账的数据，或不在您的管辖范围内", details={"publication": publication_id})
    return row.publication, row.values


def publications_for(*, user):
    """The publications of the counties in the user's scope (a township cadre sees its county's
    periods, and through ``published_for`` only its own figures)."""
    return Publication.objects.filter(county_scope_q(user)).order_by("-as_of", "-since", "-id")


def county_scope_q(user) -> Q:
    """The user's scope on a row that has only a ``county_code`` (a publication): the county of a
    village or township account, the counties of a city or province."""
    code = user_region(user)
    if code is None:
        return Q()
    level = regions.code_level(code)
    if level in ("county", "township", "village"):
        return Q(county_code=code[:6] + "000000")
    if level in ("city", "province"):
        return Q(county_code__startswith=code[: 4 if level == "city" else 2])
    return Q(pk__in=[])
