"""The indicator catalogue: every figure shown anywhere (page, API, Excel, briefing, CLI) is declared
here once, with its definition in words, its unit and its rounding (rule 5).

``compute.py`` computes the figures; this module only says what they are. The definition text is
what users read next to each figure, so it is written for a county cadre, in Chinese, and states the
numerator, the denominator and the point in time or the period.

Terms used in the definitions:

* 统计区域: the region asked for; a household belongs to the county, township and village of its
  *current* registry row (``Household.county_code`` / ``township_code`` / ``village_code``).
* 统计日 / 统计月: the as-of date and its month (YYYYMM).
* 统计期: from the month of the start date to the as-of month, both inclusive.
* 监测期 as of the as-of date: a ``MonitoringCase`` with 识别监测时间 ≤ 统计月 whose status is not
  识别审核中 (reviewing) or 未纳入 (rejected); a household with several counts once, by its latest.
* 风险已消除 as of the as-of date: that spell's status is 风险已消除 and 消除监测时间 ≤ 统计月;
  otherwise (风险未消除, 风险消除审核中, or eliminated after the as-of month) it is 风险未消除.
* 人数: the household's members now active in the registry (``Person.active``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dixian.registry.choices import EliminationMode, MonitoringCategory, RiskType

# Groups, in display order.
GROUP_LIFTED = "脱贫人口"
GROUP_MONITORED = "监测对象"
GROUP_FLOWS = "识别与消除"
GROUP_RATIOS = "比率"
GROUP_INCOME = "收入"
GROUP_ALERTS = "部门筛查预警"
GROUPS = (GROUP_LIFTED, GROUP_MONITORED, GROUP_FLOWS, GROUP_RATIOS, GROUP_INCOME, GROUP_ALERTS)

COUNT, PERCENT, YUAN = "count", "percent", "yuan"
_UNIT_OF_KIND = {PERCENT: "%", YUAN: "元"}
_DECIMALS = {COUNT: 0, PERCENT: 2, YUAN: 2}


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    group: str
    kind: str  # count / percent / yuan
    unit: str  # 户, 人, %, 元
    definition: str
    primary: bool = False  # the variant a county reports by default (e.g. the person-based rate)

    @property
    def decimals(self) -> int:
        return _DECIMALS[self.kind]

    @property
    def rounding(self) -> str:
        if self.decimals == 0:
            return "整数"
        return f"保留 {self.decimals} 位小数（四舍五入）"

    def round(self, value: Decimal | int | None) -> int | float | None:
        """The published value: an int for counts, a float rounded half up for % and yuan."""
        if value is None:
            return None
        if self.kind == COUNT:
            return int(value)
        q = Decimal(1).scaleb(-self.decimals)
        return float(Decimal(value).quantize(q, rounding=ROUND_HALF_UP))

    def display(self, value: int | float | None) -> str:
        """The value as a page shows it: ``12,345``, ``45.04``, ``—`` for no value."""
        if value is None:
            return "—"
        if self.kind == COUNT:
            return f"{int(value):,}"
        return f"{value:,.{self.decimals}f}"


# -- the wording shared by several definitions ------------------------------------------------------

_REGION = "统计区域内（按户籍台账中户当前所在的县、乡镇、村区划代码归属）"
_CURRENT = "户籍台账当前数据，不随统计日变化"
_SPELL = (
    "监测期口径：识别监测时间不晚于统计日所在月、状态不是“识别审核中”或“未纳入”的监测期；"
    "同一户有多个这样的监测期时只取识别监测时间最晚的一个（同月取最后录入的），每户计一次"
)
_ELIMINATED = "该监测期状态为“风险已消除”且消除监测时间不晚于统计日所在月"
_PERSONS = "人数为这些户在户籍台账中当前在册的成员人数"
_WINDOW = "统计期为起始日所在月至统计日所在月（含两端）"
_NOT_VALID = "不含“识别审核中”“未纳入”的监测期"

_CATEGORY_NOTE = {
    MonitoringCategory.UNSTABLE_LIFTED: "（只有脱贫户）",
    MonitoringCategory.MARGINAL: "（只有一般农户）",
    MonitoringCategory.SUDDEN_HARDSHIP: "（脱贫户、一般农户均可能）",
}


def _declare() -> list[Indicator]:
    out: list[Indicator] = []

    def add(code, name, group, unit, definition, kind=COUNT, primary=False):
        out.append(Indicator(code, name, group, kind, unit, definition, primary))

    def pair(code, name_hh, name_p, group, definition_hh, definition_p):
        add(f"{code}.households", name_hh, group, "户", definition_hh)
        add(f"{code}.persons", name_p, group, "人", definition_p)

    # 脱贫人口 ------------------------------------------------------------------------------------
    pair(
        "lifted",
        "脱贫户户数",
        "脱贫人口",
        GROUP_LIFTED,
        f"{_REGION}户类型为“脱贫户”的户数。{_CURRENT}。",
        f"{_REGION}脱贫户的在册成员人数（成员“在册”为是）。{_CURRENT}。",
    )

    # 监测对象（截至统计日的存量）-------------------------------------------------------------------
    pair(
        "monitored",
        "监测对象户数",
        "监测对象人数",
        GROUP_MONITORED,
        f"截至统计日已纳入监测的户数（含风险已消除的），{_REGION}。{_SPELL}。",
        f"截至统计日已纳入监测的户（口径同监测对象户数）的人数；{_PERSONS}。",
    )
    for category in MonitoringCategory:
        note = _CATEGORY_NOTE[category]
        pair(
            f"monitored.{category.value}",
            f"{category.label}户数",
            f"{category.label}人数",
            GROUP_MONITORED,
            f"截至统计日已纳入监测、且所取监测期的监测对象类别为“{category.label}”{note}的户数"
            f"（含风险已消除的）。{_SPELL}。",
            f"上述{category.label}的人数；{_PERSONS}。",
        )
    pair(
        "monitored.open",
        "风险未消除户数",
        "风险未消除人数",
        GROUP_MONITORED,
        "截至统计日已纳入监测、且所取监测期截至统计日风险未消除的户数：状态为“风险未消除”"
        "或“风险消除审核中”，或虽已消除但消除监测时间晚于统计日所在月。"
        f"{_SPELL}。",
        f"上述风险未消除户的人数；{_PERSONS}。",
    )
    pair(
        "monitored.eliminated",
        "风险已消除户数",
        "风险已消除人数",
        GROUP_MONITORED,
        f"截至统计日已纳入监测、且所取监测期截至统计日风险已消除的户数：{_ELIMINATED}。{_SPELL}。",
        f"上述风险已消除户的人数；{_PERSONS}。",
    )

    # 识别与消除（统计期内的流量）--------------------------------------------------------------------
    pair(
        "identified",
        "新识别监测对象户数",
        "新识别监测对象人数",
        GROUP_FLOWS,
        f"统计期内新识别的监测对象户数：识别监测时间在统计期内的监测期所属的户，{_NOT_VALID}；"
        f"一户在统计期内有多个监测期时计一次。{_WINDOW}；{_REGION}。",
        f"上述新识别户的人数；{_PERSONS}。",
    )
    for risk in RiskType:
        pair(
            f"identified.risk.{risk.value}",
            f"新识别户数（{risk.label}）",
            f"新识别人数（{risk.label}）",
            GROUP_FLOWS,
            f"统计期内新识别的监测期中，致贫/返贫风险含“{risk.label}”的户数。一个监测期有几项风险就"
            f"分别计入几项，故各风险户数之和可大于新识别户数。{_WINDOW}。",
            f"上述新识别且风险含“{risk.label}”的户的人数；{_PERSONS}。",
        )
    pair(
        "eliminated",
        "风险消除户数",
        "风险消除人数",
        GROUP_FLOWS,
        "统计期内消除风险的户数：状态为“风险已消除”、消除监测时间在统计期内的监测期所属的户；"
        f"一户计一次。{_WINDOW}；{_REGION}。",
        f"上述统计期内消除风险的户的人数；{_PERSONS}。",
    )

    # 比率 ----------------------------------------------------------------------------------------
    add(
        "monitoring_ratio",
        "监测人口占脱贫人口比例",
        GROUP_RATIOS,
        "%",
        "监测对象人数（截至统计日，含一般农户中的监测对象）÷ 脱贫人口（户籍台账当前）× 100。"
        "分母为 0 时无数值。",
        kind=PERCENT,
    )
    add(
        "elimination_rate.households",
        "风险消除率（按户）",
        GROUP_RATIOS,
        "%",
        "截至统计日风险已消除的户数 ÷ 截至统计日已纳入监测的户数 × 100。分母为累计存量：统计日前"
        "纳入过监测的所有户（每户取最近一个监测期），不只是当年新识别的。分母为 0 时无数值。",
        kind=PERCENT,
    )
    add(
        "elimination_rate.persons",
        "风险消除率（按人）",
        GROUP_RATIOS,
        "%",
        "截至统计日风险已消除的监测对象人数 ÷ 截至统计日已纳入监测的人数 × 100。分母为累计存量"
        "（同按户口径），人数为当前在册成员。县级通报默认使用此口径（如“968名监测对象中436人已消除"
        "风险，风险消除率45%”）。分母为 0 时无数值。",
        kind=PERCENT,
        primary=True,
    )

    # 收入 ----------------------------------------------------------------------------------------
    _income_base = (
        f"{_REGION}有收入数据（工资性、生产经营性、财产性、转移性收入和生产经营性支出至少填了一项）"
        "且在册人数大于 0 的脱贫户"
    )
    add(
        "income.lifted.per_capita",
        "脱贫户人均纯收入",
        GROUP_INCOME,
        "元",
        f"{_income_base}：Σ(工资性收入 + 生产经营性收入 + 财产性收入 + 转移性收入 − 生产经营性支出)"
        f" ÷ Σ户在册人数；空项按 0 计。{_CURRENT}。",
        kind=YUAN,
    )
    for column, label in (
        ("wage", "工资性收入"),
        ("business", "生产经营性收入"),
        ("property", "财产性收入"),
        ("transfer", "转移性收入"),
    ):
        extra = "（未扣除生产经营性支出，故四项之和大于人均纯收入）" if column == "business" else ""
        add(
            f"income.lifted.{column}.per_capita",
            f"脱贫户人均{label}",
            GROUP_INCOME,
            "元",
            f"与脱贫户人均纯收入同一批户：Σ{label}{extra} ÷ Σ户在册人数；空项按 0 计。{_CURRENT}。",
            kind=YUAN,
        )

    # 部门筛查预警（统计期内发出的预警及其核实）------------------------------------------------------
    _alerts = (
        "统计期内发出的预警（预警日期在起始日至统计日之间，含两端），按预警所在的县、乡镇、村归属；"
        "尚未分派到村的未在册人员预警只计入县"
    )
    alert_counts = (
        ("alerts.raised", "发出预警条数", f"{_alerts}的条数。"),
        (
            "alerts.verified",
            "已核实预警条数",
            f"{_alerts}中，截至统计日已核实办结（纳入、不纳入或已在监测/已帮扶）的条数。",
        ),
        (
            "alerts.on_time",
            "按期核实预警条数",
            f"{_alerts}中，截至统计日已核实、且核实日期不晚于核实期限的条数。",
        ),
        (
            "alerts.overdue",
            "逾期未核实预警条数",
            f"{_alerts}中，截至统计日仍未核实、且核实期限早于统计日的条数。",
        ),
        (
            "alerts.included",
            "核实后纳入预警条数",
            f"{_alerts}中，截至统计日核实结论为“纳入”（已转为风险线索）的条数。",
        ),
        (
            "alerts.became_monitored",
            "预警转为监测对象条数",
            f"{_alerts}中，核实纳入后所形成的线索截至统计日已审定为监测对象（识别监测时间不晚于统计日所在月，"
            "状态不是“识别审核中”或“未纳入”）的条数。",
        ),
        (
            "alerts.not_included",
            "核实后不纳入预警条数",
            f"{_alerts}中，截至统计日核实结论为“不纳入”（写明理由）的条数。",
        ),
        (
            "alerts.already",
            "核实为已在监测或已帮扶预警条数",
            f"{_alerts}中，截至统计日核实结论为“已在监测/已帮扶”的条数。",
        ),
        (
            "alerts.open",
            "尚未核实预警条数",
            f"{_alerts}中，截至统计日尚未核实办结的条数（含逾期的）。纳入、不纳入、已在监测/已帮扶与尚未核实"
            "四项之和等于发出预警条数。",
        ),
    )
    for code, name, definition in alert_counts:
        add(code, name, GROUP_ALERTS, "条", definition)
    from dixian.screening.feeds import SPECS as _FEEDS
    from dixian.screening.feeds import FeedType as _FeedType

    for feed in _FeedType:
        add(
            f"alerts.raised.{feed.value}",
            f"发出预警条数（{_FEEDS[feed.value].department}{feed.label}）",
            GROUP_ALERTS,
            "条",
            f"{_alerts}中，由{_FEEDS[feed.value].department}的{feed.label}数据的规则发出的条数。",
        )
    add(
        "alerts.closed",
        "统计期内办结预警条数",
        GROUP_ALERTS,
        "条",
        "核实日期在统计期内（起始日至统计日，含两端）、已核实办结（纳入、不纳入或已在监测/已帮扶）的预警条数，"
        "不论预警在何时发出；按预警所在的县、乡镇、村归属。驾驶舱的“预警办结”月度走势即此数。",
    )
    add(
        "alerts.verification_rate",
        "预警核实率",
        GROUP_ALERTS,
        "%",
        "已核实预警条数 ÷ 发出预警条数 × 100（同一统计期）。分母为 0 时无数值。",
        kind=PERCENT,
    )
    add(
        "alerts.on_time_rate",
        "预警按期核实率",
        GROUP_ALERTS,
        "%",
        "按期核实预警条数 ÷ 发出预警条数 × 100（同一统计期）。分母为 0 时无数值。",
        kind=PERCENT,
    )
    _declare_for_tables(add, pair, _income_base)
    return out


def _declare_for_tables(add, pair, income_base: str) -> None:
    """The breakdowns the statistical tables (reports) need: the monitored stock by risk, the flows by
    category and by elimination mode, and the income sums behind the per-capita figures (so that a
    table's total row is the sum of its rows)."""
    for risk in RiskType:
        pair(
            f"monitored.risk.{risk.value}",
            f"监测对象户数（{risk.label}）",
            f"监测对象人数（{risk.label}）",
            GROUP_MONITORED,
            f"截至统计日已纳入监测、且所取监测期的致贫/返贫风险含“{risk.label}”的户数（含风险已消除的）。"
            f"一个监测期有几项风险就分别计入几项，故各风险户数之和可大于监测对象户数。{_SPELL}。",
            f"上述风险含“{risk.label}”的监测对象户的人数；{_PERSONS}。",
        )
    for category in MonitoringCategory:
        pair(
            f"identified.{category.value}",
            f"新识别{category.label}户数",
            f"新识别{category.label}人数",
            GROUP_FLOWS,
            f"统计期内新识别的监测期中，监测对象类别为“{category.label}”的户数，{_NOT_VALID}；一户在统计期内"
            f"有多个不同类别的监测期时分别计入各类别。{_WINDOW}；{_REGION}。",
            f"上述新识别{category.label}的人数；{_PERSONS}。",
        )
    for mode in EliminationMode:
        pair(
            f"eliminated.{mode.value}",
            f"{mode.label}户数",
            f"{mode.label}人数",
            GROUP_FLOWS,
            f"统计期内消除风险的监测期中，风险消除方式为“{mode.label}”的户数（口径同风险消除户数；"
            f"未填消除方式的不计入任何一种方式）。{_WINDOW}；{_REGION}。",
            f"上述{mode.label}户的人数；{_PERSONS}。",
        )
    add(
        "income.lifted.households",
        "有收入数据的脱贫户户数",
        GROUP_INCOME,
        "户",
        f"{income_base}的户数，即脱贫户人均纯收入等收入指标所依据的户。{_CURRENT}。",
    )
    add(
        "income.lifted.persons",
        "有收入数据的脱贫人口",
        GROUP_INCOME,
        "人",
        f"上述有收入数据的脱贫户的在册人数之和（户“在册人数”），即人均收入的分母。{_CURRENT}。",
    )
    for column, label in (
        ("wage", "工资性收入"),
        ("business", "生产经营性收入"),
        ("property", "财产性收入"),
        ("transfer", "转移性收入"),
        ("expense", "生产经营性支出"),
    ):
        add(
            f"income.lifted.{column}.total",
            f"脱贫户{label}总额",
            GROUP_INCOME,
            "元",
            f"与脱贫户人均纯收入同一批户：Σ{label}；空项按 0 计。{_CURRENT}。",
            kind=YUAN,
        )
    add(
        "income.lifted.total",
        "脱贫户纯收入总额",
        GROUP_INCOME,
        "元",
        f"与脱贫户人均纯收入同一批户：Σ(工资性收入 + 生产经营性收入 + 财产性收入 + 转移性收入 − "
        f"生产经营性支出)；空项按 0 计。{_CURRENT}。",
        kind=YUAN,
    )


CATALOGUE: tuple[Indicator, ...] = tuple(_declare())
BY_CODE: dict[str, Indicator] = {i.code: i for i in CATALOGUE}
CODES: tuple[str, ...] = tuple(BY_CODE)
assert len(BY_CODE) == len(CATALOGUE), "duplicate indicator code"
assert all(i.unit == _UNIT_OF_KIND.get(i.kind, i.unit) for i in CATALOGUE)

# The counts shown per township / village on the figures page.
MAIN_CODES: tuple[str, ...] = (
    "lifted.households",
    "lifted.persons",
    "monitored.households",
    "monitored.persons",
    "monitored.open.households",
    "monitored.eliminated.households",
    "identified.households",
    "eliminated.households",
    "monitoring_ratio",
    "elimination_rate.persons",
)


def get(code: str) -> Indicator:
    return BY_CODE[code]


def by_group() -> list[tuple[str, list[Indicator]]]:
    return [(g, [i for i in CATALOGUE if i.group == g]) for g in GROUPS]
