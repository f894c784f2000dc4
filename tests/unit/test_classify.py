"""The consultation classifier's pure core: topic by keywords, item only above the score
threshold, and which department wins."""

from hypothesis import given, settings
from hypothesis import strategies as st

from services.consultations.classify import (ITEM_MIN_SCORE, TopicDef, TopicMatcher, classify, match_topic,
                                            similarity)

TOPICS = [TopicDef("tax", ("发票", "增值税", "申报"), 2), TopicDef("startup", ("营业执照", "开办"), 1),
          TopicDef("policy", ("政策",), None)]


def _classify(text, *, ranked=(), given_item=None, policy_dept=None):
    return classify(text, tokens=list(text), topics=TOPICS, item_scores=lambda: list(ranked),
                    item_department={10: 1, 20: 2}, given_item_id=given_item, policy_department_id=policy_dept)


def test_topic_is_the_one_mentioned_most():
    assert match_topic("增值税发票怎么申报", [], TOPICS) == ("tax", ["发票", "增值税", "申报"])
    assert match_topic("你好", [], TOPICS) == ("", [])


#: a small alphabet, so that keywords overlap, nest, repeat across topics and meet the text
_CHARS = st.sampled_from(list("增值税发票营业执照开办政策a-]^\\"))
_WORDS = st.text(_CHARS, max_size=4)


@given(st.lists(st.tuples(st.sampled_from(["tax", "startup", "policy", "other"]), st.lists(_WORDS, max_size=5)),
                max_size=5),
       st.text(_CHARS, max_size=24), st.lists(_WORDS, max_size=6))
@settings(max_examples=400)
def test_the_matcher_answers_as_match_topic(topics, text, tokens):
    # Same topic and hits, in the same order, for any taxonomy, text and tokens: ties,
    # a keyword listed twice or by two topics, one-character keywords (by token only)
    # and characters that mean something in a regular expression.
    defs = [TopicDef(code, tuple(words), None) for code, words in topics]
    assert TopicMatcher(defs).match(text, tokens) == match_topic(text, tokens, defs)


def test_classify_takes_the_matcher_of_its_topics():
    s = classify("增值税发票怎么申报", tokens=[], topics=TOPICS, item_scores=list, item_department={},
                 matcher=TopicMatcher(TOPICS))
    assert (s.topic_code, s.topic_hits, s.department_id) == ("tax", ["发票", "增值税", "申报"], 2)


def test_weak_item_matches_are_not_suggested():
    s = _classify("营业执照", ranked=[(10, ITEM_MIN_SCORE - 0.1)])
    assert s.service_item_id is None and s.department_id == 1 and s.department_source == "topic"
    s = _classify("营业执照", ranked=[(20, ITEM_MIN_SCORE + 1)])
    assert s.service_item_id == 20 and s.department_id == 2 and s.department_source == "service_item"


def test_what_the_user_chose_beats_the_guess():
    assert _classify("营业执照", ranked=[(20, 99)], policy_dept=7).department_id == 7
    s = _classify("营业执照", ranked=[(20, 99)], given_item=10, policy_dept=7)
    assert (s.service_item_id, s.department_id, s.department_source) == (10, 1, "service_item")


def test_nothing_known_leaves_the_case_unrouted():
    s = _classify("请问怎么办", ranked=[])
    assert s.department_id is None and s.topic_code == ""


@given(st.lists(st.text(min_size=2, max_size=4), max_size=8), st.lists(st.text(min_size=2, max_size=4), max_size=8))
def test_similarity_is_symmetric_and_bounded(a, b):
    assert 0.0 <= similarity(a, b) <= 1.0
    assert similarity(a, b) == similarity(b, a)
    if a and set(a) == set(b):
        assert similarity(a, b) == 1.0
