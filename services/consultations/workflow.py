"""The life of a case as a transition table (status × action → status) — a pure core.

    new ─assign→ assigned ─answer→ answered ─resolve→ resolved ─close→ closed
     ↑  ←return─┘  ↺reassign       │  ↑ answer                 │  │
     │                     request_info ↓ │                      reopen (enterprise)
     │                        awaiting_enterprise                 ↓
     │                  supplement → assigned              reopened → answer / reassign
    merged (into another open case) and withdrawn (by the enterprise) end a case early.

``answered`` means the consultant has replied and the enterprise may confirm, follow up
or rate; ``awaiting_enterprise`` means the consultant has asked the enterprise for more
(materials, a clarification) and the case waits on it. Either side's next message moves
the case back; the deadline keeps running from intake throughout.

Who may take an action is decided here too (``ACTORS``), so the table is the one place
that says what an enterprise, a consultant, a supervisor or the system may do.
"""

from __future__ import annotations

import functools
from typing import Final

from services.transitions import IllegalTransition, TransitionTable  # noqa: F401  (re-exported)

STATUSES: Final = ("new", "assigned", "answered", "awaiting_enterprise", "resolved", "closed",
                   "reopened", "merged", "withdrawn")
STATUS_LABELS: Final = {"new": "待派单", "assigned": "办理中", "answered": "已答复",
                        "awaiting_enterprise": "待企业补充", "resolved": "已解决", "closed": "已办结",
                        "reopened": "已重新打开", "merged": "已合并", "withdrawn": "已撤回"}
#: Cases that still count as someone's open work (dispatch balances on these).
OPEN_STATUSES: Final = frozenset({"new", "assigned", "answered", "awaiting_enterprise", "reopened"})
#: Cases whose deadline still matters: the supervision ladder only chases these.
#: (Once answered, the department has done what the deadline asked.)
CHASED_STATUSES: Final = frozenset({"new", "assigned", "reopened"})
FINAL_STATUSES: Final = frozenset({"closed", "merged", "withdrawn"})
#: The mini-program's tabs: 办理中 (the ball is with the government or with the enterprise
#: to supplement), 已答复 (to confirm or rate), 已结束.
STATE_GROUPS: Final = {"open": frozenset({"new", "assigned", "reopened", "awaiting_enterprise"}),
                       "answered": frozenset({"answered", "resolved"}),
                       "finished": FINAL_STATUSES}

_ANSWERABLE = ("assigned", "awaiting_enterprise", "reopened")
_MERGEABLE = ("new", "assigned", "answered", "awaiting_enterprise", "reopened")

TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    ("new", "assign"): "assigned",
    ("assigned", "reassign"): "assigned",
    ("reopened", "reassign"): "reopened",
    ("assigned", "return"): "new",
    ("reopened", "return"): "new",
    **{(s, "answer"): "answered" for s in _ANSWERABLE},
    ("assigned", "request_info"): "awaiting_enterprise",
    ("answered", "request_info"): "awaiting_enterprise",
    ("awaiting_enterprise", "supplement"): "assigned",
    ("answered", "follow_up"): "assigned",
    ("answered", "resolve"): "resolved",
    ("resolved", "close"): "closed",
    ("answered", "close"): "closed",  # staff close a case the enterprise never confirmed
    ("resolved", "reopen"): "reopened",
    ("closed", "reopen"): "reopened",
    **{(s, "merge"): "merged" for s in _MERGEABLE},
    **{(s, "withdraw"): "withdrawn" for s in ("new", "assigned", "answered", "awaiting_enterprise", "reopened")},
}

ACTION_LABELS: Final = {"create": "受理", "assign": "派单", "reassign": "改派", "return": "退单",
                        "answer": "答复", "request_info": "请企业补充", "supplement": "企业补充",
                        "follow_up": "企业追问", "resolve": "确认解决", "close": "办结", "reopen": "重新打开",
                        "merge": "合并", "withdraw": "撤回", "correct": "更正分类", "release": "审核放行",
                        "moderation_hold": "进入内容审核", "remind": "到期提醒", "urge": "催办",
                        "escalate": "通报", "note": "内部备注", "rate": "评价", "rectification": "整改"}

ENTERPRISE_ACTIONS: Final = frozenset({"supplement", "follow_up", "resolve", "reopen", "withdraw"})
CONSULTANT_ACTIONS: Final = frozenset({"answer", "request_info", "return", "close"})
SUPERVISOR_ACTIONS: Final = CONSULTANT_ACTIONS | {"assign", "reassign", "merge"}
SYSTEM_ACTIONS: Final = frozenset({"assign", "close", "merge"})
ACTORS: Final = {"enterprise": ENTERPRISE_ACTIONS, "consultant": CONSULTANT_ACTIONS,
                 "supervisor": SUPERVISOR_ACTIONS, "system": SYSTEM_ACTIONS}

#: What to say instead, per (status, action) a user is likely to try.
_HINTS: Final[dict[tuple[str, str], str]] = {
    ("new", "answer"): "尚未派单，请先认领或派单",
    ("answered", "answer"): "已答复，如需补充请发送消息或等待企业回复",
    ("resolved", "answer"): "企业已确认解决，如需补充请重新打开",
    ("new", "resolve"): "尚未答复，不能确认解决",
    ("assigned", "resolve"): "尚未答复，不能确认解决",
    ("assigned", "assign"): "已派单，如需更换承办人请改派",
    ("closed", "close"): "已办结",
    ("resolved", "resolve"): "已确认解决",
}


TABLE: Final = TransitionTable(noun="该事项", transitions=TRANSITIONS, status_labels=STATUS_LABELS,
                               action_labels=ACTION_LABELS, hints=_HINTS, final=FINAL_STATUSES)
next_status = TABLE.next_status


def allowed_actions(status: str, actor: str) -> list[str]:
    """Actions ``actor`` ("enterprise", "consultant", "supervisor", "system") may take now —
    what the clients show as buttons. A new list each call (callers add to it)."""
    return list(_allowed(status, actor))


@functools.cache
def _allowed(status: str, actor: str) -> tuple[str, ...]:
    """:func:`allowed_actions`, worked out once per (status, actor): the table is fixed, and
    every case a view shows asked it again, a scan of every transition (about 1 % of an
    intake's CPU in the API process, python -m bench intake)."""
    mine = ACTORS.get(actor, frozenset())
    return tuple(sorted(a for (s, a) in TRANSITIONS if s == status and a in mine))


def may(actor: str, action: str) -> bool:
    return action in ACTORS.get(actor, frozenset())
