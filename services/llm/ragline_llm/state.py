"""What the LLM service's lifespan builds and every request uses."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from ragline_common.auth import TokenVerifier
from ragline_common.registry_store import RegistryStore
from ragline_llm.breakers import UpstreamBreaker
from ragline_llm.chat.service import ChatService
from ragline_llm.metrics import LlmMetrics
from ragline_llm.providers.chat import ChatModel
from ragline_llm.rag.store import KnowledgeStore
from ragline_llm.settings import LlmSettings


@dataclass(frozen=True)
class LlmState:
    """The running service's dependencies; lives in ``app.state.llm`` while it runs."""

    settings: LlmSettings
    metrics: LlmMetrics
    engine: AsyncEngine
    registry: RegistryStore
    verifier: TokenVerifier
    model: ChatModel
    http: httpx.AsyncClient
    store: KnowledgeStore
    chat: ChatService
    breakers: tuple[UpstreamBreaker, ...]
