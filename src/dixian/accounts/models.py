"""Accounts: each bound to one region and one role."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", "县级管理员"
    COUNTY_STAFF = "county_staff", "县直部门人员"
    TOWNSHIP_CADRE = "township_cadre", "乡镇干部"
    VILLAGE_CADRE = "village_cadre", "村干部"
    LEADER = "leader", "领导（只读）"


# Which region level each role is bound to.
ROLE_LEVEL = {
    Role.COUNTY_ADMIN: "county",
    Role.COUNTY_STAFF: "county",
    Role.LEADER: "county",
    Role.TOWNSHIP_CADRE: "township",
    Role.VILLAGE_CADRE: "village",
}


class User(AbstractUser):
    full_name = models.CharField("姓名", max_length=50, blank=True, default="")
    role = models.CharField("角色", max_length=20, choices=Role.choices, default=Role.VILLAGE_CADRE)
    region_code = models.CharField("所属区划代码", max_length=12, blank=True, default="")
    department = models.CharField("部门", max_length=50, blank=True, default="")
    phone = models.CharField("电话", max_length=20, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "账户"

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role in Role.values else self.role
