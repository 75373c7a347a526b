"""SSE and WebSocket clients of the pipeline tests, collecting what a real client would see."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from tests.integration.pipeline.support import WAIT_SECONDS, wait_until


@dataclass
class Received:
    """One SSE message or WebSocket message."""

    position: str | None
    kind: str
    data: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.data["id"])


class SseClient:
    """Reads an event stream in the background, collecting its messages."""

    def __init__(
        self,
        base_url: str,
        path: str,
        *,
        token: str,
        last_event_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._request = (path, headers, params or {})
        self._client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(10.0, read=60.0))
        self.events: list[Received] = []
        self.notices: list[Received] = []
        self.last_id: str | None = last_event_id
        self.status: int | None = None
        self.body: bytes = b""
        self.ended = False
        self._task: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()

    async def open(self) -> SseClient:
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(WAIT_SECONDS):
            await self._opened.wait()
        return self

    async def _run(self) -> None:
        path, headers, params = self._request
        try:
            async with self._client.stream("GET", path, headers=headers, params=params) as resp:
                self.status = resp.status_code
                if resp.status_code != 200:
                    self.body = await resp.aread()
                    return
                self._opened.set()
                await self._read(resp)
        finally:
            self.ended = True
            self._opened.set()

    async def _read(self, resp: httpx.Response) -> None:
        fields: dict[str, str] = {}
        async for line in resp.aiter_lines():
            if line == "":
                self._dispatch(fields)
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value

    def _dispatch(self, fields: dict[str, str]) -> None:
        if "id" in fields:
            self.last_id = fields["id"]
        if "data" not in fields:
            return
        message = Received(
            position=fields.get("id"),
            kind=fields.get("event", "message"),
            data=json.loads(fields["data"]),
        )
        if message.kind in ("gap", "close"):
            self.notices.append(message)
        else:
            self.events.append(message)

    @property
    def ids(self) -> list[str]:
        return [event.event_id for event in self.events]

    async def wait_for(self, count: int, seconds: float = WAIT_SECONDS) -> list[Received]:
        await wait_until(
            lambda: len(self.events) >= count or self.ended,
            f"{count} SSE events (have {len(self.events)})",
            seconds,
        )
        assert len(self.events) >= count, f"stream ended after {len(self.events)} events"
        return self.events

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self._task
        await self._client.aclose()


class WsClient:
    """Reads a WebSocket in the background, collecting its messages."""

    def __init__(self, base_url: str, *, token: str, params: dict[str, str] | None = None) -> None:
        query = httpx.QueryParams({"access_token": token, **(params or {})})
        self.url = base_url.replace("http://", "ws://") + "/v1/ws?" + str(query)
        self.events: list[Received] = []
        self.heartbeats: list[str | None] = []
        self.ready_at: str | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.ended = False
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def open(self) -> WsClient:
        """Connect; return once the server says the subscription is live (or closed it)."""
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(WAIT_SECONDS):
            await self._connected.wait()
        return self

    async def _run(self) -> None:
        try:
            async with websockets.connect(self.url, open_timeout=10) as ws:
                try:
                    async for raw in ws:
                        self._on(json.loads(raw))
                except websockets.ConnectionClosed:
                    pass
                self.close_code = ws.close_code
                self.close_reason = ws.close_reason
        finally:
            self.ended = True
            self._connected.set()

    def _on(self, message: dict[str, Any]) -> None:
        if message["kind"] == "ready":
            self.ready_at = message["position"]
            self._connected.set()
        elif message["kind"] == "event":
            self.events.append(Received(message["position"], "event", message["event"]))
        elif message["kind"] == "heartbeat":
            self.heartbeats.append(message["position"])

    @property
    def ids(self) -> list[str]:
        return [event.event_id for event in self.events]

    async def wait_for(self, count: int, seconds: float = WAIT_SECONDS) -> list[Received]:
        await wait_until(
            lambda: len(self.events) >= count or self.ended,
            f"{count} WebSocket events (have {len(self.events)})",
            seconds,
        )
        assert len(self.events) >= count, f"socket closed after {len(self.events)} events"
        return self.events

    async def wait_closed(self, seconds: float = WAIT_SECONDS) -> None:
        await wait_until(lambda: self.ended, "WebSocket closed", seconds)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.WebSocketException):
                await self._task
