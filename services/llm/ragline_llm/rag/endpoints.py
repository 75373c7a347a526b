"""``POST /v1/knowledge``: a tenant's staff add or replace documents and promotions."""

from __future__ import annotations

from fastapi import APIRouter

from ragline_common.errors import UnprocessableError, problem_responses
from ragline_llm.deps import EditorDep, StateDep
from ragline_llm.rag.documents import IngestResult, KnowledgeBundle

router = APIRouter(prefix="/v1", tags=["knowledge"])


@router.post(
    "/knowledge",
    response_model=IngestResult,
    summary="Add or replace documents and promotions",
    description=(
        "Documents are keyed by `id` within the tenant: an existing id is replaced, an "
        "unchanged document costs nothing. They are chunked and embedded into the serving "
        "vector table before the answer. `tenant` must be absent or the caller's tenant."
    ),
    responses=problem_responses(401, 403, 413, 422, 502, 503, 504),
)
async def ingest(body: KnowledgeBundle, caller: EditorDep, state: StateDep) -> IngestResult:
    if body.tenant is not None and body.tenant != caller.principal.tenant_id:
        raise UnprocessableError("tenant names another tenant")
    return await state.store.ingest(caller.principal.tenant_id, body)
