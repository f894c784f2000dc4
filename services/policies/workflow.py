"""The life of a policy version as a transition table (status × action → status) — a
pure core. Illegal moves are refused with a message that says what state the version
is in and what to do instead, shown to the officer as-is (409)."""

from __future__ import annotations

from typing import Final

from services.policies.schemas import STATUS_LABELS
from services.transitions import IllegalTransition, TransitionTable  # noqa: F401  (re-exported)

TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    ("draft", "submit"): "in_review",
    ("in_review", "approve"): "published",
    ("in_review", "reject"): "draft",
    ("published", "withdraw"): "withdrawn",
    ("published", "expire"): "expired",
    ("published", "supersede"): "superseded",
}
ACTION_LABELS: Final = {"create": "起草", "revise": "创建新版本", "edit": "修改", "submit": "提交审核",
                        "approve": "审核通过并发布", "reject": "退回修改", "withdraw": "撤回",
                        "expire": "到期失效", "supersede": "被新版本替代", "seed": "演示数据发布"}

#: What to do instead, per (status, action) that is refused.
_HINTS: Final[dict[tuple[str, str], str]] = {
    ("in_review", "submit"): "已在审核中，请等待另一位政策专员审核",
    ("published", "submit"): "已发布，如需修改请创建新版本",
    ("draft", "approve"): "尚未提交审核，请先提交审核",
    ("published", "approve"): "已发布，不能重复发布",
    ("draft", "reject"): "尚未提交审核，无需退回",
    ("draft", "withdraw"): "尚未发布，无需撤回；草稿可继续修改",
    ("in_review", "withdraw"): "尚未发布，无需撤回；可由审核人退回修改",
    ("withdrawn", "withdraw"): "已撤回",
    ("in_review", "edit"): "正在审核中，不能修改；如需修改请由审核人退回",
    ("published", "edit"): "已发布，不能直接修改，请创建新版本",
}


TABLE: Final = TransitionTable(
    noun="该政策版本", transitions=TRANSITIONS, status_labels=STATUS_LABELS, action_labels=ACTION_LABELS,
    hints=_HINTS, final=frozenset({"withdrawn", "expired", "superseded"}),
    final_message="{noun}已{bare}，不能{action}；如需重新发布请创建新版本")
next_status = TABLE.next_status


def can_edit(status: str) -> None:
    """Only a draft's content may change; raises otherwise."""
    if status != "draft":
        next_status(status, "edit")  # always raises for non-drafts (no edit transition)
