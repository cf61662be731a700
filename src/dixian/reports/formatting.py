"""How a county report writes numbers, and how to read them back (for the trust check).

* counts: an integer without thousands separators (``16762``); the unit (户 / 人) is the template's;
* percentages: two decimals and the sign (``9.39%``);
* yuan per person: two decimals and 元 (``15234.56元``);
* money sums: 万元 below 100 million yuan, 亿元 from there, two decimals (``3456.78万元``,
  ``1.23亿元``), rounded half up like the catalogue.

The catalogue keeps every value in its own unit (元 to the fen); writing 万元 is a change of unit with
a stated precision, which ``parse`` undoes so the trust check can compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dixian.indicators.catalogue import COUNT, PERCENT, Indicator

NO_VALUE = "—"
WAN, YI = Decimal(10_000), Decimal(100_000_000)
SUMS = ".total"  # money sums are written in 万元 / 亿元; other yuan figures (per person) in 元


def _q(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def money(value, unit: str | None = None) -> str:
    """Yuan written as a county report does: ``3456.78万元`` or ``1.23亿元`` (``unit`` forces one)."""
    if value is None:
        return NO_VALUE
    yuan = Decimal(str(value))
    unit = unit or ("亿元" if abs(yuan) >= YI else "万元")
    scale = {"亿元": YI, "万元": WAN, "元": Decimal(1)}[unit]
    return f"{_q(yuan / scale)}{unit}"


def figure_text(indicator: Indicator, value) -> str:
    """A catalogue value as the briefing writes it."""
    if value is None:
        return NO_VALUE
    if indicator.kind == COUNT:
        return str(int(value))
    if indicator.kind == PERCENT:
        return f"{_q(Decimal(str(value)))}%"
    if indicator.code.endswith(SUMS):
        return money(value)
    return f"{_q(Decimal(str(value)))}元"


_SHOWN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(%|万元|亿元|元)?\s*$")


@dataclass(frozen=True)
class Shown:
    """A number read back from text: its value in the catalogue's unit, and how precisely it was
    written (the half-unit of its last digit, in the catalogue's unit)."""

    value: Decimal
    tolerance: Decimal
    unit: str


def parse(text: str) -> Shown | None:
    """``"1.23亿元"`` → 123000000 元 ± 500000; ``"9.39%"`` → 9.39 ± 0.005; None when not a number."""
    m = _SHOWN.match(text or "")
    if not m:
        return None
    number, unit = Decimal(m.group(1)), m.group(2) or ""
    places = -number.as_tuple().exponent if number.as_tuple().exponent < 0 else 0
    half = Decimal(5).scaleb(-places - 1)
    scale = {"万元": WAN, "亿元": YI}.get(unit, Decimal(1))
    return Shown(number * scale, half * scale, unit)


def agrees(indicator: Indicator, value, shown: Shown) -> bool:
    """Whether text read back says the catalogue value, to the precision it was written with."""
    if value is None:
        return False
    if indicator.kind == PERCENT and shown.unit not in ("%", ""):
        return False
    if indicator.kind == COUNT and shown.unit:
        return False
    exact = Decimal(str(value))
    return abs(exact - shown.value) <= shown.tolerance
