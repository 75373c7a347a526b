"""The relay puts each key in the partition every Kafka client would choose for it."""

from __future__ import annotations

import random
import uuid

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from ragline_relay.publishers.partitioning import murmur2, partition_index


def signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


def test_the_hash_matches_the_java_clients_reference_value() -> None:
    # org.apache.kafka.common.utils.UtilsTest: Utils.murmur2("21".getBytes()) == -973932308
    assert signed(murmur2(b"21")) == -973932308


def test_the_hash_matches_aiokafkas_for_every_length_and_byte() -> None:
    rng = random.Random(5)
    keys = [
        b"",
        b"\xff" * 7,
        *(str(uuid.UUID(int=rng.getrandbits(128))).encode() for _ in range(200)),
    ]
    keys += [rng.randbytes(length) for length in range(80) for _ in range(5)]
    assert [murmur2(key) for key in keys] == [aiokafka_murmur2(key) for key in keys]


@pytest.mark.parametrize("partitions", [1, 3, 6, 7, 64])
def test_keys_land_where_aiokafkas_default_partitioner_puts_them(partitions: int) -> None:
    ids = list(range(partitions))
    keys = [str(uuid.uuid4()).encode() for _ in range(300)]
    expected = [DefaultPartitioner()(key, ids, ids) for key in keys]
    assert [ids[partition_index(key, partitions)] for key in keys] == expected
