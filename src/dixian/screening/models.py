"""Departments' data files as loaded into Dixian (the screening rules and alerts come next)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from dixian.screening.feeds import FeedType


class HeaderMapping(models.Model):
    """A department's own headers mapped once to the contract's column names."""

    feed_type = models.CharField("数据类型", max_length=20, choices=FeedType.choices)
    department = models.CharField("部门", max_length=50)
    mapping = models.JSONField("表头对应", default=dict)  # {"身份证号": "证件号码", ...}
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "部门表头对应"
        constraints = [
            models.UniqueConstraint(fields=["feed_type", "department"], name="uniq_header_mapping")
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.get_feed_type_display()}"


class FeedFile(models.Model):
    """One department file loaded: where its normalised rows are kept (Parquet) and what validation found."""

    county_code = models.CharField("县区划代码", max_length=12, db_index=True)
    feed_type = models.CharField("数据类型", max_length=20, choices=FeedType.choices, db_index=True)
    department = models.CharField("部门", max_length=50)
    file_name = models.CharField("文件名", max_length=255)
    sha256 = models.CharField("校验和", max_length=64, db_index=True)
    stored_path = models.CharField("规范化数据（Parquet）", max_length=500)
    original_path = models.CharField("原始文件", max_length=500, blank=True, default="")
    rows_read = models.PositiveBigIntegerField("读取行数", default=0)
    rows_refused = models.PositiveBigIntegerField("拒收行数", default=0)
    ids_invalid = models.PositiveBigIntegerField("证件号码无效", default=0)
    rows_registered = models.PositiveBigIntegerField("匹配在册人员", default=0)
    rows_unregistered_local = models.PositiveBigIntegerField("本县未在册人员", default=0)
    refusals = models.JSONField("拒收原因", default=dict, blank=True)  # {reason: count}
    samples = models.JSONField("拒收示例", default=list, blank=True)  # first rows refused
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    loaded_by_name = models.CharField("加载人", max_length=150, blank=True, default="")
    loaded_at = models.DateTimeField("加载时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "部门数据文件"
        ordering = ["-loaded_at"]
        constraints = [models.UniqueConstraint(fields=["feed_type", "sha256"], name="uniq_feed_file")]

    def __str__(self) -> str:
        return f"{self.get_feed_type_display()} {self.file_name}"
