"""Events and cursors for the notifier's unit tests."""

from __future__ import annotations

import json

from ragline_notifier.events import StreamEvent
from ragline_notifier.positions import RedisCursor


def event(
    seq: int,
    *,
    event_id: str | None = None,
    tenant: str = "acme",
    type_: str = "order.created.v1",
    key: str = "order-1",
    user: str = "alice",
) -> StreamEvent:
    """A Redis-positioned event at entry ``1000-<seq>``."""
    event_id = event_id or f"e{seq}"
    return StreamEvent(
        ref=f"1000-{seq}",
        cursor=RedisCursor(1000, seq),
        event_id=event_id,
        tenant=tenant,
        type=type_,
        key=key,
        user=user,
        data=json.dumps({"id": event_id, "tenantid": tenant}).encode(),
    )
