"""Enumerations of the registry, with the labels the national ledger uses."""

from __future__ import annotations

from django.db import models


class HouseholdType(models.TextChoices):
    LIFTED = "lifted", "脱贫户"
    ORDINARY = "ordinary", "一般农户"


class MonitoringCategory(models.TextChoices):
    UNSTABLE_LIFTED = "unstable_lifted", "脱贫不稳定户"
    MARGINAL = "marginal", "边缘易致贫户"
    SUDDEN_HARDSHIP = "sudden_hardship", "突发严重困难户"


class RiskType(models.TextChoices):
    ILLNESS = "illness", "因病"
    DISABILITY = "disability", "因残"
    SCHOOLING = "schooling", "因学"
    DISASTER = "disaster", "因灾"
    ACCIDENT = "accident", "因意外事故"
    INDUSTRY_FAILURE = "industry_failure", "因产业项目失败"
    UNSTABLE_WORK = "unstable_work", "因务工就业不稳"
    LACK_OF_LABOUR = "lack_of_labour", "缺劳动力"
    HOUSING = "housing", "住房出现安全问题"
    WATER = "water", "饮水安全问题"
    OTHER = "other", "其他"


# Other spellings seen in real ledgers (policy-research §7.1).
RISK_ALIASES = {
    "因自然灾害": RiskType.DISASTER,
    "因产业失败": RiskType.INDUSTRY_FAILURE,
    "务工就业不稳": RiskType.UNSTABLE_WORK,
    "因缺劳动力": RiskType.LACK_OF_LABOUR,
    "因意外": RiskType.ACCIDENT,
}


class EliminationMode(models.TextChoices):
    ASSISTED = "assisted", "帮扶消除"
    NATURAL = "natural", "自然消除"


class RiskStatus(models.TextChoices):
    """Derived filter on households: never monitored, monitored and at risk, risk eliminated."""

    NONE = "none", "非监测户"
    OPEN = "open", "风险未消除"
    ELIMINATED = "eliminated", "风险已消除"


# The 13 measure columns of the national export, in ledger order (policy-research §7.2).
MEASURE_COLUMNS = [
    "产业帮扶",
    "就业帮扶",
    "公益岗位帮扶",
    "金融帮扶",
    "健康帮扶",
    "教育帮扶",
    "义务教育保障",
    "住房安全保障",
    "饮水安全保障",
    "综合保障",
    "社会帮扶",
    "搬迁",
    "其他帮扶",
]

DEFAULT_CHANNELS = ["农户自主申报", "干部日常排查", "集中排查", "部门筛查预警", "社会监督", "关联监测"]

RELATIONS = [
    "户主",
    "配偶",
    "之子",
    "之女",
    "之儿媳",
    "之女婿",
    "之孙子",
    "之孙女",
    "之外孙子",
    "之外孙女",
    "之父",
    "之母",
    "之岳父",
    "之岳母",
    "之公公",
    "之婆婆",
    "之祖父",
    "之祖母",
    "之兄弟姐妹",
    "之曾孙子",
    "之曾孙女",
    "其他",
]

LABOUR_SKILLS = ["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"]
