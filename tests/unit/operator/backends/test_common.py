"""Credentials never reach a message; targets are keyed without their secret."""

from __future__ import annotations

import pytest

from ragline_operator.backends.common import (
    StreamKind,
    StreamReport,
    StreamTarget,
    describe,
    redact_url,
    scrub,
)


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("redis://:hunter22@cache:6379/0", "redis://***@cache:6379/0"),
        ("postgresql://app:hunter22@db:5432/shop", "postgresql://app:***@db:5432/shop"),
        ("postgresql://postgres@127.0.0.1:5432/x", "postgresql://postgres@127.0.0.1:5432/x"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("kafka-0:9092,kafka-1:9092", "kafka-0:9092,kafka-1:9092"),
    ],
)
def test_addresses_are_shown_without_passwords(address: str, shown: str) -> None:
    assert redact_url(address) == shown


def test_scrub_removes_secret_values_and_url_passwords_from_library_messages() -> None:
    dsn = "postgresql://app:hunter22@db:5432/shop"
    message = f"could not connect to {dsn} (password 'hunter22' rejected); tried redis://u:pw1234@h"

    scrubbed = scrub(message, [dsn, None])

    assert "hunter22" not in scrubbed
    assert "pw1234" not in scrubbed
    assert "***" in scrubbed


def test_describe_names_the_exception_once() -> None:
    assert describe(ConnectionRefusedError("refused")) == "ConnectionRefusedError: refused"
    assert describe(TimeoutError()) == "TimeoutError"

    class KafkaError(Exception):
        def __str__(self) -> str:
            return "KafkaError: broker gone"

    assert describe(KafkaError()) == "KafkaError: broker gone"


def test_a_target_is_keyed_and_shown_without_its_address() -> None:
    target = StreamTarget(kind=StreamKind.REDIS, address="redis://:hunter22@c:6379/0", name="s")

    assert "hunter22" not in repr(target)
    assert "hunter22" not in str(target.cache_key())
    assert target.where == "redis://***@c:6379/0"
    assert target.noun == "stream"
    other = StreamTarget(kind=StreamKind.REDIS, address="redis://:other@c:6379/0", name="s")
    assert other.cache_key() != target.cache_key()


def test_a_settled_report_forgets_what_was_done_once() -> None:
    report = StreamReport(True, True, "TopicReady", "ok", created=True, partitions_before=3)

    settled = report.settled()

    assert (settled.ready, settled.message) == (True, "ok")
    assert not settled.created
    assert settled.partitions_before is None
