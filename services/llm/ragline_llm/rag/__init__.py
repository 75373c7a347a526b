"""Retrieval: documents, chunking, vector tables, search, re-ranking and context trimming."""
