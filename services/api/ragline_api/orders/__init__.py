"""Orders: idempotent creation, status transitions, and an outbox event for each change."""
