"""API: the indicator catalogue, the figures of a region, and the published periods (封账). Same
selectors and region scope as the pages; a region outside the account's scope is not found."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from ninja import Query, Router, Schema

from dixian.core.errors import NotFound, ValidationError
from dixian.indicators import catalogue, definitions, selectors
from dixian.indicators import dashboard as dash
from dixian.indicators.compute import default_since

router = Router(tags=["指标"])


class IndicatorOut(Schema):
    code: str
    name: str
    group: str
    kind: str
    unit: str
    decimals: int
    rounding: str
    timing: str
    numerator: str
    denominator: str
    numerator_code: str
    denominator_code: str
    definition: str
    primary: bool
    url: str


class PartOut(Schema):
    code: str
    name: str
    values: dict[str, int | float | None]


class FiguresOut(Schema):
    region: str
    region_name: str
    since: date
    as_of: date
    values: dict[str, int | float | None]
    parts: list[PartOut]


class FiguresQuery(Schema):
    region: str = ""
    as_of: date | None = None
    since: date | None = None
    codes: str = ""  # comma-separated catalogue codes; all when empty
    parts: bool = False  # also one row per part one level down


class PublicationOut(Schema):
    id: int
    county_code: str
    since: date
    as_of: date
    published_at: datetime
    published_by_name: str
    note: str


class PublishedOut(Schema):
    publication: PublicationOut
    region: str
    values: dict[str, int | float | None]


@router.get("/indicators", response=list[IndicatorOut], summary="指标目录（口径、单位、取整）")
def list_indicators(request):
    return [definitions.describe(i) for i in catalogue.CATALOGUE]


@router.get("/indicators/{code}", response=IndicatorOut, summary="一项指标的口径")
def get_indicator(request, code: str):
    if code not in catalogue.BY_CODE:
        raise NotFound(f"没有指标“{code}”", details={"code": code})
    return definitions.describe(catalogue.BY_CODE[code])


@router.get("/figures", response=FiguresOut, summary="一个区域截至统计日的指标数值（可含下一级分组）")
def get_figures(request, q: Query[FiguresQuery]):
    code = q.region.strip() or selectors.home_region(request.user)
    if code.isdigit() and len(code) == 6:
        code = code.ljust(12, "0")
    as_of = q.as_of or timezone.localdate()
    since = q.since or default_since(as_of)
    codes = [c.strip() for c in q.codes.split(",") if c.strip()] or None
    region = selectors.region_for(user=request.user, region_code=code)
    if q.parts:
        values, rows = selectors.figures_with_parts_for(
            user=request.user, region_code=region.code, as_of=as_of, since=since, codes=codes
        )
        parts = [{"code": c, "name": n, "values": v} for c, n, v in rows]
    else:
        values = selectors.figures_for(
            user=request.user, region_code=region.code, as_of=as_of, since=since, codes=codes
        )
        parts = []
    return {
        "region": region.code,
        "region_name": region.label,
        "since": since,
        "as_of": as_of,
        "values": values,
        "parts": parts,
    }


@router.get("/publications", response=list[PublicationOut], summary="已封账的统计期")
def list_publications(request):
    return list(dash.publications_for(user=request.user)[:500])


@router.get(
    "/publications/{publication_id}/figures",
    response=PublishedOut,
    summary="一次封账中一个区域的已发布数值（不随之后的台账修改而变化）",
)
def get_published(request, publication_id: int, region: str = ""):
    code = region.strip() or selectors.home_region(request.user)
    if not code:
        raise ValidationError("请指定区域")
    publication, values = dash.published_for(
        user=request.user, publication_id=publication_id, region_code=code
    )
    return {"publication": publication, "region": code, "values": values}
