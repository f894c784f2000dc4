"""Disclosure control for anything that leaves the console (open data, staff exports) —
a pure core.

The table is a set of cells keyed by dimension values (topic, department, industry
group, size class, region …), each with a count of cases and of *distinct enterprises*.
With the cells we publish totals: one per value of each dimension (the margins) and the
grand total. Rules:

1. Primary suppression: a cell or total describing 0 < n < k distinct enterprises
   (k = 5) is not published.
2. Complementary suppression: for every published total, the cells (or margins) it
   sums must not have exactly one suppressed member — otherwise subtracting the
   published members from the total gives the suppressed one back. When a line has
   exactly one, the smallest other member is suppressed too; when it has no other
   member, the total itself is withheld. This repeats until nothing changes (it must
   stop: suppression only grows).

What is guarded: recovery of a cell by subtraction within any single published total,
including the grand total over the margins of one dimension. What is not claimed:
recovery by solving several equations together (interval attacks); cells with a
single-digit enterprise count are suppressed in the first place, which keeps what such
an attack could learn coarse. Free text is never part of a table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

K = 5
Key = tuple[str, ...]


@dataclass
class Cell:
    key: Key
    cases: int
    enterprises: int
    suppressed: bool = False
    reason: str = ""  # "primary" | "complementary"


@dataclass
class Total:
    """A published sum: ``dim`` is the dimension index fixed to ``value`` (a margin), or
    ``None`` for the grand total."""

    dim: int | None
    value: str | None
    cases: int
    enterprises: int
    members: list[Key] = field(default_factory=list)
    suppressed: bool = False
    reason: str = ""


@dataclass
class Protected:
    dims: tuple[str, ...]
    cells: dict[Key, Cell]
    totals: dict[tuple[int | None, str | None], Total]

    def published_cells(self) -> list[Cell]:
        return [c for c in self.cells.values() if not c.suppressed]


def _primary(n: int, k: int) -> bool:
    return 0 < n < k


def protect(dims: Sequence[str], cells: Mapping[Key, tuple[int, int]],
            total_enterprises: Mapping[tuple[int | None, str | None], int], *, k: int = K) -> Protected:
    """Suppress cells and totals of a table.

    ``cells``: key → (cases, distinct enterprises). ``total_enterprises``: the distinct
    enterprises behind each total — (dim index, value) for a margin, (None, None) for the
    grand total — which cannot be summed from the cells (one enterprise can be in many).
    """
    table = {key: Cell(key, c, e) for key, (c, e) in cells.items()}
    totals: dict[tuple[int | None, str | None], Total] = {}
    for key, cell in table.items():
        for d, v in enumerate(key):
            t = totals.setdefault((d, v), Total(d, v, 0, total_enterprises.get((d, v), 0)))
            t.cases += cell.cases
            t.members.append(key)
    grand = Total(None, None, sum(c.cases for c in table.values()), total_enterprises.get((None, None), 0),
                  members=list(table))
    totals[(None, None)] = grand

    for cell in table.values():
        if _primary(cell.enterprises, k):
            cell.suppressed, cell.reason = True, "primary"
    for t in totals.values():
        if _primary(t.enterprises, k):
            t.suppressed, t.reason = True, "primary"

    # Lines: (total, the members it sums). Members are cells for every total, and for
    # the grand total also the margins of each dimension.
    margin_lines = [(grand, [totals[(d, v)] for (d, v) in totals if d == dim])
                    for dim in range(len(dims))]
    changed = True
    while changed:
        changed = False
        for t in totals.values():
            if not t.suppressed:
                changed |= _close_line(t, [table[m] for m in t.members])
        if not grand.suppressed:
            for total, margins in margin_lines:
                changed |= _close_line(total, margins)
    return Protected(tuple(dims), table, totals)


def _close_line(total: Total, members: Sequence[Cell | Total]) -> bool:
    hidden = [m for m in members if m.suppressed]
    if len(hidden) != 1:
        return False
    candidates = [m for m in members if not m.suppressed]
    if candidates:
        pick = min(candidates, key=lambda m: (m.cases, m.enterprises, str(getattr(m, "key", getattr(m, "value", "")))))
        pick.suppressed, pick.reason = True, "complementary"
    else:
        total.suppressed, total.reason = True, "complementary"
    return True


def recoverable(p: Protected) -> list[str]:
    """The checks the property tests run: every way a published total could reveal a
    suppressed member by subtraction, and every published figure under the threshold.
    Empty means safe."""
    problems = []
    for c in p.cells.values():
        if not c.suppressed and _primary(c.enterprises, K):
            problems.append(f"cell {c.key} published with {c.enterprises}")
    for t in p.totals.values():
        if t.suppressed:
            continue
        if _primary(t.enterprises, K):
            problems.append(f"total {t.dim}={t.value} published with {t.enterprises}")
        if sum(p.cells[m].suppressed for m in t.members) == 1:
            problems.append(f"total {t.dim}={t.value} reveals its one suppressed cell")
    grand = p.totals[(None, None)]
    if not grand.suppressed:
        for dim in range(len(p.dims)):
            margins = [t for (d, _), t in p.totals.items() if d == dim]
            if sum(t.suppressed for t in margins) == 1:
                problems.append(f"grand total reveals the one suppressed margin of {p.dims[dim]}")
    return problems


def rows(p: Protected) -> list[dict]:
    """The published form: suppressed figures are ``None`` with ``suppressed: True``."""
    out = []
    for c in sorted(p.cells.values(), key=lambda c: c.key):
        row = dict(zip(p.dims, c.key))
        row.update({"cases": None if c.suppressed else c.cases,
                    "enterprises": None if c.suppressed else c.enterprises, "suppressed": c.suppressed})
        out.append(row)
    return out
