"""The work briefing (工作信息): a .docx rendered from a template with placeholders, its HTML preview,
and the trust check of every figure in it.

How it works (see docs/decisions/0009-briefing-templates.md):

1. The figures: the whole catalogue for the region, as of the date, with the period's flows, and the
   parts' figures for the chart (``compute_with_breakdown``: one grouped query per family).
2. The template: the county's own .docx (``DATA_DIR/templates/briefing.docx``) or the built-in one,
   which ``default_template`` writes from ``SECTIONS``. Placeholders are Jinja (docxtpl): every catalogue
   indicator is ``{{ code_with_underscores }}`` (``{{ monitored_households }}``), plus a few texts
   (``{{ region_name }}``, ``{{ period_text }}`` …) and charts (``{{ chart_monitoring }}``).
3. Rendering: each figure placeholder writes its value wrapped in invisible markers that carry its
   indicator; after rendering, the markers are taken out of the document and remembered as
   (paragraph, position, indicator, text). The saved document has no marker left.
4. The trust check (``dixian.reports.trust``) reads the figures back out of the rendered text next to
   their indicator, re-derives totals, parts and shares from the catalogue, and lists numbers typed into
   the template by hand (which nothing can vouch for). A briefing with a finding is marked at its top
   and gets the list at its end; the preview page shows the same.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from datetime import date
from functools import total_ordering
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from dixian.core.errors import ValidationError
from dixian.indicators import catalogue
from dixian.indicators.compute import CHILD_LEVEL, compute_with_breakdown
from dixian.regions import selectors as regions
from dixian.reports import charts, formatting
from dixian.reports.tables import period_text

# Invisible markers around each figure while the document is being rendered (Unicode private use).
START, MID, END = "\ue000", "\ue001", "\ue002"
_MARKED = re.compile(f"{START}(\\d+){MID}([^{START}{MID}{END}]*){END}")
_STRAY = re.compile(f"[{START}{MID}{END}]")

CN_NUMBERS = "一二三四五六七八九十"


def placeholder(code: str) -> str:
    """The Jinja name of an indicator: ``monitored.open.households`` → ``monitored_open_households``."""
    return code.replace(".", "_")


# -- figures in the template context ---------------------------------------------------------------


@total_ordering
class Figure:
    """One catalogue value in the template. ``{{ x }}`` writes it as a county report does (see
    ``formatting``) and marks it for the trust check; ``x.value`` is the bare number, for conditions and
    arithmetic (whose results are not catalogue figures, so the check lists them as unverified);
    ``x.wan`` / ``x.yi`` force 万元 / 亿元 for money."""

    def __init__(self, code: str, value, book: list):
        self.code = code
        self.value = value
        self._book = book

    def _mark(self, text: str) -> str:
        self._book.append(self.code)
        return f"{START}{len(self._book) - 1}{MID}{text}{END}"

    def __str__(self) -> str:
        return self._mark(formatting.figure_text(catalogue.get(self.code), self.value))

    def __html__(self) -> str:  # Jinja autoescape: the text is plain digits and units
        return str(self)

    @property
    def wan(self) -> str:
        return self._mark(formatting.money(self.value, "万元"))

    @property
    def yi(self) -> str:
        return self._mark(formatting.money(self.value, "亿元"))

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other) -> bool:
        return self.value == (other.value if isinstance(other, Figure) else other)

    def __lt__(self, other) -> bool:
        return (self.value or 0) < ((other.value if isinstance(other, Figure) else other) or 0)

    def __hash__(self) -> int:
        return hash((self.code, self.value))


# -- sections ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A numbered section of the built-in template: its heading and its sentences (Jinja with the
    placeholders of the catalogue). ``chart``: a chart placeholder shown after the sentences, with its
    caption. A section that is not ``ready`` is left out of the built-in template and its key is false
    in ``sections`` (``{%p if sections.alerts %}`` in a county template)."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    chart: tuple[str, str] | None = None
    ready: bool = True


MONITORING = Section(
    key="monitoring",
    title="防返贫动态监测",
    paragraphs=(
        "{{ period_text }}，{{ region_name }}新识别监测对象{{ identified_households }}户"
        "{{ identified_persons }}人，其中因灾{{ identified_risk_disaster_households }}户"
        "{{ identified_risk_disaster_persons }}人；风险消除{{ eliminated_households }}户"
        "{{ eliminated_persons }}人。",
        "截至{{ as_of_text }}，{{ region_name }}共有脱贫户{{ lifted_households }}户{{ lifted_persons }}人；"
        "累计纳入监测对象{{ monitored_households }}户{{ monitored_persons }}人，其中脱贫不稳定户"
        "{{ monitored_unstable_lifted_households }}户{{ monitored_unstable_lifted_persons }}人、边缘易致贫户"
        "{{ monitored_marginal_households }}户{{ monitored_marginal_persons }}人、突发严重困难户"
        "{{ monitored_sudden_hardship_households }}户{{ monitored_sudden_hardship_persons }}人，"
        "监测人口占脱贫人口的{{ monitoring_ratio }}。",
        "在监测对象中，风险未消除{{ monitored_open_households }}户{{ monitored_open_persons }}人，"
        "风险已消除{{ monitored_eliminated_households }}户{{ monitored_eliminated_persons }}人，"
        "风险消除率{{ elimination_rate_persons }}（按户计{{ elimination_rate_households }}）。",
        "{%p if income_lifted_households %}",
        "脱贫户收入方面，有收入数据的脱贫户{{ income_lifted_households }}户{{ income_lifted_persons }}人，"
        "纯收入合计{{ income_lifted_total }}，人均纯收入{{ income_lifted_per_capita }}，"
        "其中人均工资性收入{{ income_lifted_wage_per_capita }}。",
        "{%p endif %}",
    ),
    chart=("chart_monitoring", "{{ chart_title }}"),
)

ALERTS = Section(
    key="alerts",
    title="部门筛查预警",
    paragraphs=(
        "{%p if alerts_raised %}",
        "{{ period_text }}，通过医保、民政、残联、教育、住建、水利、应急、人社、公安等部门数据比对，"
        "{{ region_name }}共发出预警{{ alerts_raised }}条。截至{{ as_of_text }}，已入户核实{{ alerts_verified }}条，"
        "核实率{{ alerts_verification_rate }}，其中按期核实{{ alerts_on_time }}条、按期核实率{{ alerts_on_time_rate }}；"
        "核实后纳入监测{{ alerts_included }}条，不纳入{{ alerts_not_included }}条，已在监测或已帮扶{{ alerts_already }}条，"
        "已审定为监测对象{{ alerts_became_monitored }}条；尚未核实{{ alerts_open }}条，其中逾期{{ alerts_overdue }}条。",
        "{%p else %}",
        "{{ period_text }}，{{ region_name }}未发出部门筛查预警。",
        "{%p endif %}",
    ),
)

SECTIONS: tuple[Section, ...] = (MONITORING, ALERTS)


# -- the built-in template --------------------------------------------------------------------------

FONT_BODY = "仿宋_GB2312"
FONT_HEADING = "黑体"
FONT_TITLE = "方正小标宋简体"
FONT_CAPTION = "楷体_GB2312"
RED = "C00000"


def default_template() -> bytes:
    """The built-in template as .docx bytes, written with python-docx in the layout of a county
    information bulletin (GB/T 9704 sizes: title 2号 小标宋, body 3号 仿宋, headings 3号 黑体)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    def fonts(run_or_style, name: str, size: float, bold: bool = False, color: str | None = None):
        f = run_or_style.font
        f.name = name
        f.size = Pt(size)
        f.bold = bold
        if color:
            f.color.rgb = RGBColor.from_string(color)
        rpr = run_or_style.element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = OxmlElement("w:rFonts")
            rpr.insert(0, rfonts)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(attr), name)

    normal = doc.styles["Normal"]
    fonts(normal, FONT_BODY, 16)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(28)
    pf.space_before = pf.space_after = Pt(0)

    def para(text: str = "", *, style_font=None, size=16, bold=False, color=None, align=None, indent=True):
        p = doc.add_paragraph()
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Pt(size * 2)
        if text:
            run = p.add_run(text)
            fonts(run, style_font or FONT_BODY, size, bold, color)
        return p

    center = WD_ALIGN_PARAGRAPH.CENTER
    masthead = para("工作信息", style_font=FONT_TITLE, size=36, color=RED, align=center, indent=False)
    masthead.paragraph_format.line_spacing = Pt(60)
    line = para("{{ issuer }}\t{{ date_text }}", size=14, indent=False)
    line.paragraph_format.tab_stops.add_tab_stop(Mm(156), WD_TAB_ALIGNMENT.RIGHT)
    # The red rule under the masthead: the bottom border of this paragraph.
    ppr = line._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "18"), ("w:space", "6"), ("w:color", RED)):
        bottom.set(qn(k), v)
    borders.append(bottom)
    ppr.append(borders)
    para("", indent=False)
    title = para("{{ title }}", style_font=FONT_TITLE, size=22, align=center, indent=False)
    title.paragraph_format.line_spacing = Pt(36)
    para("", indent=False)
    para(
        "{{ period_text }}，{{ region_name }}坚持把防止返贫致贫作为底线任务，持续开展防返贫动态监测和帮扶。"
        "截至{{ as_of_text }}，累计纳入监测对象{{ monitored_households }}户{{ monitored_persons }}人，"
        "风险消除率{{ elimination_rate_persons }}。现将有关情况报告如下。"
    )
    number = 0
    for s in SECTIONS:
        if not s.ready:
            continue
        para(f"{CN_NUMBERS[number]}、{s.title}", style_font=FONT_HEADING)
        number += 1
        for text in s.paragraphs:
            if text.startswith("{%p"):
                doc.add_paragraph(text)
            else:
                para(text)
        if s.chart:
            name, caption = s.chart
            p = para("{{ " + name + " }}", align=center, indent=False)
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            para(caption, style_font=FONT_CAPTION, size=14, align=center, indent=False)
    para("", indent=False)
    para(
        "（本信息中的数字由底线系统按指标目录自动生成，口径见系统“监测数据”页面。）",
        style_font=FONT_CAPTION,
        size=14,
    )
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def county_template_path() -> Path:
    """Where a county puts its own template (replaces the built-in one when present)."""
    return Path(settings.DATA_DIR) / "templates" / "briefing.docx"


def template_bytes(template: bytes | Path | None = None) -> tuple[bytes, str]:
    """``(docx bytes, where from)``: the given template, the county's, or the built-in one."""
    if isinstance(template, bytes):
        return template, "上传的模板"
    if template is not None:
        path = Path(template)
        if not path.is_file():
            raise ValidationError(f"简报模板“{path}”不存在")
        return path.read_bytes(), f"指定的模板（{path.name}）"
    if county_template_path().is_file():
        return county_template_path().read_bytes(), "本县模板"
    return default_template(), "内置模板"


# -- placeholders -----------------------------------------------------------------------------------

TEXT_PLACEHOLDERS = {
    "region_name": "统计区域名称（如 昔阳县、乐平镇）",
    "title": "标题（默认：区域名称 + 防止返贫致贫动态监测帮扶工作情况）",
    "issuer": "发文单位（默认：区域名称 + 防返贫监测帮扶工作专班）",
    "period_text": "统计期（如 2026年1月至10月）",
    "as_of_text": "统计日期（如 2026年10月31日）",
    "since_text": "统计期起始日期（如 2026年1月1日）",
    "date_text": "生成日期（如 2026年11月3日）",
    "chart_monitoring": "图：各乡镇（村）监测对象户数，风险未消除与已消除（单独成段）",
    "chart_title": "上图的标题",
    "sections": "已启用的章节，如 {%p if sections.alerts %} … {%p endif %}",
}


def placeholders() -> list[tuple[str, str, str, str]]:
    """Every placeholder a template may use: ``(name, 说明, 单位, 指标代码)``, texts first."""
    out = [(name, text, "", "") for name, text in TEXT_PLACEHOLDERS.items()]
    for i in catalogue.CATALOGUE:
        shown = i.unit
        if i.code.endswith(formatting.SUMS):
            shown = "万元 / 亿元（自动）"
        out.append((placeholder(i.code), i.name, shown, i.code))
    return out


# -- rendering ---------------------------------------------------------------------------------------


@dataclass
class Span:
    start: int
    end: int
    code: str
    text: str


@dataclass
class Para:
    """One paragraph of the rendered document, its plain text, and the figures placed in it."""

    no: int  # 1-based, in reading order over the body (tables included)
    text: str
    style: str = ""
    align: str = ""
    spans: list[Span] = field(default_factory=list)
    images: list[bytes] = field(default_factory=list)
    in_table: bool = False
    size: float = 0  # points, of the paragraph's first run with a size (0: the document's default)
    color: str = ""  # hex, of the first coloured run
    bold: bool = False
    rule: bool = False  # a bottom border (the red rule under a masthead)


@dataclass
class Briefing:
    region_code: str
    region_name: str
    since: date
    as_of: date
    template_source: str
    docx: bytes
    paragraphs: list[Para]
    values: dict
    check: object  # trust.CheckResult

    @property
    def file_name(self) -> str:
        return f"{self.region_name}工作信息（截至{self.as_of:%Y%m%d}）.docx"

    @property
    def html(self) -> str:
        return preview_html(self)


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def context_for(*, region_code: str, as_of: date, since: date, generated_on: date, book: list):
    """The template's context: every catalogue figure, the texts and the chart's data."""
    level = CHILD_LEVEL.get(regions.code_level(region_code))
    from dixian.indicators.selectors import parts_of

    parts = list(parts_of(region_code, level)) if level else []
    whole, by_part = compute_with_breakdown(
        None, region_code=region_code, as_of=as_of, since=since, parts=[p.code for p in parts]
    )
    info = regions.region_info(region_code)
    name = info.label if info else region_code
    ctx: dict = {placeholder(code): Figure(code, value, book) for code, value in whole.items()}
    part_level = {"township": "乡镇", "village": "村（社区）"}.get(level or "", "县（市、区）")
    labels = {p.code: p.label for p in parts}
    chart_rows = [
        (
            labels.get(code) or code,
            v["monitored.open.households"],
            v["monitored.eliminated.households"],
        )
        for code, v in by_part.items()
    ] or [(name, whole["monitored.open.households"], whole["monitored.eliminated.households"])]
    ctx.update(
        region_name=name,
        title=f"{name}防止返贫致贫动态监测帮扶工作情况",
        issuer=f"{name}防返贫监测帮扶工作专班",
        period_text=period_text(since, as_of),
        as_of_text=_chinese_date(as_of),
        since_text=_chinese_date(since),
        date_text=_chinese_date(generated_on),
        chart_title=f"图1　{name}各{part_level}监测对象户数（截至{_chinese_date(as_of)}）",
        sections={s.key: s.ready for s in SECTIONS},
    )
    return ctx, whole, chart_rows, part_level


def render(
    *,
    region_code: str,
    as_of: date,
    since: date,
    template: bytes | Path | None = None,
    generated_on: date | None = None,
) -> Briefing:
    """Render the briefing for a region and a period, check it, and mark it when the check finds
    anything. No user here: callers check the region scope (``services`` / ``views``)."""
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage
    from jinja2 import TemplateError

    from dixian.reports import trust

    if since > as_of:
        raise ValidationError(f"起始日期 {since.isoformat()} 晚于统计日期 {as_of.isoformat()}")
    raw, source = template_bytes(template)
    try:
        tpl = DocxTemplate(io.BytesIO(raw))
        tpl.init_docx()  # opens the file now (docxtpl would only at render)
    except Exception as exc:  # noqa: BLE001 - a broken upload: say so in Chinese
        raise ValidationError(f"简报模板无法打开（不是有效的 .docx 文件）：{exc}") from exc
    book: list[str] = []
    ctx, values, chart_rows, part_level = context_for(
        region_code=region_code,
        as_of=as_of,
        since=since,
        generated_on=generated_on or timezone.localdate(),
        book=book,
    )
    png = charts.monitored_by_part(chart_rows, title="", part_label=part_level)
    ctx["chart_monitoring"] = InlineImage(tpl, io.BytesIO(png), width=Mm(150))
    try:
        tpl.render(ctx, autoescape=True)
    except TemplateError as exc:
        raise ValidationError(
            f"简报模板有错误：{exc}（占位符写法见用户手册“工作信息模板”一节）", details={"error": str(exc)}
        ) from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ValidationError(f"简报模板中的计算无法进行：{exc}", details={"error": str(exc)}) from exc
    document = tpl.docx
    paragraphs = _unmark(document, book)
    result = trust.check(paragraphs, values)
    if not result.ok:
        trust.mark(document, result)
    document.core_properties.comments = result.summary
    document.core_properties.author = "底线"
    document.core_properties.title = str(ctx["title"])
    buf = io.BytesIO()
    document.save(buf)
    return Briefing(
        region_code=region_code,
        region_name=ctx["region_name"],
        since=since,
        as_of=as_of,
        template_source=source,
        docx=buf.getvalue(),
        paragraphs=paragraphs,
        values=values,
        check=result,
    )


def _w(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(f"w:{tag}")


def _unmark(document, book: list[str]) -> list[Para]:
    """Take the markers out of every text node, remembering each figure's paragraph and position.
    Markers a template filter has cut up are removed too, and their figure counts as not found."""
    from docx.oxml.ns import qn

    out: list[Para] = []
    parts = [document.element.body]
    for s in document.sections:
        for hf in (s.header, s.footer):
            if not hf.is_linked_to_previous:
                parts.append(hf._element)
    blip = qn("a:blip")
    embed = qn("r:embed")
    for root in parts:
        for p in root.iter(_w("p")):
            text = ""
            spans: list[Span] = []
            images: list[bytes] = []
            for node in p.iter():
                if node.tag == _w("t"):
                    original = node.text or ""
                    piece = ""
                    pos = 0
                    for m in _MARKED.finditer(original):
                        piece += original[pos : m.start()]
                        start = len(text) + len(piece)
                        piece += m.group(2)
                        idx = int(m.group(1))
                        code = book[idx] if idx < len(book) else ""
                        spans.append(Span(start, start + len(m.group(2)), code, m.group(2)))
                        pos = m.end()
                    piece += original[pos:]
                    piece = _STRAY.sub("", piece)
                    if piece != original:
                        node.text = piece
                    text += piece
                elif node.tag == _w("tab"):
                    text += "\t"
                elif node.tag in (_w("br"), _w("cr")):
                    text += "\n"
                elif node.tag == blip and node.get(embed):
                    part = document.part.related_parts.get(node.get(embed))
                    if part is not None:
                        images.append(part.blob)
            style_el = p.find(f"{_w('pPr')}/{_w('pStyle')}")
            jc = p.find(f"{_w('pPr')}/{_w('jc')}")
            in_table = any(a.tag == _w("tc") for a in p.iterancestors())
            sz = p.find(f".//{_w('r')}/{_w('rPr')}/{_w('sz')}")
            color = p.find(f".//{_w('r')}/{_w('rPr')}/{_w('color')}")
            bold = p.find(f".//{_w('r')}/{_w('rPr')}/{_w('b')}")
            out.append(
                Para(
                    no=len(out) + 1,
                    text=text,
                    style=style_el.get(_w("val")) if style_el is not None else "",
                    align=jc.get(_w("val")) if jc is not None else "",
                    spans=spans,
                    images=images,
                    in_table=in_table,
                    size=int(sz.get(_w("val"))) / 2 if sz is not None else 0,
                    color=color.get(_w("val")) if color is not None else "",
                    bold=bold is not None and bold.get(_w("val")) not in ("0", "false"),
                    rule=p.find(f"{_w('pPr')}/{_w('pBdr')}/{_w('bottom')}") is not None,
                )
            )
    return out


# -- the HTML preview ---------------------------------------------------------------------------------


def preview_html(b: Briefing) -> str:
    """The rendered document as simple HTML (its paragraphs, figures highlighted with their indicator,
    charts inline). Built from the rendered .docx itself, so it says what the file says."""
    findings_at = {f.paragraph for f in b.check.findings}
    rows = []
    for p in b.paragraphs:
        if not p.text.strip() and not p.images:
            continue
        body = _highlight(p)
        for png in p.images:
            data = base64.b64encode(png).decode()
            body += f'<img src="data:image/png;base64,{data}" alt="图表" style="max-width:100%">'
        classes = ["bp"]
        if p.align in ("center", "right"):
            classes.append(p.align)
        if p.no in findings_at:
            classes.append("finding")
        if re.match(f"^[{CN_NUMBERS}]+、", p.text):
            classes.append("heading")
        if p.rule:
            classes.append("rule")
        style = []
        if p.size and p.size != 16:
            style.append(f"font-size:{p.size:g}pt")
        if re.fullmatch(r"[0-9A-Fa-f]{6}", p.color or ""):
            style.append(f"color:#{p.color}")
        if p.bold:
            style.append("font-weight:700")
        attr = f' style="{";".join(style)}"' if style else ""
        rows.append(f'<p class="{" ".join(classes)}" data-no="{p.no}"{attr}>{body}</p>')
    return "\n".join(rows)


def _highlight(p: Para) -> str:
    out, pos = [], 0
    for s in sorted(p.spans, key=lambda s: s.start):
        out.append(html.escape(p.text[pos : s.start]))
        i = catalogue.BY_CODE.get(s.code)
        title = f"{i.name}（{i.code}）" if i else "未知指标"
        out.append(f'<span class="fig" title="{html.escape(title)}">{html.escape(s.text)}</span>')
        pos = s.end
    out.append(html.escape(p.text[pos:]))
    return "".join(out)
