"""The trust check of a rendered briefing: can every number in its text be vouched for?

Three checks over the rendered paragraphs (``briefing.Para``: plain text and the figures placed in it,
each with its indicator):

1. **Figures**: each placeholder's text is read back (``16762``, ``9.39%``, ``1.23亿元``) and compared with
   the catalogue value to the precision it was written with. A template filter that rounds, truncates
   or reformats a figure wrongly is caught here.
2. **Relations**: every total, part and share that the text touches is re-derived from the catalogue:
   the categories add up to the monitored households, at-risk + eliminated to the same, a part never
   exceeds its whole, each rate equals its numerator ÷ denominator (recomputed here, rounded half up),
   net income equals the components less the expense. A figure shown in the text takes its shown value.
3. **Numbers typed by hand**: a number followed by a unit (户, 人, %, 元, 万元, 亿元, 名) that no placeholder
   wrote: a county that types last month's figure into its template gets it listed, since nothing can
   vouch for it.

Findings of 1 and 2 are disagreements (不一致); of 3, unverifiable (无法核对). Either marks the briefing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from dixian.indicators import catalogue
from dixian.registry.choices import EliminationMode, MonitoringCategory, RiskType
from dixian.reports import formatting

DISAGREE, UNVERIFIED = "disagree", "unverified"
LEVEL_LABEL = {DISAGREE: "不一致", UNVERIFIED: "无法核对"}


@dataclass(frozen=True)
class Relation:
    """``sum``: target = Σ parts − Σ minus; ``at_most``: Σ parts ≤ target; ``share``: target =
    parts[0] ÷ parts[1] × scale, rounded as the catalogue rounds the target."""

    kind: str
    target: str
    parts: tuple[str, ...]
    minus: tuple[str, ...] = ()
    scale: int = 100

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.target, *self.parts, *self.minus)


def _relations() -> tuple[Relation, ...]:
    out: list[Relation] = []
    for unit in ("households", "persons"):
        cats = tuple(f"monitored.{c.value}.{unit}" for c in MonitoringCategory)
        out.append(Relation("sum", f"monitored.{unit}", cats))
        out.append(
            Relation("sum", f"monitored.{unit}", (f"monitored.open.{unit}", f"monitored.eliminated.{unit}"))
        )
        for r in RiskType:
            out.append(Relation("at_most", f"identified.{unit}", (f"identified.risk.{r.value}.{unit}",)))
            out.append(Relation("at_most", f"monitored.{unit}", (f"monitored.risk.{r.value}.{unit}",)))
        for c in MonitoringCategory:
            out.append(Relation("at_most", f"identified.{unit}", (f"identified.{c.value}.{unit}",)))
        modes = tuple(f"eliminated.{m.value}.{unit}" for m in EliminationMode)
        out.append(Relation("at_most", f"eliminated.{unit}", modes))
        out.append(Relation("at_most", f"lifted.{unit}", (f"income.lifted.{unit}",)))
        out.append(
            Relation(
                "share", f"elimination_rate.{unit}", (f"monitored.eliminated.{unit}", f"monitored.{unit}")
            )
        )
    out.append(Relation("share", "monitoring_ratio", ("monitored.persons", "lifted.persons")))
    components = ("wage", "business", "property", "transfer")
    out.append(
        Relation(
            "sum",
            "income.lifted.total",
            tuple(f"income.lifted.{c}.total" for c in components),
            minus=("income.lifted.expense.total",),
        )
    )
    out.append(
        Relation(
            "share", "income.lifted.per_capita", ("income.lifted.total", "income.lifted.persons"), scale=1
        )
    )
    for c in components:
        out.append(
            Relation(
                "share",
                f"income.lifted.{c}.per_capita",
                (f"income.lifted.{c}.total", "income.lifted.persons"),
                scale=1,
            )
        )
    # early warning: the four outcomes add up to the alerts raised; parts never exceed their whole
    out.append(
        Relation(
            "sum",
            "alerts.raised",
            ("alerts.included", "alerts.not_included", "alerts.already", "alerts.open"),
        )
    )
    out.append(Relation("at_most", "alerts.verified", ("alerts.on_time",)))
    out.append(Relation("at_most", "alerts.included", ("alerts.became_monitored",)))
    out.append(Relation("at_most", "alerts.open", ("alerts.overdue",)))
    out.append(Relation("share", "alerts.verification_rate", ("alerts.verified", "alerts.raised")))
    out.append(Relation("share", "alerts.on_time_rate", ("alerts.on_time", "alerts.raised")))
    return tuple(out)


RELATIONS = _relations()
assert all(code in catalogue.BY_CODE for r in RELATIONS for code in r.codes), "relation on an unknown code"

# A number with a unit, not part of a longer number.
HAND_TYPED = re.compile(r"(?<![\d.])(-?\d+(?:\.\d+)?)\s*(万元|亿元|户|人|%|％|元|名)")


@dataclass
class Finding:
    level: str  # DISAGREE / UNVERIFIED
    paragraph: int
    excerpt: str
    message: str

    @property
    def level_label(self) -> str:
        return LEVEL_LABEL[self.level]


@dataclass
class CheckResult:
    figures: int = 0  # placeholder figures read back and compared
    relations: int = 0  # totals, parts and shares re-derived
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def disagreements(self) -> list[Finding]:
        return [f for f in self.findings if f.level == DISAGREE]

    @property
    def unverified(self) -> list[Finding]:
        return [f for f in self.findings if f.level == UNVERIFIED]

    @property
    def status(self) -> str:
        if self.ok:
            return "一致"
        return "不一致" if self.disagreements else "有无法核对的数字"

    @property
    def summary(self) -> str:
        if self.ok:
            return (
                f"数字核对通过：正文 {self.figures} 个数字与指标目录一致，"
                f"{self.relations} 项合计、构成和比率关系已按指标目录复核。"
            )
        return f"数字核对未通过：{self.detail}"

    @property
    def detail(self) -> str:
        return (
            f"{len(self.disagreements)} 处与指标目录不一致，"
            f"{len(self.unverified)} 处数字无法核对（不是由占位符生成）。"
        )


def _excerpt(text: str, start: int, end: int, around: int = 14) -> str:
    a, b = max(0, start - around), min(len(text), end + around)
    return ("…" if a else "") + text[a:b].replace("\n", " ") + ("…" if b < len(text) else "")


def _display(code: str, value) -> str:
    if value is None:
        return formatting.NO_VALUE
    return formatting.figure_text(catalogue.get(code), value)


def _exact(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def check(paragraphs, values: dict) -> CheckResult:
    """Check rendered paragraphs (``briefing.Para``) against the catalogue ``values`` of the region."""
    result = CheckResult()
    shown: dict[str, tuple[Decimal, formatting.Shown, int]] = {}  # code → first shown value
    for p in paragraphs:
        for s in p.spans:
            result.figures += 1
            indicator = catalogue.BY_CODE.get(s.code)
            excerpt = _excerpt(p.text, s.start, s.end)
            if indicator is None:
                result.findings.append(Finding(DISAGREE, p.no, excerpt, f"“{s.text}”的占位符无法识别"))
                continue
            value = values.get(s.code)
            if s.text == formatting.NO_VALUE and value is None:
                continue
            got = formatting.parse(s.text)
            if got is None or not formatting.agrees(indicator, value, got):
                result.findings.append(
                    Finding(
                        DISAGREE,
                        p.no,
                        excerpt,
                        f"“{s.text}”（{indicator.name}）与指标目录的数值 {_display(s.code, value)} 不一致",
                    )
                )
                continue
            shown.setdefault(s.code, (got.value, got, p.no))
        _hand_typed(p, result)
    for relation in RELATIONS:
        if not any(code in shown for code in relation.codes):
            continue
        finding = _relation(relation, shown, values)
        if finding is None:
            continue
        result.relations += 1
        if finding is not True:
            result.findings.append(finding)
    result.findings.sort(key=lambda f: f.paragraph)
    return result


def _hand_typed(p, result: CheckResult) -> None:
    text = p.text
    covered = [(s.start, s.end) for s in p.spans]
    for m in HAND_TYPED.finditer(text):
        if any(a <= m.start() < b for a, b in covered):
            continue
        result.findings.append(
            Finding(
                UNVERIFIED,
                p.no,
                _excerpt(text, m.start(), m.end()),
                f"“{m.group(1)}{m.group(2)}”不是由占位符生成的，无法与指标目录核对（请改用占位符）",
            )
        )


def _relation(r: Relation, shown: dict, values: dict):
    """None when it cannot be evaluated (a value missing), True when it holds, a Finding otherwise.

    Parts, numerators and denominators take the catalogue's exact values (a figure shown in the text
    was already found equal to them, to the precision it was written with, and re-deriving from a
    rounded ``2.39亿元`` would be wrong); the target is compared as the text shows it, if it does."""

    def v(code: str) -> Decimal | None:
        return _exact(values.get(code))

    if any(v(c) is None for c in r.codes if r.kind != "share" or c != r.target):
        return None
    where = min((shown[c][2] for c in r.codes if c in shown), default=0)
    name = {c: catalogue.get(c).name for c in r.codes}
    indicator = catalogue.get(r.target)
    if r.kind == "share":
        numerator, denominator = v(r.parts[0]), v(r.parts[1])
        if denominator == 0:
            expected = None
        else:
            q = Decimal(1).scaleb(-indicator.decimals)
            expected = (numerator * r.scale / denominator).quantize(q, rounding=ROUND_HALF_UP)
    else:
        numerator = denominator = None
        expected = sum((v(c) for c in r.parts), Decimal(0)) - sum((v(c) for c in r.minus), Decimal(0))
    if r.target in shown:
        said = _display(r.target, shown[r.target][0])
        holds = expected is not None and formatting.agrees(indicator, expected, shown[r.target][1])
    else:
        current = v(r.target)
        said = _display(r.target, current)
        holds = expected == current
    if r.kind == "at_most":
        target = shown[r.target][0] if r.target in shown else v(r.target)
        holds = expected <= target
    if holds:
        return True
    terms = " + ".join(name[c] for c in r.parts) + "".join(f" − {name[c]}" for c in r.minus)
    numbers = " + ".join(_display(c, v(c)) for c in r.parts) + "".join(
        f" − {_display(c, v(c))}" for c in r.minus
    )
    if r.kind == "sum":
        return Finding(
            DISAGREE,
            where,
            f"{name[r.target]} {said}",
            f"合计与构成不符：{name[r.target]} 为 {said}，而 {terms} = {numbers} = {_display(r.target, expected)}",
        )
    if r.kind == "at_most":
        return Finding(
            DISAGREE,
            where,
            f"{name[r.target]} {said}",
            f"部分大于整体：{terms} {numbers} 大于 {name[r.target]} {said}",
        )
    times = " × 100" if r.scale == 100 else ""
    return Finding(
        DISAGREE,
        where,
        f"{name[r.target]} {said}",
        f"比率与分子分母不符：{name[r.target]} 为 {said}，而 {name[r.parts[0]]} ÷ {name[r.parts[1]]}{times}"
        f" = {_display(r.parts[0], numerator)} ÷ {_display(r.parts[1], denominator)}{times}"
        f" = {_display(r.target, expected)}",
    )


def mark(document, result: CheckResult) -> None:
    """Mark a python-docx document whose check found anything: a red notice at the top, the list of
    findings at the end."""
    from docx.shared import Pt, RGBColor

    def red(run):
        run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
        run.font.bold = True
        run.font.size = Pt(14)

    first = document.paragraphs[0] if document.paragraphs else document.add_paragraph()
    notice = first.insert_paragraph_before()
    red(notice.add_run(f"【数字核对未通过：{result.status}】{result.detail}详见文末“数字核对结果”。"))
    document.add_paragraph()
    heading = document.add_paragraph()
    red(heading.add_run("附：数字核对结果"))
    for n, f in enumerate(result.findings, start=1):
        p = document.add_paragraph()
        run = p.add_run(f"{n}. 【{f.level_label}】第{f.paragraph}段“{f.excerpt}”：{f.message}")
        run.font.size = Pt(12)
