"""Chinese text for search: jieba with our domain dictionary, and synonym groups.

jieba here is rjieba, the binding of jieba-rs: jieba's dictionary and its DAG + HMM
segmentation, compiled. Classification tokenises every new consultation on the request
path, and the Python package took 80–160 µs per question, a tenth of an intake's
server CPU (python -m bench intake), and 1.1 s per process to load its dictionary;
rjieba with the Python-side search mode below takes 8–15 µs and 0.12 s.

Two things rjieba does differently are rebuilt here (:func:`_search_words`): the search
mode (each word preceded by the dictionary words of two and three characters inside
it), and the cut of a run of letters, digits and signs that is no dictionary word, which
rjieba keeps whole ("SCJG-XK-0001") and the Python package cuts into its parts, by which
the catalogue is searched. With both, the tokens equal the Python package's (0.42, same
dictionary and synonyms) for 5,162 of the 5,163 Chinese strings the product and its
tests carry (catalogue, taxonomy, policies, the bench's questions, test and client
texts). The exception: 未处理 in one policy sentence is 未 + 处理 here, because the Python
package adds a user word's frequency to the total without taking its old one off.
``tests/unit/test_text_tokens.py`` pins the tokens.

The tokenizer is built once per process, off the event loop at start-up. Words people
type ("执照", "社保") are mapped to every word in their synonym group so "办执照"
finds 营业执照 items.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import rjieba

DATA = Path(__file__).parent / "data"
_lock = threading.Lock()
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_HAN = re.compile(r"[\u4e00-\u9fd5]")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_NOT_CJK = re.compile(r"[^\u4e00-\u9fff]+")
#: How jieba's Python package cuts a run of letters, digits and signs it has no word for
#: (its HMM's rule): letters and digits with an optional decimal part and per cent sign,
#: every other character alone ("scjg-xk-0001" → scjg - xk - 0001; "0.5", "25%" whole).
_RUN_PARTS = re.compile(r"[a-zA-Z0-9]+(?:\.\d+)?%?|.", re.S)
#: A line of the user dictionary, as jieba reads one: word, then optional frequency and tag.
_DICT_LINE = re.compile(r"^(\S+?)(?: +([0-9]+))?(?: +([a-z]+))?$")
STOPWORDS = frozenset("的 了 和 与 及 或 在 是 我 我们 要 想 怎么 如何 怎样 哪里 什么 需要 办理 办 吗 呢 啊 一下 可以 能 去 个 请问 你好 给".split())


@cache
def tokenizer() -> rjieba.Jieba:
    with _lock:
        tk = rjieba.Jieba()
        dictionary = DATA / "dictionary.txt"
        if dictionary.exists():
            for line in dictionary.read_text(encoding="utf-8").splitlines():
                if m := _DICT_LINE.match(line.strip()):
                    word, freq, tag = m.groups()
                    tk.add_word(word, int(freq) if freq else None, tag)
        for group in synonym_groups():
            for word in group:
                tk.add_word(word, 2000, None)
        return tk


@cache
def synonym_groups() -> tuple[tuple[str, ...], ...]:
    path = DATA / "synonyms.json"
    if not path.exists():
        return ()
    groups = json.loads(path.read_text(encoding="utf-8"))["groups"]
    return tuple(tuple(w.strip() for w in g if w.strip()) for g in groups)


@cache
def synonym_map() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for group in synonym_groups():
        for word in group:
            out[word] = tuple(dict.fromkeys(out.get(word, ()) + group))
    return out


def _search_words(text: str) -> Iterator[str]:
    """jieba's search mode as the Python package has it: each word of the segmentation,
    preceded by the two- and three-character words inside it. A run of letters, digits
    and signs that is no dictionary word is cut the Python package's way
    (:data:`_RUN_PARTS`), where rjieba keeps it whole."""
    tk = tokenizer()
    for word in tk.cut(text):
        yield from _word_parts(tk, word)


def _word_parts(tk: rjieba.Jieba, word: str) -> Iterator[str]:
    """What :func:`_search_words` makes of one word of the segmentation."""
    n = len(word)
    if n > 1 and not _HAN.search(word) and _NOT_ALNUM.search(word) and not tk.has_word(word):
        yield from _RUN_PARTS.findall(word)
        return
    if n > 2:
        for i in range(n - 1):
            if tk.has_word(gram := word[i:i + 2]):
                yield gram
    if n > 3:
        for i in range(n - 2):
            if tk.has_word(gram := word[i:i + 3]):
                yield gram
    yield word


#: word of the segmentation → its tokens (:func:`tokens`). A word's tokens depend on the
#: word and this process's fixed dictionary only, and the words people write repeat:
#: looking them up took tokens() from 14.5 to about 5 µs per question of python -m bench
#: intake, 2.7 of them rjieba's cut. Bounded, so that no stream of new words can grow it
#: without end; past the bound, a new word's tokens are worked out on each use.
_WORD_TOKENS: dict[str, tuple[str, ...]] = {}
_WORD_TOKENS_MAX = 100_000


def _word_tokens(tk: rjieba.Jieba, word: str) -> tuple[str, ...]:
    out = []
    for part in _word_parts(tk, word):
        part = part.strip()
        if part and part not in STOPWORDS and _WORD.search(part):
            out.append(part)
    got = tuple(out)
    if len(_WORD_TOKENS) < _WORD_TOKENS_MAX:
        _WORD_TOKENS[word] = got
    return got


def tokens(text: str) -> list[str]:
    """Search tokens of a text: jieba's search-mode words, lower-cased, no stopwords."""
    if not text:
        return []
    tk = tokenizer()
    known = _WORD_TOKENS
    out: list[str] = []
    for word in tk.cut(text.lower()):
        got = known.get(word)
        out += got if got is not None else _word_tokens(tk, word)
    return out


def bigrams(text: str) -> list[str]:
    """Character bigrams of the CJK runs: a fallback for words jieba splits differently.
    (The runs are joined first: a bigram may span the gap between two of them.)"""
    chars = _NOT_CJK.sub("", text)
    return [chars[i:i + 2] for i in range(len(chars) - 1)]


def expand(query_tokens: list[str]) -> dict[str, float]:
    """Query tokens with synonyms added at a slightly lower weight."""
    weights: dict[str, float] = {}
    synonyms = synonym_map()
    for tok in query_tokens:
        weights[tok] = max(weights.get(tok, 0.0), 1.0)
        for syn in synonyms.get(tok, ()):
            if syn != tok:
                weights[syn] = max(weights.get(syn, 0.0), 0.8)
    return weights


def warm_up() -> None:
    tokens("营业执照怎么办理")
