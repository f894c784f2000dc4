"""The search index's cheaper paths (per-term BM25 parts computed once, ``best``) give
exactly what the plain BM25 formula gives, for search and for the consultation classifier."""

import math
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from unittest.mock import patch

from services.service_items import search, text
from services.service_items.search import B, BIGRAM_WEIGHT, K1, Doc, SearchIndex

NAMES = ["营业执照变更登记", "食品经营许可证核发", "增值税发票申领", "社会保险参保登记", "稳岗补贴申领",
         "个体工商户注册", "税务登记信息变更", "公积金单位开户", "营业执照注销", "消防安全检查"]
DOCS = [Doc(id=i + 1, department="D" + str(i % 3), stage="start", order=(i % 3, i),
            fields={"name": name, "keywords": name[:2], "summary": f"办理{name}的材料和流程"})
        for i, name in enumerate(NAMES)]
WORDS = ["营业执照", "变更", "发票", "社保", "补贴", "注销", "个体", "办理", "材料", "流程", "许可证", "公积金", "咨询"]


def _index() -> SearchIndex:
    return SearchIndex.build(DOCS, text.tokens, text.bigrams)


def _reference(index: SearchIndex, weights: dict[str, float], raw: str, allowed: set[int]) -> list[tuple[int, float]]:
    """BM25 straight from the postings, as the index computed it before it kept any parts."""
    scores: dict[int, float] = defaultdict(float)
    terms = dict(weights)
    for bg in text.bigrams(raw):
        terms["\x00" + bg] = max(terms.get("\x00" + bg, 0.0), BIGRAM_WEIGHT)
    n = len(index.docs)
    for term, qw in terms.items():
        posting = index.postings.get(term) or {}
        df = len(posting)
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5)) if df else 0.0
        for doc_id, tf in posting.items():
            if doc_id in allowed:
                norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * index.lengths[doc_id] / index.avg_len))
                scores[doc_id] += qw * idf * norm
    needle = raw.strip().lower()
    for doc_id in list(scores):
        if needle and needle in index.docs[doc_id].fields["name"].lower():
            scores[doc_id] *= 1.5
    return sorted(scores.items(), key=lambda kv: (-kv[1], index.docs[kv[0]].order))


INDEX = _index()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6), st.sampled_from([None, "D0", "D1"]),
       st.booleans())
def test_scores_and_the_best_match_equal_plain_bm25(words, department, question):
    # a question is longer than any name; bare words can be part of one (the name bonus)
    raw = "请问" + "".join(words) + "怎么办？" if question else "".join(words)
    weights = text.expand(text.tokens(raw))
    allowed = {d.id for d in DOCS if department is None or d.department == department}
    expected = _reference(INDEX, weights, raw, allowed)
    assert INDEX.scored(weights, raw, allowed) == expected
    assert INDEX.search(weights, raw, department=department) == [i for i, _ in expected]
    everything = _reference(INDEX, weights, raw, set(INDEX.docs))
    assert INDEX.scored(weights, raw) == everything
    assert INDEX.best(weights, raw) == (everything[0] if everything else None)


def test_nothing_matching_has_no_best():
    assert _index().best({"火星": 1.0}, "火星") is None


def test_equal_scores_go_to_the_first_item_in_catalogue_order():
    twins = [Doc(id=i, department="D", stage="start", order=(order, i), fields={"name": "稳岗补贴申领"})
             for i, order in ((7, 2), (3, 1), (5, 1))]
    index = SearchIndex.build(twins, text.tokens, text.bigrams)
    weights = text.expand(text.tokens("稳岗补贴"))
    [(first, top), *rest] = index.scored(weights, "稳岗补贴")
    assert [score for _, score in rest] == [top, top]
    assert first == 3 and index.best(weights, "稳岗补贴") == (3, top)
    # the name bonus applies to each twin alike
    assert top > index.scored(weights, "请问稳岗补贴怎么申领呢")[0][1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6), st.booleans())
def test_a_catalogue_past_the_dense_size_gets_the_same_best(words, question):
    raw = "请问" + "".join(words) + "怎么办？" if question else "".join(words)
    weights = text.expand(text.tokens(raw))
    dense = INDEX.best(weights, raw)
    with patch.object(search, "DENSE_MAX", 0):
        assert _index().best(weights, raw) == dense


def test_weights_the_dense_sum_does_not_take_go_the_general_way():
    # A weight of 0 reaches an item without raising its score: only the general path
    # tells that item from one no term reached.
    weights = {"营业执照": 0.0}
    [first, *_] = _reference(INDEX, weights, "", set(INDEX.docs))
    assert first[1] == 0.0 and INDEX.best(weights, "") == first


def test_what_an_index_keeps_of_the_words_it_was_asked_is_bounded():
    # An index lives as long as its catalogue version; questions bring words no item has.
    index = _index()
    queries = ["请问" + w + "怎么办？" for w in WORDS] + [f"火星{i}号的营业执照" for i in range(30)]
    expected = [_index().best(text.expand(text.tokens(q)), q) for q in queries]
    with patch.object(search, "_PRODUCTS_MAX", 5):
        assert [index.best(text.expand(text.tokens(q)), q) for q in queries] == expected
        assert [index.scored(text.expand(text.tokens(q)), q)[:1] for q in queries] == [
            [e] if e else [] for e in expected]
    assert len(index._terms) <= 5 and len(index._slotted_bigrams) <= 5
    assert all(len(table) <= 5 for table in index._slotted.values())
