"""Statistical tables in the layouts county offices use, declared as lists of catalogue columns.

A table is data, not code: a title, and columns grouped under merged top headers, each column one
indicator of the catalogue (rule 5). ``build`` computes them for a region and its parts (townships of a
county, villages of a township) from one grouped query per family, and ``write_workbook`` lays them out:

    title
    统计范围 / 日期 …                                                单位：户、人
    序号 | 乡镇 | 监测对象      | 脱贫不稳定户  | …        (merged top header)
         |      | 户数 | 人数   | 户数 | 人数   | …        (second level)
         | 合计 | …                                         (the region's own figures)
    1    | 乐平镇 | …
    注：…

The total row holds the region's figures from the catalogue; for counts and sums they equal the sum
of the rows (each household lies in exactly one part), for rates and per-capita figures they are
computed from the region's own numerator and denominator.

To add a table: append a ``Table`` to ``TABLES`` (its indicators must be in the catalogue). The table of
alerts by department and outcome waits for the early-warning ``Alert`` model: its indicators
(``alerts.<department>.<outcome>``) go into the catalogue and ``compute``, then a ``Table`` here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import xlsxwriter

from dixian.indicators import catalogue
from dixian.indicators.catalogue import COUNT, PERCENT, YUAN, Indicator
from dixian.indicators.compute import CHILD_LEVEL, compute_with_breakdown
from dixian.regions import selectors as regions
from dixian.registry.choices import EliminationMode, MonitoringCategory, RiskType


@dataclass(frozen=True)
class Column:
    code: str  # an indicator of the catalogue
    label: str = ""  # second-level header; default 户数 / 人数 / the indicator's name

    @property
    def indicator(self) -> Indicator:
        return catalogue.get(self.code)

    @property
    def header(self) -> str:
        if self.label:
            return self.label
        i = self.indicator
        if i.kind == COUNT:
            return {"户": "户数", "人": "人数", "条": "条数"}.get(i.unit, i.name)
        return i.name

    @property
    def additive(self) -> bool:
        """Counts and sums add up over the parts; rates and per-capita figures do not."""
        i = self.indicator
        return i.kind == COUNT or (i.kind == YUAN and i.code.endswith(".total"))


@dataclass(frozen=True)
class Group:
    title: str  # merged top header
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Table:
    key: str
    sheet: str
    title: str  # after the region's name: "昔阳县" + title
    groups: tuple[Group, ...]
    flow: bool = False  # has figures of the period (统计期), not only as of the date
    notes: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> list[Column]:
        return [c for g in self.groups for c in g.columns]

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.columns]

    @property
    def units(self) -> str:
        seen: list[str] = []
        for c in self.columns:
            if c.indicator.unit not in seen:
                seen.append(c.indicator.unit)
        return "、".join(seen)


def _pair(title: str, code: str) -> Group:
    return Group(title, (Column(f"{code}.households"), Column(f"{code}.persons")))


def _one(title: str, code: str) -> Group:
    """A group of a single column: the header is merged over both levels."""
    return Group(title, (Column(code, title),))


TABLES: tuple[Table, ...] = (
    Table(
        key="monitored",
        sheet="监测对象",
        title="防止返贫致贫监测对象情况统计表（按类别和风险）",
        groups=(
            _pair("监测对象", "monitored"),
            *(_pair(c.label, f"monitored.{c.value}") for c in MonitoringCategory),
            _pair("风险未消除", "monitored.open"),
            _pair("风险已消除", "monitored.eliminated"),
            Group(
                "致贫/返贫风险（户数）",
                tuple(Column(f"monitored.risk.{r.value}.households", r.label) for r in RiskType),
            ),
            _one("风险消除率（按人，%）", "elimination_rate.persons"),
        ),
        notes=(
            "监测对象为截至统计日已纳入监测的户（含风险已消除的），每户按其最近一个监测期计一次。",
            "一户有几项致贫/返贫风险就分别计入几项，各风险户数之和可大于监测对象户数。",
        ),
    ),
    Table(
        key="flows",
        sheet="识别与消除",
        title="防止返贫致贫监测对象识别和风险消除情况统计表",
        flow=True,
        groups=(
            _pair("新识别监测对象", "identified"),
            Group(
                "其中：按类别（户数）",
                tuple(Column(f"identified.{c.value}.households", c.label) for c in MonitoringCategory),
            ),
            _pair("其中：因灾", "identified.risk.disaster"),
            _pair("风险消除", "eliminated"),
            Group(
                "其中：按消除方式（户数）",
                tuple(Column(f"eliminated.{m.value}.households", m.label) for m in EliminationMode),
            ),
        ),
        notes=(
            "新识别、风险消除为统计期内（起始日所在月至统计日所在月）的户数，一户计一次。",
            "一户在统计期内有多个不同类别的监测期时分别计入各类别；未填消除方式的不计入任何一种方式。",
        ),
    ),
    Table(
        key="income",
        sheet="脱贫人口收入",
        title="脱贫人口收入情况统计表（按收入构成）",
        groups=(
            _pair("脱贫户", "lifted"),
            Group(
                "有收入数据的脱贫户",
                (Column("income.lifted.households"), Column("income.lifted.persons")),
            ),
            Group(
                "收入总额（元）",
                (
                    Column("income.lifted.wage.total", "工资性收入"),
                    Column("income.lifted.business.total", "生产经营性收入"),
                    Column("income.lifted.property.total", "财产性收入"),
                    Column("income.lifted.transfer.total", "转移性收入"),
                    Column("income.lifted.expense.total", "生产经营性支出"),
                    Column("income.lifted.total", "纯收入"),
                ),
            ),
            Group(
                "人均（元）",
                (
                    Column("income.lifted.per_capita", "人均纯收入"),
                    Column("income.lifted.wage.per_capita", "工资性收入"),
                    Column("income.lifted.business.per_capita", "生产经营性收入"),
                    Column("income.lifted.property.per_capita", "财产性收入"),
                    Column("income.lifted.transfer.per_capita", "转移性收入"),
                ),
            ),
        ),
        notes=(
            "收入为户籍台账当前数据；纯收入 = 工资性 + 生产经营性 + 财产性 + 转移性收入 − 生产经营性支出。",
            "人均数 = 收入总额 ÷ 有收入数据的脱贫户在册人数。",
        ),
    ),
)


def _alerts_table() -> Table:
    from dixian.screening.feeds import SPECS, FeedType

    return Table(
        key="alerts",
        sheet="部门筛查预警",
        title="部门筛查预警核实情况统计表（按部门和核实结论）",
        flow=True,
        groups=(
            _one("发出预警", "alerts.raised"),
            Group(
                "其中：按部门",
                tuple(Column(f"alerts.raised.{f.value}", SPECS[f.value].department) for f in FeedType),
            ),
            Group(
                "核实结论",
                (
                    Column("alerts.included", "纳入"),
                    Column("alerts.not_included", "不纳入"),
                    Column("alerts.already", "已在监测/已帮扶"),
                    Column("alerts.open", "尚未核实"),
                ),
            ),
            Group(
                "其中",
                (
                    Column("alerts.on_time", "按期核实"),
                    Column("alerts.overdue", "逾期未核实"),
                    Column("alerts.became_monitored", "转为监测对象"),
                ),
            ),
            _one("核实率（%）", "alerts.verification_rate"),
            _one("按期核实率（%）", "alerts.on_time_rate"),
        ),
        notes=(
            "统计期内发出的预警（预警日期在起始日至统计日之间），核实情况截至统计日；"
            "纳入、不纳入、已在监测/已帮扶、尚未核实四项之和等于发出预警条数。",
            "尚未分派到村的未在册人员预警列在“（未分到乡镇）”一行，合计仍等于各行之和。",
        ),
    )


TABLES = (*TABLES, _alerts_table())
BY_KEY = {t.key: t for t in TABLES}


@dataclass
class Built:
    """The figures of every table: the region's (total row) and one row per part."""

    region_code: str
    region_name: str
    part_level: str  # 乡镇 / 村（社区） / 县（市、区）
    as_of: date
    since: date
    total: dict
    rows: list[tuple[str, str, dict]]  # (code, name, values)
    tables: tuple[Table, ...]


def build(*, region_code: str, as_of: date, since: date, tables: Iterable[Table] = TABLES) -> Built:
    """Compute every table's columns for a region and its parts (one grouped query per family).
    No user here: callers check the region scope first (``indicators.selectors.region_for``)."""
    from dixian.indicators.selectors import parts_of

    tables = tuple(tables)
    codes = list(dict.fromkeys(code for t in tables for code in t.codes))
    level = CHILD_LEVEL.get(regions.code_level(region_code))
    parts = list(parts_of(region_code, level)) if level else []
    total, values = compute_with_breakdown(
        codes, region_code=region_code, as_of=as_of, since=since, parts=[p.code for p in parts]
    )
    names = {p.code: p.label for p in parts}
    missing = [c for c in values if c not in names]
    if missing:
        names.update(regions.names_for(missing))
    info = regions.region_info(region_code)
    return Built(
        region_code=region_code,
        region_name=info.label if info else region_code,
        part_level={"township": "乡镇", "village": "村（社区）"}.get(level or "", "县（市、区）"),
        as_of=as_of,
        since=since,
        total=total,
        rows=[(code, names.get(code) or code or "（未分到乡镇）", row) for code, row in values.items()],
        tables=tables,
    )


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _cn_month(day: date) -> str:
    return f"{day.year}年{day.month}月"


def period_text(since: date, as_of: date) -> str:
    if (since.year, since.month) == (as_of.year, as_of.month):
        return _cn_month(as_of)
    if since.year == as_of.year:
        return f"{since.year}年{since.month}月至{as_of.month}月"
    return f"{_cn_month(since)}至{_cn_month(as_of)}"


def write_workbook(built: Built, out: Path) -> Path:
    """The tables as one workbook, a sheet each, and a sheet with every column's definition."""
    wb = xlsxwriter.Workbook(str(out))
    wb.set_properties(
        {"title": f"{built.region_name}统计报表", "author": "底线", "comments": "由底线按指标目录生成"}
    )
    base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
    fmt = {
        "title": wb.add_format({**base, "bold": True, "font_size": 16, "align": "center"}),
        "info": wb.add_format({**base, "align": "left"}),
        "unit": wb.add_format({**base, "align": "right"}),
        "head": wb.add_format(
            {**base, "bold": True, "align": "center", "text_wrap": True, "border": 1, "bg_color": "#F2F2F2"}
        ),
        "name": wb.add_format({**base, "border": 1}),
        "name_total": wb.add_format({**base, "border": 1, "bold": True, "align": "center"}),
        "seq": wb.add_format({**base, "border": 1, "align": "center"}),
        "note": wb.add_format({**base, "font_size": 9, "text_wrap": True, "valign": "top"}),
    }
    number_fmt = {COUNT: "0", PERCENT: "0.00", YUAN: "0.00"}
    cell = {}
    for kind, num in number_fmt.items():
        cell[kind] = wb.add_format({**base, "border": 1, "num_format": num})
        cell[(kind, "total")] = wb.add_format({**base, "border": 1, "num_format": num, "bold": True})
    for table in built.tables:
        _sheet(wb, table, built, fmt, cell)
    _definitions(wb, built, fmt)
    wb.close()
    return out


def _sheet(wb, table: Table, built: Built, fmt: dict, cell: dict) -> None:
    ws = wb.add_worksheet(table.sheet)
    columns = table.columns
    last = 1 + len(columns)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, 3)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 14)
    for n, c in enumerate(columns):
        wide = c.indicator.kind == YUAN and c.code.endswith(".total")
        ws.set_column(2 + n, 2 + n, 13 if wide else 7 if c.code.startswith("monitored.risk.") else 8)
    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, last, f"{built.region_name}{table.title}", fmt["title"])
    when = f"截至{_cn_date(built.as_of)}"
    if table.flow:
        when = f"统计期：{period_text(built.since, built.as_of)}（{when}）"
    split = max(1, last - 3)
    ws.merge_range(1, 0, 1, split, f"统计范围：{built.region_name}　　{when}", fmt["info"])
    ws.merge_range(1, split + 1, 1, last, f"单位：{table.units}", fmt["unit"])
    # Two header rows: 序号 and the part level merged down; each group merged across.
    ws.merge_range(2, 0, 3, 0, "序号", fmt["head"])
    ws.merge_range(2, 1, 3, 1, built.part_level if built.rows else "区域", fmt["head"])
    col = 2
    for group in table.groups:
        width = len(group.columns)
        if width == 1 and group.columns[0].header == group.title:
            ws.merge_range(2, col, 3, col, group.title, fmt["head"])
        else:
            if width == 1:
                ws.write(2, col, group.title, fmt["head"])
            else:
                ws.merge_range(2, col, 2, col + width - 1, group.title, fmt["head"])
            for n, c in enumerate(group.columns):
                ws.write(3, col + n, c.header, fmt["head"])
        col += width
    ws.set_row(2, 30)
    ws.set_row(3, 42)

    def values_row(r: int, values: dict, total: bool) -> None:
        for n, c in enumerate(columns):
            v = values.get(c.code)
            f = cell[(c.indicator.kind, "total")] if total else cell[c.indicator.kind]
            if v is None:
                ws.write_string(r, 2 + n, "—", f)
            else:
                ws.write_number(r, 2 + n, v, f)

    row = 4
    ws.write(row, 0, "", fmt["seq"])
    ws.write(row, 1, "合计", fmt["name_total"])
    values_row(row, built.total, True)
    for n, (_code, name, values) in enumerate(built.rows, start=1):
        row += 1
        ws.write_number(row, 0, n, fmt["seq"])
        ws.write(row, 1, name, fmt["name"])
        values_row(row, values, False)
    ws.freeze_panes(4, 2)
    notes = [
        "数据来源：底线系统户籍台账和监测对象数据，按指标目录计算，各列口径见“指标口径”工作表。",
        *table.notes,
    ]
    if any(not c.additive for c in columns):
        notes.append("合计行的比率和人均数按合计的分子、分母计算，不是各行之和或平均。")
    row += 2
    for n, text in enumerate(notes, start=1):
        ws.merge_range(row, 0, row, last, f"{'注：' if n == 1 else '　　'}{n}. {text}", fmt["note"])
        ws.set_row(row, 26)
        row += 1


def _definitions(wb, built: Built, fmt: dict) -> None:
    ws = wb.add_worksheet("指标口径")
    heads = ("表", "列", "指标代码", "指标名称", "单位", "取整", "口径")
    for n, h in enumerate(heads):
        ws.write(0, n, h, fmt["head"])
    wrap = wb.add_format(
        {"font_name": "宋体", "font_size": 9, "text_wrap": True, "valign": "top", "border": 1}
    )
    r = 0
    for table in built.tables:
        for group in table.groups:
            for c in group.columns:
                r += 1
                i = c.indicator
                label = c.header if c.header == group.title else f"{group.title} / {c.header}"
                for n, text in enumerate(
                    (table.sheet, label, i.code, i.name, i.unit, i.rounding, i.definition)
                ):
                    ws.write_string(r, n, text, wrap)
    for n, width in enumerate((12, 26, 30, 24, 6, 18, 90)):
        ws.set_column(n, n, width)
    ws.freeze_panes(1, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
