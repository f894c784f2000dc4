"""The search tokens that classification and catalogue search share (services.service_items.text).

The tokenizer is rjieba (jieba-rs) with the jieba Python package's search mode and its
way of cutting runs of letters, digits and signs rebuilt on top. The expected lists are
what the Python package (0.42, with the same dictionary and synonyms) gave for the same
texts; they pin the tokens a question and the catalogue get, so a change of tokenizer or
dictionary that moves them shows here rather than as a different suggested department.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.service_items import text


@pytest.mark.parametrize(("question", "expected"), [
    # search mode: the two- and three-character words inside a longer word come first
    ("营业执照怎么办理", ["营业", "执照", "营业执照"]),
    ("小规模纳税人减按25%计入", ["规模", "纳税", "小规模", "纳税人", "小规模纳税人", "减按", "25%", "计入"]),
    # a decimal stays whole, as the Python package's HMM keeps it
    ("阶段性下调0.5个百分点", ["阶段", "阶段性", "下调", "0.5", "百分", "分点", "百分点"]),
    # an item code is cut into its letters and digits (rjieba alone keeps it whole)
    ("SCJG-XK-0001", ["scjg", "xk", "0001"]),
    ("zwfw.example.gov.cn/qy", ["zwfw", "example", "gov", "cn", "qy"]),
    # words of the domain dictionary and of synonym groups are words
    # (search mode adds only the two- and three-character words inside a word)
    ("统一社会信用代码在哪里查", ["统一", "社会", "信用", "代码", "统一社会信用代码", "查"]),
])
def test_tokens_of_questions_codes_and_figures(question, expected):
    assert text.tokens(question) == expected


def test_stopwords_and_punctuation_are_not_tokens():
    toks = text.tokens("请问，我们 想 了解一下：社保 怎么 办理？")
    assert "社保" in toks
    assert not set(toks) & {"请问", "我们", "想", "一下", "怎么", "办理", "，", "：", "？", " "}


def test_a_synonym_finds_its_group():
    weights = text.expand(text.tokens("办执照"))
    assert weights["执照"] == 1.0
    assert weights["营业执照"] == 0.8


def test_empty_text_has_no_tokens():
    assert text.tokens("") == []
    assert text.tokens("   ") == []


def test_a_word_seen_before_gives_the_same_tokens():
    # Tokens of a word are kept once worked out (text._WORD_TOKENS): a second question
    # with the same words gets what the search mode gives word by word.
    question = "个体工商户营业执照SCJG-XK-0001变更，需要哪些材料？"
    first, again = text.tokens(question), text.tokens(question)
    fresh = [w.strip() for w in text._search_words(question.lower())]
    assert first == again == [w for w in fresh if w and w not in text.STOPWORDS and text._WORD.search(w)]
    assert {"个体工商户", "营业执照", "scjg", "0001", "变更", "材料"} <= set(first)


def test_the_kept_words_are_bounded(monkeypatch):
    monkeypatch.setattr(text, "_WORD_TOKENS", {})
    monkeypatch.setattr(text, "_WORD_TOKENS_MAX", 2)
    expected = ["营业", "执照", "营业执照", "变更", "登记", "变更登记", "材料"]
    assert text.tokens("营业执照变更登记材料") == expected
    assert list(text._WORD_TOKENS) == ["营业执照", "变更登记"]
    # past the bound, words are still tokenized, only not kept
    assert text.tokens("营业执照变更登记材料") == expected


@given(st.text(st.sampled_from(["营", "业", "执", "a", "1", "，", " ", "\u4e00", "\u9fff", "\u3400", "\ua000", "😀"]),
               max_size=16))
def test_bigrams_span_the_han_characters_in_order(s):
    han = [c for c in s if "\u4e00" <= c <= "\u9fff"]
    assert text.bigrams(s) == [han[i] + han[i + 1] for i in range(len(han) - 1)]
