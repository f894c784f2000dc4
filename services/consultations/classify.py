"""Suggest a topic, a service item and a department for a question (pure core).

The same jieba tokens and synonyms as the catalogue search (``services.service_items.text``)
are used, so "办营业执照" finds the same item a user would have found by searching.
A suggestion is only a starting point: the consultant corrects it, and both are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

#: An item is suggested only when its BM25 score clears this — below it the match rests on
#: a stray bigram, and a wrong item sends the case to the wrong department.
ITEM_MIN_SCORE = 4.0


@dataclass(frozen=True)
class TopicDef:
    code: str
    keywords: tuple[str, ...]
    department_id: int | None


@dataclass
class Suggestion:
    topic_code: str = ""
    topic_hits: list[str] = field(default_factory=list)
    service_item_id: int | None = None
    item_score: float = 0.0
    department_id: int | None = None
    department_source: str = ""  # service_item | policy | topic | ""

    def as_dict(self) -> dict:
        return {"topic_code": self.topic_code, "topic_hits": self.topic_hits,
                "service_item_id": self.service_item_id, "item_score": round(self.item_score, 2),
                "department_id": self.department_id, "department_source": self.department_source}


def match_topic(text: str, tokens: Iterable[str], topics: Iterable[TopicDef]) -> tuple[str, list[str]]:
    """The topic whose keywords the text mentions most (longer keywords weigh more);
    ties go to the earlier topic in the taxonomy. ("", []) when none is mentioned."""
    toks = set(tokens)
    best: tuple[float, str, list[str]] = (0.0, "", [])
    for topic in topics:
        hits = [k for k in topic.keywords if k and (k in toks or (len(k) >= 2 and k in text))]
        score = sum(len(k) for k in hits)
        if score > best[0]:
            best = (score, topic.code, hits)
    return best[1], best[2]


class TopicMatcher:
    """:func:`match_topic` over a fixed taxonomy, with the same answer for every text.

    Why: every consultation intake matches its text against every keyword of every topic,
    a substring search each (14 µs per question of ``python -m bench intake`` over the
    seeded taxonomy). Here the text's characters pick the few keywords that could be in
    it (those starting with one of them), so only those are searched for (3.7 µs); each
    topic's hits are then listed in the order of its keywords, as before."""

    def __init__(self, topics: Iterable[TopicDef]) -> None:
        self.topics = tuple(topics)
        #: keyword → the positions of the topics that list it (once per listing)
        self._places: dict[str, list[int]] = {}
        #: first character → keywords of two or more characters that start with it
        starts: dict[str, set[str]] = {}
        for ti, topic in enumerate(self.topics):
            for k in topic.keywords:
                if not k:
                    continue
                self._places.setdefault(k, []).append(ti)
                if len(k) >= 2:
                    starts.setdefault(k[0], set()).add(k)
        self._starts = {c: tuple(sorted(ks)) for c, ks in starts.items()}
        #: finds those first characters in a text: a scan in C, where ``set(text)`` hashed
        #: every character of it (0.8 against 3 µs per question)
        self._first = re.compile("[" + "".join(map(re.escape, sorted(starts))) + "]") if starts else None

    def match(self, text: str, tokens: Iterable[str]) -> tuple[str, list[str]]:
        # Whether a keyword is a hit does not depend on its topic: the words found once
        # are every topic's hits.
        places = self._places
        found = {t for t in tokens if t in places}
        starts = self._starts
        for c in set(self._first.findall(text)) if self._first is not None else ():
            for k in starts[c]:
                if k in text:
                    found.add(k)
        if not found:
            return "", []
        scores: dict[int, int] = {}
        for k in found:
            for ti in places[k]:
                scores[ti] = scores.get(ti, 0) + len(k)
        # the highest score; among equal ones the earliest topic
        top = max(scores.values())
        topic = self.topics[min(ti for ti, score in scores.items() if score == top)]
        return topic.code, [k for k in topic.keywords if k in found]


def classify(text: str, *, tokens: list[str], topics: list[TopicDef],
             item_scores: Callable[[], list[tuple[int, float]]],
             item_department: Mapping[int, int],
             given_item_id: int | None = None, policy_department_id: int | None = None,
             matcher: TopicMatcher | None = None) -> Suggestion:
    """Topic from the taxonomy; item given by the user or the best catalogue match. The
    department is what the user pointed at (their item, else their policy), else the
    matched item's, else the topic's: an explicit choice beats a guess from the text.
    ``matcher``: a :class:`TopicMatcher` of ``topics``, kept by the caller."""
    s = Suggestion()
    s.topic_code, s.topic_hits = (matcher.match(text, tokens) if matcher is not None
                                  else match_topic(text, tokens, topics))
    if given_item_id is not None:
        s.service_item_id = given_item_id
    else:
        ranked = item_scores()
        if ranked and ranked[0][1] >= ITEM_MIN_SCORE:
            s.service_item_id, s.item_score = ranked[0]
    item_dept = item_department.get(s.service_item_id) if s.service_item_id is not None else None
    if given_item_id is not None and item_dept is not None:
        s.department_id, s.department_source = item_dept, "service_item"
    elif policy_department_id is not None:
        s.department_id, s.department_source = policy_department_id, "policy"
    elif item_dept is not None:
        s.department_id, s.department_source = item_dept, "service_item"
    elif s.topic_code:
        dept = next((t.department_id for t in topics if t.code == s.topic_code), None)
        if dept is not None:
            s.department_id, s.department_source = dept, "topic"
    return s


def similarity(a: Iterable[str], b: Iterable[str]) -> float:
    """Jaccard similarity of two token sets: what the duplicate (并单) suggestion ranks by."""
    sa, sb = {t for t in a if len(t) > 1}, {t for t in b if len(t) > 1}
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)
