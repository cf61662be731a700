"""Small text helpers: full-width folding, name cleaning and pinyin search keys.

Pure Python (no Django). ``pypinyin`` is imported lazily so that importing this module stays cheap.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "FULLWIDTH_TABLE",
    "WHITESPACE_CHARS",
    "clean",
    "pinyin_full",
    "pinyin_full_many",
    "pinyin_initials",
    "pinyin_initials_many",
    "to_halfwidth",
]

# U+FF01..U+FF5E (full-width "！".."～") map onto U+0021..U+007E; the ideographic space onto " ".
FULLWIDTH_TABLE: dict[int, str] = {code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
FULLWIDTH_TABLE[0x3000] = " "

# One explicit list of "blank" characters, shared by the scalar parsers and the polars expressions
# (Python's ``str.isspace`` and the Rust regex ``\s`` disagree on a few code points, so neither is
# used where the two sides must agree). Includes zero-width space and BOM, common in pasted data.
WHITESPACE_CHARS = (
    " \t\n\r\f\v\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
)

_WS_RUN = re.compile(r"\s+")


def to_halfwidth(s: str) -> str:
    """Fold full-width ASCII (U+FF01..U+FF5E) and the ideographic space U+3000 to half-width."""
    return s.translate(FULLWIDTH_TABLE)


def clean(s: object) -> str | None:
    """Strip and collapse inner runs of whitespace to one space; ``None`` for empty.

    Meant for names and free text: full-width characters and Chinese punctuation are kept as they are.
    """
    if s is None:
        return None
    text = _WS_RUN.sub(" ", str(s)).strip()
    return text or None


# --------------------------------------------------------------------------- pinyin

# Latin letters and digits are kept (lower-cased); anything else that is not a Chinese character
# (spaces, "·" in minority names, punctuation) is dropped from the search keys.


@lru_cache(maxsize=65536)
def _char_initial(ch: str) -> str:
    return _char_pinyin(ch, initial=True)


@lru_cache(maxsize=65536)
def _char_full(ch: str) -> str:
    return _char_pinyin(ch, initial=False)


def _char_pinyin(ch: str, *, initial: bool) -> str:
    from pypinyin import Style, lazy_pinyin

    style = Style.FIRST_LETTER if initial else Style.NORMAL
    out = lazy_pinyin(ch, style=style, errors=lambda _: [])
    if out and out[0]:
        return out[0].lower()
    ch = to_halfwidth(ch)
    return ch.lower() if ch.isascii() and ch.isalnum() else ""


class _PinyinTable(dict):
    """``str.translate`` table filled on demand from the per-character ``lru_cache``."""

    def __init__(self, per_char) -> None:
        super().__init__()
        self._per_char = per_char

    def __missing__(self, code: int) -> str:
        value = self._per_char(chr(code))
        self[code] = value
        return value


_INITIALS_TABLE = _PinyinTable(_char_initial)
_FULL_TABLE = _PinyinTable(_char_full)


def pinyin_initials(name: str | None) -> str:
    """Initials of a name, character by character, first reading: ``"万永强" -> "wyq"``."""
    if not name:
        return ""
    return name.translate(_INITIALS_TABLE)


def pinyin_full(name: str | None) -> str:
    """Full toneless pinyin, no separators: ``"万永强" -> "wanyongqiang"`` (ü is written ``v``)."""
    if not name:
        return ""
    return name.translate(_FULL_TABLE)


def pinyin_initials_many(names: list[str | None]) -> list[str]:
    """Batch version of :func:`pinyin_initials` (a C-level ``str.translate`` per name)."""
    table = _INITIALS_TABLE
    return [n.translate(table) if n else "" for n in names]


def pinyin_full_many(names: list[str | None]) -> list[str]:
    """Batch version of :func:`pinyin_full`."""
    table = _FULL_TABLE
    return [n.translate(table) if n else "" for n in names]
