"""Lag-based scaling of stream consumers: lag readers (Kafka, Redis Streams) and a pure policy.

The policy never talks to anything: given the spec, the last readings and the current replicas it
returns the desired replicas and why. The readers turn a broker's offsets into per-partition lag.
The operator's scaler is the only writer of the consumers' ``replicas``.
"""
