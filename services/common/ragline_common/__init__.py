"""Pieces every RAGline service shares: settings, logging, DB session, events, metrics, auth."""
