"""CloudEvents envelopes and the event schemas generated from the models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import jsonschema

from ragline_common.events import (
    EVENT_MODELS,
    OrderCreatedV1,
    OrderLineData,
    OrderStatus,
    cloud_event,
    event_schemas,
    status_changed,
)
from ragline_common.outbox import outbox_row

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def created() -> OrderCreatedV1:
    line = OrderLineData(
        product_id=uuid.uuid4(),
        sku="m",
        name="M",
        quantity=2,
        unit_price_cents=5,
        line_total_cents=10,
    )
    return OrderCreatedV1(
        order_id=uuid.uuid4(),
        user_id="u",
        lines=[line],
        total_cents=10,
        currency="EUR",
        created_at=NOW,
    )


def test_cloud_event_is_structured_1_0_with_tenant_extension() -> None:
    data = created()
    event = cloud_event(data, tenant_id="acme", source="/ragline/api", time=NOW)
    schemas = event_schemas()
    jsonschema.validate(event, schemas["cloudevent.v1.json"])
    jsonschema.validate(event["data"], schemas["order.created.v1.json"])
    assert event["specversion"] == "1.0"
    assert event["tenantid"] == "acme"
    assert event["subject"] == f"order/{data.order_id}"
    assert event["dataschema"].endswith("/order.created.v1.json")


def test_every_status_event_validates_and_others_reject_it() -> None:
    schemas = event_schemas()
    for target in (OrderStatus.CONFIRMED, OrderStatus.FULFILLED, OrderStatus.CANCELLED):
        data = status_changed(
            to_status=target,
            order_id=uuid.uuid4(),
            user_id="u",
            from_status=OrderStatus.CREATED,
            changed_by="s",
            occurred_at=NOW,
        ).model_dump(mode="json")
        jsonschema.validate(data, schemas[f"order.{target.value}.v1.json"])
        assert not jsonschema.Draft202012Validator(schemas["order.created.v1.json"]).is_valid(data)
    assert set(schemas) == {f"{name}.json" for name in EVENT_MODELS} | {"cloudevent.v1.json"}


def test_outbox_row_has_debezium_shape_and_the_event_id() -> None:
    data = created()
    row = outbox_row(data, tenant_id="acme", source="/ragline/api", occurred_at=NOW)
    assert row["aggregatetype"] == "order"
    assert row["aggregateid"] == str(data.order_id)
    assert row["type"] == "order.created.v1"
    assert row["payload"]["id"] == str(row["id"])
    assert row["tenant_id"] == row["payload"]["tenantid"] == "acme"
