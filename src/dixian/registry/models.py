"""The household registry: households and persons as the national ledger holds them."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models.functions import Cast, Coalesce, NullIf, Round
from django.utils import timezone

from dixian.core.models import RegionScoped
from dixian.registry.choices import EliminationMode, HouseholdType, MonitoringCategory, RiskStatus

MONEY = {"max_digits": 14, "decimal_places": 2, "null": True, "blank": True}
# the ledger's four incomes and its expense (the household's columns)
INCOME_PARTS = ("wage_income", "business_income", "property_income", "transfer_income")
EXPENSE_PART = "business_expense"


def fen_of(expression):
    """Yuan with two decimals to integer fen (exact: one rounding of a sum of two-decimal values)."""
    return Cast(Round(expression * models.Value(Decimal(100))), models.BigIntegerField())


def ledger_net_fen_expression():
    """The ledger's annual net income in fen, as the database computes and stores it: its components
    (工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出) if any is filled, else its per-capita
    income × the household's size (registered, else declared); NULL without either (or a size). Stored, so that
    a screening reads one integer per household instead of doing the decimal arithmetic for a
    million households on every run (decision 0007)."""
    zero = models.Value(Decimal(0))
    components = sum(
        (Coalesce(c, zero) for c in INCOME_PARTS[1:]),
        Coalesce(INCOME_PARTS[0], zero),
    ) - Coalesce(EXPENSE_PART, zero)
    any_part = models.Q()
    for c in (*INCOME_PARTS, EXPENSE_PART):
        any_part |= models.Q(**{f"{c}__isnull": False})
    # no size (0 or unknown): no figure, as ``per_capita_income``
    size = Coalesce(
        NullIf("size", models.Value(0)),
        NullIf("declared_size", models.Value(0)),
        output_field=models.BigIntegerField(),
    )
    return models.Case(
        models.When(any_part, then=fen_of(components)),
        models.When(
            declared_per_capita_income__isnull=False,
            then=models.ExpressionWrapper(
                fen_of(models.F("declared_per_capita_income")) * size, output_field=models.BigIntegerField()
            ),
        ),
        default=None,
        output_field=models.BigIntegerField(null=True),
    )


class Household(RegionScoped):
    household_no = models.CharField("户编号", max_length=40)
    hamlet = models.CharField("自然村", max_length=60, blank=True, default="")
    household_type = models.CharField("户类型", max_length=10, choices=HouseholdType.choices, db_index=True)
    lifted_year = models.PositiveSmallIntegerField("脱贫年度", null=True, blank=True)
    phone = models.CharField("户联系电话", max_length=40, blank=True, default="")
    head_name = models.CharField("户主姓名", max_length=60, blank=True, default="")
    size = models.PositiveSmallIntegerField("在册人数", default=0)
    declared_size = models.PositiveSmallIntegerField("台账人数", null=True, blank=True)
    search_text = models.TextField("检索文本", blank=True, default="")

    # Monitoring columns of the ledger (the latest spell).
    monitoring_category = models.CharField(
        "监测对象类别",
        max_length=20,
        choices=MonitoringCategory.choices,
        blank=True,
        default="",
        db_index=True,
    )
    channel = models.CharField("识别途径", max_length=30, blank=True, default="")
    identified_month = models.PositiveIntegerField("识别监测时间", null=True, blank=True)
    risks = models.JSONField("致贫/返贫风险", default=list, blank=True)
    risk_eliminated = models.BooleanField("风险是否已消除", null=True, blank=True)
    elimination_mode = models.CharField(
        "风险消除方式", max_length=10, choices=EliminationMode.choices, blank=True, default=""
    )
    eliminated_month = models.PositiveIntegerField("消除监测时间", null=True, blank=True)
    risk_status = models.CharField(
        "风险状态", max_length=12, choices=RiskStatus.choices, default=RiskStatus.NONE, db_index=True
    )

    # Income (yuan per year, household totals) as the ledger states them.
    wage_income = models.DecimalField("工资性收入", **MONEY)
    business_income = models.DecimalField("生产经营性收入", **MONEY)
    property_income = models.DecimalField("财产性收入", **MONEY)
    transfer_income = models.DecimalField("转移性收入", **MONEY)
    business_expense = models.DecimalField("生产经营性支出", **MONEY)
    declared_per_capita_income = models.DecimalField("人均纯收入（元）", **MONEY)
    # computed by the database from the columns above (never written by Dixian)
    ledger_net_fen = models.GeneratedField(
        expression=ledger_net_fen_expression(),
        output_field=models.BigIntegerField("台账年纯收入（分）", null=True, blank=True),
        db_persist=True,
    )

    measures = models.JSONField("帮扶措施", default=dict, blank=True)  # {"健康帮扶": "…"}
    flags = models.JSONField("提示", default=list, blank=True)  # warnings found on import
    extra = models.JSONField("其他列", default=dict, blank=True)

    created_at = models.DateTimeField("建档时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "户"
        constraints = [
            models.UniqueConstraint(fields=["county_code", "household_no"], name="uniq_household_no")
        ]
        indexes = [models.Index(fields=["county_code", "household_type", "monitoring_category"])]

    def __str__(self) -> str:
        return f"{self.head_name}户（{self.household_no}）"

    @property
    def net_income(self) -> Decimal | None:
        parts = [getattr(self, c) for c in INCOME_PARTS]
        expense = getattr(self, EXPENSE_PART)
        if all(p is None for p in parts) and expense is None:
            return None
        return sum((p or Decimal(0) for p in parts), Decimal(0)) - (expense or Decimal(0))

    @property
    def per_capita_income(self) -> Decimal | None:
        """(工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出) ÷ 人数, to the fen."""
        net = self.net_income
        n = self.size or self.declared_size
        if net is None or not n:
            return None
        return (net / n).quantize(Decimal("0.01"))


class Person(RegionScoped):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members")
    position = models.PositiveSmallIntegerField("户内序号", default=0)
    active = models.BooleanField("在册", default=True)
    person_no = models.CharField("人编号", max_length=40, blank=True, default="")
    name = models.CharField("姓名", max_length=60)
    name_pinyin = models.CharField("姓名拼音", max_length=120, blank=True, default="")
    name_initials = models.CharField("拼音首字母", max_length=30, blank=True, default="", db_index=True)
    id_number = models.CharField("证件号码", max_length=40)
    id_is_resident = models.BooleanField("是居民身份证", default=True)
    sex = models.CharField("性别", max_length=2, blank=True, default="")
    birth_date = models.DateField("出生日期", null=True, blank=True)
    relation_to_head = models.CharField("与户主关系", max_length=20)
    ethnicity = models.CharField("民族", max_length=20, blank=True, default="")
    education = models.CharField("文化程度", max_length=30, blank=True, default="")
    student_status = models.CharField("在校生状况", max_length=30, blank=True, default="")
    health = models.CharField("健康状况", max_length=30, blank=True, default="")
    labour_skill = models.CharField("劳动技能", max_length=20, blank=True, default="")
    work_months = models.PositiveSmallIntegerField("务工时间（月）", null=True, blank=True)
    medical_insurance = models.BooleanField("是否参加城乡居民基本医疗保险", null=True, blank=True)
    dibao = models.BooleanField("是否享受低保", null=True, blank=True)
    tekun = models.BooleanField("是否特困供养", null=True, blank=True)
    flags = models.JSONField("提示", default=list, blank=True)
    extra = models.JSONField("其他列", default=dict, blank=True)
    created_at = models.DateTimeField("建档时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "人"
        constraints = [models.UniqueConstraint(fields=["county_code", "id_number"], name="uniq_person_id")]
        indexes = [
            models.Index(fields=["id_number"]),
            # covers the screening's read of the registry (who is registered, in which household)
            models.Index(
                fields=["county_code", "active", "id_number", "household"], name="person_screening_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_head(self) -> bool:
        return self.relation_to_head == "户主"


class LedgerImport(RegionScoped):
    """One ledger file submitted for import: its outcome and problem report."""

    class Status(models.TextChoices):
        REFUSED = "refused", "未导入（有错误）"
        IMPORTED = "imported", "已导入"

    created_at = models.DateTimeField("时间", default=timezone.now)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField("操作人", max_length=150, blank=True, default="")
    file_name = models.CharField("文件名", max_length=255)
    sha256 = models.CharField(max_length=64)
    status = models.CharField("结果", max_length=10, choices=Status.choices)
    rows = models.PositiveIntegerField("数据行数", default=0)
    summary = models.JSONField("汇总", default=dict, blank=True)
    problems = models.JSONField("问题", default=list, blank=True)  # first 2,000 for display
    problem_count = models.PositiveIntegerField("问题数", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    report_path = models.CharField("问题报告", max_length=500, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "台账导入"
        ordering = ["-created_at"]
