"""The deployment's jurisdiction (set by ``dixian init --region``)."""

from __future__ import annotations

from django.db import transaction

from dixian.core.errors import ValidationError


def current():
    from dixian.core.models import Deployment

    return Deployment.objects.order_by("pk").first()


def jurisdiction_code() -> str:
    dep = current()
    if dep is None:
        raise ValidationError("尚未设置管辖区域：请先运行 dixian init --region 区划代码")
    return dep.jurisdiction_code


@transaction.atomic
def set_jurisdiction(*, actor, code: str):
    from dixian.core import audit
    from dixian.core.models import Deployment
    from dixian.regions.models import Region

    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationError(f"区划代码 {code} 不存在（请确认已加载区划数据，且代码为 12 位或 6 位）")
    dep = current()
    old = dep.jurisdiction_code if dep else None
    if dep is None:
        dep = Deployment.objects.create(jurisdiction_code=region.code, name=region.name)
    elif dep.jurisdiction_code != region.code:
        dep.jurisdiction_code, dep.name = region.code, region.name
        dep.save(update_fields=["jurisdiction_code", "name"])
    if old != region.code:
        audit.record(
            actor=actor,
            action="deployment.set_jurisdiction",
            object_type="deployment",
            object_id=dep.pk,
            object_label=region.name,
            county_code=region.code if region.level == "county" else "",
            changes=[("jurisdiction_code", old, region.code)],
        )
    return dep
