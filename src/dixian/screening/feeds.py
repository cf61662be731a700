"""Departments' data files (../shared/formats/department-feeds.md): their columns, as data about the
format. Column names are the contract; other headers are mapped once per department."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models


class FeedType(models.TextChoices):
    MEDICAL = "medical", "医保结算"
    DISABILITY = "disability", "残疾人证"
    ASSISTANCE = "assistance", "社会救助"
    EDUCATION = "education", "学籍"
    HOUSING = "housing", "农房安全鉴定"
    WATER = "water", "农村供水"
    DISASTER = "disaster", "灾情"
    EMPLOYMENT = "employment", "就业"
    CIVIL_REGISTRY = "civil_registry", "户籍变动"


@dataclass(frozen=True)
class FeedSpec:
    department: str
    required: list[str]
    optional: list[str]
    id_column: str | None  # the person's ID column, or None (water: by village)
    dates: list[str] = field(default_factory=list)
    money: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return self.required + self.optional


SPECS: dict[str, FeedSpec] = {
    FeedType.MEDICAL: FeedSpec(
        "医保局",
        ["证件号码", "结算日期", "个人自付"],
        ["姓名", "就诊类型", "医疗总费用", "基本医保支付", "大病保险支付", "医疗救助支付", "参保地区划代码"],
        "证件号码",
        ["结算日期"],
        ["个人自付", "医疗总费用", "基本医保支付", "大病保险支付", "医疗救助支付"],
    ),
    FeedType.DISABILITY: FeedSpec(
        "残联",
        ["证件号码", "残疾类别", "残疾等级", "发证日期"],
        ["姓名"],
        "证件号码",
        ["发证日期"],
    ),
    FeedType.ASSISTANCE: FeedSpec(
        "民政局",
        ["证件号码", "救助类型", "开始日期"],
        ["姓名", "结束日期", "金额"],
        "证件号码",
        ["开始日期", "结束日期"],
        ["金额"],
    ),
    FeedType.EDUCATION: FeedSpec(
        "教育局",
        ["证件号码", "学段", "状态", "日期"],
        ["姓名", "学校"],
        "证件号码",
        ["日期"],
    ),
    FeedType.HOUSING: FeedSpec(
        "住建局",
        ["户主证件号码", "鉴定等级", "鉴定日期"],
        ["户主姓名", "地址"],
        "户主证件号码",
        ["鉴定日期"],
    ),
    FeedType.WATER: FeedSpec(
        "水利局",
        ["区划代码", "断水开始日期"],
        ["断水结束日期", "原因"],
        None,
        ["断水开始日期", "断水结束日期"],
    ),
    FeedType.DISASTER: FeedSpec(
        "应急管理局",
        ["证件号码", "受灾日期", "灾种"],
        ["姓名", "直接经济损失", "房屋损毁"],
        "证件号码",
        ["受灾日期"],
        ["直接经济损失"],
    ),
    FeedType.EMPLOYMENT: FeedSpec(
        "人社局",
        ["证件号码", "状态", "日期"],
        ["姓名", "务工地"],
        "证件号码",
        ["日期"],
    ),
    FeedType.CIVIL_REGISTRY: FeedSpec(
        "公安局",
        ["证件号码", "事件", "日期"],
        ["姓名"],
        "证件号码",
        ["日期"],
    ),
}
