"""Text helpers: half-width folding, cleaning, pinyin keys."""

from __future__ import annotations

from faker import Faker
from hypothesis import given
from hypothesis import strategies as st

from dixian.core.text import (
    clean,
    pinyin_full,
    pinyin_full_many,
    pinyin_initials,
    pinyin_initials_many,
    to_halfwidth,
)


def test_to_halfwidth():
    assert to_halfwidth("ＡＢＣ１２３！～\u3000ｘ") == "ABC123!~ x"
    assert to_halfwidth("张三，你好。") == "张三,你好。"  # ，(U+FF0C) folds; 。 is not in the range
    assert to_halfwidth("plain") == "plain"


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E)))
def test_to_halfwidth_inverts_fullwidth(text):
    assert to_halfwidth("".join(chr(ord(c) + 0xFEE0) for c in text)) == text


def test_clean():
    assert clean("  张\u3000\u3000三  ") == "张 三"
    assert clean("阿卜杜·热合曼\t\n") == "阿卜杜·热合曼"
    assert clean("李四，（户主）") == "李四，（户主）"  # Chinese punctuation and full-width kept
    assert clean("ＡＢ") == "ＡＢ"
    assert clean("   ") is None
    assert clean("") is None
    assert clean(None) is None
    assert clean(123) == "123"


@given(st.text())
def test_clean_is_idempotent(text):
    once = clean(text)
    assert once is None or (clean(once) == once and once == once.strip() and "  " not in once)


def test_pinyin():
    assert pinyin_initials("万永强") == "wyq"
    assert pinyin_full("万永强") == "wanyongqiang"
    assert pinyin_initials("张三") == "zs"
    assert pinyin_full("吕布") == "lvbu"
    assert pinyin_initials("阿卜杜·热合曼") == "abdrhm"  # separators are dropped
    assert pinyin_full("Anna李") == "annali"  # Latin letters kept, lower-cased
    assert pinyin_initials("王２号") == "w2h"
    assert pinyin_initials("") == ""
    assert pinyin_initials(None) == ""
    assert pinyin_full(None) == ""


def test_pinyin_many_matches_single():
    fake = Faker("zh_CN")
    fake.seed_instance(7)
    names = [fake.name() for _ in range(300)] + ["", None, "Tom 汤姆"]
    assert pinyin_initials_many(names) == [pinyin_initials(n) for n in names]
    assert pinyin_full_many(names) == [pinyin_full(n) for n in names]
    assert all(key.isascii() for key in pinyin_initials_many(names))


@given(st.text(max_size=8))
def test_pinyin_keys_are_lowercase_ascii_alnum(text):
    for key in (pinyin_initials(text), pinyin_full(text)):
        assert key == key.lower()
        assert all(c.isascii() and c.isalnum() for c in key)
    assert len(pinyin_initials(text)) <= len(pinyin_full(text))
