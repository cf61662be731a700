"""The work briefing: read the .docx back with python-docx and find the sentences with the figures of a
count done by hand; the number formats; the chart's CJK font; county templates and the trust check."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import docx
import pytest
from handcount import count, pct

from dixian.core.audit import Actor
from dixian.core.errors import ValidationError
from dixian.core.models import AuditEvent
from dixian.indicators import catalogue
from dixian.reports import briefing, charts, formatting, services, trust

from testdata import LEPING, XIYANG

AS_OF, SINCE = date(2026, 10, 31), date(2025, 7, 1)


def text_of(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def template_with(*paragraphs: str) -> bytes:
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.mark.django_db
def test_briefing_says_the_hand_counted_figures_in_sentences(demo):
    b = services.generate_briefing(actor=Actor.cli(), region_code=XIYANG, as_of=AS_OF, since=SINCE)
    text = text_of(b.docx)
    c = count(demo, 202610, 202507)
    g = lambda k: c.get(k, 0)  # noqa: E731
    assert "工作信息" in text and "昔阳县防止返贫致贫动态监测帮扶工作情况" in text
    assert "一、防返贫动态监测" in text
    assert (
        f"2025年7月至2026年10月，昔阳县新识别监测对象{g('new hh')}户{g('new p')}人，"
        f"其中因灾{g('new disaster hh')}户{g('new disaster p')}人；"
        f"风险消除{g('eliminated in period hh')}户{g('eliminated in period p')}人。"
    ) in text
    assert f"截至2026年10月31日，昔阳县共有脱贫户{g('lifted hh')}户{g('lifted p')}人" in text
    assert f"累计纳入监测对象{g('monitored hh')}户{g('monitored p')}人" in text
    assert f"其中脱贫不稳定户{g('unstable_lifted hh')}户{g('unstable_lifted p')}人" in text
    assert f"边缘易致贫户{g('marginal hh')}户{g('marginal p')}人" in text
    assert f"突发严重困难户{g('sudden_hardship hh')}户{g('sudden_hardship p')}人" in text
    assert f"监测人口占脱贫人口的{pct(g('monitored p'), g('lifted p'))}" in text
    assert f"风险未消除{g('at risk hh')}户{g('at risk p')}人" in text
    assert f"风险已消除{g('eliminated so far hh')}户{g('eliminated so far p')}人" in text
    assert f"风险消除率{pct(g('eliminated so far p'), g('monitored p'))}" in text
    assert f"按户计{pct(g('eliminated so far hh'), g('monitored hh'))}" in text
    net = c["net"]
    unit, scale = ("亿元", Decimal(10**8)) if net >= 10**8 else ("万元", Decimal(10**4))
    assert f"纯收入合计{(net / scale).quantize(Decimal('0.01'), rounding='ROUND_HALF_UP')}{unit}" in text
    assert not re.search(r"\d,\d{3}", text)  # no thousands separators anywhere
    assert not re.search(r"[\ue000-\ue002]", text)  # no marker left in the file
    d = docx.Document(io.BytesIO(b.docx))
    assert len(d.inline_shapes) == 1  # the chart
    assert d.core_properties.comments.startswith("数字核对通过")
    assert b.check.ok and b.check.figures >= 30 and b.check.relations > 10, b.check.findings
    event = AuditEvent.objects.get(action="briefing.generate")
    assert event.details["check"] == "一致" and event.county_code == XIYANG
    assert event.details["sha256"]


@pytest.mark.django_db
def test_a_township_briefing_and_the_preview(demo):
    b = briefing.render(region_code=LEPING, as_of=AS_OF, since=SINCE)
    mine = count([h for h in demo if h["township"] == LEPING], 202610, 202507)
    assert f"乐平镇共有脱贫户{mine.get('lifted hh', 0)}户" in text_of(b.docx)
    html = b.html
    assert "乐平镇" in html and '<img src="data:image/png;base64,' in html
    assert 'class="fig" title="监测对象户数（monitored.households）"' in html
    assert not AuditEvent.objects.filter(action="briefing.generate").exists()  # only downloads are


def test_number_formats():
    n = catalogue.get("monitored.persons")
    assert formatting.figure_text(n, 36653) == "36653"
    assert formatting.figure_text(catalogue.get("monitoring_ratio"), 9.385) == "9.39%"
    assert formatting.figure_text(catalogue.get("monitoring_ratio"), 12.5) == "12.50%"
    assert formatting.figure_text(catalogue.get("income.lifted.per_capita"), 15234.5) == "15234.50元"
    total = catalogue.get("income.lifted.total")
    assert formatting.figure_text(total, 34567812.0) == "3456.78万元"
    assert formatting.figure_text(total, 123456789.0) == "1.23亿元"
    assert formatting.figure_text(total, None) == "—"
    assert formatting.money(50000, "万元") == "5.00万元"
    got = formatting.parse("1.23亿元")
    assert got.value == Decimal("123000000") and got.tolerance == Decimal("500000")
    assert formatting.agrees(total, 123456789.0, got) and not formatting.agrees(total, 124000000.0, got)
    assert formatting.agrees(catalogue.get("monitoring_ratio"), 9.39, formatting.parse("9.39%"))
    assert not formatting.agrees(n, 36653, formatting.parse("36653%"))
    assert formatting.parse("约一万") is None


def test_the_chart_font_is_found_and_has_chinese_glyphs():
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    family = charts.cjk_font()
    assert family is not None, "no CJK font: run scripts/setup (fonts-noto-cjk)"
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    font = FT2Font(path)
    for ch in "监测对象户数风险已消除乡镇":
        assert font.get_char_index(ord(ch)) != 0, ch
    png = charts.monitored_by_part([("乐平镇", 3, 5), ("皋落镇", 0, 2)], title="", part_label="乡镇")
    assert png.startswith(b"\x89PNG")


def test_the_built_in_template_uses_only_documented_placeholders():
    text = text_of(briefing.default_template())
    used = set(re.findall(r"\{\{\s*(\w+)", text))
    known = {name for name, *_ in briefing.placeholders()}
    assert used and used <= known, used - known
    assert "一、防返贫动态监测" in text and "二、部门筛查预警" in text
    assert all(briefing.placeholder(c) in known for c in catalogue.CODES)


@pytest.mark.django_db
def test_a_county_template_replaces_the_wording(demo):
    tpl = template_with(
        "{{ region_name }}监测工作简报（{{ period_text }}）",
        "一、总体情况",
        "全县监测户{{ monitored_households }}户，占比{{ monitoring_ratio }}，收入{{ income_lifted_total.wan }}。",
        "{%p if sections.alerts %}",
        "二、预警（本节随系统启用）",
        "{%p endif %}",
    )
    b = briefing.render(region_code=XIYANG, as_of=AS_OF, since=SINCE, template=tpl)
    text = text_of(b.docx)
    assert text.startswith("昔阳县监测工作简报（2025年7月至2026年10月）")
    assert "二、预警（本节随系统启用）" in text and "万元" in text
    assert b.check.ok and b.template_source == "上传的模板"


@pytest.mark.django_db
def test_hand_typed_and_recomputed_numbers_are_listed_and_the_briefing_is_marked(demo):
    tpl = template_with(
        "截至{{ as_of_text }}，全县监测对象{{ monitored_households }}户，去年同期为812户。",
        "风险未消除{{ monitored_households.value - monitored_eliminated_households.value }}户。",
        "会议于2026年10月召开，共12个乡镇参加。",
    )
    b = briefing.render(region_code=XIYANG, as_of=AS_OF, since=SINCE, template=tpl)
    assert not b.check.ok and b.check.status == "有无法核对的数字"
    messages = [f.message for f in b.check.findings]
    assert len(messages) == 2, messages  # 812户 and the arithmetic; not the date, not 12个
    assert "“812户”不是由占位符生成的" in messages[0]
    assert all(f.level == trust.UNVERIFIED for f in b.check.findings)
    d = docx.Document(io.BytesIO(b.docx))
    assert d.paragraphs[0].text.startswith("【数字核对未通过：有无法核对的数字】")
    assert "附：数字核对结果" in text_of(b.docx)
    assert d.core_properties.comments.startswith("数字核对未通过")


@pytest.mark.django_db
def test_a_bad_template_is_refused_in_chinese(demo):
    with pytest.raises(ValidationError, match="简报模板有错误"):
        briefing.render(region_code=XIYANG, as_of=AS_OF, since=SINCE, template=template_with("{{ oops("))
    with pytest.raises(ValidationError, match="不是有效的 .docx"):
        briefing.render(region_code=XIYANG, as_of=AS_OF, since=SINCE, template=b"not a docx")


def _para(text: str, *figures: tuple[str, str]) -> briefing.Para:
    spans = []
    for code, shown in figures:
        start = text.index(shown, spans[-1].end if spans else 0)
        spans.append(briefing.Span(start, start + len(shown), code, shown))
    return briefing.Para(no=1, text=text, spans=spans)


def test_the_check_finds_a_figure_that_says_another_number_and_broken_relations():
    values = {c: None for c in catalogue.CODES}
    values.update(
        {
            "monitored.households": 100,
            "monitored.unstable_lifted.households": 50,
            "monitored.marginal.households": 30,
            "monitored.sudden_hardship.households": 10,  # 90, not 100
            "monitored.open.households": 40,
            "monitored.eliminated.households": 60,
            "monitored.persons": 300,
            "monitored.eliminated.persons": 100,
            "elimination_rate.persons": 33.33,
            "elimination_rate.households": 60.0,
            "lifted.persons": 1000,
            "monitoring_ratio": 30.0,
        }
    )
    p = _para(
        "监测对象100户，风险已消除60户，风险消除率33.34%，占比30.00%，其中未消除41户。",
        ("monitored.households", "100"),
        ("monitored.eliminated.households", "60"),
        ("elimination_rate.persons", "33.34%"),
        ("monitoring_ratio", "30.00%"),
        ("monitored.open.households", "41"),
    )
    result = trust.check([p], values)
    found = [f.message for f in result.findings]
    assert any("“33.34%”（风险消除率（按人））与指标目录的数值 33.33% 不一致" in m for m in found), found
    assert any("“41”（风险未消除户数）与指标目录的数值 40 不一致" in m for m in found), found
    assert any(m.startswith("合计与构成不符：监测对象户数 为 100") and "= 90" in m for m in found), found
    assert result.status == "不一致" and len(result.disagreements) == 3
    # A rate the catalogue got wrong is caught by re-deriving it from its numerator and denominator.
    values["monitored.sudden_hardship.households"] = 20
    values["elimination_rate.persons"] = 35.0
    p = _para("风险消除率35.00%。", ("elimination_rate.persons", "35.00%"))
    found = [f.message for f in trust.check([p], values).findings]
    assert found == [
        "比率与分子分母不符：风险消除率（按人） 为 35.00%，而 风险已消除人数 ÷ 监测对象人数 × 100"
        " = 100 ÷ 300 × 100 = 33.33%"
    ]
