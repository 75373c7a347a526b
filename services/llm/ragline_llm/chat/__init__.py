"""The chat endpoint: OpenAI-style requests answered whole or streamed over SSE."""
