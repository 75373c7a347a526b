"""Clients of the upstreams (chat model, embeddings) behind small protocols."""
