"""Charts for the briefing, drawn with matplotlib (Agg) in a CJK font found on the machine.

``scripts/setup`` installs Debian's fonts-noto-cjk; ``cjk_font`` finds it through matplotlib's font
manager (never a path written in code), so Chinese labels never come out as empty boxes. Without such a
font, drawing refuses with a Chinese message instead of producing a chart of boxes.
"""

from __future__ import annotations

import io
from functools import lru_cache

from dixian.core.errors import ValidationError

# Preferred families, Simplified Chinese first; any other CJK family found is the last resort.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Noto Serif CJK SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
)


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return family
    others = sorted(n for n in names if "CJK" in n or n.endswith((" SC", " CN")))
    return others[0] if others else None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    family = cjk_font()
    if family is None:
        raise ValidationError("未找到中文字体，无法绘制图表：请运行 scripts/setup 安装 fonts-noto-cjk")
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def monitored_by_part(rows: list[tuple[str, int, int]], *, title: str, part_label: str) -> bytes:
    """A stacked bar chart: per part (township or village), households at risk and eliminated.
    ``rows`` is ``[(name, open_households, eliminated_households)]``. Returns PNG bytes. (The briefing
    gives no title: its caption under the chart says what it is.)"""
    plt = _pyplot()
    names = [r[0] for r in rows]
    open_ = [r[1] for r in rows]
    done = [r[2] for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 3.8), dpi=160)
    try:
        x = range(len(rows))
        ax.bar(x, done, color="#2E7D32", label="风险已消除")
        ax.bar(x, open_, bottom=done, color="#C62828", label="风险未消除")
        for i, (a, b) in enumerate(zip(open_, done, strict=True)):
            if a + b:
                ax.text(i, a + b, str(a + b), ha="center", va="bottom", fontsize=9)
        ax.set_xticks(list(x))
        ax.set_xticklabels(
            names, rotation=30 if len(rows) > 6 else 0, ha="right" if len(rows) > 6 else "center"
        )
        ax.set_ylabel("户数")
        ax.set_xlabel(part_label)
        if title:
            ax.set_title(title, fontsize=11)
        ax.legend(frameon=False, fontsize=9, loc="upper right")
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(y=0.15)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
