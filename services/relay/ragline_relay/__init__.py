"""RAGline relay: publishes outbox rows to Kafka or Redis Streams, at least once."""
