"""Writes of the indicators app: publishing a period's figures (封账), and precomputing a large region's
dashboard figures."""

from __future__ import annotations

import time
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from dixian.accounts import permissions
from dixian.core import audit
from dixian.core.errors import ValidationError
from dixian.indicators.compute import compute_with_breakdown
from dixian.indicators.models import FigureSnapshot, Publication, PublishedFigures
from dixian.indicators.selectors import parts_of, region_for
from dixian.regions import selectors as regions


class AlreadyPublished(ValidationError):
    code = "already_published"


def _period_label(since: date, as_of: date) -> str:
    return f"{since.year}年{since.month}月{since.day}日至{as_of.year}年{as_of.month}月{as_of.day}日"


def _region_columns(code: str) -> dict[str, str]:
    level = regions.code_level(code)
    return {
        "county_code": code[:6] + "000000",
        "township_code": code[:9] + "000" if level in ("township", "village") else "",
        "village_code": code if level == "village" else "",
    }


@transaction.atomic
def publish_period(*, actor, region_code: str, since: date, as_of: date, note: str = "") -> Publication:
    """封账: freeze the figures of a county for the period ``since``..``as_of``.

    Stores every catalogue figure of the county, of each township and of each village as computed now;
    they never change afterwards. Refused (nothing written) when the actor is not a county
    administrator, the region is not a county in the actor's scope (not found), the dates are wrong
    (start after the as-of date, as-of date in the future), or the period is already published.
    """
    actor = audit.as_actor(actor)
    permissions.require(actor.user, permissions.PUBLISH_FIGURES)
    code = (region_code or "").strip()
    if code.isdigit() and len(code) == 6:  # a county's 6-digit code
        code = code.ljust(12, "0")
    region = region_for(user=actor.user, region_code=code)  # NotFound outside the scope
    if region.level != "county":
        raise ValidationError(
            f"封账按县进行：“{region.label}”不是县级区划",
            details={"code": region.code, "level": region.level},
        )
    if not isinstance(since, date) or not isinstance(as_of, date):
        raise ValidationError("起始日期和统计日期都必须填写")
    if since > as_of:
        raise ValidationError(
            f"起始日期 {since.isoformat()} 晚于统计日期 {as_of.isoformat()}",
            details={"since": since.isoformat(), "as_of": as_of.isoformat()},
        )
    today = timezone.localdate()
    if as_of > today:
        raise ValidationError(
            f"统计日期 {as_of.isoformat()} 还没有到，不能封账（今天是 {today.isoformat()}）",
            details={"as_of": as_of.isoformat()},
        )
    label = _period_label(since, as_of)
    if Publication.objects.filter(county_code=region.code, since=since, as_of=as_of).exists():
        raise AlreadyPublished(
            f"{region.label}{label}的数据已经封账，不能重复封账", details={"period": label}
        )

    t0 = time.perf_counter()
    rows: dict[str, dict] = {}
    townships = list(parts_of(region.code, "township"))
    whole, by_township = compute_with_breakdown(
        region_code=region.code, as_of=as_of, since=since, parts=[t.code for t in townships]
    )
    rows[region.code] = whole
    for code, values in by_township.items():
        if regions.code_level(code) != "township":
            continue  # households without a township code: in the county's total only
        rows[code] = values
        villages = [v.code for v in regions.villages_of(code)]
        _, by_village = compute_with_breakdown(region_code=code, as_of=as_of, since=since, parts=villages)
        for vcode, vvalues in by_village.items():
            if regions.code_level(vcode) == "village":
                rows[vcode] = vvalues
    try:
        with transaction.atomic():
            publication = Publication.objects.create(
                county_code=region.code,
                since=since,
                as_of=as_of,
                published_by=actor.user,
                published_by_name=actor.name,
                note=note.strip()[:200],
            )
    except IntegrityError as exc:  # published meanwhile by someone else
        raise AlreadyPublished(f"{region.label}{label}的数据已经封账，不能重复封账") from exc
    PublishedFigures.objects.bulk_create(
        [
            PublishedFigures(
                publication=publication, region_code=code, values=values, **_region_columns(code)
            )
            for code, values in rows.items()
        ],
        batch_size=1000,
    )
    audit.record(
        actor=actor,
        action="figures.publish",
        object_type="publication",
        object_id=publication.pk,
        object_label=f"{region.label} {label}",
        county_code=region.code,
        details={
            "since": since.isoformat(),
            "as_of": as_of.isoformat(),
            "regions": len(rows),
            "seconds": round(time.perf_counter() - t0, 3),
            "note": publication.note,
            "values": {
                c: whole[c]
                for c in (
                    "lifted.persons",
                    "monitored.households",
                    "monitored.persons",
                    "identified.households",
                    "eliminated.households",
                    "elimination_rate.persons",
                )
            },
        },
    )
    return publication


def refresh_snapshot(*, region_code: str, since: date, as_of: date) -> FigureSnapshot:
    """Compute the dashboard figures of a region now and keep them (replacing an older snapshot of the
    same period). Derived data only: no audit event (the registry is not changed)."""
    from dixian.indicators.dashboard import build_payload

    t0 = time.perf_counter()
    payload = build_payload(region_code=region_code, since=since, as_of=as_of)
    seconds = time.perf_counter() - t0
    with transaction.atomic():
        snapshot, _ = FigureSnapshot.objects.update_or_create(
            region_code=region_code,
            since=since,
            as_of=as_of,
            defaults={"payload": payload, "computed_at": timezone.now(), "seconds": seconds},
        )
    return snapshot
