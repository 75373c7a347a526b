"""Outbox rows become stream messages only when their CloudEvent keeps the contract."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from ragline_common.events import OrderCreatedV1, OrderLineData, OrderStatus, status_changed
from ragline_common.outbox import outbox_row
from ragline_relay.messages import Message, OutboxRow, to_message

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def created_row(**payload_changes: Any) -> OutboxRow:
    data = OrderCreatedV1(
        order_id=uuid.uuid4(),
        user_id="alice",
        lines=[
            OrderLineData(
                product_id=uuid.uuid4(),
                sku="m",
                name="Margherita",
                quantity=1,
                unit_price_cents=950,
                line_total_cents=950,
            )
        ],
        total_cents=950,
        currency="EUR",
        created_at=NOW,
    )
    row = outbox_row(data, tenant_id="acme", source="/api", occurred_at=NOW)
    payload = {**row["payload"], **payload_changes}
    return OutboxRow(
        id=row["id"],
        aggregatetype=row["aggregatetype"],
        aggregateid=row["aggregateid"],
        type=row["type"],
        tenant_id=row["tenant_id"],
        payload=json.dumps(payload),
        attempts=0,
    )


def test_a_valid_event_travels_with_its_bytes_untouched_and_its_routing_fields() -> None:
    row = created_row()
    message = to_message(row)
    assert isinstance(message, Message)
    assert message.data == row.payload.encode()
    assert message.event_id == str(row.id)
    assert (message.tenant, message.type, message.key, message.user) == (
        "acme",
        "order.created.v1",
        row.aggregateid,
        "alice",
    )


def test_a_status_change_is_valid_too() -> None:
    order_id = uuid.uuid4()
    data = status_changed(
        to_status=OrderStatus.CANCELLED,
        order_id=order_id,
        user_id="bob",
        from_status=OrderStatus.CREATED,
        changed_by="bob",
        occurred_at=NOW,
    )
    row = outbox_row(data, tenant_id="globex", source="/api", occurred_at=NOW)
    message = to_message(
        OutboxRow(
            id=row["id"],
            aggregatetype="order",
            aggregateid=str(order_id),
            type="order.cancelled.v1",
            tenant_id="globex",
            payload=json.dumps(row["payload"]),
            attempts=2,
        )
    )
    assert isinstance(message, Message)
    assert message.user == "bob"


def test_an_event_claiming_another_tenant_is_refused() -> None:
    assert to_message(created_row(tenantid="globex")) == (
        "envelope tenantid differs from the outbox row tenant"
    )


def test_an_event_with_another_id_is_refused() -> None:
    reason = to_message(created_row(id=str(uuid.uuid4())))
    assert reason == "envelope id differs from the outbox row id"


def test_an_event_about_another_aggregate_is_refused() -> None:
    row = created_row()
    payload = json.loads(row.payload)
    payload["data"]["order_id"] = str(uuid.uuid4())
    moved = OutboxRow(
        id=row.id,
        aggregatetype=row.aggregatetype,
        aggregateid=row.aggregateid,
        type=row.type,
        tenant_id=row.tenant_id,
        payload=json.dumps(payload),
        attempts=0,
    )
    assert to_message(moved) == "event data names another aggregate than the outbox row"


def test_a_schema_violation_names_the_field_without_echoing_the_value() -> None:
    reason = to_message(created_row(data={"order_id": "not-a-uuid", "secret": "s3cr3t"}))
    assert isinstance(reason, str)
    assert reason.startswith("schema: ")
    assert "data.order_id" in reason
    assert "s3cr3t" not in reason
    assert "not-a-uuid" not in reason


def test_an_unknown_event_type_is_refused() -> None:
    row = created_row()
    unknown = OutboxRow(
        id=row.id,
        aggregatetype="order",
        aggregateid=row.aggregateid,
        type="order.teleported.v1",
        tenant_id="acme",
        payload=row.payload,
        attempts=0,
    )
    assert to_message(unknown) == "unknown event type 'order.teleported.v1'"


def test_payload_that_is_not_json_is_refused() -> None:
    row = created_row()
    broken = OutboxRow(
        id=row.id,
        aggregatetype="order",
        aggregateid=row.aggregateid,
        type=row.type,
        tenant_id="acme",
        payload="{not json",
        attempts=0,
    )
    reason = to_message(broken)
    assert isinstance(reason, str)
    assert reason.startswith("schema: ")
