"""Dynamic monitoring: policy values, channels, leads, monitoring spells, their reviews and decisions,
help measures and income surveys."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from dixian.core.models import RegionScoped
from dixian.registry.choices import EliminationMode, MonitoringCategory

MONEY = {"max_digits": 14, "decimal_places": 2, "null": True, "blank": True}
NATIONAL = "000000000000"


class PolicyKey(models.TextChoices):
    MONITORING_LINE = "monitoring_line", "监测线（元/人·年）"
    MIN_PUBLICITY_DAYS = "min_publicity_days", "公示最少天数"
    MIN_MONTHS_BEFORE_ELIMINATION = "min_months_before_elimination", "识别后至少监测月数（风险消除前）"
    DEADLINE_VERIFY = "deadline.verify", "时限：入户核实（天）"
    DEADLINE_CROSS_CHECK = "deadline.cross_check", "时限：信息比对（天）"
    DEADLINE_VILLAGE_REVIEW = "deadline.village_review", "时限：村级民主评议（天）"
    DEADLINE_PUBLICITY = "deadline.publicity", "时限：公示（天）"
    DEADLINE_TOWNSHIP_REVIEW = "deadline.township_review", "时限：乡镇审核（天）"
    DEADLINE_COUNTY_APPROVAL = "deadline.county_approval", "时限：县级审定（天）"
    RURAL_DISPOSABLE_INCOME = "rural_disposable_income", "农村居民人均可支配收入（元/人·年，统计公报）"


# Keys whose value belongs to one year only: a year without a row has no value (a warning).
PER_YEAR_KEYS = {PolicyKey.MONITORING_LINE, PolicyKey.RURAL_DISPOSABLE_INCOME}


class PolicyValue(models.Model):
    """A policy value for a region (national, province, city or county) from a year on."""

    key = models.CharField("参数", max_length=40, choices=PolicyKey.choices)
    region_code = models.CharField(
        "区划代码", max_length=12, default=NATIONAL, help_text="000000000000 表示全国"
    )
    year = models.PositiveSmallIntegerField("年度")
    value = models.DecimalField("数值", max_digits=12, decimal_places=2)
    source = models.CharField("依据", max_length=200, blank=True, default="")
    updated_at = models.DateTimeField("更新时间", default=timezone.now)
    updated_by = models.CharField("更新人", max_length=150, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "政策参数"
        constraints = [
            models.UniqueConstraint(fields=["key", "region_code", "year"], name="uniq_policy_value")
        ]
        ordering = ["key", "region_code", "year"]

    def __str__(self) -> str:
        return f"{self.get_key_display()} {self.region_code} {self.year}: {self.value}"


class Channel(models.Model):
    """识别途径 / 发现渠道: a configurable list."""

    code = models.CharField("代码", max_length=30, unique=True)
    label = models.CharField("名称", max_length=30, unique=True)
    order = models.PositiveSmallIntegerField("顺序", default=0)
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "识别途径"
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.label


class Lead(RegionScoped):
    """风险线索: a signal that a household may need monitoring."""

    class Status(models.TextChoices):
        NEW = "new", "待核实"
        IN_REVIEW = "in_review", "审核中"
        INCLUDED = "included", "已纳入监测"
        NOT_INCLUDED = "not_included", "未纳入"

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="leads")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, verbose_name="识别途径")
    description = models.TextField("线索内容")
    risks = models.JSONField("可能的风险", default=list, blank=True)
    reported_on = models.DateField("发现日期", default=timezone.localdate)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reporter_name = models.CharField("记录人", max_length=150, blank=True, default="")
    status = models.CharField(
        "状态", max_length=20, choices=Status.choices, default=Status.NEW, db_index=True
    )
    closed_reason = models.TextField("不纳入理由", blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "风险线索"
        ordering = ["-reported_on", "-id"]

    def __str__(self) -> str:
        return f"线索 {self.pk}（{self.household}）"


class CaseStatus(models.TextChoices):
    REVIEWING = "reviewing", "识别审核中"
    REJECTED = "rejected", "未纳入"
    MONITORED = "monitored", "风险未消除"
    ELIMINATING = "eliminating", "风险消除审核中"
    ELIMINATED = "eliminated", "风险已消除"
    SUPERSEDED = "superseded", "已被台账更正"


class MonitoringCase(RegionScoped):
    """One spell of a household under monitoring, from identification to risk elimination."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="cases")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    status = models.CharField("状态", max_length=12, choices=CaseStatus.choices, db_index=True)
    category = models.CharField(
        "监测对象类别", max_length=20, choices=MonitoringCategory.choices, blank=True, default=""
    )
    risks = models.JSONField("致贫/返贫风险", default=list, blank=True)
    channel = models.CharField("识别途径", max_length=30, blank=True, default="")
    identified_month = models.PositiveIntegerField("识别监测时间", null=True, blank=True, db_index=True)
    identified_on = models.DateField("县级审定日期", null=True, blank=True)
    eliminated_month = models.PositiveIntegerField("消除监测时间", null=True, blank=True, db_index=True)
    eliminated_on = models.DateField("消除审定日期", null=True, blank=True)
    elimination_mode = models.CharField(
        "风险消除方式", max_length=10, choices=EliminationMode.choices, blank=True, default=""
    )
    fast_track = models.BooleanField("绿色通道", default=False)
    source = models.CharField("来源", max_length=10, default="workflow")  # workflow / ledger
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "监测对象（监测期）"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["county_code", "status"])]

    def __str__(self) -> str:
        return f"{self.household} {self.get_status_display()}"


class ReviewKind(models.TextChoices):
    IDENTIFY = "identify", "识别纳入"
    ELIMINATE = "eliminate", "风险消除"


class Review(RegionScoped):
    """One pass through the review chain, for identification or for risk elimination."""

    class State(models.TextChoices):
        OPEN = "open", "进行中"
        APPROVED = "approved", "已审定"
        REJECTED = "rejected", "不予通过"

    case = models.ForeignKey(MonitoringCase, on_delete=models.CASCADE, related_name="reviews")
    kind = models.CharField("类型", max_length=10, choices=ReviewKind.choices)
    step = models.CharField("当前环节", max_length=20, db_index=True)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    fast_track = models.BooleanField("绿色通道", default=False)
    proposal = models.JSONField("申请内容", default=dict, blank=True)  # category, risks, mode, checklist
    step_started_at = models.DateTimeField("本环节开始", default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Steps still to be completed after a fast-track approval: {"verify": "2026-12-01", ...} (due dates)
    pending_after = models.JSONField("绿色通道待补环节", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "审核"
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}审核 {self.pk}"


class Decision(models.Model):
    """One decision in a review. Append-only: decisions are never changed or deleted."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    step = models.CharField("环节", max_length=20)
    action = models.CharField("操作", max_length=20)  # start, complete, reject, return, object, answer
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField("操作人", max_length=150)
    at = models.DateTimeField("时间", default=timezone.now)
    comment = models.TextField("意见", blank=True, default="")
    data = models.JSONField("记录", default=dict, blank=True)
    after_the_fact = models.BooleanField("绿色通道事后补办", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "审核记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.step} {self.action} {self.actor_name}"


class Attachment(models.Model):
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField("附件", upload_to="attachments/%Y/%m/")
    name = models.CharField("文件名", max_length=255)
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = verbose_name_plural = "附件"

    def __str__(self) -> str:
        return self.name


class Objection(models.Model):
    """An objection raised during publicity, and its answer."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="objections")
    text = models.TextField("异议内容")
    raised_on = models.DateField("提出日期", default=timezone.localdate)
    raised_by = models.CharField("提出人", max_length=100, blank=True, default="")
    answer = models.TextField("答复", blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.CharField("答复人", max_length=150, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "公示异议"

    def __str__(self) -> str:
        return self.text[:30]


class MeasureKind(models.TextChoices):
    INDUSTRY = "industry", "产业"
    EMPLOYMENT = "employment", "就业"
    WELFARE_POST = "welfare_post", "公益岗位"
    FINANCE = "finance", "金融"
    HEALTH = "health", "健康"
    EDUCATION = "education", "教育"
    COMPULSORY_EDUCATION = "compulsory_education", "义务教育保障"
    HOUSING = "housing", "住房安全保障"
    WATER = "water", "饮水安全保障"
    SAFETY_NET = "safety_net", "综合保障"
    SOCIAL = "social", "社会帮扶"
    RELOCATION = "relocation", "搬迁"
    OTHER = "other", "其他"


# Ledger measure column -> kind.
LEDGER_MEASURE_KIND = {
    "产业帮扶": MeasureKind.INDUSTRY,
    "就业帮扶": MeasureKind.EMPLOYMENT,
    "公益岗位帮扶": MeasureKind.WELFARE_POST,
    "金融帮扶": MeasureKind.FINANCE,
    "健康帮扶": MeasureKind.HEALTH,
    "教育帮扶": MeasureKind.EDUCATION,
    "义务教育保障": MeasureKind.COMPULSORY_EDUCATION,
    "住房安全保障": MeasureKind.HOUSING,
    "饮水安全保障": MeasureKind.WATER,
    "综合保障": MeasureKind.SAFETY_NET,
    "社会帮扶": MeasureKind.SOCIAL,
    "搬迁": MeasureKind.RELOCATION,
    "其他帮扶": MeasureKind.OTHER,
}
DEVELOPMENT_KINDS = {
    MeasureKind.INDUSTRY,
    MeasureKind.EMPLOYMENT,
    MeasureKind.WELFARE_POST,
    MeasureKind.FINANCE,
}


class Measure(RegionScoped):
    """帮扶措施: one help given to a household."""

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="measure_records"
    )
    case = models.ForeignKey(
        MonitoringCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="measures"
    )
    kind = models.CharField("类型", max_length=24, choices=MeasureKind.choices)
    content = models.CharField("内容", max_length=300)
    amount = models.DecimalField("金额（元）", **MONEY)
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期", null=True, blank=True)
    funding_source = models.CharField("资金来源", max_length=100, blank=True, default="")
    helper_name = models.CharField("帮扶责任人", max_length=60)
    created_by = models.CharField("记录人", max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "帮扶措施"
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.content}"


class IncomeSurvey(RegionScoped):
    """A household income survey over a 12-month window; the latest of a window counts."""

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="income_surveys"
    )
    window_start = models.PositiveIntegerField("起始年月")
    window_end = models.PositiveIntegerField("截止年月")
    household_size = models.PositiveSmallIntegerField("家庭人数")
    wage_income = models.DecimalField("工资性收入", max_digits=14, decimal_places=2, default=Decimal(0))
    business_income = models.DecimalField(
        "生产经营性收入", max_digits=14, decimal_places=2, default=Decimal(0)
    )
    property_income = models.DecimalField("财产性收入", max_digits=14, decimal_places=2, default=Decimal(0))
    transfer_family_planning = models.DecimalField(
        "计划生育金", max_digits=14, decimal_places=2, default=Decimal(0)
    )
    transfer_dibao = models.DecimalField("低保金", max_digits=14, decimal_places=2, default=Decimal(0))
    transfer_tekun = models.DecimalField("特困供养金", max_digits=14, decimal_places=2, default=Decimal(0))
    transfer_pension = models.DecimalField("养老保险金", max_digits=14, decimal_places=2, default=Decimal(0))
    transfer_eco = models.DecimalField("生态补偿金", max_digits=14, decimal_places=2, default=Decimal(0))
    transfer_other = models.DecimalField(
        "其他转移性收入", max_digits=14, decimal_places=2, default=Decimal(0)
    )
    business_expense = models.DecimalField(
        "生产经营性支出", max_digits=14, decimal_places=2, default=Decimal(0)
    )
    compliant_out_of_pocket = models.DecimalField(
        "合规自付支出", max_digits=14, decimal_places=2, default=Decimal(0)
    )
    insurance_claims = models.DecimalField("理赔收入", max_digits=14, decimal_places=2, default=Decimal(0))
    per_capita_net = models.DecimalField("人均纯收入", max_digits=14, decimal_places=2)
    recorded_by = models.CharField("记录人", max_length=150, blank=True, default="")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "收入调查"
        ordering = ["-window_end", "-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.household} {self.window_start}-{self.window_end}"

    @property
    def transfer(self) -> Decimal:
        return (
            self.transfer_family_planning
            + self.transfer_dibao
            + self.transfer_tekun
            + self.transfer_pension
            + self.transfer_eco
            + self.transfer_other
        )
