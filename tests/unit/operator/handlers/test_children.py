"""A child's change asks for a pass of its owner, and only ours get past the filter."""

from __future__ import annotations

from typing import cast

import kopf

from ragline_operator.controllers.base import OperatorState
from ragline_operator.handlers.children import _owned_change, deployment_event, job_event
from ragline_operator.handlers.eventstream import eventstream_changed
from ragline_operator.reconcile.references import ragpipeline_references
from tests.unit.operator.handlers.util import invoke
from tests.unit.operator.samples import pipeline_spec

OURS = {"apiVersion": "ragline.dev/v1alpha1", "uid": "uid-owner", "controller": True}


def meta(*refs: dict[str, object]) -> kopf.Meta:
    raw = cast(kopf.RawBody, {"metadata": {"ownerReferences": list(refs)}})
    return kopf.Body(raw).meta


def test_the_filter_passes_changes_of_children_controlled_by_our_kinds_only() -> None:
    foreign = {"apiVersion": "apps/v1", "uid": "rs", "controller": True}

    assert _owned_change(type="MODIFIED", meta=meta(OURS))
    assert _owned_change(type="DELETED", meta=meta(foreign, OURS))
    assert not _owned_change(type="MODIFIED", meta=meta(foreign))
    assert not _owned_change(type=None, meta=meta(OURS))


async def test_a_changed_deployment_or_job_requests_a_pass_of_its_owner(
    state: OperatorState, memo: kopf.Memo
) -> None:
    state.object("uid-owner").last_pass = 1.0

    await invoke(deployment_event, meta=meta(OURS), memo=memo)

    assert state.objects["uid-owner"].requested
    state.objects["uid-owner"].requested = False
    await invoke(job_event, meta=meta(OURS), memo=memo)
    assert state.objects["uid-owner"].requested


async def test_a_changed_eventstream_requests_a_pass_of_the_pipelines_using_it(
    state: OperatorState, memo: kopf.Memo
) -> None:
    index = {key: ["uid-pipeline"] for key in ragpipeline_references("shop", pipeline_spec())}
    state.object("uid-pipeline").last_pass = 1.0
    state.object("uid-other").last_pass = 1.0

    await invoke(
        eventstream_changed, namespace="shop", name="orders", memo=memo, ragpipeline_reads=index
    )

    assert {uid for uid, mine in state.objects.items() if mine.requested} == {"uid-pipeline"}
