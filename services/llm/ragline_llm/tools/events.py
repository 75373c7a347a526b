"""The ``chat.tool.v1`` event: one per tool call, written to the LLM service's outbox.

Its JSON Schema is generated into ``contracts/events/chat.tool.v1.json`` from :class:`ChatToolV1`.
The row goes to ``llm_outbox`` (Debezium's shape, like the API's ``outbox``), from where a relay
publishes it; the aggregate is the conversation, so one conversation's calls keep their order.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from ragline_common.db import TenantSession
from ragline_common.events import EventData, schema_id
from ragline_common.outbox import outbox_row
from ragline_common.registry import Tool


class ToolCallStatus(StrEnum):
    """How a tool call ended: ``refused`` when the tool is not enabled for the tenant."""

    OK = "ok"
    ERROR = "error"
    REFUSED = "refused"


class ChatToolV1(EventData):
    """The assistant called a tool in a conversation."""

    event_type: ClassVar[str] = "chat.tool.v1"
    aggregate_type: ClassVar[str] = "conversation"

    conversation_id: str = Field(min_length=1, max_length=64)
    call_id: str = Field(min_length=1, description="the model's id of the call")
    tool: str = Field(
        min_length=1,
        max_length=64,
        description=f"the tool the model asked for ({', '.join(Tool)}, or another: refused)",
    )
    status: ToolCallStatus
    user_id: str = Field(description="the customer the assistant acted for")
    arguments: dict[str, Any] = Field(description="the arguments as the model sent them")
    result: dict[str, Any] = Field(description="what the tool answered (summarised)")
    idempotency_key: str | None = Field(default=None, description="confirm: the order's key")
    duration_ms: float = Field(ge=0)
    occurred_at: datetime

    def aggregate_id(self) -> str:
        """Return the conversation id."""
        return self.conversation_id


_INSERT = (
    "INSERT INTO llm_outbox (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at)"
    " VALUES ($1, $2, $3, $4, CAST($5 AS jsonb), $6, $7)"
)


async def record(session: TenantSession, event: ChatToolV1, *, source: str) -> None:
    """Write ``event`` to ``llm_outbox`` in the session's transaction."""
    row = outbox_row(
        event, tenant_id=session.tenant_id, source=source, occurred_at=event.occurred_at
    )
    driver = await session.driver()
    await driver.execute(
        _INSERT,
        row["id"],
        row["aggregatetype"],
        row["aggregateid"],
        row["type"],
        json.dumps(row["payload"]),
        row["tenant_id"],
        row["created_at"],
    )


def event_schema() -> dict[str, Any]:
    """The JSON Schema of the event's ``data``."""
    schema = ChatToolV1.model_json_schema()
    schema["$id"] = schema_id(ChatToolV1.event_type)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
