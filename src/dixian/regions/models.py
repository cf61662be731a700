"""The region tree: one row per statistical division, keyed by its 12-digit code."""

from __future__ import annotations

import datetime as dt

from django.db import models


class RegionLevel(models.TextChoices):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县"
    TOWNSHIP = "township", "乡镇"
    VILLAGE = "village", "村(社区)"


class Region(models.Model):
    """An administrative division (行政区划) from the NBS statistical codes.

    Codes are 12 digits everywhere (2 province, 2 city, 2 county, 3 township, 3 village).
    ``county_code`` and ``township_code`` repeat the ancestors' codes as equality columns so that a
    village row knows its county and township without walking the tree; a county row carries its
    own code as ``county_code`` and a township its own as ``township_code``. Both are blank above
    the levels they apply to.

    ``valid_from`` / ``valid_to`` bound the days on which the code is in use, both inclusive; null
    means open (valid since before the first load / still valid).
    """

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=100, help_text="官方名称，如：梁家沟村村委会")
    short_name = models.CharField("简称", max_length=100, help_text="通常写法，如：梁家沟村")
    level = models.CharField("级别", max_length=10, choices=RegionLevel.choices)
    parent_code = models.CharField("上级区划代码", max_length=12, blank=True, default="", db_index=True)
    county_code = models.CharField("所属县区划代码", max_length=12, blank=True, default="", db_index=True)
    township_code = models.CharField("所属乡镇区划代码", max_length=12, blank=True, default="", db_index=True)
    valid_from = models.DateField("启用日期", null=True, blank=True)
    valid_to = models.DateField("停用日期", null=True, blank=True, help_text="最后有效日期；为空表示仍有效")
    source = models.CharField("来源", max_length=40, blank=True, default="", help_text="如：NBS-2023")

    class Meta:
        verbose_name = verbose_name_plural = "行政区划"
        ordering = ["code"]
        indexes = [models.Index(fields=["county_code", "level"], name="regions_county_level_idx")]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def label(self) -> str:
        """The name as people write it (梁家沟村, 松溪路社区, 乐平镇)."""
        return self.short_name or self.name

    @property
    def is_current(self) -> bool:
        return self.valid_to is None

    def is_valid_on(self, day: dt.date) -> bool:
        """Whether the code was in use on ``day`` (bounds inclusive, null bounds open)."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_to is not None and day > self.valid_to)
