"""Stored figures: published periods (封账) and precomputed dashboard figures.

* ``Publication`` + ``PublishedFigures``: the county administrator freezes the figures of a period
  (county, since, as-of). The values of the county, each township and each village are stored as
  they were computed at that moment and never change afterwards; later edits of the registry change
  only the current figures, and the dashboard shows both where they differ.
* ``FigureSnapshot``: the dashboard's figures of a large region (a province or a city), computed ahead
  (``dixian figures refresh``) because computing them on request takes seconds; the page shows their
  age. Derived data, rebuilt at will: not audited.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from dixian.core.models import RegionScoped


class Publication(models.Model):
    """封账: the published figures of one county for one period."""

    county_code = models.CharField("县区划代码", max_length=12, db_index=True)
    since = models.DateField("统计期起始")
    as_of = models.DateField("统计日期")
    published_at = models.DateTimeField("封账时间", default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_by_name = models.CharField("封账人", max_length=150)
    note = models.CharField("说明", max_length=200, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "封账"
        ordering = ["-as_of", "-since", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["county_code", "since", "as_of"], name="uniq_publication_period")
        ]

    def __str__(self) -> str:
        return f"{self.county_code} {self.since}—{self.as_of}"

    @property
    def period_label(self) -> str:
        return f"{self.since:%Y年%-m月%-d日}至{self.as_of:%Y年%-m月%-d日}"


class PublishedFigures(RegionScoped):
    """The frozen values of one region (the county, a township or a village) of a publication.

    Region columns as every scoped row (rule 3): a township cadre sees the rows of its township and of
    its villages, not the county's."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="figures")
    region_code = models.CharField("区划代码", max_length=12)
    values = models.JSONField("数值", default=dict)  # {indicator code: value}

    class Meta:
        verbose_name = verbose_name_plural = "封账数值"
        constraints = [
            models.UniqueConstraint(fields=["publication", "region_code"], name="uniq_published_region")
        ]

    def __str__(self) -> str:
        return f"{self.publication_id} {self.region_code}"


class FigureSnapshot(models.Model):
    """Precomputed dashboard figures of a region for a period (see the module docstring)."""

    region_code = models.CharField("区划代码", max_length=12)
    since = models.DateField("统计期起始")
    as_of = models.DateField("统计日期")
    computed_at = models.DateTimeField("计算时间", default=timezone.now)
    seconds = models.FloatField("计算用时（秒）", default=0)
    payload = models.JSONField("数据", default=dict)

    class Meta:
        verbose_name = verbose_name_plural = "预先计算的数据"
        constraints = [
            models.UniqueConstraint(fields=["region_code", "since", "as_of"], name="uniq_figure_snapshot")
        ]

    def __str__(self) -> str:
        return f"{self.region_code} {self.since}—{self.as_of} @ {self.computed_at:%Y-%m-%d %H:%M}"
