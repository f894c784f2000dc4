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


async def record(*, msg_type: str, event: str, from_openid: str, payload: dict[str, Any],
                 dedup_key: str) -> bool:
    """Store the event; ``False`` when it was already stored (a retry)."""
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
    return created
