"""Departments' data files as loaded into Dixian (the screening rules and alerts come next)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from dixian.core.fields import WrittenJSONField
from dixian.core.models import RegionScoped
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


class Population(models.TextChoices):
    LIFTED = "lifted", "脱贫户"
    MONITORED = "monitored", "监测对象"
    REGISTERED = "registered", "所有在册农户"
    UNREGISTERED = "unregistered", "本县未在册人员"


class GroupBy(models.TextChoices):
    PERSON = "person", "按人"
    HOUSEHOLD = "household", "按户"


class Aggregate(models.TextChoices):
    SUM = "sum", "合计"
    COUNT = "count", "条数"
    MAX = "max", "最大值"
    EXISTS = "exists", "存在"
    NEW = "new", "较上一份文件新出现"
    DAYS = "days", "持续天数"


class Subject(models.TextChoices):
    ANY = "any", "任何人"
    SCHOOL_AGE = "school_age", "义务教育阶段适龄（6至15周岁）"
    WORKING_AGE = "working_age", "劳动年龄（16至60周岁）"
    ONLY_WORKER = "only_worker", "户内唯一务工人员"


class Comparison(models.TextChoices):
    GT = "gt", "超过"
    GE = "ge", "达到"


class AlertRule(models.Model):
    """A screening rule as data (rule 4): one version of rule ``code`` in force from ``effective_from``
    until the next version. Compiled to SQL by :mod:`dixian.screening.engine`, never interpreted row by row.

    ``filters``: a list of conditions, all of which must hold; a condition is
    ``{"column": 列, "op": "in"|"not_in"|"eq"|"ne"|"gt"|"ge"|"lt"|"le", "value": …}`` or
    ``{"any": [conditions]}``. ``threshold``: a list of terms, the rule fires when the value exceeds any
    of them (so the smallest applies): ``{"const": "10000"}``, ``{"factor": "0.5", "of":
    "household_net_income"}`` or ``{"factor": "0.5", "of": "policy:rural_disposable_income", "year": -1}``.
    """

    code = models.CharField("规则代码", max_length=40, db_index=True)
    name = models.CharField("规则名称", max_length=100)
    effective_from = models.DateField("生效日期")
    enabled = models.BooleanField("启用", default=True, help_text="停用的版本自生效日期起停止该规则")
    feed_type = models.CharField("数据类型", max_length=20, choices=FeedType.choices)
    filters = models.JSONField("筛选条件", default=list, blank=True)
    latest_only = models.BooleanField("只看每人（户）最新一条", default=False)
    window_months = models.PositiveSmallIntegerField("时间窗口（月）", null=True, blank=True)
    window_days = models.PositiveSmallIntegerField("时间窗口（天）", null=True, blank=True)
    subject = models.CharField("对象", max_length=20, choices=Subject.choices, default=Subject.ANY)
    group_by = models.CharField("汇总单位", max_length=10, choices=GroupBy.choices, default=GroupBy.HOUSEHOLD)
    aggregate = models.CharField(
        "汇总方式", max_length=10, choices=Aggregate.choices, default=Aggregate.EXISTS
    )
    measure = models.CharField("汇总的列", max_length=40, blank=True, default="")
    comparison = models.CharField("比较", max_length=4, choices=Comparison.choices, default=Comparison.GT)
    threshold = models.JSONField("阈值", default=list, blank=True)
    population = models.CharField("适用人群", max_length=20, choices=Population.choices)
    risk = models.CharField("提示的风险类型", max_length=30, blank=True, default="")
    deadline_days = models.PositiveSmallIntegerField("核实期限（天）", default=15)
    suppress_days = models.PositiveSmallIntegerField("重复预警抑制期（天）", default=90)
    description = models.TextField("规则说明", blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "预警规则"
        ordering = ["code", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["code", "effective_from"], name="uniq_rule_version")]

    def __str__(self) -> str:
        return f"{self.name}（{self.effective_from:%Y-%m-%d}起）"


class ScreeningRun(models.Model):
    """One screening as of a date: which rules and feed files it used, what it found."""

    county_code = models.CharField("县区划代码", max_length=12, db_index=True)
    as_of = models.DateField("筛查日期")
    replay = models.BooleanField("回放（不生成预警）", default=False)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    started_by_name = models.CharField("执行人", max_length=150, blank=True, default="")
    rules = models.JSONField("规则版本", default=list, blank=True)  # [{"code", "id", "effective_from"}]
    feeds = models.JSONField("使用的数据文件", default=dict, blank=True)  # {feed_type: [file ids]}
    results = models.JSONField("各规则结果", default=dict, blank=True)
    # {code: {"hits": n, "new": n, "suppressed": n, "warnings": [...]}}
    alert_count = models.PositiveIntegerField("新预警", default=0)
    seconds = models.FloatField("用时（秒）", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "筛查批次"
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"筛查 {self.pk}（{self.as_of:%Y-%m-%d}）"


class AlertJSONField(WrittenJSONField):
    """The alert's JSON columns (ID numbers, names, evidence row numbers): on PostgreSQL ``json``, whose
    input is only checked, not ``jsonb``, whose input is parsed into its binary form (for a run's
    50,795 alerts about 0.6 s of the server's time in the COPY). Nothing queries inside these values
    (no ``contains`` or key lookups: those would need ``jsonb``); they are read and written whole.
    psycopg parses ``json`` into Python values itself (Django leaves only ``jsonb`` as text): those
    are returned as they are."""

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        if value is not None and not isinstance(value, str):
            return value
        return super().from_db_value(value, expression, connection)


class AlertStatus(models.TextChoices):
    OPEN = "open", "待核实"
    INCLUDED = "included", "纳入"
    NOT_INCLUDED = "not_included", "不纳入"
    ALREADY = "already", "已在监测/已帮扶"


class Alert(RegionScoped):
    """An alert sent to a village for verification within a deadline; the loop closes when verified.

    A screening run writes tens of thousands at once (50,795 for the M bench), so the table carries
    only the indexes and database constraints that daily work uses (docs/decisions/0007):

    * the township and village columns and the status are indexed by ``Meta.indexes`` rather than
      ``db_index``: the same B-tree indexes for the equality filters of the region scope (rule 3),
      without the second ``varchar_pattern_ops`` index Django adds on PostgreSQL for ``LIKE``, which no
      query of alerts uses. ``county_code`` has none: a deployment screens one county, so every alert
      carries the same county code and an index on it never narrows a query (a city or province
      account's prefix covers every alert of the county);
    * the suppression window's query (a rule's alerts raised in a period) has ``(rule_code,
      raised_on)``: a run's alerts share both, so it appends them to one key (an index on
      ``(rule_code, subject_key, raised_on)``, used before, took each alert at a place of its own
      and served that query by its first column only);
    * ``run``, ``rule``, ``household`` and ``evidence_file`` have no foreign-key constraint in the
      database (``db_constraint=False``): a run writes them from the run it creates in the same
      transaction, the rule it runs, the households of the registry it has just read and the file it
      read; nothing in Dixian deletes runs, rules, households or files (households and persons are
      deactivated, not deleted), and Django's ``on_delete=PROTECT`` still refuses such a delete.
      PostgreSQL checks each constraint row by row at commit (about 0.5 s per constraint for a run of
      the M bench), SQLite looks every row's parents up on insert. ``rule`` has no index either
      (alerts are looked up by ``rule_code``, indexed below); ``household`` keeps its index (a
      household's alerts).
    """

    county_code = models.CharField("县区划代码", max_length=12)
    township_code = models.CharField("乡镇区划代码", max_length=12, blank=True, default="")
    village_code = models.CharField("村区划代码", max_length=12, blank=True, default="")
    run = models.ForeignKey(
        ScreeningRun, on_delete=models.PROTECT, related_name="alerts", db_constraint=False
    )
    rule = models.ForeignKey(
        AlertRule, on_delete=models.PROTECT, related_name="alerts", db_constraint=False, db_index=False
    )
    rule_code = models.CharField("规则代码", max_length=40)
    department = models.CharField("部门", max_length=50)
    household = models.ForeignKey(
        "registry.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
        db_constraint=False,
    )
    subject_key = models.CharField("预警对象", max_length=60)  # household:ID / person:证件号码
    id_numbers = AlertJSONField("证件号码", default=list)
    names = AlertJSONField("姓名", default=list, blank=True)
    value = models.DecimalField("数值", max_digits=18, decimal_places=2)
    threshold = models.DecimalField("阈值", max_digits=18, decimal_places=2)
    risk = models.CharField("提示的风险类型", max_length=30, blank=True, default="")
    evidence = AlertJSONField("依据（部门数据的行号）", default=list, blank=True)  # [行号, …], latest first
    # the next three are never looked up by alert in daily work (only when a file, user or lead is
    # deleted): no index, so that a run writing tens of thousands of alerts maintains three fewer
    evidence_file = models.ForeignKey(
        FeedFile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="依据文件",
        db_index=False,
        db_constraint=False,
    )
    raised_on = models.DateField("预警日期", db_index=True)
    due_on = models.DateField("核实期限")
    status = models.CharField(
        "核实结论", max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN
    )
    verified_on = models.DateField("核实日期", null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    verifier_name = models.CharField("核实人", max_length=150, blank=True, default="")
    note = models.TextField("核实说明", blank=True, default="")
    lead = models.ForeignKey(
        "monitoring.Lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
        db_index=False,
    )

    class Meta:
        verbose_name = verbose_name_plural = "预警"
        ordering = ["due_on", "id"]
        indexes = [
            # a rule's alerts of a period (the suppression window): a run appends to one key of it
            models.Index(fields=["rule_code", "raised_on"], name="alert_rule_raised_idx"),
            models.Index(fields=["township_code"], name="alert_township_idx"),
            models.Index(fields=["village_code"], name="alert_village_idx"),
            models.Index(fields=["status"], name="alert_status_idx"),
        ]

    def __str__(self) -> str:
        return f"预警 {self.pk}"

    def evidence_rows(self) -> list[dict]:
        """The department's rows behind the alert, read from the kept file."""
        from dixian.screening.evidence import rows_of

        return rows_of(self.evidence_file, self.evidence)

    @property
    def closed(self) -> bool:
        return self.status != AlertStatus.OPEN

    def overdue(self, today) -> bool:
        if self.closed:
            return bool(self.verified_on and self.verified_on > self.due_on)
        return today > self.due_on
