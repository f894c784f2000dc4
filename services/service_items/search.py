"""Ranked search over the service catalogue: a pure in-memory inverted index.

Why in memory: the catalogue is small (hundreds to a few thousand items), read
on every mini-program visit and changed a few times a day. Each API process keeps
its own index and rebuilds it when the catalogue version in Redis moves, so a
search costs no database round trip at all.

Scoring is BM25 over weighted fields (name counts most, then the words owners use,
then summary, department, materials and FAQ), with synonyms at 0.8 and a bonus when
the whole query appears in the item's name. Character bigrams catch words jieba
segments differently, at a low weight so they only break ties or rescue misses.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

FIELD_WEIGHTS = {"name": 5.0, "keywords": 4.0, "summary": 2.0, "department": 1.5,
                 "materials": 1.0, "faq": 1.0}
BIGRAM_WEIGHT = 0.3
K1, B = 1.2, 0.75
#: :meth:`SearchIndex.best` sums into one slot per item up to this many items; a larger
#: catalogue sums into a dict of the items its terms reach, as search does.
DENSE_MAX = 2048
#: Terms an index keeps worked out (:meth:`SearchIndex._term`, and each table of
#: :meth:`SearchIndex.best`): questions bring words no item has, and an index lives as
#: long as its catalogue version, so it must not grow with every word a process sees.
#: Past this, a term's parts are worked out on each use.
_PRODUCTS_MAX = 100_000


class _Forgetful(dict):
    """A table that keeps nothing: for query weights past the few a question brings."""

    def __setitem__(self, key, value) -> None:
        pass


@dataclass(frozen=True)
class Doc:
    id: int
    department: str
    stage: str
    order: tuple  # default ordering when there is no query
    fields: dict[str, str]


@dataclass
class SearchIndex:
    tokenize: Callable[[str], list[str]]
    bigrams: Callable[[str], list[str]]
    postings: dict[str, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    lengths: dict[int, float] = field(default_factory=dict)
    docs: dict[int, Doc] = field(default_factory=dict)
    avg_len: float = 1.0
    #: term → (idf, [(doc id, BM25 tf part)]), filled on first use. The index never changes
    #: after :meth:`build` (a new catalogue is a new index), so both parts are fixed per
    #: term; every consultation intake scores its whole text (python -m bench intake).
    _terms: dict[str, tuple[float, list[tuple[int, float]]]] = field(default_factory=dict, repr=False)
    _names: dict[int, str] = field(default_factory=dict, repr=False)
    #: for :meth:`_dense_best`: item ids in catalogue order, each one's slot, and per query
    #: weight, term → [(slot, weighted BM25 part)] (bigrams apart, by the bigram alone)
    _in_order: list[int] = field(default_factory=list, repr=False)
    _slot: dict[int, int] = field(default_factory=dict, repr=False)
    _slotted: dict[float, dict[str, list[tuple[int, float]] | None]] = field(default_factory=dict, repr=False)
    _slotted_bigrams: dict[str, list[tuple[int, float]] | None] = field(default_factory=dict, repr=False)
    _longest_name: int = field(default=0, repr=False)

    @classmethod
    def build(cls, docs: Iterable[Doc], tokenize: Callable[[str], list[str]],
              bigrams: Callable[[str], list[str]]) -> "SearchIndex":
        index = cls(tokenize=tokenize, bigrams=bigrams)
        for doc in docs:
            index._add(doc)
        index.avg_len = (sum(index.lengths.values()) / len(index.lengths)) if index.lengths else 1.0
        return index

    def _add(self, doc: Doc) -> None:
        self.docs[doc.id] = doc
        weights: dict[str, float] = defaultdict(float)
        for name, text in doc.fields.items():
            w = FIELD_WEIGHTS.get(name, 1.0)
            for tok in self.tokenize(text):
                weights[tok] += w
            for bg in self.bigrams(text):
                weights["\x00" + bg] += BIGRAM_WEIGHT * w
        for tok, w in weights.items():
            self.postings[tok][doc.id] = w
        self.lengths[doc.id] = sum(weights.values()) or 1.0

    def _idf(self, term: str) -> float:
        n = len(self.docs)
        df = len(self.postings.get(term, ()))
        return math.log(1 + (n - df + 0.5) / (df + 0.5)) if df else 0.0

    def search(self, query_weights: dict[str, float], raw_query: str, *,
               department: str | None = None, stage: str | None = None) -> list[int]:
        """Ids of matching items, best first. Empty query: all items in catalogue order."""
        allowed = [d for d in self.docs.values()
                   if (department is None or d.department == department)
                   and (stage is None or d.stage == stage)]
        if not query_weights and not raw_query:
            return [d.id for d in sorted(allowed, key=lambda d: d.order)]
        return [doc_id for doc_id, _ in self.scored(query_weights, raw_query, {d.id for d in allowed})]

    def _term(self, term: str) -> tuple[float, list[tuple[int, float]]] | None:
        """The idf and per-document tf parts of a term, computed as :meth:`scored` always
        did (same expressions, same order), so scores stay bit for bit identical. A term
        no item has is remembered as None too: a question's text has more of those than
        of the others (python -m bench intake)."""
        try:
            return self._terms[term]
        except KeyError:
            pass
        posting = self.postings.get(term)
        held = None
        if posting:
            held = (self._idf(term), [
                (doc_id, tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.lengths[doc_id] / self.avg_len)))
                for doc_id, tf in posting.items()])
        if len(self._terms) < _PRODUCTS_MAX:
            self._terms[term] = held
        return held

    def _accumulate(self, query_weights: dict[str, float], raw_query: str,
                    allowed_ids: set[int] | None) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        terms = dict(query_weights)
        for bg in self.bigrams(raw_query):
            key = "\x00" + bg
            if terms.get(key, 0.0) < BIGRAM_WEIGHT:
                terms[key] = BIGRAM_WEIGHT
        cached, term_of = self._terms, self._term
        for term, qw in terms.items():
            held = cached[term] if term in cached else term_of(term)
            if held is None:
                continue
            idf, parts = held
            # ``qw * idf * norm`` is ``(qw * idf) * norm``: the product is taken once per
            # term, not per posting, with the same result bit for bit. Most calls (the
            # classifier's, on every consultation intake) filter nothing.
            w = qw * idf
            if allowed_ids is None:
                for doc_id, norm in parts:
                    scores[doc_id] += w * norm
            else:
                for doc_id, norm in parts:
                    if doc_id in allowed_ids:
                        scores[doc_id] += w * norm
        needle = raw_query.strip().lower()
        if needle and scores:
            # A question longer than every item name is in none of them (most are).
            if self._name_may_hold(needle):
                names = self._names
                for doc_id in list(scores):
                    if needle in names[doc_id]:
                        scores[doc_id] *= 1.5
        return scores

    def scored(self, query_weights: dict[str, float], raw_query: str,
               allowed_ids: set[int] | None = None) -> list[tuple[int, float]]:
        """(id, BM25 score) of matching items, best first — the classifier of consultations
        needs the score to tell a real match from a weak one."""
        scores = self._accumulate(query_weights, raw_query, allowed_ids)
        # Bigram-only matches are weak evidence: keep them only when nothing better matched.
        return sorted(scores.items(), key=lambda kv: (-kv[1], self.docs[kv[0]].order))

    def best(self, query_weights: dict[str, float], raw_query: str) -> tuple[int, float] | None:
        """``scored(...)[0]`` (or None) without sorting every match: the classifier only
        looks at the top item. ``min`` keeps the first of equal keys, as the stable sort does.

        Every consultation intake asks this of its whole text (python -m bench intake),
        so a catalogue of up to :data:`DENSE_MAX` items sums into a list, one slot per
        item in catalogue order (:meth:`_dense_best`): 17 against 35 µs per question."""
        if (len(self.docs) <= DENSE_MAX and all(qw > 0.0 for qw in query_weights.values())
                and not any(t[:1] == "\x00" for t in query_weights)):
            return self._dense_best(query_weights, raw_query)
        scores = self._accumulate(query_weights, raw_query, None)
        if not scores:
            return None
        # The highest score, and among the items that have it the first in catalogue order:
        # what the sort key (-score, order) puts first, without building a key per item.
        top = max(scores.values())
        docs = self.docs
        first = min((doc_id for doc_id, score in scores.items() if score == top), key=lambda i: docs[i].order)
        return first, top

    def _dense_best(self, query_weights: dict[str, float], raw_query: str) -> tuple[int, float] | None:
        """:meth:`best` with the sums in a list: each item's score is the same sum, of the
        same products (``(qw * idf) * norm``), taken in the same order (the query's terms,
        then its new bigrams) as :meth:`_accumulate` takes it, so bit for bit the same.
        Every product is positive (weights above 0, idf and tf parts are), so an item no
        term reached is the one left at 0.0, and the first slot holding the top score is
        the first such item in catalogue order."""
        if not self._in_order:
            self._in_order = sorted(self.docs, key=lambda i: self.docs[i].order)
            self._slot = {doc_id: i for i, doc_id in enumerate(self._in_order)}
        sums = [0.0] * len(self._in_order)
        tables, slotted = self._slotted, self._slotted_parts
        for term, qw in query_weights.items():
            table = tables.get(qw)
            if table is None:
                table = tables[qw] = {} if len(tables) < 16 else _Forgetful()
            parts = table[term] if term in table else slotted(table, term, term, qw)
            if parts is not None:
                for i, wn in parts:
                    sums[i] += wn
        table = self._slotted_bigrams
        for bg in dict.fromkeys(self.bigrams(raw_query)):
            parts = table[bg] if bg in table else slotted(table, bg, "\x00" + bg, BIGRAM_WEIGHT)
            if parts is not None:
                for i, wn in parts:
                    sums[i] += wn
        needle = raw_query.strip().lower()
        if needle and self._name_may_hold(needle):
            names = self._names
            for i, doc_id in enumerate(self._in_order):
                if sums[i] and needle in names[doc_id]:
                    sums[i] *= 1.5
        top = max(sums)
        if top <= 0.0:
            return None
        return self._in_order[sums.index(top)], top

    def _slotted_parts(self, table: dict, key: str, term: str, qw: float) -> list[tuple[int, float]] | None:
        """The term's (slot, ``(qw * idf) * norm``), kept in ``table`` under ``key``."""
        held = self._terms[term] if term in self._terms else self._term(term)
        out = None
        if held is not None:
            idf, parts = held
            w = qw * idf
            slot = self._slot
            out = [(slot[doc_id], w * norm) for doc_id, norm in parts]
        if len(table) < _PRODUCTS_MAX:
            table[key] = out
        return out

    def _name_may_hold(self, needle: str) -> bool:
        """Whether ``needle`` is no longer than the longest item name (most questions are)."""
        if not self._names:
            self._names.update((i, d.fields.get("name", "").lower()) for i, d in self.docs.items())
            self._longest_name = max(map(len, self._names.values()), default=0)
        return len(needle) <= self._longest_name
