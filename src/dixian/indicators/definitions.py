"""The structured parts of each catalogue definition, for the catalogue page and the API: the point in
time or the period a figure describes, and the numerator and denominator of each ratio (as catalogue
codes, so that the page links them). The definitions themselves stay in ``catalogue.py``.

Kept beside the catalogue rather than in it so that ``catalogue.py`` stays the one list of
declarations; a test checks that every code here is in the catalogue and every ratio has its parts.
"""

from __future__ import annotations

from django.urls import reverse

from dixian.indicators.catalogue import BY_CODE, PERCENT, YUAN, Indicator

# Timing of a figure.
AT_DATE = "时点：截至统计日"
IN_PERIOD = "时期：统计期内（起始日所在月至统计日所在月）"
CURRENT = "现状：户籍台账当前数据（不随统计日变化）"
IN_PERIOD_DAYS = "时期：统计期内（起始日至统计日，按日；核实情况截至统计日）"

# Numerator and denominator of each ratio and average (catalogue codes, or words where the part is not
# itself a published figure).
RATIO_PARTS: dict[str, tuple[str, str]] = {
    "monitoring_ratio": ("monitored.persons", "lifted.persons"),
    "elimination_rate.households": ("monitored.eliminated.households", "monitored.households"),
    "elimination_rate.persons": ("monitored.eliminated.persons", "monitored.persons"),
    "alerts.verification_rate": ("alerts.verified", "alerts.raised"),
    "alerts.on_time_rate": ("alerts.on_time", "alerts.raised"),
}
_INCOME_DENOMINATOR = "有收入数据的脱贫户的在册人数之和"


def timing(indicator: Indicator) -> str:
    code = indicator.code
    if code.startswith(("lifted.", "income.")):
        return CURRENT
    if code.startswith(("identified.", "eliminated.")):
        return IN_PERIOD
    if code.startswith("alerts."):
        return IN_PERIOD_DAYS
    return AT_DATE


def parts(indicator: Indicator) -> tuple[str, str]:
    """``(numerator, denominator)`` in words: a catalogue code's name, or a phrase; ``("本指标计数",
    "")`` for a count (no denominator)."""
    code = indicator.code
    if code in RATIO_PARTS:
        num, den = RATIO_PARTS[code]
        return BY_CODE[num].name, BY_CODE[den].name
    if indicator.kind == YUAN:
        return "收入（元）之和", _INCOME_DENOMINATOR
    return "符合口径的" + {"户": "户数", "人": "人数"}.get(indicator.unit, "条数"), ""


def part_codes(indicator: Indicator) -> tuple[str, str] | None:
    return RATIO_PARTS.get(indicator.code)


def url(code: str) -> str:
    """The anchor of an indicator on the catalogue page: ``/figures/catalogue/#monitored.households``."""
    return f"{reverse('indicators:catalogue')}#{code}"


def describe(indicator: Indicator) -> dict:
    """Everything the catalogue states about one indicator, as plain data (page and API)."""
    num, den = parts(indicator)
    codes = part_codes(indicator)
    return {
        "code": indicator.code,
        "name": indicator.name,
        "group": indicator.group,
        "kind": indicator.kind,
        "unit": indicator.unit,
        "decimals": indicator.decimals,
        "rounding": indicator.rounding,
        "timing": timing(indicator),
        "numerator": num,
        "denominator": den,
        "numerator_code": codes[0] if codes else "",
        "denominator_code": codes[1] if codes else "",
        "definition": indicator.definition,
        "primary": indicator.primary,
        "is_ratio": indicator.kind == PERCENT,
        "url": url(indicator.code),
    }
