"""RAGline notifier: delivers stream events to SSE and WebSocket clients of their tenant."""
