"""Region names as people write them. Free of Django, so data generators can use it without settings."""

from __future__ import annotations

import re

# Committee suffixes of village names. A village committee keeps "村" in its short name, a
# residents' committee keeps "社区". The odd spellings occur in the NBS 2023 file itself.
VILLAGE_SUFFIX = r"(?:村民委员会|村委员会|村民委会|村民委员|村民员委会|村委会|村委)$"
RESIDENT_SUFFIX = r"(?:社区居民委员会|社区居委会|居民委员会|居委会)$"
VILLAGE_RE = re.compile(VILLAGE_SUFFIX)
RESIDENT_RE = re.compile(RESIDENT_SUFFIX)


def short_name_of(name: str, level: str) -> str:
    """The name as people write it.

    Villages: 梁家沟村村委会 → 梁家沟村, 南庄村委会 → 南庄村, 松溪路社区居民委员会 → 松溪路社区,
    西街居委会 → 西街社区. Names without a committee suffix (虚拟社区, 生活区 …) and every other
    level keep their official name (乐平镇, 城区, 昔阳县).
    """
    name = (name or "").strip()
    if level != "village":
        return name
    base = VILLAGE_RE.sub("", name, count=1)
    if base != name:
        if not base:
            return name
        return base if base.endswith("村") else base + "村"
    base = RESIDENT_RE.sub("", name, count=1)
    if base != name:
        if not base or ("社区" in base and not base.endswith("社区")):
            return name  # e.g. 曙光社区第一居民委员会: no shorter form reads right
        return base if base.endswith("社区") else base + "社区"
    return name
