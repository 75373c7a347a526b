"""Kafka's default partitioner: ``murmur2(key) & 0x7fffffff`` modulo the partition count.

The relay builds its produce batches per partition itself (see
:mod:`ragline_relay.publishers.kafka`), so it picks the partitions itself, exactly as Kafka's
clients do (the Java client's ``Utils.murmur2``, which aiokafka's ``DefaultPartitioner`` copies):
an aggregate's events land in the partition every other Kafka client would choose for its key.
This version reads the key's 32-bit words in one ``struct`` call and masks only where a product
can overflow, about three times faster than aiokafka's byte-by-byte loop, which cost a fifth of
the relay's publishing time.
"""

from __future__ import annotations

import struct

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Return the 32-bit (unsigned) MurmurHash2 of ``data`` with Kafka's seed."""
    length = len(data)
    h = _SEED ^ length
    for word in struct.unpack_from(f"<{length >> 2}I", data):
        k = (word * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    extra = length & 3
    if extra:
        tail = length & ~3
        if extra >= 3:
            h ^= data[tail + 2] << 16
        if extra >= 2:
            h ^= data[tail + 1] << 8
        h = ((h ^ data[tail]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def partition_index(key: bytes, partitions: int) -> int:
    """Return the index, among ``partitions`` sorted partition ids, that ``key`` belongs to."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
