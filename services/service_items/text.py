"""Chinese text for search: jieba with our domain dictionary, and synonym groups.

The tokenizer is built once per process (jieba's dictionary takes about a second
to load), off the event loop at start-up. Words people type ("执照", "社保") are
mapped to every word in their synonym group so "办执照" finds 营业执照 items.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from functools import cache
from pathlib import Path

import jieba

DATA = Path(__file__).parent / "data"
_lock = threading.Lock()
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
STOPWORDS = frozenset("的 了 和 与 及 或 在 是 我 我们 要 想 怎么 如何 怎样 哪里 什么 需要 办理 办 吗 呢 啊 一下 可以 能 去 个 请问 你好 给".split())

jieba.setLogLevel(logging.WARNING)


@cache
def tokenizer() -> jieba.Tokenizer:
    with _lock:
        tk = jieba.Tokenizer()
        tk.initialize()
        dictionary = DATA / "dictionary.txt"
        if dictionary.exists():
            tk.load_userdict(str(dictionary))
        for group in synonym_groups():
            for word in group:
                tk.add_word(word, freq=2000)
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


def tokens(text: str) -> list[str]:
    """Search tokens of a text: jieba's search-mode words, lower-cased, no stopwords."""
    if not text:
        return []
    out = []
    for word in tokenizer().cut_for_search(text.lower()):
        word = word.strip()
        if word and word not in STOPWORDS and _WORD.search(word):
            out.append(word)
    return out


def bigrams(text: str) -> list[str]:
    """Character bigrams of the CJK runs: a fallback for words jieba splits differently."""
    chars = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    return ["".join(chars[i:i + 2]) for i in range(len(chars) - 1)]


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
