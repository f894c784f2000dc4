"""What a delivery looks like on each WeChat channel.

``subscribe``: a mini-program subscribe message (one consent per message).
``template``: an official-account template message to a follower, opening our
mini-program page. Both templates use the same keywords — ``thing1`` (title),
``thing2`` (summary), ``time3`` (when) — configure templates with those fields.
WeChat limits a ``thing`` to 20 characters; longer text is cut with "…" rather
than refused (47003), since the full text is one tap away in the inbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
THING_MAX = 20
#: Kinds sent with the policy templates; everything else uses the notice templates.
POLICY_KINDS = frozenset({"policy", "digest"})
#: Where a digest opens: the mini-program's message list.
DIGEST_PAGE = "pages/inbox/inbox"
DIGEST_TITLE = "惠企政策每日汇总"


def clip(text: str, limit: int = THING_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def template_id(settings: Any, kind: str, channel: str) -> str:
    policy = kind in POLICY_KINDS
    if channel == "subscribe":
        return settings.wechat_policy_template_id if policy else settings.wechat_notice_template_id
    return settings.wechat_mp_policy_template_id if policy else settings.wechat_mp_notice_template_id


def message_data(*, title: str, summary: str, note: str, at_ms: int) -> dict[str, str]:
    when = datetime.fromtimestamp(at_ms / 1000, TZ)
    return {
        "thing1": clip(title) or "新消息",
        "thing2": clip(note or summary) or "点击查看详情",
        "time3": f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}",
    }
