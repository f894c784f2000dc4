"""What WeChat's pushed events mean for outbound messages.

Called once per stored event (``services.wechat_events.record``), in the same
transaction as the storing, so an event is applied exactly when it is stored —
a retried push is neither stored nor applied twice, and a failure to apply
un-stores it so WeChat's retry gets another chance.

* ``subscribe_msg_popup_event`` — the user answered a subscribe popup: the ledger
  counts an "accept" (once, even if the mini-program reports it too);
* ``subscribe_msg_change_event`` — the user switched a template off in settings: no credit;
* ``subscribe_msg_sent_event`` — WeChat's report of a send; a refusal zeroes the credit;
* ``subscribe`` / ``unsubscribe`` — official-account followers, for template messages
  (the unionid lookup that links them is in ``notifications.followers``).

Field shapes differ between XML pushes (``<SubscribeMsgPopupEvent><List>…``, one
``List`` element becomes a dict) and JSON pushes (``"List": [...]`` at the top);
both are read.
"""

from __future__ import annotations

from typing import Any

from notifications import followers, ledger

_CONTAINERS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}
_REFUSED_STATUSES = {"fail_user_refuse", "fail_user_block"}


def items(payload: dict[str, Any], container: str) -> list[dict[str, Any]]:
    """The event's ``List`` entries, whatever the push format."""
    box = payload.get(container)
    found = box.get("List") if isinstance(box, dict) else box
    if found is None:
        found = payload.get("List")
    if isinstance(found, dict):
        found = [found]
    return [i for i in found or [] if isinstance(i, dict)]


async def apply(*, event: str, from_openid: str, payload: dict[str, Any],
                at_ms: int | None = None) -> None:
    ev = (event or "").strip().lower()
    if not from_openid:
        return
    if ev == "subscribe_msg_popup_event":
        for item in items(payload, _CONTAINERS[ev]):
            tpl, status = str(item.get("TemplateId") or ""), str(item.get("SubscribeStatusString") or "")
            if tpl and status in ledger.OUTCOMES:
                await ledger.record(openid=from_openid, template_id=tpl, outcome=status,
                                    witness="event", at_ms=at_ms)
    elif ev == "subscribe_msg_change_event":
        for item in items(payload, _CONTAINERS[ev]):
            tpl, status = str(item.get("TemplateId") or ""), str(item.get("SubscribeStatusString") or "")
            if tpl and status == "reject":
                await ledger.revoke(openid=from_openid, template_id=tpl, outcome="reject")
    elif ev == "subscribe_msg_sent_event":
        for item in items(payload, _CONTAINERS[ev]):
            tpl = str(item.get("TemplateId") or "")
            code = str(item.get("ErrorCode") or "0")
            if tpl and (code == "43101" or str(item.get("ErrorStatus") or "") in _REFUSED_STATUSES):
                await ledger.revoke(openid=from_openid, template_id=tpl, outcome="refused")
    elif ev == "subscribe":
        # The subscribe push carries no unionid today; take one if it ever does.
        await followers.followed(from_openid, at_ms=at_ms,
                                 unionid=str(payload.get("UnionId") or payload.get("unionid") or "") or None)
    elif ev == "unsubscribe":
        await followers.unfollowed(from_openid, at_ms=at_ms)
