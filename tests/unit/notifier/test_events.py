"""Wire forms: one SSE frame and one WebSocket message per event, valid whatever the data."""

from __future__ import annotations

import json

from ragline_notifier.events import StreamEvent
from ragline_notifier.positions import KafkaCursor
from tests.unit.notifier.helpers import event


def test_an_sse_frame_carries_the_position_type_and_cloudevent() -> None:
    frame = event(4).sse_frame()
    assert frame == (
        b'id: 1000-4\nevent: order.created.v1\ndata: {"id": "e4", "tenantid": "acme"}\n\n'
    )


def test_data_with_line_breaks_cannot_break_the_framing() -> None:
    odd = StreamEvent(
        ref=(0, 1),
        cursor=KafkaCursor.of([(0, 2), (1, 0)]),
        event_id="x",
        tenant="acme",
        type="order.created.v1",
        key="k",
        user="u",
        data=b'{\n"id": "x"\r\n}',
    )
    frame = odd.sse_frame()
    assert frame.startswith(b"id: 0:2,1:0\n")
    assert frame.endswith(b"\n\n")
    body = frame.split(b"data: ", 1)[1]
    assert b"\n\n" not in body[:-2]
    assert frame.count(b"data: ") == 3


def test_a_websocket_message_is_json_with_the_event_inside() -> None:
    message = json.loads(event(2).ws_message())
    assert message == {
        "kind": "event",
        "position": "1000-2",
        "event": {"id": "e2", "tenantid": "acme"},
    }
