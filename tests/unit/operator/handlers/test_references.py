"""A changed Secret or source ConfigMap wakes exactly the resources that read it."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from ragline_operator.controllers.base import OperatorState
from ragline_operator.handlers import references
from tests.unit.operator.samples import pipeline_spec, redis_stream_spec

# Kopf's decorators type handlers as callbacks that take every Kopf kwarg; the tests call them
# with only the ones they use, as Kopf does by name.
_handlers: Any = references
_configmap_is_read = _handlers._configmap_is_read
_secret_is_read = _handlers._secret_is_read
configmap_event = _handlers.configmap_event
eventstream_reads = _handlers.eventstream_reads
ragpipeline_reads = _handlers.ragpipeline_reads
secret_event = _handlers.secret_event

LOG = logging.getLogger("test")


def indexes() -> dict[str, dict[tuple[str, str, str], list[str]]]:
    """Both reference indexes as Kopf would hold them for one stream and one pipeline."""
    stream = eventstream_reads(namespace="shop", uid="uid-stream", spec=redis_stream_spec())
    pipeline = ragpipeline_reads(namespace="shop", uid="uid-pipeline", spec=pipeline_spec())
    return {
        "eventstream_reads": {key: [uid] for key, uid in stream.items()},
        "ragpipeline_reads": {key: [uid] for key, uid in pipeline.items()},
    }


def test_only_referenced_objects_pass_the_filter_and_never_the_initial_listing() -> None:
    found = indexes()

    assert _secret_is_read(type="MODIFIED", namespace="shop", name="redis", **found)
    assert _configmap_is_read(type="DELETED", namespace="shop", name="menu", **found)
    assert not _secret_is_read(type="MODIFIED", namespace="shop", name="menu", **found)
    assert not _secret_is_read(type="MODIFIED", namespace="other", name="redis", **found)
    assert not _secret_is_read(type=None, namespace="shop", name="redis", **found)


async def test_a_changed_secret_requests_a_pass_of_every_reader(
    state: OperatorState, memo: kopf.Memo
) -> None:
    for uid in ("uid-stream", "uid-pipeline", "uid-bystander"):
        state.object(uid).last_pass = 1.0

    await secret_event(
        type="MODIFIED", namespace="shop", name="redis", memo=memo, logger=LOG, **indexes()
    )

    assert state.wake.is_set()
    assert {uid for uid, mine in state.objects.items() if mine.requested} == {
        "uid-stream",
        "uid-pipeline",
    }


async def test_a_changed_source_configmap_requests_a_pass_of_its_pipeline(
    state: OperatorState, memo: kopf.Memo
) -> None:
    for uid in ("uid-stream", "uid-pipeline"):
        state.object(uid).last_pass = 1.0

    await configmap_event(
        type="MODIFIED", namespace="shop", name="menu", memo=memo, logger=LOG, **indexes()
    )

    assert {uid for uid, mine in state.objects.items() if mine.requested} == {"uid-pipeline"}


async def test_objects_this_process_never_handled_are_left_to_their_first_pass(
    state: OperatorState, memo: kopf.Memo
) -> None:
    await secret_event(
        type="MODIFIED", namespace="shop", name="redis", memo=memo, logger=LOG, **indexes()
    )

    assert not state.wake.is_set()
    assert state.objects == {}
