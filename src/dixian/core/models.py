"""Base models: region-scoped rows, the deployment, audit events and field history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RegionScoped(models.Model):
    """Every row holding people's data carries its region as indexed equality columns (rule 3).

    Codes are the 12-digit statistical codes: ``county_code`` 140724000000, ``township_code``
    140724100000, ``village_code`` 140724100204.
    """

    county_code = models.CharField("县区划代码", max_length=12, db_index=True)
    township_code = models.CharField("乡镇区划代码", max_length=12, db_index=True, blank=True, default="")
    village_code = models.CharField("村区划代码", max_length=12, db_index=True, blank=True, default="")

    class Meta:
        abstract = True


class Deployment(models.Model):
    """The jurisdiction this Dixian serves (one row). Set by ``dixian init --region``."""

    jurisdiction_code = models.CharField("管辖区划代码", max_length=12)
    name = models.CharField("名称", max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "部署"

    def __str__(self) -> str:
        return f"{self.name}（{self.jurisdiction_code}）"


class AuditEvent(RegionScoped):
    """Who did what to which object, when; written by services in the same transaction."""

    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField("操作人", max_length=150)
    channel = models.CharField("途径", max_length=10, default="web")  # web / api / cli
    action = models.CharField("操作", max_length=64, db_index=True)
    object_type = models.CharField("对象类型", max_length=64, blank=True, default="")
    object_id = models.CharField("对象编号", max_length=64, blank=True, default="")
    object_label = models.CharField("对象", max_length=200, blank=True, default="")
    details = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "操作记录"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_label}"


class FieldChange(models.Model):
    """One field of one object changed by one audited event (before/after, NetBox style)."""

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="changes")
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    field = models.CharField("字段", max_length=64)
    old = models.TextField("原值", null=True, blank=True)
    new = models.TextField("新值", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "字段变更"
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.field}: {self.old} → {self.new}"
