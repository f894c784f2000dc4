"""Messages and events WeChat pushes to us, stored once each.

WeChat retries a push up to three times when our answer is late, and two API
processes may receive the same retry at once; the unique ``dedup_key`` makes
storage idempotent, so later consumers (subscription consent, follow/unfollow,
see ``notifications.events``) never see an event twice.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import WeChatEvent
from notifications import events as notification_events
from notifications import followers


async def record(*, msg_type: str, event: str, from_openid: str, payload: dict[str, Any],
                 dedup_key: str, rt: Any = None) -> bool:
    """Store the event; ``False`` when it was already stored (a retry).

    A new follower of the official account is looked up right after the commit (with
    ``rt``), so they are linked to their mini-program user at once; if that fails the
    follower stays due for the lookup job, and the event itself is stored either way.
    """
    try:
        # Stored and applied together: an event is acted on exactly when it is stored.
        async with in_transaction():
            _, created = await WeChatEvent.get_or_create(
                dedup_key=dedup_key[:128],
                defaults={"msg_type": msg_type[:32], "event": event[:64],
                          "from_openid": from_openid[:64], "payload": payload},
            )
            if created and msg_type == "event":
                await notification_events.apply(event=event, from_openid=from_openid, payload=payload)
    except IntegrityError:
        # Lost the race to a concurrent delivery of the same push: it is stored.
        return False
    if created and rt is not None and msg_type == "event" and event.strip().lower() == "subscribe":
        await followers.resolve_now(rt, from_openid)
    return created
