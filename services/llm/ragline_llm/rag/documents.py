"""What a tenant's knowledge is made of: documents (menu items, policies, FAQs) and promotions.

Menu items carry structured metadata (SKU, price, dietary tags, availability, the API's product
id): retrieval filters and re-ranks on it, ``apply_promos`` prices from it and ``confirm`` orders
with it. Documents are stored whole in ``llm_documents`` (the source every vector table is built
from) with a content hash, so re-ingesting an unchanged document costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragline_llm.tools.promos import Promotion

DOC_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
DocId = Annotated[str, Field(pattern=DOC_ID_PATTERN, description="tenant-unique document id")]
# A menu, a policy or an FAQ answer is pages at most; a book is not a document here.
MAX_BODY_CHARS = 100_000
MAX_DOCUMENTS_PER_REQUEST = 500


class DocumentKind(StrEnum):
    """What a document is about; retrieval can be limited to some kinds."""

    MENU = "menu"
    POLICY = "policy"
    FAQ = "faq"
    OTHER = "other"


class MenuItemMetadata(BaseModel):
    """The structured part of a menu item."""

    model_config = ConfigDict(extra="allow")

    sku: str = Field(min_length=1, max_length=64)
    price_cents: int = Field(ge=0)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    category: str | None = Field(default=None, max_length=64)
    dietary: list[str] = Field(default_factory=list, description="e.g. vegetarian, vegan")
    available: bool = True
    product_id: uuid.UUID | None = Field(default=None, description="the API's product (confirm)")


class DocumentIn(BaseModel):
    """A document to ingest (created, or replaced when its id exists)."""

    model_config = ConfigDict(extra="forbid")

    id: DocId
    kind: DocumentKind = DocumentKind.OTHER
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=MAX_BODY_CHARS)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _menu_items_have_prices(self) -> DocumentIn:
        if self.kind is DocumentKind.MENU:
            menu = MenuItemMetadata.model_validate(self.metadata)
            self.metadata = menu.model_dump(mode="json")
        return self

    def content_hash(self) -> str:
        """The hash that tells whether a stored copy (and its chunks) is current."""
        payload = json.dumps(
            [self.kind.value, self.title, self.body, self.metadata],
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


class KnowledgeBundle(BaseModel):
    """One tenant's documents and promotions, as ingestion sources and the API accept them."""

    model_config = ConfigDict(extra="forbid")

    tenant: str | None = Field(default=None, description="the tenant (sources only)")
    documents: list[DocumentIn] = Field(default_factory=list, max_length=MAX_DOCUMENTS_PER_REQUEST)
    promotions: list[Promotion] = Field(default_factory=list, max_length=100)


class IngestResult(BaseModel):
    """What an ingestion changed."""

    documents: int = Field(description="documents written (new or changed)")
    unchanged: int = Field(description="documents already stored as they are")
    promotions: int = Field(description="promotions written")
    chunks: int = Field(description="chunks embedded into the serving vector table")
