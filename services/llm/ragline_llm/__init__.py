"""RAGline LLM service: chat with tools over RAG on pgvector."""
