"""The subscribe-credit ledger: how many one-time subscribe messages each user has
allowed us, per template.

A subscribe message can only be sent against a consent the user gave with
``wx.requestSubscribeMessage`` ("accept" = one message). Two witnesses report the
same tap: the mini-program (``POST /api/v1/subscriptions/results``) and WeChat's
``subscribe_msg_popup_event``. Either may arrive first, or only one of them at all,
so each side keeps a count of grants the other has not confirmed yet; a report
the other side already made is not counted twice. Unmatched reports older than
:data:`PENDING_WINDOW_MS` are forgotten (the same tap cannot be minutes apart).

A send takes a credit before calling WeChat and gives it back when WeChat did not
deliver (the consent is only used up by a delivered message), except 43101, which
means WeChat holds no consent for us: the credit goes to zero.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.notifications import SubscribeCredit
from notifications.sqltext import Statement, now_ms

Outcome = Literal["accept", "reject", "ban", "filter"]
Witness = Literal["client", "event"]
OUTCOMES = ("accept", "reject", "ban", "filter")
PENDING_WINDOW_MS = 10 * 60 * 1000


async def _row(openid: str, template_id: str) -> SubscribeCredit:
    """The ledger row, locked for this transaction (created at zero if new)."""
    for _ in range(2):
        row = await SubscribeCredit.filter(openid=openid, template_id=template_id).select_for_update().first()
        if row is not None:
            return row
        try:
            async with in_transaction():  # savepoint: a lost creation race is not fatal
                return await SubscribeCredit.create(openid=openid, template_id=template_id)
        except IntegrityError:
            continue  # created concurrently: lock theirs
    raise RuntimeError("subscribe credit row could not be created")


async def record(*, openid: str, template_id: str, outcome: str, witness: Witness,
                 at_ms: int | None = None) -> SubscribeCredit:
    """One popup answer for one template, as reported by ``witness``."""
    now = now_ms() if at_ms is None else at_ms
    async with in_transaction():
        row = await _row(openid, template_id[:128])
        if row.pending_since is not None and now - row.pending_since > PENDING_WINDOW_MS:
            row.client_pending = row.event_pending = 0
            row.pending_since = None
        row.last_outcome = outcome[:16]
        if outcome == "accept":
            mine, theirs = ("client_pending", "event_pending") if witness == "client" else (
                "event_pending", "client_pending")
            if getattr(row, theirs) > 0:
                setattr(row, theirs, getattr(row, theirs) - 1)  # the other witness counted it
            else:
                row.credits += 1
                setattr(row, mine, getattr(row, mine) + 1)
                if row.pending_since is None:
                    row.pending_since = now
            if row.client_pending == 0 and row.event_pending == 0:
                row.pending_since = None
        await row.save()
    return row


async def revoke(*, openid: str, template_id: str, outcome: str = "reject") -> None:
    """The user switched the template off (settings page) or WeChat refused: no credit."""
    async with in_transaction():
        row = await _row(openid, template_id[:128])
        row.credits = 0
        row.client_pending = row.event_pending = 0
        row.pending_since = None
        row.last_outcome = outcome[:16]
        await row.save()


async def credits_of(openid: str) -> list[SubscribeCredit]:
    return await SubscribeCredit.filter(openid=openid).order_by("template_id")


# ------------------------------------------------------------- used by sends


async def consume(template_id: str, openids: list[str]) -> Counter[str]:
    """Take one credit per listed openid (an openid listed twice takes two).

    Returns, per openid, how many credits were taken — fewer than asked means the
    remaining deliveries have no consent and are skipped. Set-based, one statement
    per multiplicity level, so a batch of 200 sends costs one UPDATE.
    """
    wanted = Counter(openids)
    taken: Counter[str] = Counter()
    from tortoise import connections

    conn = connections.get("default")
    while wanted:
        distinct = list(wanted)
        st = Statement(conn)
        rows = await conn.execute_query_dict(
            f"UPDATE subscribe_credit SET credits = credits - 1 "
            f"WHERE template_id = {st.p(template_id)} AND credits > 0 AND {st.isin('openid', distinct, 'VARCHAR')} "
            f"RETURNING openid", st.params)
        got = {r["openid"] for r in rows}
        for openid in distinct:
            if openid in got:
                taken[openid] += 1
                wanted[openid] -= 1
                if wanted[openid] <= 0:
                    del wanted[openid]
            else:
                del wanted[openid]
    return taken


async def refund(template_id: str, openids: list[str]) -> None:
    """Give back credits of sends WeChat did not deliver (one per listed openid)."""
    for openid, n in Counter(openids).items():
        await SubscribeCredit.filter(template_id=template_id, openid=openid).update(
            credits=F("credits") + n)


async def zero(template_id: str, openids: list[str]) -> None:
    """43101: WeChat holds no consent for these users, whatever our count said."""
    if openids:
        await SubscribeCredit.filter(template_id=template_id, openid__in=list(set(openids))).update(
            credits=0, last_outcome="refused")
